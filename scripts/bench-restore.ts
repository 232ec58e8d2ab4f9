// Restore benchmark: the real `tabvisor serve` (the compiled CLI) killed with SIGKILL and
// started again on the same state dir, timed from the spawn of the new runtime until the whole
// fleet is healthy again, under the same instance and tab ids, at the same URLs. Two paths:
// the browsers survived (adopted) and the browsers died with the runtime (relaunched); both
// against a cold start of the same fleet, and a raw puppeteer-core cold start as a reference.
// Prints a table with ratios and targets and writes every sample to bench-results/restore.json.
//
//   npm run bench:restore                  (5 instances × 4 tabs, 3 rounds; builds first)
//   npx tsx scripts/bench-restore.ts --quick   (2 instances × 2 tabs, 1 round; needs a build)
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
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { chromeVersion, findChrome } from '../src/chrome/find.js';
import { liveGroupMembers } from '../src/chrome/launch.js';
import { connect, type ResultOf, type TabvisorClient } from '../src/client/index.js';
import { count, fmtMs, fmtRatio, launchRaw, log, markRun, pct, procStat, quick, rawLaunchOptions, round, sleep, tableLines } from './bench-common.js';

// ── options ─────────────────────────────────────────────────────────────────────────────
const INSTANCES = count('instances', 5, 2);
const TABS = count('tabs', 4, 2);
const ROUNDS = count('rounds', 3, 1);
const TARGETS = { restoredPct: 100, adoptMs: 1_000, relaunchColdRatio: 1.5 };
const CLI = 'dist/src/cli.js';
const CLIENT = 'bench';
const STATE_ENV = 'TABVISOR_STATE_DIR';
const LISTEN_TIMEOUT_MS = 30_000;
const RESTORE_TIMEOUT_MS = 60_000;
const GROUP_GONE_TIMEOUT_MS = 10_000;

// Every process this run starts inherits this marker (puppeteer's Chrome, tabvisor serve and
// through it tabvisor's Chrome), so the foreign-Chrome sampler can tell ours from others'.
const { groups: ourGroups, countForeignChrome } = markRun('BENCH_RESTORE_RUN');

// ── small helpers ───────────────────────────────────────────────────────────────────────
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const median = (values: number[]) => pct(values, 50);
const finite = (values: number[]) => values.filter((v) => Number.isFinite(v));
const max = (values: number[]) => (finite(values).length ? Math.max(...finite(values)) : Number.NaN);
const fmt = (n: number) => (Number.isFinite(n) ? fmtMs(n) : '—');
const fmtR = (n: number) => (Number.isFinite(n) ? fmtRatio(n) : '—');
const fmtPct = (ok: number, total: number) => `${total ? round((100 * ok) / total, 1).toFixed(1) : '—'} % (${ok}/${total})`;

const readSync = (path: string): string | null => {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
};
/** Wait until every process of a group is gone. */
async function waitGroupGone(pgid: number, timeoutMs = GROUP_GONE_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await liveGroupMembers(pgid)).length) {
    if (Date.now() > deadline) throw new Error(`process group ${pgid} still alive after ${timeoutMs} ms`);
    await sleep(10);
  }
}
const killGroup = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false; // gone already
  }
};

/** Live processes whose environment names one of these state dirs (browsers and keepers). */
function markedProcesses(stateDirs: Iterable<string>): { pid: number; pgrp: number; cmd: string; dir: string }[] {
  const wanted = new Set([...stateDirs].map((d) => `${STATE_ENV}=${d}`));
  const found: { pid: number; pgrp: number; cmd: string; dir: string }[] = [];
  if (!wanted.size) return found;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = readSync(`/proc/${entry}/environ`);
    if (!environ) continue;
    const hit = environ.split('\0').find((v) => wanted.has(v));
    if (!hit) continue;
    const stat = readSync(`/proc/${entry}/stat`);
    if (!stat) continue;
    const { state, pgrp } = procStat(stat);
    if (state === 'Z') continue;
    const cmd = (readSync(`/proc/${entry}/cmdline`) ?? '').split('\0').join(' ').slice(0, 120);
    found.push({ pid: Number(entry), pgrp, cmd, dir: hit.slice(STATE_ENV.length + 1) });
  }
  return found;
}

