// MCP over streamable HTTP at /mcp on the daemon (the server checks Host, Origin and token
// first, as for /rpc). Each MCP session is one tabvisor client, owner `mcp:<session id>`, whose
// tools call the same handlers as the control channel, in-process. A session ends on DELETE,
// when it has been idle too long, or with the server; its instances are stopped then.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { Handlers } from '../server/handlers.js';
import { inProcessBackend } from './backend.js';
import { createMcpServer } from './server.js';
import { McpSession } from './session.js';

export interface McpHttpOptions {
  version: string;
  allowEvaluate: boolean;
  log: Logger;
  /** Request bodies above this get 413. */
  maxPayload: number;
  /** A session with no request and no open stream for this long is closed (default 30 min). */
  idleMs?: number;
  /** Sessions at once (default 256); more get 503. */
  maxSessions?: number;
}

interface Entry {
  transport: StreamableHTTPServerTransport;
  session: McpSession;
  closed: AbortController;
  open: number;
  lastActive: number;
}

export class McpHttpEndpoint {
  private readonly sessions = new Map<string, Entry>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly handlers: Handlers,
    private readonly options: McpHttpOptions,
  ) {
    const idleMs = options.idleMs ?? 30 * 60_000;
    this.sweep = setInterval(() => {
      for (const [id, entry] of this.sessions) if (entry.open === 0 && Date.now() - entry.lastActive > idleMs) void this.drop(id, 'idle');
    }, Math.min(idleMs, 60_000));
    this.sweep.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, code: number, message: string) =>
      void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
    const header = req.headers['mcp-session-id'];
    const entry = typeof header === 'string' ? this.sessions.get(header) : undefined;
    if (header !== undefined && !entry) return reply(404, -32001, 'session not found: start a new one');
    let body: unknown;
    if (req.method === 'POST') {
      const text = await readBody(req, this.options.maxPayload);
      if (text === null) return reply(413, -32600, `request body above ${this.options.maxPayload} bytes`);
      try {
        body = JSON.parse(text);
      } catch {
        return reply(400, -32700, 'parse error: the body is not JSON');
      }
    }
    if (entry) return this.serve(entry, req, res, body);
    if (req.method !== 'POST' || !isInitializeRequest(body)) return reply(400, -32600, 'no mcp-session-id: the first request must be initialize');
    if (this.sessions.size >= (this.options.maxSessions ?? 256)) return reply(503, -32001, 'too many MCP sessions');
    await this.serve(await this.open(), req, res, body);
  }

  /** Close every session (the server stops). */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    await Promise.all([...this.sessions.keys()].map((id) => this.drop(id, 'server closing')));
  }

  private async open(): Promise<Entry> {
    const id = randomUUID();
    const closed = new AbortController();
    const session = new McpSession(inProcessBackend(this.handlers, `mcp:${id}`, closed.signal));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => id });
    const entry: Entry = { transport, session, closed, open: 0, lastActive: Date.now() };
    this.sessions.set(id, entry);
    transport.onclose = () => void this.drop(id, 'closed by the client');
    await createMcpServer(session, { allowEvaluate: this.options.allowEvaluate, localFiles: false, version: this.options.version }).connect(transport);
    this.options.log.info({ session: id }, 'MCP session opened');
    return entry;
  }

  private async serve(entry: Entry, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    entry.open++;
    res.once('close', () => {
      entry.open--;
      entry.lastActive = Date.now();
    });
    try {
      await entry.transport.handleRequest(req, res, body);
    } catch (error) {
      this.options.log.warn({ err: errorMessage(error) }, 'MCP request failed');
      if (!res.headersSent) res.writeHead(500).end();
    }
  }

  private async drop(id: string, why: string): Promise<void> {
    const entry = this.sessions.get(id);
    if (!entry) return;
    this.sessions.delete(id);
    this.options.log.info({ session: id, why }, 'MCP session closed: stopping its instances');
    await entry.session.close();
    entry.closed.abort();
    await entry.transport.close().catch(() => {}); // closed already when the client ended it
  }
}

/** The body as text, or null once it passes `limit` bytes (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
