// Frames and shadow DOM on real Chrome: a snapshot lists the elements of every frame (same
// origin, srcdoc, cross-origin on a second host name, nested) and of shadow roots, in document
// order with boxes in the top page's coordinates; refs act in any frame, and a ref into a frame
// that navigated or went away is -32000. Run twice: frames in the page's process (the headless
// shell's default) and out-of-process iframes (--site-per-process).
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { rpcError, startHarness, titleOnce, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

// Every box is placed exactly: frames at fixed places with a border and padding, their bodies
// without margin, each button absolutely placed in its document.
const button = (name: string, left: number, top: number) =>
  `<button id="${name.replace(/ /g, '-')}" style="position:absolute;left:${left}px;top:${top}px;width:120px;height:24px" onclick="this.textContent = 'clicked'; top.postMessage('${name}', '*')">${name}</button>`;
const frameStyle = (left: number, top: number) => `position:absolute;left:${left}px;top:${top}px;width:300px;height:150px;border:5px solid #888;padding:3px`;
const doc = (body: string) => `<!doctype html><html><head><style>body{margin:0}</style></head><body>${body}</body></html>`;

function framesPage(crossOrigin: string, sameOrigin: string): string {
  h.pages.put('/frames/nested', doc(button('nested button', 10, 10)));
  h.pages.put('/frames/same', doc(`${button('same button', 20, 10)}<iframe src="/frames/nested" style="${frameStyle(10, 50).replace('width:300px;height:150px', 'width:200px;height:80px')}"></iframe>`));
  h.pages.put(
    '/frames/cross',
    doc(
      `${button('cross button', 40, 10)}<input aria-label="cross field" style="position:absolute;left:180px;top:10px;width:100px">` +
        `<a id=away href="${sameOrigin}/frames/away" style="position:absolute;left:10px;top:40px">away</a>` +
        `<iframe src="${sameOrigin}/frames/nested" style="${frameStyle(10, 70).replace('width:300px;height:150px', 'width:200px;height:60px')}"></iframe>`,
    ),
  );
  h.pages.put('/frames/away', doc(button('away button', 5, 5)));
  return h.pages.put(
    '/frames/top',
    `<!doctype html><html><head><title>frames</title><style>body{margin:0;height:2000px}</style></head><body>
    ${button('top button', 10, 10)}
    <button style="position:absolute;left:10px;top:50px;width:120px;height:24px" onclick="document.getElementById('same').remove()">drop same frame</button>
    <iframe id=same src="/frames/same" style="${frameStyle(100, 100)}"></iframe>
    <iframe id=srcdoc srcdoc="${doc(button('srcdoc button', 15, 5)).replace(/"/g, '&quot;')}" style="${frameStyle(500, 100)}"></iframe>
    <iframe id=cross src="${crossOrigin}/frames/cross" style="${frameStyle(100, 400)}"></iframe>
    <div id=open style="position:absolute;left:500px;top:400px"></div>
    <div id=closed style="position:absolute;left:500px;top:450px"></div>
    <iframe id=hidden src="/frames/nested" style="display:none"></iframe>
    <script>
      document.getElementById('open').attachShadow({ mode: 'open' }).innerHTML = \`${button('open shadow button', 0, 0)}\`;
      document.getElementById('closed').attachShadow({ mode: 'closed' }).innerHTML = \`${button('closed shadow button', 0, 0)}\`;
      addEventListener('message', (e) => { document.title = (document.title === 'frames' ? '' : document.title + ',') + e.data; });
    </script></body></html>`,
  );
}

/** tab.action, its failure naming what it did. */
async function act(params: Parameters<Harness['client']['call']>[1] & { tabId: string; action: string }, what: string) {
  try {
    return await h.client.call('tab.action', params as never);
  } catch (error) {
    (error as Error).message = `${what}: ${(error as Error).message}`;
    throw error;
  }
}

// Where each button must be, in top-page coordinates: frame left + border 5 + padding 3.
const EXPECTED: Record<string, { x: number; y: number; frame: boolean }> = {
  'top button': { x: 10, y: 10, frame: false },
  'drop same frame': { x: 10, y: 50, frame: false },
  'same button': { x: 108 + 20, y: 108 + 10, frame: true },
  'nested button': { x: 108 + 18 + 10, y: 108 + 58 + 10, frame: true },
  'srcdoc button': { x: 508 + 15, y: 108 + 5, frame: true },
  'cross button': { x: 108 + 40, y: 408 + 10, frame: true },
  'cross field': { x: 108 + 180, y: 408 + 10, frame: true },
  away: { x: 108 + 10, y: 408 + 40, frame: true },
  'cross nested button': { x: 108 + 18 + 10, y: 408 + 78 + 10, frame: true },
  'open shadow button': { x: 500, y: 400, frame: false },
  'closed shadow button': { x: 500, y: 450, frame: false },
};
const ORDER = ['top button', 'drop same frame', 'same button', 'nested button', 'srcdoc button', 'cross button', 'cross field', 'away', 'cross nested button', 'open shadow button', 'closed shadow button'];

for (const mode of ['in-process', 'out-of-process'] as const) {
  describe(`frames ${mode}`, () => {
    it('lists every frame\'s elements in document order, boxes in top-page coordinates, and acts on them by ref', async () => {
      const { instanceId } = await h.client.call('instance.create', { name: mode, ...(mode === 'out-of-process' ? { args: ['--site-per-process'] } : {}) });
      onTestFinished(() => h.client.call('instance.stop', { instanceId }).then(() => {}));
      const port = new URL(h.pages.origin).port;
      const url = framesPage(`http://localhost:${port}`, h.pages.origin);
      const { tabId } = await h.client.call('tab.open', { instanceId, url });
      const snap = await h.client.call('tab.snapshot', { tabId });
      // The nested frame of the cross-origin one shows the same page as the same-origin one's.
      const names = snap.nodes.map((n, i) => (n.name === 'nested button' && i > 5 ? 'cross nested button' : n.name));
      expect(names).toEqual(ORDER);
      for (const [i, node] of snap.nodes.entries()) {
        const want = EXPECTED[names[i] as string]!;
        expect({ name: names[i], x: node.bbox?.x, y: node.bbox?.y }).toEqual({ name: names[i], x: want.x, y: want.y });
        expect(node.frame !== undefined).toBe(want.frame);
      }
      expect(snap.frames?.map((f) => new URL(f.url).pathname)).toEqual(
        expect.arrayContaining(['/frames/same', '/frames/nested', '/frames/cross']),
      );
      const cross = snap.nodes.find((n) => n.name === 'cross button')!;
      expect(snap.frames?.find((f) => f.frame === cross.frame)?.url).toBe(`http://localhost:${port}/frames/cross`);

      // Every button clicks by ref (real mouse events at top-page coordinates): the top page hears each.
      const clicked: string[] = [];
      const buttons = snap.nodes.filter((n) => n.role === 'button' && n.name !== 'drop same frame');
      for (const [i, node] of snap.nodes.entries()) {
        if (!buttons.includes(node)) continue;
        await act({ tabId, action: 'click', ref: node.ref }, `click ${names[i]}`);
        clicked.push(names[i] === 'cross nested button' ? 'nested button' : (names[i] as string));
        // The message reaches the top page a task later.
        expect(await titleOnce(h.client, tabId, clicked.join(','))).toBe(clicked.join(','));
      }
      // Fill and type in the cross-origin frame; the snapshot reads the value back.
      const field = snap.nodes.find((n) => n.name === 'cross field')!.ref;
      await act({ tabId, action: 'fill', ref: field, text: 'hello' }, 'fill the cross field');
      await act({ tabId, action: 'type', ref: field, text: ' there' }, 'type in the cross field');
      const after = await h.client.call('tab.snapshot', { tabId });
      expect(after.nodes.find((n) => n.ref === field)?.value).toBe('hello there');
      // The same elements keep their refs; what changed inside frames is in the diff.
      expect(after.nodes.map((n) => n.ref)).toEqual(snap.nodes.map((n) => n.ref));
      const diff = await h.client.call('analysis.diff', { tabId, since: snap.snapshotId });
      expect(new Set(diff.changed)).toEqual(new Set([...buttons.map((n) => n.ref), field]));
      // The text of the page includes its frames' (innerText, which leaves shadow roots out).
      const text = (await h.client.call('tab.text', { tabId })).text;
      expect(text).toContain('away');
      expect(text.match(/clicked/g)?.length).toBe(buttons.filter((n) => !n.name.includes('shadow')).length);

      // maxNodes counts across frames, in document order.
      const capped = await h.client.call('tab.snapshot', { tabId, maxNodes: 3 });
      expect(capped.nodes.map((n) => n.ref)).toEqual(snap.nodes.slice(0, 3).map((n) => n.ref));
      expect(capped.stats).toMatchObject({ truncated: true, matched: ORDER.length });

      // A frame that navigates: its old refs are stale (-32000); the rest still act.
      const crossRef = cross.ref;
      await act({ tabId, action: 'click', ref: snap.nodes.find((n) => n.name === 'away')!.ref }, 'click the link away');
      for (let i = 0; i < 100; i++) {
        const now = await h.client.call('tab.snapshot', { tabId });
        if (now.nodes.some((n) => n.name === 'away button')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const stale = await rpcError(h.client.call('tab.action', { tabId, action: 'click', ref: crossRef }));
      expect(stale).toMatchObject({ code: -32000, data: { ref: crossRef } });
      const away = (await h.client.call('tab.snapshot', { tabId })).nodes.find((n) => n.name === 'away button')!;
      expect(away.bbox).toMatchObject({ x: 108 + 5, y: 408 + 5 });
      await act({ tabId, action: 'click', ref: away.ref }, 'click in the navigated frame');
      // A frame that goes away: its refs are stale too, the top document's still act.
      const sameRef = snap.nodes.find((n) => n.name === 'same button')!.ref;
      await act({ tabId, action: 'click', ref: snap.nodes.find((n) => n.name === 'drop same frame')!.ref }, 'drop the same-origin frame');
      expect(await rpcError(h.client.call('tab.action', { tabId, action: 'click', ref: sameRef }))).toMatchObject({ code: -32000, data: { ref: sameRef } });
      await act({ tabId, action: 'hover', ref: snap.nodes[0]!.ref }, 'hover the top button');
    });
  });
}
