// Reads the raw Accessibility.getFullAXTree response without materialising all of it. The
// tree of a 5,000-control page is ~12 MB of JSON in ~24,000 nodes, each with nested role,
// name (with its sources), properties and child lists; JSON.parse builds every one of those
// objects, and the parse and its garbage were most of a snapshot's worker time. This scanner
// walks the text, skipping strings with indexOf, and builds only the fields the page model
// reads: ignored, role, name and value (their `value`), properties, backendDOMNodeId — and,
// given the backend node ids the caller wants, only for those nodes: the rest are walked over
// without allocating anything (two isolates allocating in parallel share V8's GC helpers, so
// garbage also costs the other worker).
import type { AXTree } from './page-model.js';

type AXNode = AXTree['nodes'][number];

export function scanAXTree(text: string, wanted?: ReadonlySet<number>): AXTree {
  const scanner = new Scanner(text, wanted);
  if (wanted) {
    const fast = scanWanted(text, scanner);
    if (fast) return fast;
  }
  let nodes: AXNode[] | null = null;
  let total = 0;
  let error: string | null = null;
  scanner.object(0, (key, at) => {
    if (scanner.is(key, 'error')) {
      const end = scanner.skip(at);
      error = String((JSON.parse(text.slice(at, end)) as { message?: string }).message ?? 'unknown');
      return end;
    }
    if (!scanner.is(key, 'result')) return undefined;
    return scanner.object(at, (inner, start) => (scanner.is(inner, 'nodes') ? (nodes ??= [], scanner.array(start, (item) => (total++, scanner.node(item, (node) => nodes?.push(node))))) : undefined));
  });
  if (error) throw new Error(`CDP error: ${error}`);
  if (!nodes) throw new Error('accessibility tree response without nodes');
  return { nodes, total };
}

const NODE_START = '{"nodeId":"';
const OWN_ID = '"backendDOMNodeId":';

/**
 * The fast path for a few wanted nodes among many: nodes are found with indexOf (the text
 * `{"nodeId":"` cannot occur inside a JSON string, where its quotes would be escaped, and
 * only accessibility nodes have that key), and each node's own backendDOMNodeId is its last
 * one, after `childIds` (an array of strings, so no `{` in between; related nodes of labels
 * come earlier). Only wanted nodes are scanned field by field. Null when the text is not
 * shaped as Chrome writes it, and the caller scans everything instead.
 */
