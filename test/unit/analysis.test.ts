// The pure analysis functions: joining DOM and accessibility data, diffing snapshots, image
// headers. Real-page behaviour is covered on Chrome in test/integration/driving.test.ts.
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { diffSnapshots } from '../../src/analysis/diff.js';
import { fromColumns, toColumns } from '../../src/analysis/flat-columns.js';
import { scanAXTree } from '../../src/analysis/ax-scan.js';
import { scanDomSnapshot, type DomTables } from '../../src/analysis/dom-scan.js';
import { imageSize } from '../../src/analysis/image-size.js';
import { JsonBytes } from '../../src/analysis/json-bytes.js';
import { flattenPage, type AXTree, type FlatNode } from '../../src/analysis/page-model.js';

/** A CDP response's bytes as Chrome sends them (optionally pretty-printed, to test whitespace). */
const response = (result: unknown, indent?: number) => new TextEncoder().encode(JSON.stringify({ id: 7, result }, null, indent));

interface DomSnapshot {
  strings: string[];
  documents: { nodes: Record<string, unknown>; layout: { nodeIndex: number[]; styles: number[][]; bounds: number[][] } }[];
}

/** A tiny DOMSnapshot, as read from Chrome's bytes: elements as [tag, parent, attributes, box | null, visibility]. */
function dom(elements: [string, number, Record<string, string>, number[] | null, string?][]): DomTables {
  return scanDomSnapshot(response(domSnapshot(elements)));
}

function domSnapshot(elements: [string, number, Record<string, string>, number[] | null, string?][]): DomSnapshot {
  const strings: string[] = [];
  const s = (v: string) => (strings.includes(v) ? strings.indexOf(v) : strings.push(v) - 1);
  const layout = { nodeIndex: [] as number[], styles: [] as number[][], bounds: [] as number[][] };
  elements.forEach(([, , , box, visibility], i) => {
    if (!box) return;
    layout.nodeIndex.push(i);
    layout.bounds.push(box);
    layout.styles.push([s(visibility ?? 'visible')]);
  });
  return {
    strings,
    documents: [
      {
        nodes: {
          parentIndex: elements.map(([, parent]) => parent),
          nodeType: elements.map(() => 1),
          nodeName: elements.map(([tag]) => s(tag.toUpperCase())),
          backendNodeId: elements.map((_, i) => 100 + i),
          attributes: elements.map(([, , attrs]) => Object.entries(attrs).flatMap(([k, v]) => [s(k), s(v)])),
        },
        layout,
      },
    ],
  };
}
const box = [0, 0, 10, 10];

describe('flattenPage', () => {
  it('keeps exactly the rendered interactive elements, with the accessibility tree\'s role and name', () => {
    const page = dom([
      ['html', -1, {}, box],
      ['body', 0, {}, box],
      ['button', 1, {}, box], // 2: yes
      ['button', 1, {}, null], // 3: display:none (no box)
      ['button', 1, {}, box, 'hidden'], // 4: visibility:hidden
      ['button', 1, {}, [0, 0, 0, 0]], // 5: zero size
      ['a', 1, {}, box], // 6: no href
      ['a', 1, { href: '/x' }, box], // 7: yes
      ['input', 1, { type: 'hidden' }, null], // 8
      ['input', 1, { type: 'email' }, box], // 9: yes
      ['div', 1, { contenteditable: '' }, box], // 10: editing host: yes
      ['p', 10, {}, box], // 11: inside the host: no
      ['div', 10, { contenteditable: 'false' }, box], // 12: no
      ['span', 1, { role: 'Switch other' }, box], // 13: first role token, any case: yes
      ['span', 1, { role: 'heading' }, box], // 14: no
      ['summary', 1, {}, box], // 15: yes
    ]);
    const ax: AXTree = {
      nodes: [
        { ignored: false, role: { value: 'button' }, name: { value: 'Go' }, backendDOMNodeId: 102, properties: [{ name: 'disabled', value: { value: true } }] },
        { ignored: true, role: { value: 'link' }, name: { value: 'ignored' }, backendDOMNodeId: 107 },
        { ignored: false, role: { value: 'textbox' }, name: { value: 'Mail' }, value: { value: 'a@b' }, backendDOMNodeId: 109 },
      ],
    };
    const { nodes, stats } = flattenPage(page, ax, 'interactive', 100);
    expect(nodes.map((n) => n.backendNodeId)).toEqual([102, 107, 109, 110, 113, 115]);
    expect(nodes[0]).toEqual({ backendNodeId: 102, role: 'button', name: 'Go', tag: 'button', bbox: { x: 0, y: 0, width: 10, height: 10 }, disabled: true });
    // An ignored accessibility node is no source of names: the name comes from the DOM (this
    // link has no content), the role from the tag, and the node is flagged hidden.
    expect(nodes[1]).toMatchObject({ role: 'link', name: '', hidden: true });
    expect(nodes[2]).toMatchObject({ role: 'textbox', name: 'Mail', value: 'a@b' });
    expect(nodes[4]).toMatchObject({ role: 'switch' });
    expect(stats).toMatchObject({ matched: 6, truncated: false, domNodes: 16, axNodes: 3 });
    expect(flattenPage(page, ax, 'interactive', 2).stats).toMatchObject({ matched: 6, truncated: true });
    // "all": every rendered element but the document's own containers.
    expect(flattenPage(page, ax, 'all', 100).nodes.map((n) => n.backendNodeId)).toEqual([102, 106, 107, 109, 110, 111, 112, 113, 114, 115]);
  });
});

