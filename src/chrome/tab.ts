// One page of a Chrome instance as the runtime sees it: the puppeteer Page, a CDP session for
// cheap probes, and the signals (crash, close, navigation) its tab actor listens to.
import { EventEmitter } from 'node:events';
import type { Browser, CDPSession, Page } from 'puppeteer-core';
import { waitAtMost } from '../wait.js';

export interface TabSignals {
  crashed: [detail: string];
  gone: [];
  navigated: [url: string];
}

export type WaitUntil = 'load' | 'domcontentloaded' | 'networkidle';

// The title at load, reported by the page itself: a listener in puppeteer's utility world
// (an isolated world that puppeteer creates in every document anyway, invisible to the page's
// scripts) calls a CDP binding from its load handler, so the title is in hand when puppeteer
// sees the load and navigate needs no renderer round trip after it (one that waits behind the
// page's first frame: ~5 ms of a 25 ms navigation). A world of our own would cost a V8
// context per document (~2 ms per navigation, measured), so this rides on puppeteer's
// session and world. If a puppeteer upgrade moves either, titles are read in the page again.
const TITLE_WORLD: string | null = await import('puppeteer-core/internal/common/util.js').then(
  (util: { UTILITY_WORLD_NAME?: unknown }) => (typeof util.UTILITY_WORLD_NAME === 'string' ? util.UTILITY_WORLD_NAME : null),
  () => null,
);
const TITLE_BINDING = '__tabvisorLoaded';
const TITLE_SCRIPT = `if (window === window.top) addEventListener('load', () => {
  const report = globalThis.${TITLE_BINDING};
  let last = document.title;
  const send = () => { try { report(JSON.stringify([location.href, last])); } catch {} };
  send();
  // This listener runs first; the page's own load handlers may still set the title. Follow
  // it until the load task ends (each handler is followed by a microtask checkpoint).
  const observer = new MutationObserver(() => { if (document.title !== last) { last = document.title; send(); } });
  observer.observe(document, { subtree: true, childList: true, characterData: true });
  setTimeout(() => observer.disconnect(), 0);
}, { once: true });`;

export class TabHandle extends EventEmitter<TabSignals> {
  /** Set once the renderer crashed or the target vanished, so a late subscriber still hears it. */
  crashed: string | null = null;
  gone = false;
  private closing = false;
  /** What the current document reported at its load event (see TITLE_SCRIPT). */
  private loaded: { href: string; title: string } | null = null;
  /** How many load reports arrived: 0 after loads means the fast title path is off. */
  titleReports = 0;
  /** Set while the main frame loads (Page.frameStartedLoading … frameStoppedLoading). */
  private loading: { done: Promise<void>; stop: () => void } | null = null;

