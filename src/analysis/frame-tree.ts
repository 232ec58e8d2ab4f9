// A page with frames, as one list: the documents of the page and of every frame (those in the
// page's process come in its DOM snapshot; each out-of-process iframe is read on its own
// session) joined in document order — a frame's elements right after its <iframe> element —
// with boxes moved into the top page's document coordinates.
import { scanAXTree } from './ax-scan.js';
import { scanDomDocuments, type DomTables } from './dom-scan.js';
import { buildPageModel, keptBy, toFlatNode, type AXSource, type FlatNode, type FlattenStats, type PageElement, type SnapshotFilter } from './page-model.js';

/**
 * One session's read of the page: the page's own (first), or an out-of-process iframe's. CDP
 * responses arrive as the raw bytes of their WebSocket frame (`{"id":N,"result":{…}}`),
 * transferred to the worker unparsed: a 5,000-element page is ~12 MB of JSON whose parse
 * would otherwise hold the main thread for over 100 ms.
 */
export interface SessionRead {
  /** DOMSnapshot.captureSnapshot on the session: its frame's document and its in-process frames'. */
  dom: Uint8Array;
  /** Accessibility.getFullAXTree of its frames; without frameId, of the session's own frame. */
  ax: { frameId?: string; tree: Uint8Array }[];
  /**
   * Where each frame's viewport (its <iframe>'s content box) lies in the top page's viewport.
   * A child frame not listed is not rendered. An iframe session's own frame is listed too.
   */
  origins: { frameId: string; x: number; y: number }[];
  /** An iframe session: its <iframe> element, in the session at index `parent` of the read. */
  owner?: { parent: number; backendNodeId: number };
}

interface Doc {
  session: number;
  tables: DomTables;
  frameId: string;
  /** Top-page document coordinates of this document's point (0, 0); null: not rendered. */
  shift: { x: number; y: number } | null;
  elements: PageElement[];
  /** Frames shown in this document: the owner's node index and the child document. */
  children: { at: number; doc: Doc }[];
}

export interface FramesFlattened {
  nodes: FlatNode[];
  /** Each node's frame, an index into `frameIds` (0: the top document). */
  frameOf: number[];
  frameIds: string[];
  stats: FlattenStats;
}

/** The snapshot's node list over every frame: the elements the filter selects, in document order. */
export function flattenFrames(sessions: SessionRead[], filter: SnapshotFilter, maxNodes: number): FramesFlattened {
  const keep = keptBy(filter);
  let domNodes = 0;
  let axNodes = 0;
  const roots: Doc[] = [];
  const all: Doc[][] = [];
  sessions.forEach((session, s) => {
    const tables = scanDomDocuments(session.dom);
    const trees = new Map(session.ax.map((a) => [a.frameId ?? '', a.tree]));
    const origins = new Map(session.origins.map((o) => [o.frameId, o]));
    const docs = tables.map((t, d): Doc => {
      const frameId = t.strings.get(t.frameId);
      const tree = trees.get(frameId) ?? (d === 0 ? trees.get('') : undefined);
      const source: AXSource = tree ? (wanted) => scanAXTree(tree, wanted) : { nodes: [], total: 0 };
      const origin = origins.get(frameId);
      const main = s === 0 && d === 0;
      const model = main || origin ? buildPageModel(t, source, keep, { ownText: filter === 'all' }) : { elements: [], domNodes: t.nodeCount, axNodes: 0 };
      domNodes += model.domNodes;
      axNodes += model.axNodes;
      return { session: s, tables: t, frameId, shift: main ? { x: 0, y: 0 } : origin ? { x: origin.x - t.scrollX, y: origin.y - t.scrollY } : null, elements: model.elements, children: [] };
    });
    for (const doc of docs) {
      const { index, value } = doc.tables.contentDocuments;
      index.forEach((at, k) => {
        const child = docs[value[k] as number];
        if (child) doc.children.push({ at, doc: child });
      });
    }
    all.push(docs);
    roots.push(docs[0] as Doc);
  });
  // Out-of-process iframes hang under their <iframe> element in the parent session's documents.
  sessions.forEach((session, s) => {
    if (!session.owner || s === 0) return;
    for (const doc of all[session.owner.parent] ?? []) {
      const at = doc.tables.backendNodeId.indexOf(session.owner.backendNodeId);
      if (at >= 0) doc.children.push({ at, doc: roots[s] as Doc });
    }
  });
  // Viewport coordinates become the top document's by its scroll offset.
  const top = roots[0];
  const scroll = top ? { x: top.tables.scrollX, y: top.tables.scrollY } : { x: 0, y: 0 };

  const frameIds: string[] = [];
  const frameIndex = new Map<string, number>();
  const nodes: FlatNode[] = [];
  const frameOf: number[] = [];
  let matched = 0;
  const visit = (doc: Doc, depth: number) => {
    if (!doc.shift || depth > 32) return;
    let frame = frameIndex.get(doc.frameId);
    if (frame === undefined) {
      frameIndex.set(doc.frameId, (frame = frameIds.length));
      frameIds.push(doc.frameId);
    }
    const dx = depth === 0 ? 0 : doc.shift.x + scroll.x;
    const dy = depth === 0 ? 0 : doc.shift.y + scroll.y;
    const children = doc.children.sort((a, b) => a.at - b.at);
    let next = 0;
    const emitChildrenUpTo = (index: number) => {
      while (next < children.length && (children[next] as { at: number }).at <= index) visit((children[next++] as { doc: Doc }).doc, depth + 1);
    };
    for (const element of doc.elements) {
      // A frame's elements follow its <iframe> element.
      emitChildrenUpTo(element.index - 1);
      matched++;
      if (nodes.length >= maxNodes) continue;
      if (element.bbox && (dx || dy)) element.bbox = { ...element.bbox, x: Math.round(element.bbox.x + dx), y: Math.round(element.bbox.y + dy) };
      nodes.push(toFlatNode(element, filter));
      frameOf.push(frame);
    }
    emitChildrenUpTo(Infinity);
  };
  if (top) visit(top, 0);
  return { nodes, frameOf, frameIds, stats: { domNodes, axNodes, matched, truncated: matched > nodes.length } };
}
