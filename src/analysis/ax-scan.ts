// Reads the raw Accessibility.getFullAXTree response without materialising all of it. The
// tree of a 5,000-control page is ~12 MB of JSON in ~28,000 nodes, each with nested role,
// name (with its sources), properties and child lists; JSON.parse builds every one of those
// objects, and the parse and its garbage were most of a snapshot's worker time. This scanner
// walks the bytes (json-bytes.ts) and builds only the fields the page model reads: ignored,
// role, name and value (their `value`), properties, backendDOMNodeId — and, given the
// backend node ids the caller wants, only for those nodes (an ignored one only as ignored):
// the rest are passed over without allocating anything.
import { ascii, JsonBytes, readResult } from './json-bytes.js';
import type { AXTree } from './page-model.js';

type AXNode = AXTree['nodes'][number];

export function scanAXTree(bytes: Uint8Array, wanted?: ReadonlySet<number>): AXTree {
  const json = new JsonBytes(bytes, 'accessibility tree');
  if (wanted) {
    const fast = scanWanted(json, wanted);
    if (fast) return fast;
  }
  let nodes: AXNode[] | null = null;
  let total = 0;
  readResult(json, (at) =>
    json.object(at, (key, start) => {
      if (!json.is(key, 'nodes')) return undefined;
      nodes ??= [];
      return json.array(start, (item) => {
        total++;
        return readNode(json, item, wanted, (node) => nodes?.push(node));
      });
    }),
  );
  if (!nodes) throw new Error('accessibility tree response without nodes');
  return { nodes, total };
}

const RESULT_NODES = ascii('"result":{"nodes":[');
const NODE_START = ascii('{"nodeId":"');
const CHILD_IDS = ascii('dIds":['); // the tail of `"childIds":[`, which no other key has
const OWN_ID = ascii(',"backendDOMNodeId":');
const QUOTE = 34;
const CLOSE_BRACE = 125;
const CLOSE_BRACKET = 93;

/**
 * The fast path for a few wanted nodes among many: nodes are found by a native search (the
 * text `{"nodeId":"` cannot occur inside a JSON string, where its quotes would be escaped,
 * and only accessibility nodes have that key). Chrome ends every node with its `childIds`
 * (an array of numeric strings), then its own backendDOMNodeId if it has one (related nodes
 * of labels come earlier), so `],"backendDOMNodeId":N` or `]}` right after the child list
 * says whose node it is without walking it; only wanted nodes are read field by field. A
 * node not shaped that way is walked the slow, sure way; null when the response is not
 * shaped as Chrome writes it, and the caller walks everything instead.
 */
function scanWanted(json: JsonBytes, wanted: ReadonlySet<number>): AXTree | null {
  // Chrome writes `{"id":N,"result":{"nodes":[…` (an error has "error" where "result" is).
  const arrayStart = json.find(RESULT_NODES, 0);
  if (arrayStart < 0 || arrayStart > 32) return null;
  const b = json.b;
  let start = json.find(NODE_START, arrayStart);
  const nodes: AXNode[] = [];
  const emit = (node: AXNode) => nodes.push(node);
  let total = 0;
  // The next child list at or after `start`, found again only once passed: a tree whose nodes
  // have none would otherwise be searched to its end from every node.
  let children = -1;
  while (start >= 0) {
    const next = json.find(NODE_START, start + NODE_START.length);
    const end = next >= 0 ? next : json.length;
    total++;
    if (children !== Infinity && children < start) {
      children = json.find(CHILD_IDS, start);
      if (children < 0) children = Infinity;
    }
    let close = -1;
    if (children < end) for (close = children + CHILD_IDS.length; close < end && b[close] !== CLOSE_BRACKET; close++);
    if (close >= 0 && close < end && b[close + 1] === CLOSE_BRACE) {
      // No backend node of its own (text boxes and the like): never wanted.
    } else if (close >= 0 && close < end && json.startsWith(OWN_ID, close + 1)) {
      if (wanted.has(json.number(close + 1 + OWN_ID.length))) readNode(json, start, wanted, emit);
    } else {
      readNode(json, start, wanted, emit);
    }
    start = next;
  }
  return { nodes, total };
}

/** One accessibility node: positions first, objects only for a wanted one. Returns its end. */
function readNode(json: JsonBytes, at: number, wanted: ReadonlySet<number> | undefined, emit: (node: AXNode) => void): number {
  let ignored = false;
  let role = -1;
  let name = -1;
  let value = -1;
  let properties = -1;
  let id: number | undefined;
  for (let key = json.firstMember(at); key >= 0; key = json.nextMember()) {
    const v = json.valueAt(key);
    if (json.is(key, 'ignored')) ignored = json.b[v] === 116; // t(rue)
    else if (json.is(key, 'role')) role = v;
    else if (json.is(key, 'name')) name = v;
    else if (json.is(key, 'value')) value = v;
    else if (json.is(key, 'properties')) properties = v;
    else if (json.is(key, 'backendDOMNodeId')) {
      id = json.number(v);
      continue;
    }
    json.end = json.skip(v);
  }
  const end = json.end;
  if (wanted && (id === undefined || !wanted.has(id))) return end;
  const node: AXNode = { ignored };
  if (id !== undefined) node.backendDOMNodeId = id;
  if (ignored && wanted) {
    // Only that it is ignored matters: its name is computed from the DOM (page-model.ts).
    emit(node);
    json.end = end;
    return end;
  }
  if (role >= 0) node.role = { value: innerValue(json, role) };
  if (name >= 0) node.name = { value: innerValue(json, name) };
  if (value >= 0) node.value = { value: innerValue(json, value) };
  if (properties >= 0) node.properties = readProperties(json, properties);
  emit(node);
  json.end = end;
  return end;
}

/** The `value` member of the AXValue object at `at`. */
function innerValue(json: JsonBytes, at: number): unknown {
  for (let key = json.firstMember(at); key >= 0; key = json.nextMember()) {
    const value = json.valueAt(key);
    if (json.is(key, 'value')) return json.value(value);
    json.end = json.skip(value);
  }
  return undefined;
}

// The properties the page model reads (see buildPageModel); the others (focusable, url,
// level, related nodes…) are passed over.
const PROPERTIES_READ = ['checked', 'disabled', 'expanded'];

function readProperties(json: JsonBytes, at: number): NonNullable<AXNode['properties']> {
  const out: NonNullable<AXNode['properties']> = [];
  for (let item = json.firstItem(at); item >= 0; item = json.nextItem()) {
    let name: string | undefined;
    let value = -1;
    for (let key = json.firstMember(item); key >= 0; key = json.nextMember()) {
      const v = json.valueAt(key);
      if (json.is(key, 'name') && json.b[v] === QUOTE) {
        for (const wanted of PROPERTIES_READ) if (json.is(v, wanted)) name = wanted;
      } else if (json.is(key, 'value')) value = v;
      json.end = json.skip(v);
    }
    const end = json.end;
    if (name !== undefined && value >= 0) out.push({ name, value: { value: innerValue(json, value) } });
    json.end = end;
  }
  return out;
}
