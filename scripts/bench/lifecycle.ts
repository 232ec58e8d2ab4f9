// Lifecycle benchmark: raw puppeteer-core against tabvisor driven over its real WebSocket
// channel, in the same run, on the same Chrome binary and the same local pages. Measures
// launch, navigation, memory and kill -9 recovery; prints a table with ratios and targets and
// writes every sample to bench-results/lifecycle.json.
//
//   npm run bench:lifecycle                (15 launches, 300 navigations, 100-navigation memory, 5 recoveries)
//   npm run bench:lifecycle -- --quick     (3 launches, 40 navigations, 20-navigation memory, 2 recoveries)
//   counts can be set one by one: --launches=N --navigations=N --memory-navigations=N --recoveries=N
//
// Fairness rules: both sides launch the same binary with the same lean flags (tabvisor's own
// chromeArgs, minus what puppeteer manages itself: headless mode, profile dir, debugging port);
// both use defaultViewport null (tabvisor connects that way); the contenders alternate so that
// drift and noise spread over both; every measurement waits until the previous browser's whole
// process group is gone, so no teardown overlaps a timing. Run nothing else on the machine: the
// run waits for foreign Chrome to go before it starts (BENCH_QUIET_WAIT_MS, default 300 s) and
// before each section (60 s), and samples it all along.
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import type { Page } from 'puppeteer-core';
import { liveGroupMembers } from '../../src/chrome/launch.js';
import { readProcessMemory, type ProcessMemory } from '../../src/chrome/memory.js';
import { connect, type EventMessage, type ParamsOf, type TabvisorClient } from '../../src/client/index.js';
import { startTabvisor } from '../../src/index.js';
import type { Bench, Scenario } from './run.js';
import { fmtMs, fmtRatio, median, pct, round } from './utils/figures.js';
import { log } from './utils/machine.js';
import { servePages, smallPage } from './utils/pages.js';

const NAV_WARMUP = 10;
const SETTLE_MS = 2_000;
const TARGETS = { launchP50Ratio: 1.2, navigateP50Ratio: 1.1, idlePssMb: 150, recoveryRatio: 2 };
const MB = 2 ** 20;
const fmtMb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

const timed = async <T>(f: () => Promise<T>): Promise<[number, T]> => {
  const t0 = performance.now();
  const value = await f();
  return [performance.now() - t0, value];
};

type TreeMemory = ProcessMemory & { processes: number };
async function treeMemory(pid: number): Promise<TreeMemory> {
  const pids = await liveGroupMembers(pid); // the browser's process group: every Chrome process of it
  return { ...(await readProcessMemory(pids)), processes: pids.length };
}
/** Median of three readings 250 ms apart: one reading can catch a GC or a tab mid-teardown. */
async function settledMemory(pid: number): Promise<TreeMemory> {
  await sleep(SETTLE_MS);
  const readings = [];
  for (let i = 0; i < 3; i++) {
    if (i) await sleep(250);
    readings.push(await treeMemory(pid));
  }
  readings.sort((a, b) => a.pssBytes - b.pssBytes);
  return readings[1] as TreeMemory;
}
const mem = (m: TreeMemory) => ({ pssMb: round(m.pssBytes / MB), ussMb: round(m.ussBytes / MB), processes: m.processes });

