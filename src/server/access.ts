// Who may talk to the control channel. Any web page can open a WebSocket to 127.0.0.1, and a
// DNS-rebinding page can even make its requests look same-origin; a token stands in for
// everything when the runtime listens beyond loopback. Decided before the WebSocket upgrade,
// on the HTTP request, so a refused client never gets a socket.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export interface AccessOptions {
  /** The address the server binds. */
  host: string;
  port: number;
  /** Required when `host` is not loopback. */
  token?: string;
  /** Browser origins allowed to connect (any other Origin header is refused). */
  allowedOrigins?: readonly string[];
}

export type Refusal = { status: 401 | 403; reason: string };

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (LOOPBACK_NAMES.has(host) || LOOPBACK_NAMES.has(bare)) return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** Refuse, with the reason, to listen beyond loopback without a token. */
export function assertBindable(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new Error(
      `refusing to listen on ${host} without a token: anyone who can reach it could drive Chrome on this machine. Pass --token (or TABVISOR_TOKEN), or bind 127.0.0.1.`,
    );
  }
}

/**
 * The Host header values a request may carry: the bound host and the loopback names, with
 * our port. On a wildcard bind (0.0.0.0, ::) the machine's own names are unknown; the token
 * (required there) is what keeps other pages out.
 */
function hostAllowed(header: string | undefined, options: AccessOptions): boolean {
  if (!header) return false;
  const bound = options.host.replace(/^\[|\]$/g, '');
  if (bound === '0.0.0.0' || bound === '::') return true;
  const names = new Set(['127.0.0.1', 'localhost', '[::1]', isIP(bound) === 6 ? `[${bound}]` : bound]);
  const allowed = new Set([...names].map((name) => `${name}:${options.port}`));
  if (options.port === 80) for (const name of names) allowed.add(name);
  return allowed.has(header.toLowerCase());
}

/** Compared as SHA-256 digests: constant time, whatever the lengths. */
export function tokenMatches(presented: string | undefined | null, token: string): boolean {
  if (typeof presented !== 'string') return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

/**
 * The inspector's cookie (set by `/inspector?token=T`): not the token itself but a value derived
 * from it, so that the cookie, which the browser sends to every port of this host, does not give
 * the token away to another local server.
 */
export const TOKEN_COOKIE = 'tabvisor_inspector';

export function cookieValue(token: string): string {
  return createHmac('sha256', token).update('tabvisor inspector cookie').digest('base64url');
}

function presentedCookie(req: IncomingMessage): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === TOKEN_COOKIE && value) return value;
  }
  return null;
}

function presentedToken(req: IncomingMessage, url: URL): string | null {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    return match?.[1] ?? null;
  }
  return url.searchParams.get('token');
}

/**
 * Why this request may not use the channel, or null when it may. A browser page may if its
 * Origin is allow-listed or is this server's own (the inspector): exactly `http://` and the Host
 * the request came with, which the Host rule has just accepted.
 */
export function refusal(req: IncomingMessage, url: URL, options: AccessOptions): Refusal | null {
  const host = req.headers.host;
  if (!hostAllowed(host, options)) return { status: 403, reason: `Host ${JSON.stringify(host ?? '')} is not this server` };
  const origin = req.headers.origin;
  if (origin && !(options.allowedOrigins ?? []).includes(origin) && origin.toLowerCase() !== `http://${host?.toLowerCase()}`) {
    return { status: 403, reason: `Origin ${origin} is not allowed` };
  }
  if (options.token && !tokenMatches(presentedToken(req, url), options.token) && !tokenMatches(presentedCookie(req), cookieValue(options.token))) {
    return { status: 401, reason: 'missing or wrong token' };
  }
  return null;
}
