// Integration harness: tabvisor started in this process on a random port with fast probe
// timings, a real WebSocket client, a local HTTP server for pages, the state events seen, and
// a check that closing everything leaves no timer, socket, child process or fd behind.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { fdTargetSync, openFdsSync } from '../../src/chrome/proc.js';
import { RpcError, connect, type EventMessage, type TabvisorClient } from '../../src/client/index.js';
import { startTabvisor, type Tabvisor, type TabvisorOptions } from '../../src/index.js';
import type { Transition } from '../../src/runtime/views.js';

// Fast enough to prove every signal in seconds, slow enough that a loaded 2-core machine does
// not miss probes by accident.
export const fastDefaults: NonNullable<TabvisorOptions['defaults']> = {
  probe: { intervalMs: 500, deadlineMs: 1_000, degradeAfter: 2, recoverAfter: 4 },
  tabProbe: { intervalMs: 500, deadlineMs: 1_000, degradeAfter: 1, recoverAfter: 3 },
  memoryIntervalMs: 500,
  evictIdleMs: 0,
};

/** A `state` event as the client receives it: the runtime's Transition, on the wire. */
export type StateEvent = Transition;

export class EventLog {
  readonly events: StateEvent[] = [];
  private waiters = new Set<() => void>();

  constructor(client: TabvisorClient) {
    client.onEvent((e: EventMessage) => {
      if (e.topic !== 'state') return;
      this.events.push(e as unknown as StateEvent);
      for (const wake of this.waiters) wake();
    });
  }

  /** Index to start a later wait from: only events after "now" count. */
  mark(): number {
    return this.events.length;
  }