  private constructor(
    readonly tabId: string,
    readonly page: Page,
    readonly cdp: CDPSession,
    readonly targetId: string,
  ) {
    super();
    page.on('error', (error) => {
      this.crashed = error.message;
      this.emit('crashed', error.message);
    });
    page.on('close', () => {
      if (this.closing) return;
      this.gone = true;
      this.emit('gone');
    });
    cdp.on('Page.frameStartedLoading', ({ frameId }) => {
      if (frameId !== targetId || this.loading) return;
      let stop = () => {};
      const done = new Promise<void>((resolve) => (stop = resolve));
      this.loading = { done, stop };
    });
    cdp.on('Page.frameStoppedLoading', ({ frameId }) => {
      if (frameId !== targetId) return;
      this.loading?.stop();
      this.loading = null;
    });
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) this.emit('navigated', frame.url());
    });
  }

  static async open(browser: Browser, tabId: string): Promise<TabHandle> {
    const page = await browser.newPage();
    try {
      const cdp = await page.createCDPSession();
      const { targetInfo } = await cdp.send('Target.getTargetInfo');
      const tab = new TabHandle(tabId, page, cdp, targetInfo.targetId);
      // Frame loading events (see settle()) and the title report, in one round trip.
      await Promise.all([cdp.send('Page.enable'), tab.reportTitlesAtLoad()]);
      return tab;
    } catch (error) {
      await page.close().catch(() => {});
      throw error;
    }
  }

  /** Install TITLE_SCRIPT on puppeteer's own session of the page (see TITLE_WORLD). */
  private async reportTitlesAtLoad(): Promise<void> {
    const client = (this.page as unknown as { _client?: () => CDPSession })._client?.();
    if (!client || typeof client.send !== 'function' || !TITLE_WORLD) return;
    client.on('Runtime.bindingCalled', (event) => {
      if (event.name !== TITLE_BINDING) return;
      try {
        const [href, title] = JSON.parse(event.payload) as [string, string];
        this.loaded = { href, title };
        this.titleReports++;
      } catch {
        // only our script can reach the binding, and it always sends JSON
      }
    });
    await Promise.all([
      client.send('Runtime.addBinding', { name: TITLE_BINDING, executionContextName: TITLE_WORLD }),
      client.send('Page.addScriptToEvaluateOnNewDocument', { source: TITLE_SCRIPT, worldName: TITLE_WORLD }),
    ]);
  }

  /** False once the target crashed, closed, or its browser connection is gone. */
  get usable(): boolean {
    return this.crashed === null && !this.gone && !this.page.isClosed() && this.page.browser().connected;
  }

  /** Navigate; a page that loads with an HTTP error still counts as navigated. */
  async navigate(url: string, waitUntil: WaitUntil, timeoutMs: number): Promise<{ url: string; status: number | null; title: string; loadMs: number }> {
    const started = performance.now();
    this.loaded = null;
    let response;
    try {
      response = await this.page.goto(url, {
        waitUntil: waitUntil === 'networkidle' ? 'networkidle0' : waitUntil,
        timeout: timeoutMs,
      });
    } catch (error) {
      if (error instanceof Error && error.message.includes('net::ERR_')) await this.settle();
      throw error;
    }
    const loadMs = Math.round(performance.now() - started);
    const at = this.page.url();
    // Only a 'load' wait ends right at the load event; after the others the title is read now.
    // (The cast undoes TypeScript's narrowing from the reset above: the binding set it since.)
    const report = this.loaded as { href: string; title: string } | null;
    const title = waitUntil === 'load' && report?.href === at ? report.title : await this.title();
    return { url: at, status: response?.status() ?? null, title, loadMs };
  }

  /**
   * puppeteer rejects a failed navigation (net::ERR_…) as soon as Chrome reports the error, but
   * Chrome then commits and loads its error page in the same frame. A navigation started in
   * that window can resolve on the error page's load instead of its own (seen under load: a
   * 200 for the new URL with chrome-error:// as the page). Wait until the frame stops loading.
   */
  private async settle(timeoutMs = 3_000): Promise<void> {
    if (this.loading && this.usable) await waitAtMost(this.loading.done, timeoutMs);
  }

  /**
   * The document title, read in the page. The browser's own copy (Target.getTargetInfo) is
   * cheaper but arrives asynchronously and can still be the URL right after a load.
   */
  async title(): Promise<string> {
    const { result } = await this.cdp.send('Runtime.evaluate', { expression: 'document.title', returnByValue: true });
    return typeof result.value === 'string' ? result.value : '';
  }

  /** One renderer round trip: a busy or frozen main thread does not answer. */
  async probe(): Promise<void> {
    await this.cdp.send('Runtime.evaluate', { expression: '1', returnByValue: true });
  }

  async collectGarbage(): Promise<void> {
    await this.cdp.send('HeapProfiler.collectGarbage');
  }

  /** Close without running beforeunload; a hung renderer must not block the close. */
  async close(timeoutMs = 3_000): Promise<void> {
    this.closing = true;
    this.removeAllListeners();
    await waitAtMost(this.page.close({ runBeforeUnload: false }), timeoutMs);
  }
}