// ── foreign Chrome (other Chrome work on a 2-core machine skews every timing) ───────────
const foreignSeen: Record<string, number> = {};
let section = 'start';
let sampling = false;
const sampleForeign = async (at: string) => {
  const n = await countForeignChrome();
  foreignSeen[at] = Math.max(foreignSeen[at] ?? 0, n);
};
// Asynchronous reads, every 2 s: a synchronous /proc walk would stall a timing.
const foreignSampler = setInterval(() => {
  if (sampling) return;
  sampling = true;
  void sampleForeign(section).finally(() => (sampling = false));
}, 2_000).unref();
const loadAverages: Record<string, number[]> = {};
async function enterSection(name: string): Promise<void> {
  section = name;
  loadAverages[name] = loadavg().map((l) => round(l, 2));
  await sampleForeign(name);
}

// ── pages: one small static page per tab, each at its own path ──────────────────────────
const pageHtml = (name: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>page ${name}</title>` +
  `<style>body{font:16px sans-serif;margin:2em}li{margin:.2em 0}</style></head><body>` +
  `<h1>Page ${name}</h1><p>A small static page served by the restore benchmark.</p><ul>` +
  range(20).map((i) => `<li><a href="#${i}">item ${i}</a></li>`).join('') +
  `</ul></body></html>`;
const pageServer = createServer((req, res) => {
  const match = /^\/p\/(i\d+-t\d+)$/.exec((req.url ?? '/').split(/[?#]/)[0] as string);
  if (!match) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(pageHtml(match[1] as string));
});
await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
const pageUrl = (i: number, j: number) => `${origin}/p/i${i}-t${j}`;

// ── tabvisor serve as a child process, its JSON log lines collected ────────────────────
type LogLine = Record<string, unknown> & { msg?: string; level?: number; receivedAt: number };
interface Serve {
  child: ChildProcess;
  spawnedAt: number;
  /** Wall clock at the spawn, against the `time` of the runtime's log lines. */
  spawnedAtEpoch: number;
  lines: LogLine[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The first line (seen already or later) with this msg. */
  waitForLine(msg: string, timeoutMs: number): Promise<LogLine>;
}
const serves = new Set<Serve>();
const clients = new Set<TabvisorClient>();

function spawnServe(stateDir: string): Serve {
  const spawnedAt = performance.now();
  const spawnedAtEpoch = Date.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--state-dir', stateDir, '--log-level', 'info'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TABVISOR_TOKEN: '', TABVISOR_LOG_LEVEL: 'info' },
  });
  const lines: LogLine[] = [];
  const wakers = new Set<() => void>();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  let buffer = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const receivedAt = performance.now();
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        lines.push({ ...(JSON.parse(text) as Record<string, unknown>), receivedAt });
      } catch {
        lines.push({ msg: text, receivedAt });
      }
    }
    for (const wake of wakers) wake();
  });
  const serve: Serve = {
    child,
    spawnedAt,
    spawnedAtEpoch,
    lines,
    exited,
    waitForLine: (msg, timeoutMs) =>
      new Promise<LogLine>((resolve, reject) => {
        let gone = false;
        const finish = (error: Error | null, line?: LogLine) => {
          wakers.delete(check);
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(line as LogLine);
        };
        const check = () => {
          const found = lines.find((l) => l.msg === msg);
          if (found) finish(null, found);
          else if (gone) finish(new Error(`serve exited before logging "${msg}":\n${lines.map((l) => JSON.stringify(l)).join('\n')}`));
        };
        const timer = setTimeout(() => finish(new Error(`no log line "${msg}" within ${timeoutMs} ms:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)), timeoutMs);
        wakers.add(check);
        void exited.then(() => setTimeout(() => ((gone = true), check()), 50));
        check();
      }),
  };
  serves.add(serve);
  void exited.then(() => serves.delete(serve));
  return serve;
}
async function connectTo(serve: Serve): Promise<TabvisorClient> {
  const listening = await serve.waitForLine('control channel listening', LISTEN_TIMEOUT_MS);
  const client = await connect(listening.url as string, { client: CLIENT, reconnect: false });
  clients.add(client);
  return client;
}
async function closeClient(client: TabvisorClient): Promise<void> {
  clients.delete(client);
  await client.close().catch(() => {});
}
async function killServe(serve: Serve, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  serve.child.kill(signal);
  return serve.exited;
}
const sinceSpawn = (serve: Serve, msg: string) => {
  const line = serve.lines.find((l) => l.msg === msg);
  return line ? line.receivedAt - serve.spawnedAt : Number.NaN;
};
/** Start-up and restore as the runtime logged them: ms since the spawn by the runtime's own
 * clock (pino's `time`), up to "fleet restored" (or "control channel listening"). */
