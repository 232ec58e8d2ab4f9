// The page methods agents expect, on real pages in real Chrome over a real ws client: history,
// waits, console and network, evaluation, dialogs that would block, uploads the page reads
// back, downloads of generated files, PDFs, and a storage state that survives into a new instance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type EventMessage } from '../../src/client/index.js';
import { startTabvisor } from '../../src/index.js';
import { rpcError, startHarness, type Harness } from './harness.js';

let h: Harness;
let instanceId: string;
const pageEvents: EventMessage[] = [];
const FILE_LIMIT = 64 * 1024;

beforeAll(async () => {
  h = await startHarness({ server: { allowEvaluate: true }, downloads: { maxFileBytes: FILE_LIMIT } });
  instanceId = (await h.client.call('instance.create', { name: 'agent' })).instanceId;
  h.client.onEvent((e) => e.topic === 'page' && pageEvents.push(e));
  await h.client.call('events.subscribe', { topics: ['page'] });
});
afterAll(async () => {
  await h?.close();
});

const open = async (path: string, html: string) => (await h.client.call('tab.open', { instanceId, url: h.pages.put(path, html) })).tabId;
const text = async (tabId: string) => (await h.client.call('tab.text', { tabId })).text;
const until = async <T>(what: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('history', () => {
  it('back, forward and reload move through real history; no entry there answers navigated: false', async () => {
    const tabId = await open('/h1', '<title>one</title><p>one');
    h.pages.put('/h2', '<title>two</title><p>two');
    await h.client.call('tab.navigate', { tabId, url: h.pages.url('/h2') });
    const back = await h.client.call('tab.back', { tabId });
    expect(back).toMatchObject({ url: h.pages.url('/h1'), title: 'one', navigated: true });
    expect((await h.client.call('tab.list', { instanceId })).tabs.find((t) => t.tabId === tabId)?.url).toBe(h.pages.url('/h1'));
    // A new tab starts at about:blank, its first history entry.
    expect(await h.client.call('tab.back', { tabId })).toMatchObject({ url: 'about:blank', navigated: true });
    expect(await h.client.call('tab.back', { tabId })).toMatchObject({ url: 'about:blank', navigated: false });
    expect(await h.client.call('tab.forward', { tabId })).toMatchObject({ url: h.pages.url('/h1'), navigated: true });
    expect(await h.client.call('tab.forward', { tabId })).toMatchObject({ url: h.pages.url('/h2'), title: 'two', status: 200, navigated: true });
    expect((await h.client.call('tab.forward', { tabId })).navigated).toBe(false);
    const hits = h.pages.hits.get('/h2') ?? 0;
    expect(await h.client.call('tab.reload', { tabId })).toMatchObject({ url: h.pages.url('/h2'), status: 200, navigated: true });
    expect(h.pages.hits.get('/h2')).toBe(hits + 1);
    await h.client.call('tab.close', { tabId });
  });
});

describe('tab.waitFor', () => {
  it('waits for text, a visible element, a URL and its disappearance, and times out with -32003', async () => {
    const tabId = await open(
      '/wait',
      `<title>wait</title><div id=box hidden>ready now</div><p id=busy>busy</p>
       <script>setTimeout(() => { document.getElementById('box').hidden = false; }, 300);
       setTimeout(() => { document.getElementById('busy').remove(); history.pushState({}, '', '/wait/done'); }, 600);</script>`,
    );
    const text = await h.client.call('tab.waitFor', { tabId, text: 'ready now', timeoutMs: 5_000 });
    expect(text.waitedMs).toBeGreaterThan(100);
    await h.client.call('tab.waitFor', { tabId, selector: '#box', timeoutMs: 5_000 });
    await h.client.call('tab.waitFor', { tabId, text: 'busy', gone: true, timeoutMs: 5_000 });
    expect((await h.client.call('tab.waitFor', { tabId, url: `${h.pages.origin}/wait/*`, timeoutMs: 5_000 })).url).toBe(h.pages.url('/wait/done'));
    await h.client.call('tab.waitFor', { tabId, state: 'load' });
    const late = await rpcError(h.client.call('tab.waitFor', { tabId, text: 'never there', timeoutMs: 300 }));
    expect(late.code).toBe(-32003);
    expect(late.data).toMatchObject({ timeoutMs: 300 });
    const bad = await rpcError(h.client.call('tab.waitFor', { tabId, selector: '##', timeoutMs: 300 }));
    expect(bad.data).toMatchObject({ path: 'params.selector' });
    const two = await rpcError(h.client.call('tab.waitFor', { tabId, text: 'a', selector: 'b' }));
    expect(two.code).toBe(-32602);
    await h.client.call('tab.close', { tabId });
  });
});

describe('tab.console and tab.network', () => {
  it('report what the page logged and requested since its last navigation, filtered', async () => {
    h.pages.put('/data.json', '{"ok":true}', 'application/json');
    const tabId = await open(
      '/logs',
      `<title>logs</title><script>console.log('hello', 1); console.warn('careful'); console.error('broken');
       fetch('/data.json'); fetch('/missing.json'); setTimeout(() => { throw new Error('boom'); }, 0);</script>`,
    );
    // Chrome also logs the 404 of /missing.json ("Failed to load resource…"), whenever its
    // network stack gets to it: before, between or after the page's own; left out here.
    const own = <T extends { text: string }>(entries: T[]) => entries.filter((e) => !e.text.startsWith('Failed to load resource'));
    const all = await until(() => h.client.call('tab.console', { tabId }), (r) => own(r.entries).length >= 4);
    expect(own(all.entries).map((e) => [e.type, e.text])).toEqual([['log', 'hello 1'], ['warn', 'careful'], ['error', 'broken'], ['page-error', expect.stringContaining('boom')]]);
    expect(own((await h.client.call('tab.console', { tabId, level: 'warning' })).entries).map((e) => e.type)).toEqual(['warn', 'error', 'page-error']);
    expect((await h.client.call('tab.console', { tabId, level: 'error', text: 'boom' })).entries).toHaveLength(1);
    const after = await h.client.call('tab.console', { tabId, since: own(all.entries)[1]!.seq });
    expect(own(after.entries).map((e) => e.type)).toEqual(['error', 'page-error']);
    expect((await h.client.call('tab.console', { tabId, limit: 1 })).truncated).toBe(true);

    const requests = await until(() => h.client.call('tab.network', { tabId }), (r) => r.entries.filter((e) => e.state !== 'pending').length >= 3);
    expect(requests.entries.map((e) => [new URL(e.url).pathname, e.status, e.resourceType])).toEqual([
      ['/logs', 200, 'document'],
      ['/data.json', 200, 'fetch'],
      ['/missing.json', 404, 'fetch'],
    ]);
    expect(requests.entries[1]).toMatchObject({ method: 'GET', state: 'finished', mimeType: 'application/json' });
    expect((await h.client.call('tab.network', { tabId, failed: true })).entries.map((e) => new URL(e.url).pathname)).toEqual(['/missing.json']);
    expect((await h.client.call('tab.network', { tabId, url: 'data' })).entries).toHaveLength(1);

    // A navigation starts new lists.
    await h.client.call('tab.navigate', { tabId, url: h.pages.url('/page/quiet') });
    expect((await h.client.call('tab.console', { tabId })).entries).toEqual([]);
    expect((await h.client.call('tab.network', { tabId })).entries.map((e) => new URL(e.url).pathname)).toEqual(['/page/quiet']);
    await h.client.call('tab.close', { tabId });
  });
});

describe('tab.evaluate', () => {
  it('runs expressions and functions (with an element by ref), and answers exceptions and large values with codes', async () => {
    const tabId = await open('/eval', '<title>eval</title><button id=b>Press me</button>');
    expect(await h.client.call('tab.evaluate', { tabId, expression: '6 * 7' })).toEqual({ type: 'number', value: 42, bytes: 2 });
    expect((await h.client.call('tab.evaluate', { tabId, expression: 'new Promise((r) => setTimeout(() => r(document.title), 50))' })).value).toBe('eval');
    expect((await h.client.call('tab.evaluate', { tabId, function: '(a, b) => ({ sum: a + b })', args: [2, 3] })).value).toEqual({ sum: 5 });
    expect((await h.client.call('tab.evaluate', { tabId, expression: 'undefined' })).type).toBe('undefined');
    const snap = await h.client.call('tab.snapshot', { tabId });
    const button = snap.nodes.find((n) => n.name === 'Press me')!;
    expect((await h.client.call('tab.evaluate', { tabId, function: '(el, suffix) => el.id + suffix', args: ['!'], ref: button.ref })).value).toBe('b!');
    const thrown = await rpcError(h.client.call('tab.evaluate', { tabId, expression: 'null.x' }));
    expect(thrown.code).toBe(-32005);
    expect(thrown.data?.cause).toMatch(/TypeError/);
    const large = await rpcError(h.client.call('tab.evaluate', { tabId, expression: "'x'.repeat(5000)", maxBytes: 1000 }));
    expect(large.code).toBe(-32001);
    expect(large.data).toEqual({ limit: 1000, value: 5002 });
    await h.client.call('tab.close', { tabId });
  });

  it('is refused with -32002 by a server started without --allow-evaluate', async () => {
    const plain = await startTabvisor({ port: 0 });
    const client = await connect(plain.url, { reconnect: false });
    try {
      const refused = await rpcError(client.call('tab.evaluate', { tabId: 't-nothing', expression: '1' }));
      expect(refused.code).toBe(-32002);
      expect(refused.data?.reason).toMatch(/--allow-evaluate/);
    } finally {
      await client.close();
      await plain.close();
    }
  });
});

const DIALOGS = `<title>dialogs</title><p id=out>none</p>
<button id=a onclick="alert('hi'); document.getElementById('out').textContent = 'alerted'">Alert</button>
<button id=c onclick="document.getElementById('out').textContent = 'confirmed ' + confirm('Delete?')">Confirm</button>
<button id=p onclick="document.getElementById('out').textContent = 'prompted ' + prompt('Name?', 'anon')">Prompt</button>`;

describe('dialogs', () => {
  it('never hang the tab: dismissed by default, shown in events, held for tab.dialog when asked, dismissed when the hold ends', async () => {
    const tabId = await open('/dialogs', DIALOGS);
    const out = async () => (await h.client.call('tab.evaluate', { tabId, expression: "document.getElementById('out').textContent" })).value;

    await h.client.call('tab.action', { tabId, action: 'click', selector: '#c' });
    expect(await out()).toBe('confirmed false');
    const seen = await until(async () => pageEvents.filter((e) => e.tabId === tabId), (e) => e.length >= 1);
    expect(seen[0]).toMatchObject({ kind: 'dialog', instanceId, dialog: { type: 'confirm', message: 'Delete?', outcome: 'dismissed', by: 'policy' } });

    expect(await h.client.call('tab.dialog', { tabId, policy: 'hold' })).toMatchObject({ policy: 'hold', holdMs: 30_000, pending: null });
    const clicked = await h.client.call('tab.action', { tabId, action: 'click', selector: '#p' });
    expect(clicked.dialog).toMatchObject({ type: 'prompt', message: 'Name?', defaultValue: 'anon' });
    const blocked = await rpcError(h.client.call('tab.snapshot', { tabId }));
    expect(blocked.code).toBe(-32004);
    expect(blocked.data).toMatchObject({ state: 'dialog', dialog: { type: 'prompt' } });
    expect(blocked.message).toBe(`tab ${tabId}: a prompt dialog is open ("Name?"); answer it with tab.dialog`);
    const answered = await h.client.call('tab.dialog', { tabId, accept: true, text: 'Ada' });
    expect(answered.handled).toMatchObject({ type: 'prompt', outcome: 'accepted', by: 'client', text: 'Ada' });
    expect(answered.pending).toBeNull();
    expect(await until(out, (v) => v === 'prompted Ada')).toBe('prompted Ada');
    expect((await rpcError(h.client.call('tab.dialog', { tabId, accept: true }))).code).toBe(-32000);

    // A held dialog nobody answers is dismissed when its hold ends, and the tab goes on.
    await h.client.call('tab.dialog', { tabId, policy: 'hold', holdMs: 300 });
    const held = await h.client.call('tab.action', { tabId, action: 'click', selector: '#c' });
    expect(held.dialog?.type).toBe('confirm');
    await until(() => h.client.call('tab.dialog', { tabId }), (d) => d.pending === null, 5_000);
    expect(await out()).toBe('confirmed false');
    const state = await h.client.call('tab.dialog', { tabId });
    expect(state.recent.at(-1)).toMatchObject({ type: 'confirm', outcome: 'dismissed', by: 'timeout' });

    // accept policy answers at once.
    await h.client.call('tab.dialog', { tabId, policy: 'accept' });
    await h.client.call('tab.action', { tabId, action: 'click', selector: '#c' });
    expect(await out()).toBe('confirmed true');
    expect((await h.client.call('tab.list', { instanceId })).tabs.find((t) => t.tabId === tabId)?.state).toBe('healthy');
    await h.client.call('tab.close', { tabId });
  });

  it('a beforeunload dialog does not keep a tab from the navigation a client asked for', async () => {
    const tabId = await open('/unload', `<title>unload</title><input id=i><script>addEventListener('beforeunload', (e) => { e.preventDefault(); e.returnValue = 'stay'; });</script>`);
    await h.client.call('tab.action', { tabId, action: 'type', selector: '#i', text: 'x' }); // user activation arms beforeunload
    const nav = await h.client.call('tab.navigate', { tabId, url: h.pages.url('/page/left'), timeoutMs: 10_000 });
    expect(nav.title).toBe('left');
    await h.client.call('tab.close', { tabId });
  });
});

describe('tab.upload', () => {
  it('sets the files of a file input, which the page reads back; a wrong element or too many files are refused', async () => {
    const tabId = await open(
      '/upload',
      `<title>upload</title><label>Files <input type=file id=f multiple style="opacity:0;width:1px;height:1px"></label>
       <input type=file id=one><button id=b>Not a file input</button><pre id=out></pre>
       <script>document.getElementById('f').addEventListener('change', async (e) => {
         const parts = []; for (const file of e.target.files) parts.push(file.name + '=' + await file.text());
         document.getElementById('out').textContent = parts.join(';'); });</script>`,
    );
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const result = await h.client.call('tab.upload', { tabId, selector: '#f', files: [{ name: 'a.txt', data: b64('alpha') }, { name: 'b.csv', data: b64('x,y\n1,2') }] });
    expect(result).toEqual({ ok: true, files: [{ name: 'a.txt', bytes: 5 }, { name: 'b.csv', bytes: 7 }] });
    await h.client.call('tab.waitFor', { tabId, text: 'a.txt=alpha', timeoutMs: 5_000 });
    expect(await text(tabId)).toContain('a.txt=alpha;b.csv=x,y\n1,2');

    const wrong = await rpcError(h.client.call('tab.upload', { tabId, selector: '#b', files: [] }));
    expect(wrong.code).toBe(-32005);
    expect(wrong.message).toMatch(/<button>, not an <input type=file>/);
    const many = await rpcError(h.client.call('tab.upload', { tabId, selector: '#one', files: [{ name: 'a', data: b64('1') }, { name: 'b', data: b64('2') }] }));
    expect(many.data).toMatchObject({ path: 'params.files' });
    const path = await rpcError(h.client.call('tab.upload', { tabId, selector: '#f', files: [{ name: '../../etc/x', data: b64('1') }] }));
    expect(path.code).toBe(-32602);
    await h.client.call('tab.close', { tabId });
  });
});

describe('downloads', () => {
  it('saves a generated file per instance and returns it; a file above the limit is cancelled and deleted', async () => {
    const tabId = await open(
      '/download',
      `<title>download</title><script>
       function save(name, size) { const body = name.endsWith('.csv') ? 'a,b\\n1,2\\n' : 'z'.repeat(size);
         const a = document.createElement('a'); a.href = URL.createObjectURL(new Blob([body])); a.download = name; document.body.append(a); a.click(); }
       </script><button id=small onclick="save('report.csv')">Small</button><button id=big onclick="save('big.bin', ${FILE_LIMIT * 4})">Big</button>`,
    );
    await h.client.call('tab.action', { tabId, action: 'click', selector: '#small' });
    const done = await until(() => h.client.call('tab.downloads', { tabId }), (r) => r.downloads[0]?.state === 'completed');
    const [download] = done.downloads;
    expect(download).toMatchObject({ tabId, name: 'report.csv', state: 'completed', receivedBytes: 8 });
    const file = await h.client.call('download.get', { downloadId: download!.downloadId });
    expect(Buffer.from(file.data, 'base64').toString()).toBe('a,b\n1,2\n');
    expect((await rpcError(h.client.call('download.get', { downloadId: download!.downloadId, maxBytes: 4 }))).code).toBe(-32001);

    await h.client.call('tab.action', { tabId, action: 'click', selector: '#big' });
    const big = (await until(() => h.client.call('tab.downloads', { tabId }), (r) => r.downloads.some((d) => d.name === 'big.bin' && d.state !== 'inProgress'))).downloads.find((d) => d.name === 'big.bin')!;
    expect(big).toMatchObject({ state: 'canceled', reason: expect.stringMatching(/limit per file/) });
    expect((await rpcError(h.client.call('download.get', { downloadId: big.downloadId }))).code).toBe(-32004);
    expect((await rpcError(h.client.call('download.get', { downloadId: 'no-such-download' }))).code).toBe(-32000);
    const other = await h.connectAnother('stranger');
    expect((await rpcError(other.call('download.get', { downloadId: download!.downloadId }))).code).toBe(-32002);
    await h.client.call('tab.close', { tabId });
  });
});

describe('tab.pdf', () => {
  it('prints the page to a PDF with the page settings asked; too large is -32001', async () => {
    const tabId = await open('/print', '<title>print</title><h1>Report</h1><p>Body text</p>');
    const letter = await h.client.call('tab.pdf', { tabId });
    const pdf = Buffer.from(letter.data, 'base64');
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(letter.bytes).toBe(pdf.length);
    const mediaBox = (b: Buffer) => /\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/.exec(b.toString('latin1'))?.slice(1).map(Number);
    expect(mediaBox(pdf)).toEqual([612, 792]);
    const a4 = Buffer.from((await h.client.call('tab.pdf', { tabId, format: 'a4', landscape: true })).data, 'base64');
    const [width, height] = mediaBox(a4) ?? [];
    expect(Math.abs(width! - 842)).toBeLessThan(1.5); // A4 landscape: 297 × 210 mm in points
    expect(Math.abs(height! - 595)).toBeLessThan(1.5);
    expect((await rpcError(h.client.call('tab.pdf', { tabId, maxBytes: 100 }))).code).toBe(-32001);
    await h.client.call('tab.close', { tabId });
  });
});

describe('storage state', () => {
  it('exports cookies and localStorage, and a new instance created with them starts logged in', async () => {
    const tabId = await open(
      '/login',
      `<title>login</title><script>document.cookie = 'session=abc123; max-age=3600; path=/'; document.cookie = 'temp=1; path=/'; localStorage.setItem('user', 'ada');</script>`,
    );
    const state = await h.client.call('instance.storageState', { instanceId });
    expect(state.cookies).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'session', value: 'abc123', domain: '127.0.0.1', path: '/', expires: expect.any(Number) })]));
    expect(state.cookies.find((c) => c.name === 'temp')?.expires).toBeUndefined();
    expect(state.origins).toEqual([{ origin: h.pages.origin, localStorage: [{ name: 'user', value: 'ada' }] }]);

    const hits = h.pages.hits.get('/') ?? 0;
    const fresh = await h.client.call('instance.create', { name: 'reuse', storageState: state });
    // localStorage was written without asking the origin's server.
    expect(h.pages.hits.get('/') ?? 0).toBe(hits);
    const reader = await h.client.call('tab.open', {
      instanceId: fresh.instanceId,
      url: h.pages.put('/whoami', `<title>whoami</title><p id=who></p><script>document.getElementById('who').textContent = document.cookie + ' | ' + localStorage.getItem('user');</script>`),
    });
    expect(await text(reader.tabId)).toContain('session=abc123; temp=1 | ada');
    await h.client.call('instance.stop', { instanceId: fresh.instanceId });
    await h.client.call('tab.close', { tabId });

    const bad = await rpcError(h.client.call('instance.create', { storageState: { cookies: [], origins: [{ origin: 'file:///etc', localStorage: [] }] } }));
    expect(bad.data).toMatchObject({ path: 'params.storageState.origins.0.origin' });
  });
});
