// Analysis benchmark, in one run on one Chrome binary and the same generated pages:
//  1. flattening 20 snapshots of a 5,000-control page on the worker pool vs inline on the
//     main thread — throughput, and the main thread's event-loop delay while it runs;
//  2. tab.snapshot end to end over tabvisor's real WebSocket for ~100, ~1,000 and ~5,000
//     interactive elements — latency, where the time goes, event-loop delay;
//  3. raw puppeteer-core's nearest hand-rolled equivalent on the same pages,
//     page.accessibility.snapshot({ interestingOnly: true }), which parses the whole
//     accessibility tree on the main thread — latency and event-loop delay beside it.
//
//   npm run bench:analysis                 (5 rounds of 20 flattens, 15 snapshots per size)
//   npm run bench:analysis -- --quick      (2 rounds of 10 flattens, 5 snapshots per size)
//
// The worker runs the compiled code in dist/: run `npm run build` first (npm test does).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import puppeteer, { type Browser } from 'puppeteer-core';
import { AnalysisPool, defaultWorkerFile } from '../src/analysis/pool.js';
import { CAPTURED_STYLES } from '../src/analysis/page-model.js';
import { runTask } from '../src/analysis/tasks.js';
import { findChrome } from '../src/chrome/find.js';
import { RawCdp, transferable } from '../src/chrome/raw-cdp.js';
import { connect } from '../src/client/index.js';
import { startTabvisor } from '../src/index.js';
import { generatedPage } from '../test/integration/pages.js';

const quick = process.argv.includes('--quick');
const FLATTENS = quick ? 10 : 20;
const SNAPSHOTS = quick ? 5 : 15;
const ROUNDS = quick ? 2 : 5;
const WARMUP = 2;
const SIZES = [100, 1_000, 5_000];
const TARGETS = { throughputRatio: 1.7, poolLoopP99Ms: 20 };

const pct = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
};
const ms = (n: number) => `${n.toFixed(1)} ms`;
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

/** The main thread's event-loop delay while `work` runs (1 ms resolution), in ms. */
async function underLoopMonitor<T>(work: () => Promise<T>): Promise<{ value: T; loop: { p50: number; p99: number; max: number } }> {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  try {
    const value = await work();
    return { value, loop: { p50: histogram.percentile(50) / 1e6, p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6 } };
  } finally {
    histogram.disable();
  }
}