function timeline(serve: Serve): { msg: string; ms: number }[] {
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
const complaints = (serve: Serve) => serve.lines.filter((l) => (l.level ?? 0) >= 40).map(({ receivedAt: _, ...l }) => l);

// ── the fleet ──────────────────────────────────────────────────────────────────────────
interface Fleet {
  instances: { instanceId: string; pid: number | null; tabs: { tabId: string; url: string }[] }[];
}
type InstanceInfo = ResultOf<'instance.list'>['instances'][number];
type TabInfo = ResultOf<'tab.list'>['tabs'][number];

async function openFleet(client: TabvisorClient): Promise<Fleet> {
  const instances = await Promise.all(
    range(INSTANCES).map(async (i) => {
      const created = await client.call('instance.create', { name: `bench-${i}` });
      if (created.pid) ourGroups.add(created.pid);
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

interface Restored {
  /** ms from spawn until every instance and tab was healthy; NaN if that never happened. */
  ms: number;
  instances: InstanceInfo[];
  tabs: TabInfo[];
  polls: number;
}
/** Poll instance.list and tab.list every 10 ms until the whole fleet is healthy, or it has
 * settled otherwise (every instance and tab healthy or failed), or the time is up. */
async function untilRestored(serve: Serve, client: TabvisorClient, fleet: Fleet): Promise<Restored> {
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

// ── the raw reference: the same fleet with puppeteer-core ───────────────────────────────
const binary = await findChrome();
const version = await chromeVersion(binary.path).catch(() => 'unknown');
const rawOptions = rawLaunchOptions(binary);
const rawBrowsers = new Set<Browser>();
async function rawClose(browser: Browser): Promise<void> {
  const pid = browser.process()?.pid;
  await browser.close().catch(() => {});
  rawBrowsers.delete(browser);
  if (pid) {
    if ((await liveGroupMembers(pid)).length) killGroup(pid);
    await waitGroupGone(pid);
  }
}
async function rawColdStart(): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    range(INSTANCES).map(async (i) => {
      const browser = await launchRaw(rawOptions, rawBrowsers, ourGroups);
      await Promise.all(
        range(TABS).map(async (j) => {
          const page = await browser.newPage();
          const response = await page.goto(pageUrl(i, j), { waitUntil: 'load' });
          if (response?.status() !== 200) throw new Error(`raw goto ${pageUrl(i, j)}: status ${response?.status()}`);
        }),
      );
    }),
  );
  const ms = performance.now() - t0;
  for (const browser of [...rawBrowsers]) await rawClose(browser);
  return ms;
}
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

/** Which code is measured: the commit, and whether src/ or machines/ differ from it (read-only git). */
function codeVersion(): { commit: string; dirty: string[] } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['--no-optional-locks', 'status', '--porcelain', '--', 'src', 'machines'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3));
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: [] };
  }
}

