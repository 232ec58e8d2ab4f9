/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// PREVIEW ONLY — opens the preview (fake feed) in real Chromium and checks what a test of the page
// cannot see from Node: no request leaves the origin, no console error, a crawled title renders as
// text, the live view asks at most once a second and stops when closed, the page reconnects
// without duplicates or gaps, and how long a frame takes. Screenshots go to `shots`.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import puppeteer, { type Page } from 'puppeteer-core';
import type { FakeFleet } from './inspector-preview-feed.js';

interface CheckOptions {
  base: string;
  shots: string;
  fleet: FakeFleet;
  dropConnections(ms: number): void;
  thumbnails(): number;
}

const XSS_TITLE = '<img src=x onerror=alert(1)>';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function checkInspector(options: CheckOptions): Promise<boolean> {
  const { base, shots, fleet } = options;
  mkdirSync(shots, { recursive: true });
  const executablePath = process.env.CHROME_PATH ?? ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'].find((p) => existsSync(p));
  const browser = await puppeteer.launch({ executablePath, headless: 'shell', args: ['--no-sandbox', '--headless'], defaultViewport: { width: 1400, height: 900 } });
  const problems: string[] = [];
  const results: string[] = [];
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${String(error)}`));
    page.on('dialog', (dialog) => {
      problems.push(`a dialog opened (${dialog.message()}): crawled text ran as code`);
      void dialog.dismiss();
    });
    await page.evaluateOnNewDocument(() => {
      const w = window as unknown as { longTasks: [number, number][] };
      w.longTasks = [];
      new PerformanceObserver((list) => list.getEntries().forEach((e) => w.longTasks.push([e.startTime, e.duration]))).observe({ type: 'longtask', buffered: true });
    });

    const t0 = Date.now();
    await page.goto(`${base}/inspector`, { waitUntil: 'load' });
    const actors = fleet.actors.size;
    await page.waitForFunction((n) => document.querySelectorAll('.row.instance, .row.tab').length >= n, { timeout: 20_000 }, actors);
    results.push(`first full render (navigation → ${actors} rows): ${Date.now() - t0} ms`);
    const loadedAt = await page.evaluate(() => performance.now());

    // Overview: the first instance selected after its crash and recovery (the feed's scenario at 4 s).
    await page.click('.row.instance');
    await sleep(Math.max(0, 7000 - (Date.now() - t0)));
    await page.screenshot({ path: `${shots}/overview.png` });

    // A crawled title made of markup is text, and nothing of it became an element.
    const xss = await page.evaluate((title) => {
      const names = [...document.querySelectorAll('.row.tab .name')].filter((e) => e.textContent === title);
      return { asText: names.length, injected: document.querySelectorAll('img[src="x"], script:not([src])').length };
    }, XSS_TITLE);
    if (fleet.options.tabs * fleet.options.instances >= 5 && xss.asText === 0) problems.push('the markup title is not shown as text');
    if (xss.injected > 0) problems.push('markup from a title became elements');
    results.push(`markup title rendered as text in ${xss.asText} rows, ${xss.injected} injected elements`);

    // The tab machine: select the tab with the markup title, open its live view.
    const tabRow = (await page.$$('.row.tab')).find(Boolean);
    const xssRow = await page.evaluateHandle((title) => [...document.querySelectorAll('.row.tab')].find((r) => r.querySelector('.name')?.textContent === title) ?? document.querySelector('.row.tab'), XSS_TITLE);
    await (xssRow.asElement() as Awaited<ReturnType<Page['$']>>)?.click();
    await sleep(300);
    await page.screenshot({ path: `${shots}/tab.png` });
    const healthyTab = await page.evaluateHandle(() => [...document.querySelectorAll('.row.tab')].find((r) => r.querySelector('.badge')?.textContent === 'healthy'));
    const liveButton = await (healthyTab.asElement() as Awaited<ReturnType<Page['$']>>)?.$('.live-btn');
    if (!liveButton && tabRow) problems.push('no healthy tab to open a live view of');
    if (liveButton) {
      const before = options.thumbnails();
      await liveButton.click();
      await sleep(3300);
      const during = options.thumbnails() - before;
      await page.screenshot({ path: `${shots}/live.png` });
      await page.click('.live-toggle');
      const closed = options.thumbnails();
      await sleep(2500);
      const after = options.thumbnails() - closed;
      results.push(`live view: ${during} thumbnails in 3.3 s while open, ${after} in 2.5 s after closing`);
      if (during < 2 || during > 4) problems.push(`live view fetched ${during} thumbnails in 3.3 s (expected about one a second)`);
      if (after > 0) problems.push(`live view kept fetching after it was closed (${after})`);
    }

    // Frame times under the live feed, then with a text filter over every transition.
    await page.select('#filter-window', '0');
    await page.evaluate(() => performance.clearMeasures('inspector-frame'));
    await sleep(5000);
    results.push(`frames under the live feed (5 s): ${await frameStats(page)}`);
    await page.evaluate(() => {
      performance.clearMeasures('inspector-frame');
      performance.clearMeasures('inspector-refilter');
      const input = document.getElementById('filter-text') as HTMLInputElement;
      input.value = 'crash';
      input.dispatchEvent(new Event('input'));
    });
    await sleep(600);
    results.push(`text filter "crash" over ${fleet.seq} transitions: lanes chosen and drawn in ${await frameStats(page, 'inspector-refilter')}`);
    await page.screenshot({ path: `${shots}/filtered.png` });

    // The JSON download holds what the timeline shows (a blob: download under the CSP).
    const downloads = resolve(shots, 'downloads');
    rmSync(downloads, { recursive: true, force: true });
    mkdirSync(downloads, { recursive: true });
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    const counted = await page.$eval('#timeline-count', (el) => Number((el.textContent ?? '').match(/(\d+) transitions/)?.[1] ?? -1));
    await page.click('#download');
    let file: string | undefined;
    for (let i = 0; i < 20 && !file; i++) {
      await sleep(150);
      file = readdirSync(downloads).find((name) => name.endsWith('.json'));
    }
    if (!file) problems.push('the JSON download produced no file');
    else {
      const saved = JSON.parse(readFileSync(join(downloads, file), 'utf8')) as { filters: { text: string }; transitions: unknown[] };
      results.push(`download: ${file} with ${saved.transitions.length} transitions (filter "${saved.filters.text}"; the view counted ${counted})`);
      if (Math.abs(saved.transitions.length - counted) > 5) problems.push(`the download holds ${saved.transitions.length} transitions, the view ${counted}`);
    }
    await page.$eval('#filter-text', (el) => {
      (el as HTMLInputElement).value = '';
      el.dispatchEvent(new Event('input'));
    });
    await sleep(400);

    // A lost connection: the banner, then a resync with neither duplicates nor gaps.
    options.dropConnections(2500);
    await sleep(700);
    const banner = await page.$eval('#banner', (el) => (el.classList.contains('hidden') ? '' : (el.textContent ?? '')));
    if (!banner.includes('disconnected — reconnecting')) problems.push(`no reconnecting banner (got "${banner}")`);
    await page.screenshot({ path: `${shots}/disconnected.png` });
    await page.waitForFunction(() => document.getElementById('banner')?.classList.contains('hidden'), { timeout: 20_000 });
    await sleep(1500);
    // Every seq from the first one the feed sent to the last, once: the window is 'all', no filter.
    let shown = 0;
    let expected = 0;
    for (let i = 0; i < 10; i++) {
      shown = await page.$eval('#timeline-count', (el) => Number((el.textContent ?? '').match(/(\d+) transitions/)?.[1] ?? -1));
      expected = fleet.seq - (fleet.firstSent ?? 1) + 1;
      if (shown === expected) break;
      await sleep(300);
    }
    results.push(`after the reconnect the timeline holds ${shown} transitions; the feed sent ${expected} (seq ${fleet.firstSent}–${fleet.seq})`);
    if (shown !== expected) problems.push(`after reconnecting: ${shown} transitions shown, ${expected} sent (duplicates or gaps)`);

    const longTasks = await page.evaluate(() => (window as unknown as { longTasks: [number, number][] }).longTasks);
    const late = longTasks.filter(([at]) => at > loadedAt);
    const describe = (tasks: [number, number][]) => `${tasks.length}${tasks.length ? ` (max ${Math.round(Math.max(...tasks.map(([, d]) => d)))} ms)` : ''}`;
    results.push(`long tasks (> 50 ms): ${describe(longTasks.filter(([at]) => at <= loadedAt))} while loading, ${describe(late)} after (screenshots included)`);
    const foreign = requests.filter((url) => !url.startsWith(`${base}/`));
    results.push(`requests: ${requests.length}, to other origins: ${foreign.length}`);
    if (foreign.length > 0) problems.push(`requests to other origins: ${foreign.slice(0, 5).join(', ')}`);
  } finally {
    await browser.close();
  }
  for (const line of results) console.log(`  ${line}`);
  for (const problem of problems) console.log(`  PROBLEM: ${problem}`);
  console.log(problems.length === 0 ? 'preview check: ok' : `preview check: ${problems.length} problems`);
  return problems.length === 0;
}

async function frameStats(page: Page, name = 'inspector-frame'): Promise<string> {
  const durations = await page.evaluate((n) => performance.getEntriesByName(n).map((e) => e.duration), name);
  if (durations.length === 0) return 'no frames';
  durations.sort((a, b) => a - b);
  const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]!.toFixed(1);
  return `${durations.length} frames, median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`;
}
