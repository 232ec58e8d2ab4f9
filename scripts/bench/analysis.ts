// Analysis benchmark: what moving snapshot analysis off the main thread buys, in one run, on
// one Chrome binary and the same generated pages (served from 127.0.0.1):
//
//  1. flatten — the two raw CDP responses of a ~5,000-interactive-element page
//     (DOMSnapshot.captureSnapshot, Accessibility.getFullAXTree) are captured once from a real
//     Chrome, then flattened N times (a) on the analysis pool (one thread per CPU, warmed up,
//     all tasks submitted at once, each with its own copy of the frames, transferred) and
//     (b) inline on the main thread (runTask, the worker's own code, N times in a row), in
//     rounds that alternate the two (this VM drifts a lot); figures are medians over rounds.
//     Throughput, and the main thread's event-loop delay while it runs. Targets: pool
//     throughput ≥ 1.7× inline, event-loop p99 < 20 ms with the pool (median round).
//  2. tab.snapshot end to end over tabvisor's real WebSocket control channel, for pages with
//     ~100, ~1,000 and ~5,000 interactive elements: latency, where the time goes (Chrome's
//     capture vs the worker's flatten, from the snapshot's own stats) and event-loop delay.
//  3. raw puppeteer-core's nearest hand-rolled equivalent on the same pages,
//     page.accessibility.snapshot({ interestingOnly: true }) — puppeteer parses the whole
//     accessibility tree on the main thread — latency and event-loop delay, with ratios.
//     2 and 3 also on real-world pages (scripts/bench/utils/real-pages.ts: three saved
//     Wikipedia articles and a built news front page with ad frames).
//  4. analysis.audit (axe-core in the page, its findings mapped on the pool) on the real pages:
//     latency and event-loop delay.
//
//   npm run bench:analysis                 (5 rounds of 20 flattens, 15 snapshots per page, 5 audits)
//   npm run bench:analysis -- --quick      (2 rounds of 10 flattens, 4 snapshots per page, 2 audits, 1 warm-up)
//   counts can be set one by one: --rounds=N --flattens=N --snapshots=N --warmup=N --audits=N
//   --build                                (run `npm run build` first if dist/ is stale)
//
// The pool's worker runs the compiled code in dist/ while the inline side runs src/ through
// tsx: the bench refuses to run on a stale dist/ (the two would not run the same code).
//
// Fairness rules: both sides are warmed up (the pool with 2 tasks per thread so thread start-up
// and JIT are not counted, the main thread with 2 inline runs); the inline side yields to the
// event loop between tasks, as a server answering one request at a time would, so its delay
// figures are per-task stalls rather than one stall of the whole batch. In parts 2 and 3 both
// browsers launch the same binary with tabvisor's lean flags and both stay alive; per page
// size each side runs its calls as one block under its own event-loop histogram, and which
// block goes first alternates from size to size. (Not call by call: an event-loop histogram
// that is disabled and enabled again records the whole gap as one delay, and two cannot be
// merged.) The tabvisor server and its client share this process, so tabvisor's event-loop
// figures include the client's parse of each answer. Percentiles of latencies are
// interpolated (with 15 samples a nearest-rank p95 would be the max).
//
// Run nothing else on the machine. Before each measurement (each flatten round, each snapshot
// block) the bench waits (at most BENCH_QUIET_WAIT_MS, default 20 s, 5 s with --quick) until
// processes other than this one and its browsers use under a quarter of a core, and it reports
// the CPU they took during each measurement (from /proc): on 2 cores, one busy neighbour can
// halve the pool's throughput.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Page, SerializedAXNode } from 'puppeteer-core';
import { AnalysisPool, defaultWorkerFile } from '../../src/analysis/pool.js';
import { CAPTURED_STYLES } from '../../src/analysis/page-model.js';
import { runTask, type AnalysisTask, type TaskResults } from '../../src/analysis/tasks.js';
import { RawCdp } from '../../src/chrome/raw-cdp.js';
import { connect } from '../../src/client/index.js';
import { startTabvisor } from '../../src/index.js';
import { generatedPage, type GeneratedPage } from '../../test/integration/pages.js';
import type { Bench, Scenario } from './run.js';
import { fmtMs, fmtRatio, pct as percentile, round } from './utils/figures.js';
import { log } from './utils/machine.js';
import { servePages } from './utils/pages.js';
import { adFrame, realPageCsp, realPages } from './utils/real-pages.js';

