// The typed client for the control channel: `connect(url)`, then `call(method, params)` with
// params and results typed from the protocol schemas, and events as an async iterator. A lost
// connection is made again with backoff, and the event subscriptions with it.
import { randomUUID } from 'node:crypto';
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
  topic: 'state' | 'values' | 'log' | 'metrics' | 'page';
  [key: string]: unknown;
}

export interface ReconnectOptions {
  /** First wait after a lost connection (ms, default 100); doubles on each failed attempt… */
  initialDelayMs?: number;
  /** …up to this (default 5,000). Each wait is jittered down by up to half. */
  maxDelayMs?: number;
  /** How long a call made while reconnecting waits for the connection (default 10,000 ms). */
  callTimeoutMs?: number;
}

export interface ConnectOptions {
  token?: string;
  /**
   * A stable client name: instances it creates stay its own across reconnects. A client that
   * reconnects without one makes up a random name, so that it keeps its instances too.
   */
  client?: string;
  headers?: Record<string, string>;
  /** Reconnect when the connection is lost (default on; false: the client closes with it). */
  reconnect?: boolean | ReconnectOptions;
}

export type ClientState = 'open' | 'reconnecting' | 'closed';

interface Subscription {
  params: ParamsOf<'events.subscribe'>;
  /** The id the server gave on the current connection. */
  serverId: string;
}

/** The code of a call that lost its connection: -32004, unavailable, as the protocol says of a resource that is down. */
export const CONNECTION_LOST = -32004;

/**
 * A call that no server answered: the connection was lost, or is not there. Its code is
 * CONNECTION_LOST; the class tells it from a server's own -32004 (a tab recovering).
 */
export class ConnectionLost extends RpcError {
  constructor(message: string, data: Record<string, unknown>) {
    super(CONNECTION_LOST, message, data);
    this.name = 'ConnectionLost';
  }
}

