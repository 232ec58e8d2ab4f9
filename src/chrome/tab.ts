// One page of a Chrome instance as the runtime sees it: the puppeteer Page, a CDP session for
// cheap probes, and the signals (crash, close, navigation) its tab actor listens to.
import { EventEmitter } from 'node:events';
import type { Browser, CDPSession, Page } from 'puppeteer-core';
import { CAPTURED_STYLES } from '../analysis/page-model.js';
import { abortable, waitAtMost } from '../wait.js';
import { DialogGuard, type DialogSettings } from './dialogs.js';
import { PageLog } from './page-log.js';
import { readFrames, type FramesRead } from './page-read.js';
import { RawCdp } from './raw-cdp.js';

export interface TabSignals {
  crashed: [detail: string];
  gone: [];
  navigated: [url: string];
  /** The main document's load event, with the title it had then. */
  loaded: [url: string, title: string];
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
  /** URL and title of the target when the handle was made (what an adopted page shows). */
  shown = { url: 'about:blank', title: '' };
  /** Counts the documents the main frame has committed: refs of an older one are stale. */
  documentGeneration = 0;
  /** What the document logged and requested (tab.console, tab.network, analysis.audit). */
  readonly events = new PageLog();
  /** Its JavaScript dialogs: answered by policy, or held for tab.dialog. */
  readonly dialogs: DialogGuard;
  private raw: Promise<RawCdp> | null = null;
  /** Numbers the out-of-process iframe sessions of this page, never reused (see RawCdp). */
  private sessionSlots = 0;

