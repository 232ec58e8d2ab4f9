// Fleet scale: `tabvisor serve` (the compiled CLI, its own process) with N = 100, 200 and 300
// instances of one tab each, default settings (the instance limit set to N only where the default is below it): time until all
// are healthy, PSS in all and per instance, the runtime's CPU and RSS while the fleet idles,
// tab.list latency, false alarms (any transition while idle), and browser kills under that
// load with the time until instance and tab are healthy again. Beside it, in the same run, a
// hand-rolled puppeteer-core pool of the same size: its launch time and memory.
//
//   npm run bench:scale                  (N = 100, 200, 300; 60 s idle; 10 kills)
//   npm run bench:scale -- --quick       (N = 10, 20; 30 s idle; 3 kills)
//   --max=N (largest step)  --min=N (smallest)  --idle-seconds=N  --kills=N
//
// Before each step the bench checks the memory available (MemAvailable) for N browsers at
// ~90 MB each above 3 GB; a step that would not fit is skipped, and so are the larger ones.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'puppeteer-core';
import { readProcessMemory } from '../../src/chrome/memory.js';
import { readMemInfoSync, readProcessTable } from '../../src/chrome/proc.js';
import { connect, type EventMessage, type TabvisorClient } from '../../src/client/index.js';
import { Admission, INSTANCE_FOOTPRINT_MB } from '../../src/runtime/admission.js';
import { listening, spawnServe } from '../../test/integration/processes.js';
import type { Bench, Scenario } from './run.js';
import { fmtMs, pct, round } from './utils/figures.js';
import { log } from './utils/machine.js';
import { servePages, smallPage } from './utils/pages.js';
import { coresBetween, usageOf, type Usage } from './utils/usage.js';

const MB = 2 ** 20;
const CONCURRENCY = 8;
const SETTLE_MS = 10_000;
const TAB_LIST_CALLS = 500;
/** What a one-tab browser is taken to need for the memory check (measured: ~64 MB PSS in a
 * fleet), and what is kept free beside them. */
const NEED_PER_BROWSER_MB = 70;
const KEEP_FREE_MB = 2_048;
const TARGETS = { allHealthyAt100S: 120, idleCpuAt100: 0.03, idleCpuAt300: 0.08, falseAlarms: 0, tabListP99Ms: 5 };

type StateEvent = EventMessage & { actor: string; from: string | null; to: string; at: number; reason: string };
type Row = { n: string; metric: string; raw: string; tabvisor: string; target: string; verdict: '' | 'PASS' | 'MISS' };

/** Run `work(i)` for i < n with at most `concurrency` at a time. */
async function pooled<T>(n: number, concurrency: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await work(i);
      }
    }),
  );
  return out;
}

/** PSS and USS of every process of these process groups, from one read of the process table. */
async function groupsMemory(pgids: Set<number>): Promise<{ pssBytes: number; ussBytes: number; processes: number }> {
  const pids = (await readProcessTable()).filter((p) => pgids.has(p.pgid) && p.state !== 'Z').map((p) => p.pid);
  return { ...(await readProcessMemory(pids)), processes: pids.length };
}

function enoughMemory(n: number): { ok: boolean; availableMb: number; needMb: number } {
  const availableMb = Math.floor(readMemInfoSync().availableBytes / MB);
  const needMb = n * NEED_PER_BROWSER_MB + KEEP_FREE_MB;
  return { ok: availableMb >= needMb, availableMb, needMb };
}

