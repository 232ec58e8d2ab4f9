// The typed client for the control channel: `connect(url)`, then `call(method, params)` with
// params and results typed from the protocol schemas, and events as an async iterator.
import WebSocket from 'ws';
import type { MethodName, ParamsOf, ResultOf } from '../protocol/methods.js';

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export interface EventMessage {
  subscriptionId: string;
  topic: 'state' | 'log' | 'metrics';
  [key: string]: unknown;
}

export interface ConnectOptions {
  token?: string;
  /** A stable client name: instances it creates stay its own across reconnects. */
  client?: string;
  headers?: Record<string, string>;
}

export class TabvisorClient {
  private nextId = 1;
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(event: EventMessage) => void>();
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.receive(String(data)));
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        for (const { reject } of this.pending.values()) reject(new RpcError(-32603, `connection closed (${code})`));
        this.pending.clear();
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  static connect(url: string, options: ConnectOptions = {}): Promise<TabvisorClient> {
    const target = new URL(url);
    if (options.client) target.searchParams.set('client', options.client);
    const headers = { ...options.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
    const ws = new WebSocket(target, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(new TabvisorClient(ws));
      });
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        ws.off('error', reject);
        reject(new RpcError(-32002, `connection refused: HTTP ${res.statusCode}`, { status: res.statusCode }));
        res.resume();
      });
    });
  }

  call<M extends MethodName>(method: M, ...params: undefined extends ParamsOf<M> ? [ParamsOf<M>?] : [ParamsOf<M>]): Promise<ResultOf<M>> {
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) return reject(new RpcError(-32603, 'connection is not open'));
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params[0] === undefined ? {} : { params: params[0] }) }));
    });
  }

  /** Every event notification from now on, until the connection closes. */
  async *events(): AsyncGenerator<EventMessage> {
    const queue: EventMessage[] = [];
    let wake: (() => void) | null = null;
    let done = false;
    const listener = (event: EventMessage) => {
      queue.push(event);
      wake?.();
    };
    this.listeners.add(listener);
    void this.closed.then(() => {
      done = true;
      wake?.();
    });
    try {
      for (;;) {
        while (queue.length) yield queue.shift() as EventMessage;
        if (done) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    } finally {
      this.listeners.delete(listener);
    }
  }

  /** Register a plain callback for events; returns the function that removes it. */
  onEvent(listener: (event: EventMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000);
    await this.closed;
  }

  private receive(text: string): void {
    const message = JSON.parse(text) as { id?: string; method?: string; params?: EventMessage; result?: unknown; error?: { code: number; message: string; data?: Record<string, unknown> } };
    if (message.method === 'event' && message.params) {
      for (const listener of this.listeners) listener(message.params);
      return;
    }
    const entry = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!entry) return;
    this.pending.delete(message.id as string);
    if (message.error) entry.reject(new RpcError(message.error.code, message.error.message, message.error.data));
    else entry.resolve(message.result);
  }
}

export const connect = TabvisorClient.connect;
export type { MethodName, ParamsOf, ResultOf };