type StateEvent = EventMessage & { actor: string; from: string | null; to: string; at: number; reason: string };
/** State events as they arrive, with a wait for a condition over the events since a mark. */
class StateEvents {
  readonly list: StateEvent[] = [];
  private wake: (() => void) | null = null;
  constructor(client: TabvisorClient) {
    client.onEvent((e) => {
      if (e.topic !== 'state') return;
      this.list.push(e as StateEvent);
      this.wake?.();
    });
  }
  mark = () => this.list.length;
  async until(done: (events: StateEvent[]) => boolean, from: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.list.slice(from))) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.list.slice(from).map((e) => `${e.actor} ${e.from}→${e.to} (${e.reason})`).join('\n  ');
        throw new Error(`condition not met within ${timeoutMs} ms; events seen:\n  ${seen}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }
}

type Row = { section: string; metric: string; n: string; raw: string; tabvisor: string; ratio: string; target: string; verdict: '' | 'PASS' | 'MISS' | 'n/a' };
const verdict = (ok: boolean): Row['verdict'] => (ok ? 'PASS' : 'MISS');

export default function lifecycle(bench: Bench): Scenario {
  const LAUNCHES = bench.count('launches', 15, 3);
  const NAVIGATIONS = bench.count('navigations', 300, 40);
  const MEMORY_NAVIGATIONS = bench.count('memory-navigations', 100, 20);
  const RECOVERIES = bench.count('recoveries', 5, 2);
  const { machine, raw, binary, results } = bench;
  const rows: Row[] = [];
  machine.sampleForeignChrome();

  async function measure(): Promise<void> {
    const foreignAtStart = await machine.foreignChrome();
    if (foreignAtStart) await machine.waitForNoForeignChrome(Number(process.env.BENCH_QUIET_WAIT_MS ?? 300_000));
    // Between sections: PSS splits shared pages among every process mapping them, so a
    // foreign Chrome would lower our figures.
    const waitForQuietMachine = () => machine.waitForNoForeignChrome(60_000);

    // A small static page and a second one, so navigations alternate for real.
    const pages = await servePages((path) => (path === '/a' || path === '/b' ? smallPage(path.slice(1), 'lifecycle', (i) => `/${path === '/a' ? 'b' : 'a'}#${i}`) : null));
    bench.defer(() => pages.close());
    const PAGES = [`${pages.origin}/a`, `${pages.origin}/b`] as const;
    const pageUrl = (i: number) => PAGES[i % 2] as string;

    const logFile = 'bench-results/lifecycle-tabvisor.log';
    writeFileSync(logFile, '');
    const logger = pino({ level: 'warn' }, pino.destination({ dest: logFile, sync: true }));
    bench.defer(() => logger.flush());
    const tv = await startTabvisor({ port: 0, binary, log: logger });
    bench.defer(() => tv.close());
    const client = await connect(tv.url, { client: 'bench-lifecycle' });
    const instancesCreated = new Set<string>();
    bench.defer(async () => {
      for (const id of instancesCreated) await client.call('instance.stop', { instanceId: id }).catch(() => {});
      await client.close().catch(() => {});
    });
    const events = new StateEvents(client);
    await client.call('events.subscribe', { topics: ['state'] });
    async function tvCreate(params: ParamsOf<'instance.create'> = {}) {
      const created = await client.call('instance.create', params);
      instancesCreated.add(created.instanceId);
      if (created.pid) machine.groups.add(created.pid);
      return created;
    }
    async function tvStop(instanceId: string): Promise<void> {
      await client.call('instance.stop', { instanceId });
      instancesCreated.delete(instanceId);
    }

    // ── 1. launch: puppeteer.launch vs instance.create (answered once healthy) ───────────
    await machine.section('launch');
    log(`launch: ${LAUNCHES} each (+1 warm-up each), alternating`);
    const rawLaunchMs: number[] = [];
    const createMs: number[] = [];
    const createInternalMs: number[] = [];
    for (let i = -1; i < LAUNCHES; i++) {
      const order = i % 2 === 0 ? ['raw', 'tabvisor'] : ['tabvisor', 'raw'];
      for (const who of order) {
        if (who === 'raw') {
          const [ms, browser] = await timed(() => raw.launch());
          await raw.close(browser);
          if (i >= 0) rawLaunchMs.push(ms);
        } else {
          const [ms, created] = await timed(() => tvCreate());
          await tvStop(created.instanceId);
          if (i >= 0) {
            createMs.push(ms);
            createInternalMs.push(created.launchMs);
          }
        }
        await sleep(100);
      }
    }
    const launchRatio = median(createMs) / median(rawLaunchMs);
    rows.push(
      { section: 'launch', metric: 'ready p50', n: `${LAUNCHES}`, raw: fmtMs(median(rawLaunchMs)), tabvisor: fmtMs(median(createMs)), ratio: fmtRatio(launchRatio), target: `≤ ${TARGETS.launchP50Ratio}×`, verdict: verdict(launchRatio <= TARGETS.launchP50Ratio) },
      { section: 'launch', metric: 'ready p95', n: `${LAUNCHES}`, raw: fmtMs(pct(rawLaunchMs, 95)), tabvisor: fmtMs(pct(createMs, 95)), ratio: fmtRatio(pct(createMs, 95) / pct(rawLaunchMs, 95)), target: '', verdict: '' },
    );
    results.launch = {
      rawMs: rawLaunchMs.map((v) => round(v, 2)),
      tabvisorMs: createMs.map((v) => round(v, 2)),
      tabvisorInternalLaunchMs: createInternalMs,
      p50: { raw: round(median(rawLaunchMs)), tabvisor: round(median(createMs)), tabvisorInternal: median(createInternalMs), ratio: round(launchRatio, 3) },
      p95: { raw: round(pct(rawLaunchMs, 95)), tabvisor: round(pct(createMs, 95)) },
    };

    // ── 2. navigation: page.goto vs tab.navigate, both alive, interleaved ────────────────
    await waitForQuietMachine();
    await machine.section('navigate');
    log(`navigation: ${NAV_WARMUP} warm-up + ${NAVIGATIONS} each, alternating pages and order`);
    const navBrowser = await raw.launch();
    const rawPage: Page = await navBrowser.newPage();
    for (const p of await navBrowser.pages()) if (p !== rawPage) await p.close(); // one page each, like tabvisor
    const navInstance = await tvCreate();
    const { tabId } = await client.call('tab.open', { instanceId: navInstance.instanceId });
    const gotoMs: number[] = [];
    const navigateMs: number[] = [];
    const navigateLoadMs: number[] = [];
    for (let i = -NAV_WARMUP; i < NAVIGATIONS; i++) {
      const url = pageUrl(i + NAV_WARMUP);
      const rawFirst = Math.floor((i + NAV_WARMUP) / 2) % 2 === 0;
      const runRaw = async () => {
        const [ms, response] = await timed(() => rawPage.goto(url, { waitUntil: 'load' }));
        if (response?.status() !== 200) throw new Error(`raw goto ${url}: status ${response?.status()}`);
        if (i >= 0) gotoMs.push(ms);
      };
      const runOurs = async () => {
        const [ms, result] = await timed(() => client.call('tab.navigate', { tabId, url, waitUntil: 'load' }));
        if (result.status !== 200 || result.url !== url) throw new Error(`tab.navigate ${url}: ${JSON.stringify(result)}`);
        if (i >= 0) {
          navigateMs.push(ms);
          navigateLoadMs.push(result.loadMs);
        }
      };
      if (rawFirst) {
        await runRaw();
        await runOurs();
      } else {
        await runOurs();
        await runRaw();
      }
    }
    await raw.close(navBrowser);
    await tvStop(navInstance.instanceId);
    for (const p of [50, 95, 99]) {
      const ratio = pct(navigateMs, p) / pct(gotoMs, p);
      rows.push({
        section: 'navigate',
        metric: `load p${p}`,
        n: `${NAVIGATIONS}`,
        raw: fmtMs(pct(gotoMs, p)),
        tabvisor: fmtMs(pct(navigateMs, p)),
        ratio: fmtRatio(ratio),
        target: p === 50 ? `≤ ${TARGETS.navigateP50Ratio}×` : '',
        verdict: p === 50 ? verdict(ratio <= TARGETS.navigateP50Ratio) : '',
      });
    }
    results.navigate = {
      rawMs: gotoMs.map((v) => round(v, 2)),
      tabvisorMs: navigateMs.map((v) => round(v, 2)),
      tabvisorServerLoadMs: navigateLoadMs,
      p50: { raw: round(median(gotoMs), 2), tabvisor: round(median(navigateMs), 2), tabvisorServerLoadMs: median(navigateLoadMs), ratio: round(median(navigateMs) / median(gotoMs), 3) },
      p95: { raw: round(pct(gotoMs, 95), 2), tabvisor: round(pct(navigateMs, 95), 2) },
      p99: { raw: round(pct(gotoMs, 99), 2), tabvisor: round(pct(navigateMs, 99), 2) },
    };

    // ── 3. memory: PSS of the whole tree, each browser measured alone ────────────────────
    log(`memory: idle (one about:blank tab, ${SETTLE_MS / 1000} s settle) and after ${MEMORY_NAVIGATIONS} navigations`);
    await waitForQuietMachine();
    await machine.section('memory');
    const memBrowser = await raw.launch();
    const memPid = memBrowser.process()?.pid as number;
    const memPage = (await memBrowser.pages())[0] as Page; // the start-up about:blank tab
    const rawIdle = await settledMemory(memPid);
    for (let i = 0; i < MEMORY_NAVIGATIONS; i++) await memPage.goto(pageUrl(i), { waitUntil: 'load' });
    const rawBusy = await settledMemory(memPid);
    await raw.close(memBrowser);

    const memInstance = await tvCreate();
    const memOursPid = memInstance.pid as number;
    const oursNoTab = await settledMemory(memOursPid);
    const memTab = await client.call('tab.open', { instanceId: memInstance.instanceId, url: 'about:blank' });
    const oursIdle = await settledMemory(memOursPid);
    for (let i = 0; i < MEMORY_NAVIGATIONS; i++) await client.call('tab.navigate', { tabId: memTab.tabId, url: pageUrl(i), waitUntil: 'load' });
    const oursBusy = await settledMemory(memOursPid);
    await tvStop(memInstance.instanceId);

    // The target is for an idle instance as each side leaves it: instance.create gives a
    // browser with no page (tabvisor closes Chrome's start-up page), puppeteer.launch one with
    // its start-up tab. The one-tab rows compare like with like.
    const idleOk = oursNoTab.pssBytes / MB <= TARGETS.idlePssMb;
    rows.push(
      {
        section: 'memory',
        metric: 'idle instance PSS (tabvisor: no tab; raw: start-up tab)',
        n: '1',
        raw: fmtMb(rawIdle.pssBytes),
        tabvisor: fmtMb(oursNoTab.pssBytes),
        ratio: fmtRatio(oursNoTab.pssBytes / rawIdle.pssBytes),
        target: `tabvisor ≤ ${TARGETS.idlePssMb} MB`,
        verdict: binary.headlessShell ? verdict(idleOk) : 'n/a',
      },
      { section: 'memory', metric: 'idle PSS, 1 tab at about:blank', n: '1', raw: fmtMb(rawIdle.pssBytes), tabvisor: fmtMb(oursIdle.pssBytes), ratio: fmtRatio(oursIdle.pssBytes / rawIdle.pssBytes), target: '', verdict: '' },
      { section: 'memory', metric: 'idle USS, 1 tab at about:blank', n: '1', raw: fmtMb(rawIdle.ussBytes), tabvisor: fmtMb(oursIdle.ussBytes), ratio: fmtRatio(oursIdle.ussBytes / rawIdle.ussBytes), target: '', verdict: '' },
      { section: 'memory', metric: `PSS after ${MEMORY_NAVIGATIONS} navigations`, n: '1', raw: fmtMb(rawBusy.pssBytes), tabvisor: fmtMb(oursBusy.pssBytes), ratio: fmtRatio(oursBusy.pssBytes / rawBusy.pssBytes), target: '', verdict: '' },
      { section: 'memory', metric: `USS after ${MEMORY_NAVIGATIONS} navigations`, n: '1', raw: fmtMb(rawBusy.ussBytes), tabvisor: fmtMb(oursBusy.ussBytes), ratio: fmtRatio(oursBusy.ussBytes / rawBusy.ussBytes), target: '', verdict: '' },
    );
    results.memory = {
      raw: { idleOneTab: mem(rawIdle), afterNavigations: mem(rawBusy) },
      tabvisor: { idleNoTab: mem(oursNoTab), idleOneTab: mem(oursIdle), afterNavigations: mem(oursBusy) },
    };

    // ── 4. recovery: kill -9 → instance healthy, both tabs back (same ids, same URLs) ─────
    // Raw baseline: launch + 2 tabs + goto both (in parallel, as tabvisor reopens them).
    // A fresh tabvisor instance per repetition: each kill is then a first crash (restart
    // backoff starts at its minimum), which is what a crash in production looks like.
    await waitForQuietMachine();
    await machine.section('recovery');
    log(`recovery: ${RECOVERIES} kill -9 each way, alternating with raw launch + 2 tabs`);
    const coldMs: number[] = [];
    const recoverMs: number[] = [];
    const breakdown: Record<string, number>[] = [];
    for (let i = 0; i < RECOVERIES; i++) {
      const [cold, browser] = await timed(async () => {
        const b = await raw.launch();
        await Promise.all(PAGES.map(async (url) => (await b.newPage()).goto(url, { waitUntil: 'load' })));
        return b;
      });
      coldMs.push(cold);
      await raw.close(browser);
      await sleep(300);

      const fleet = await tvCreate({ restart: { maxRestarts: 100 } });
      const tabs: string[] = [];
      for (const url of PAGES) tabs.push((await client.call('tab.open', { instanceId: fleet.instanceId, url })).tabId);
      await sleep(500);
      const pid = (await client.call('instance.get', { instanceId: fleet.instanceId })).pid as number;
      const from = events.mark();
      const killedAt = Date.now();
      const t0 = performance.now();
      process.kill(pid, 'SIGKILL');
      const backHealthy = (list: StateEvent[], actor: string) => {
        const down = list.findIndex((e) => e.actor === actor && e.to === 'recovering');
        return down >= 0 && list.slice(down).some((e) => e.actor === actor && e.to === 'healthy');
      };
      await events.until((list) => backHealthy(list, fleet.instanceId) && tabs.every((t) => backHealthy(list, t)), from, 60_000);
      const ms = performance.now() - t0;
      recoverMs.push(ms);
      const listed = (await client.call('tab.list', { instanceId: fleet.instanceId })).tabs;
      const restored = tabs.every((id, k) => listed.some((t) => t.tabId === id && t.state === 'healthy' && t.url === PAGES[k]));
      if (!restored || listed.length !== tabs.length) throw new Error(`tabs not restored as they were: ${JSON.stringify(listed)}`);
      const after = await client.call('instance.get', { instanceId: fleet.instanceId });
      if (after.pid) machine.groups.add(after.pid);
      if (after.state !== 'healthy' || after.pid === pid) throw new Error(`instance not relaunched: ${JSON.stringify(after)}`);
      const seen = events.list.slice(from);
      const at = (actor: string, to: string) => (seen.find((e) => e.actor === actor && e.to === to)?.at ?? NaN) - killedAt;
      const relaunchMs = tv.runtime.findInstance(fleet.instanceId)?.launchMs ?? NaN;
      breakdown.push({
        totalMs: round(ms),
        detectedMs: at(fleet.instanceId, 'recovering'),
        tabsHealthyMs: Math.max(...tabs.map((t) => at(t, 'healthy'))),
        instanceHealthyMs: at(fleet.instanceId, 'healthy'),
        relaunchMs,
      });
      await tvStop(fleet.instanceId);
      if ((await liveGroupMembers(pid)).length) throw new Error(`the killed browser's group ${pid} is still alive`);
      await sleep(300);
    }
    const recoveryRatio = median(recoverMs) / median(coldMs);
    rows.push(
      {
        section: 'recovery',
        metric: 'kill -9 → healthy + 2 tabs p50',
        n: `${RECOVERIES}`,
        raw: `${fmtMs(median(coldMs))} (launch+2 tabs)`,
        tabvisor: fmtMs(median(recoverMs)),
        ratio: fmtRatio(recoveryRatio),
        target: `≤ ${TARGETS.recoveryRatio}×`,
        verdict: verdict(recoveryRatio <= TARGETS.recoveryRatio),
      },
      { section: 'recovery', metric: 'kill -9 → healthy + 2 tabs p95', n: `${RECOVERIES}`, raw: fmtMs(pct(coldMs, 95)), tabvisor: fmtMs(pct(recoverMs, 95)), ratio: fmtRatio(pct(recoverMs, 95) / pct(coldMs, 95)), target: '', verdict: '' },
    );
    results.recovery = {
      rawLaunchPlusTwoTabsMs: coldMs.map((v) => round(v, 2)),
      tabvisorRecoveryMs: recoverMs.map((v) => round(v, 2)),
      tabvisorBreakdownMsSinceKill: breakdown,
      p50: { raw: round(median(coldMs)), tabvisor: round(median(recoverMs)), ratio: round(recoveryRatio, 3) },
      p95: { raw: round(pct(coldMs, 95)), tabvisor: round(pct(recoverMs, 95)) },
    };
  }

  function notes(): string[] {
    const lines: string[] = [];
    const launch = results.launch as { p50: { tabvisorInternal: number } } | undefined;
    if (launch) lines.push(`\nlaunch: tabvisor's own launchMs (spawn → connected → start-up page closed) p50 ${launch.p50.tabvisorInternal} ms`);
    const nav = results.navigate as { p50: { tabvisorServerLoadMs: number } } | undefined;
    if (nav) lines.push(`navigate: tabvisor's own loadMs (page.goto inside the server) p50 ${nav.p50.tabvisorServerLoadMs} ms`);
    const rec = results.recovery as { tabvisorBreakdownMsSinceKill: Record<string, number>[] } | undefined;
    if (rec) {
      lines.push('recovery, ms since kill -9 (detected → recovering | relaunch launchMs | tabs healthy | instance healthy | total):');
      for (const b of rec.tabvisorBreakdownMsSinceKill) lines.push(`  ${b.detectedMs} | ${b.relaunchMs} | ${b.tabsHealthyMs} | ${b.instanceHealthyMs} | ${b.totalMs}`);
    }
    return lines;
  }

  return {
    title: `${LAUNCHES} launches, ${NAVIGATIONS} navigations (+${NAV_WARMUP} warm-up), ${MEMORY_NAVIGATIONS} memory navigations, ${RECOVERIES} recoveries`,
    counts: { launches: LAUNCHES, navigations: NAVIGATIONS, navigationWarmup: NAV_WARMUP, memoryNavigations: MEMORY_NAVIGATIONS, recoveries: RECOVERIES },
    targets: TARGETS,
    header: { section: 'section', metric: 'metric', n: 'n', raw: 'raw puppeteer-core', tabvisor: 'tabvisor (ws)', ratio: 'ratio', target: 'target', verdict: '' },
    measure,
    report: () => ({ rows, notes: notes() }),
  };
}
