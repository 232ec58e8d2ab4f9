// The pages a bench loads, served from 127.0.0.1 by this process.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

/** Serve `page(path)` (the path without query or fragment), or 404 where it gives null. No
 * caching: every navigation fetches the page again, as a crawler's would. `headers` go with
 * every answer. */
export async function servePages(page: (path: string) => string | null, headers: Record<string, string> = {}): Promise<PageServer> {
  const server = createServer((req, res) => {
    const html = page((req.url ?? '/').split(/[?#]/)[0] as string);
    if (html === null) return void res.writeHead(404, headers).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A small static page: a title, a heading, a line saying which bench serves it, 20 links. */
export function smallPage(name: string, bench: string, href: (i: number) => string): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>page ${name}</title>` +
    `<style>body{font:16px sans-serif;margin:2em}li{margin:.2em 0}</style></head><body>` +
    `<h1>Page ${name}</h1><p>A small static page served by the ${bench} benchmark.</p><ul>` +
    Array.from({ length: 20 }, (_, i) => `<li><a href="${href(i)}">item ${i}</a></li>`).join('') +
    `</ul></body></html>`
  );
}
