// The inspector page, served by a real runtime and read in real Chromium (puppeteer-core): the
// token traded for a cookie, nothing fetched from another origin and no console error, the tree
// following the fleet, a kill -9 shown as recovering and healthy again within a second, crawled
// titles as text, the live view, refusals, and a runtime restart without duplicate transitions.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChrome } from '../../src/chrome/find.js';
import { connect, startTabvisor } from '../../src/index.js';
import { fastDefaults, resourceSnapshot, expectNoLeakedResources, startHarness, type Harness } from './harness.js';

const TOKEN = 'inspector test token';
const XSS_TITLE = '<img src=x onerror=alert(1)>';
let h: Harness;
let browser: Browser;
let base: string;

beforeAll(async () => {
  h = await startHarness({ server: { token: TOKEN } });
  base = `http://127.0.0.1:${h.tv.server.port}`;
  browser = await puppeteer.launch({
    executablePath: (await findChrome()).path,
    headless: 'shell',
    // rebind.test resolves to this machine: a DNS-rebinding page, as far as the server can tell.
    args: ['--no-sandbox', '--host-resolver-rules=MAP rebind.test 127.0.0.1'],
    defaultViewport: { width: 1400, height: 900 },
  });
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

interface Watched {
  page: Page;
  requests: string[];
  problems: string[];
}

/** A page of its own (own cookies), its requests and any console error, page error or dialog. */
async function openPage(url: string): Promise<Watched & { status: number | undefined }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()} (${message.location().url ?? ''})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${String(error)}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  // Every change of a tree row's state or reason, with the page's clock: what the operator sees, and when.
  await page.evaluateOnNewDocument(() => {
    const w = window as unknown as { seen: [string, string, string, number][] };
    w.seen = [];
    const last = new Map<string, string>();
    new MutationObserver(() => {
      for (const row of document.querySelectorAll<HTMLElement>('.row[data-id]')) {
        const state = row.querySelector('.badge')?.textContent ?? '';
        const reason = row.querySelector('.reason')?.textContent ?? '';
        const key = `${state}\u0000${reason}`;
        if (last.get(row.dataset.id!) === key) continue;
        last.set(row.dataset.id!, key);
        w.seen.push([row.dataset.id!, state, reason, Date.now()]);
      }
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  const response = await page.goto(url, { waitUntil: 'load' });
  return { page, requests, problems, status: response?.status() };
}

async function close(watched: Watched): Promise<void> {
  await watched.page.browserContext().close();
}

/** The inspector, authenticated the way an operator does it: the token once, in the URL. */
async function openInspector(): Promise<Watched> {
  const watched = await openPage(`${base}/inspector?token=${encodeURIComponent(TOKEN)}`);
  await watched.page.waitForSelector('#conn.up', { timeout: 10_000 });
  return watched;
}

const rowState = (page: Page, id: string) => page.$eval(`.row[data-id="${id}"] .badge`, (el) => el.textContent).catch(() => null);

async function waitForRow(page: Page, id: string, state: string): Promise<void> {
  await page.waitForFunction((i, s) => document.querySelector(`.row[data-id="${i}"] .badge`)?.textContent === s, { timeout: 10_000 }, id, state);
}

describe('inspector page', () => {
  it('trades ?token= for an HttpOnly SameSite=Strict cookie and a URL without it; every answer has the CSP', async () => {
    // No token, no page.
    const anonymous = await fetch(`${base}/inspector`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).toMatch(/inspector\?token=/);
    // Every body is read: an unread one keeps its keep-alive socket open past the server's close.
    const trade = await fetch(`${base}/inspector?token=${encodeURIComponent(TOKEN)}`, { redirect: 'manual' });
    await trade.arrayBuffer();
    expect(trade.status).toBe(303);
    expect(trade.headers.get('location')).toBe('/inspector');
    const cookie = trade.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^tabvisor_inspector=[\w-]+; HttpOnly; SameSite=Strict; Path=\/$/);
    // Not the token: a value derived from it (the browser sends cookies to every port of the host).
    expect(cookie).not.toContain(encodeURIComponent(TOKEN));
    expect(cookie).not.toContain(Buffer.from(TOKEN).toString('base64url'));
    const wrong = await fetch(`${base}/inspector?token=wrong`, { redirect: 'manual' });
    await wrong.arrayBuffer();
    expect(wrong.status).toBe(401);
    const jar = cookie.split(';')[0]!;
    for (const path of ['/inspector', '/inspector/app.js', '/inspector/app.css', '/inspector/favicon.svg', '/machines', '/inspector/thumbnail?tabId=t-none', '/inspector/nothing']) {
      const response = await fetch(`${base}${path}`, { headers: { cookie: jar } });
      await response.arrayBuffer();
      expect([path, response.status]).toEqual([path, path.includes('t-none') || path.includes('nothing') ? 404 : 200]);
      expect(response.headers.get('content-security-policy')).toBe("default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const forged = await fetch(`${base}/inspector`, { headers: { cookie: 'tabvisor_inspector=forged' } });
    await forged.arrayBuffer();
    expect(forged.status).toBe(401);
    // A 401 carries the headers too.
    expect(anonymous.headers.get('content-security-policy')).toContain("default-src 'self'");
    // /machines: its hash as ETag.
    const machines = await fetch(`${base}/machines`, { headers: { cookie: jar } });
    const served = (await machines.json()) as { hash: string; machines: { id: string }[] };
    expect(served.machines.map((m) => m.id)).toEqual(['supervisor', 'instance', 'tab']);
    expect(machines.headers.get('etag')).toBe(`"${served.hash}"`);
    expect((await fetch(`${base}/machines`, { headers: { cookie: jar, 'if-none-match': `"${served.hash}"` } })).status).toBe(304);

    // In Chromium: the redirect lands on /inspector, the cookie is out of the page's reach, the socket is up.
    const watched = await openInspector();
    expect(watched.page.url()).toBe(`${base}/inspector`);
    expect(await watched.page.evaluate(() => document.cookie)).toBe('');
    const [cookieSeen] = await watched.page.browserContext().cookies();
    expect(cookieSeen).toMatchObject({ name: 'tabvisor_inspector', httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(watched.problems).toEqual([]);
    await close(watched);
  });

  it('renders the fleet with no request to another origin and no console error; the tree follows create, open, close and stop', async () => {
    const kept = await h.client.call('instance.create', { name: 'kept' });
    const keptTab = await h.client.call('tab.open', { instanceId: kept.instanceId, url: h.pages.url('/page/first') });
    const watched = await openInspector();
    const { page } = watched;
    await waitForRow(page, kept.instanceId, 'healthy');
    await waitForRow(page, keptTab.tabId, 'healthy');
    expect(await page.$eval(`.row[data-id="${keptTab.tabId}"] .name`, (el) => el.textContent)).toBe('first');

    // Created after the page opened: it comes in with its events, then its list entry.
    const added = await h.client.call('instance.create', { name: 'added later' });
    await waitForRow(page, added.instanceId, 'healthy');
    await page.waitForFunction((id) => document.querySelector(`.row[data-id="${id}"] .name`)?.textContent === 'added later', { timeout: 5_000 }, added.instanceId);
    const tab = await h.client.call('tab.open', { instanceId: added.instanceId, url: h.pages.url('/page/second') });
    await waitForRow(page, tab.tabId, 'healthy');
    // Under its instance.
    expect(await page.$eval(`.row[data-id="${tab.tabId}"]`, (el, id) => el.closest('.block')?.querySelector('.row.instance')?.getAttribute('data-id') === id, added.instanceId)).toBe(true);

    await h.client.call('tab.close', { tabId: tab.tabId });
    await waitForRow(page, tab.tabId, 'stopped');
    await h.client.call('instance.stop', { instanceId: added.instanceId });
    await waitForRow(page, added.instanceId, 'stopped');
    // Gone ones stay a while, dimmed.
    expect(await page.$eval(`.row[data-id="${added.instanceId}"]`, (el) => el.classList.contains('gone'))).toBe(true);
    expect(await rowState(page, kept.instanceId)).toBe('healthy');

    expect(watched.problems).toEqual([]);
    expect(watched.requests.filter((url) => !url.startsWith(`${base}/`))).toEqual([]);
    expect(watched.requests.length).toBeGreaterThanOrEqual(5); // the page, its script, style, icon and /machines
    await close(watched);
    await h.client.call('instance.stop', { instanceId: kept.instanceId });
  });

  it('shows a kill -9 of a browser as recovering, then healthy, with the reasons, each within a second of the event', async () => {
    const { instanceId, pid } = await h.client.call('instance.create', { name: 'victim' });
    const watched = await openInspector();
    const { page } = watched;
    await waitForRow(page, instanceId, 'healthy');
    const mark = h.events.mark();
    process.kill(pid as number, 'SIGKILL');
    const down = await h.events.waitFor({ actor: instanceId, to: 'recovering' }, mark);
    const up = await h.events.waitFor({ actor: instanceId, from: 'recovering', to: 'healthy' }, mark);
    expect(down.event).toMatch(/^(CHROME_EXITED|CDP_DISCONNECTED)$/);
    await waitForRow(page, instanceId, 'healthy');
    await page.waitForFunction((id, reason) => document.querySelector(`.row[data-id="${id}"] .reason`)?.textContent === reason, { timeout: 5_000 }, instanceId, up.reason);
    const seen = (await page.evaluate(() => (window as unknown as { seen: [string, string, string, number][] }).seen)).filter(([id]) => id === instanceId);
    const shown = (e: { to: string; reason: string }) => seen.find(([, state, reason]) => state === e.to && reason === e.reason);
    const downShown = shown(down);
    const upShown = shown(up);
    expect(downShown, `the page never showed ${down.to} (${down.reason}); it showed ${JSON.stringify(seen)}`).toBeDefined();
    expect(upShown).toBeDefined();
    const downLag = downShown![3] - down.at;
    const upLag = upShown![3] - up.at;
    expect(downLag).toBeGreaterThanOrEqual(0);
    expect(downLag).toBeLessThan(1_000);
    expect(upLag).toBeGreaterThanOrEqual(0);
    expect(upLag).toBeLessThan(1_000);
    // The new restart count (and pid) come with the lists the page asks for right after a recovery.
    await page.waitForFunction((id) => document.querySelector(`.row[data-id="${id}"] .num[title="restarts"]`)?.textContent === '↻ 1', { timeout: 3_000 }, instanceId);
    // The timeline has both transitions, and the page marked the last seq it drew.
    expect(Number(await page.evaluate(() => document.documentElement.dataset.seq))).toBeGreaterThanOrEqual(up.seq);
    expect(watched.problems).toEqual([]);
    await close(watched);
    await h.client.call('instance.stop', { instanceId });
  });

  it('renders a crawled title made of markup as text; the live view shows the tab; a failed tab has none', async () => {
    const { instanceId } = await h.client.call('instance.create', { name: 'markup', restart: { maxRestarts: 0 } });
    const url = h.pages.put('/xss', `<!doctype html><title>${XSS_TITLE.replace(/</g, '&lt;').replace(/>/g, '&gt;')}</title><h1 style="font-size:80px">live</h1>`);
    const { tabId } = await h.client.call('tab.open', { instanceId, url });
    expect((await h.client.call('tab.list', { instanceId })).tabs[0]?.title).toBe(XSS_TITLE);
    const watched = await openInspector();
    const { page } = watched;
    await waitForRow(page, tabId, 'healthy');
    const rendered = await page.evaluate((id) => {
      const name = document.querySelector(`.row[data-id="${id}"] .name`);
      return { text: name?.textContent, elements: name?.children.length, injected: document.querySelectorAll('img[src="x"], script:not([src])').length };
    }, tabId);
    expect(rendered).toEqual({ text: XSS_TITLE, elements: 0, injected: 0 });

    // The live view: a JPEG of the tab, about 320 px wide.
    await page.click(`.row[data-id="${tabId}"] .live-btn`);
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('img.thumb')?.naturalWidth ?? 0) > 0, { timeout: 10_000 });
    const size = await page.$eval('img.thumb', (img) => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight]);
    expect(size[0]).toBeGreaterThan(250);
    expect(size[0]).toBeLessThanOrEqual(320);
    expect(size[1]).toBeGreaterThan(100);

    // Several viewers within a second share one capture.
    const captures = h.tv.runtime.thumbnails.captures;
    const cookie = (await page.browserContext().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const shots = await Promise.all(Array.from({ length: 5 }, () => fetch(`${base}/inspector/thumbnail?tabId=${tabId}`, { headers: { cookie } })));
    expect(shots.map((r) => [r.status, r.headers.get('content-type')])).toEqual(Array(5).fill([200, 'image/jpeg']));
    expect(h.tv.runtime.thumbnails.captures - captures).toBeLessThanOrEqual(1);

    // No restart allowed: a kill -9 fails the instance and its tab, and a failed tab has no thumbnail.
    expect(watched.problems).toEqual([]);
    const mark = h.events.mark();
    process.kill((await h.client.call('instance.get', { instanceId })).pid as number, 'SIGKILL');
    await h.events.waitFor({ actor: tabId, to: 'failed' }, mark);
    await new Promise((r) => setTimeout(r, 1_100)); // past the one-second share
    const failed = await fetch(`${base}/inspector/thumbnail?tabId=${tabId}`, { headers: { cookie } });
    expect(failed.status).toBe(503);
    expect(await failed.text()).toMatch(/failed/);
    await waitForRow(page, tabId, 'failed');
    await page.waitForFunction(() => /no live view while the tab is failed/.test(document.querySelector('.live-status')?.textContent ?? ''), { timeout: 5_000 });
    // A request the page made in the moment between the kill and the news of it is answered
    // 503, as it should be, and Chromium logs that; nothing else may go wrong.
    const thumbnail = `${base}/inspector/thumbnail?tabId=${tabId}`;
    expect(watched.problems.filter((p) => !(p.includes('status of 503') && p.includes(thumbnail)))).toEqual([]);
    await close(watched);
    await h.client.call('instance.stop', { instanceId });
  });

  it('refuses a foreign Origin, a wrong Host and a missing token, in Chromium', async () => {
    // A page of another origin cannot open the socket, even knowing the token.
    const foreign = await openPage(h.pages.put('/foreign', '<!doctype html><title>foreign</title>'));
    const outcome = await foreign.page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('refused');
        }),
      `ws://127.0.0.1:${h.tv.server.port}/rpc?token=${encodeURIComponent(TOKEN)}`,
    );
    expect(outcome).toBe('refused');
    await close(foreign);
    // A rebinding name for this machine: the Host header is not this server's.
    const rebound = await openPage(`http://rebind.test:${h.tv.server.port}/inspector?token=${encodeURIComponent(TOKEN)}`);
    expect(rebound.status).toBe(403);
    await close(rebound);
    // No token, no cookie.
    const anonymous = await openPage(`${base}/inspector`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.page.evaluate(() => document.body.textContent)).toMatch(/missing or wrong token/);
    await close(anonymous);
  });
});

describe('inspector across a runtime restart', () => {
  it('reconnects after a restart with restore, and the timeline has every transition once', async () => {
    const baseline = resourceSnapshot();
    const stateDir = await mkdtemp(join(tmpdir(), 'tabvisor-inspector-test-'));
    const start = (port = 0) => startTabvisor({ port, defaults: fastDefaults, persistence: { stateDir } });
    let tv = await start();
    const port = tv.server.port;
    try {
      const client = await connect(tv.url, { client: 'restart-test' });
      const { instanceId } = await client.call('instance.create', { name: 'survivor' });
      await client.call('tab.open', { instanceId, url: h.pages.url('/page/survivor') });
      await client.close();

      const watched = await openPage(`http://127.0.0.1:${port}/inspector`);
      const { page } = watched;
      await page.select('#filter-window', '0'); // the whole history
      const count = () => page.$eval('#timeline-count', (el) => Number((el.textContent ?? '').match(/(\d+) transitions/)?.[1] ?? -1));
      const history = () => tv.runtime.transitionsSince(0).length;
      await page.waitForFunction((n) => document.querySelector('#timeline-count')?.textContent?.includes(`${n} transitions`), { timeout: 10_000 }, history());

      await tv.close(); // SIGTERM's way: everything stopped, the fleet recorded
      await page.waitForFunction(() => !document.getElementById('banner')?.classList.contains('hidden'), { timeout: 10_000 });
      tv = await start(port);
      await page.waitForFunction(() => document.getElementById('banner')?.classList.contains('hidden'), { timeout: 20_000 });
      const back = await connect(tv.url, { client: 'restart-test' });
      await back.call('events.subscribe', { topics: ['state'] });
      const until = Date.now() + 20_000;
      while ((await back.call('instance.get', { instanceId })).state !== 'healthy' && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect((await back.call('tab.list')).tabs.map((t) => t.state)).toEqual(['healthy']);
      await back.close();
      await waitForRow(page, instanceId, 'healthy');

      // The history holds both runtimes' transitions (seq continuing); the page shows each of them once.
      const all = tv.runtime.transitionsSince(0);
      expect(new Set(all.map((t) => t.seq)).size).toBe(all.length);
      expect(all.map((t) => t.seq)).toEqual(all.map((t, i) => all[0]!.seq + i));
      expect(all.filter((t) => t.actor === instanceId).map((t) => t.to)).toEqual(['spawning', 'healthy', 'stopping', 'stopped', 'recovering', 'healthy']);
      for (let i = 0; i < 20 && (await count()) !== history(); i++) await new Promise((r) => setTimeout(r, 200));
      expect(await count()).toBe(history());
      expect(watched.problems.filter((p) => !/WebSocket connection .* failed/.test(p))).toEqual([]);
      expect(watched.requests.filter((url) => !url.startsWith(`http://127.0.0.1:${port}/`))).toEqual([]);
      await close(watched);
    } finally {
      await tv.close();
      await rm(stateDir, { recursive: true, force: true });
    }
    await expectNoLeakedResources(baseline);
  });
});
