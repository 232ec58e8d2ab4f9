// The page driving surface on real Chrome over a real ws client: snapshots with refs, actions,
// screenshots, text, diffs and batches (audits: audit.test.ts; frames: frames.test.ts).
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcError, startHarness, type Harness } from './harness.js';
import { generatedPage } from './pages.js';

let h: Harness;
let instanceId: string;
beforeAll(async () => {
  h = await startHarness();
  instanceId = (await h.client.call('instance.create', { name: 'driver' })).instanceId;
});
afterAll(async () => {
  await h?.close();
});

const openAt = async (path: string, html: string) => (await h.client.call('tab.open', { instanceId, url: h.pages.put(path, html) })).tabId;
const title = async (tabId: string) => (await h.client.call('tab.text', { tabId, maxChars: 1 })).title;

const FORM = `<!doctype html><html><head><title>form</title></head><body>
<form id=f onsubmit="event.preventDefault(); document.getElementById('out').textContent = 'sent ' + this.who.value + ' ' + this.colour.value + ' ' + this.agree.checked">
  <label for=who>Your name</label> <input id=who name=who value="old">
  <label>Colour <select name=colour><option value=r>Red</option><option value=g>Green</option><option value=b disabled>Blue</option></select></label>
  <label><input type=checkbox name=agree> I agree</label>
  <textarea name=notes aria-label=Notes></textarea>
  <button type=submit>Send</button>
</form>
<p id=out>nothing yet</p>
<a href="/page/next">Next page</a>
<button id=later disabled onclick="this.textContent = 'clicked later'">Later</button>
<script>setTimeout(() => document.getElementById('later').disabled = false, 300)</script>
</body></html>`;

describe('tab.snapshot', () => {
  it('returns exactly the interactive elements of a generated page of thousands, with refs that act on the right element', async () => {
    const page = generatedPage(3_000);
    const tabId = await openAt('/generated-3000', page.html);
    const snap = await h.client.call('tab.snapshot', { tabId });
    expect(snap.title).toBe('generated 3000');
    expect(snap.stats.truncated).toBe(false);
    expect(snap.nodes.length).toBe(page.interactive.size);
    expect(new Set(snap.nodes.map((n) => n.name))).toEqual(new Set(page.interactive.values()));
    expect(new Set(snap.nodes.map((n) => n.ref)).size).toBe(snap.nodes.length);
    for (const node of snap.nodes) {
      expect(node.ref).toMatch(/^e\d+$/);
      expect(node.bbox?.width).toBeGreaterThan(0);
      expect(node.disabled === true).toBe(page.disabled.has(`x${node.name.slice(1)}`));
    }
    const roles = new Map(snap.nodes.map((n) => [n.name, `${n.tag}/${n.role}`]));
    expect(roles.get('n0')).toBe('button/button');
    expect(roles.get('n1')).toBe('a/link');
    expect(roles.get('n2')).toBe('input/textbox');
    expect(roles.get('n3')).toBe('select/combobox');
    expect(roles.get('n4')).toBe('textarea/textbox');
    expect(roles.get('n5')).toBe('div/button');
    expect(roles.get('n7')).toBe('input/checkbox');

    // Hover a spread of refs: the page names the element the pointer landed on.
    const sample = snap.nodes.filter((_, i) => i % 97 === 0 || i === snap.nodes.length - 1);
    for (const node of sample) {
      await h.client.call('tab.action', { tabId, action: 'hover', ref: node.ref });
      expect(await title(tabId)).toBe(`mouseover x${node.name.slice(1)}`);
    }

    // The same elements keep their refs in the next snapshot; "all" sees the rest too.
    const again = await h.client.call('tab.snapshot', { tabId });
    expect(again.nodes.map((n) => n.ref)).toEqual(snap.nodes.map((n) => n.ref));
    const all = await h.client.call('tab.snapshot', { tabId, filter: 'all' });
    expect(all.nodes.length).toBeGreaterThan(snap.nodes.length);
    expect(all.nodes.some((n) => n.text === 'plain text 12')).toBe(true);
    expect(all.nodes.some((n) => n.text?.startsWith('gone'))).toBe(false);
    const capped = await h.client.call('tab.snapshot', { tabId, maxNodes: 10 });
    expect(capped.nodes.length).toBe(10);
    expect(capped.stats).toMatchObject({ truncated: true, matched: page.interactive.size });
    await h.client.call('tab.close', { tabId });
  });

  it('counts exactly on small generated pages too', async () => {
    for (const count of [1, 16, 137]) {
      const page = generatedPage(count);
      const tabId = await openAt(`/generated-${count}`, page.html);
      const snap = await h.client.call('tab.snapshot', { tabId });
      expect(snap.nodes.map((n) => n.name).sort()).toEqual([...page.interactive.values()].sort());
      await h.client.call('tab.close', { tabId });
    }
  });
});

