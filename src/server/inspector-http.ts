// The inspector's HTTP side: the page (dist/inspector, built by scripts/build-inspector.mjs),
// GET /machines, tab thumbnails, and the token cookie. The channel's Host, Origin and token
// rules apply to all of it (server.ts checks them first); every answer carries the security
// headers, errors included. The data contract is src/inspector/CONTRACT.md.
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, TabvisorError } from '../errors.js';
import { machinesDocument } from '../inspector/machines.js';
import type { Runtime } from '../runtime/runtime.js';
import { TOKEN_COOKIE, cookieValue } from './access.js';

/**
 * The page has no inline script or style and puts every runtime string in as text, so
 * `default-src 'self'` needs no exception; it may not be framed, nor send a Referer (crawled
 * URLs) anywhere.
 */
export const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
} as const;

const FILES: Record<string, string> = {
  '/inspector': 'index.html',
  '/inspector/': 'index.html',
  '/inspector/app.js': 'app.js',
  '/inspector/app.css': 'app.css',
  '/inspector/favicon.svg': 'favicon.svg',
};
const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

export function isInspectorPath(pathname: string): boolean {
  return pathname === '/machines' || pathname === '/inspector' || pathname.startsWith('/inspector/');
}

export class InspectorHttp {
  private readonly files = new Map<string, Buffer>();
  private machines: { json: string; etag: string } | null = null;

  constructor(
    private readonly runtime: Runtime,
    private readonly token: string | undefined,
  ) {}

  /** Answer a request the access rules let through. */
  serve(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const { pathname } = url;
    if (pathname === '/machines') return this.serveMachines(req, res);
    if (pathname === '/inspector/thumbnail') return void this.serveThumbnail(res, url.searchParams.get('tabId') ?? '');
    const file = FILES[pathname];
    if (!file) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
    // The token came in the URL: trade it for the cookie, and drop it from the address bar
    // (and from the history, bookmarks and screenshots of it).
    if (file === 'index.html' && url.searchParams.has('token')) {
      const cookie = this.token ? [`${TOKEN_COOKIE}=${cookieValue(this.token)}; HttpOnly; SameSite=Strict; Path=/`] : [];
      res.writeHead(303, { ...SECURITY_HEADERS, Location: '/inspector', ...(cookie.length ? { 'Set-Cookie': cookie } : {}) }).end();
      return;
    }
    const body = this.file(file);
    if (!body) return send(res, 503, 'text/plain; charset=utf-8', 'the inspector page is not built: run npm run build');
    send(res, 200, TYPES[file]!, body);
  }

  private file(name: string): Buffer | null {
    let body = this.files.get(name);
    if (!body) {
      const path = join(pageDir(), name);
      if (!existsSync(path)) return null;
      body = readFileSync(path);
      this.files.set(name, body);
    }
    return body;
  }

  /** The machines only change with the code: described once, served with their hash as ETag. */
  private serveMachines(req: IncomingMessage, res: ServerResponse): void {
    if (!this.machines) {
      const document = machinesDocument();
      this.machines = { json: JSON.stringify(document), etag: `"${document.hash}"` };
    }
    const { json, etag } = this.machines;
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { ...SECURITY_HEADERS, 'Cache-Control': 'no-cache', ETag: etag }).end();
    res.writeHead(200, { ...SECURITY_HEADERS, 'Cache-Control': 'no-cache', ETag: etag, 'Content-Type': 'application/json' }).end(json);
  }

  private async serveThumbnail(res: ServerResponse, tabId: string): Promise<void> {
    try {
      const jpeg = await this.runtime.thumbnails.get(tabId);
      send(res, 200, 'image/jpeg', jpeg);
    } catch (error) {
      const code = error instanceof TabvisorError ? error.code : ErrorCode.Internal;
      const status = code === ErrorCode.NotFound ? 404 : 503;
      send(res, status, 'text/plain; charset=utf-8', error instanceof Error ? error.message : String(error));
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type }).end(body);
}

/** dist/inspector of this package, whether this module runs compiled (dist/src/server) or from source (src/server). */
function pageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'inspector');
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'inspector');
}
