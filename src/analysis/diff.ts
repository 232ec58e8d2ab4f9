// Differences between two snapshots of one tab. Refs are stable per element within a document
// (runtime/pages.ts), so an element is the same ref in both and the diff is a join on refs.

/** The fields of a snapshot node that the diff compares (bbox apart: a move is not a change). */
export interface DiffNode {
  ref: string;
  role: string;
  name: string;
  value?: string;
  tag?: string;
  bbox?: { x: number; y: number; width: number; height: number };
  checked?: boolean | 'mixed';
  disabled?: true;
  expanded?: boolean;
  text?: string;
}

export interface SnapshotDiff {
  added: string[];
  removed: string[];
  /** Same element, different role, name, value, state or text. */
  changed: string[];
  /** Same element and content, different box. */
  moved: string[];
}

const COMPARED = ['role', 'name', 'value', 'tag', 'checked', 'disabled', 'expanded', 'text'] as const;

export function diffSnapshots(before: DiffNode[], after: DiffNode[]): SnapshotDiff {
  const old = new Map(before.map((node) => [node.ref, node]));
  const result: SnapshotDiff = { added: [], removed: [], changed: [], moved: [] };
  const seen = new Set<string>();
  for (const node of after) {
    seen.add(node.ref);
    const previous = old.get(node.ref);
    if (!previous) result.added.push(node.ref);
    else if (COMPARED.some((field) => previous[field] !== node[field])) result.changed.push(node.ref);
    else if (!sameBox(previous.bbox, node.bbox)) result.moved.push(node.ref);
  }
  for (const node of before) if (!seen.has(node.ref)) result.removed.push(node.ref);
  return result;
}

function sameBox(a: DiffNode['bbox'], b: DiffNode['bbox']): boolean {
  if (!a || !b) return a === b;
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}