// ── the run ────────────────────────────────────────────────────────────────────────────
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run bench:restore does)`);
const code = codeVersion();
mkdirSync('bench-results', { recursive: true });
const stateDirs = new Set<string>();
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
const rounds: RoundResult[] = [];
let failure: unknown = null;

log(`chrome ${version} at ${binary.path} (${binary.source}${binary.headlessShell ? ', headless shell' : ''})`);
log(`${cpus().length} cpus, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${INSTANCES} instances × ${TABS} tabs, ${ROUNDS} rounds${quick ? ' (quick)' : ''}`);

/** The "fleet restored" line's summary, if the runtime logged it within a while. */
async function restoreLine(serve: Serve): Promise<LogLine | null> {
  return serve.waitForLine('fleet restored', 30_000).catch(() => null);
}
const stripped = (l: LogLine | null) => {
  if (!l) return null;
  const { receivedAt: _r, level: _l, time: _t, pid: _p, hostname: _h, ...rest } = l;
  return rest;
};
/** A restore path: a new runtime spawned on the state dir, timed until the whole fleet is
 * healthy again, then checked (each instance's reason should start with `reason`). */
async function restorePath(path: 'adopt' | 'relaunch', stateDir: string, fleet: Fleet, reason: string) {
  const serve = spawnServe(stateDir);
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

try {
  for (let r = 0; r < ROUNDS; r++) {
    await enterSection(`round ${r + 1}: reference`);
    const nodeBareMs = await bareNode();
    const rawColdMs = await rawColdStart();
    log(`round ${r + 1}/${ROUNDS}: node -e "" ${nodeBareMs.toFixed(1)} ms; raw puppeteer cold start ${rawColdMs.toFixed(1)} ms`);
    await sleep(300);

    const stateDir = await mkdtemp(join(tmpdir(), 'tabvisor-bench-restore-'));
    stateDirs.add(stateDir);
    const warnings: unknown[] = [];

    // 1. cold start
    await enterSection(`round ${r + 1}: cold`);
    const cold = spawnServe(stateDir);
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
    await enterSection(`round ${r + 1}: adopt`);
    const adopt = await restorePath('adopt', stateDir, fleet, 'adopted');
    client = adopt.client;
    const pidsNow = adopt.restored.instances.map((v) => v.pid).filter((p): p is number => typeof p === 'number');
    for (const pid of pidsNow) ourGroups.add(pid);
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
    await enterSection(`round ${r + 1}: relaunch`);
    const relaunch = await restorePath('relaunch', stateDir, fleet, 'relaunched');
    client = relaunch.client;
    for (const v of relaunch.restored.instances) if (v.pid) ourGroups.add(v.pid);

    // 4. graceful stop
    await closeClient(client);
    const s0 = performance.now();
    const exit = await killServe(relaunch.serve, 'SIGTERM');
    const stopMs = performance.now() - s0;
    warnings.push(...complaints(relaunch.serve));
    // Whatever is left on the state dir after a clean stop is a leak (a short grace: the last
    // group kills may still be landing).
    let left = markedProcesses([stateDir]);
    for (let i = 0; i < 30 && left.length; i++) {
      await sleep(100);
      left = markedProcesses([stateDir]);
    }
    log(`  SIGTERM: exit ${exit.code ?? exit.signal} in ${stopMs.toFixed(1)} ms; ${left.length} processes left on the state dir`);
    for (const p of left) killGroup(p.pgrp);

    rounds.push({
      round: r + 1,
      loadavg: loadAverages[`round ${r + 1}: reference`] ?? [],
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
} catch (error) {
  failure = error;
} finally {
  clearInterval(foreignSampler);
  // ── clean-up, whatever happened: runtimes, raw browsers, every Chrome and keeper of ours ─
  for (const client of [...clients]) await closeClient(client);
  for (const serve of [...serves]) {
    serve.child.kill('SIGKILL');
    await serve.exited;
  }
  for (const browser of [...rawBrowsers]) await rawClose(browser).catch(() => {});
  const marked = markedProcesses(stateDirs);
  for (const pgrp of new Set([...marked.map((p) => p.pgrp), ...ourGroups])) killGroup(pgrp);
  for (const pgrp of new Set([...marked.map((p) => p.pgrp), ...ourGroups])) await waitGroupGone(pgrp).catch(() => {});
  for (const dir of stateDirs) await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }).catch(() => {});
  pageServer.closeAllConnections();
  await new Promise<void>((resolve) => pageServer.close(() => resolve()));
}

// ── leak check: no process of any of the run's state dirs, no Chrome group of ours ──────
const leakedAfterStop = rounds.flatMap((r) => r.leftAfterStop.map((p) => `round ${r.round}: ${p.pid} ${p.cmd}`));
let stillAlive = markedProcesses(stateDirs).map((p) => `${p.pid} ${p.cmd}`);
const liveGroups: number[] = [];
for (const pgrp of ourGroups) if ((await liveGroupMembers(pgrp)).length) liveGroups.push(pgrp);
stillAlive = [...stillAlive, ...liveGroups.map((g) => `group ${g}`)];
const leakOk = !leakedAfterStop.length && !stillAlive.length;

// ── report ──────────────────────────────────────────────────────────────────────────────
interface Row {
  path: string;
  metric: string;
  n: string;
  p50: string;
  max: string;
  ratio: string;
  target: string;
  verdict: '' | 'PASS' | 'FAIL';
}
const verdict = (ok: boolean): Row['verdict'] => (ok ? 'PASS' : 'FAIL');
const rows: Row[] = [];
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

const header: Row = { path: 'path', metric: 'metric', n: 'n', p50: 'p50 (or total)', max: 'max', ratio: 'ratio', target: 'target', verdict: '' };
console.log(
  `\ntabvisor bench-restore — ${version}, ${binary.path} (${binary.source})\n` +
    `${INSTANCES} instances × ${TABS} tabs, ${ROUNDS} rounds${quick ? ' (quick)' : ''}; node ${process.version}, ${cpus().length} cpus\n` +
    `tabvisor at ${code.commit}${code.dirty.length ? ` + uncommitted changes in ${code.dirty.join(', ')}` : ''}\n`,
);
for (const line of tableLines(header, rows)) console.log(line);

const nodeP50 = p50(nodeMs);
if (rounds.length) console.log(
  `\nNode start-up: tabvisor figures are timed from the spawn of \`node ${CLI} serve\`, so each includes a Node process start\n` +
    `(node -e "" p50 ${fmt(nodeP50)}: ${round((100 * nodeP50) / p50(coldMs), 1)} % of cold, ${round((100 * nodeP50) / p50(adoptMs), 1)} % of adopt, ` +
    `${round((100 * nodeP50) / p50(relaunchMs), 1)} % of relaunch); the raw puppeteer-core figure starts in a running Node and excludes it.`,
);
const cold0 = p50(coldMs) - nodeP50;
if (rounds.length) console.log(`cold/raw with the bare Node start taken off the cold side: ${fmtR(cold0 / p50(rawMs))}`);
if (rounds.length) {
  console.log(`adopt < ${TARGETS.adoptMs} ms in every round: ${allHealthy(adoptMs) && max(adoptMs) < TARGETS.adoptMs ? 'yes' : 'no'} (max ${fmt(max(adoptMs))}); relaunch/cold per round: ${rounds.map((r) => fmtR(r.relaunch.ms / r.cold.ms)).join(', ')}`);
  const steps = (name: string, f: (r: RoundResult) => { timeline: { msg: string; ms: number }[]; ms: number }, msgs: [string, string][]) =>
    `  ${name}: ${[...msgs.map(([label, msg]) => `${label} ${fmt(p50(rounds.map((r) => at(f(r).timeline, msg))))}`), `all healthy ${fmt(p50(rounds.map((r) => f(r).ms)))}`].join(' → ')}`;
  const restoreSteps: [string, string][] = [
    ['"using Chrome"', 'using Chrome'],
    ['"restoring the fleet"', 'restoring the fleet from the snapshot'],
    ['"listening"', 'control channel listening'],
    ['"fleet restored"', 'fleet restored'],
  ];
  console.log('where the time goes, p50 ms since spawn (runtime\'s log clock; "all healthy" as seen by polling):');
  console.log(`${steps('cold', (r) => r.cold, [['"using Chrome"', 'using Chrome'], ['"listening"', 'control channel listening']])} (fleet open)`);
  console.log(steps('adopt', (r) => r.adopt, restoreSteps));
  console.log(steps('relaunch', (r) => r.relaunch, restoreSteps));
  console.log('per round, ms (node | raw | cold | adopt [runtime] | relaunch [runtime] | kill → groups gone):');
  for (const r of rounds)
    console.log(
      `  ${r.round}: ${r.nodeBareMs} | ${r.rawColdMs} | ${r.cold.ms} | ${r.adopt.ms} [${r.adopt.runtimeLoggedMs}] | ${r.relaunch.ms} [${r.relaunch.runtimeLoggedMs}] | ${r.relaunch.groupsGoneMs}` +
        `   load ${r.loadavg.join(' ')}`,
    );
  const reasons = [...new Set(rounds.flatMap((r) => [...r.adopt.check.reasons, ...r.relaunch.check.reasons].map((s) => s.replace(/pid \d+/g, 'pid N'))))];
  console.log(`instance reasons seen: ${reasons.map((s) => JSON.stringify(s)).join(', ')}`);
  const notAdoptedPid = rounds.filter((r) => r.adopt.pidsKept !== r.adopt.check.instancesTotal);
  if (notAdoptedPid.length) console.log(`WARNING: on the adopt path some instances have a new pid: ${notAdoptedPid.map((r) => `round ${r.round}: ${r.adopt.pidsKept}/${r.adopt.check.instancesTotal} kept`).join(', ')}`);
  for (const r of rounds) for (const p of [...r.adopt.check.problems.map((x) => `adopt: ${x}`), ...r.relaunch.check.problems.map((x) => `relaunch: ${x}`)]) console.log(`WARNING round ${r.round} ${p}`);
  const warned = new Map<string, number>();
  for (const r of rounds) for (const w of r.runtimeWarnings) {
    const { msg, to, reason } = w as { msg?: string; to?: string; reason?: string };
    const key = msg === 'transition' ? `transition → ${to} (${reason?.replace(/\(was: .*\)$/, '(was: …)')})` : String(msg);
    warned.set(key, (warned.get(key) ?? 0) + 1);
  }
  if (warned.size) console.log(`warn/error lines the runtimes logged: ${[...warned].map(([m, k]) => `${JSON.stringify(m)} ×${k}`).join(', ')} (all in the JSON)`);
}
const busy = Object.entries(foreignSeen).filter(([, count]) => count > 0);
if (busy.length) {
  console.log(`WARNING: Chrome processes not started by this run were running during: ${busy.map(([name, count]) => `${name} (up to ${count})`).join(', ')}.`);
  console.log('         Those figures are skewed by CPU contention. Re-run on a quiet machine.');
} else {
  console.log('no foreign Chrome process was seen during the run');
}