// Pages with ~N interactive elements: 10 of generatedPage's 16 element kinds are interactive.
const pages = new Map(SIZES.map((n) => [n, generatedPage(Math.ceil((n * 16) / 10))]));
const server = createServer((req, res) => {
  const page = pages.get(Number((req.url ?? '/').slice(1)));
  res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(page?.html ?? '');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const pageUrl = (n: number) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/${n}`;

const binary = await findChrome();
log(`Chrome ${binary.path}; worker ${defaultWorkerFile()}; ${availableParallelism()} CPUs`);
const rows: string[][] = [];
const row = (...cells: string[]) => rows.push(cells);
let browser: Browser | undefined;

try {
  // ── 1. flatten on the pool vs inline ─────────────────────────────────────────────────
  browser = await puppeteer.launch({ executablePath: binary.path, headless: 'shell', args: ['--no-sandbox'] });
  const page = await browser.newPage();
  await page.goto(pageUrl(5_000));
  const endpoint = new URL(browser.wsEndpoint());
  endpoint.pathname = `/devtools/page/${(page.target() as unknown as { _targetId: string })._targetId}`;
  const raw = await RawCdp.connect(endpoint.href);
  const dom = await raw.send('DOMSnapshot.captureSnapshot', { computedStyles: CAPTURED_STYLES, includeDOMRects: false });
  const ax = await raw.send('Accessibility.getFullAXTree', {});
  raw.close();
  log(`captured 5,000-control page: DOM snapshot ${(dom.length / 1e6).toFixed(1)} MB, accessibility tree ${(ax.length / 1e6).toFixed(1)} MB`);
  // Each task gets its own copy of the frames, made before any timing: in the runtime the
  // frame's buffer is handed over as received, with no copy.
  const task = () => {
    const d = transferable(Buffer.from(dom));
    const a = transferable(Buffer.from(ax));
    return { task: { kind: 'flatten' as const, dom: d, ax: a, filter: 'interactive' as const, maxNodes: 100_000 }, transfer: [d.buffer, a.buffer] };
  };
  const batch = () => Array.from({ length: FLATTENS }, task);

  // Rounds alternate pool and inline so that the machine's drift falls on both; the figures
  // are the medians over the rounds.
  const pool = new AnalysisPool({ threads: availableParallelism() });
  await Promise.all(Array.from({ length: availableParallelism() * 2 }, () => pool.run(task().task)));
  const rounds: { poolMs: number; inlineMs: number; poolLoop: { p99: number; max: number }; inlineLoop: { p99: number; max: number } }[] = [];
  const counts = new Set<number>();
  for (let round = 0; round < ROUNDS; round++) {
    const poolTasks = batch();
    const started = performance.now();
    const onPool = await underLoopMonitor(() => Promise.all(poolTasks.map(({ task: t, transfer }) => pool.run(t, { transfer }))));
    const poolMs = performance.now() - started;

    const inlineTasks = batch();
    const inlineStarted = performance.now();
    const inline = await underLoopMonitor(async () => {
      const results = [];
      for (const { task: t } of inlineTasks) {
        results.push((await runTask(t)) as Awaited<ReturnType<AnalysisPool['run']>>);
        await new Promise((r) => setImmediate(r)); // let the monitor see each task's stall
      }
      return results;
    });
    const inlineMs = performance.now() - inlineStarted;
    for (const r of [...onPool.value, ...inline.value]) counts.add((r as { nodes: unknown[] }).nodes.length);
    rounds.push({ poolMs, inlineMs, poolLoop: onPool.loop, inlineLoop: inline.loop });
    log(`round ${round + 1}: pool ${poolMs.toFixed(0)} ms, inline ${inlineMs.toFixed(0)} ms`);
  }
  await pool.close();
  if (counts.size !== 1) throw new Error(`pool and inline disagree on the node count: ${[...counts].join(', ')}`);
  const poolMs = pct(rounds.map((r) => r.poolMs), 50);
  const inlineMs = pct(rounds.map((r) => r.inlineMs), 50);
  const onPool = { loop: { p99: pct(rounds.map((r) => r.poolLoop.p99), 50), max: Math.max(...rounds.map((r) => r.poolLoop.max)) } };
  const inline = { loop: { p99: pct(rounds.map((r) => r.inlineLoop.p99), 50), max: Math.max(...rounds.map((r) => r.inlineLoop.max)) } };
  const poolRate = (FLATTENS / poolMs) * 1000;
  const inlineRate = (FLATTENS / inlineMs) * 1000;
  const ratio = poolRate / inlineRate;
  row('flatten', `${FLATTENS} × 5,000-control page (${[...counts][0]} nodes), median of ${ROUNDS} rounds`, 'inline (main thread)', 'pool', 'ratio', 'target', '');
  row('flatten', 'throughput', `${inlineRate.toFixed(1)}/s (${ms(inlineMs)})`, `${poolRate.toFixed(1)}/s (${ms(poolMs)})`, `${ratio.toFixed(2)}×`, `≥ ${TARGETS.throughputRatio}×`, ratio >= TARGETS.throughputRatio ? 'PASS' : 'FAIL');
  row('flatten', 'event-loop delay p99', ms(inline.loop.p99), ms(onPool.loop.p99), '', `< ${TARGETS.poolLoopP99Ms} ms`, onPool.loop.p99 < TARGETS.poolLoopP99Ms ? 'PASS' : 'FAIL');
  row('flatten', 'event-loop delay max (all rounds)', ms(inline.loop.max), ms(onPool.loop.max), '', '', '');
  await browser.close();
  browser = undefined;

  // ── 2 and 3. tab.snapshot over the channel vs raw puppeteer's accessibility snapshot ──
  const tabvisor = await startTabvisor({ port: 0, binary });
  const client = await connect(tabvisor.url, { client: 'bench' });
  browser = await puppeteer.launch({ executablePath: binary.path, headless: 'shell', args: ['--no-sandbox'] });
  try {
    const { instanceId } = await client.call('instance.create', {});
    row('snapshot', 'interactive elements', 'raw a11y snapshot', 'tab.snapshot (ws)', 'ratio', '', '');
    for (const n of SIZES) {
      const { tabId } = await client.call('tab.open', { instanceId, url: pageUrl(n) });
      const rawPage = await browser.newPage();
      await rawPage.goto(pageUrl(n));
      const ours: number[] = [];
      const theirs: number[] = [];
      const capture: number[] = [];
      const flatten: number[] = [];
      let nodes = 0;
      for (let i = 0; i < WARMUP; i++) {
        await client.call('tab.snapshot', { tabId });
        await rawPage.accessibility.snapshot({ interestingOnly: true });
      }
      const oursRun = await underLoopMonitor(async () => {
        for (let i = 0; i < SNAPSHOTS; i++) {
          const t0 = performance.now();
          const snap = await client.call('tab.snapshot', { tabId });
          ours.push(performance.now() - t0);
          capture.push(snap.stats.captureMs);
          flatten.push(snap.stats.flattenMs);
          nodes = snap.nodes.length;
        }
      });
      const theirsRun = await underLoopMonitor(async () => {
        for (let i = 0; i < SNAPSHOTS; i++) {
          const t0 = performance.now();
          await rawPage.accessibility.snapshot({ interestingOnly: true });
          theirs.push(performance.now() - t0);
        }
      });
      await rawPage.close();
      await client.call('tab.close', { tabId });
      const r = pct(ours, 50) / pct(theirs, 50);
      row('snapshot', `${nodes}: latency p50`, ms(pct(theirs, 50)), ms(pct(ours, 50)), `${r.toFixed(2)}×`, '', '');
      row('snapshot', `${nodes}: latency p95 / max`, `${ms(pct(theirs, 95))} / ${ms(Math.max(...theirs))}`, `${ms(pct(ours, 95))} / ${ms(Math.max(...ours))}`, '', '', '');
      row('snapshot', `${nodes}: Chrome capture / worker flatten p50`, '', `${ms(pct(capture, 50))} / ${ms(pct(flatten, 50))}`, '', '', '');
      row('snapshot', `${nodes}: event-loop delay p99 / max`, `${ms(theirsRun.loop.p99)} / ${ms(theirsRun.loop.max)}`, `${ms(oursRun.loop.p99)} / ${ms(oursRun.loop.max)}`, '', '', '');
    }
  } finally {
    await client.close();
    await tabvisor.close();
  }
} finally {
  await browser?.close();
  server.close();
}

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(`\ntabvisor analysis benchmark — ${availableParallelism()} CPUs, Node ${process.version}, ${binary.path}\n`);
for (const [i, r] of rows.entries()) {
  console.log(line(r));
  if (i === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
}
