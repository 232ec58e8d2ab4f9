// Joins what Chrome reports about a page — the DOM with its layout (DOMSnapshot) and the
// accessibility tree — into one list of elements with role, accessible name, value, tag,
// box and visibility. Pure and synchronous: it runs on a worker (see worker.ts) and, for the
// benchmark's comparison, inline.
import { DomNames } from './dom-names.js';
import type { DomTables } from './dom-scan.js';

/** A node of a tab.snapshot before refs are given (refs are the tab's, see runtime/pages.ts). */
export interface FlatNode {
  backendNodeId: number;
  role: string;
  name: string;
  value?: string;
  tag: string;
  bbox?: { x: number; y: number; width: number; height: number };
  checked?: boolean | 'mixed';
  disabled?: true;
  expanded?: boolean;
  /** "all" filter only: the element's own text when it has no accessible name. */
  text?: string;
  /**
   * Chrome's accessibility tree ignores it (inside aria-hidden, a presentational parent…):
   * assistive technology does not see it, and its name was computed from the DOM.
   */
  hidden?: true;
}

export type SnapshotFilter = 'interactive' | 'all';

/** One element of the page with everything the snapshot and the audit look at. */
export interface PageElement extends FlatNode {
  index: number;
  visible: boolean;
  interactive: boolean;
}

/** What the first pass knows of every element; the model keeps only what `keep` accepts. */
export interface ElementSummary {
  tag: string;
  visible: boolean;
  interactive: boolean;
}

// Roles a user acts on (WAI-ARIA widget roles); a `role` attribute naming one makes any
// element interactive.
const INTERACTIVE_ROLES = new Set([
  'button', 'checkbox', 'combobox', 'gridcell', 'link', 'listbox', 'menuitem', 'menuitemcheckbox',
  'menuitemradio', 'option', 'radio', 'scrollbar', 'searchbox', 'slider', 'spinbutton', 'switch',
  'tab', 'textbox', 'treeitem',
]);
const INTERACTIVE_TAGS = new Set(['button', 'select', 'textarea', 'summary']);
const SKIPPED_IN_ALL = new Set(['html', 'head', 'body']);

// The role an element gets when the accessibility tree has no node for it (aria-hidden and
// the like): what the HTML-AAM mapping would give, enough for a client to know what it is.
const IMPLICIT_ROLES: Record<string, string> = {
  a: 'link', button: 'button', select: 'combobox', textarea: 'textbox', summary: 'button', img: 'image',
};
const INPUT_ROLES: Record<string, string> = {
  button: 'button', submit: 'button', reset: 'button', image: 'button', checkbox: 'checkbox', radio: 'radio',
  range: 'slider', number: 'spinbutton', search: 'searchbox',
};

interface AXValue {
  type?: string;
  value?: unknown;
}
interface AXNode {
  ignored: boolean;
  role?: AXValue;
  name?: AXValue;
  value?: AXValue;
  properties?: { name: string; value: AXValue }[];
  backendDOMNodeId?: number;
}
export interface AXTree {
  nodes: AXNode[];
  /** Nodes in the tree, when `nodes` holds only the wanted ones (see ax-scan.ts). */
  total?: number;
}
/** The tree, or a reader that returns at least the nodes of the given backend node ids. */
export type AXSource = AXTree | ((wanted: ReadonlySet<number>) => AXTree);

/** The styles DOMSnapshot.captureSnapshot is asked for, in this order (see readPage). */
export const CAPTURED_STYLES = ['visibility'];

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;

/**
 * The elements of the main document that `keep` accepts, joined with their accessibility
 * nodes. Every element is looked at once, cheaply (no objects); only kept ones become
 * PageElements — on a 5,000-control page that is a few thousand of ~30,000.
 */
