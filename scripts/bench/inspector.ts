// Inspector benchmark: how long a transition takes from the runtime to the operator's screen,
// with a real fleet. tabvisor runs in this process with N instances of one tab each (probes and
// memory samples at their defaults) and a state dir; the inspector page is open in real
// Chromium (puppeteer-core). Browsers are killed with SIGKILL one after another; each kill makes
// four transitions (the instance and its tab go to recovering and back). For each transition,
// the latency is from its `at` (the runtime's clock when it happened) to the moment the page
// drew it (the page sets `data-seq` on <html> in the animation frame that puts a seq on screen;
// a MutationObserver notes the time). Same machine, same clock.
// Also measured: how the `values` topic coalesces the snapshots, the page's frame times, and
// the transition history's cost per transition (append, compaction, a 10,000-event replay).
//
//   npm run bench -- inspector                 (100 instances, 100 kills 300 ms apart)
//   npm run bench -- inspector --quick         (10 instances, 20 kills)
//   --instances=N --kills=N --interval=MS --appends=N
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import puppeteer from 'puppeteer-core';
import { connect, type EventMessage } from '../../src/client/index.js';
import { startTabvisor } from '../../src/index.js';
import { TransitionHistory } from '../../src/runtime/history.js';
import type { Transition } from '../../src/runtime/views.js';
import type { Bench, Scenario } from './run.js';
import { fmtMs, pct, round } from './utils/figures.js';
import { log } from './utils/machine.js';
import { servePages, smallPage } from './utils/pages.js';

const TARGET_P99_MS = 100;

type Row = { metric: string; n: string; value: string; target: string; verdict: string };

