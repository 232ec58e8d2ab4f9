// Restore benchmark: the real `tabvisor serve` (the compiled CLI) killed with SIGKILL and
// started again on the same state dir, timed from the spawn of the new runtime until the whole
// fleet is healthy again, under the same instance and tab ids, at the same URLs. Two paths:
// the browsers survived (adopted) and the browsers died with the runtime (relaunched); both
// against a cold start of the same fleet, and a raw puppeteer-core cold start as a reference.
// Prints a table with ratios and targets and writes every sample to bench-results/restore.json.
//
//   npm run bench:restore                  (5 instances × 4 tabs, 3 rounds; builds first)
//   npm run bench:restore -- --quick       (2 instances × 2 tabs, 1 round)
//   counts can be set one by one: --instances=N --tabs=N --rounds=N
//
// Each round, in a fresh state dir: (0) `node -e ""` spawn → exit, to show how much of each
// tabvisor figure is Node start-up; (1) raw puppeteer-core: N browsers launched in parallel,
// each opening its tabs in parallel, until all loaded (no Node start-up in that figure);
// (2) cold: spawn serve → connect → instance.create ×N in parallel, tab.open of each
// instance's tabs in parallel → all open; then supervisor.snapshot; (3) adopt: kill -9 the
// runtime (Chrome lives on, held by its keeper), spawn serve → every instance and tab
// healthy; (4) relaunch: kill -9 the runtime and every browser group of the fleet, wait until
// the groups are gone, spawn serve → all healthy; (5) SIGTERM, exit code recorded.
//
// Fairness rules: the same binary for both sides (tabvisor finds it the way the raw side
// does), the same local pages; no measurement overlaps another: the raw browsers' process
// groups are gone before tabvisor starts, and the killed browsers' groups before the
// relaunch. Tabvisor figures include the start-up of a Node process, the raw one does not:
// the `node -e ""` row says how much that is. Run nothing else on the machine; Chrome
// processes not started by this run are sampled all along and reported.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { liveGroupMembers } from '../../src/chrome/launch.js';
import { processesMarked } from '../../src/chrome/process-identity.js';
import { readCmdline } from '../../src/chrome/proc.js';
import { connect, type ResultOf, type TabvisorClient } from '../../src/client/index.js';
import { STATE_ENV } from '../../src/runtime/world.js';
import { CLI, listening, spawnServe, type LogLine, type SpawnedServe } from '../../test/integration/processes.js';
import type { Bench, Scenario } from './run.js';
import { fmtMs, fmtRatio, median, round } from './utils/figures.js';
import { killGroup, log, waitGroupGone } from './utils/machine.js';
import { servePages, smallPage } from './utils/pages.js';

const TARGETS = { restoredPct: 100, adoptMs: 1_000, relaunchColdRatio: 1.5 };
const CLIENT = 'bench';
const LISTEN_TIMEOUT_MS = 30_000;
const RESTORE_TIMEOUT_MS = 60_000;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const finite = (values: number[]) => values.filter((v) => Number.isFinite(v));
const max = (values: number[]) => (finite(values).length ? Math.max(...finite(values)) : Number.NaN);
const fmt = (n: number) => (Number.isFinite(n) ? fmtMs(n) : '—');
const fmtR = (n: number) => (Number.isFinite(n) ? fmtRatio(n) : '—');
const fmtPct = (ok: number, total: number) => `${total ? round((100 * ok) / total, 1).toFixed(1) : '—'} % (${ok}/${total})`;

/** Live processes whose environment names one of these state dirs (browsers and keepers). */
async function processesOnStateDirs(stateDirs: Iterable<string>): Promise<{ pid: number; pgrp: number; cmd: string; dir: string }[]> {
  const wanted = new Set(stateDirs);
  const found: { pid: number; pgrp: number; cmd: string; dir: string }[] = [];
  if (!wanted.size) return found;
  for (const p of await processesMarked(STATE_ENV)) {
    const dir = p.env[STATE_ENV] as string;
    if (wanted.has(dir)) found.push({ pid: p.pid, pgrp: p.pgid, cmd: ((await readCmdline(p.pid)) ?? '').slice(0, 120), dir });
  }
  return found;
}

