// Accessible names on real Chrome, checked against an independent implementation of the W3C
// accname algorithm (dom-accessibility-api's computeAccessibleName, run in the page):
// WAI-ARIA naming cases on visible controls, and controls that Chrome's accessibility tree
// ignores (aria-hidden subtrees, presentational parents), which keep a name computed from
// their content and are flagged hidden.
import { build, stop } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
let instanceId: string;
let accname: string;
beforeAll(async () => {
  // dom-accessibility-api for the page, bundled before the harness counts fds (esbuild's
  // service process is stopped).
  const bundle = await build({
    stdin: { contents: `import { computeAccessibleName } from 'dom-accessibility-api'; window.computeAccessibleName = computeAccessibleName;`, resolveDir: process.cwd() },
    bundle: true,
    format: 'iife',
    write: false,
    logLevel: 'silent',
  });
  accname = bundle.outputFiles[0]!.text;
  await stop();
  h = await startHarness();
  instanceId = (await h.client.call('instance.create', { name: 'names' })).instanceId;
});
afterAll(async () => {
  await h?.close();
});

// Each case is a control with an id, laid out one per line so boxes tell them apart.
const NAMING_CASES = [
  `<button id=c1>Plain text</button>`,
  `<button id=c2 aria-label="From aria-label">ignored content</button>`,
  `<span id=l3a>First</span><span id=l3b>second</span><button id=c3 aria-labelledby="l3a l3b">content</button>`,
  `<label for=c4>Label for</label><input id=c4>`,
  `<label>Wrapping label <input id=c5></label>`,
  `<input id=c6 title="Title only">`,
  `<input id=c7 placeholder="Placeholder only">`,
  `<input id=c8 type=submit value="Submit value">`,
  `<input id=c9 type=submit>`,
  `<input id=c10 type=reset>`,
  `<input id=c11 type=image alt="Image input" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width=20 height=20>`,
  `<a id=c12 href="/a">Link <b>with</b> <i>markup</i></a>`,
  `<a id=c13 href="/a"><img alt="Logo" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width=10 height=10> and text</a>`,
  `<a id=c14 href="/a"><span aria-label="Inner label">x</span> rest</a>`,
  `<button id=c15><div>Block</div><div>content</div></button>`,
  `<button id=c16>Visible<span style="display:none"> hidden</span></button>`,
  `<span id=l17 style="display:none">Hidden referenced label</span><button id=c17 aria-labelledby=l17>x</button>`,
  `<div id=c18 role=button tabindex=0>Div button</div>`,
  `<div id=c19 role=checkbox aria-checked=false tabindex=0 aria-label="Check me" style="width:20px;height:20px"></div>`,
  `<select id=c20 aria-label="Choose"><option>One</option></select>`,
  `<textarea id=c21 aria-labelledby=l21></textarea><span id=l21>Notes label</span>`,
  `<button id=c22 title="Tooltip name"></button>`,
  `<a id=c23 href="/a" title="Title of link"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="" width=10 height=10></a>`,
  `<details><summary id=c24>Summary text</summary>more</details>`,
  `<button id=c25>  Spaced\n   out   text  </button>`,
  // Interactive descendants of roles with presentational children: Chrome exposes them.
  `<div role=img aria-label="Chart"><a id=c26 href="/t">Chart link</a></div>`,
  `<button><span id=c27 role=link>Span link in a button</span></button>`,
];

// Where Chrome (and so tabvisor) and dom-accessibility-api differ, and why Chrome is right.
const DIFFERENCES: Record<string, string> = {
  // HTML-AAM, "input type=text … accessible name computation", step 5: the placeholder names a
  // field nothing else names. dom-accessibility-api implements accname alone and gives ''.
  c7: 'Placeholder only',
};