if (leakOk) console.log('\nleak check: ok (no process of the run\'s state dirs and no Chrome group of the run is alive)');
else {
  console.log('\nleak check: FAILED');
  if (leakedAfterStop.length) console.log(`  left on a state dir after a clean SIGTERM stop (killed by the bench): ${leakedAfterStop.join('; ')}`);
  if (stillAlive.length) console.log(`  still alive at the end: ${stillAlive.join('; ')}`);
}
if (failure) console.error('\nbenchmark FAILED:', failure);

writeFileSync(
  'bench-results/restore.json',
  `${JSON.stringify(
    {
      at: new Date().toISOString(),
      quick,
      counts: { instances: INSTANCES, tabs: TABS, rounds: ROUNDS },
      environment: { node: process.version, cpus: cpus().length },
      chrome: { ...binary, version },
      code,
      rawLaunchOptions: { headless: rawOptions.headless, args: rawOptions.args, defaultViewport: null },
      targets: TARGETS,
      rounds,
      summary: {
        nodeBareMs: { p50: p50(nodeMs), max: max(nodeMs) },
        rawColdMs: { p50: p50(rawMs), max: max(rawMs) },
        coldMs: { p50: p50(coldMs), max: max(coldMs) },
        adoptMs: { p50: p50(adoptMs), max: max(adoptMs) },
        relaunchMs: { p50: p50(relaunchMs), max: max(relaunchMs) },
        ratios: { adoptCold: round(adoptColdRatio, 3), relaunchCold: round(relaunchColdRatio, 3), coldRaw: round(coldRawRatio, 3) },
      },
      foreignChromeSeen: foreignSeen,
      loadAverageAtSectionStart: loadAverages,
      leakCheck: { ok: leakOk, leftAfterStop: leakedAfterStop, stillAlive },
      table: rows,
      error: failure ? (failure instanceof Error ? failure.stack : String(failure)) : undefined,
    },
    (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value),
    2,
  )}\n`,
);
console.log('figures written to bench-results/restore.json');
process.exitCode = failure || !leakOk ? 1 : 0;
