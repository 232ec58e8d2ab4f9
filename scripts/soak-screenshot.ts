// A PNG of a soak's HTML report as Chromium draws it offline (for docs/soak.md):
// `npx tsx scripts/soak-screenshot.ts DIR/soak-report.html out.png [--only key,key…] [--width 1400]`.
// With --only, the page shows just those series' charts (and the report's heading), in that order.
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import { findChrome } from '../src/chrome/find.js';

const [file, out] = process.argv.slice(2);
const flag = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
if (!file || !out) {
  console.error('usage: tsx scripts/soak-screenshot.ts <soak-report.html> <out.png> [--only key,key…] [--width 1400]');
  process.exit(2);
}
const only = flag('only')?.split(',');
const browser = await puppeteer.launch({ executablePath: (await findChrome()).path, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: Number(flag('width') ?? 1400), height: 900 });
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  if (only) {
    const missing = await page.evaluate((keys) => {
      document.querySelector('#verdicts')?.remove();
      document.querySelector('.legend')?.remove();
      const charts = document.getElementById('charts')!;
      const boxes = [...charts.children] as HTMLElement[];
      const byKey = new Map(boxes.map((b) => [b.querySelector('h3')?.textContent?.split(' ')[1] ?? '', b]));
      for (const b of boxes) b.remove();
      const lost: string[] = [];
      for (const key of keys) {
        const box = byKey.get(key);
        if (box) charts.append(box);
        else lost.push(key);
      }
      return lost;
    }, only);
    if (missing.length) console.error(`no chart for: ${missing.join(', ')}`);
  }
  // With --only, down to the last chart shown (the page keeps its full height otherwise).
  const bottom = only ? await page.evaluate(() => Math.ceil(document.getElementById('charts')!.getBoundingClientRect().bottom + scrollY + 16)) : null;
  await page.screenshot(bottom ? { path: out as `${string}.png`, captureBeyondViewport: true, clip: { x: 0, y: 0, width: Number(flag('width') ?? 1400), height: bottom } } : { path: out as `${string}.png`, fullPage: true });
  if (errors.length) console.error(`console errors:\n${errors.join('\n')}`);
} finally {
  await browser.close();
}