export function buildPageModel(
  dom: DomTables,
  source: AXSource,
  keep: (element: ElementSummary) => boolean,
  options: { ownText?: boolean } = {},
): { elements: PageElement[]; domNodes: number; axNodes: number } {
  const { strings, nodeCount: count, parentIndex, nodeType, nodeName, nodeValue, backendNodeId, attributeStart, attributes, layout } = dom;
  const str = (i: number | undefined) => strings.get(i);
  // Attribute lookups by string-table index: the names the first pass needs, found once.
  const nameIndex = new Map<string, number>();
  for (const name of ATTRIBUTES_READ) {
    const index = strings.indexOf(name);
    if (index >= 0) nameIndex.set(name, index);
  }
  const attr = (i: number, name: string): string | undefined => {
    const wanted = nameIndex.get(name);
    if (wanted === undefined) return undefined;
    const end = attributeStart[i + 1] ?? 0;
    for (let k = attributeStart[i] ?? 0; k + 1 < end; k += 2) if (attributes[k] === wanted) return str(attributes[k + 1]);
    return undefined;
  };

  const layoutOf = new Int32Array(count).fill(-1);
  layout.nodeIndex.forEach((nodeIndex, layoutIndex) => {
    if (layoutOf[nodeIndex] === -1) layoutOf[nodeIndex] = layoutIndex;
  });
  // Tags by string index, lower-cased once.
  const tags = new Map<number, string>();
  const tagOf = (i: number) => {
    const index = nodeName[i] ?? -1;
    let tag = tags.get(index);
    if (tag === undefined) tags.set(index, (tag = str(index).toLowerCase()));
    return tag;
  };
  // Inherited, parents before children in the arrays: inside a contenteditable host.
  const editable = new Uint8Array(count);
  const kept: { i: number; tag: string; visible: boolean; interactive: boolean; explicitRole: string }[] = [];
  for (let i = 0; i < count; i++) {
    const parent = parentIndex[i] ?? -1;
    if (nodeType[i] !== ELEMENT_NODE) continue;
    const tag = tagOf(i);
    const inherited = parent >= 0 ? editable[parent] === 1 : false;
    const ce = attr(i, 'contenteditable')?.toLowerCase();
    const ownEditable = ce !== undefined && ce !== 'false';
    editable[i] = ownEditable || (inherited && ce !== 'false') ? 1 : 0;

    const layoutIndex = layoutOf[i] ?? -1;
    let visible = false;
    if (layoutIndex >= 0) {
      const width = layout.bounds[layoutIndex * 4 + 2] ?? 0;
      const height = layout.bounds[layoutIndex * 4 + 3] ?? 0;
      const visibility = str(layout.style[layoutIndex]);
      visible = width > 0 && height > 0 && visibility !== 'hidden' && visibility !== 'collapse';
    }
    const explicitRole = firstToken(attr(i, 'role'));
    const interactive =
      INTERACTIVE_TAGS.has(tag) ||
      ((tag === 'a' || tag === 'area') && attr(i, 'href') !== undefined) ||
      (tag === 'input' && (attr(i, 'type') ?? '').toLowerCase() !== 'hidden') ||
      INTERACTIVE_ROLES.has(explicitRole) ||
      (ownEditable && !inherited);
    if (keep({ tag, visible, interactive })) kept.push({ i, tag, visible, interactive, explicitRole });
  }

  const axByNode = new Map<number, AXNode>();
  const wanted = new Set(kept.map(({ i }) => backendNodeId[i] ?? 0));
  const ax = typeof source === 'function' ? source(wanted) : source;
  for (const node of ax.nodes) {
    const id = node.backendDOMNodeId;
    if (id === undefined || !wanted.has(id)) continue;
    // A node may appear twice (an ignored copy and the real one): the real one wins.
    const seen = axByNode.get(id);
    if (!seen || (seen.ignored && !node.ignored)) axByNode.set(id, node);
  }
  const names = new DomNames(dom, layoutOf, tagOf);
  const treeRead = (ax.total ?? ax.nodes.length) > 0;
  const inputValue = new Map<number, string>();
  dom.inputValue.index.forEach((nodeIndex, k) => inputValue.set(nodeIndex, str(dom.inputValue.value[k])));
  // Direct text of the kept elements, from their text children (the "all" filter's text).
  const ownText = new Map<number, string>();
  if (options.ownText) {
    const keptAt = new Set(kept.map(({ i }) => i));
    for (let i = 0; i < count; i++) {
      if (nodeType[i] !== TEXT_NODE) continue;
      const parent = parentIndex[i] ?? -1;
      if (!keptAt.has(parent)) continue;
      const text = str(nodeValue[i]);
      if (text.trim()) ownText.set(parent, (ownText.get(parent) ?? '') + text);
    }
  }

  const elements = kept.map(({ i, tag, visible, interactive, explicitRole }) => {
    const type = (attr(i, 'type') ?? 'text').toLowerCase();
    const id = backendNodeId[i] ?? 0;
    const found = axByNode.get(id);
    // Ignored by the accessibility tree, or missing from it (inert, or a frame read without
    // its tree): the name is computed from the DOM, as the tree would have computed it.
    const axNode = found?.ignored ? undefined : found;
    const role = axString(axNode?.role) || explicitRole || (tag === 'input' ? (INPUT_ROLES[type] ?? 'textbox') : (IMPLICIT_ROLES[tag] ?? 'generic'));
    const element: PageElement = {
      index: i,
      backendNodeId: id,
      role,
      name: axNode ? axString(axNode.name) : names.of(i, tag, role, type),
      tag,
      visible,
      interactive,
    };
    const layoutIndex = layoutOf[i] ?? -1;
    if (layoutIndex >= 0) {
      const b = layout.bounds;
      const at = layoutIndex * 4;
      element.bbox = { x: Math.round(b[at] ?? 0), y: Math.round(b[at + 1] ?? 0), width: Math.round(b[at + 2] ?? 0), height: Math.round(b[at + 3] ?? 0) };
    }
    const value = axString(axNode?.value) || inputValue.get(i);
    if (value) element.value = type === 'password' && tag === 'input' ? '•'.repeat(value.length) : value;
    for (const property of axNode?.properties ?? []) {
      const v = property.value.value;
      if (property.name === 'checked') element.checked = v === 'mixed' ? 'mixed' : v === true || v === 'true';
      else if (property.name === 'disabled' && (v === true || v === 'true')) element.disabled = true;
      else if (property.name === 'expanded') element.expanded = v === true || v === 'true';
    }
    const text = ownText.get(i);
    if (text) element.text = text.replace(/\s+/g, ' ').trim().slice(0, 200);
    // Ignored, or left out of a tree that was read (inert content, for one).
    if (found ? found.ignored : treeRead) element.hidden = true;
    return element;
  });
  return { elements, domNodes: count, axNodes: ax.total ?? ax.nodes.length };
}

