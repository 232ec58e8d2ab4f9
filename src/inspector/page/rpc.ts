// The page's JSON-RPC 2.0 connection to the runtime over the same-origin WebSocket: requests
// by id, event notifications, and reconnection with backoff when the socket closes.
import type { EventParams } from './contract.js';

export type ConnectionStatus =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'open' }
  | { kind: 'closed'; attempt: number; retryAt: number; why: string };

export interface ConnectionHandlers {
  /** Called on every (re)connection; resolves once the page is in sync again. */
  onOpen(connection: Connection): Promise<void>;
  onEvent(params: EventParams): void;
  onStatus(status: ConnectionStatus): void;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;

export class Connection {
  private socket: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly url: string,
    private readonly handlers: ConnectionHandlers,
  ) {}

  /** ws(s)://<this host>/rpc?client=inspector: same origin, the server's cookie authenticates. */
  static sameOriginUrl(): string {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    return `${scheme}://${location.host}/rpc?client=inspector`;
  }

  start(): void {
    this.handlers.onStatus({ kind: 'connecting', attempt: this.attempt });
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.handlers.onStatus({ kind: 'open' });
      this.handlers.onOpen(this).then(
        () => {
          this.attempt = 0;
        },
        // A failed resync (a request refused, the socket gone meanwhile) starts over.
        () => socket.close(4000, 'resync failed'),
      );
    });
    socket.addEventListener('message', (message) => this.receive(message.data));
    socket.addEventListener('close', (close) => this.closed(socket, close.reason || `code ${close.code}`));
  }

  request<T>(method: string, params: unknown): Promise<T> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
    const id = String(this.nextId++);
    socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return new Promise<T>((resolve, reject) => this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject }));
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: { id?: string | number | null; method?: string; params?: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } };
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.method === 'event' && message.params) {
      this.handlers.onEvent(message.params as EventParams);
      return;
    }
    if (message.id === undefined || message.id === null) return;
    const pending = this.pending.get(String(message.id));
    if (!pending) return;
    this.pending.delete(String(message.id));
    if (message.error) pending.reject(new RpcError(message.error.code, message.error.message, message.error.data));
    else pending.resolve(message.result);
  }

  private closed(socket: WebSocket, why: string): void {
    if (this.socket !== socket) return;
    this.socket = null;
    for (const pending of this.pending.values()) pending.reject(new Error('connection closed'));
    this.pending.clear();
    // Exponential backoff with jitter, so that a restarted runtime is not met by every page at once.
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.attempt += 1;
    this.handlers.onStatus({ kind: 'closed', attempt: this.attempt, retryAt: Date.now() + delay, why });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.start(), delay);
  }
}
