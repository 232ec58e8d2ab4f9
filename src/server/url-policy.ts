// What a client may ask Chrome to do: which URLs a tab may go to (checked before any CDP
// call) and which extra flags an instance may get. A localhost API that drives Chrome must
// not become a way to read local files, reach chrome:// internals or open the browser up.
import { ErrorCode, TabvisorError, forbidden } from '../errors.js';

export interface UrlPolicy {
  /** URL schemes (with the colon) that may be navigated to; about:blank is always allowed. */
  schemes: string[];
}

export const defaultUrlPolicy: UrlPolicy = { schemes: ['http:', 'https:', 'data:'] };

export function checkUrl(raw: string, policy: UrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TabvisorError(ErrorCode.InvalidParams, `invalid URL: ${raw.slice(0, 200)}`, { path: 'url', expected: 'an absolute URL' });
  }
  if (raw === 'about:blank') return url;
  if (!policy.schemes.includes(url.protocol)) {
    throw forbidden(`URL scheme ${url.protocol} is not allowed (allowed: ${policy.schemes.join(' ')} about:blank)`);
  }
  return url;
}

// Flags that would take the browser out of tabvisor's hands (its endpoint, profile, process
// model) or switch off web security. Everything else a client may pass.
const FORBIDDEN_FLAGS = [
  '--remote-debugging-',
  '--remote-allow-origins',
  '--user-data-dir',
  '--headless',
  '--single-process',
  '--no-zygote',
  '--disable-web-security',
  '--load-extension',
  '--disable-extensions-except',
  '--allow-file-access',
  '--allow-running-insecure-content',
  '--utility-cmd-prefix',
  '--renderer-cmd-prefix',
  '--gpu-launcher',
];

export function checkChromeArg(arg: string): void {
  const flag = arg.trim().toLowerCase();
  if (!flag.startsWith('--')) throw forbidden(`Chrome argument ${JSON.stringify(arg.slice(0, 100))} is not a --flag`);
  const hit = FORBIDDEN_FLAGS.find((f) => flag.startsWith(f));
  if (hit) throw forbidden(`Chrome flag ${hit} is managed by tabvisor or unsafe, and may not be passed`);
}
