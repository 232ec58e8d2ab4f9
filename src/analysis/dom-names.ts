// Accessible names computed from the DOM, for the elements Chrome's accessibility tree
// ignores (inside aria-hidden, under a presentational parent) or does not have: the steps of
// the W3C accname algorithm that give such elements their names (aria-labelledby,
// aria-label, the host language's label, the content, the tooltip), read from the DOM
// snapshot's tables. Chrome itself names every other element.
import type { DomTables } from './dom-scan.js';

// Roles whose name comes from their content (WAI-ARIA "name from: contents").
const NAME_FROM_CONTENT = new Set([
  'button', 'cell', 'checkbox', 'columnheader', 'gridcell', 'heading', 'link', 'menuitem', 'menuitemcheckbox',
  'menuitemradio', 'option', 'radio', 'row', 'rowheader', 'switch', 'tab', 'tooltip', 'treeitem',
]);
// Elements rendered as blocks by default: their text is set apart from its neighbours' by a
// space, as a browser's name computation does for anything not displayed inline.
const BLOCKS = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'dd', 'details', 'dialog', 'div', 'dl', 'dt', 'fieldset',
  'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li', 'main', 'nav',
  'ol', 'p', 'pre', 'section', 'summary', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'ul',
]);
const BUTTON_INPUTS: Record<string, string> = { button: '', submit: 'Submit', reset: 'Reset' };
const ELEMENT_NODE = 1;
const TEXT_NODE = 3;

export class DomNames {
  private readonly attributeIndex = new Map<string, number>();
  private ids: Map<string, number> | null = null;

  constructor(
    private readonly dom: DomTables,
    /** Each node's layout entry, -1 when it is not rendered. */
    private readonly layoutOf: Int32Array,
    private readonly tagOf: (i: number) => string,
  ) {}

  /** The accessible name of element `i`, whose role and (input) type are known. */
  of(i: number, tag: string, role: string, type: string): string {
    const labelledBy = this.attribute(i, 'aria-labelledby')?.trim();
    if (labelledBy) {
      const text = clean(labelledBy.split(/\s+/).map((id) => this.referenced(id)).join(' '));
      if (text) return text;
    }
    const label = clean(this.attribute(i, 'aria-label') ?? '');
    if (label) return label;
    if (tag === 'input') {
      if (type in BUTTON_INPUTS) return clean(this.attribute(i, 'value') ?? BUTTON_INPUTS[type] ?? '');
      if (type === 'image') return clean(this.attribute(i, 'alt') ?? this.attribute(i, 'value') ?? 'Submit');
    }
    if (tag === 'img' || tag === 'area') {
      const alt = clean(this.attribute(i, 'alt') ?? '');
      if (alt) return alt;
    }
    if (NAME_FROM_CONTENT.has(role)) {
      const text = clean(this.content(i));
      if (text) return text;
    }
    return clean(this.attribute(i, 'title') ?? this.attribute(i, 'placeholder') ?? '');
  }

  /** The rendered text of an element's subtree, with the names of the images and labelled elements in it. */
  private content(i: number): string {
    const { parentIndex, nodeType, nodeValue, strings, nodeCount, layout } = this.dom;
    let out = '';
    // The open elements from i down to the current node, to set blocks apart when they close.
    const open: number[] = [i];
    for (let j = i + 1; j < nodeCount && (parentIndex[j] ?? -1) >= i; j++) {
      const parent = parentIndex[j] ?? -1;
      while (open.length && open[open.length - 1] !== parent) {
        const closed = open.pop() as number;
        if (BLOCKS.has(this.tagOf(closed))) out += ' ';
      }
      if (nodeType[j] === TEXT_NODE) {
        const at = this.layoutOf[j] ?? -1;
        const visibility = at >= 0 ? strings.get(layout.style[at]) : '';
        if (at >= 0 && visibility !== 'hidden' && visibility !== 'collapse') out += strings.get(nodeValue[j]);
        continue;
      }
      if (nodeType[j] !== ELEMENT_NODE) continue;
      const tag = this.tagOf(j);
      const named = clean(this.attribute(j, 'aria-label') ?? '') || (tag === 'img' ? clean(this.attribute(j, 'alt') ?? '') : '');
      if (named || tag === 'img') {
        // Its name stands for its content.
        out += ` ${named} `;
        // Document order: its subtree ends at the first node whose parent comes before it.
        let end = j + 1;
        while (end < nodeCount && (parentIndex[end] ?? -1) >= j) end++;
        j = end - 1;
        continue;
      }
      if (BLOCKS.has(tag)) out += ' ';
      open.push(j);
    }
    return out;
  }

  /** The name an aria-labelledby reference gives: its aria-label, else its content. */
  private referenced(id: string): string {
    if (!this.ids) {
      this.ids = new Map();
      for (let k = 0; k < this.dom.nodeCount; k++) {
        const value = this.dom.nodeType[k] === ELEMENT_NODE ? this.attribute(k, 'id') : undefined;
        if (value && !this.ids.has(value)) this.ids.set(value, k);
      }
    }
    const k = this.ids.get(id);
    if (k === undefined) return '';
    return clean(this.attribute(k, 'aria-label') ?? '') || this.content(k);
  }

  private attribute(i: number, name: string): string | undefined {
    const { strings, attributeStart, attributes } = this.dom;
    let wanted = this.attributeIndex.get(name);
    if (wanted === undefined) this.attributeIndex.set(name, (wanted = strings.indexOf(name)));
    if (wanted < 0) return undefined;
    const end = attributeStart[i + 1] ?? 0;
    for (let k = attributeStart[i] ?? 0; k + 1 < end; k += 2) if (attributes[k] === wanted) return strings.get(attributes[k + 1]);
    return undefined;
  }
}

function clean(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
