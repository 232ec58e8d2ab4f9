// The control channel: one HTTP server carrying JSON-RPC over WebSocket at /rpc, GET /health,
// GET /metrics, the inspector (inspector-http.ts), and the event subscriptions (state, values,
// log, metrics) fed by the runtime.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LogTap } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Transition } from '../runtime/views.js';
import { createHandlers, type Handlers, type ServerInfo, type Topic } from './handlers.js';
import { dispatchFrame, failure, type ConnectionContext } from './rpc.js';
import { ErrorCode, TabvisorError } from '../errors.js';
import { defaultUrlPolicy, type UrlPolicy } from './url-policy.js';
import { assertBindable, refusal, type AccessOptions } from './access.js';
import { ServerMetrics } from './metrics.js';
import { InspectorHttp, SECURITY_HEADERS, isInspectorPath } from './inspector-http.js';
import { ValuesFeed } from './values-feed.js';
import { McpHttpEndpoint } from '../mcp/http.js';

export interface ServerOptions {
  runtime: Runtime;
  log: Logger;
  host?: string;
  port?: number;
  version: string;
  chrome: ServerInfo['chrome'];
  logTap?: LogTap;
  maxPayload?: number;
  maxInFlight?: number;
  /** A subscriber whose unsent output stays above this is closed with 1013. */
  maxBufferedBytes?: number;
  /** How long a slow subscriber has to read up to the close frame before it is cut off. */
  slowCloseGraceMs?: number;
  metricsIntervalMs?: number;
  urlPolicy?: UrlPolicy;
  /** Browser origins allowed to connect; any other Origin header is refused. */
  allowedOrigins?: string[];
  /** Required of every client (Bearer or ?token=); required to bind beyond loopback. */
  token?: string;
  /** Allow tab.evaluate (off by default: it runs any script in the pages). */
  allowEvaluate?: boolean;
  /** An MCP session idle this long (no request, no open stream) is closed (default 30 min). */
  mcpIdleMs?: number;
}

/** State events a replay sends per turn of the event loop: a few milliseconds of serialising each. */
const REPLAY_CHUNK = 500;

interface Subscription {
  topics: Set<Topic>;
  instanceId: string | undefined;
  /** Asked for the history: live state events wait until it has been sent (they are in it). */
  replaying: boolean;
}
interface Connection {
  ws: WebSocket;
  owner: string;
  inFlight: number;
  subscriptions: Map<string, Subscription>;
}

