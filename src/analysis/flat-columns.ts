// A snapshot's nodes as the worker hands them to the main thread: a few typed arrays and one
// string, not 5,000 objects. Structured clone rebuilds objects one by one on the receiving
// side — ~7 ms of main-thread time for a 5,000-control page, where these columns take ~0.1 ms
// to receive and ~1 ms to turn into the answer's objects (measured on the bench's page).
import type { FlatNode } from './page-model.js';

export interface FlatColumns {
  count: number;
  backendNodeIds: Int32Array;
  /** Each node's frame (an index the task's result explains; 0: the top document). */
  frames: Int32Array;
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
const HIDDEN = 64;

export function toColumns(nodes: FlatNode[], frameOf?: readonly number[]): FlatColumns {
  const count = nodes.length;
  const backendNodeIds = new Int32Array(count);
  const frames = frameOf ? Int32Array.from(frameOf) : new Int32Array(count);
  const boxes = new Float64Array(count * 4).fill(Number.NaN);
  const lengths = new Int32Array(count * STRINGS);
  const flags = new Uint8Array(count);
  // Written in place, not through a small array per node: the worker's garbage is shared
  // GC work with the other worker.
  const parts = new Array<string>(count * STRINGS);
  for (let i = 0; i < count; i++) {
    const node = nodes[i] as FlatNode;
    backendNodeIds[i] = node.backendNodeId;
    if (node.bbox) {
      boxes[i * 4] = node.bbox.x;
      boxes[i * 4 + 1] = node.bbox.y;
      boxes[i * 4 + 2] = node.bbox.width;
      boxes[i * 4 + 3] = node.bbox.height;
    }
    const at = i * STRINGS;
    parts[at] = node.role;
    parts[at + 1] = node.name;
    parts[at + 2] = node.tag;
    parts[at + 3] = node.value ?? '';
    parts[at + 4] = node.text ?? '';
    for (let k = at; k < at + STRINGS; k++) lengths[k] = (parts[k] as string).length;
    flags[i] =
      (node.checked === true ? CHECKED : node.checked === 'mixed' ? MIXED : node.checked === false ? UNCHECKED : 0) |
      (node.disabled ? DISABLED : 0) |
      (node.expanded === true ? EXPANDED : node.expanded === false ? COLLAPSED : 0) |
      (node.hidden ? HIDDEN : 0);
  }
  return { count, backendNodeIds, frames, boxes, text: parts.join(''), lengths, flags };
}

/**
 * The nodes again, in order: each starts as `head(backendNodeId, frame)` (the page service's
 * ref and frame, or the id itself) and gets FlatNode's other fields, in FlatNode's order.
 */
export function fromColumns<H extends object>(columns: FlatColumns, head: (backendNodeId: number, frame: number) => H): (H & Omit<FlatNode, 'backendNodeId'>)[] {
  const out: (H & Omit<FlatNode, 'backendNodeId'>)[] = [];
  let at = 0;
  const next = (i: number, k: number) => {
    const length = columns.lengths[i * STRINGS + k] as number;
    const s = columns.text.slice(at, at + length);
    at += length;
    return s;
  };
  for (let i = 0; i < columns.count; i++) {
    const node = head(columns.backendNodeIds[i] as number, columns.frames[i] as number) as H & Omit<FlatNode, 'backendNodeId'>;
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
    if (flags & HIDDEN) node.hidden = true;
    out.push(node);
  }
  return out;
}
