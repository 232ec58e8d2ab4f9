// Refs (e1, e2, …): what each ref of a tab's snapshots points at (a DOM node of one document
// of one page), the snapshots kept for analysis.diff, and the checks that a ref is still good.
import { ErrorCode, TabvisorError } from '../errors.js';
import type { FlatNode, SnapshotFilter } from '../analysis/page-model.js';
import { fromColumns, type FlatColumns } from '../analysis/flat-columns.js';
import { staleRef } from '../chrome/actions.js';
import type { TabHandle } from '../chrome/tab.js';

export interface SnapshotNode extends Omit<FlatNode, 'backendNodeId'> {
  ref: string;
}

export interface SnapshotRecord {
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

  /** The ref of a node of this document (a new one if it has none). */
  refOf(tabId: string, handle: TabHandle, generation: number, backendNodeId: number): string {
    return this.refIn(this.refsFor(tabId, handle, generation), backendNodeId);
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

  private refIn(refs: TabRefs, backendNodeId: number): string {
    let ref = refs.byNode.get(backendNodeId);
    if (!ref) {
      ref = `e${++refs.lastRef}`;
      refs.byNode.set(backendNodeId, ref);
      refs.refs.set(ref, backendNodeId);
    }
    return ref;
  }

  /** A new snapshot of the tab: its nodes get refs, and it joins the kept history. */
  record(tabId: string, handle: TabHandle, generation: number, filter: SnapshotFilter, columns: FlatColumns): SnapshotRecord {
    const refs = this.refsFor(tabId, handle, generation);
    const nodes: SnapshotNode[] = fromColumns(columns, (backendNodeId) => ({ ref: this.refIn(refs, backendNodeId) }));
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

  /** The DOM node a ref names, if it is still in this document (else -32000). */
  backendNode(tabId: string, handle: TabHandle, ref: string): number {
    const refs = this.tabs.get(tabId);
    const id = refs?.refs.get(ref);
    if (id === undefined) {
      throw new TabvisorError(ErrorCode.NotFound, `ref ${ref} is not in the recent snapshots of tab ${tabId}: take a new snapshot`, { tabId, ref });
    }
    if (refs?.handle !== handle || refs.generation !== handle.documentGeneration) throw staleRef(ref);
    return id;
  }
}