  private constructor(
    readonly tabId: string,
    readonly page: Page,
    readonly cdp: CDPSession,
    readonly targetId: string,
    /** This page's own DevTools endpoint (see RawCdp). */
    private readonly rawEndpoint: string,
    dialogSettings?: DialogSettings,
  ) {
    super();
    cdp.on('Page.frameNavigated', ({ frame }) => {
      if (frame.id === targetId) this.documentGeneration++;
    });
    this.events.attach(page);
    this.dialogs = new DialogGuard(dialogSettings);
    this.dialogs.attach(page);
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

  /** A new page, or (`existing`) a page an adopted browser already shows. */
  static async open(browser: Browser, tabId: string, existing?: Page, dialogSettings?: DialogSettings): Promise<TabHandle> {
    const page = existing ?? (await browser.newPage());
    try {
      const cdp = await page.createCDPSession();
      const { targetInfo } = await cdp.send('Target.getTargetInfo');
      const endpoint = new URL(browser.wsEndpoint());
      endpoint.pathname = `/devtools/page/${targetInfo.targetId}`;
      const tab = new TabHandle(tabId, page, cdp, targetInfo.targetId, endpoint.href, dialogSettings);
      tab.shown = { url: targetInfo.url, title: targetInfo.title };
      // Frame loading events (see settle()) and the title report, in one round trip.
      await Promise.all([cdp.send('Page.enable'), tab.reportTitlesAtLoad()]);
      return tab;
    } catch (error) {
      // The open failed because the page or its browser is going away: the close finds nothing.
      await page.close().catch(() => {});
      throw error;
    }
  }

  /**
   * The page's own DevTools connection, opened on first use (see RawCdp), attached to the
   * page's out-of-process iframes.
   */
  async rawConnection(): Promise<RawCdp> {
    if (this.raw) {
      const current = await this.raw.catch(() => null);
      if (current?.open) return current;
    }
    this.raw = RawCdp.connect(this.rawEndpoint, undefined, () => ++this.sessionSlots).then(async (raw) => {
      try {
        await raw.attachFrames();
        return raw;
      } catch (error) {
        raw.close();
        throw error;
      }
    });
    return this.raw;
  }

  /**
   * The page and its frames as Chrome sees them, unparsed: their DOM with layout
   * (DOMSnapshot) and accessibility trees, for the analysis pool to join and flatten.
   */
  async readPage(signal?: AbortSignal): Promise<FramesRead & { generation: number }> {
    const raw = await this.rawConnection();
    const generation = this.documentGeneration;
    return { ...(await readFrames(raw, CAPTURED_STYLES, signal)), generation };
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
        this.emit('loaded', href, title);
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
  async navigate(url: string, waitUntil: WaitUntil, timeoutMs: number, signal?: AbortSignal): Promise<{ url: string; status: number | null; title: string; loadMs: number }> {
    const started = performance.now();
    this.loaded = null;
    let response;
    try {
      // puppeteer's goto takes no signal: the wait is dropped at once, and Chrome told to stop
      // loading, so that a caller gone or out of time leaves no page loading for nothing.
      response = await abortable(this.page.goto(url, { waitUntil: waitUntil === 'networkidle' ? 'networkidle0' : waitUntil, timeout: timeoutMs }), signal);
    } catch (error) {
      if (signal?.aborted) {
        await this.cdp.send('Page.stopLoading').catch(() => {}); // a page gone meanwhile has stopped anyway
        throw error;
      }
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

  /**
   * Follow a navigation that an input event may start (a link click, Enter in a form): call
   * before the input, then settle() resolves once the new document has loaded (true) or at
   * once when no navigation was requested (false).
   */
  watchNavigation(): { settle(timeoutMs: number): Promise<boolean>; stop(): void } {
    let requested = false;
    let started = () => {};
    const startedLoading = new Promise<void>((resolve) => (started = resolve));
    const onRequested = ({ frameId }: { frameId: string }) => {
      if (frameId === this.targetId) requested = true;
    };
    const onStarted = ({ frameId }: { frameId: string }) => {
      if (frameId === this.targetId) started();
    };
    this.cdp.on('Page.frameRequestedNavigation', onRequested);
    this.cdp.on('Page.frameStartedLoading', onStarted);
    const stop = () => {
      this.cdp.off('Page.frameRequestedNavigation', onRequested);
      this.cdp.off('Page.frameStartedLoading', onStarted);
    };
    return {
      stop,
      settle: async (timeoutMs) => {
        if (!requested) return false;
        const until = performance.now() + timeoutMs;
        // Requested but not started yet: the browser starts it within a round trip or two.
        if (!this.loading) await waitAtMost(startedLoading, Math.min(timeoutMs, 1_000));
        const loading = this.loading as { done: Promise<void> } | null;
        if (loading) await waitAtMost(loading.done, Math.max(0, until - performance.now()));
        return true;
      },
    };
  }

  /**
   * Back, forward or reload, waiting as tab.navigate does. Back or forward with no entry
   * there answers at once with `navigated: false`.
   */
  async history(move: 'back' | 'forward' | 'reload', waitUntil: WaitUntil, timeoutMs: number, signal?: AbortSignal) {
    const started = performance.now();
    if (move !== 'reload') {
      const { currentIndex, entries } = await this.cdp.send('Page.getNavigationHistory');
      const next = currentIndex + (move === 'back' ? -1 : 1);
      if (next < 0 || next >= entries.length) return { url: this.page.url(), status: null, title: await this.title(), loadMs: 0, navigated: false };
    }
    const options = { waitUntil: waitUntil === 'networkidle' ? ('networkidle0' as const) : waitUntil, timeout: timeoutMs };
    const going = move === 'back' ? this.page.goBack(options) : move === 'forward' ? this.page.goForward(options) : this.page.reload(options);
    let response;
    try {
      response = await abortable(going, signal);
    } catch (error) {
      if (signal?.aborted) await this.cdp.send('Page.stopLoading').catch(() => {}); // a page gone meanwhile has stopped anyway
      throw error;
    }
    // (A same-document move answers no response: status null.)
    return { url: this.page.url(), status: response?.status() ?? null, title: await this.title(), loadMs: Math.round(performance.now() - started), navigated: true };
  }

  /** One renderer round trip: a busy or frozen main thread does not answer. */
  async probe(): Promise<void> {
    // A dialog held for a client blocks the main thread on purpose, for a bounded time.
    if (this.dialogs.pending) return;
    await this.cdp.send('Runtime.evaluate', { expression: '1', returnByValue: true });
  }

  async collectGarbage(): Promise<void> {
    await this.cdp.send('HeapProfiler.collectGarbage');
  }

  /** Close without running beforeunload; a hung renderer must not block the close. */
  async close(timeoutMs = 3_000): Promise<void> {
    this.closing = true;
    this.dispose();
    await waitAtMost(this.page.close({ runBeforeUnload: false }), timeoutMs);
  }

  /** Drop listeners and the page's own connection (the browser is going away or the tab closes). */
  dispose(): void {
    this.removeAllListeners();
    this.dialogs.dispose();
    const raw = this.raw;
    this.raw = null;
    void raw?.then((connection) => connection.close(), () => {}); // one that never opened has nothing to close
  }
}
