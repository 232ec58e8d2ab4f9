// Session state of a browser, in the shape Playwright's storageState uses: its cookies, and
// the localStorage of the origins its pages show. Exported from one instance, given to a new
// one at creation, so that a client logs in once and reuses the login.
import type { Browser, CDPSession, Page } from 'puppeteer-core';
import { errorMessage } from '../errors.js';

export interface StorageCookie {
  name: string;
  value: string;
  domain: string;
  path: string;
  /** Epoch seconds; absent for a session cookie. */
  expires?: number;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
}

export interface StorageState {
  cookies: StorageCookie[];
  origins: { origin: string; localStorage: { name: string; value: string }[] }[];
}

/** The browser's cookies, and the localStorage of every http(s) origin its pages and frames show. */
export async function exportStorageState(session: CDPSession, pages: Page[]): Promise<StorageState> {
  const { cookies } = await session.send('Storage.getCookies');
  const origins = new Map<string, { name: string; value: string }[]>();
  for (const page of pages) {
    for (const frame of page.frames()) {
      let origin: string;
      try {
        origin = new URL(frame.url()).origin;
      } catch {
        continue;
      }
      if (!origin.startsWith('http') || origins.has(origin)) continue;
      // A frame that navigates away meanwhile has nothing to read: its origin is skipped.
      const items = await frame.evaluate('Object.entries(localStorage)').then((v) => v as [string, string][], () => null);
      if (items) origins.set(origin, items.map(([name, value]) => ({ name, value })));
    }
  }
  return {
    cookies: cookies.map((c) => ({
      name: c.name,
      value: c.value,
      domain: c.domain,
      path: c.path,
      ...(c.session || c.expires < 0 ? {} : { expires: c.expires }),
      httpOnly: c.httpOnly,
      secure: c.secure,
      ...(c.sameSite ? { sameSite: c.sameSite } : {}),
    })),
    origins: [...origins].map(([origin, localStorage]) => ({ origin, localStorage })),
  };
}

/**
 * Put cookies and localStorage into a new browser. localStorage is written from a page of
 * each origin whose requests are answered here with an empty document: no request leaves the
 * browser, and the origin's own scripts do not run.
 */
export async function importStorageState(browser: Browser, session: CDPSession, state: StorageState): Promise<void> {
  if (state.cookies.length) {
    await session.send('Storage.setCookies', {
      cookies: state.cookies.map((c) => ({ name: c.name, value: c.value, domain: c.domain, path: c.path, expires: c.expires, httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite })),
    });
  }
  const origins = state.origins.filter((o) => o.localStorage.length > 0);
  if (!origins.length) return;
  const page = await browser.newPage();
  try {
    await page.setRequestInterception(true);
    page.on('request', (request) => void request.respond({ status: 200, contentType: 'text/html', body: '<!doctype html><title></title>' }).catch(() => {}));
    for (const { origin, localStorage: items } of origins) {
      await page.goto(`${origin}/`, { waitUntil: 'domcontentloaded', timeout: 10_000 });
      await page.evaluate(`for (const [name, value] of ${JSON.stringify(items.map((i) => [i.name, i.value]))}) localStorage.setItem(name, value)`);
    }
  } catch (error) {
    throw new Error(`could not restore localStorage: ${errorMessage(error)}`, { cause: error });
  } finally {
    await page.close({ runBeforeUnload: false }).catch(() => {}); // a browser gone meanwhile closed it
  }
}