describe('diffSnapshots', () => {
  it('joins on refs: added, removed, changed content, moved boxes', () => {
    const at = (y: number) => ({ x: 0, y, width: 5, height: 5 });
    const before = [
      { ref: 'e1', role: 'button', name: 'A', bbox: at(0) },
      { ref: 'e2', role: 'textbox', name: 'B', value: 'x', bbox: at(10) },
      { ref: 'e3', role: 'link', name: 'C', bbox: at(20) },
      { ref: 'e4', role: 'checkbox', name: 'D', bbox: at(30) },
    ];
    const after = [
      { ref: 'e1', role: 'button', name: 'A', bbox: at(0) },
      { ref: 'e2', role: 'textbox', name: 'B', value: 'y', bbox: at(10) },
      { ref: 'e4', role: 'checkbox', name: 'D', checked: true as const, bbox: at(30) },
      { ref: 'e3', role: 'link', name: 'C', bbox: at(25) },
      { ref: 'e5', role: 'button', name: 'E', bbox: at(40) },
    ];
    expect(diffSnapshots(before, after)).toEqual({ added: ['e5'], removed: [], changed: ['e2', 'e4'], moved: ['e3'] });
    expect(diffSnapshots(after, before)).toEqual({ added: [], removed: ['e5'], changed: ['e2', 'e4'], moved: ['e3'] });
    expect(diffSnapshots(before, before)).toEqual({ added: [], removed: [], changed: [], moved: [] });
  });
});

describe('imageSize', () => {
  it('reads PNG and JPEG headers and refuses anything else', () => {
    expect(imageSize(PNG.sync.write(new PNG({ width: 37, height: 21 })))).toEqual({ width: 37, height: 21 });
    // A minimal JPEG: SOI, an APP0 segment, then SOF0 with height 480 and width 640.
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0xe0, 0x02, 0x80, 0x03, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(imageSize(jpeg)).toEqual({ width: 640, height: 480 });
    expect(() => imageSize(Buffer.from('GIF89a........'))).toThrow(/not a PNG or JPEG/);
  });
});

describe('scanAXTree', () => {
  it('reads the same role, name, value, properties and node ids as JSON.parse, whatever the strings hold', () => {
    const tricky = ['say "hi" \\ {not} [an, array]', 'ünïcödé ✓ \u2028', '\\', '"', '}]},{"nodeId":"9"', ''];
    const nodes = tricky.map((text, i) => ({
      nodeId: String(i),
      ignored: i === 3,
      ignoredReasons: i === 3 ? [{ name: 'notRendered', value: { type: 'boolean', value: true } }] : undefined,
      role: { type: 'role', value: i % 2 ? 'button' : 'textbox' },
      chromeRole: { type: 'internalRole', value: 9 },
      name: { type: 'computedString', value: text, sources: [{ type: 'contents', value: { type: 'computedString', value: `${text}!` } }] },
      ...(i === 1 ? { value: { type: 'integer', value: 42 } } : i === 2 ? { value: { type: 'string', value: text } } : {}),
      // Only the properties the page model reads are kept (checked, disabled, expanded).
      properties:
        i === 0
          ? [
              { name: 'focusable', value: { type: 'booleanOrUndefined', value: true } },
              { name: 'checked', value: { type: 'tristate', value: 'mixed' } },
              { name: 'labelledby', value: { type: 'nodeList', relatedNodes: [{ backendDOMNodeId: 999, text: '"]}' }] } },
              { name: 'disabled', value: { type: 'boolean', value: true } },
            ]
          : [],
      childIds: ['-1000000004'],
      ...(i === 4 ? {} : { backendDOMNodeId: 100 + i }),
    }));
    const pick = (n: Record<string, any>) => ({
      ignored: n.ignored,
      role: n.role?.value,
      name: n.name?.value,
      value: n.value?.value,
      properties: n.properties?.filter((p: { name: string }) => ['checked', 'disabled', 'expanded'].includes(p.name)).map((p: { name: string; value: { value: unknown } }) => ({ name: p.name, value: { value: p.value.value } })),
      backendDOMNodeId: n.backendDOMNodeId,
    });
    for (const json of [response({ nodes }), response({ nodes }, 2)]) {
      expect(scanAXTree(json).nodes.map(pick)).toEqual(nodes.map(pick));
      // Given the wanted node ids, only those become objects (an ignored one as just that): the
      // fast path on Chrome's compact form, the full walk on any other.
      const only = scanAXTree(json, new Set([100, 101, 103, 104]));
      expect(only.nodes.map(pick)).toEqual([pick(nodes[0]!), pick(nodes[1]!), pick({ ignored: true, backendDOMNodeId: 103 })]);
      expect(only.total).toBe(nodes.length);
    }
    // Nodes without a child list are walked one by one (and the search for the next list is not
    // repeated from every node: the pool test's 150,000-node tree took minutes when it was).
    const bare = [5, 6, 7].map((id) => ({ nodeId: String(id), ignored: false, role: { type: 'role', value: 'button' }, name: { type: 'computedString', value: `b${id}` }, backendDOMNodeId: id }));
    expect(scanAXTree(response({ nodes: bare }), new Set([6])).nodes.map(pick)).toEqual([pick(bare[1]!)]);
    const bytes = (text: string) => new TextEncoder().encode(text);
    expect(() => scanAXTree(bytes('{"id":1,"error":{"code":-32000,"message":"No target"}}'), new Set([1]))).toThrow(/CDP error: No target/);
    expect(() => scanAXTree(bytes('{"id":1,"result":{"nodes":[{"nodeId":"1","role":{"value":"x"}'))).toThrow(/malformed/);
    expect(() => scanAXTree(bytes('{"id":1,"result":{"nodes":[{"nodeId":"1","childIds":["2"],"backendDOMNodeId":5,'), new Set([5]))).toThrow(/malformed/);
  });
});

