// The pure analysis functions: joining DOM and accessibility data, diffing snapshots, image
// headers. Real-page behaviour is covered on Chrome in test/integration/driving.test.ts.
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { diffSnapshots } from '../../src/analysis/diff.js';
import { scanAXTree } from '../../src/analysis/ax-scan.js';
import { imageSize } from '../../src/analysis/image-size.js';
import { flattenPage, type AXTree, type DomSnapshot } from '../../src/analysis/page-model.js';

/** A tiny DOMSnapshot: elements as [tag, parent, attributes, box | null, visibility]. */
function dom(elements: [string, number, Record<string, string>, number[] | null, string?][]): DomSnapshot {
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
    // An ignored accessibility node is no source of names; the role falls back to the tag's.
    expect(nodes[1]).toMatchObject({ role: 'link', name: '' });
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
      properties: i === 0 ? [{ name: 'checked', value: { type: 'tristate', value: 'mixed' } }] : [],
      childIds: ['-1000000004'],
      ...(i === 4 ? {} : { backendDOMNodeId: 100 + i }),
    }));
    const pick = (n: Record<string, any>) => ({
      ignored: n.ignored,
      role: n.role?.value,
      name: n.name?.value,
      value: n.value?.value,
      properties: n.properties,
      backendDOMNodeId: n.backendDOMNodeId,
    });
    for (const json of [JSON.stringify({ id: 7, result: { nodes } }), JSON.stringify({ id: 7, result: { nodes } }, null, 2)]) {
      expect(scanAXTree(json).nodes.map(pick)).toEqual(nodes.map(pick));
    }
    // Given the wanted node ids, only those (and not ignored) become objects.
    const only = scanAXTree(JSON.stringify({ id: 7, result: { nodes } }), new Set([101, 103, 104]));
    expect(only.nodes.map(pick)).toEqual([pick(nodes[1]!)]);
    expect(only.total).toBe(nodes.length);
    expect(() => scanAXTree('{"id":1,"error":{"code":-32000,"message":"No target"}}')).toThrow(/CDP error: No target/);
    expect(() => scanAXTree('{"id":1,"result":{"nodes":[{"nodeId":"1","role":{"value":"x"}')).toThrow(/malformed/);
  });
});
