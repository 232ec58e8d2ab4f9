// Refs (e1, e2, …): what each ref of a tab's snapshots points at (a DOM node of one document
// of one page, in the page's frame or one of its iframes), the snapshots kept for
// analysis.diff, and the checks that a ref is still good.
import { ErrorCode, TabvisorError } from '../errors.js';
import type { FlatNode, SnapshotFilter } from '../analysis/page-model.js';
import { fromColumns, type FlatColumns } from '../analysis/flat-columns.js';
import { staleRef } from '../chrome/actions.js';
import type { FrameInfo } from '../chrome/page-read.js';
import type { TabHandle } from '../chrome/tab.js';

export interface SnapshotNode extends Omit<FlatNode, 'backendNodeId'> {
  ref: string;
  /** The iframe it is in (f1, f2, …; see the snapshot's frames); absent in the top document. */
  frame?: string;
}

export interface SnapshotRecord {
  snapshotId: string;
  filter: SnapshotFilter;
  generation: number;
  nodes: SnapshotNode[];
  /** Each node's key (see nodeKey), same order. */
  keys: Float64Array;
  /** Each node's frame, same order: an index into `frames`. */
  frameOf: Int32Array;
  frames: FrameInfo[];
}

/** What a ref names: an element (backend node id) of a frame, in the frame's session. */
export interface RefTarget {
  backendNodeId: number;
  /** The iframe it is in; absent in the top document. */
  frame?: FrameInfo;
}

/** What a tab's refs point at: valid for one page handle and one document of it. */
interface TabRefs {
  handle: TabHandle;
  generation: number;
  refs: Map<string, number>;
  byNode: Map<number, string>;
  /** The iframe of each ref that is in one. */
  frames: Map<string, FrameInfo>;
  history: SnapshotRecord[];
  /** The last ref number given: refs count up for the tab's whole life, never reused. */
  lastRef: number;
  /** Short names of the tab's iframes (Chrome frame id → f1, f2, …), never reused either. */
  frameNames: Map<string, string>;
}

// Backend node ids are unique per renderer process, not per page: an element is named by its
// id and the session (slot) it was read on, as one number (slots stay far below 2^21).
const SLOT = 2 ** 31;
const nodeKey = (backendNodeId: number, frame?: FrameInfo) => (frame ? frame.slot * SLOT : 0) + backendNodeId;

/** Snapshots kept per tab for analysis.diff (and whose refs stay valid). */
export const HISTORY = 5;

export class RefBook {
  private readonly tabs = new Map<string, TabRefs>();
  private snapshotSeq = 0;

  /** Tabs whose refs and snapshots are kept. */
  get size(): number {
    return this.tabs.size;
  }

  /** The tab is gone: its refs and snapshots go too. */
  forget(tabId: string): void {
    this.tabs.delete(tabId);
  }

  /** The tab's kept snapshots, oldest first. */
  history(tabId: string): SnapshotRecord[] {
    return this.tabs.get(tabId)?.history ?? [];
  }

  /** The ref of a node of this document, in the top document or the given frame (a new one if it has none). */
  refOf(tabId: string, handle: TabHandle, generation: number, backendNodeId: number, frame?: FrameInfo): string {
    return this.refIn(this.refsFor(tabId, handle, generation), nodeKey(backendNodeId, frame), frame);
  }

  /** The tab's short name of an iframe (f1, f2, …). */
  frameName(tabId: string, handle: TabHandle, generation: number, frameId: string): string {
    const names = this.refsFor(tabId, handle, generation).frameNames;
    let name = names.get(frameId);
    if (!name) names.set(frameId, (name = `f${names.size + 1}`));
    return name;
  }

  private refsFor(tabId: string, handle: TabHandle, generation: number): TabRefs {
    let refs = this.tabs.get(tabId);
    if (!refs || refs.handle !== handle || refs.generation !== generation) {
      // A new page (tab recovered) or a new document: no old ref may point into it.
      refs = {
        handle,
        generation,
        refs: new Map(),
        byNode: new Map(),
        frames: new Map(),
        history: refs?.history ?? [],
        lastRef: refs?.lastRef ?? 0,
        frameNames: refs?.frameNames ?? new Map(),
      };
      this.tabs.set(tabId, refs);
    }
    return refs;
  }

  private refIn(refs: TabRefs, key: number, frame: FrameInfo | undefined): string {
    let ref = refs.byNode.get(key);
    if (!ref) {
      ref = `e${++refs.lastRef}`;
      refs.byNode.set(key, ref);
      refs.refs.set(ref, key);
      if (frame) refs.frames.set(ref, frame);
    }
    return ref;
  }

  /** A new snapshot of the tab: its nodes get refs, and it joins the kept history. */
  record(tabId: string, handle: TabHandle, generation: number, filter: SnapshotFilter, columns: FlatColumns, frames: FrameInfo[]): SnapshotRecord {
    const refs = this.refsFor(tabId, handle, generation);
    const keys = new Float64Array(columns.count);
    let i = 0;
    const nodes: SnapshotNode[] = fromColumns(columns, (backendNodeId, f) => {
      const frame = f > 0 ? frames[f] : undefined;
      const key = nodeKey(backendNodeId, frame);
      keys[i++] = key;
      const ref = this.refIn(refs, key, frame);
      return frame ? { ref, frame: this.frameName(tabId, handle, generation, frame.frameId) } : { ref };
    });
    const record: SnapshotRecord = { snapshotId: `s-${++this.snapshotSeq}`, filter, generation, nodes, keys, frameOf: columns.frames, frames };
    refs.history.push(record);
    if (refs.history.length > HISTORY) refs.history.shift();
    // Refs stay valid while a kept snapshot of this document holds them; the rest are dropped.
    refs.refs.clear();
    refs.byNode.clear();
    refs.frames.clear();
    for (const kept of refs.history) {
      if (kept.generation !== generation) continue;
      kept.nodes.forEach((node, k) => {
        const key = kept.keys[k] as number;
        refs.refs.set(node.ref, key);
        refs.byNode.set(key, node.ref);
        const f = kept.frameOf[k] as number;
        if (f > 0) refs.frames.set(node.ref, kept.frames[f] as FrameInfo);
      });
    }
    return record;
  }

  /** The DOM node a ref names, if it is still in this document (else -32000). */
  target(tabId: string, handle: TabHandle, ref: string): RefTarget {
    const refs = this.tabs.get(tabId);
    const key = refs?.refs.get(ref);
    if (key === undefined) {
      throw new TabvisorError(ErrorCode.NotFound, `ref ${ref} is not in the recent snapshots of tab ${tabId}: take a new snapshot`, { tabId, ref });
    }
    if (refs?.handle !== handle || refs.generation !== handle.documentGeneration) throw staleRef(ref);
    const frame = refs.frames.get(ref);
    return frame ? { backendNodeId: key % SLOT, frame } : { backendNodeId: key };
  }
}
