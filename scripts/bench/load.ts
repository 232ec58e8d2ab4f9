// Load on the control channel: the runtime runs as its own process (`tabvisor serve`, from
// dist/) with 10 instances of 2 tabs each; this process opens 50 WebSocket connections and
// keeps 20 requests in flight on each (1,000 concurrent) of `tab.list` and `system.health`,
// then reports errors and latency percentiles. Beside it, in the same run and on the same
// Chrome binary, what a hand-rolled puppeteer-core pool does to list the tabs of 10 browsers:
// puppeteer's own target cache (`browser.pages()`), and asking each Chrome (`Target.getTargets`).
//
//   npm run load                 (builds dist/ first; 50 connections × 20 in flight, 200 requests per connection)
//   npm run load -- --quick      (50 × 20, 40 per connection; 300 sequential calls)
//   --requests=N (per connection)  --sequential=N; LOAD_CPU_PROF_DIR=dir profiles the server
//
// Latencies are measured here, from sending a frame to reading its answer, so under load they
// include queueing: with 1,000 requests in flight a request waits for the ones before it
// (Little's law: in flight ÷ throughput). The server's own time per call is read from its
// `GET /metrics` histogram (`tabvisor_rpc_duration_seconds`). Run nothing else meanwhile.
import { availableParallelism } from 'node:os';
import type { Browser, CDPSession } from 'puppeteer-core';
import WebSocket from 'ws';
import { connect } from '../../src/client/index.js';
import { listening, spawnServe } from '../../test/integration/processes.js';
import type { Bench, Scenario } from './run.js';
import { fmtMs, fmtRatio, pct, round } from './utils/figures.js';
import { log } from './utils/machine.js';
import { servePages } from './utils/pages.js';

const INSTANCES = 10;
const TABS_PER_INSTANCE = 2;
const CONNECTIONS = 50;
const IN_FLIGHT = 20;
const TARGETS = { errors: 0, tabListP99Ms: 5 };

type Row = { metric: string; baseline: string; tabvisor: string; ratio: string; target: string; verdict: '' | 'PASS' | 'FAIL' };
const verdict = (ok: boolean): Row['verdict'] => (ok ? 'PASS' : 'FAIL');

function summary(values: number[]) {
  return { n: values.length, p50: round(pct(values, 50), 3), p99: round(pct(values, 99), 3), max: round(Math.max(...values), 3) };
}

/**
 * p50 and p99 of one method from a Prometheus histogram, as the upper bound of the bucket
 * they fall in (a histogram knows no finer). Null when the server has no such series.
 */
