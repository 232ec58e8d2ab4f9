// One page of a Chrome instance as the runtime sees it: the puppeteer Page, a CDP session for
// cheap probes, and the signals (crash, close, navigation) its tab actor listens to.
import { EventEmitter } from 'node:events';
import type { Browser, CDPSession, Page } from 'puppeteer-core';

export interface TabSignals {
  crashed: [detail: string];
  gone: [];
  navigated: [url: string];
}

export type WaitUntil = 'load' | 'domcontentloaded' | 'networkidle';

// The title at load, reported by the page itself: a listener in an isolated world (invisible
// to the page's scripts) calls a CDP binding from its load handler, so the title is in hand
// when puppeteer sees the load and navigate needs no renderer round trip after it (which
// waits behind the page's first frame: ~5 ms of a 25 ms navigation).
const TITLE_WORLD = '__tabvisor__';
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
    cdp.on('Runtime.bindingCalled', (event) => {
      if (event.name !== TITLE_BINDING) return;
      try {
        const [href, title] = JSON.parse(event.payload) as [string, string];
        this.loaded = { href, title };
      } catch {
        // not ours to judge: a page cannot reach the isolated world's binding
      }
    });
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) this.emit('navigated', frame.url());
    });
  }

  static async open(browser: Browser, tabId: string): Promise<TabHandle> {
    const page = await browser.newPage();
    try {
      const cdp = await page.createCDPSession();
      // The binding fires only on a session with Page and Runtime enabled.
      const [{ targetInfo }] = await Promise.all([
        cdp.send('Target.getTargetInfo'),
        cdp.send('Runtime.addBinding', { name: TITLE_BINDING, executionContextName: TITLE_WORLD }),
        cdp.send('Page.addScriptToEvaluateOnNewDocument', { source: TITLE_SCRIPT, worldName: TITLE_WORLD }),
        cdp.send('Page.enable'),
        cdp.send('Runtime.enable'),
      ]);
      return new TabHandle(tabId, page, cdp, targetInfo.targetId);
    } catch (error) {
      await page.close().catch(() => {});
      throw error;
    }
  }

  /** False once the target crashed, closed, or its browser connection is gone. */
  get usable(): boolean {
    return this.crashed === null && !this.gone && !this.page.isClosed() && this.page.browser().connected;
  }

  /** Navigate; a page that loads with an HTTP error still counts as navigated. */
  async navigate(url: string, waitUntil: WaitUntil, timeoutMs: number): Promise<{ url: string; status: number | null; title: string; loadMs: number }> {
    const started = performance.now();
    this.loaded = null;
    const response = await this.page.goto(url, {
      waitUntil: waitUntil === 'networkidle' ? 'networkidle0' : waitUntil,
      timeout: timeoutMs,
    });
    const loadMs = Math.round(performance.now() - started);
    const at = this.page.url();
    // Only a 'load' wait ends right at the load event; after the others the title is read now.
    const report = this.loadReport();
    const title = waitUntil === 'load' && report?.href === at ? report.title : await this.title();
    return { url: at, status: response?.status() ?? null, title, loadMs };
  }

  private loadReport(): { href: string; title: string } | null {
    return this.loaded;
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
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.page.close({ runBeforeUnload: false }).catch(() => {}),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}