const ATTRIBUTES_READ = new Set(['contenteditable', 'role', 'href', 'type']);

function firstToken(value: string | undefined): string {
  if (!value) return '';
  if (!/\s/.test(value)) return value.toLowerCase();
  return value.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
}

function axString(value: AXValue | undefined): string {
  const v = value?.value;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

export interface FlattenStats {
  domNodes: number;
  axNodes: number;
  /** Elements that matched the filter, before maxNodes. */
  matched: number;
  truncated: boolean;
}

/** What a snapshot with this filter keeps: rendered elements, interactive ones or all but the document's containers. */
export const keptBy =
  (filter: SnapshotFilter) =>
  (e: ElementSummary): boolean =>
    e.visible && (filter === 'interactive' ? e.interactive : !SKIPPED_IN_ALL.has(e.tag));

/** One document's node list: the elements the filter selects, in document order (frames: frame-tree.ts). */
export function flattenPage(dom: DomTables, ax: AXSource, filter: SnapshotFilter, maxNodes: number): { nodes: FlatNode[]; stats: FlattenStats } {
  const model = buildPageModel(dom, ax, keptBy(filter), { ownText: filter === 'all' });
  const nodes: FlatNode[] = [];
  let matched = 0;
  for (const element of model.elements) {
    matched++;
    if (nodes.length < maxNodes) nodes.push(toFlatNode(element, filter));
  }
  return { nodes, stats: { domNodes: model.domNodes, axNodes: model.axNodes, matched, truncated: matched > nodes.length } };
}

export function toFlatNode(element: PageElement, filter: SnapshotFilter): FlatNode {
  const node: FlatNode = { backendNodeId: element.backendNodeId, role: element.role, name: element.name, tag: element.tag };
  if (element.value !== undefined) node.value = element.value;
  if (element.bbox) node.bbox = element.bbox;
  if (element.checked !== undefined) node.checked = element.checked;
  if (element.disabled) node.disabled = true;
  if (element.expanded !== undefined) node.expanded = element.expanded;
  if (filter === 'all' && !element.name && element.text) node.text = element.text;
  if (element.hidden) node.hidden = true;
  return node;
}