  /** The first event at or after `from` that matches; fails after `timeoutMs`. */
  async waitFor(match: Partial<StateEvent> | ((e: StateEvent) => boolean), from = 0, timeoutMs = 30_000): Promise<StateEvent> {
    const test = typeof match === 'function' ? match : (e: StateEvent) => Object.entries(match).every(([k, v]) => e[k as keyof StateEvent] === v);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(test);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.events.slice(from).map((e) => `${e.actor} ${e.from}→${e.to} (${e.reason})`);
        throw new Error(`no state event matching ${typeof match === 'function' ? 'predicate' : JSON.stringify(match)} within ${timeoutMs} ms; seen:\n${seen.join('\n')}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        const waiters = this.waiters;
        waiters.add(done);
      });
    }
  }

  of(actor: string, from = 0): string[] {
    return this.events.slice(from).filter((e) => e.actor === actor).map((e) => e.to);
  }
}

/** Pages for the tests. `once` routes misbehave on their first request only, so a restored
 * tab (reopened at the same URL) comes back well. */
export class PageServer {
  private readonly seen = new Set<string>();
  private readonly custom = new Map<string, { body: string | Buffer; type: string; status: number }>();
  readonly hits = new Map<string, number>();
  private constructor(private readonly server: Server) {}

  static async start(): Promise<PageServer> {
    let self: PageServer | undefined;
    const server = createServer((req, res) => self?.serve(req.url ?? '/', res));
    self = new PageServer(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  url(path: string): string {
    return `${this.origin}${path}`;
  }

  /** A URL on a port nothing listens on (connection refused). */
  async closedPortUrl(): Promise<string> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return `http://127.0.0.1:${port}/`;
  }

  /** Serve `body` at `path` (HTML unless said otherwise); returns the URL. */
  put(path: string, body: string | Buffer, type = 'text/html; charset=utf-8', status = 200): string {
    this.custom.set(path, { body, type, status });
    return this.url(path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(path: string, res: import('node:http').ServerResponse): void {
    const url = new URL(path, 'http://x');
    this.hits.set(url.pathname, (this.hits.get(url.pathname) ?? 0) + 1);
    const first = !this.seen.has(url.pathname);
    this.seen.add(url.pathname);
    const custom = this.custom.get(url.pathname);
    if (custom) {
      res.writeHead(custom.status, { 'content-type': custom.type });
      res.end(custom.body);
      return;
    }
    const html = (title: string, body = '') => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`);
    };
    const [, kind, name = 'page'] = url.pathname.split('/');
    switch (kind) {
      case 'page':
        return html(name);
      case 'retitled':
        // The title changes while parsing and again in a load handler; a same-named global in
        // the page's world and a titled iframe must not confuse the title reported at load.
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return void res.end(
          `<!doctype html><html><head><title>first</title><script>document.title = 'parsed'; window.__tabvisorLoaded = () => {};` +
            `addEventListener('load', () => { document.title = '${name}'; });</script></head>` +
            `<body><iframe src="/page/framed"></iframe></body></html>`,
        );
      case 'hashes':
        // A same-document navigation every 10 ms: URL_CHANGED after URL_CHANGED, none of which
        // moves the tab's state.
        return html(name, '<script>let i = 0; setInterval(() => { location.hash = String(++i); }, 10);</script>');
      case 'untitled':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return void res.end('<!doctype html><p>no title here</p>');
      case 'slow': {
        const timer = setTimeout(() => html(name), Number(url.searchParams.get('ms') ?? '5000'));
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'hang-once':
        // A busy loop that starts after load: the renderer stops answering for good.
        return first ? html(name, '<script>setTimeout(() => { for (;;) {} }, 50)</script>') : html(name);
      case 'alloc-once': {
        const mb = Number(url.searchParams.get('mb') ?? '300');
        // Touch every page of the allocation so it counts as resident anonymous memory.
        const script = `<script>window.hog=[];for(let i=0;i<${mb};i++){const a=new Uint8Array(1<<20);for(let j=0;j<a.length;j+=4096)a[j]=1;window.hog.push(a);}</script>`;
        return first ? html(name, script) : html(name);
      }
      default:
        res.writeHead(404).end('not found');
    }
  }
}

export interface Harness {
  tv: Tabvisor;
  client: TabvisorClient;
  events: EventLog;
  pages: PageServer;
  /** Another client (a different owner) on the same server. */
  connectAnother(client?: string): Promise<TabvisorClient>;
  close(): Promise<void>;
}

export async function startHarness(options: TabvisorOptions = {}): Promise<Harness> {
  const baseline = resourceSnapshot();
  const pages = await PageServer.start();
  const tv = await startTabvisor({ port: 0, ...options, defaults: { ...fastDefaults, ...options.defaults } });
  const token = options.server?.token;
  const client = await connect(tv.url, { client: 'harness', token });
  const events = new EventLog(client);
  await client.call('events.subscribe', { topics: ['state'] });
  const others: TabvisorClient[] = [];
  return {
    tv,
    client,
    events,
    pages,
    async connectAnother(name?: string) {
      const other = await connect(tv.url, name ? { client: name, token } : { token });
      others.push(other);
      return other;
    },
    async close() {
      for (const other of others) await other.close();
      await client.close();
      await tv.close();
      await pages.close();
      await expectNoLeakedResources(baseline);
    },
  };
}

export interface ResourceSnapshot {
  resources: Map<string, number>;
  fds: number;
}

export function resourceSnapshot(): ResourceSnapshot {
  const resources = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) resources.set(name, (resources.get(name) ?? 0) + 1);
  return { resources, fds: openFdsSync().length };
}

/** Timers, sockets, servers, child processes and fds are back to what they were. */
export async function expectNoLeakedResources(baseline: ResourceSnapshot): Promise<void> {
  let now = resourceSnapshot();
  // Closed sockets and exited children are released on the next turns of the loop.
  for (let i = 0; i < 40 && !sameOrFewer(now, baseline); i++) {
    await new Promise((r) => setTimeout(r, 50));
    now = resourceSnapshot();
  }
  expect(Object.fromEntries(now.resources)).toEqual(Object.fromEntries([...now.resources.keys()].map((k) => [k, Math.min(now.resources.get(k) ?? 0, baseline.resources.get(k) ?? 0)])));
  if (now.fds > baseline.fds) {
    const fds = openFdsSync().map((fd) => {
      const target = fdTargetSync(fd);
      return target === null ? fd : `${fd} -> ${target}`;
    });
    expect.fail(`file descriptors: ${now.fds} now, ${baseline.fds} before the harness started:\n${fds.join('\n')}`);
  }
}

function sameOrFewer(now: ResourceSnapshot, baseline: ResourceSnapshot): boolean {
  for (const [k, v] of now.resources) if (v > (baseline.resources.get(k) ?? 0)) return false;
  return now.fds <= baseline.fds;
}

/** The RpcError a call must fail with (the test fails if it succeeds). */
export async function rpcError(promise: Promise<unknown>): Promise<RpcError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RpcError);
  return error as RpcError;
}

/** The tab's title once it is `want`, or whatever it is after 2 s: a page may retitle itself a task after an action. */
export async function titleOnce(client: TabvisorClient, tabId: string, want: string): Promise<string> {
  let title = '';
  for (let i = 0; i < 100 && title !== want; i++) {
    if (i) await new Promise((r) => setTimeout(r, 20));
    title = (await client.call('tab.text', { tabId, maxChars: 1 })).title;
  }
  return title;
}

/** Processes of a pid's group that are still alive (not zombies). */
export { liveGroupMembers } from '../../src/chrome/launch.js';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