const QUIET_CORES = 0.25;
const FLATTEN_SIZE = 5_000;
const SIZES = [100, 1_000, 5_000];
const THREADS = availableParallelism();
const TARGETS = { throughputRatio: 1.7, poolLoopP99Ms: 20 };

const pct = (values: number[], p: number) => percentile(values, p, 'interpolated');
const median = (values: number[]) => pct(values, 50);

interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  samples: number;
}
/** The main thread's event-loop delay (1 ms resolution); the histogram is in ns. */
const loopHistogram = () => monitorEventLoopDelay({ resolution: 1 });
const loopDelay = (h: IntervalHistogram): LoopDelay => ({
  p50: round(h.percentile(50) / 1e6, 2),
  p99: round(h.percentile(99) / 1e6, 2),
  max: round(h.max / 1e6, 2),
  samples: h.count,
});
async function underLoopMonitor<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; loop: LoopDelay }> {
  const h = loopHistogram();
  h.enable();
  const t0 = performance.now();
  try {
    const value = await work();
    const ms = performance.now() - t0;
    h.disable();
    return { value, ms, loop: loopDelay(h) };
  } finally {
    h.disable();
  }
}
const fmtLoop = (l: LoopDelay) => `${fmtMs(l.p50)} / ${fmtMs(l.p99)} / ${fmtMs(l.max)}`;

/** The worker runs dist/; the inline side runs src/. They must be the same code. */
function staleDist(): string[] {
  const stale: string[] = [];
  for (const file of readdirSync('src/analysis')) {
    if (!file.endsWith('.ts')) continue;
    const built = `dist/src/analysis/${file.replace(/\.ts$/, '.js')}`;
    let builtAt = 0;
    try {
      builtAt = statSync(built).mtimeMs;
    } catch {
      // missing
    }
    if (builtAt < statSync(`src/analysis/${file}`).mtimeMs) stale.push(`src/analysis/${file}`);
  }
  return stale;
}

type Row = { section: string; metric: string; n: string; baseline: string; tabvisor: string; ratio: string; target: string; verdict: '' | 'PASS' | 'FAIL' };
const verdict = (ok: boolean): Row['verdict'] => (ok ? 'PASS' : 'FAIL');
type Conditions = { waitedMs: number; othersCoresBefore: number; othersCoresDuring: number; selfCores: number; foreignChrome: number; loadavg1: number };