describe('tab.action', () => {
  it('fills, selects, checks and clicks by ref, and the page changes', async () => {
    const tabId = await openAt('/form', FORM);
    const snap = await h.client.call('tab.snapshot', { tabId });
    const ref = (name: string) => {
      const node = snap.nodes.find((n) => n.name === name);
      expect(node, `a node named ${name}`).toBeDefined();
      return node!.ref;
    };
    expect(snap.nodes.find((n) => n.name === 'Your name')).toMatchObject({ role: 'textbox', tag: 'input', value: 'old' });
    await h.client.call('tab.action', { tabId, action: 'fill', ref: ref('Your name'), text: 'Ada Lovelace' });
    await h.client.call('tab.action', { tabId, action: 'select', ref: ref('Colour'), value: 'Green' });
    await h.client.call('tab.action', { tabId, action: 'click', ref: ref('I agree') });
    await h.client.call('tab.action', { tabId, action: 'type', ref: ref('Notes'), text: 'ab' });
    await h.client.call('tab.action', { tabId, action: 'type', ref: ref('Notes'), text: 'c' });
    const clicked = await h.client.call('tab.action', { tabId, action: 'click', ref: ref('Send') });
    expect(clicked).toMatchObject({ ok: true, navigated: false });
    const text = await h.client.call('tab.text', { tabId });
    expect(text.text).toContain('sent Ada Lovelace g true');

    const after = await h.client.call('tab.snapshot', { tabId });
    expect(after.nodes.find((n) => n.ref === ref('Your name'))?.value).toBe('Ada Lovelace');
    expect(after.nodes.find((n) => n.ref === ref('Notes'))?.value).toBe('abc');
    expect(after.nodes.find((n) => n.ref === ref('I agree'))?.checked).toBe(true);
    const diff = await h.client.call('analysis.diff', { tabId, since: snap.snapshotId });
    expect(diff.from).toBe(snap.snapshotId);
    expect(diff.to).toBe(after.snapshotId);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(new Set(diff.changed)).toEqual(new Set([ref('Your name'), ref('Colour'), ref('I agree'), ref('Notes')]));

    // Bad requests name what was wrong and disturb nothing.
    const disabledOption = await rpcError(h.client.call('tab.action', { tabId, action: 'select', ref: ref('Colour'), value: 'b' }));
    expect(disabledOption.code).toBe(-32005);
    expect(disabledOption.message).toMatch(/disabled/);
    const notSelect = await rpcError(h.client.call('tab.action', { tabId, action: 'select', ref: ref('Send'), value: 'x' }));
    expect(notSelect.code).toBe(-32005);
    expect(notSelect.data?.cause).toMatch(/not a <select>/);
    const noText = await rpcError(h.client.call('tab.action', { tabId, action: 'fill', ref: ref('Your name') }));
    expect(noText.code).toBe(-32602);
    const both = await rpcError(h.client.call('tab.action', { tabId, action: 'click', ref: ref('Send'), selector: 'button' }));
    expect(both.code).toBe(-32602);
    const badSelector = await rpcError(h.client.call('tab.action', { tabId, action: 'click', selector: 'button[' }));
    expect(badSelector).toMatchObject({ code: -32602, data: { path: 'params.selector' } });
    const badKey = await rpcError(h.client.call('tab.action', { tabId, action: 'press', key: 'NoSuchKey' }));
    expect(badKey).toMatchObject({ code: -32602, data: { path: 'params.key' } });
    const unknown = await rpcError(h.client.call('tab.action', { tabId, action: 'click', ref: 'e999999' }));
    expect(unknown).toMatchObject({ code: -32000, data: { ref: 'e999999' } });
    expect((await h.client.call('tab.text', { tabId })).text).toContain('sent Ada Lovelace g true');
    await h.client.call('tab.close', { tabId });
  });

  it('waits for an element to appear or be enabled, and times out with -32003 when it never is', async () => {
    const tabId = await openAt(
      '/waits',
      `<!doctype html><title>waits</title><button id=later disabled onclick="document.title='later clicked'">Later</button>
       <button id=never style="display:none">Never</button>
       <div style="position:relative;width:200px;height:40px"><button id=under style="width:200px;height:40px" onclick="document.title='under clicked'">Under</button>
       <div id=overlay style="position:absolute;inset:0;background:rgba(0,0,0,.1)" onclick="this.remove()"></div></div>
       <script>setTimeout(() => later.disabled = false, 300); setTimeout(() => document.body.insertAdjacentHTML('beforeend', '<button id=late onclick="document.title=\\'late clicked\\'">Late</button>'), 300)</script>`,
    );
    await h.client.call('tab.action', { tabId, action: 'click', selector: '#late', timeoutMs: 5_000 });
    expect(await title(tabId)).toBe('late clicked');
    const hidden = await rpcError(h.client.call('tab.action', { tabId, action: 'click', selector: '#never', timeoutMs: 300 }));
    expect(hidden).toMatchObject({ code: -32003, data: { timeoutMs: 300 } });
    expect(hidden.message).toMatch(/not visible/);
    const covered = await rpcError(h.client.call('tab.action', { tabId, action: 'click', selector: '#under', timeoutMs: 300 }));
    expect(covered.code).toBe(-32003);
    expect(covered.message).toMatch(/covered by <div#overlay>/);
    const missing = await rpcError(h.client.call('tab.action', { tabId, action: 'click', selector: '#nothing', timeoutMs: 200 }));
    expect(missing.message).toMatch(/not attached/);
    // Once the overlay is gone (clicking it removes it), the button underneath takes the click.
    await h.client.call('tab.action', { tabId, action: 'click', selector: '#overlay' });
    await h.client.call('tab.action', { tabId, action: 'click', selector: '#under', timeoutMs: 200 });
    expect(await title(tabId)).toBe('under clicked');
    await h.client.call('tab.close', { tabId });
    const enable = await openAt('/enable', FORM);
    const snap = await h.client.call('tab.snapshot', { tabId: enable });
    const later = snap.nodes.find((n) => n.name === 'Later');
    await h.client.call('tab.action', { tabId: enable, action: 'click', ref: later!.ref, timeoutMs: 5_000 });
    expect((await h.client.call('tab.text', { tabId: enable })).text).toContain('clicked later');
    await h.client.call('tab.close', { tabId: enable });
  });

  it('follows a navigation the click starts, and refs of the old page are stale (-32000 naming the ref)', async () => {
    const tabId = await openAt('/form', FORM);
    const snap = await h.client.call('tab.snapshot', { tabId });
    const send = snap.nodes.find((n) => n.name === 'Send')!.ref;
    const link = snap.nodes.find((n) => n.name === 'Next page')!.ref;
    const result = await h.client.call('tab.action', { tabId, action: 'click', ref: link });
    expect(result).toEqual({ ok: true, url: h.pages.url('/page/next'), navigated: true });
    expect((await h.client.call('tab.list', { instanceId })).tabs.find((t) => t.tabId === tabId)).toMatchObject({ url: h.pages.url('/page/next'), title: 'next' });
    const stale = await rpcError(h.client.call('tab.action', { tabId, action: 'click', ref: send }));
    expect(stale).toMatchObject({ code: -32000, data: { ref: send } });
    expect(stale.message).toContain(send);

    // A node removed from a live page: its ref no longer resolves either.
    await h.client.call('tab.navigate', { tabId, url: h.pages.url('/form') });
    const fresh = await h.client.call('tab.snapshot', { tabId });
    const button = fresh.nodes.find((n) => n.name === 'Send')!.ref;
    expect(button).not.toBe(send);
    await h.client.call('tab.action', { tabId, action: 'fill', selector: '#who', text: 'x' });
    await h.client.call('tab.action', { tabId, action: 'press', selector: '#who', key: 'Enter' });
    expect((await h.client.call('tab.text', { tabId })).text).toContain('sent x r false');
    await h.client.call('tab.navigate', { tabId, url: `data:text/html,<button>gone soon</button><script>setTimeout(() => document.body.innerHTML = '', 200)</script>` });
    const gone = (await h.client.call('tab.snapshot', { tabId })).nodes[0]!.ref;
    await new Promise((r) => setTimeout(r, 400));
    const removed = await rpcError(h.client.call('tab.action', { tabId, action: 'click', ref: gone }));
    expect(removed).toMatchObject({ code: -32000, data: { ref: gone } });
    await h.client.call('tab.close', { tabId });
  });
});

describe('screenshots and images', () => {
  it('takes PNG and JPEG screenshots that decode', async () => {
    const tabId = await openAt('/shot', `<!doctype html><title>shot</title><body style="margin:0;height:3000px;background:#fff"><div style="width:50px;height:50px;background:#f00"></div>`);
    const png = await h.client.call('tab.screenshot', { tabId });
    const decoded = PNG.sync.read(Buffer.from(png.data, 'base64'));
    expect([decoded.width, decoded.height]).toEqual([png.width, png.height]);
    expect(Array.from(decoded.data.subarray(0, 4))).toEqual([255, 0, 0, 255]);
    const full = await h.client.call('tab.screenshot', { tabId, fullPage: true });
    expect(full.height).toBe(3000);
    const jpeg = await h.client.call('tab.screenshot', { tabId, format: 'jpeg', quality: 50 });
    expect(Buffer.from(jpeg.data, 'base64').subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect([jpeg.width, jpeg.height]).toEqual([png.width, png.height]);
    const badQuality = await rpcError(h.client.call('tab.screenshot', { tabId, quality: 50 }));
    expect(badQuality).toMatchObject({ code: -32602, data: { path: 'params.quality' } });
    await h.client.call('tab.close', { tabId });
  });

  it('diffs identical images to 0 and a one-pixel change to 1, on a page and on given PNGs', async () => {
    const tabId = await openAt(
      '/pixel',
      `<!doctype html><title>pixel</title><body style="margin:0;background:#fff"><div id=dot style="position:absolute;left:10px;top:10px;width:1px;height:1px;background:#fff"></div>
       <button id=go style="position:absolute;left:100px;top:100px;width:60px;height:30px;border:0;background:#00f" onclick="dot.style.background='#000'"></button>`,
    );
    const baseline = (await h.client.call('tab.screenshot', { tabId })).data;
    expect(await h.client.call('analysis.visualDiff', { tabId, baseline })).toMatchObject({ diffPixels: 0, ratio: 0 });
    await h.client.call('tab.action', { tabId, action: 'click', selector: '#go' });
    const changed = await h.client.call('analysis.visualDiff', { tabId, baseline, diffImage: true });
    expect(changed.diffPixels).toBe(1);
    const diffImage = PNG.sync.read(Buffer.from(changed.diffPng!, 'base64'));
    expect(diffImage.width).toBe(changed.width);

    const white = new PNG({ width: 64, height: 48 });
    white.data.fill(255);
    const a = PNG.sync.write(white).toString('base64');
    white.data.set([0, 0, 0, 255], (5 * 64 + 7) * 4);
    const b = PNG.sync.write(white).toString('base64');
    expect(await h.client.call('analysis.visualDiff', { a, b: a })).toEqual({ diffPixels: 0, ratio: 0, width: 64, height: 48 });
    expect(await h.client.call('analysis.visualDiff', { a, b })).toMatchObject({ diffPixels: 1, width: 64, height: 48 });
    const small = new PNG({ width: 8, height: 8 });
    const mismatch = await rpcError(h.client.call('analysis.visualDiff', { a, b: PNG.sync.write(small).toString('base64') }));
    expect(mismatch).toMatchObject({ code: -32602, data: { path: 'params.b' } });
    // A corrupt PNG throws inside the worker: the request fails alone and the pool goes on.
    const corrupt = await rpcError(h.client.call('analysis.visualDiff', { a, b: Buffer.from('not a png at all').toString('base64') }));
    expect(corrupt).toMatchObject({ code: -32602, data: { path: 'params.b' } });
    expect(await h.client.call('analysis.visualDiff', { a, b: a })).toMatchObject({ diffPixels: 0 });
    await h.client.call('tab.close', { tabId });
  });
});

describe('batch.navigate', () => {
  it('opens one tab per URL over the caller\'s instances, in input order, with failures per item', async () => {
    const second = (await h.client.call('instance.create', { name: 'second' })).instanceId;
    const refused = await h.pages.closedPortUrl();
    const urls = [
      h.pages.url('/page/b1'),
      refused,
      'file:///etc/passwd',
      h.pages.url('/page/b2'),
      'not a url',
      h.pages.url('/slow/b3?ms=5000'),
      h.pages.url('/missing-page'),
      h.pages.url('/page/b4'),
    ];
    const before = h.tv.runtime.tabs().length;
    const { results } = await h.client.call('batch.navigate', { urls, concurrency: 3, timeoutMs: 1_500 });
    expect(results.map((r) => r.url)).toEqual(urls);
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true, false, false, true, true]);
    expect(results[0]).toMatchObject({ status: 200, title: 'b1' });
    expect(results[1]!.error).toMatchObject({ code: -32005 });
    expect(results[1]!.error!.data?.cause).toMatch(/ERR_CONNECTION_REFUSED/);
    expect(results[2]!.error).toMatchObject({ code: -32002 });
    expect(results[4]!.error).toMatchObject({ code: -32602 });
    expect(results[5]!.error).toMatchObject({ code: -32003 });
    expect(results[6]).toMatchObject({ ok: true, status: 404 });
    // Failed tabs were closed; the good ones are spread over both instances.
    const good = results.filter((r) => r.ok);
    expect(h.tv.runtime.tabs().length).toBe(before + good.length);
    expect(new Set(good.map((r) => r.instanceId))).toEqual(new Set([instanceId, second]));
    for (const r of good) expect(h.tv.runtime.tab(r.tabId!).url).toBe(r.url);
    for (const r of good) await h.client.call('tab.close', { tabId: r.tabId! });

    // Concurrency is a bound: never more navigations in flight than asked for.
    let inflight = 0;
    let peak = 0;
    const slow = Array.from({ length: 6 }, (_, i) => h.pages.url(`/slow/c${i}?ms=150`));
    const onRequest = () => void (inflight++, (peak = Math.max(peak, inflight)));
    const server = (h.pages as unknown as { server: import('node:http').Server }).server;
    const onFinish = (_req: unknown, res: import('node:http').ServerResponse) => res.on('finish', () => inflight--);
    server.on('request', onRequest);
    server.on('request', onFinish);
    const bounded = await h.client.call('batch.navigate', { urls: slow, instanceId: second, concurrency: 2, keepFailed: true });
    server.off('request', onRequest);
    server.off('request', onFinish);
    expect(bounded.results.every((r) => r.ok && r.instanceId === second)).toBe(true);
    expect(peak).toBe(2);
    await h.client.call('instance.stop', { instanceId: second });

    const stranger = await h.connectAnother('stranger');
    const none = await rpcError(stranger.call('batch.navigate', { urls: [h.pages.url('/page/x')] }));
    expect(none.code).toBe(-32000);
    const forbidden = await rpcError(stranger.call('batch.navigate', { urls: [h.pages.url('/page/x')], instanceId }));
    expect(forbidden.code).toBe(-32002);
  });
});

