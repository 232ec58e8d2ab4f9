// Joins what Chrome reports about a page — the DOM with its layout (DOMSnapshot) and the
// accessibility tree — into one list of elements with role, accessible name, value, tag,
// box and visibility. Pure and synchronous: it runs on a worker (see worker.ts) and, for the
// benchmark's comparison, inline.

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
}

export type SnapshotFilter = 'interactive' | 'all';

/** One element of the page with everything the snapshot and the audit look at. */
export interface PageElement extends FlatNode {
  index: number;
  visible: boolean;
  interactive: boolean;
  attributes: Map<string, string>;
  /** Index of the parent element (-1 for the root). */
  parent: number;
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

interface DomSnapshotDocument {
  nodes: {
    parentIndex?: number[];
    nodeType?: number[];
    nodeName?: number[];
    nodeValue?: number[];
    backendNodeId?: number[];
    attributes?: number[][];
    inputValue?: { index: number[]; value: number[] };
  };
  layout: { nodeIndex: number[]; styles: number[][]; bounds: number[][] };
}
export interface DomSnapshot {
  documents: DomSnapshotDocument[];
  strings: string[];
}
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
}

/** The styles DOMSnapshot.captureSnapshot is asked for, in this order (see readPage). */
export const CAPTURED_STYLES = ['visibility'];

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;

/** Every element of the main document, joined with its accessibility node. */
export function buildPageModel(dom: DomSnapshot, ax: AXTree): { elements: PageElement[]; domNodes: number; axNodes: number } {
  const strings = dom.strings;
  const doc = dom.documents[0];
  if (!doc) return { elements: [], domNodes: 0, axNodes: ax.nodes.length };
  const str = (i: number | undefined) => (i === undefined || i < 0 ? '' : (strings[i] ?? ''));
  const nodes = doc.nodes;
  const count = nodes.nodeType?.length ?? 0;
  const parentIndex = nodes.parentIndex ?? [];
  const nodeType = nodes.nodeType ?? [];
  const nodeName = nodes.nodeName ?? [];
  const nodeValue = nodes.nodeValue ?? [];
  const backendNodeId = nodes.backendNodeId ?? [];
  const attributes = nodes.attributes ?? [];

  const axByNode = new Map<number, AXNode>();
  for (const node of ax.nodes) {
    if (node.ignored || node.backendDOMNodeId === undefined) continue;
    if (!axByNode.has(node.backendDOMNodeId)) axByNode.set(node.backendDOMNodeId, node);
  }
  const layoutOf = new Int32Array(count).fill(-1);
  doc.layout.nodeIndex.forEach((nodeIndex, layoutIndex) => {
    if (layoutOf[nodeIndex] === -1) layoutOf[nodeIndex] = layoutIndex;
  });
  const inputValue = new Map<number, string>();
  nodes.inputValue?.index.forEach((nodeIndex, k) => inputValue.set(nodeIndex, str(nodes.inputValue?.value[k])));

  // Direct text of each element, gathered from its text children (the "all" filter's text).
  const ownText = new Map<number, string>();
  for (let i = 0; i < count; i++) {
    if (nodeType[i] !== TEXT_NODE) continue;
    const parent = parentIndex[i] ?? -1;
    const text = str(nodeValue[i]);
    if (parent >= 0 && text.trim()) ownText.set(parent, (ownText.get(parent) ?? '') + text);
  }

  const elements: PageElement[] = [];
  const elementAt = new Map<number, PageElement>();
  // Whether each node is inside a contenteditable host (parents precede children in the arrays).
  const editable = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const parent = parentIndex[i] ?? -1;
    if (nodeType[i] !== ELEMENT_NODE) {
      continue;
    }
    const attrs = new Map<string, string>();
    const raw = attributes[i] ?? [];
    for (let k = 0; k + 1 < raw.length; k += 2) attrs.set(str(raw[k]).toLowerCase(), str(raw[k + 1]));
    const tag = str(nodeName[i]).toLowerCase();
    const inherited = parent >= 0 ? editable[parent] === 1 : false;
    const ce = attrs.get('contenteditable');
    const ownEditable = ce !== undefined && ce.toLowerCase() !== 'false';
    editable[i] = ownEditable || (inherited && ce?.toLowerCase() !== 'false') ? 1 : 0;

    const layoutIndex = layoutOf[i] ?? -1;
    let bbox: FlatNode['bbox'];
    let visible = false;
    if (layoutIndex >= 0) {
      const [x = 0, y = 0, width = 0, height = 0] = doc.layout.bounds[layoutIndex] ?? [];
      bbox = { x: Math.round(x), y: Math.round(y), width: Math.round(width), height: Math.round(height) };
      const visibility = str(doc.layout.styles[layoutIndex]?.[0]);
      visible = width > 0 && height > 0 && visibility !== 'hidden' && visibility !== 'collapse';
    }
    const explicitRole = (attrs.get('role') ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
    const type = (attrs.get('type') ?? 'text').toLowerCase();
    const interactive =
      INTERACTIVE_TAGS.has(tag) ||
      ((tag === 'a' || tag === 'area') && attrs.has('href')) ||
      (tag === 'input' && type !== 'hidden') ||
      INTERACTIVE_ROLES.has(explicitRole) ||
      (ownEditable && !inherited);

    const id = backendNodeId[i] ?? 0;
    const axNode = axByNode.get(id);
    const role = axString(axNode?.role) || explicitRole || (tag === 'input' ? (INPUT_ROLES[type] ?? 'textbox') : (IMPLICIT_ROLES[tag] ?? 'generic'));
    const element: PageElement = {
      index: i,
      parent: -1,
      backendNodeId: id,
      role,
      name: axString(axNode?.name),
      tag,
      visible,
      interactive,
      attributes: attrs,
    };
    if (bbox) element.bbox = bbox;
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
    // The nearest element ancestor (text and other nodes in between are skipped).
    for (let p = parent; p >= 0; p = parentIndex[p] ?? -1) {
      const up = elementAt.get(p);
      if (up) {
        element.parent = up.index;
        break;
      }
    }
    elementAt.set(i, element);
    elements.push(element);
  }
  return { elements, domNodes: count, axNodes: ax.nodes.length };
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

/** The snapshot's node list: the elements the filter selects, in document order. */
export function flattenPage(dom: DomSnapshot, ax: AXTree, filter: SnapshotFilter, maxNodes: number): { nodes: FlatNode[]; stats: FlattenStats } {
  const model = buildPageModel(dom, ax);
  const nodes: FlatNode[] = [];
  let matched = 0;
  for (const element of model.elements) {
    if (!element.visible) continue;
    if (filter === 'interactive' ? !element.interactive : SKIPPED_IN_ALL.has(element.tag)) continue;
    matched++;
    if (nodes.length < maxNodes) nodes.push(toFlatNode(element, filter));
  }
  return { nodes, stats: { domNodes: model.domNodes, axNodes: model.axNodes, matched, truncated: matched > nodes.length } };
}

function toFlatNode(element: PageElement, filter: SnapshotFilter): FlatNode {
  const node: FlatNode = { backendNodeId: element.backendNodeId, role: element.role, name: element.name, tag: element.tag };
  if (element.value !== undefined) node.value = element.value;
  if (element.bbox) node.bbox = element.bbox;
  if (element.checked !== undefined) node.checked = element.checked;
  if (element.disabled) node.disabled = true;
  if (element.expanded !== undefined) node.expanded = element.expanded;
  if (filter === 'all' && !element.name && element.text) node.text = element.text;
  return node;
}
