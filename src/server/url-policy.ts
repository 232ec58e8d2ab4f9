// Which URLs a client may send a tab to, checked before any CDP call: a localhost API that
// drives Chrome must not become a way to read local files or chrome:// internals.
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