describe('batch.navigate limits', () => {
  it('items beyond the instance\'s tab limit get -32001 while the rest load', async () => {
    const small = (await h.client.call('instance.create', { limits: { maxTabs: 2 } })).instanceId;
    const urls = [1, 2, 3, 4].map((i) => h.pages.url(`/page/cap${i}`));
    const { results } = await h.client.call('batch.navigate', { urls, instanceId: small, concurrency: 4 });
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    for (const r of results.filter((r) => !r.ok)) expect(r.error).toMatchObject({ code: -32001, data: { limit: 2, value: 2 } });
    await h.client.call('instance.stop', { instanceId: small });
    const stopped = await rpcError(h.client.call('batch.navigate', { urls, instanceId: small }));
    expect(stopped.code).toBe(-32000);
  });
});

describe('cancellation', () => {
  it('a client that disconnects mid-snapshot frees its worker; the next snapshot is served', async () => {
    const page = generatedPage(5_000);
    const tabId = await openAt('/generated-5000', page.html);
    const pool = h.tv.runtime.pages.pool;
    const cancelledBefore = pool.stats().cancelled;
    const quitter = await h.connectAnother('harness');
    const pending = quitter.call('tab.snapshot', { tabId }).catch((e: unknown) => e);
    // Close once the page is read and the task is on the pool.
    for (let i = 0; i < 400 && pool.stats().running === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(pool.stats().running).toBe(1);
    await quitter.close();
    await pending;
    for (let i = 0; i < 100 && pool.stats().running > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pool.stats()).toMatchObject({ running: 0, queueSize: 0, cancelled: cancelledBefore + 1 });
    const snap = await h.client.call('tab.snapshot', { tabId });
    expect(snap.nodes.length).toBe(page.interactive.size);
    const timedOut = await rpcError(h.client.call('tab.snapshot', { tabId, timeoutMs: 50 }));
    expect(timedOut).toMatchObject({ code: -32003, data: { timeoutMs: 50 } });
    await h.client.call('tab.close', { tabId });
  });
});