export class ControlServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly handlers: Handlers;
  private readonly metrics: ServerMetrics;
  private readonly inspector: InspectorHttp;
  /** The `values` topic, coalesced; listens to the runtime only while someone subscribes. */
  readonly values: ValuesFeed;
  /** MCP over streamable HTTP at /mcp. */
  readonly mcp: McpHttpEndpoint;
  private readonly detach: (() => void)[] = [];
  private metricsTimer: NodeJS.Timeout | undefined;
  private nextConnection = 1;
  private nextSubscription = 1;
  private closing = false;
  readonly maxPayload: number;
  readonly maxInFlight: number;

  private constructor(private readonly options: ServerOptions) {
    this.maxPayload = options.maxPayload ?? 1024 * 1024;
    this.maxInFlight = options.maxInFlight ?? 64;
    this.handlers = createHandlers(options.runtime, {
      registries: () => this.registries(),
      version: options.version,
      chrome: options.chrome,
      maxPayload: this.maxPayload,
      maxInFlight: this.maxInFlight,
      urlPolicy: options.urlPolicy ?? defaultUrlPolicy,
      allowEvaluate: options.allowEvaluate ?? false,
    });
    this.values = new ValuesFeed(options.runtime, (v) => this.publish('values', v.instanceId, { ...v }));
    this.metrics = new ServerMetrics(options.runtime, this.values.stats);
    this.inspector = new InspectorHttp(options.runtime, options.token);
    this.mcp = new McpHttpEndpoint(this.handlers, {
      version: options.version,
      allowEvaluate: options.allowEvaluate ?? false,
      log: options.log,
      maxPayload: this.maxPayload,
      idleMs: options.mcpIdleMs,
    });
    this.http = createServer((req, res) => this.serveHttp(req, res));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.maxPayload });
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.detach.push(options.runtime.onTransition((t) => this.publishState(t)));
    this.detach.push(options.runtime.onPageEvent((e) => this.publish('page', e.instanceId, e)));
    if (options.logTap) {
      const onLine = (line: Record<string, unknown>) => this.publish('log', undefined, line);
      options.logTap.on('line', onLine);
      this.detach.push(() => options.logTap?.off('line', onLine));
    }
  }

  static async listen(options: ServerOptions): Promise<ControlServer> {
    assertBindable(options.host ?? '127.0.0.1', options.token);
    const server = new ControlServer(options);
    await new Promise<void>((resolve, reject) => {
      server.http.once('error', reject);
      server.http.listen(options.port ?? 9400, options.host ?? '127.0.0.1', () => {
        server.http.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  private get access(): AccessOptions {
    const { host = '127.0.0.1', token, allowedOrigins } = this.options;
    return { host, port: this.port, token, allowedOrigins };
  }

  get url(): string {
    const host = this.options.host ?? '127.0.0.1';
    return `ws://${host.includes(':') ? `[${host}]` : host}:${this.port}/rpc`;
  }

  /** Connections and event subscriptions now (registries a soak watches). */
  registries(): { connections: number; subscriptions: number } {
    let subscriptions = 0;
    for (const connection of this.connections) subscriptions += connection.subscriptions.size;
    return { connections: this.connections.size, subscriptions };
  }

  /**
   * Stop taking new work while the runtime stops its instances: GET /health answers 503
   * (a load balancer stops sending), new connections get 503, connected clients still see
   * their instances' last events. close() ends the rest.
   */
  drain(): void {
    this.closing = true;
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.metricsTimer);
    for (const off of this.detach) off();
    this.values.close();
    this.metrics.close();
    await this.mcp.close();
    for (const connection of this.connections) connection.ws.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    for (const connection of this.connections) connection.ws.terminate();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private serveHttp(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/mcp') {
      // The channel's rules, token included: an MCP session drives Chrome as /rpc does.
      const refused = refusal(req, url, this.access);
      if (refused) return void json(refused.status, { error: refused.reason });
      if (this.closing) return void json(503, { error: 'stopping' });
      return void this.mcp.handle(req, res).catch((error: unknown) => {
        this.options.log.warn({ err: String(error) }, 'MCP request failed');
        if (!res.headersSent) json(500, { error: 'internal error' });
      });
    }
    const inspector = isInspectorPath(url.pathname);
    if (req.method !== 'GET' || (url.pathname !== '/metrics' && url.pathname !== '/health' && !inspector)) return void json(404, { error: 'not found' });
    // The channel's Host, Origin and token rules; /health without the token (probes send
    // none), so a rebinding page still cannot read it.
    const refused = refusal(req, url, url.pathname === '/health' ? { ...this.access, token: undefined } : this.access);
    if (refused && inspector) {
      const hint = refused.status === 401 ? ': open /inspector?token=<the token> once; a cookie then stands in for it' : '';
      return void res.writeHead(refused.status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end(`${refused.reason}${hint}\n`);
    }
    if (refused) return void json(refused.status, { error: refused.reason });
    if (inspector) return this.inspector.serve(req, res, url);
    if (url.pathname === '/health') return void json(this.closing ? 503 : 200, this.closing ? { status: 'stopping' } : this.options.runtime.health());
    void this.metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': this.metrics.contentType }).end(text),
      (error: unknown) => json(500, { error: String(error) }),
    );
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/rpc') return refuse(404, 'Not Found');
    // Any web page can open a WebSocket to 127.0.0.1: Host, Origin and token are checked here,
    // before the upgrade (see access.ts).
    const refused = refusal(req, url, this.access);
    if (refused) {
      this.options.log.warn({ status: refused.status, reason: refused.reason, remote: req.socket.remoteAddress }, 'refused a connection');
      return refuse(refused.status, refused.status === 401 ? 'Unauthorized' : 'Forbidden');
    }
    if (this.closing) return refuse(503, 'Service Unavailable');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, url.searchParams.get('client')));
  }

  private accept(ws: WebSocket, client: string | null): void {
    const connection: Connection = {
      ws,
      owner: client ? `client:${client.slice(0, 128)}` : `connection:${this.nextConnection++}`,
      inFlight: 0,
      subscriptions: new Map(),
    };
    this.connections.add(connection);
    const gone = new AbortController();
    const ctx: ConnectionContext = {
      owner: connection.owner,
      signal: gone.signal,
      subscribe: (topics, instanceId, since) => {
        const id = `s-${this.nextSubscription++}`;
        const sub: Subscription = { topics: new Set(topics), instanceId, replaying: since !== undefined && topics.includes('state') };
        connection.subscriptions.set(id, sub);
        if (sub.replaying) setImmediate(() => this.replay(connection, id, sub, since ?? 0));
        if (topics.includes('metrics')) this.ensureMetrics();
        if (topics.includes('values')) this.values.setActive(true);
        return id;
      },
      unsubscribe: (id) => {
        const removed = connection.subscriptions.delete(id);
        this.refreshValues();
        return removed;
      },
    };
    const options = {
      onMethodDone: (method: string, ms: number, ok: boolean) => this.metrics.observeRpc(method, ms, ok),
      admit: () => {
        if (connection.inFlight >= this.maxInFlight) return { limit: this.maxInFlight, value: connection.inFlight };
        connection.inFlight++;
        return true as const;
      },
      release: () => void connection.inFlight--,
    };
    const reply = (frame: unknown) => {
      if (frame && ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) return reply(failure(null, new TabvisorError(ErrorCode.InvalidRequest, 'binary frames are not accepted: send JSON text')));
      void dispatchFrame(data.toString(), this.handlers, ctx, options).then(reply);
    });
    ws.on('close', () => {
      this.connections.delete(connection);
      this.refreshValues();
      gone.abort(new TabvisorError(ErrorCode.Unavailable, 'the client disconnected', { state: 'disconnected' }));
    });
    ws.on('error', (error) => this.options.log.debug({ err: error.message }, 'websocket error'));
  }

  private publishState(t: Transition): void {
    this.values.stated(t);
    this.publish('state', t.instanceId, { ...t });
  }

  /**
   * The history after `since`, once the subscribe answer is on its way (the answer goes out
   * in this turn of the event loop, this runs in the next): a client knows the subscription's
   * id before its events come. A few hundred events a turn, so that replaying 10,000 does not
   * hold the event loop; live state events wait meanwhile (each chunk reads the history again,
   * so they come in their turn, once).
   */
  private replay(connection: Connection, id: string, sub: Subscription, since: number): void {
    if (connection.subscriptions.get(id) !== sub || connection.ws.readyState !== connection.ws.OPEN) return;
    const due = this.options.runtime.transitionsSince(since, sub.instanceId);
    const chunk = due.slice(0, REPLAY_CHUNK);
    for (const t of chunk) connection.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'event', params: { subscriptionId: id, topic: 'state', ...t } }));
    if (due.length > REPLAY_CHUNK) setImmediate(() => this.replay(connection, id, sub, chunk.at(-1)!.seq));
    else sub.replaying = false;
  }

  /** The values feed runs while any subscription wants values. */
  private refreshValues(): void {
    const anyone = [...this.connections].some((c) => [...c.subscriptions.values()].some((s) => s.topics.has('values')));
    this.values.setActive(anyone);
  }

  private publish(topic: Topic, instanceId: string | undefined, payload: Record<string, unknown>): void {
    const limit = this.options.maxBufferedBytes ?? 8 * 1024 * 1024;
    for (const connection of this.connections) {
      for (const [subscriptionId, sub] of connection.subscriptions) {
        if (!sub.topics.has(topic) || (topic === 'state' && sub.replaying)) continue;
        if (sub.instanceId && instanceId && sub.instanceId !== instanceId) continue;
        if (connection.ws.bufferedAmount > limit) {
          this.dropSlow(connection);
          break;
        }
        connection.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'event', params: { subscriptionId, topic, ...payload } }));
      }
    }
  }

  /**
   * Dropping a slow subscriber beats buffering without bound. The close frame queues behind
   * the backlog: a client that catches up reads 1013; one that never reads is cut off after a
   * grace period, so its backlog is not held for ws's 30 s close timeout.
   */
  private dropSlow(connection: Connection): void {
    const { ws } = connection;
    const bufferedBytes = ws.bufferedAmount;
    connection.subscriptions.clear();
    this.refreshValues();
    this.options.log.warn({ owner: connection.owner, bufferedBytes }, 'closing a slow subscriber');
    ws.close(1013, 'subscriber too slow');
    const timer = setTimeout(() => ws.terminate(), this.options.slowCloseGraceMs ?? 2_000);
    ws.once('close', () => clearTimeout(timer));
  }

  private ensureMetrics(): void {
    if (this.metricsTimer) return;
    this.metricsTimer = setInterval(() => {
      const anyone = [...this.connections].some((c) => [...c.subscriptions.values()].some((s) => s.topics.has('metrics')));
      if (!anyone) {
        clearInterval(this.metricsTimer);
        this.metricsTimer = undefined;
        return;
      }
      const runtime = this.options.runtime;
      for (const view of runtime.instances()) {
        this.publish('metrics', view.instanceId, {
          instanceId: view.instanceId,
          state: view.state,
          tabs: runtime.tabs(view.instanceId).length,
          memory: runtime.instanceMemory(view.instanceId),
          restarts: view.restarts,
          at: Date.now(),
        });
      }
      this.publish('metrics', undefined, { health: runtime.health(), at: Date.now() });
    }, this.options.metricsIntervalMs ?? 5_000);
  }
}
