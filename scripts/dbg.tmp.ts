import puppeteer from 'puppeteer-core';
import { startTabvisor } from '../src/index.js';
import { connect } from '../src/client/index.js';
import { findChrome } from '../src/chrome/find.js';
import { rawLaunchOptions } from './bench/utils/raw.js';
import { servePages } from './bench/utils/pages.js';
import { adFrame, realPageCsp, realPages } from './bench/utils/real-pages.js';
const real = realPages();
const server = await servePages((path) => { const [, kind, name] = path.split('/'); if (kind === 'ad') return adFrame(Number(name)); return kind === 'real' ? (real.find((r) => r.name === name)?.html ?? null) : null; }, { 'content-security-policy': realPageCsp('http://localhost:*') });
for (const r of real) r.html = r.html.replaceAll('CROSS', server.origin.replace('127.0.0.1', 'localhost'));
const tv = await startTabvisor({ port: 0 });
const client = await connect(tv.url, {});
const browser = await puppeteer.launch(rawLaunchOptions(await findChrome()));
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
try {
  const { instanceId } = await client.call('instance.create', {});
  for (const r of real.filter((r) => !process.env.ONLY || r.name.includes(process.env.ONLY))) {
    const url = `${server.origin}/real/${r.name}`;
    const { tabId } = await client.call('tab.open', { instanceId, url });
    const page = await browser.newPage();
    await page.goto(url);
    const ours: number[] = [], theirs: number[] = [], cap: number[] = [], fl: number[] = [];
    let n = 0, hidden = 0, frames = 0;
    for (let i = 0; i < 10; i++) {
      let t0 = performance.now();
      const snap = await client.call('tab.snapshot', { tabId });
      if (i > 1) { ours.push(performance.now() - t0); cap.push(snap.stats.captureMs); fl.push(snap.stats.flattenMs); }
      n = snap.nodes.length; hidden = snap.nodes.filter((x) => x.hidden).length; frames = snap.frames?.length ?? 0;
      t0 = performance.now();
      await page.accessibility.snapshot({ interestingOnly: true });
      if (i > 1) theirs.push(performance.now() - t0);
    }
    console.log(r.name, `nodes ${n} hidden ${hidden} unnamed ${0} frames ${frames}`, 'ours', med(ours).toFixed(1), 'capture', med(cap), 'flatten', med(fl), 'puppeteer', med(theirs).toFixed(1), 'ratio', (med(ours) / med(theirs)).toFixed(2));
    await page.close();
  }
  await client.call('instance.stop', { instanceId });
} finally { await browser.close(); await client.close(); await tv.close(); await server.close(); }