export default function analysis(bench: Bench): Scenario {
  const FLATTENS = bench.count('flattens', 20, 10);
  const ROUNDS = bench.count('rounds', 5, 2);
  const SNAPSHOTS = bench.count('snapshots', 15, 4);
  const WARMUP = bench.count('warmup', 2, 1);
  const AUDITS = bench.count('audits', 5, 2);
  // Wait at most this long, before each measurement, for other processes to leave the CPUs alone.
  const QUIET_WAIT_MS = Number(process.env.BENCH_QUIET_WAIT_MS ?? (bench.quick ? 5_000 : 20_000));
  const { machine, raw, binary, results } = bench;
  const rows: Row[] = [];

  // ── preconditions: a fresh dist/ ──────────────────────────────────────────────────────
  let stale = staleDist();
  if (stale.length && bench.flag('build')) {
    log(`dist/ is older than ${stale.join(', ')}: running npm run build`);
    execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'pipe', 'inherit'] });
    stale = staleDist();
  }
  if (stale.length) {
    console.error(`dist/ is stale (older than ${stale.join(', ')}): the pool's worker would not run the code the inline side runs.\nRun \`npm run build\` first, or pass --build.`);
    process.exit(2);
  }
  log(`worker ${defaultWorkerFile()}; ${THREADS} threads`);

  const waitForQuiet = () => machine.waitForQuietCpu(QUIET_WAIT_MS, QUIET_CORES);
  /** Run a measurement after waiting for a quiet machine, recording the others' CPU during it. */
  const conditions: Record<string, Conditions> = {};
  async function measured<T>(name: string, work: () => Promise<T>, wait = true): Promise<T> {
    const quiet = wait ? await waitForQuiet() : { waitedMs: 0, othersCores: NaN };
    const foreign = await machine.foreignChrome();
    const before = machine.cpuReading();
    const selfBefore = process.cpuUsage();
    const t0 = performance.now();
    const value = await work();
    const self = process.cpuUsage(selfBefore);
    const selfCores = round((self.user + self.system) / 1000 / (performance.now() - t0), 2);
    const during = machine.othersCores(before, machine.cpuReading());
    conditions[name] = { waitedMs: quiet.waitedMs, othersCoresBefore: quiet.othersCores, othersCoresDuring: during, selfCores, foreignChrome: foreign, loadavg1: round(loadavg()[0] as number, 2) };
    if (during >= QUIET_CORES || foreign) log(`${name}: other processes used ${during} cores during it (${foreign} foreign Chrome processes)`);
    return value;
  }

  async function measure(): Promise<void> {
    // The pages: ~N interactive elements (10 of generatedPage's 16 slot kinds are interactive).
    const pages = new Map<number, GeneratedPage>(SIZES.map((n) => [n, generatedPage(Math.ceil((n * 16) / 10))]));
    const server = await servePages((path) => pages.get(Number(path.slice(1)))?.html ?? null);
    bench.defer(() => server.close());
    const pageUrl = (n: number) => `${server.origin}/${n}`;
    const expected = (n: number) => (pages.get(n) as GeneratedPage).interactive.size;

    // ── 1. flatten: the pool vs the main thread ───────────────────────────────────────────
    log(`capturing the ~${FLATTEN_SIZE.toLocaleString('en')}-element page's DOM snapshot and accessibility tree`);
    const captureBrowser = await raw.launch();
    const capturePage = await captureBrowser.newPage();
    await capturePage.goto(pageUrl(FLATTEN_SIZE), { waitUntil: 'load' });
    const session = await capturePage.createCDPSession();
    const { targetInfo } = await session.send('Target.getTargetInfo');
    await session.detach();
    const endpoint = new URL(captureBrowser.wsEndpoint());
    endpoint.pathname = `/devtools/page/${targetInfo.targetId}`;
    const cdp = await RawCdp.connect(endpoint.href);
    let dom: Buffer;
    let ax: Buffer;
    const captureMs = { dom: 0, ax: 0 };
    try {
      // One after the other, to see what each costs Chrome (tabvisor sends both at once).
      let t0 = performance.now();
      dom = await cdp.send('DOMSnapshot.captureSnapshot', { computedStyles: CAPTURED_STYLES, includeDOMRects: false });
      captureMs.dom = round(performance.now() - t0);
      t0 = performance.now();
      ax = await cdp.send('Accessibility.getFullAXTree', {});
      captureMs.ax = round(performance.now() - t0);
    } finally {
      cdp.close();
    }
    await raw.close(captureBrowser); // no Chrome competes for the CPUs while flattening
    log(`DOM snapshot ${(dom.byteLength / 2 ** 20).toFixed(1)} MB (${captureMs.dom} ms), accessibility tree ${(ax.byteLength / 2 ** 20).toFixed(1)} MB (${captureMs.ax} ms)`);

    /** A task with its own copies of the frames, each over an exactly-sized ArrayBuffer. */
    const flattenTask = () => {
      const d = new Uint8Array(dom.byteLength);
      d.set(dom);
      const a = new Uint8Array(ax.byteLength);
      a.set(ax);
      const task: Extract<AnalysisTask, { kind: 'flatten' }> = { kind: 'flatten', sessions: [{ dom: d, ax: [{ tree: a }], origins: [] }], filter: 'interactive', maxNodes: 100_000 };
      return { task, transfer: [d.buffer, a.buffer] };
    };
    type Flattened = TaskResults['flatten'];
    const asFlattened = (r: unknown): Flattened => {
      if (!r || typeof r !== 'object' || !('columns' in r)) throw new Error(`flatten failed: ${JSON.stringify(r).slice(0, 300)}`);
      return r as Flattened;
    };

    log(`flatten: ${ROUNDS} rounds of ${FLATTENS} tasks on the pool (${THREADS} threads, warmed with ${THREADS * 2} tasks) and inline (warmed with ${WARMUP} runs)`);
    const pool = new AnalysisPool({ threads: THREADS });
    bench.defer(() => pool.close());
    const warm = Array.from({ length: THREADS * 2 }, flattenTask);
    await Promise.all(warm.map(({ task, transfer }) => pool.run(task, { transfer })));
    for (let i = 0; i < WARMUP; i++) asFlattened(await runTask(flattenTask().task));
    interface Half {
      ms: number;
      loop: LoopDelay;
      taskMs: number[];
      others: number;
      /** CPU this process (every thread, V8's GC helpers included) used, in cores. */
      selfCores: number;
    }
    const rounds: { pool: Half; inline: Half }[] = [];
    const nodeCounts = new Set<number>();
    for (let k = 0; k < ROUNDS; k++) {
      await waitForQuiet();
      const runPool = async (): Promise<Half> => {
        const tasks = Array.from({ length: FLATTENS }, flattenTask); // copies made before the clock starts
        const name = `flatten round ${k + 1} pool`;
        const run = await measured(name, () => underLoopMonitor(() => Promise.all(tasks.map(({ task, transfer }) => pool.run(task, { transfer })))), false);
        const out = run.value.map(asFlattened);
        for (const r of out) nodeCounts.add(r.columns.count);
        return { ms: run.ms, loop: run.loop, taskMs: out.map((r) => r.stats.flattenMs), others: conditions[name]?.othersCoresDuring ?? NaN, selfCores: conditions[name]?.selfCores ?? NaN };
      };
      const runInline = async (): Promise<Half> => {
        const tasks = Array.from({ length: FLATTENS }, flattenTask);
        const name = `flatten round ${k + 1} inline`;
        const run = await measured(
          name,
          () =>
            underLoopMonitor(async () => {
              const out: Flattened[] = [];
              for (const { task } of tasks) {
                out.push(asFlattened(await runTask(task)));
                await new Promise((r) => setImmediate(r)); // yield, as a server between two requests
              }
              return out;
            }),
          false,
        );
        for (const r of run.value) nodeCounts.add(r.columns.count);
        return { ms: run.ms, loop: run.loop, taskMs: run.value.map((r) => r.stats.flattenMs), others: conditions[name]?.othersCoresDuring ?? NaN, selfCores: conditions[name]?.selfCores ?? NaN };
      };
      // Alternate which goes first: a half that follows the other inherits its garbage.
      let r: { pool: Half; inline: Half };
      if (k % 2 === 0) {
        const pooled = await runPool();
        r = { pool: pooled, inline: await runInline() };
      } else {
        const inlined = await runInline();
        r = { inline: inlined, pool: await runPool() };
      }
      rounds.push(r);
      log(`round ${k + 1}: pool ${r.pool.ms.toFixed(0)} ms (loop p99 ${r.pool.loop.p99} ms), inline ${r.inline.ms.toFixed(0)} ms; others took ${r.pool.others} / ${r.inline.others} cores`);
    }
    // One task at a time on the pool: a worker's own speed, without a second task beside it.
    const alone: number[] = [];
    await waitForQuiet();
    for (let i = 0; i < Math.min(FLATTENS, 6); i++) {
      const { task, transfer } = flattenTask();
      alone.push(asFlattened(await pool.run(task, { transfer })).stats.flattenMs);
    }
    const poolStats = pool.stats();
    await pool.close();

    if (nodeCounts.size !== 1) throw new Error(`SANITY: the pool and the inline runs disagree on the node count: ${[...nodeCounts].join(', ')}`);
    const flatNodes = [...nodeCounts][0] as number;
    if (flatNodes !== expected(FLATTEN_SIZE)) log(`WARNING: flatten returned ${flatNodes} nodes, the page has ${expected(FLATTEN_SIZE)} interactive elements`);
    const side = (k: 'pool' | 'inline') => {
      const halves = rounds.map((r) => r[k]);
      return {
        ms: median(halves.map((h) => h.ms)),
        msMin: Math.min(...halves.map((h) => h.ms)),
        msMax: Math.max(...halves.map((h) => h.ms)),
        taskMs: halves.flatMap((h) => h.taskMs),
        loopP50: median(halves.map((h) => h.loop.p50)),
        loopP99: median(halves.map((h) => h.loop.p99)),
        loopP99Worst: Math.max(...halves.map((h) => h.loop.p99)),
        loopMax: Math.max(...halves.map((h) => h.loop.max)),
        others: halves.map((h) => h.others),
        selfCores: median(halves.map((h) => h.selfCores)),
      };
    };
    const onPool = side('pool');
    const inline = side('inline');
    const poolRate = (FLATTENS / onPool.ms) * 1000;
    const inlineRate = (FLATTENS / inline.ms) * 1000;
    const throughputRatio = poolRate / inlineRate;
    const perRoundRatios = rounds.map((r) => r.inline.ms / r.pool.ms);
    const n = `${ROUNDS}×${FLATTENS}`;
    rows.push(
      { section: 'flatten', metric: `wall time, ${FLATTENS} × ${flatNodes}-node page, median round (min–max)`, n, baseline: `${fmtMs(inline.ms)} (${inline.msMin.toFixed(0)}–${inline.msMax.toFixed(0)})`, tabvisor: `${fmtMs(onPool.ms)} (${onPool.msMin.toFixed(0)}–${onPool.msMax.toFixed(0)})`, ratio: fmtRatio(onPool.ms / inline.ms), target: '', verdict: '' },
      { section: 'flatten', metric: 'throughput (snapshots/s), median round', n, baseline: inlineRate.toFixed(2), tabvisor: poolRate.toFixed(2), ratio: fmtRatio(throughputRatio), target: `≥ ${TARGETS.throughputRatio}×`, verdict: verdict(throughputRatio >= TARGETS.throughputRatio) },
      { section: 'flatten', metric: 'throughput ratio per round', n, baseline: '', tabvisor: '', ratio: perRoundRatios.map((r) => r.toFixed(2)).join(' '), target: '', verdict: '' },
      { section: 'flatten', metric: 'one task (its flattenMs) p50 / max', n, baseline: `${fmtMs(median(inline.taskMs))} / ${fmtMs(Math.max(...inline.taskMs))}`, tabvisor: `${fmtMs(median(onPool.taskMs))} / ${fmtMs(Math.max(...onPool.taskMs))}`, ratio: fmtRatio(median(onPool.taskMs) / median(inline.taskMs)), target: '', verdict: '' },
      { section: 'flatten', metric: 'one task alone on the pool (flattenMs) p50', n: `${alone.length}`, baseline: '', tabvisor: fmtMs(median(alone)), ratio: fmtRatio(median(alone) / median(inline.taskMs)), target: '', verdict: '' },
      { section: 'flatten', metric: 'CPU this process used (cores), median round', n, baseline: `${inline.selfCores}`, tabvisor: `${onPool.selfCores}`, ratio: '', target: '', verdict: '' },
      { section: 'flatten', metric: 'event-loop delay p50, median round', n, baseline: fmtMs(inline.loopP50), tabvisor: fmtMs(onPool.loopP50), ratio: '', target: '', verdict: '' },
      { section: 'flatten', metric: 'event-loop delay p99, median round', n, baseline: fmtMs(inline.loopP99), tabvisor: fmtMs(onPool.loopP99), ratio: fmtRatio(onPool.loopP99 / inline.loopP99), target: `pool < ${TARGETS.poolLoopP99Ms} ms`, verdict: verdict(onPool.loopP99 < TARGETS.poolLoopP99Ms) },
      { section: 'flatten', metric: 'event-loop delay p99, worst round', n, baseline: fmtMs(inline.loopP99Worst), tabvisor: fmtMs(onPool.loopP99Worst), ratio: '', target: '', verdict: '' },
      { section: 'flatten', metric: 'event-loop delay max, all rounds', n, baseline: fmtMs(inline.loopMax), tabvisor: fmtMs(onPool.loopMax), ratio: '', target: '', verdict: '' },
      { section: 'flatten', metric: 'CPU other processes took, per round (cores)', n: '', baseline: inline.others.join(' '), tabvisor: onPool.others.join(' '), ratio: '', target: '', verdict: '' },
    );
    results.flatten = {
      frames: { domBytes: dom.byteLength, axBytes: ax.byteLength, captureMs },
      nodes: flatNodes,
      expectedInteractive: expected(FLATTEN_SIZE),
      rounds: rounds.map((r) => ({ pool: { ...r.pool, ms: round(r.pool.ms, 2) }, inline: { ...r.inline, ms: round(r.inline.ms, 2) } })),
      pool: { ...onPool, perSecond: round(poolRate, 3), stats: poolStats, aloneTaskMs: alone },
      inline: { ...inline, perSecond: round(inlineRate, 3) },
      throughputRatio: round(throughputRatio, 3),
    };

    // ── 2 and 3. tab.snapshot over the WebSocket vs puppeteer's accessibility snapshot ─────
    log('snapshots: starting tabvisor (one instance) and a puppeteer browser');
    const tv = await startTabvisor({ port: 0, binary });
    bench.defer(() => tv.close());
    const client = await connect(tv.url, { client: 'bench-analysis' });
    bench.defer(() => client.close());
    const created = await client.call('instance.create', {});
    if (created.pid) machine.groups.add(created.pid);
    const rawBrowser = await raw.launch();
    const perSize: Record<string, unknown> = {};
    const countNodes = (node: SerializedAXNode | null): number => (node ? 1 + (node.children ?? []).reduce((sum, c) => sum + countNodes(c), 0) : 0);
    // The generated pages, then the real ones (saved articles and a built news front page,
    // whose cross-origin frames come from the second local host name).
    const real = realPages();
    const realServer = await servePages((path) => {
      const [, kind, name] = path.split('/');
      if (kind === 'ad') return adFrame(Number(name));
      return kind === 'real' ? (real.find((r) => r.name === name)?.html ?? null) : null;
    }, { 'content-security-policy': realPageCsp('http://localhost:*') });
    bench.defer(() => realServer.close());
    const crossOrigin = realServer.origin.replace('127.0.0.1', 'localhost');
    const targets = [
      ...SIZES.map((size) => ({ label: `~${size.toLocaleString('en')}`, key: String(size), url: pageUrl(size), expected: expected(size) as number | null })),
      ...real.map((r) => ({ label: r.name, key: r.name, url: `${realServer.origin}/real/${r.name}`, expected: null })),
    ];
    for (const r of real) r.html = r.html.replaceAll('CROSS', crossOrigin);
    for (const [k, { label, key, url, expected: wanted }] of targets.entries()) {
      const { tabId } = await client.call('tab.open', { instanceId: created.instanceId, url });
      const rawPage: Page = await rawBrowser.newPage();
      await rawPage.goto(url, { waitUntil: 'load' });

      const ours = { ms: [] as number[], captureMs: [] as number[], flattenMs: [] as number[], totalMs: [] as number[], nodes: 0 };
      const theirs = { ms: [] as number[], nodes: 0 };
      const snapshotOurs = async (keep: boolean) => {
        const t0 = performance.now();
        const snap = await client.call('tab.snapshot', { tabId });
        const ms = performance.now() - t0;
        if (!keep) return;
        ours.ms.push(ms);
        ours.captureMs.push(snap.stats.captureMs);
        ours.flattenMs.push(snap.stats.flattenMs);
        ours.totalMs.push(snap.stats.totalMs);
        ours.nodes = snap.nodes.length;
      };
      const snapshotRaw = async (keep: boolean) => {
        const t0 = performance.now();
        const tree = await rawPage.accessibility.snapshot({ interestingOnly: true });
        const ms = performance.now() - t0;
        if (!keep) return;
        theirs.ms.push(ms);
        theirs.nodes = countNodes(tree);
      };
      for (let i = 0; i < WARMUP; i++) {
        await snapshotOurs(false);
        await snapshotRaw(false);
      }
      const runOurs = () => measured(`tab.snapshot ${label}`, () => underLoopMonitor(async () => { for (let i = 0; i < SNAPSHOTS; i++) await snapshotOurs(true); }));
      const runRaw = () => measured(`puppeteer a11y ${label}`, () => underLoopMonitor(async () => { for (let i = 0; i < SNAPSHOTS; i++) await snapshotRaw(true); }));
      log(`snapshots ${label}: ${WARMUP} warm-up + ${SNAPSHOTS} each, ${k % 2 === 0 ? 'tabvisor' : 'puppeteer'} first`);
      let ourLoop: LoopDelay;
      let rawLoop: LoopDelay;
      if (k % 2 === 0) {
        ourLoop = (await runOurs()).loop;
        rawLoop = (await runRaw()).loop;
      } else {
        rawLoop = (await runRaw()).loop;
        ourLoop = (await runOurs()).loop;
      }
      await rawPage.close();
      await client.call('tab.close', { tabId });
      if (wanted !== null && ours.nodes !== wanted) log(`WARNING: tab.snapshot returned ${ours.nodes} nodes, the page has ${wanted} interactive elements`);

      const section = `snapshot ${label}`;
      const sn = `${SNAPSHOTS}`;
      rows.push(
        { section, metric: `latency p50 (tabvisor ${ours.nodes} nodes, puppeteer ${theirs.nodes})`, n: sn, baseline: fmtMs(median(theirs.ms)), tabvisor: fmtMs(median(ours.ms)), ratio: fmtRatio(median(ours.ms) / median(theirs.ms)), target: '', verdict: '' },
        { section, metric: 'latency p95', n: sn, baseline: fmtMs(pct(theirs.ms, 95)), tabvisor: fmtMs(pct(ours.ms, 95)), ratio: fmtRatio(pct(ours.ms, 95) / pct(theirs.ms, 95)), target: '', verdict: '' },
        { section, metric: 'latency max', n: sn, baseline: fmtMs(Math.max(...theirs.ms)), tabvisor: fmtMs(Math.max(...ours.ms)), ratio: fmtRatio(Math.max(...ours.ms) / Math.max(...theirs.ms)), target: '', verdict: '' },
        { section, metric: 'tabvisor server: capture / flatten / total p50', n: sn, baseline: '', tabvisor: `${fmtMs(median(ours.captureMs))} / ${fmtMs(median(ours.flattenMs))} / ${fmtMs(median(ours.totalMs))}`, ratio: '', target: '', verdict: '' },
        { section, metric: 'event-loop delay p50 / p99 / max', n: sn, baseline: fmtLoop(rawLoop), tabvisor: fmtLoop(ourLoop), ratio: '', target: '', verdict: '' },
        { section, metric: 'event-loop delay p99', n: sn, baseline: fmtMs(rawLoop.p99), tabvisor: fmtMs(ourLoop.p99), ratio: fmtRatio(ourLoop.p99 / rawLoop.p99), target: '', verdict: '' },
        { section, metric: 'event-loop delay max', n: sn, baseline: fmtMs(rawLoop.max), tabvisor: fmtMs(ourLoop.max), ratio: fmtRatio(ourLoop.max / rawLoop.max), target: '', verdict: '' },
        { section, metric: 'CPU other processes took (cores)', n: '', baseline: `${conditions[`puppeteer a11y ${label}`]?.othersCoresDuring}`, tabvisor: `${conditions[`tab.snapshot ${label}`]?.othersCoresDuring}`, ratio: '', target: '', verdict: '' },
      );
      perSize[key] = {
        url,
        expectedInteractive: wanted,
        tabvisor: { nodes: ours.nodes, ms: ours.ms.map((v) => round(v, 2)), captureMs: ours.captureMs, flattenMs: ours.flattenMs, totalMs: ours.totalMs, loop: ourLoop },
        puppeteer: { axNodes: theirs.nodes, ms: theirs.ms.map((v) => round(v, 2)), loop: rawLoop },
      };
    }
    results.snapshots = perSize;
    results.tabvisorPoolAfterSnapshots = (await client.call('system.health')).analysis;

    // ── 4. analysis.audit (axe-core in the page, findings on the pool) on the real pages ────
    const audits: Record<string, unknown> = {};
    for (const r of real) {
      const { tabId } = await client.call('tab.open', { instanceId: created.instanceId, url: `${realServer.origin}/real/${r.name}` });
      await client.call('analysis.audit', { tabId }); // warm-up: axe compiled once in the renderer
      const ms: number[] = [];
      let findings: { kind: string; rule?: string }[] = [];
      const run = await measured(`analysis.audit ${r.name}`, () =>
        underLoopMonitor(async () => {
          for (let i = 0; i < AUDITS; i++) {
            const t0 = performance.now();
            findings = (await client.call('analysis.audit', { tabId })).findings;
            ms.push(performance.now() - t0);
          }
        }),
      );
      await client.call('tab.close', { tabId });
      const rules = new Map<string, number>();
      for (const f of findings) if (f.rule) rules.set(f.rule, (rules.get(f.rule) ?? 0) + 1);
      const top = [...rules].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([rule, n]) => `${rule} ${n}`).join(', ');
      const section = `audit ${r.name}`;
      rows.push(
        { section, metric: `latency p50 / max (${findings.length} findings: ${top})`, n: `${AUDITS}`, baseline: '', tabvisor: `${fmtMs(median(ms))} / ${fmtMs(Math.max(...ms))}`, ratio: '', target: '', verdict: '' },
        { section, metric: 'event-loop delay p99 / max', n: `${AUDITS}`, baseline: '', tabvisor: `${fmtMs(run.loop.p99)} / ${fmtMs(run.loop.max)}`, ratio: '', target: '', verdict: '' },
      );
      audits[r.name] = { ms: ms.map((v) => round(v, 1)), loop: run.loop, findings: findings.length, rules: Object.fromEntries(rules) };
    }
    results.audits = audits;
  }

  function notes(): string[] {
    results.conditions = conditions;
    const lines: string[] = [];
    const flat = results.flatten as { frames: { domBytes: number; axBytes: number; captureMs: { dom: number; ax: number } }; pool: { stats: { runTimeP50Ms: number; utilization: number } } } | undefined;
    if (flat) {
      lines.push(
        `\nflatten input per task: DOM snapshot ${(flat.frames.domBytes / 2 ** 20).toFixed(1)} MB + accessibility tree ${(flat.frames.axBytes / 2 ** 20).toFixed(1)} MB ` +
          `(Chrome took ${flat.frames.captureMs.dom} ms and ${flat.frames.captureMs.ax} ms to produce them, one after the other); ` +
          `piscina runTime p50 ${flat.pool.stats.runTimeP50Ms} ms (warm-up tasks included)`,
      );
    }
    const snaps = results.snapshots as Record<string, { puppeteer: { axNodes: number } }> | undefined;
    if (snaps) lines.push(`puppeteer's interesting-only accessibility tree: ${SIZES.map((s) => `${snaps[s]?.puppeteer.axNodes} nodes (~${s})`).join(', ')}`);
    lines.push(
      `machine during each measurement (other processes' CPU in cores, before → during; this process's CPU in cores; waited for quiet; foreign Chrome):\n` +
        Object.entries(conditions)
          .map(([name, c]) => `  ${name}: others ${Number.isNaN(c.othersCoresBefore) ? '' : `${c.othersCoresBefore} → `}${c.othersCoresDuring}; self ${c.selfCores}; waited ${(c.waitedMs / 1000).toFixed(0)} s; ${c.foreignChrome} foreign Chrome`)
          .join('\n'),
    );
    const busy = Object.entries(conditions).filter(([, c]) => c.othersCoresDuring >= QUIET_CORES || c.foreignChrome > 0);
    if (busy.length) {
      lines.push(`WARNING: other processes took CPU during: ${busy.map(([name, c]) => `${name} (${c.othersCoresDuring} cores)`).join(', ')}.`);
      lines.push('         Those figures are skewed by CPU contention (2 cores). Re-run on a quiet machine.');
    } else {
      lines.push('no other process took a noticeable share of the CPUs during any measurement');
    }
    return lines;
  }

  return {
    title: `${ROUNDS} rounds of ${FLATTENS} flattens on ${THREADS} threads vs inline, ${SNAPSHOTS} snapshots per page size (+${WARMUP} warm-up)`,
    legend: [
      'flatten: baseline = inline on the main thread, tabvisor = the analysis pool; ' +
        'snapshot: baseline = puppeteer page.accessibility.snapshot({ interestingOnly: true }), tabvisor = tab.snapshot over the WebSocket',
    ],
    counts: { rounds: ROUNDS, flattens: FLATTENS, snapshots: SNAPSHOTS, warmup: WARMUP, audits: AUDITS, threads: THREADS },
    targets: TARGETS,
    header: { section: 'section', metric: 'metric', n: 'n', baseline: 'baseline', tabvisor: 'tabvisor', ratio: 'ratio', target: 'target', verdict: '' },
    measure,
    report: () => ({ rows, notes: notes() }),
  };
}