describe('JsonBytes', () => {
  it('reads numbers exactly as JSON.parse does, fast path or not', () => {
    const tricky = [0, -0, 1, -1, 12.5, 30.828125, 0.1, 0.3, -0.000001, 1e21, 1.5e-7, 123456789012345680, 2 ** 53 + 2, 5e-324, 1.7976931348623157e308, 103516, 784.0000610351562];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 3000; i++) {
      const x = (random() - 0.5) * 10 ** Math.floor(random() * 12);
      tricky.push(x, Number(x.toFixed(i % 9)), Math.round(x));
    }
    const text = JSON.stringify(tricky.map((x) => [x]));
    const json = new JsonBytes(new TextEncoder().encode(text), 'test');
    const read = json.rows(0, 1);
    const expected = JSON.parse(text) as number[][];
    expect(read.length).toBe(expected.length);
    expected.forEach(([x], i) => {
      if (!Object.is(read[i], x)) throw new Error(`${text.split(',')[i]} read as ${read[i]}, JSON.parse gives ${x}`);
    });
    // Exponents in either case, and what is not a number.
    expect(Array.from(new JsonBytes(new TextEncoder().encode('[[1E3],[-2e-2],[4.5E+1]]'), 'test').rows(0, 1))).toEqual([1000, -0.02, 45]);
    expect(() => new JsonBytes(new TextEncoder().encode('[[-]]'), 'test').rows(0, 1)).toThrow(/malformed test JSON: expected a number/);
  });

  it('decodes strings with escapes and any unicode', () => {
    const values = ['', 'plain', 'say "hi"', 'back\\slash', 'tab\tnew\nline', 'ünïcödé', '✓ \u2028 \u0000', '😀 pair', '\\"', 'end\\'];
    const bytes = new TextEncoder().encode(JSON.stringify(values));
    const json = new JsonBytes(bytes, 'test');
    const starts: number[] = [];
    json.array(0, (at) => (starts.push(at), json.string(at)));
    expect(starts.map((at) => json.text(at))).toEqual(values);
  });
});