export class TabvisorClient {
  private nextId = 1;
  private socket: WebSocket;
  private readonly pending = new Map<string, { method: string; resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(event: EventMessage) => void>();
  private readonly stateListeners = new Set<(state: ClientState) => void>();
  /** Subscriptions by the id the caller knows (the one the first connection gave). */
  private readonly subscriptions = new Map<string, Subscription>();
  private current: ClientState = 'open';
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private markClosed!: (info: { code: number; reason: string }) => void;
  /** Settles once the client is closed for good: by close(), or a lost connection without reconnect. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** How many times the connection was made again. */
  reconnects = 0;

  private constructor(
    socket: WebSocket,
    private readonly url: URL,
    private readonly options: ConnectOptions,
  ) {
    this.socket = socket;
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    this.attach(socket);
  }

  static async connect(url: string, options: ConnectOptions = {}): Promise<TabvisorClient> {
    const target = new URL(url);
    const name = options.client ?? (options.reconnect === false ? undefined : `anon-${randomUUID()}`);
    if (name) target.searchParams.set('client', name);
    return new TabvisorClient(await open(target, options), target, options);
  }

  /** The current WebSocket (a new one after each reconnect). */
  get ws(): WebSocket {
    return this.socket;
  }

  get state(): ClientState {
    return this.current;
  }

  /** Told of every change of state ('reconnecting' when the connection is lost, 'open' when it is back). */
  onState(listener: (state: ClientState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Call a method. A call in flight when the connection is lost rejects with
   * ConnectionLost (code CONNECTION_LOST) — it may or may not have run on the server; a call made while
   * reconnecting waits for the connection (at most `callTimeoutMs`).
   */
  async call<M extends MethodName>(method: M, ...params: undefined extends ParamsOf<M> ? [ParamsOf<M>?] : [ParamsOf<M>]): Promise<ResultOf<M>> {
    if (this.current === 'reconnecting') await this.untilOpen();
    if (this.current === 'closed' || this.socket.readyState !== WebSocket.OPEN) throw new ConnectionLost('connection is not open', { state: this.current });
    if (method === 'events.unsubscribe') {
      // The caller's id, as the server of this connection knows it.
      const { subscriptionId } = params[0] as ParamsOf<'events.unsubscribe'>;
      const subscription = this.subscriptions.get(subscriptionId);
      const result = (await this.send(method, { subscriptionId: subscription?.serverId ?? subscriptionId })) as ResultOf<M>;
      this.subscriptions.delete(subscriptionId);
      return result;
    }
    const result = (await this.send(method, params[0])) as ResultOf<M>;
    if (method === 'events.subscribe') {
      const { subscriptionId } = result as ResultOf<'events.subscribe'>;
      this.subscriptions.set(subscriptionId, { params: params[0] as ParamsOf<'events.subscribe'>, serverId: subscriptionId });
    }
    return result;
  }

  /** Every event notification from now on, until the client is closed. */
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

  /** Close for good: no more reconnecting; calls in flight reject. */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    clearTimeout(this.retryTimer);
    this.setState('closed');
    if (this.socket.readyState === WebSocket.CLOSED) {
      this.markClosed({ code: 1000, reason: 'closed by the client' });
    } else {
      const gone = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
      if (this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate();
      else this.socket.close(1000);
      await gone;
    }
    await this.closed;
  }

  private send(method: string, params: unknown): Promise<unknown> {
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
    });
  }

  private attach(socket: WebSocket): void {
    socket.on('message', (data) => this.receive(String(data)));
    socket.on('error', () => {}); // 'close' follows and says what matters
    socket.once('close', (code, reason) => {
      for (const { reject } of this.pending.values()) reject(new ConnectionLost(`connection closed (${code})`, { code }));
      this.pending.clear();
      const text = reason.toString();
      if (this.current === 'closed' || this.options.reconnect === false) {
        this.setState('closed');
        this.markClosed({ code, reason: text });
        return;
      }
      this.setState('reconnecting');
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const settings = typeof this.options.reconnect === 'object' ? this.options.reconnect : {};
    const base = Math.min(settings.maxDelayMs ?? 5_000, (settings.initialDelayMs ?? 100) * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt++;
    this.retryTimer = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    let socket: WebSocket;
    try {
      socket = await open(this.url, this.options);
    } catch {
      if (this.current === 'reconnecting') this.scheduleReconnect();
      return;
    }
    if (this.current === 'closed') {
      socket.terminate();
      return;
    }
    this.socket = socket;
    this.attach(socket);
    // The subscriptions again, before anyone else may call: their ids change, callers keep theirs.
    try {
      for (const subscription of this.subscriptions.values()) {
        const { subscriptionId } = (await this.send('events.subscribe', subscription.params)) as ResultOf<'events.subscribe'>;
        subscription.serverId = subscriptionId;
      }
    } catch {
      return; // lost again: its close handler schedules the next attempt
    }
    this.attempt = 0;
    this.reconnects++;
    this.setState('open');
  }

  private untilOpen(): Promise<void> {
    const settings = typeof this.options.reconnect === 'object' ? this.options.reconnect : {};
    const timeoutMs = settings.callTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new ConnectionLost(`no connection after ${timeoutMs} ms`, { state: this.current }));
      }, timeoutMs);
      const off = this.onState((state) => {
        if (state === 'reconnecting') return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  private setState(state: ClientState): void {
    if (this.current === state) return;
    this.current = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private receive(text: string): void {
    const message = JSON.parse(text) as { id?: string; method?: string; params?: EventMessage; result?: unknown; error?: { code: number; message: string; data?: Record<string, unknown> } };
    if (message.method === 'event' && message.params) {
      const event = message.params;
      for (const [callerId, subscription] of this.subscriptions) {
        if (subscription.serverId !== event.subscriptionId) continue;
        event.subscriptionId = callerId;
        // A subscription that asked `since` a seq resubscribes, after a reconnect, since the last one seen: what it missed, once.
        const { since } = subscription.params;
        if (since !== undefined && event.topic === 'state' && typeof event.seq === 'number' && event.seq > since) subscription.params = { ...subscription.params, since: event.seq };
      }
      for (const listener of this.listeners) listener(event);
      return;
    }
    const entry = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!entry) return;
    this.pending.delete(message.id as string);
    if (message.error) entry.reject(new RpcError(message.error.code, message.error.message, message.error.data));
    else entry.resolve(message.result);
  }
}

/** One WebSocket to the server, open; a refusal (401, 403…) rejects with its HTTP status. */
function open(target: URL, options: ConnectOptions): Promise<WebSocket> {
  const headers = { ...options.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
  const ws = new WebSocket(target, { headers });
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(error);
    };
    ws.once('open', () => {
      ws.removeAllListeners();
      resolve(ws);
    });
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      fail(new RpcError(-32002, `connection refused: HTTP ${res.statusCode}`, { status: res.statusCode }));
    });
  });
}

export const connect = TabvisorClient.connect;
export type { MethodName, ParamsOf, ResultOf };
