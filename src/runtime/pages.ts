// Driving and reading pages: navigations, snapshots with refs, actions, screenshots, text,
// diffs and audits. Chrome is read over CDP, the heavy lifting runs on the analysis pool, and
// every call is bounded by its call's signal (client gone, deadline) and its tab (tab down).
import { EventEmitter } from 'node:events';
import type { Frame } from 'puppeteer-core';
import { ErrorCode, TabvisorError, errorMessage, pageFailed, timedOut } from '../errors.js';
import type { AnalysisPool } from '../analysis/pool.js';
import type { SnapshotFilter } from '../analysis/page-model.js';
import type { SnapshotDiff } from '../analysis/diff.js';
import { performAction, type ActionName, type ActionTarget } from '../chrome/actions.js';
import type { SessionRead } from '../analysis/frame-tree.js';
import { axeSelection, runAxe } from '../chrome/axe.js';
import { listFrames, type FrameInfo } from '../chrome/page-read.js';
import { transferable } from '../chrome/raw-cdp.js';
import type { TabHandle, WaitUntil } from '../chrome/tab.js';
import { imageSize } from '../analysis/image-size.js';
import { HISTORY, RefBook } from './refs.js';
import type { TabView, Transition } from './views.js';

/** What the page service uses of the runtime. */
export interface PageHost {
  /** The tab (-32000 if there is none). */
  tab(tabId: string): TabView;
  /** Run on a usable tab's page, bounded by `signal` and by the tab staying usable (-32004). */
  withTab<T>(tabId: string, signal: AbortSignal, operation: (handle: TabHandle, signal: AbortSignal) => Promise<T>): Promise<T>;
  /** A navigation ended on this URL and title: the tab actor records it (restores go there). */
  tabNavigated(tabId: string, url: string, title: string): void;
  onTransition(listener: (t: Transition) => void): () => void;
}

export type NavigationOutcome = 'ok' | 'failed' | 'timeout' | 'cancelled';

/** What tab.metrics reads of a page (Performance.getMetrics), after a full garbage collection if asked. */
export interface PageMetrics {
  jsHeapUsedBytes: number;
  jsHeapTotalBytes: number;
  nodes: number;
  documents: number;
  jsEventListeners: number;
  frames: number;
  /** How long the collection and the read took in the page, ms. */
  readMs: number;
}

export class PageService {
  private readonly refs = new RefBook();
  /** Pages whose Performance domain is on (Performance.getMetrics needs it). */
  private readonly measured = new WeakSet<TabHandle>();
  private readonly navigations = new EventEmitter<{ navigation: [number, NavigationOutcome] }>();

  constructor(
    private readonly host: PageHost,
    readonly pool: AnalysisPool,
  ) {
    host.onTransition((t) => {
      if (t.kind === 'tab' && t.to === 'stopped') this.refs.forget(t.actor);
    });
  }

  async navigate(tabId: string, url: string, waitUntil: WaitUntil, timeoutMs: number, signal: AbortSignal) {
    return this.host.withTab(tabId, signal, async (handle, bounded) => {
      refuseWhileDialog(handle);
      const started = performance.now();
      const done = (outcome: NavigationOutcome) => this.navigations.emit('navigation', performance.now() - started, outcome);
      let result;
      try {
        result = await handle.navigate(url, waitUntil, timeoutMs, bounded);
      } catch (error) {
        if (!handle.usable) throw error; // withTab answers -32004
        if (bounded.aborted) {
          done('cancelled');
          throw bounded.reason;
        }
        if (error instanceof Error && error.name === 'TimeoutError') {
          done('timeout');
          throw timedOut(`navigation to ${url}`, timeoutMs);
        }
        done('failed');
        throw pageFailed(`navigation to ${url} failed`, { url, cause: errorMessage(error) });
      }
      done('ok');
      this.host.tabNavigated(tabId, result.url, result.title);
      return result;
    });
  }

  /** Every tab.navigate that reached the page, with how long it took and how it ended. */
  onNavigation(listener: (ms: number, outcome: NavigationOutcome) => void): () => void {
    this.navigations.on('navigation', listener);
    return () => this.navigations.off('navigation', listener);
  }