// ── tabvisor serve as a child process (test/integration/processes.ts), its log lines ────
async function killServe(serve: SpawnedServe, signal: NodeJS.Signals): Promise<{ code: number | null; signal: string | null }> {
  serve.child.kill(signal);
  const result = await serve.child;
  return { code: result.exitCode ?? null, signal: result.signal ?? null };
}
const sinceSpawn = (serve: SpawnedServe, msg: string) => {
  const line = serve.lines.find((l) => l.msg === msg);
  return line ? line.receivedAt - serve.spawnedAt : Number.NaN;
};
/** Start-up and restore as the runtime logged them: ms since the spawn by the runtime's own
 * clock (pino's `time`), up to "fleet restored" (or "control channel listening"). */
function timeline(serve: SpawnedServe): { msg: string; ms: number }[] {
  const out: { msg: string; ms: number }[] = [];
  for (const l of serve.lines) {
    if (l.msg === 'transition' || typeof l.time !== 'number') continue;
    out.push({ msg: String(l.msg), ms: l.time - serve.spawnedAtEpoch });
    if (l.msg === 'fleet restored') break;
  }
  return out;
}
const at = (events: { msg: string; ms: number }[], msg: string) => events.find((e) => e.msg === msg)?.ms ?? Number.NaN;
/** Warnings and errors the runtime logged: worth a look whatever the figures say. */
const complaints = (serve: SpawnedServe) => serve.lines.filter((l) => (l.level ?? 0) >= 40).map(({ receivedAt: _, ...l }) => l);
/** The "fleet restored" line's summary, if the runtime logged it within a while. */
async function restoreLine(serve: SpawnedServe): Promise<LogLine | null> {
  return serve.waitForLine('fleet restored', 30_000).catch(() => null);
}
const stripped = (l: LogLine | null) => {
  if (!l) return null;
  const { receivedAt: _r, level: _l, time: _t, pid: _p, hostname: _h, ...rest } = l;
  return rest;
};

// ── the fleet ──────────────────────────────────────────────────────────────────────────
interface Fleet {
  instances: { instanceId: string; pid: number | null; tabs: { tabId: string; url: string }[] }[];
}
type InstanceInfo = ResultOf<'instance.list'>['instances'][number];
type TabInfo = ResultOf<'tab.list'>['tabs'][number];

interface Restored {
  /** ms from spawn until every instance and tab was healthy; NaN if that never happened. */
  ms: number;
  instances: InstanceInfo[];
  tabs: TabInfo[];
  polls: number;
}
/** Poll instance.list and tab.list every 10 ms until the whole fleet is healthy, or it has
 * settled otherwise (every instance and tab healthy or failed), or the time is up. */
async function untilRestored(serve: SpawnedServe, client: TabvisorClient, fleet: Fleet): Promise<Restored> {
  const deadline = performance.now() + RESTORE_TIMEOUT_MS;
  let polls = 0;
  for (;;) {
    const [{ instances }, { tabs }] = await Promise.all([client.call('instance.list'), client.call('tab.list')]);
    const now = performance.now();
    polls++;
    const states = [
      ...fleet.instances.map((e) => instances.find((v) => v.instanceId === e.instanceId)?.state),
      ...fleet.instances.flatMap((e) => e.tabs.map((t) => tabs.find((v) => v.tabId === t.tabId)?.state)),
    ];
    if (states.every((s) => s === 'healthy')) return { ms: now - serve.spawnedAt, instances, tabs, polls };
    const settled = states.every((s) => s === 'healthy' || s === 'failed');
    if (settled || now > deadline) return { ms: Number.NaN, instances, tabs, polls };
    await sleep(10);
  }
}

