// Takes docs/inspector.png from a real runtime: three instances with tabs on local pages, one
// browser killed with SIGKILL (its recovery in the timeline), a tab's renderer crashed, the
// recovered instance selected. Real Chrome, real page.
//   npm run build && npx tsx scripts/inspector-screenshot.ts [--out docs/inspector.png]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer-core';
import { findChrome } from '../src/chrome/find.js';
import { connect, startTabvisor } from '../src/index.js';

const { values: args } = parseArgs({ options: { out: { type: 'string', default: 'docs/inspector.png' } } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TITLES: Record<string, string> = {
  '/docs': 'Docs — Getting started',
  '/search': 'Search results for "supervision"',
  '/shop': 'Checkout · Example Shop',
  '/news': 'News — Today',
  '/dashboard': 'Dashboard',
};
const pages = createServer((req, res) => {
  const title = TITLES[req.url ?? ''] ?? 'Example Domain';
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(
    `<!doctype html><title>${title}</title><body style="font:18px sans-serif;margin:0">` +
      `<header style="background:#1d4ed8;color:#fff;padding:18px 28px;font-size:26px">${title}</header>` +
      `<main style="padding:24px 28px"><p>A local page for the inspector's screenshot.</p>` +
      `<div style="display:flex;gap:16px">${'<div style="flex:1;height:140px;background:#e5e7eb;border-radius:8px"></div>'.repeat(3)}</div></main>`,
  );
});
await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;

const binary = await findChrome();
const tv = await startTabvisor({ port: 0, binary });
const client = await connect(tv.url, { client: 'docs' });
const browser = await puppeteer.launch({ executablePath: binary.path, headless: 'shell', args: ['--no-sandbox'], defaultViewport: { width: 1440, height: 900 } });
try {
  const fleet: { instanceId: string; pid: number; tabs: string[] }[] = [];
  for (const [name, paths] of [
    ['crawler-eu', ['/docs', '/search']],
    ['crawler-us', ['/shop', '/news']],
    ['agent-7', ['/dashboard']],
  ] as const) {
    const { instanceId, pid } = await client.call('instance.create', { name });
    const tabs = [];
    for (const path of paths) tabs.push((await client.call('tab.open', { instanceId, url: `${origin}${path}` })).tabId);
    fleet.push({ instanceId, pid: pid as number, tabs });
  }
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${tv.server.port}/inspector`);
  await page.waitForSelector('#conn.up');
  await sleep(2_000);
  // A recovery: the second browser killed; a renderer crash in the third instance's tab.
  process.kill(fleet[1]!.pid, 'SIGKILL');
  await sleep(3_000);
  const crashed = tv.runtime.chrome(fleet[2]!.instanceId).tabs.get(fleet[2]!.tabs[0]!);
  await crashed?.page.goto('chrome://crash').catch(() => {});
  await sleep(4_000);
  await page.select('#filter-window', '60000');
  await page.click(`.row[data-id="${fleet[1]!.instanceId}"]`);
  await sleep(1_500);
  await page.screenshot({ path: args.out });
  console.log(`wrote ${args.out}`);
} finally {
  await browser.close();
  await client.close();
  await tv.close();
  pages.close();
}