  async snapshot(tabId: string, options: { filter: SnapshotFilter; maxNodes: number }, signal: AbortSignal) {
    return this.onTab(tabId, signal, 'snapshot', async (handle, bounded) => {
      const started = performance.now();
      for (let attempt = 0; ; attempt++) {
        const [read, title] = await Promise.all([this.read(handle, bounded), handle.title()]);
        const captureMs = performance.now() - started;
        // A document committed while the page was read (or flattened, below): its refs would
        // be stale at once, so read the new one.
        if (handle.documentGeneration !== read.generation && attempt < 2) continue;
        const { columns, frameIds, stats } = await this.pool.run(
          { kind: 'flatten', sessions: read.sessions, filter: options.filter, maxNodes: options.maxNodes },
          { signal: bounded, transfer: read.transfer },
        );
        if (handle.documentGeneration !== read.generation && attempt < 2) continue;
        const byId = new Map(read.frames.map((f) => [f.frameId, f]));
        const frames = frameIds.map((id) => byId.get(id) as FrameInfo);
        const record = this.refs.record(tabId, handle, read.generation, options.filter, columns, frames);
        return {
          snapshotId: record.snapshotId,
          url: handle.page.url(),
          title,
          nodes: record.nodes,
          // The iframes read, by their short names: what a node's `frame` says.
          frames: read.frames.slice(1).map((f) => ({ frame: this.refs.frameName(tabId, handle, read.generation, f.frameId), url: f.url })),
          stats: { ...stats, nodes: record.nodes.length, captureMs: round1(captureMs), totalMs: round1(performance.now() - started) },
        };
      }
    });
  }

  async action(
    tabId: string,
    params: { action: ActionName; ref?: string; selector?: string; text?: string; key?: string; value?: string; timeoutMs: number },
    signal: AbortSignal,
  ) {
    return this.onTab(tabId, signal, 'action', async (handle, bounded) => {
      const target = this.target(tabId, handle, params);
      const acting = performAction(handle, { action: params.action, target, text: params.text, key: params.key, value: params.value, timeoutMs: params.timeoutMs }, bounded);
      if (handle.dialogs.settings.policy !== 'hold') return acting;
      // A dialog held open blocks the input event that opened it: the action answers now,
      // naming the dialog; its own end comes once the dialog is answered.
      acting.catch(() => {});
      const held = handle.dialogs.nextHeld(bounded).then((dialog) => ({ ok: true as const, url: handle.page.url(), navigated: false, dialog }));
      return Promise.race([acting, held]);
    });
  }

  /** The element a call names by ref (of the tab's recent snapshots) or selector, if any. */
  target(tabId: string, handle: TabHandle, by: { ref?: string; selector?: string }): ActionTarget | null {
    if (by.ref !== undefined) return { ref: by.ref, ...this.refs.target(tabId, handle, by.ref) };
    if (by.selector !== undefined) return { selector: by.selector };
    return null;
  }

  async screenshot(tabId: string, options: { format: 'png' | 'jpeg'; quality?: number; fullPage: boolean }, signal: AbortSignal) {
    return this.onTab(tabId, signal, 'screenshot', async (handle) => {
      const data = await handle.page.screenshot({
        type: options.format,
        ...(options.format === 'jpeg' ? { quality: options.quality ?? 80 } : {}),
        fullPage: options.fullPage,
        encoding: 'base64',
      });
      const { width, height } = imageSize(Buffer.from(data, 'base64'));
      return { format: options.format, width, height, data };
    });
  }

  /**
   * The page's JS heap, DOM nodes, documents and event listeners (the soak samples these). With
   * `gc`, a full garbage collection first (HeapProfiler.collectGarbage), so that what is counted
   * is what the page keeps. Memory.prepareForLeakDetection would be thorougher but fails on the
   * headless shell.
   */
  async metrics(tabId: string, options: { gc: boolean }, signal: AbortSignal): Promise<PageMetrics> {
    return this.onTab(tabId, signal, 'metrics', async (handle) => {
      const started = performance.now();
      if (!this.measured.has(handle)) {
        await handle.cdp.send('Performance.enable');
        this.measured.add(handle);
      }
      if (options.gc) await handle.collectGarbage();
      const { metrics } = await handle.cdp.send('Performance.getMetrics');
      const value = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0;
      return {
        jsHeapUsedBytes: value('JSHeapUsedSize'),
        jsHeapTotalBytes: value('JSHeapTotalSize'),
        nodes: value('Nodes'),
        documents: value('Documents'),
        jsEventListeners: value('JSEventListeners'),
        frames: value('Frames'),
        readMs: round1(performance.now() - started),
      };
    });
  }