export default function scale(bench: Bench): Scenario {
  const MAX = bench.count('max', 300, 20);
  const MIN = bench.count('min', 0, 0);
  const STEPS = (bench.quick ? [10, 20] : [100, 200, 300]).filter((n) => n <= MAX && n >= MIN);
  const IDLE_S = bench.count('idle-seconds', 60, 30);
  const KILLS = bench.count('kills', 10, 3);
  const { machine, raw, results } = bench;
  const rows: Row[] = [];
  const steps: Record<string, unknown>[] = [];
  const notes: string[] = [];
  let failed = false;
  machine.sampleForeignChrome();

  /** `tabvisor serve` with default settings, unless its own default limit (what it read of the
   * memory available when it started) is below N: then again with `--max-instances N`. */
  async function startServe(n: number, stateDir: string, limit: string[] = []) {
    const server = spawnServe([...limit, '--no-restore', '--state-dir', stateDir]);
    const stop = async () => {
      if (server.child.exitCode !== null) return null;
      const t0 = performance.now();
      server.child.kill('SIGTERM');
      const result = await server.child;
      return { ms: round(performance.now() - t0), exitCode: result.exitCode };
    };
    bench.defer(stop);
    const { url } = await listening(server, 60_000);
    if (limit.length) return { server, stop, url };
    const hello = await connect(url, { client: 'bench-scale-hello' });
    const { maxInstances } = (await hello.call('system.hello')).limits;
    await hello.close();
    if (maxInstances >= n) return { server, stop, url };
    log(`tabvisor: its default limit (${maxInstances}) is below ${n}: again with --max-instances ${n}`);
    await stop();
    return startServe(n, stateDir, ['--max-instances', String(n)]);
  }

  async function tabvisorStep(n: number, pageUrl: string): Promise<Record<string, unknown>> {
    const stateDir = mkdtempSync(join(tmpdir(), 'tabvisor-bench-scale-'));
    bench.defer(() => rmSync(stateDir, { recursive: true, force: true }));
    const { server, stop, url } = await startServe(n, stateDir);
    const pid = server.child.pid as number;
    const client: TabvisorClient = await connect(url, { client: 'bench-scale' });
    bench.defer(() => client.close());
    const events: StateEvent[] = [];
    client.onEvent((e) => e.topic === 'state' && events.push(e as StateEvent));
    await client.call('events.subscribe', { topics: ['state'] });

    // ── create: N instances with one tab each, CONCURRENCY clients' worth at a time ─────
    log(`tabvisor: creating ${n} instances with one tab each (${CONCURRENCY} at a time)`);
    const t0 = performance.now();
    const fleet = await pooled(n, CONCURRENCY, async () => {
      const created = await client.call('instance.create', {});
      machine.groups.add(created.pid as number);
      const { tabId } = await client.call('tab.open', { instanceId: created.instanceId, url: pageUrl });
      return { instanceId: created.instanceId, tabId };
    });
    const allHealthyMs = performance.now() - t0;
    const listed = (await client.call('instance.list')).instances;
    const healthyAtEnd = listed.filter((i) => i.state === 'healthy').length;
    log(`tabvisor: ${healthyAtEnd}/${n} healthy after ${fmtMs(allHealthyMs)}`);

    // ── idle: the runtime's CPU and RSS, false alarms ─────────────────────────────────
    // The fleet is idle once the runtime has nothing left to do but supervise: every
    // instance has had its first PSS read (smaps_rollup, ~13 ms of CPU a browser, on a budget
    // of a few browsers a pass), then the settling time.
    const pssStart = performance.now();
    for (;;) {
      const unread = (await client.call('instance.list')).instances.filter((i) => !(i.memory.pssMb > 0)).length;
      if (unread === 0) break;
      if (performance.now() - pssStart > 300_000) throw new Error(`${unread} instances without a PSS figure 300 s after all were healthy`);
      await sleep(1_000);
    }
    const firstPssMs = performance.now() - pssStart;
    log(`tabvisor: every instance's first PSS figure ${fmtMs(firstPssMs)} after all were healthy`);
    await sleep(SETTLE_MS);
    const alarmsFrom = events.length;
    const idle: Usage[] = [usageOf(pid)!];
    for (let s = 0; s < IDLE_S; s += 5) {
      await sleep(Math.min(5, IDLE_S - s) * 1000);
      idle.push(usageOf(pid)!);
    }
    const falseAlarms = events.slice(alarmsFrom).filter((e) => e.to !== 'healthy');
    const idleCores = coresBetween(idle[0]!, idle[idle.length - 1]!);
    log(`tabvisor: idle ${IDLE_S} s: runtime CPU ${(idleCores * 100).toFixed(2)} % of a core, RSS ${round(idle[0]!.rssBytes / MB)} → ${round(idle[idle.length - 1]!.rssBytes / MB)} MB, ${falseAlarms.length} false alarms`);

    // ── memory of the fleet ─────────────────────────────────────────────────────────
    const pgids = new Set(listed.flatMap((i) => (i.pid ? [i.pid] : [])));
    const memory = await groupsMemory(pgids);

    // ── tab.list of every tab, one call at a time ───────────────────────────────────
    const tabList: number[] = [];
    for (let i = 0; i < TAB_LIST_CALLS + 20; i++) {
      const t = performance.now();
      const { tabs } = await client.call('tab.list', {});
      if (i >= 20) tabList.push(performance.now() - t);
      if (tabs.length !== n) throw new Error(`tab.list saw ${tabs.length} tabs of ${n}`);
    }

    // ── kills under that load: kill -9 of one browser at a time ─────────────────────
    const kills: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const victim = fleet[Math.floor(((k + 0.5) * n) / KILLS)]!;
      const { pid: browser } = await client.call('instance.get', { instanceId: victim.instanceId });
      const from = events.length;
      const t = performance.now();
      process.kill(browser as number, 'SIGKILL');
      const back = (actor: string) => {
        const list = events.slice(from);
        const down = list.findIndex((e) => e.actor === actor && e.to === 'recovering');
        return down >= 0 && list.slice(down).some((e) => e.actor === actor && e.to === 'healthy');
      };
      const deadline = Date.now() + 60_000;
      while (!(back(victim.instanceId) && back(victim.tabId))) {
        if (Date.now() > deadline) throw new Error(`instance ${victim.instanceId} not healthy with its tab 60 s after kill -9`);
        await sleep(5);
      }
      kills.push(performance.now() - t);
      const again = await client.call('instance.get', { instanceId: victim.instanceId });
      if (again.pid) machine.groups.add(again.pid);
      await sleep(1_000);
    }
    await client.close();
    const stopped = await stop();
    log(`tabvisor: SIGTERM with ${n} instances → exit ${stopped?.exitCode} in ${fmtMs(stopped?.ms ?? NaN)}`);
    return {
      n,
      allHealthyMs: round(allHealthyMs),
      firstPssMs: round(firstPssMs),
      healthyAtEnd,
      idleSeconds: IDLE_S,
      idleCores,
      rssMb: idle.map((u) => round(u.rssBytes / MB)),
      fds: idle.map((u) => u.fds),
      falseAlarms: falseAlarms.map((e) => ({ actor: e.actor, from: e.from, to: e.to, reason: e.reason })),
      memory: { pssMb: round(memory.pssBytes / MB), ussMb: round(memory.ussBytes / MB), processes: memory.processes, pssPerInstanceMb: round(memory.pssBytes / MB / n) },
      tabListMs: { p50: round(pct(tabList, 50), 3), p99: round(pct(tabList, 99), 3), max: round(Math.max(...tabList), 3) },
      killsMs: kills.map((v) => round(v)),
      stop: stopped,
    };
  }

  async function rawStep(n: number, pageUrl: string): Promise<Record<string, unknown>> {
    log(`raw puppeteer-core: launching ${n} browsers with one page each (${CONCURRENCY} at a time)`);
    const browsers: Browser[] = [];
    const t0 = performance.now();
    await pooled(n, CONCURRENCY, async () => {
      const browser = await raw.launch();
      browsers.push(browser);
      const page = await browser.newPage();
      await page.goto(pageUrl);
      for (const p of await browser.pages()) if (p !== page) await p.close(); // one page each, as tabvisor
    });
    const readyMs = performance.now() - t0;
    await sleep(SETTLE_MS);
    const memory = await groupsMemory(new Set(browsers.map((b) => b.process()?.pid as number)));
    await pooled(browsers.length, CONCURRENCY, (i) => raw.close(browsers[i]!));
    return { n, readyMs: round(readyMs), memory: { pssMb: round(memory.pssBytes / MB), ussMb: round(memory.ussBytes / MB), processes: memory.processes, pssPerInstanceMb: round(memory.pssBytes / MB / n) } };
  }

  async function measure(): Promise<void> {
    const pages = await servePages((path) => (path === '/p' ? smallPage('p', 'scale', (i) => `/p#${i}`) : null));
    bench.defer(() => pages.close());
    const pageUrl = `${pages.origin}/p`;
    const admission = new Admission();
    results.defaultLimit = { maxInstances: admission.maxInstances, memoryReserveMb: admission.memoryReserveMb, footprintMb: INSTANCE_FOOTPRINT_MB };
    log(`the default instance limit here would be ${admission.maxInstances} (reserve ${admission.memoryReserveMb} MB, ${INSTANCE_FOOTPRINT_MB} MB an instance)`);
    for (const n of STEPS) {
      const room = enoughMemory(n);
      if (!room.ok) {
        notes.push(`N = ${n} and above skipped: ${room.availableMb} MB available, ${room.needMb} MB needed (${NEED_PER_BROWSER_MB} MB a browser + ${KEEP_FREE_MB} MB kept free)`);
        log(notes[notes.length - 1]!);
        break;
      }
      await machine.section(`tabvisor-${n}`);
      const ours = await tabvisorStep(n, pageUrl);
      await sleep(3_000);
      const roomRaw = enoughMemory(n);
      let theirs: Record<string, unknown> | null = null;
      if (roomRaw.ok) {
        await machine.section(`raw-${n}`);
        theirs = await rawStep(n, pageUrl);
      } else notes.push(`raw pool of ${n} skipped: ${roomRaw.availableMb} MB available`);
      steps.push({ tabvisor: ours, raw: theirs });
      addRows(n, ours, theirs);
      await sleep(3_000);
    }
    results.steps = steps;
  }

  function addRows(n: number, ours: Record<string, any>, theirs: Record<string, any> | null): void {
    const verdict = (ok: boolean): Row['verdict'] => (ok ? 'PASS' : 'MISS');
    // The two targets: 100 instances and 300; none in between.
    const cpuTarget = n === 300 ? TARGETS.idleCpuAt300 : n === 100 ? TARGETS.idleCpuAt100 : null;
    const kills = ours.killsMs as number[];
    const rss = ours.rssMb as number[];
    const fds = ours.fds as number[];
    const row = (metric: string, tabvisor: string, rawCell = '', target = '', ok?: boolean): Row => ({ n: String(n), metric, raw: rawCell, tabvisor, target, verdict: ok === undefined ? '' : verdict(ok) });
    rows.push(
      row('time to all healthy (raw: all launched, page loaded)', `${round(ours.allHealthyMs / 1000, 2)} s (${ours.healthyAtEnd}/${n})`, theirs ? `${round(theirs.readyMs / 1000, 2)} s` : 'skipped', n === 100 ? `< ${TARGETS.allHealthyAt100S} s` : '', n === 100 ? ours.allHealthyMs / 1000 < TARGETS.allHealthyAt100S && ours.healthyAtEnd === n : undefined),
      row('every instance\'s first PSS figure, after all healthy', `${round(ours.firstPssMs / 1000, 1)} s`),
      row('PSS in all / per instance', `${round(ours.memory.pssMb / 1024, 2)} GB / ${ours.memory.pssPerInstanceMb} MB`, theirs ? `${round(theirs.memory.pssMb / 1024, 2)} GB / ${theirs.memory.pssPerInstanceMb} MB` : ''),
      row('processes / USS in all', `${ours.memory.processes} / ${round(ours.memory.ussMb / 1024, 2)} GB`, theirs ? `${theirs.memory.processes} / ${round(theirs.memory.ussMb / 1024, 2)} GB` : ''),
      row(`runtime CPU, fleet idle ${ours.idleSeconds} s`, `${(ours.idleCores * 100).toFixed(2)} % of a core`, '', cpuTarget === null ? '' : `≤ ${cpuTarget * 100} %`, cpuTarget === null ? undefined : ours.idleCores <= cpuTarget),
      row('runtime RSS / fds, start → end of idle', `${rss[0]} → ${rss[rss.length - 1]} MB / ${fds[0]} → ${fds[fds.length - 1]}`),
      row('false alarms while idle', String((ours.falseAlarms as unknown[]).length), '', '0', (ours.falseAlarms as unknown[]).length === TARGETS.falseAlarms),
      row(`tab.list of ${n} tabs p50 / p99`, `${fmtMs(ours.tabListMs.p50)} / ${fmtMs(ours.tabListMs.p99)}`, '', `p99 < ${TARGETS.tabListP99Ms} ms`, ours.tabListMs.p99 < TARGETS.tabListP99Ms),
      row(`kill -9 → healthy with its tab, ${kills.length} kills p50 / max`, `${fmtMs(pct(kills, 50))} / ${fmtMs(Math.max(...kills))}`),
      row('SIGTERM → exit', ours.stop ? `${fmtMs(ours.stop.ms)}, exit ${ours.stop.exitCode}` : ''),
    );
    if ([...rows].some((r) => r.verdict === 'MISS')) failed = true;
  }

  return {
    title: `N = ${STEPS.join(', ')} instances with one tab each; ${IDLE_S} s idle; ${KILLS} kills per step`,
    legend: ['tabvisor: `tabvisor serve` as its own process, default settings (--max-instances N only where the default limit would not admit N); raw: a hand-rolled puppeteer-core pool of N browsers, one page each'],
    counts: { steps: STEPS.length, idleSeconds: IDLE_S, kills: KILLS, concurrency: CONCURRENCY },
    targets: TARGETS,
    header: { n: 'N', metric: 'metric', raw: 'raw puppeteer-core', tabvisor: 'tabvisor', target: 'target', verdict: '' },
    measure,
    report: () => ({ rows, notes, failed }),
  };
}