interface Check {
  instancesOk: number;
  instancesTotal: number;
  tabsOk: number;
  tabsTotal: number;
  /** Instances whose reason starts with the expected word. */
  reasonOk: number;
  reasons: string[];
  /** Instances or tabs listed that the fleet did not have. */
  extra: string[];
  problems: string[];
}
/** Same ids as created, healthy, each tab at its page, the reason as expected. */
function check(fleet: Fleet, restored: Restored, expectedReason: string): Check {
  const result: Check = { instancesOk: 0, instancesTotal: 0, tabsOk: 0, tabsTotal: 0, reasonOk: 0, reasons: [], extra: [], problems: [] };
  for (const e of fleet.instances) {
    result.instancesTotal++;
    const view = restored.instances.find((v) => v.instanceId === e.instanceId);
    if (!view) result.problems.push(`${e.instanceId} missing`);
    else {
      result.reasons.push(view.reason);
      if (view.state === 'healthy') result.instancesOk++;
      else result.problems.push(`${e.instanceId} ${view.state}: ${view.reason}`);
      if (view.reason.startsWith(expectedReason)) result.reasonOk++;
      else result.problems.push(`${e.instanceId} reason "${view.reason}" (expected "${expectedReason}…")`);
    }
    for (const t of e.tabs) {
      result.tabsTotal++;
      const tab = restored.tabs.find((v) => v.tabId === t.tabId);
      if (!tab) result.problems.push(`${t.tabId} missing`);
      else if (tab.instanceId !== e.instanceId || tab.state !== 'healthy' || tab.url !== t.url) result.problems.push(`${t.tabId}: ${JSON.stringify(tab)} (expected ${t.url} on ${e.instanceId})`);
      else result.tabsOk++;
    }
  }
  const known = new Set(fleet.instances.flatMap((e) => [e.instanceId, ...e.tabs.map((t) => t.tabId)]));
  for (const v of restored.instances) if (!known.has(v.instanceId)) result.extra.push(v.instanceId);
  for (const v of restored.tabs) if (!known.has(v.tabId)) result.extra.push(v.tabId);
  if (result.extra.length) result.problems.push(`not in the fleet: ${result.extra.join(', ')}`);
  return result;
}

/** `node -e ""` spawn → exit: how much of a tabvisor figure is Node start-up. */
async function bareNode(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (c) => resolve(c));
    child.once('error', () => resolve(null));
  });
  if (code !== 0) throw new Error(`node -e "" exited ${code}`);
  return performance.now() - t0;
}

interface RoundResult {
  round: number;
  loadavg: number[];
  nodeBareMs: number;
  rawColdMs: number;
  cold: { timeline: { msg: string; ms: number }[]; ms: number; usingChromeMs: number; listeningMs: number; snapshotCallMs: number; snapshot: ResultOf<'supervisor.snapshot'> | null };
  adopt: { timeline: { msg: string; ms: number }[]; ms: number; usingChromeMs: number; listeningMs: number; runtimeLoggedMs: number; polls: number; check: Check; pidsKept: number; restoreLog: unknown };
  relaunch: { timeline: { msg: string; ms: number }[]; ms: number; usingChromeMs: number; listeningMs: number; runtimeLoggedMs: number; polls: number; check: Check; killedGroups: number[]; groupsGoneMs: number; restoreLog: unknown };
  sigtermExit: { code: number | null; signal: string | null; ms: number };
  leftAfterStop: { pid: number; cmd: string }[];
  runtimeWarnings: unknown[];
}

type Row = { path: string; metric: string; n: string; p50: string; max: string; ratio: string; target: string; verdict: '' | 'PASS' | 'FAIL' };
const verdict = (ok: boolean): Row['verdict'] => (ok ? 'PASS' : 'FAIL');

