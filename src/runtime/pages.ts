// Driving and reading pages: snapshots with refs, actions, screenshots, text, diffs and
// audits. Chrome is read over CDP, the heavy lifting runs on the analysis pool, and every
// call is bounded by its request's signal (client gone, timeout) and its tab's (tab down).
import { ErrorCode, TabvisorError, errorMessage, pageFailed, timedOut } from '../errors.js';
import type { AnalysisPool } from '../analysis/pool.js';
import type { FlatNode, SnapshotFilter } from '../analysis/page-model.js';
import type { SnapshotDiff } from '../analysis/diff.js';
import { fromColumns, type FlatColumns } from '../analysis/flat-columns.js';
import { performAction, staleRef, type ActionName, type ActionTarget } from '../chrome/actions.js';
import { transferable } from '../chrome/raw-cdp.js';
import type { TabHandle } from '../chrome/tab.js';
import { imageSize } from '../analysis/image-size.js';
import type { Runtime } from './runtime.js';

export interface SnapshotNode extends Omit<FlatNode, 'backendNodeId'> {
  ref: string;
}

interface SnapshotRecord {
  snapshotId: string;
  filter: SnapshotFilter;
  generation: number;
  nodes: SnapshotNode[];
  /** backend node id of each node, same order. */
  backendNodeIds: Int32Array;
}

/** What a tab's refs point at: valid for one page handle and one document of it. */
interface TabRefs {
  handle: TabHandle;
  generation: number;
  refs: Map<string, number>;
  byNode: Map<number, string>;
  history: SnapshotRecord[];
  /** The last ref number given: refs count up for the tab's whole life, never reused. */
  lastRef: number;
}

/** Snapshots kept per tab for analysis.diff (and whose refs stay valid). */
const HISTORY = 5;

export class PageService {
  private readonly tabs = new Map<string, TabRefs>();
  private snapshotSeq = 0;

  constructor(
    private readonly runtime: Runtime,
    readonly pool: AnalysisPool,
  ) {
    runtime.onTransition((t) => {
      if (t.kind === 'tab' && t.to === 'stopped') this.tabs.delete(t.actor);
    });
  }