describe('scanDomSnapshot', () => {
  it('reads the main document into the tables JSON.parse would give, whatever the formatting', () => {
    const snapshot = {
      documents: [
        {
          documentURL: 0,
          nodes: {
            parentIndex: [-1, 0, 1, 2, 2, 2],
            nodeType: [9, 1, 1, 1, 3, 1],
            shadowRootType: { index: [], value: [] },
            nodeName: [1, 2, 3, 4, 5, 6],
            nodeValue: [-1, -1, -1, -1, 7, -1],
            backendNodeId: [1, 2, 3, 4, 5, 6],
            attributes: [[], [], [8, 9], [], [], [8, 10, 11, 12]],
            textValue: { index: [3], value: [7] },
            inputValue: { index: [5], value: [13] },
            isClickable: { index: [3, 5] },
          },
          layout: {
            nodeIndex: [1, 2, 3, 5],
            styles: [[], [14], [15], [14]],
            bounds: [[0, 0, 800, 600], [8, 8.5, 784.25, 103500], [1e-7, -3, 0, 0], [1, 2, 3, 4, 5]],
            text: [-1, -1, 7, -1],
            stackingContexts: { index: [0] },
          },
          textBoxes: { layoutIndex: [2], bounds: [[1, 2, 3, 4]], start: [0], length: [4] },
          scrollOffsetX: 0,
        },
        { nodes: { parentIndex: [-1], nodeType: [9], backendNodeId: [99] }, layout: { nodeIndex: [], styles: [], bounds: [] } },
      ],
      strings: ['about:blank', '#document', 'HTML', 'BODY', 'DIV', '#text', 'INPUT', 'say "hi" ✓ [x]', 'class', 'a\\b', 'role', 'contenteditable', '', 'typed\nvalue', 'visible', 'hidden'],
    };
    for (const indent of [undefined, 2]) {
      const tables = scanDomSnapshot(response(snapshot, indent));
      const doc = snapshot.documents[0]!;
      expect(tables.nodeCount).toBe(6);
      expect(Array.from(tables.parentIndex)).toEqual(doc.nodes.parentIndex);
      expect(Array.from(tables.nodeType)).toEqual(doc.nodes.nodeType);
      expect(Array.from(tables.nodeName)).toEqual(doc.nodes.nodeName);
      expect(Array.from(tables.nodeValue)).toEqual(doc.nodes.nodeValue);
      expect(Array.from(tables.backendNodeId)).toEqual(doc.nodes.backendNodeId);
      const attributes = doc.nodes.attributes!.map((_, k) => Array.from(tables.attributes.subarray(tables.attributeStart[k], tables.attributeStart[k + 1])));
      expect(attributes).toEqual(doc.nodes.attributes);
      expect({ index: Array.from(tables.inputValue.index), value: Array.from(tables.inputValue.value) }).toEqual(doc.nodes.inputValue);
      expect(Array.from(tables.layout.nodeIndex)).toEqual(doc.layout.nodeIndex);
      expect(Array.from(tables.layout.style)).toEqual([-1, 14, 15, 14]);
      expect(Array.from(tables.layout.bounds)).toEqual(doc.layout.bounds.flatMap((b) => b.slice(0, 4)));
      expect(snapshot.strings.map((_, i) => tables.strings.get(i))).toEqual(snapshot.strings);
      expect([tables.strings.get(-1), tables.strings.get(99)]).toEqual(['', '']);
      expect(['role', 'contenteditable', 'href', 'DIV'].map((name) => tables.strings.indexOf(name))).toEqual([10, 11, -1, 4]);
    }
  });

  it('answers a CDP error as such and refuses malformed bytes', () => {
    const bytes = (text: string) => new TextEncoder().encode(text);
    expect(() => scanDomSnapshot(bytes('{"id":3,"error":{"code":-32000,"message":"DOM agent is not enabled"}}'))).toThrow(/CDP error: DOM agent is not enabled/);
    expect(() => scanDomSnapshot(bytes('{"id":3,"result":{"documents":[{"nodes":{"parentIndex":[-1,0'))).toThrow(/malformed DOM snapshot JSON/);
    expect(() => scanDomSnapshot(bytes('{"id":3}'))).toThrow(/a CDP response with a result/);
    expect(scanDomSnapshot(bytes('{"id":3,"result":{"documents":[],"strings":[]}}')).nodeCount).toBe(0);
  });
});

describe('flat columns', () => {
  it('give back exactly the nodes they were made of, field order included', () => {
    const nodes: FlatNode[] = [
      { backendNodeId: 7, role: 'button', name: 'Go', tag: 'button', bbox: { x: 1, y: -2, width: 30, height: 4 }, disabled: true },
      { backendNodeId: 8, role: 'checkbox', name: '', tag: 'input', checked: false },
      // Fields in the order flattenPage writes them (value, bbox, checked, disabled, expanded, text).
      { backendNodeId: 9, role: 'checkbox', name: 'mixed ✓', tag: 'input', value: 'on', bbox: { x: 0, y: 0, width: 0, height: 0 }, checked: 'mixed' },
      { backendNodeId: 10, role: 'combobox', name: 'nul\u0000 and 😀', tag: 'select', value: 'b', checked: true, expanded: false },
      { backendNodeId: 11, role: 'group', name: '', tag: 'details', expanded: true, text: 'some text' },
      { backendNodeId: 2 ** 31 - 1, role: '', name: '', tag: '' },
    ];
    const back = fromColumns(toColumns(nodes), (backendNodeId) => ({ backendNodeId }));
    expect(back).toEqual(nodes);
    expect(back.map((n) => JSON.stringify(n))).toEqual(nodes.map((n) => JSON.stringify(n)));
    expect(fromColumns(toColumns([]), (id) => ({ id }))).toEqual([]);
  });
});