function histogramQuantiles(text: string, name: string, method: string): { p50: number; p99: number; count: number } | null {
  const buckets: [number, number][] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`) || !line.includes(`method="${method}"`) || !line.includes(`outcome="ok"`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le !== undefined) buckets.push([le === '+Inf' ? Infinity : Number(le), value]);
  }
  if (!buckets.length) return null;
  buckets.sort((a, b) => a[0] - b[0]);
  const total = buckets[buckets.length - 1]![1];
  const at = (q: number) => buckets.find(([, c]) => c >= q * total)?.[0] ?? Infinity;
  return { p50: at(0.5), p99: at(0.99), count: total };
}

export default function load(bench: Bench): Scenario {
  const REQUESTS = bench.count('requests', 200, 40);
  const SEQUENTIAL = bench.count('sequential', 1000, 300);
  const { machine, raw, results } = bench;
  const rows: Row[] = [];
  let failed = false;

  async function measure(): Promise<void> {
    // A page for the tabs, served from this process.
    const pages = await servePages(() => '<!doctype html><title>load</title><p>tab</p>');
    bench.defer(() => pages.close());
    const pageUrl = `${pages.origin}/`;

    // ── the runtime, as its own process ────────────────────────────────────────────────
    log('starting `tabvisor serve` (dist/src/cli.js)');
    const profileDir = process.env.LOAD_CPU_PROF_DIR;
    const server = spawnServe(['--max-instances', String(INSTANCES)], { nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] });
    bench.defer(async () => {
      if (server.child.exitCode !== null) return;
      server.child.kill('SIGTERM');
      await server.child;
    });
    const { url } = await listening(server);
    const httpBase = url.replace(/^ws/, 'http').replace(/\/rpc$/, '');

    log(`creating ${INSTANCES} instances × ${TABS_PER_INSTANCE} tabs`);
    const setup = await connect(url, { client: 'load-setup' });
    bench.defer(() => setup.close());
    for (let i = 0; i < INSTANCES; i++) {
      const { instanceId, pid } = await setup.call('instance.create', { name: `load-${i}`, shared: true });
      machine.groups.add(pid as number);
      for (let t = 0; t < TABS_PER_INSTANCE; t++) await setup.call('tab.open', { instanceId, url: pageUrl });
    }
    const listed = await setup.call('tab.list', {});
    if (listed.tabs.length !== INSTANCES * TABS_PER_INSTANCE) throw new Error(`tab.list saw ${listed.tabs.length} tabs`);

    // ── 1. one request at a time ───────────────────────────────────────────────────────
    const sequential: number[] = [];
    for (let i = 0; i < SEQUENTIAL + 50; i++) {
      const t0 = performance.now();
      await setup.call('tab.list', {});
      if (i >= 50) sequential.push(performance.now() - t0); // the first 50 warm up
    }
    log(`tab.list one at a time: p50 ${fmtMs(pct(sequential, 50))}, p99 ${fmtMs(pct(sequential, 99))}`);

    // ── 2. 1,000 in flight ─────────────────────────────────────────────────────────────
    log(`${CONNECTIONS} connections × ${IN_FLIGHT} in flight, ${REQUESTS} requests each`);
    const sockets = await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, c) => {
        const ws = new WebSocket(`${url}?client=load-${c}`);
        return new Promise<WebSocket>((resolve, reject) => ws.once('open', () => resolve(ws)).once('error', reject));
      }),
    );
    const latency: Record<string, number[]> = { 'tab.list': [], 'system.health': [] };
    const errors: unknown[] = [];
    let peak = 0;
    let inFlightNow = 0;
    const started = performance.now();
    await Promise.all(
      sockets.map(
        (ws, c) =>
          new Promise<void>((resolve, reject) => {
            const pending = new Map<number, { method: string; t0: number }>();
            let sent = 0;
            let done = 0;
            const sendOne = () => {
              const id = sent++;
              const method = (id + c) % 2 === 0 ? 'tab.list' : 'system.health';
              pending.set(id, { method, t0: performance.now() });
              inFlightNow++;
              peak = Math.max(peak, inFlightNow);
              ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(method === 'tab.list' ? { params: {} } : {}) }));
            };
            ws.on('message', (data) => {
              const reply = JSON.parse(data.toString()) as { id: number; result?: { tabs?: unknown[] }; error?: unknown };
              const request = pending.get(reply.id);
              if (!request) return reject(new Error(`an answer to no request: ${data.toString().slice(0, 200)}`));
              pending.delete(reply.id);
              inFlightNow--;
              latency[request.method]!.push(performance.now() - request.t0);
              if (reply.error) errors.push(reply.error);
              else if (request.method === 'tab.list' && reply.result?.tabs?.length !== INSTANCES * TABS_PER_INSTANCE) errors.push({ wrongCount: reply.result?.tabs?.length });
              if (++done === REQUESTS) return resolve();
              if (sent < REQUESTS) sendOne();
            });
            ws.once('close', () => done < REQUESTS && reject(new Error('connection closed under load')));
            for (let i = 0; i < IN_FLIGHT; i++) sendOne();
          }),
      ),
    );
    const elapsed = performance.now() - started;
    for (const ws of sockets) ws.close();
    const total = CONNECTIONS * REQUESTS;
    log(`${total} requests in ${fmtMs(elapsed)} (${Math.round((total / elapsed) * 1000)}/s), peak in flight ${peak}, errors ${errors.length}`);

    // ── the server's own time per call ─────────────────────────────────────────────────
    const metricsText = await fetch(`${httpBase}/metrics`).then((r) => (r.ok ? r.text() : ''));
    const serverSide = histogramQuantiles(metricsText, 'tabvisor_rpc_duration_seconds', 'tab.list');
    await setup.close();

    // ── the hand-rolled pool, same run ─────────────────────────────────────────────────
    log(`raw puppeteer-core: ${INSTANCES} browsers × ${TABS_PER_INSTANCE} pages`);
    const browsers: Browser[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      const browser = await raw.launch();
      for (let t = 0; t < TABS_PER_INSTANCE; t++) await (await browser.newPage()).goto(pageUrl);
      for (const page of await browser.pages()) if (page.url() === 'about:blank') await page.close();
      browsers.push(browser);
    }
    const sessions: CDPSession[] = await Promise.all(browsers.map((b) => b.target().createCDPSession()));
    const cached: number[] = [];
    const asked: number[] = [];
    for (let i = 0; i < SEQUENTIAL + 50; i++) {
      let t0 = performance.now();
      const all = (await Promise.all(browsers.map((b) => b.pages()))).flat();
      if (i >= 50) cached.push(performance.now() - t0);
      t0 = performance.now();
      const targets = (await Promise.all(sessions.map((s) => s.send('Target.getTargets')))).flatMap((r) => r.targetInfos.filter((t) => t.type === 'page'));
      if (i >= 50) asked.push(performance.now() - t0);
      if (all.length !== INSTANCES * TABS_PER_INSTANCE || targets.length !== INSTANCES * TABS_PER_INSTANCE) throw new Error(`raw side sees ${all.length} / ${targets.length} pages`);
    }

    // ── report ─────────────────────────────────────────────────────────────────────────
    const tabList = latency['tab.list']!;
    const health = latency['system.health']!;
    const none = { baseline: '', ratio: '', target: '', verdict: '' } as const;
    rows.push(
      { metric: 'tab.list of 20 tabs in 10 instances, one at a time, p50', baseline: `${fmtMs(pct(cached, 50))} (puppeteer pages()) / ${fmtMs(pct(asked, 50))} (Target.getTargets)`, tabvisor: fmtMs(pct(sequential, 50)), ratio: fmtRatio(pct(sequential, 50) / pct(asked, 50)), target: '', verdict: '' },
      {
        metric: 'tab.list, one at a time, p99 (end to end)',
        baseline: `${fmtMs(pct(cached, 99))} / ${fmtMs(pct(asked, 99))}`,
        tabvisor: fmtMs(pct(sequential, 99)),
        ratio: fmtRatio(pct(sequential, 99) / pct(asked, 99)),
        target: `< ${TARGETS.tabListP99Ms} ms`,
        verdict: verdict(pct(sequential, 99) < TARGETS.tabListP99Ms),
      },
      { metric: 'tab.list in the server under load (from /metrics) p50 / p99', baseline: '', tabvisor: serverSide ? `≤ ${fmtMs(serverSide.p50 * 1000)} / ≤ ${fmtMs(serverSide.p99 * 1000)}` : 'n/a', ratio: '', target: `< ${TARGETS.tabListP99Ms} ms`, verdict: serverSide ? verdict(serverSide.p99 * 1000 <= TARGETS.tabListP99Ms) : '' },
      { metric: `${total} requests, ${CONNECTIONS} connections × ${IN_FLIGHT} in flight: errors`, baseline: '', tabvisor: String(errors.length), ratio: '', target: '0', verdict: verdict(errors.length === TARGETS.errors) },
      { ...none, metric: '  throughput', tabvisor: `${Math.round((total / elapsed) * 1000)}/s` },
      { ...none, metric: '  tab.list end to end p50 / p99 / max', tabvisor: `${fmtMs(pct(tabList, 50))} / ${fmtMs(pct(tabList, 99))} / ${fmtMs(Math.max(...tabList))}` },
      { ...none, metric: '  system.health end to end p50 / p99 / max', tabvisor: `${fmtMs(pct(health, 50))} / ${fmtMs(pct(health, 99))} / ${fmtMs(Math.max(...health))}` },
      { ...none, metric: '  peak requests in flight', tabvisor: String(peak) },
    );
    Object.assign(results, {
      cpus: availableParallelism(),
      sequential: { tabvisor: sequential.map((v) => round(v, 3)), puppeteerPages: cached.map((v) => round(v, 3)), getTargets: asked.map((v) => round(v, 3)) },
      load: { elapsedMs: round(elapsed), total, errors, peak, tabList: summary(tabList), systemHealth: summary(health) },
      serverSide,
    });
    if (errors.length) failed = true;
  }

  return {
    title: `${INSTANCES} instances × ${TABS_PER_INSTANCE} tabs, ${CONNECTIONS} connections × ${IN_FLIGHT} in flight, ${REQUESTS} requests each, ${SEQUENTIAL} one at a time`,
    legend: ['baseline = a hand-rolled puppeteer-core pool of the same browsers: its target cache (pages()) and asking each Chrome (Target.getTargets)'],
    counts: { INSTANCES, TABS_PER_INSTANCE, CONNECTIONS, IN_FLIGHT, REQUESTS, SEQUENTIAL },
    targets: TARGETS,
    header: { metric: 'metric', baseline: 'baseline', tabvisor: 'tabvisor', ratio: 'ratio', target: 'target', verdict: '' },
    measure,
    report: () => ({ rows, notes: [], failed }),
  };
}