  async snapshot(tabId: string, options: { filter: SnapshotFilter; maxNodes: number; timeoutMs: number }, signal: AbortSignal) {
    return this.onTab(tabId, options.timeoutMs, signal, 'snapshot', async (handle, bounded) => {
      const started = performance.now();
      for (let attempt = 0; ; attempt++) {
        const [read, title] = await Promise.all([this.read(handle, bounded), handle.title()]);
        const captureMs = performance.now() - started;
        // A document committed while the page was read (or flattened, below): its refs would
        // be stale at once, so read the new one.
        if (handle.documentGeneration !== read.generation && attempt < 2) continue;
        const { columns, stats } = await this.pool.run(
          { kind: 'flatten', dom: read.dom, ax: read.ax, filter: options.filter, maxNodes: options.maxNodes },
          { signal: bounded, transfer: [read.dom.buffer, read.ax.buffer] },
        );
        if (handle.documentGeneration !== read.generation && attempt < 2) continue;
        const record = this.record(tabId, handle, read.generation, options.filter, columns);
        return {
          snapshotId: record.snapshotId,
          url: handle.page.url(),
          title,
          nodes: record.nodes,
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
    return this.onTab(tabId, params.timeoutMs + 5_000, signal, 'action', async (handle, bounded) => {
      let target: ActionTarget | null = null;
      if (params.ref !== undefined) target = { ref: params.ref, backendNodeId: this.backendNode(tabId, handle, params.ref) };
      else if (params.selector !== undefined) target = { selector: params.selector };
      return performAction(handle, { action: params.action, target, text: params.text, key: params.key, value: params.value, timeoutMs: params.timeoutMs }, bounded);
    });
  }

  async screenshot(tabId: string, options: { format: 'png' | 'jpeg'; quality?: number; fullPage: boolean; timeoutMs: number }, signal: AbortSignal) {
    return this.onTab(tabId, options.timeoutMs, signal, 'screenshot', async (handle) => {
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

  async text(tabId: string, options: { maxChars: number; timeoutMs: number }, signal: AbortSignal) {
    return this.onTab(tabId, options.timeoutMs, signal, 'text', async (handle) => {
      const { result, exceptionDetails } = await handle.cdp.send('Runtime.evaluate', {
        expression: `[location.href, document.title, (document.body || document.documentElement)?.innerText ?? '']`,
        returnByValue: true,
      });
      if (exceptionDetails) throw pageFailed('reading the page text failed', { cause: exceptionDetails.text });
      const [url, title, text] = result.value as [string, string, string];
      return { url, title, text: text.slice(0, options.maxChars), truncated: text.length > options.maxChars, length: text.length };
    });
  }

  async diff(tabId: string, since: string, to: string | undefined, signal: AbortSignal): Promise<SnapshotDiff & { from: string; to: string }> {
    this.runtime.tab(tabId);
    const history = this.tabs.get(tabId)?.history ?? [];
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
    params: { tabId?: string; baseline?: string; a?: string; b?: string; threshold: number; diffImage: boolean; fullPage: boolean; timeoutMs: number },
    signal: AbortSignal,
  ) {
    let a: Buffer;
    let b: Buffer;
    let names: [string, string];
    if (params.tabId !== undefined && params.baseline !== undefined) {
      const shot = await this.screenshot(params.tabId, { format: 'png', fullPage: params.fullPage, timeoutMs: params.timeoutMs }, signal);
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

  async audit(tabId: string, options: { timeoutMs: number }, signal: AbortSignal) {
    return this.onTab(tabId, options.timeoutMs, signal, 'audit', async (handle, bounded) => {
      const read = await this.read(handle, bounded);
      const events = { console: [...handle.events.console], requests: [...handle.events.requests] };
      const { findings } = await this.pool.run({ kind: 'audit', dom: read.dom, ax: read.ax, events }, { signal: bounded, transfer: [read.dom.buffer, read.ax.buffer] });
      const refs = this.refsFor(tabId, handle, read.generation);
      return {
        url: handle.page.url(),
        findings: findings.map(({ backendNodeId, ...finding }) => (backendNodeId === undefined ? finding : { ...finding, ref: this.refOf(refs, backendNodeId) })),
      };
    });
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────

  /**
   * Run on a usable tab, bounded by the request's signal (client gone), a timeout and the tab
   * itself (down → -32004, via Runtime.withTab). Failures Chrome reports become -32005.
   */
  private async onTab<T>(tabId: string, timeoutMs: number, request: AbortSignal, what: string, work: (handle: TabHandle, signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.runtime.withTab(tabId, async (handle, tabSignal) => {
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(timedOut(`${what} of tab ${tabId}`, timeoutMs)), timeoutMs);
      const bounded = AbortSignal.any([request, tabSignal, timeout.signal]);
      try {
        return await work(handle, bounded);
      } catch (error) {
        if (bounded.aborted) throw bounded.reason;
        if (error instanceof TabvisorError || !handle.usable) throw error; // withTab answers a gone target
        throw pageFailed(`${what} of tab ${tabId} failed`, { url: handle.page.url(), cause: errorMessage(error) });
      } finally {
        clearTimeout(timer);
      }
    });
  }

  /** The page's DOM and accessibility tree as transferable bytes (parsed on the pool). */
  private async read(handle: TabHandle, signal: AbortSignal) {
    const { dom, ax, generation } = await handle.readPage(signal);
    return { dom: transferable(dom), ax: transferable(ax), generation };
  }

  private refsFor(tabId: string, handle: TabHandle, generation: number): TabRefs {
    let refs = this.tabs.get(tabId);
    if (!refs || refs.handle !== handle || refs.generation !== generation) {
      // A new page (tab recovered) or a new document: no old ref may point into it.
      refs = { handle, generation, refs: new Map(), byNode: new Map(), history: refs?.history ?? [], lastRef: refs?.lastRef ?? 0 };
      this.tabs.set(tabId, refs);
    }
    return refs;
  }

  private refOf(refs: TabRefs, backendNodeId: number): string {
    let ref = refs.byNode.get(backendNodeId);
    if (!ref) {
      ref = `e${++refs.lastRef}`;
      refs.byNode.set(backendNodeId, ref);
      refs.refs.set(ref, backendNodeId);
    }
    return ref;
  }

  private record(tabId: string, handle: TabHandle, generation: number, filter: SnapshotFilter, columns: FlatColumns): SnapshotRecord {
    const refs = this.refsFor(tabId, handle, generation);
    const nodes: SnapshotNode[] = fromColumns(columns, (backendNodeId) => ({ ref: this.refOf(refs, backendNodeId) }));
    const record: SnapshotRecord = { snapshotId: `s-${++this.snapshotSeq}`, filter, generation, nodes, backendNodeIds: columns.backendNodeIds };
    refs.history.push(record);
    if (refs.history.length > HISTORY) refs.history.shift();
    // Refs stay valid while a kept snapshot of this document holds them; the rest are dropped.
    refs.refs.clear();
    refs.byNode.clear();
    for (const kept of refs.history) {
      if (kept.generation !== generation) continue;
      kept.nodes.forEach((node, i) => {
        const id = kept.backendNodeIds[i] as number;
        refs.refs.set(node.ref, id);
        refs.byNode.set(id, node.ref);
      });
    }
    return record;
  }

  private backendNode(tabId: string, handle: TabHandle, ref: string): number {
    const refs = this.tabs.get(tabId);
    const id = refs?.refs.get(ref);
    if (id === undefined) {
      throw new TabvisorError(ErrorCode.NotFound, `ref ${ref} is not in the recent snapshots of tab ${tabId}: take a new snapshot`, { tabId, ref });
    }
    if (refs?.handle !== handle || refs.generation !== handle.documentGeneration) throw staleRef(ref);
    return id;
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