  /** Tabs whose refs and snapshots are kept (a registry the soak watches). */
  refTabs(): number {
    return this.refs.size;
  }

  async text(tabId: string, options: { maxChars: number }, signal: AbortSignal) {
    return this.onTab(tabId, signal, 'text', async (handle) => {
      const { result, exceptionDetails } = await handle.cdp.send('Runtime.evaluate', {
        expression: `[location.href, document.title, (document.body || document.documentElement)?.innerText ?? '']`,
        returnByValue: true,
      });
      if (exceptionDetails) throw pageFailed('reading the page text failed', { cause: exceptionDetails.text });
      const [url, title, top] = result.value as [string, string, string];
      // Then each rendered frame's text (same-origin and out-of-process), in document order.
      const frames: Frame[] = [];
      const walk = (frame: Frame) => frame.childFrames().forEach((child) => (frames.push(child), walk(child)));
      walk(handle.page.mainFrame());
      const texts = await Promise.all(
        frames.map((frame) =>
          frame
            // A frame whose <iframe> is not rendered has no viewport: it shows no text.
            .evaluate(`innerWidth && innerHeight ? ((document.body || document.documentElement)?.innerText ?? '') : ''`)
            .then((t) => (typeof t === 'string' ? t : ''), () => ''), // a frame that went away meanwhile has no text
        ),
      );
      const text = [top, ...texts.filter((t) => t.trim())].join('\n\n');
      return { url, title, text: text.slice(0, options.maxChars), truncated: text.length > options.maxChars, length: text.length };
    });
  }

  async diff(tabId: string, since: string, to: string | undefined, signal: AbortSignal): Promise<SnapshotDiff & { from: string; to: string }> {
    this.host.tab(tabId);
    const history = this.refs.history(tabId);
    const find = (snapshotId: string, path: string) => {
      const record = history.find((r) => r.snapshotId === snapshotId);
      if (!record) {
        throw new TabvisorError(ErrorCode.NotFound, `snapshot ${snapshotId} not found: tab ${tabId} keeps its last ${HISTORY} snapshots`, { tabId, snapshotId, path });
      }
      return record;
    };
    const before = find(since, 'params.since');
    const latest = history[history.length - 1];
    const after = to === undefined ? latest : find(to, 'params.to');
    if (!after) throw new TabvisorError(ErrorCode.NotFound, `tab ${tabId} has no snapshot`, { tabId });
    if (before.filter !== after.filter) {
      throw new TabvisorError(ErrorCode.InvalidParams, `invalid params: snapshot ${before.snapshotId} was taken with filter "${before.filter}" and ${after.snapshotId} with "${after.filter}"`, {
        path: 'params.since',
        expected: `a snapshot taken with filter "${after.filter}"`,
      });
    }
    const diff = await this.pool.run({ kind: 'diff', before: before.nodes, after: after.nodes }, { signal });
    return { from: before.snapshotId, to: after.snapshotId, ...diff };
  }

