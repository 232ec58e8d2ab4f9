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

export class TabHandle extends EventEmitter<TabSignals> {
  /** Set once the renderer crashed or the target vanished, so a late subscriber still hears it. */
  crashed: string | null = null;
  gone = false;
  private closing = false;

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
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) this.emit('navigated', frame.url());
    });
  }

  static async open(browser: Browser, tabId: string): Promise<TabHandle> {
    const page = await browser.newPage();
    try {
      const cdp = await page.createCDPSession();
      const { targetInfo } = await cdp.send('Target.getTargetInfo');
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
    const response = await this.page.goto(url, {
      waitUntil: waitUntil === 'networkidle' ? 'networkidle0' : waitUntil,
      timeout: timeoutMs,
    });
    const loadMs = Math.round(performance.now() - started);
    const title = await this.title();
    return { url: this.page.url(), status: response?.status() ?? null, title, loadMs };
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
