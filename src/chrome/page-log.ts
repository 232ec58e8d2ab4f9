// What the current document of a tab logged and requested (tab.console, tab.network, and the
// console errors and failed requests of analysis.audit): bounded buffers, newest kept, reset
// when the main frame starts a navigation.
import type { HTTPRequest, Page } from 'puppeteer-core';
import type { PageEvents } from '../analysis/audit.js';

export interface ConsoleEntry {
  /** Increases over the tab handle's life: `since` reads only what came after. */
  seq: number;
  /** The console API's level (log, info, warn, error, debug, …), or page-error for an uncaught exception. */
  type: string;
  text: string;
  url?: string;
  line?: number;
  /** Epoch ms. */
  at: number;
}

export interface RequestEntry {
  seq: number;
  url: string;
  method: string;
  resourceType: string;
  state: 'pending' | 'finished' | 'failed';
  status?: number;
  statusText?: string;
  mimeType?: string;
  fromCache?: boolean;
  errorText?: string;
  at: number;
  durationMs?: number;
}

/** Entries kept per list for the current document (the newest). */
export const MAX_PAGE_ENTRIES = 500;
// Long messages (a page that logs a whole JSON document) are cut: the buffer stays bounded in bytes too.
const MAX_TEXT = 4_000;

export class PageLog {
  readonly console: ConsoleEntry[] = [];
  readonly requests: RequestEntry[] = [];
  /** Entries pushed out of each list since the last navigation. */
  dropped = { console: 0, requests: 0 };
  private seq = 0;
  private readonly pending = new WeakMap<HTTPRequest, RequestEntry>();

  /** Listen to the page; a main-frame navigation request starts new lists. */
  attach(page: Page): void {
    const keep = <T>(list: T[], entry: T, kind: 'console' | 'requests') => {
      list.push(entry);
      if (list.length > MAX_PAGE_ENTRIES) {
        list.shift();
        this.dropped[kind]++;
      }
    };
    // The navigation request precedes its own response on the same session, so a document
    // that loads with a 404 keeps that entry.
    page.on('request', (request) => {
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) this.reset();
      const entry: RequestEntry = { seq: ++this.seq, url: request.url(), method: request.method(), resourceType: request.resourceType(), state: 'pending', at: Date.now() };
      this.pending.set(request, entry);
      keep(this.requests, entry, 'requests');
    });
    page.on('response', (response) => {
      const entry = this.pending.get(response.request());
      if (!entry) return;
      entry.status = response.status();
      entry.statusText = response.statusText();
      entry.fromCache = response.fromCache();
      const type = response.headers()['content-type'];
      if (type) entry.mimeType = type.split(';')[0];
    });
    page.on('requestfinished', (request) => this.settle(request, 'finished'));
    page.on('requestfailed', (request) => this.settle(request, 'failed', request.failure()?.errorText ?? 'failed'));
    page.on('console', (message) => {
      const { url, lineNumber } = message.location();
      const entry: ConsoleEntry = { seq: ++this.seq, type: message.type(), text: message.text().slice(0, MAX_TEXT), at: Date.now() };
      if (url) entry.url = url;
      if (lineNumber !== undefined) entry.line = lineNumber;
      keep(this.console, entry, 'console');
    });
    page.on('pageerror', (error) => {
      keep(this.console, { seq: ++this.seq, type: 'page-error', text: (error instanceof Error ? error.message : String(error)).slice(0, MAX_TEXT), at: Date.now() }, 'console');
    });
  }

  /** What analysis.audit reports: console errors, uncaught exceptions, failed requests. */
  forAudit(): PageEvents {
    const console: PageEvents['console'] = [];
    for (const e of this.console) {
      if (e.type === 'error' || e.type === 'page-error') console.push({ type: e.type, text: e.text, ...(e.url ? { url: e.url } : {}) });
    }
    const requests: PageEvents['requests'] = [];
    for (const r of this.requests) {
      if (r.state === 'failed') requests.push({ url: r.url, method: r.method, errorText: r.errorText ?? 'failed', resourceType: r.resourceType });
      else if (r.status !== undefined && r.status >= 400) requests.push({ url: r.url, method: r.method, status: r.status, resourceType: r.resourceType });
    }
    return { console, requests };
  }

  private settle(request: HTTPRequest, state: 'finished' | 'failed', errorText?: string): void {
    const entry = this.pending.get(request);
    if (!entry) return;
    this.pending.delete(request);
    entry.state = state;
    entry.durationMs = Date.now() - entry.at;
    if (errorText) entry.errorText = errorText;
  }

  private reset(): void {
    this.console.length = 0;
    this.requests.length = 0;
    this.dropped = { console: 0, requests: 0 };
  }
}