  async visualDiff(
    params: { tabId?: string; baseline?: string; a?: string; b?: string; threshold: number; diffImage: boolean; fullPage: boolean },
    signal: AbortSignal,
  ) {
    let a: Buffer;
    let b: Buffer;
    let names: [string, string];
    if (params.tabId !== undefined && params.baseline !== undefined) {
      const shot = await this.screenshot(params.tabId, { format: 'png', fullPage: params.fullPage }, signal);
      a = Buffer.from(params.baseline, 'base64');
      b = Buffer.from(shot.data, 'base64');
      names = ['baseline', 'screenshot'];
    } else if (params.a !== undefined && params.b !== undefined) {
      a = Buffer.from(params.a, 'base64');
      b = Buffer.from(params.b, 'base64');
      names = ['a', 'b'];
    } else {
      throw new TabvisorError(ErrorCode.InvalidParams, 'invalid params: give { tabId, baseline } or { a, b }', { path: 'params', expected: '{ tabId, baseline } or { a, b }' });
    }
    const first = transferable(a);
    const second = transferable(b);
    const result = await this.pool.run(
      { kind: 'visualDiff', a: first, b: second, threshold: params.threshold, diffImage: params.diffImage, names },
      { signal, transfer: [first.buffer, second.buffer] },
    );
    const { diffPng, ...rest } = result;
    return diffPng ? { ...rest, diffPng: Buffer.from(diffPng.buffer, diffPng.byteOffset, diffPng.byteLength).toString('base64') } : rest;
  }

  async audit(tabId: string, params: { rules?: string[]; tags?: string[] }, signal: AbortSignal) {
    const selection = axeSelection(params);
    return this.onTab(tabId, signal, 'audit', async (handle, bounded) => {
      const raw = await handle.rawConnection();
      const generation = handle.documentGeneration;
      const frames = await listFrames(raw, bounded);
      const audits = await runAxe(raw, frames, selection, bounded);
      const events = handle.events.forAudit();
      const transfer: ArrayBuffer[] = [];
      const runs = audits.map(({ frame, result, error }) => {
        const bytes = result ? transferable(result) : null;
        if (bytes) transfer.push(bytes.buffer);
        return { url: frame.url, result: bytes, ...(error ? { error } : {}) };
      });
      const { findings } = await this.pool.run({ kind: 'audit', runs, events }, { signal: bounded, transfer });
      const top = frames[0]?.frameId;
      return {
        url: handle.page.url(),
        findings: findings.map(({ element, ...finding }) => {
          const audit = element && audits[element.frame];
          const id = element && audit?.backendNodeIds[element.index];
          if (!audit || !id || handle.documentGeneration !== generation) return finding;
          const frame = audit.frame.frameId === top ? undefined : audit.frame;
          return { ...finding, ref: this.refs.refOf(tabId, handle, generation, id, frame) };
        }),
      };
    });
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────

  /**
   * Run on a usable tab, bounded by the call's signal (client gone, deadline) and the tab
   * itself (down → -32004, via withTab). Failures Chrome reports become -32005.
   */
  async onTab<T>(tabId: string, signal: AbortSignal, what: string, work: (handle: TabHandle, signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.host.withTab(tabId, signal, async (handle, bounded) => {
      refuseWhileDialog(handle);
      try {
        return await work(handle, bounded);
      } catch (error) {
        if (bounded.aborted) throw bounded.reason;
        if (error instanceof TabvisorError || !handle.usable) throw error; // withTab answers a gone target
        throw pageFailed(`${what} of tab ${tabId} failed`, { url: handle.page.url(), cause: errorMessage(error) });
      }
    });
  }

  /** The DOM and accessibility trees of the page and its frames as transferable bytes (parsed on the pool). */
  private async read(handle: TabHandle, signal: AbortSignal) {
    const { sessions, frames, generation } = await handle.readPage(signal);
    const transfer: ArrayBuffer[] = [];
    const bytes = (b: Buffer) => {
      const t = transferable(b);
      transfer.push(t.buffer);
      return t;
    };
    const read: SessionRead[] = sessions.map((s) => ({ ...s, dom: bytes(s.dom), ax: s.ax.map((a) => ({ ...a, tree: bytes(a.tree) })) }));
    return { sessions: read, frames, generation, transfer };
  }

}

/** A dialog held open blocks the page: every call but tab.dialog waits for its answer. */
function refuseWhileDialog(handle: TabHandle): void {
  const dialog = handle.dialogs.pending;
  if (!dialog) return;
  throw new TabvisorError(ErrorCode.Unavailable, `tab ${handle.tabId}: a ${dialog.type} dialog is open (${JSON.stringify(dialog.message.slice(0, 200))}); answer it with tab.dialog`, {
    state: 'dialog',
    dialog: { ...dialog },
  });
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
