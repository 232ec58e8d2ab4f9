// A snapshot's nodes as the worker hands them to the main thread: a few typed arrays and one
// string, not 5,000 objects. Structured clone rebuilds objects one by one on the receiving
// side — ~7 ms of main-thread time for a 5,000-control page, where these columns take ~0.1 ms
// to receive and ~1 ms to turn into the answer's objects (measured on the bench's page).
import type { FlatNode } from './page-model.js';

export interface FlatColumns {
  count: number;
  backendNodeIds: Int32Array;
  /** x, y, width, height per node; NaN x when the node has no box. */
  boxes: Float64Array;
  /** Every node's role, name, tag, value and text, one after the other ('' when absent)… */
  text: string;
  /** …and their lengths, five per node. */
  lengths: Int32Array;
  flags: Uint8Array;
}

const STRINGS = 5;
const CHECKED = 1;
const MIXED = 2;
const UNCHECKED = 4;
const DISABLED = 8;
const EXPANDED = 16;
const COLLAPSED = 32;

export function toColumns(nodes: FlatNode[]): FlatColumns {
  const count = nodes.length;
  const columns: FlatColumns = {
    count,
    backendNodeIds: new Int32Array(count),
    boxes: new Float64Array(count * 4).fill(Number.NaN),
    text: '',
    lengths: new Int32Array(count * STRINGS),
    flags: new Uint8Array(count),
  };
  const parts: string[] = [];
  nodes.forEach((node, i) => {
    columns.backendNodeIds[i] = node.backendNodeId;
    if (node.bbox) columns.boxes.set([node.bbox.x, node.bbox.y, node.bbox.width, node.bbox.height], i * 4);
    const strings = [node.role, node.name, node.tag, node.value ?? '', node.text ?? ''];
    strings.forEach((s, k) => (columns.lengths[i * STRINGS + k] = s.length));
    parts.push(...strings);
    columns.flags[i] =
      (node.checked === true ? CHECKED : node.checked === 'mixed' ? MIXED : node.checked === false ? UNCHECKED : 0) |
      (node.disabled ? DISABLED : 0) |
      (node.expanded === true ? EXPANDED : node.expanded === false ? COLLAPSED : 0);
  });
  columns.text = parts.join('');
  return columns;
}

/**
 * The nodes again, in order: each starts as `head(backendNodeId)` (the page service's ref, or
 * the id itself) and gets FlatNode's other fields, in FlatNode's order.
 */
export function fromColumns<H extends object>(columns: FlatColumns, head: (backendNodeId: number) => H): (H & Omit<FlatNode, 'backendNodeId'>)[] {
  const out: (H & Omit<FlatNode, 'backendNodeId'>)[] = [];
  let at = 0;
  const next = (i: number, k: number) => {
    const length = columns.lengths[i * STRINGS + k] as number;
    const s = columns.text.slice(at, at + length);
    at += length;
    return s;
  };
  for (let i = 0; i < columns.count; i++) {
    const node = head(columns.backendNodeIds[i] as number) as H & Omit<FlatNode, 'backendNodeId'>;
    node.role = next(i, 0);
    node.name = next(i, 1);
    node.tag = next(i, 2);
    const value = next(i, 3);
    const text = next(i, 4);
    if (value) node.value = value;
    const x = columns.boxes[i * 4] as number;
    if (!Number.isNaN(x)) node.bbox = { x, y: columns.boxes[i * 4 + 1] as number, width: columns.boxes[i * 4 + 2] as number, height: columns.boxes[i * 4 + 3] as number };
    const flags = columns.flags[i] as number;
    if (flags & (CHECKED | MIXED | UNCHECKED)) node.checked = flags & MIXED ? 'mixed' : (flags & CHECKED) !== 0;
    if (flags & DISABLED) node.disabled = true;
    if (flags & (EXPANDED | COLLAPSED)) node.expanded = (flags & EXPANDED) !== 0;
    if (text) node.text = text;
    out.push(node);
  }
  return out;
}