export default function inspector(bench: Bench): Scenario {
  const INSTANCES = bench.count('instances', 100, 10);
  const KILLS = bench.count('kills', 100, 20);
  const INTERVAL_MS = bench.count('interval', 300, 300);
  const APPENDS = bench.count('appends', 100_000, 20_000);
  const { binary, machine, results } = bench;
  const rows: Row[] = [];
  const notes: string[] = [];
  let failed = false;
  machine.sampleForeignChrome();

  async function measure(): Promise<void> {
    await measureHistory();

    const pages = await servePages((path) => (path === '/p' ? smallPage('p', 'inspector', (i) => `/p#${i}`) : null));
    bench.defer(() => pages.close());
    const stateDir = await mkdtemp(join(tmpdir(), 'tabvisor-bench-inspector-'));
    bench.defer(() => rm(stateDir, { recursive: true, force: true }));
    const logger = pino({ level: 'warn' }, pino.destination({ dest: 'bench-results/inspector-tabvisor.log', sync: true }));
    const tv = await startTabvisor({ port: 0, binary, log: logger, maxInstances: INSTANCES, persistence: { stateDir } });
    bench.defer(() => tv.close());
    const client = await connect(tv.url, { client: 'bench-inspector' });
    bench.defer(() => client.close());
    const events = new Map<number, EventMessage & Transition>();
    const values = new Map<string, number[]>();
    client.onEvent((e) => {
      if (e.topic === 'state') events.set(e.seq as number, e as EventMessage & Transition);
      if (e.topic === 'values') {
        const list = values.get(e.actor as string) ?? [];
        list.push(Date.now());
        values.set(e.actor as string, list);
      }
    });
    await client.call('events.subscribe', { topics: ['state'], since: tv.runtime.transitionsSince(0).at(-1)?.seq ?? 0 });

    // The fleet, a few launches at a time. On a loaded machine a tab can fail to open (a CDP
    // call past puppeteer's timeout): it is closed and opened again, up to three times.
    await machine.section('fleet');
    log(`launching ${INSTANCES} instances with a tab each`);
    const fleet: { instanceId: string }[] = [];
    let retries = 0;
    const launchStarted = performance.now();
    const oneInstance = async (n: number): Promise<string> => {
      const { instanceId } = await client.call('instance.create', { name: `fleet-${n}` });
      for (let attempt = 1; ; attempt++) {
        try {
          await client.call('tab.open', { instanceId, url: `${pages.origin}/p` });
          return instanceId;
        } catch (error) {
          if (attempt === 3) throw error;
          retries++;
          for (const t of (await client.call('tab.list', { instanceId })).tabs) await client.call('tab.close', { tabId: t.tabId }).catch(() => {});
        }
      }
    };
    for (let i = 0; i < INSTANCES; i += 4) {
      const batch = await Promise.all(Array.from({ length: Math.min(4, INSTANCES - i) }, (_, j) => oneInstance(i + j + 1)));
      for (const instanceId of batch) fleet.push({ instanceId });
    }
    log(`fleet up in ${round((performance.now() - launchStarted) / 1000)} s (${retries} tab opens retried)`);
    results.tabOpenRetries = retries;

    // The page, in its own browser.
    const browser = await puppeteer.launch({ executablePath: binary.path, headless: 'shell', args: ['--no-sandbox'], defaultViewport: { width: 1400, height: 900 } });
    bench.defer(() => browser.close());
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    await page.evaluateOnNewDocument(() => {
      const w = window as unknown as { drawn: [number, number][] };
      w.drawn = [];
      new MutationObserver(() => w.drawn.push([Number(document.documentElement.dataset.seq), Date.now()])).observe(document, {
        subtree: true,
        attributes: true,
        attributeFilter: ['data-seq'],
      });
    });
    const opened = performance.now();
    await page.goto(`http://127.0.0.1:${tv.server.port}/inspector`);
    await page.waitForFunction((n) => document.querySelectorAll('.row.instance').length >= n, { timeout: 60_000 }, INSTANCES);
    const firstRender = performance.now() - opened;
    await page.select('#filter-window', '0');
    await sleep(2_000);
    const valuesAtStart = { ...tv.server.values.stats };
    await client.call('events.subscribe', { topics: ['values'] });
    await page.evaluate(() => performance.clearMeasures('inspector-frame'));

    // The kills.
    await machine.section('kills');
    const killed = new Set<number>();
    const order = [...fleet.keys()].sort(() => Math.random() - 0.5);
    const firstSeq = (tv.runtime.transitionsSince(0).at(-1)?.seq ?? 0) + 1;
    const started = Date.now();
    log(`${KILLS} kills, ${INTERVAL_MS} ms apart`);
    for (let k = 0; k < KILLS; k++) {
      const target = fleet[order[k % order.length]!]!;
      const { pid, state } = await client.call('instance.get', { instanceId: target.instanceId });
      if (pid && state === 'healthy') {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      }
      await sleep(INTERVAL_MS);
    }
    // Every instance healthy again, and every transition drawn.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { instances } = await client.call('instance.list', { all: true });
      const lastSeq = tv.runtime.transitionsSince(0).at(-1)?.seq ?? 0;
      const drawnSeq = await page.evaluate(() => Number(document.documentElement.dataset.seq ?? 0));
      if (instances.every((i) => i.state === 'healthy') && drawnSeq >= lastSeq) break;
      if (Date.now() > deadline) throw new Error('the fleet did not come back, or the page did not draw everything, within 120 s');
      await sleep(200);
    }
    const elapsedS = (Date.now() - started) / 1000;
    const valuesStats = { seen: tv.server.values.stats.seen - valuesAtStart.seen, sent: tv.server.values.stats.sent - valuesAtStart.sent };

    // Latency of each transition: from its time to the first frame that drew its seq or a later one.
    const drawn = await page.evaluate(() => (window as unknown as { drawn: [number, number][] }).drawn);
    const frames = await page.evaluate(() => performance.getEntriesByName('inspector-frame').map((e) => e.duration));
    const induced = [...events.values()].filter((e) => e.seq >= firstSeq).sort((a, b) => a.seq - b.seq);
    const latencies: number[] = [];
    for (const e of induced) {
      const shown = drawn.find(([seq]) => seq >= e.seq);
      if (!shown) throw new Error(`seq ${e.seq} was never drawn`);
      latencies.push(shown[1] - e.at);
    }
    const p = (q: number) => pct(latencies, q);
    const byKind = (to: string) => induced.filter((e) => e.to === to).length;
    const perActor = [...values.values()].map((times) => maxPerSecond(times));

    rows.push(
      { metric: 'fleet', n: `${INSTANCES} instances × 1 tab`, value: `up in ${round((opened - launchStarted) / 1000)} s; page rendered every row in ${fmtMs(firstRender)}`, target: '', verdict: '' },
      { metric: 'transitions induced', n: `${killed.size} kills`, value: `${induced.length} (${byKind('recovering')} → recovering, ${byKind('healthy')} → healthy) in ${round(elapsedS)} s`, target: '', verdict: '' },
      {
        metric: 'event → screen, p50 / p95 / p99 / max',
        n: String(latencies.length),
        value: `${fmtMs(p(50))} / ${fmtMs(p(95))} / ${fmtMs(p(99))} / ${fmtMs(Math.max(...latencies))}`,
        target: `p99 ≤ ${TARGET_P99_MS} ms`,
        verdict: p(99) <= TARGET_P99_MS ? 'PASS' : 'MISS',
      },
      { metric: 'page frame time, median / p95 / max', n: String(frames.length), value: `${fmtMs(pct(frames, 50))} / ${fmtMs(pct(frames, 95))} / ${fmtMs(Math.max(0, ...frames))}`, target: '', verdict: '' },
      {
        metric: 'values topic: snapshots seen → events sent',
        n: `${round(elapsedS)} s`,
        value: `${valuesStats.seen} → ${valuesStats.sent} (${round(valuesStats.seen / elapsedS)}/s → ${round(valuesStats.sent / elapsedS)}/s; busiest actor ${Math.max(0, ...perActor)} in a second)`,
        target: '≤ 10 per actor per s',
        verdict: Math.max(0, ...perActor) <= 10 ? 'PASS' : 'MISS',
      },
    );
    if (p(99) > TARGET_P99_MS) failed = true;
    if (problems.length) notes.push(`page console errors: ${problems.slice(0, 5).join(' | ')}`);
    Object.assign(results, {
      latenciesMs: latencies.map((l) => round(l)),
      frameMs: frames.map((f) => round(f, 2)),
      values: { ...valuesStats, maxPerActorPerSecond: Math.max(0, ...perActor) },
      firstRenderMs: round(firstRender),
      kills: killed.size,
      transitions: induced.length,
    });
    await page.close();
  }

  /**
   * The history's own cost. Each transition is appended in a turn of its own and waited for
   * (the worst case: one write per transition): on the event loop (the append itself) and in
   * all (with the file write). The rewrites at 2N lines show as the slow ones. Then a replay of
   * the 10,000 kept, serialised as the server sends them.
   */
  async function measureHistory(): Promise<void> {
    const dir = join(tmpdir(), `tabvisor-bench-history-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const history = new TransitionHistory(10_000);
    history.open(join(dir, 'transitions.jsonl'));
    const make = (h: TransitionHistory, i: number): Transition => ({
      actor: `t-${(i % 400).toString(16).padStart(8, '0')}`,
      kind: 'tab',
      instanceId: `i-${(i % 100).toString(16).padStart(8, '0')}`,
      from: 'healthy',
      to: 'recovering',
      reason: 'instance down: browser exited (signal SIGKILL)',
      at: Date.now(),
      seq: h.nextSeq(),
      value: { recovering: 'waitingForInstance' },
      event: 'INSTANCE_DOWN',
    });
    let onLoop = 0;
    const whole: number[] = [];
    for (let i = 0; i < APPENDS; i++) {
      const a = performance.now();
      history.append(make(history, i));
      onLoop += performance.now() - a;
      await history.flushed();
      whole.push(performance.now() - a);
    }
    const r0 = performance.now();
    let bytes = 0;
    for (const t of history.since(0)) bytes += JSON.stringify({ jsonrpc: '2.0', method: 'event', params: { subscriptionId: 's-1', topic: 'state', ...t } }).length;
    const replayMs = performance.now() - r0;
    await history.close();
    await rm(dir, { recursive: true, force: true });
    const rewrites = whole.filter((_, i) => (i + 1) % 10_000 === 0 && i >= 19_999);
    const sum = whole.reduce((a, b) => a + b, 0);
    rows.push(
      { metric: 'history: per transition, on the event loop / with its write', n: `${APPENDS} appends`, value: `${round((onLoop * 1000) / APPENDS, 2)} µs / ${round((sum * 1000) / APPENDS)} µs (p99 ${fmtMs(pct(whole, 99))})`, target: '', verdict: '' },
      { metric: 'history: rewrite to the last 10,000 (every 10,000 after the first 20,000)', n: String(rewrites.length), value: rewrites.length ? `${fmtMs(pct(rewrites, 50))} median, ${fmtMs(Math.max(...rewrites))} max (off the event loop)` : 'none', target: '', verdict: '' },
      { metric: 'history: replay of 10,000 (since 0), serialised on the event loop', n: `${round(bytes / 2 ** 20)} MB`, value: fmtMs(replayMs), target: '', verdict: '' },
    );
    Object.assign(results, { history: { appends: APPENDS, onLoopUs: round((onLoop * 1000) / APPENDS, 3), withWriteUs: round((sum * 1000) / APPENDS, 1), rewritesMs: rewrites.map((s) => round(s, 2)), replayMs: round(replayMs), replayBytes: bytes } });
  }

  return {
    title: `${INSTANCES} instances × 1 tab, ${KILLS} kill -9 of browsers ${INTERVAL_MS} ms apart, the inspector open in Chromium`,
    legend: ['event → screen: from a transition\'s `at` (runtime clock) to the animation frame in which the page drew it'],
    counts: { instances: INSTANCES, kills: KILLS, intervalMs: INTERVAL_MS, appends: APPENDS },
    targets: { latencyP99Ms: TARGET_P99_MS },
    header: { metric: 'metric', n: 'n', value: 'value', target: 'target', verdict: '' },
    measure,
    report: () => ({ rows, notes, failed }),
  };
}

/** The most events in any one-second window. */
function maxPerSecond(times: number[]): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= 1000) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