function scanWanted(text: string, scanner: Scanner): AXTree | null {
  // Chrome writes `{"id":N,"result":{"nodes":[…` (an error has "error" where "result" is).
  const arrayStart = text.indexOf('"result":{"nodes":[');
  if (arrayStart < 0 || arrayStart > 32) return null;
  let start = text.indexOf(NODE_START, arrayStart);
  const nodes: AXNode[] = [];
  let total = 0;
  while (start >= 0) {
    const next = text.indexOf(NODE_START, start + NODE_START.length);
    const end = next >= 0 ? next : text.length;
    total++;
    const key = text.lastIndexOf(OWN_ID, end);
    const childIds = text.lastIndexOf('"childIds":', key);
    if (key < start || childIds < start || text.lastIndexOf('{', key) > childIds) {
      // No id of its own where Chrome puts it: read this node the slow, sure way.
      scanner.node(start, (node) => nodes.push(node));
    } else {
      let digits = key + OWN_ID.length;
      while (text.charCodeAt(digits) >= 48 && text.charCodeAt(digits) <= 57) digits++;
      if (scanner.wants(Number(text.slice(key + OWN_ID.length, digits)))) scanner.node(start, (node) => nodes.push(node));
    }
    start = next;
  }
  return { nodes, total };
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;
const COLON = 58;

class Scanner {
  constructor(
    private readonly s: string,
    private readonly wanted?: ReadonlySet<number>,
  ) {}

  wants(id: number): boolean {
    return this.wanted?.has(id) ?? true;
  }

  /** Whether the key whose opening quote is at `at` is `name` (no string is made). */
  is(at: number, name: string): boolean {
    return this.s.charCodeAt(at + 1 + name.length) === QUOTE && this.s.startsWith(name, at + 1);
  }

  /** One accessibility node: positions first, objects only for a wanted node. */
  node(at: number, emit: (node: AXNode) => void): number {
    let ignored = false;
    let role = -1;
    let name = -1;
    let value = -1;
    let properties = -1;
    let id: number | undefined;
    const end = this.object(at, (key, v) => {
      if (this.is(key, 'ignored')) ignored = this.s.startsWith('true', v);
      else if (this.is(key, 'role')) role = v;
      else if (this.is(key, 'name')) name = v;
      else if (this.is(key, 'value')) value = v;
      else if (this.is(key, 'properties')) properties = v;
      else if (this.is(key, 'backendDOMNodeId')) {
        const stop = this.skip(v);
        id = Number(this.s.slice(v, stop));
        return stop;
      }
      return undefined;
    });
    if (this.wanted && (id === undefined || ignored || !this.wanted.has(id))) return end;
    const node: AXNode = { ignored };
    if (id !== undefined) node.backendDOMNodeId = id;
    if (role >= 0) node.role = { value: this.innerValue(role) };
    if (name >= 0) node.name = { value: this.innerValue(name) };
    if (value >= 0) node.value = { value: this.innerValue(value) };
    if (properties >= 0) node.properties = JSON.parse(this.s.slice(properties, this.skip(properties))) as AXNode['properties'];
    emit(node);
    return end;
  }

  /** The `value` member of the AXValue object at `at`. */
  private innerValue(at: number): unknown {
    let value: unknown;
    this.object(at, (key, w) => {
      if (!this.is(key, 'value')) return undefined;
      const stop = this.skip(w);
      value = JSON.parse(this.s.slice(w, stop));
      return stop;
    });
    return value;
  }

  /**
   * Walk an object from its `{`: `onMember` gets where each key starts (its quote, see is())
   * and where its value starts, and returns where the value ends once it consumed it
   * (undefined: skip it). Returns the index after the closing `}`.
   */
  object(at: number, onMember: (keyAt: number, valueAt: number) => number | undefined): number {
    const s = this.s;
    let i = this.ws(at);
    if (s.charCodeAt(i) !== OPEN_BRACE) throw this.error(i, 'an object');
    i = this.ws(i + 1);
    if (s.charCodeAt(i) === CLOSE_BRACE) return i + 1;
    for (;;) {
      if (s.charCodeAt(i) !== QUOTE) throw this.error(i, 'a key');
      const keyAt = i;
      i = this.ws(this.string(i));
      if (s.charCodeAt(i) !== COLON) throw this.error(i, 'a colon');
      const valueAt = this.ws(i + 1);
      i = this.ws(onMember(keyAt, valueAt) ?? this.skip(valueAt));
      const c = s.charCodeAt(i);
      if (c === CLOSE_BRACE) return i + 1;
      if (c !== COMMA) throw this.error(i, 'a comma or }');
      i = this.ws(i + 1);
    }
  }

  array(at: number, onItem: (itemAt: number) => number): number {
    const s = this.s;
    let i = this.ws(at);
    if (s.charCodeAt(i) !== OPEN_BRACKET) throw this.error(i, 'an array');
    i = this.ws(i + 1);
    if (s.charCodeAt(i) === CLOSE_BRACKET) return i + 1;
    for (;;) {
      i = this.ws(onItem(i));
      const c = s.charCodeAt(i);
      if (c === CLOSE_BRACKET) return i + 1;
      if (c !== COMMA) throw this.error(i, 'a comma or ]');
      i = this.ws(i + 1);
    }
  }

  /** The index after the value that starts at `at`. */
  skip(at: number): number {
    const s = this.s;
    const c = s.charCodeAt(at);
    if (c === QUOTE) return this.string(at);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      let depth = 0;
      for (let i = at; i < s.length; i++) {
        const d = s.charCodeAt(i);
        if (d === QUOTE) i = this.string(i) - 1;
        else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
        else if ((d === CLOSE_BRACE || d === CLOSE_BRACKET) && --depth === 0) return i + 1;
      }
      throw this.error(at, 'a closed object or array');
    }
    let i = at;
    while (i < s.length) {
      const d = s.charCodeAt(i);
      if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || d <= 32) break;
      i++;
    }
    if (i === at) throw this.error(at, 'a value');
    return i;
  }

  /** The index after the string that starts at `at` (its opening quote). */
  private string(at: number): number {
    const s = this.s;
    let from = at + 1;
    for (;;) {
      const quote = s.indexOf('"', from);
      if (quote < 0) throw this.error(at, 'a closed string');
      let backslashes = 0;
      for (let k = quote - 1; s.charCodeAt(k) === BACKSLASH; k--) backslashes++;
      if (backslashes % 2 === 0) return quote + 1;
      from = quote + 1;
    }
  }

  private ws(i: number): number {
    while (i < this.s.length && this.s.charCodeAt(i) <= 32) i++;
    return i;
  }

  private error(at: number, expected: string): Error {
    return new Error(`malformed accessibility tree JSON: expected ${expected} at ${at}`);
  }
}