export default function restore(bench: Bench): Scenario {
  const INSTANCES = bench.count('instances', 5, 2);
  const TABS = bench.count('tabs', 4, 2);
  const ROUNDS = bench.count('rounds', 3, 1);
  const { machine, raw, results } = bench;
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run bench:restore does)`);
  machine.sampleForeignChrome();
  log(`${INSTANCES} instances × ${TABS} tabs, ${ROUNDS} rounds${bench.quick ? ' (quick)' : ''}`);

  const serves = new Set<SpawnedServe>();
  const clients = new Set<TabvisorClient>();
  const stateDirs = new Set<string>();
  const rounds: RoundResult[] = [];
  let pageUrl: (i: number, j: number) => string = () => '';
  let stillAlive: string[] = [];

  function startServe(stateDir: string): SpawnedServe {
    const serve = spawnServe(['--state-dir', stateDir]);
    serves.add(serve);
    void serve.child.then(() => serves.delete(serve));
    return serve;
  }
  async function connectTo(serve: SpawnedServe): Promise<TabvisorClient> {
    const { url } = await listening(serve, LISTEN_TIMEOUT_MS);
    const client = await connect(url, { client: CLIENT, reconnect: false });
    clients.add(client);
    return client;
  }
  async function closeClient(client: TabvisorClient): Promise<void> {
    clients.delete(client);
    await client.close().catch(() => {});
  }

  async function openFleet(client: TabvisorClient): Promise<Fleet> {
    const instances = await Promise.all(
      range(INSTANCES).map(async (i) => {
        const created = await client.call('instance.create', { name: `bench-${i}` });
        if (created.pid) machine.groups.add(created.pid);
        const tabs = await Promise.all(
          range(TABS).map(async (j) => {
            const url = pageUrl(i, j);
            const tab = await client.call('tab.open', { instanceId: created.instanceId, url });
            if (tab.url !== url || tab.state !== 'healthy') throw new Error(`tab.open ${url}: ${JSON.stringify(tab)}`);
            return { tabId: tab.tabId, url };
          }),
        );
        return { instanceId: created.instanceId, pid: created.pid, tabs };
      }),
    );
    return { instances };
  }

  // ── the raw reference: the same fleet with puppeteer-core ─────────────────────────────
  async function rawColdStart(): Promise<number> {
    const t0 = performance.now();
    const browsers = await Promise.all(
      range(INSTANCES).map(async (i) => {
        const browser = await raw.launch();
        await Promise.all(
          range(TABS).map(async (j) => {
            const page = await browser.newPage();
            const response = await page.goto(pageUrl(i, j), { waitUntil: 'load' });
            if (response?.status() !== 200) throw new Error(`raw goto ${pageUrl(i, j)}: status ${response?.status()}`);
          }),
        );
        return browser;
      }),
    );
    const ms = performance.now() - t0;
    for (const browser of browsers) await raw.close(browser);
    return ms;
  }

  /** A restore path: a new runtime spawned on the state dir, timed until the whole fleet is
   * healthy again, then checked (each instance's reason should start with `reason`). */
  async function restorePath(path: 'adopt' | 'relaunch', stateDir: string, fleet: Fleet, reason: string) {
    const serve = startServe(stateDir);
    const client = await connectTo(serve);
    const restored = await untilRestored(serve, client, fleet);
    const result = check(fleet, restored, reason);
    const line = await restoreLine(serve);
    log(`  ${path} ${restored.ms.toFixed(1)} ms (runtime: ${String(line?.ms)} ms); ${result.instancesOk}/${result.instancesTotal} instances, ${result.tabsOk}/${result.tabsTotal} tabs${result.problems.length ? `; ${result.problems.join('; ')}` : ''}`);
    return { serve, client, restored, check: result, line };
  }
  /** A restore path's figures, as the round records them once it is over. */
  const restoreFigures = ({ serve, restored, check, line }: Awaited<ReturnType<typeof restorePath>>) => ({
    timeline: timeline(serve),
    ms: round(restored.ms, 2),
    usingChromeMs: round(sinceSpawn(serve, 'using Chrome'), 2),
    listeningMs: round(sinceSpawn(serve, 'control channel listening'), 2),
    runtimeLoggedMs: typeof line?.ms === 'number' ? line.ms : Number.NaN,
    polls: restored.polls,
    check,
  });

  /** Whatever happened: runtimes, raw browsers, every Chrome and keeper of ours; then what is
   * still alive is a leak. */
  async function cleanUp(): Promise<void> {
    for (const client of [...clients]) await closeClient(client);
    for (const serve of [...serves]) {
      serve.child.kill('SIGKILL');
      await serve.child;
    }
    await raw.closeAll();
    const marked = await processesOnStateDirs(stateDirs);
    const groups = new Set([...marked.map((p) => p.pgrp), ...machine.groups]);
    for (const pgrp of groups) killGroup(pgrp);
    for (const pgrp of groups) await waitGroupGone(pgrp).catch(() => {});
    for (const dir of stateDirs) await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }).catch(() => {});
    stillAlive = (await processesOnStateDirs(stateDirs)).map((p) => `${p.pid} ${p.cmd}`);
    for (const pgrp of machine.groups) if ((await liveGroupMembers(pgrp)).length) stillAlive.push(`group ${pgrp}`);
  }

  async function measure(): Promise<void> {
    // One small static page per tab, each at its own path.
    const pages = await servePages((path) => {
      const match = /^\/p\/(i\d+-t\d+)$/.exec(path);
      return match ? smallPage(match[1] as string, 'restore', (i) => `#${i}`) : null;
    });
    bench.defer(() => pages.close());
    bench.defer(cleanUp);
    pageUrl = (i, j) => `${pages.origin}/p/i${i}-t${j}`;

    for (let r = 0; r < ROUNDS; r++) {
      await machine.section(`round ${r + 1}: reference`);
      const nodeBareMs = await bareNode();
      const rawColdMs = await rawColdStart();
      log(`round ${r + 1}/${ROUNDS}: node -e "" ${nodeBareMs.toFixed(1)} ms; raw puppeteer cold start ${rawColdMs.toFixed(1)} ms`);
      await sleep(300);

      const stateDir = await mkdtemp(join(tmpdir(), 'tabvisor-bench-restore-'));
      stateDirs.add(stateDir);
      const warnings: unknown[] = [];

      // 1. cold start
      await machine.section(`round ${r + 1}: cold`);
      const cold = startServe(stateDir);
      let client = await connectTo(cold);
      const fleet = await openFleet(client);
      const coldMs = performance.now() - cold.spawnedAt;
      const t0 = performance.now();
      const snapshot = await client.call('supervisor.snapshot');
      const snapshotCallMs = performance.now() - t0;
      if (snapshot.instances !== INSTANCES || snapshot.tabs !== INSTANCES * TABS) throw new Error(`snapshot holds ${snapshot.instances} instances, ${snapshot.tabs} tabs`);
      log(`  cold start ${coldMs.toFixed(1)} ms (listening after ${sinceSpawn(cold, 'control channel listening').toFixed(1)} ms); snapshot ${snapshot.bytes} bytes in ${snapshotCallMs.toFixed(1)} ms`);
      await closeClient(client);
      await killServe(cold, 'SIGKILL');
      warnings.push(...complaints(cold));
      await sleep(300);

      // 2. adopt path: the browsers survived the runtime
      await machine.section(`round ${r + 1}: adopt`);
      const adopt = await restorePath('adopt', stateDir, fleet, 'adopted');
      client = adopt.client;
      const pidsNow = adopt.restored.instances.map((v) => v.pid).filter((p): p is number => typeof p === 'number');
      for (const pid of pidsNow) machine.groups.add(pid);
      const pidsKept = fleet.instances.filter((e) => adopt.restored.instances.some((v) => v.instanceId === e.instanceId && v.pid === e.pid)).length;

      // 3. relaunch path: the runtime and every browser of the fleet killed
      await closeClient(client);
      await killServe(adopt.serve, 'SIGKILL');
      warnings.push(...complaints(adopt.serve));
      const killedGroups = [...new Set([...pidsNow, ...fleet.instances.map((e) => e.pid).filter((p): p is number => typeof p === 'number')])];
      const k0 = performance.now();
      for (const pid of killedGroups) killGroup(pid);
      for (const pid of killedGroups) await waitGroupGone(pid);
      const groupsGoneMs = performance.now() - k0;
      await sleep(300);
      await machine.section(`round ${r + 1}: relaunch`);
      const relaunch = await restorePath('relaunch', stateDir, fleet, 'relaunched');
      client = relaunch.client;
      for (const v of relaunch.restored.instances) if (v.pid) machine.groups.add(v.pid);

      // 4. graceful stop
      await closeClient(client);
      const s0 = performance.now();
      const exit = await killServe(relaunch.serve, 'SIGTERM');
      const stopMs = performance.now() - s0;
      warnings.push(...complaints(relaunch.serve));
      // Whatever is left on the state dir after a clean stop is a leak (a short grace: the last
      // group kills may still be landing).
      let left = await processesOnStateDirs([stateDir]);
      for (let i = 0; i < 30 && left.length; i++) {
        await sleep(100);
        left = await processesOnStateDirs([stateDir]);
      }
      log(`  SIGTERM: exit ${exit.code ?? exit.signal} in ${stopMs.toFixed(1)} ms; ${left.length} processes left on the state dir`);
      for (const p of left) killGroup(p.pgrp);

      rounds.push({
        round: r + 1,
        loadavg: machine.loadAverages[`round ${r + 1}: reference`] ?? [],
        nodeBareMs: round(nodeBareMs, 2),
        rawColdMs: round(rawColdMs, 2),
        cold: { timeline: timeline(cold), ms: round(coldMs, 2), usingChromeMs: round(sinceSpawn(cold, 'using Chrome'), 2), listeningMs: round(sinceSpawn(cold, 'control channel listening'), 2), snapshotCallMs: round(snapshotCallMs, 2), snapshot },
        adopt: { ...restoreFigures(adopt), pidsKept, restoreLog: stripped(adopt.line) },
        relaunch: { ...restoreFigures(relaunch), killedGroups, groupsGoneMs: round(groupsGoneMs, 2), restoreLog: stripped(relaunch.line) },
        sigtermExit: { code: exit.code, signal: exit.signal, ms: round(stopMs, 2) },
        leftAfterStop: left.map((p) => ({ pid: p.pid, cmd: p.cmd })),
        runtimeWarnings: warnings,
      });
      await rm(stateDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
      await sleep(300);
    }
  }

  function report() {
    const rows: Row[] = [];
    const lines: string[] = [];
    const leakedAfterStop = rounds.flatMap((r) => r.leftAfterStop.map((p) => `round ${r.round}: ${p.pid} ${p.cmd}`));
    const leakOk = !leakedAfterStop.length && !stillAlive.length;
    const n = `${rounds.length}`;
    const nodeMs = rounds.map((r) => r.nodeBareMs);
    const rawMs = rounds.map((r) => r.rawColdMs);
    const coldMs = rounds.map((r) => r.cold.ms);
    const adoptMs = rounds.map((r) => r.adopt.ms);
    const relaunchMs = rounds.map((r) => r.relaunch.ms);
    const p50 = (values: number[]) => median(finite(values));
    const fleetName = `${INSTANCES} inst × ${TABS} tabs`;
    const sum = (f: (r: RoundResult) => number) => rounds.reduce((s, r) => s + f(r), 0);
    const allHealthy = (values: number[]) => values.length === rounds.length && values.every((v) => Number.isFinite(v));

    const coldRawRatio = p50(coldMs) / p50(rawMs);
    const adoptColdRatio = p50(adoptMs) / p50(coldMs);
    const relaunchColdRatio = p50(relaunchMs) / p50(coldMs);
    /** A figure timed once per round: its p50 and max, judged only if `judged` says how. */
    const timingRow = (path: string, metric: string, values: number[], judged?: Partial<Pick<Row, 'ratio' | 'target' | 'verdict'>>): Row => ({
      path,
      metric,
      n,
      p50: fmt(p50(values)),
      max: fmt(max(values)),
      ratio: '',
      target: '',
      verdict: '',
      ...judged,
    });
    /** How much of the fleet came back, summed over the rounds: PASS only if all of it, in every round. */
    const restoredRow = (path: string, metric: string, ok: number, total: number, nothingExtra = true): Row => ({
      path,
      metric,
      n,
      p50: fmtPct(ok, total),
      max: '',
      ratio: '',
      target: `${TARGETS.restoredPct} %`,
      verdict: verdict(rounds.length === ROUNDS && ok === total && nothingExtra),
    });
    /** A restore path's rows: its time to all healthy (against cold, judged by the path's own
     * target), when it listened and what the runtime logged, then what it restored. */
    function restorePathRows(path: 'adopt' | 'relaunch', reason: string, healthy: { coldRatio: number; target: string; met: boolean }): Row[] {
      const ms = rounds.map((r) => r[path].ms);
      const total = (f: (c: Check) => number) => sum((r) => f(r[path].check));
      return [
        timingRow(path, 'spawn → all healthy', ms, { ratio: `${fmtR(healthy.coldRatio)} cold`, target: healthy.target, verdict: verdict(allHealthy(ms) && healthy.met) }),
        timingRow(path, 'spawn → "control channel listening"', rounds.map((r) => r[path].listeningMs)),
        timingRow(path, 'runtime-logged "fleet restored" ms', rounds.map((r) => r[path].runtimeLoggedMs)),
        restoredRow(path, 'instances restored (same ids, healthy)', total((c) => c.instancesOk), total((c) => c.instancesTotal)),
        restoredRow(path, 'tabs restored (same ids and URLs, healthy)', total((c) => c.tabsOk), total((c) => c.tabsTotal), !total((c) => c.extra.length)),
        restoredRow(path, `instances with reason "${reason}…"`, total((c) => c.reasonOk), total((c) => c.instancesTotal)),
      ];
    }
    rows.push(
      timingRow('reference', 'node -e "" spawn → exit (Node start-up)', nodeMs),
      timingRow('reference', `raw puppeteer-core: ${fleetName} loaded (no Node start)`, rawMs),
      timingRow('cold', `spawn → ${fleetName} open`, coldMs, { ratio: `${fmtR(coldRawRatio)} raw` }),
      timingRow('cold', 'spawn → "control channel listening"', rounds.map((r) => r.cold.listeningMs)),
      ...restorePathRows('adopt', 'adopted', { coldRatio: adoptColdRatio, target: `p50 < ${TARGETS.adoptMs} ms`, met: p50(adoptMs) < TARGETS.adoptMs }),
      ...restorePathRows('relaunch', 'relaunched', { coldRatio: relaunchColdRatio, target: `≤ ${TARGETS.relaunchColdRatio}× cold (p50)`, met: relaunchColdRatio <= TARGETS.relaunchColdRatio }),
      {
        path: 'stop',
        metric: 'SIGTERM → exit code',
        n,
        p50: rounds.map((r) => String(r.sigtermExit.code ?? r.sigtermExit.signal)).join(', ') || '—',
        max: fmt(max(rounds.map((r) => r.sigtermExit.ms))),
        ratio: '',
        target: 'exit 0',
        verdict: verdict(rounds.length === ROUNDS && rounds.every((r) => r.sigtermExit.code === 0)),
      },
    );

    const nodeP50 = p50(nodeMs);
    if (rounds.length) lines.push(
      `\nNode start-up: tabvisor figures are timed from the spawn of \`node ${CLI} serve\`, so each includes a Node process start\n` +
        `(node -e "" p50 ${fmt(nodeP50)}: ${round((100 * nodeP50) / p50(coldMs), 1)} % of cold, ${round((100 * nodeP50) / p50(adoptMs), 1)} % of adopt, ` +
        `${round((100 * nodeP50) / p50(relaunchMs), 1)} % of relaunch); the raw puppeteer-core figure starts in a running Node and excludes it.`,
    );
    const cold0 = p50(coldMs) - nodeP50;
    if (rounds.length) lines.push(`cold/raw with the bare Node start taken off the cold side: ${fmtR(cold0 / p50(rawMs))}`);
    if (rounds.length) {
      lines.push(`adopt < ${TARGETS.adoptMs} ms in every round: ${allHealthy(adoptMs) && max(adoptMs) < TARGETS.adoptMs ? 'yes' : 'no'} (max ${fmt(max(adoptMs))}); relaunch/cold per round: ${rounds.map((r) => fmtR(r.relaunch.ms / r.cold.ms)).join(', ')}`);
      const steps = (name: string, f: (r: RoundResult) => { timeline: { msg: string; ms: number }[]; ms: number }, msgs: [string, string][]) =>
        `  ${name}: ${[...msgs.map(([label, msg]) => `${label} ${fmt(p50(rounds.map((r) => at(f(r).timeline, msg))))}`), `all healthy ${fmt(p50(rounds.map((r) => f(r).ms)))}`].join(' → ')}`;
      const restoreSteps: [string, string][] = [
        ['"using Chrome"', 'using Chrome'],
        ['"restoring the fleet"', 'restoring the fleet from the snapshot'],
        ['"listening"', 'control channel listening'],
        ['"fleet restored"', 'fleet restored'],
      ];
      lines.push('where the time goes, p50 ms since spawn (runtime\'s log clock; "all healthy" as seen by polling):');
      lines.push(`${steps('cold', (r) => r.cold, [['"using Chrome"', 'using Chrome'], ['"listening"', 'control channel listening']])} (fleet open)`);
      lines.push(steps('adopt', (r) => r.adopt, restoreSteps));
      lines.push(steps('relaunch', (r) => r.relaunch, restoreSteps));
      lines.push('per round, ms (node | raw | cold | adopt [runtime] | relaunch [runtime] | kill → groups gone):');
      for (const r of rounds)
        lines.push(
          `  ${r.round}: ${r.nodeBareMs} | ${r.rawColdMs} | ${r.cold.ms} | ${r.adopt.ms} [${r.adopt.runtimeLoggedMs}] | ${r.relaunch.ms} [${r.relaunch.runtimeLoggedMs}] | ${r.relaunch.groupsGoneMs}` +
            `   load ${r.loadavg.join(' ')}`,
        );
      const reasons = [...new Set(rounds.flatMap((r) => [...r.adopt.check.reasons, ...r.relaunch.check.reasons].map((s) => s.replace(/pid \d+/g, 'pid N'))))];
      lines.push(`instance reasons seen: ${reasons.map((s) => JSON.stringify(s)).join(', ')}`);
      const notAdoptedPid = rounds.filter((r) => r.adopt.pidsKept !== r.adopt.check.instancesTotal);
      if (notAdoptedPid.length) lines.push(`WARNING: on the adopt path some instances have a new pid: ${notAdoptedPid.map((r) => `round ${r.round}: ${r.adopt.pidsKept}/${r.adopt.check.instancesTotal} kept`).join(', ')}`);
      for (const r of rounds) for (const p of [...r.adopt.check.problems.map((x) => `adopt: ${x}`), ...r.relaunch.check.problems.map((x) => `relaunch: ${x}`)]) lines.push(`WARNING round ${r.round} ${p}`);
      const warned = new Map<string, number>();
      for (const r of rounds) for (const w of r.runtimeWarnings) {
        const { msg, to, reason } = w as { msg?: string; to?: string; reason?: string };
        const key = msg === 'transition' ? `transition → ${to} (${reason?.replace(/\(was: .*\)$/, '(was: …)')})` : String(msg);
        warned.set(key, (warned.get(key) ?? 0) + 1);
      }
      if (warned.size) lines.push(`warn/error lines the runtimes logged: ${[...warned].map(([m, k]) => `${JSON.stringify(m)} ×${k}`).join(', ')} (all in the JSON)`);
    }
    if (leakOk) lines.push('\nleak check: ok (no process of the run\'s state dirs and no Chrome group of the run is alive)');
    else {
      lines.push('\nleak check: FAILED');
      if (leakedAfterStop.length) lines.push(`  left on a state dir after a clean SIGTERM stop (killed by the bench): ${leakedAfterStop.join('; ')}`);
      if (stillAlive.length) lines.push(`  still alive at the end: ${stillAlive.join('; ')}`);
    }
    Object.assign(results, {
      rounds,
      summary: {
        nodeBareMs: { p50: p50(nodeMs), max: max(nodeMs) },
        rawColdMs: { p50: p50(rawMs), max: max(rawMs) },
        coldMs: { p50: p50(coldMs), max: max(coldMs) },
        adoptMs: { p50: p50(adoptMs), max: max(adoptMs) },
        relaunchMs: { p50: p50(relaunchMs), max: max(relaunchMs) },
        ratios: { adoptCold: round(adoptColdRatio, 3), relaunchCold: round(relaunchColdRatio, 3), coldRaw: round(coldRawRatio, 3) },
      },
      leakCheck: { ok: leakOk, leftAfterStop: leakedAfterStop, stillAlive },
    });
    return { rows, notes: lines, failed: !leakOk };
  }

  return {
    title: `${INSTANCES} instances × ${TABS} tabs, ${ROUNDS} rounds`,
    counts: { instances: INSTANCES, tabs: TABS, rounds: ROUNDS },
    targets: TARGETS,
    header: { path: 'path', metric: 'metric', n: 'n', p50: 'p50 (or total)', max: 'max', ratio: 'ratio', target: 'target', verdict: '' },
    measure,
    report,
  };
}
