// The local pages a soak's workloads visit (ctx.pagesUrl), served on 127.0.0.1 so that no run
// depends on the network: a cycle of ordinary pages, a form to interact with, and the pages of
// the self-test that retain memory on purpose.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The pages the navigate workload cycles through. */
export const CYCLE = ['/p/text', '/p/table', '/p/form', '/p/script', '/p/frames'] as const;

const page = (title: string, body: string, head = '') =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${head}</head><body><h1>${title}</h1>${body}</body></html>`;

const pages: Record<string, (q: URLSearchParams) => string> = {
  '/p/text': () => page('text', Array.from({ length: 40 }, (_, i) => `<p>Paragraph ${i}: ${'lorem ipsum dolor sit amet '.repeat(8)}</p>`).join('')),
  '/p/table': () =>
    page('table', `<table>${Array.from({ length: 200 }, (_, r) => `<tr>${Array.from({ length: 6 }, (_, c) => `<td>${r}.${c}</td>`).join('')}</tr>`).join('')}</table>`),
  '/p/form': () =>
    page(
      'form',
      `<form>${Array.from({ length: 20 }, (_, i) => `<label>Field ${i} <input name="f${i}"></label><br>`).join('')}<select>${'<option>a</option>'.repeat(10)}</select><button type="button">Send</button></form>`,
    ),
  // Listeners, a timer and a few hundred nodes made by script: all must go with the document.
  '/p/script': () =>
    page(
      'script',
      '<div id="root"></div>',
      `<script>addEventListener('DOMContentLoaded', () => {
        const root = document.getElementById('root');
        for (let i = 0; i < 300; i++) { const b = document.createElement('button'); b.textContent = 'b' + i; b.addEventListener('click', () => b.classList.toggle('on')); root.appendChild(b); }
        window.cache = new Array(2000).fill(0).map((_, i) => ({ i, s: 'v' + i }));
        const timer = setInterval(() => { document.title = 'script ' + Date.now() % 1000; }, 200);
        addEventListener('pagehide', () => clearInterval(timer));
      });</script>`,
    ),
  '/p/frames': () => page('frames', '<iframe src="/p/text" width="300" height="200"></iframe><iframe src="/p/table" width="300" height="200"></iframe>'),
  // The interact workload: type into the field, apply, read the result.
  '/interact': () =>
    page(
      'interact',
      `<label>Value <input id="value" aria-label="value"></label> <button id="apply" onclick="document.getElementById('out').textContent = document.getElementById('value').value">Apply</button>
       <output id="out" aria-label="result"></output><ul>${Array.from({ length: 30 }, (_, i) => `<li><a href="#i${i}">item ${i}</a></li>`).join('')}</ul>`,
    ),
  // The self-test's pages: each click on #step keeps kb KiB of JS heap (an array of unboxed
  // doubles: 8 bytes each), `nodes` new elements and `listeners` listeners on them. kb=0 is the
  // control: the same work, nothing kept.
  '/leak': (q) => {
    const kb = Number(q.get('kb') ?? '0');
    const nodes = Number(q.get('nodes') ?? '0');
    const listeners = Number(q.get('listeners') ?? '0');
    return page(
      `leak ${kb} KiB, ${nodes} nodes, ${listeners} listeners per step`,
      '<button id="step">step</button><div id="kept"></div>',
      `<script>
        const kept = []; let n = 0;
        addEventListener('DOMContentLoaded', () => document.getElementById('step').addEventListener('click', () => {
          n++;
          const block = new Array(${kb * 128}).fill(n + 0.5);
          if (${kb} > 0) kept.push(block);
          const holder = document.getElementById('kept');
          for (let i = 0; i < ${nodes}; i++) { const d = document.createElement('span'); holder.appendChild(d); }
          for (let i = 0; i < ${listeners}; i++) holder.lastChild.addEventListener('click', () => n--);
          const scratch = document.createElement('div'); scratch.textContent = 'step ' + n;
        }));
      </script>`,
    );
  },
  // Memory kept at a fixed rate in time (KiB per hour, a tenth of a minute's worth every 6 s),
  // for the self-test's cases of leaks per hour.
  '/rate': (q) => {
    const kbPerHour = Number(q.get('kbPerHour') ?? '0');
    return page(
      `keeps ${kbPerHour} KiB/h`,
      '',
      `<script>
        const kept = []; const start = performance.now(); let done = 0;
        setInterval(() => {
          const due = Math.floor((performance.now() - start) / 3600000 * ${kbPerHour} * 128);
          if (due > done) { kept.push(new Array(due - done).fill(done + 0.5)); done = due; }
        }, 6000);
      </script>`,
    );
  },
};

export class PageServer {
  private constructor(private readonly server: Server) {}

  static async start(): Promise<PageServer> {
    const server = createServer((req, res) => serve(req, res));
    // Every response closes its connection. The server lives in the soak's process, beside the
    // embedded runtime, whose fds and TCP handles are judged: Chrome's pool of keep-alive
    // connections to it (one to three, each reused for seconds while navigations keep coming)
    // made those counts step up and down by one, and a step still up at the end of a short
    // run read as "not back to baseline" (2 of 20 runs inconclusive).
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new PageServer(server);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function serve(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const render = pages[url.pathname];
  if (!render) {
    res.writeHead(url.pathname === '/favicon.ico' ? 204 : 404, { connection: 'close' }).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
  res.end(render(url.searchParams));
}
