// A PNG of a soak's HTML report, as Chromium draws it offline (for docs/soak.md):
// `npx tsx scripts/soak-screenshot.ts DIR/soak-report.html out.png [width] [height]`.
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import { findChrome } from '../src/chrome/find.js';

const [file, out, width = '1400', height = '1100'] = process.argv.slice(2);
if (!file || !out) {
  console.error('usage: tsx scripts/soak-screenshot.ts <soak-report.html> <out.png> [width] [height]');
  process.exit(2);
}
const browser = await puppeteer.launch({ executablePath: (await findChrome()).path, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: Number(width), height: Number(height) });
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  await page.screenshot({ path: out as `${string}.png` });
  if (errors.length) console.error(`console errors:\n${errors.join('\n')}`);
} finally {
  await browser.close();
}