// Controls Chrome's accessibility tree ignores: visible, and named from their content.
const HIDDEN_CASES = [
  `<div aria-hidden=true><a id=h1 href="/t">Teaser headline</a></div>`,
  `<div aria-hidden=true><a id=h2 href="/t"><img alt="Logo" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width=10 height=10> Brand <span>news</span></a></div>`,
  `<div aria-hidden=true><a id=h3 href="/t" aria-label="Labelled teaser">x</a></div>`,
  `<div aria-hidden=true><button id=h4><div>Two</div><div>lines</div></button></div>`,
  `<span id=lh5>Referenced name</span><div aria-hidden=true><a id=h5 href="/t" aria-labelledby=lh5>x</a></div>`,
  `<div aria-hidden=true><input id=h6 type=submit value="Go now"></div>`,
  `<div aria-hidden=true><input id=h7 type=image alt="Search" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width=10 height=10></div>`,
  `<a id=h8 href="/t" aria-hidden=true>Hidden itself</a>`,
  `<div aria-hidden=true><a id=h9 href="/t" title="Only a title" style="display:inline-block;width:30px;height:10px"></a></div>`,
  `<div aria-hidden=true><div><p><a id=h10 href="/t">Deep <em>inside</em></a></p></div></div>`,
  // Inert content: left out of the accessibility tree altogether.
  `<div inert><a id=h11 href="/t">Inert link</a></div>`,
];

function casesPage(cases: string[], title: string): string {
  const rows = cases.map((c) => `<div class=row>${c}</div>`).join('\n');
  // Each control's name by dom-accessibility-api, with its box, into the page's own JSON.
  return `<!doctype html><html lang=en><head><title>${title}</title><style>.row{margin:4px 0;min-height:24px}</style></head><body>${rows}
    <script>${accname}</script>
    <script>
      const out = [...document.querySelectorAll('[id^=c], [id^=h]')].map((el) => {
        const r = el.getBoundingClientRect();
        return { id: el.id, x: Math.round(r.x + scrollX), y: Math.round(r.y + scrollY), name: computeAccessibleName(el, { hidden: el.id.startsWith('h') }) };
      });
      document.title = JSON.stringify(out);
    </script></body></html>`;
}

async function namesOf(path: string, cases: string[]) {
  const { tabId } = await h.client.call('tab.open', { instanceId, url: h.pages.put(path, casesPage(cases, path)) });
  const snap = await h.client.call('tab.snapshot', { tabId });
  const reference = JSON.parse((await h.client.call('tab.text', { tabId, maxChars: 1 })).title) as { id: string; x: number; y: number; name: string }[];
  await h.client.call('tab.close', { tabId });
  // Each control of the page, found in the snapshot by its box.
  return reference.map((r) => ({ ...r, node: snap.nodes.find((n) => n.bbox?.x === r.x && n.bbox?.y === r.y) }));
}

describe('accessible names', () => {
  it('equal dom-accessibility-api\'s on the WAI-ARIA naming cases, for every visible control', async () => {
    const controls = await namesOf('/naming', NAMING_CASES);
    expect(controls.map((c) => c.id)).toEqual(NAMING_CASES.map((_, i) => `c${i + 1}`));
    expect(controls.filter((c) => !c.node).map((c) => c.id)).toEqual([]);
    expect(controls.map((c) => ({ id: c.id, name: c.node?.name, hidden: c.node?.hidden }))).toEqual(
      controls.map((c) => ({ id: c.id, name: DIFFERENCES[c.id] ?? c.name, hidden: undefined })),
    );
    expect(controls.filter((c) => DIFFERENCES[c.id] !== undefined).map((c) => c.name)).toEqual(['']);
  });

  it('keep a name computed from the content for controls the accessibility tree ignores, flagged hidden', async () => {
    const controls = await namesOf('/hidden-names', HIDDEN_CASES);
    expect(controls.map((c) => c.id)).toEqual(HIDDEN_CASES.map((_, i) => `h${i + 1}`));
    expect(controls.filter((c) => !c.node).map((c) => c.id)).toEqual([]);
    expect(controls.filter((c) => !c.name).map((c) => c.id)).toEqual([]);
    expect(controls.map((c) => ({ id: c.id, name: c.node?.name, hidden: c.node?.hidden }))).toEqual(controls.map((c) => ({ id: c.id, name: c.name, hidden: true })));
    // The role still says what each is.
    expect(controls.find((c) => c.id === 'h4')?.node?.role).toBe('button');
    expect(controls.find((c) => c.id === 'h1')?.node?.role).toBe('link');
  });
});
