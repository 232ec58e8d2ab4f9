// PREVIEW WITH A FAKE FEED — not the server, not a test. Serves the built page (dist/inspector),
// the real GET /machines document, and a JSON-RPC WebSocket fed by a made-up fleet
// (scripts/inspector-preview-feed.ts), with the security headers the server is to send.
//   npm run inspector:preview -- [--instances 4] [--tabs 3] [--history 300] [--port 9477]
//   … --check [--shots DIR]   opens it in Chromium (puppeteer-core), checks it and exits
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { machinesDocument } from '../src/inspector/machines.js';
import { FakeFleet } from './inspector-preview-feed.js';
import { checkInspector } from './inspector-preview-check.js';

const { values: args } = parseArgs({
  options: {
    instances: { type: 'string', default: '4' },
    tabs: { type: 'string', default: '3' },
    history: { type: 'string', default: '300' },
    port: { type: 'string', default: '9477' },
    check: { type: 'boolean', default: false },
    shots: { type: 'string', default: '.scratch/inspector' },
  },
});

const DIST = new URL('../dist/inspector/', import.meta.url);
const HEADERS = {
  'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};
const TYPES: Record<string, string> = { 'index.html': 'text/html; charset=utf-8', 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8', 'favicon.svg': 'image/svg+xml' };

const fleet = new FakeFleet({ instances: Number(args.instances), tabs: Number(args.tabs), history: Number(args.history) });
const machines = JSON.stringify(machinesDocument());
const sockets = new Set<WebSocket>();
/** While set, new sockets wait for their handshake: the check uses it to show the reconnecting banner. */
let outageUntil = 0;

const server = createServer((req, res) => {
  handle(req, res).catch((error) => send(res, 500, 'text/plain', String(error)));
});

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://preview');
  if (url.pathname === '/inspector' || url.pathname === '/inspector/') return send(res, 200, TYPES['index.html']!, await readFile(new URL('index.html', DIST)));
  const file = url.pathname.match(/^\/inspector\/(app\.js|app\.css|favicon\.svg)$/)?.[1];
  if (file) return send(res, 200, TYPES[file]!, await readFile(new URL(file, DIST)));
  if (url.pathname === '/machines') return send(res, 200, 'application/json', machines);
  if (url.pathname === '/inspector/thumbnail') {
    const tab = fleet.actors.get(url.searchParams.get('tabId') ?? '');
    if (!tab || tab.kind !== 'tab') return send(res, 404, 'text/plain', 'unknown tab');
    if (tab.state !== 'healthy' && tab.state !== 'degraded') return send(res, 503, 'text/plain', `tab is ${tab.state}`);
    thumbnails += 1;
    // The real server sends a JPEG of the page; the preview draws a PNG with a moving bar.
    return send(res, 200, 'image/png', thumbnail(tab.id));
  }
  send(res, 404, 'text/plain', 'not found');
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...HEADERS, 'Content-Type': type });
  res.end(body);
}

let thumbnails = 0;
function thumbnail(seed: string): Buffer {
  const png = new PNG({ width: 320, height: 180 });
  const hue = [...seed].reduce((a, c) => a + c.charCodeAt(0), 0) % 255;
  const bar = Math.floor(((Date.now() / 1000) % 10) * 32);
  for (let y = 0; y < 180; y++) {
    for (let x = 0; x < 320; x++) {
      const i = (y * 320 + x) * 4;
      const header = y < 24;
      png.data[i] = header ? 40 : 230 - (hue % 60);
      png.data[i + 1] = header ? 44 : 232 - ((hue * 3) % 50);
      png.data[i + 2] = header ? 52 : 240;
      png.data[i + 3] = 255;
      if (y > 150 && y < 160 && x < bar) png.data.set([76, 194, 255, 255], i);
      if (y > 40 && y < 48 && x > 20 && x < 200) png.data.set([90, 96, 110, 255], i);
      if (y > 60 && y < 66 && x > 20 && x < 280) png.data.set([150, 156, 170, 255], i);
    }
  }
  return PNG.sync.write(png);
}

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url ?? '/', 'http://preview');
  if (url.pathname !== '/rpc') {
    socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    return;
  }
  // During an outage the handshake waits (as for a runtime that is starting again), so that the
  // browser logs no failed handshake while the page shows its banner.
  setTimeout(() => wss.handleUpgrade(req, socket, head, (ws) => serve(ws)), Math.max(0, outageUntil - Date.now()));
});

function serve(ws: WebSocket): void {
  sockets.add(ws);
  let unsubscribe: (() => void) | null = null;
  let subscriptionId = '';
  const reply = (id: unknown, result: unknown) => ws.send(JSON.stringify({ jsonrpc: '2.0', id, result }));
  ws.on('message', (data) => {
    const { id, method, params } = JSON.parse(String(data)) as { id: unknown; method: string; params?: Record<string, unknown> };
    const actors = [...fleet.actors.values()];
    switch (method) {
      case 'instance.list':
        return reply(id, {
          instances: actors
            .filter((a) => a.kind === 'instance')
            .map((a) => ({
              instanceId: a.id,
              name: a.name,
              state: a.state,
              pid: a.pid,
              tabs: actors.filter((t) => t.kind === 'tab' && t.instanceId === a.id).length,
              memory: { pssMb: Math.round(a.pssMb), ussMb: Math.round(a.pssMb * 0.8) },
              restarts: a.restarts,
              createdAt: a.createdAt,
              shared: false,
              reason: a.reason,
              stateSince: a.stateSince,
              value: a.value,
            })),
        });
      case 'tab.list':
        return reply(id, {
          tabs: actors
            .filter((a) => a.kind === 'tab')
            .map((a) => ({ tabId: a.id, instanceId: a.instanceId, url: a.url, title: a.name, state: a.state, reason: a.reason, restarts: a.restarts, stateSince: a.stateSince, value: a.value })),
        });
      case 'events.subscribe': {
        subscriptionId = `s-${Math.random().toString(36).slice(2, 8)}`;
        reply(id, { subscriptionId });
        unsubscribe?.();
        const since = typeof params?.since === 'number' ? params.since : undefined;
        unsubscribe = fleet.subscribe((topic, event) => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'event', params: { subscriptionId, topic, ...event } }));
        }, since);
        return;
      }
      default:
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: `the preview does not know ${method}` } }));
    }
  });
  ws.on('close', () => {
    unsubscribe?.();
    sockets.delete(ws);
  });
}

/** Closes every socket and holds new ones for `ms`: what a runtime restart looks like to the page. */
function dropConnections(ms: number): void {
  outageUntil = Date.now() + ms;
  for (const ws of sockets) ws.terminate();
}

server.listen(Number(args.port), '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${args.port}`;
  fleet.start();
  console.log(`PREVIEW with a FAKE feed: ${base}/inspector (${args.instances} instances × ${args.tabs} tabs, ${fleet.seq} transitions of history)`);
  if (!args.check) return;
  let failed = false;
  try {
    failed = !(await checkInspector({ base, shots: args.shots, fleet, dropConnections, thumbnails: () => thumbnails }));
  } catch (error) {
    console.error(error);
    failed = true;
  } finally {
    fleet.stop();
    for (const ws of sockets) ws.terminate();
    server.close();
  }
  process.exit(failed ? 1 : 0);
});
