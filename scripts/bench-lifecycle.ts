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
// process group is gone, so no teardown overlaps a timing. Run nothing else on the machine.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import pino from 'pino';
import { type Browser, type Page } from 'puppeteer-core';
import { findChrome } from '../src/chrome/find.js';
import { liveGroupMembers } from '../src/chrome/launch.js';
import { processTree, readProcessMemory, type ProcessMemory } from '../src/chrome/memory.js';
import { connect, type EventMessage, type ParamsOf, type TabvisorClient } from '../src/client/index.js';
import { startTabvisor, type Tabvisor } from '../src/index.js';
import { count, fmtMs, fmtRatio, launchRaw, log, markRun, pct, procStat, quick, rawLaunchOptions, round, sleep, tableLines } from './bench-common.js';

// ── options ─────────────────────────────────────────────────────────────────────────────
const LAUNCHES = count('launches', 15, 3);
const NAVIGATIONS = count('navigations', 300, 40);
const MEMORY_NAVIGATIONS = count('memory-navigations', 100, 20);
const RECOVERIES = count('recoveries', 5, 2);
const NAV_WARMUP = 10;
const SETTLE_MS = 2_000;
const TARGETS = { launchP50Ratio: 1.2, navigateP50Ratio: 1.1, idlePssMb: 150, recoveryRatio: 2 };

// Every browser process this run starts (puppeteer's, and tabvisor's, which extends the
// environment) carries this marker, so the leak check can tell ours from other Chrome.
const { groups: ourGroups, isOurGroup, countForeignChrome } = markRun('BENCH_LIFECYCLE_RUN');

// ── small helpers ───────────────────────────────────────────────────────────────────────
const timed = async <T>(f: () => Promise<T>): Promise<[number, T]> => {
  const t0 = performance.now();
  const value = await f();
  return [performance.now() - t0, value];
};
const median = (values: number[]) => pct(values, 50);
const MB = 2 ** 20;
const fmtMb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

function headlessPids(): number[] {
  try {
    return execFileSync('pgrep', ['-f', 'headless'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}
// Whose is a Chrome process? markRun's isOurGroup says, from the group leader's environment
// (read synchronously here, asynchronously by the foreign-Chrome sampler).
const environSync = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return null;
  }
};
/** Live (non-zombie) Chrome processes of this run's, and of others'. */
function chromeProcesses(): { ours: number[]; foreign: number[] } {
  const ours: number[] = [];
  const foreign: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes('headless')) continue;
      const { state, pgrp } = procStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (state === 'Z') continue;
      (isOurGroup(pgrp, environSync) ? ours : foreign).push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return { ours, foreign };
}
const ourChromeProcesses = () => chromeProcesses().ours;
const foreignChrome = () => chromeProcesses().foreign;
/** Other Chrome work on a 2-core machine skews every timing: sample it all along, per section. */
const foreignSeen: Record<string, number> = {};
let section = 'start';
// Asynchronous reads, every 2 s: a synchronous /proc walk would stall a timing by ~5 ms.
let sampling = false;
const foreignSampler = setInterval(() => {
  if (sampling) return;
  sampling = true;
  const at = section;
  void countForeignChrome()
    .then((n) => (foreignSeen[at] = Math.max(foreignSeen[at] ?? 0, n)))
    .finally(() => (sampling = false));
}, 2_000).unref();
const loadAverages: Record<string, number[]> = {};
function enterSection(name: string): void {
  section = name;
  foreignSeen[name] = foreignChrome().length;
  loadAverages[name] = loadavg().map((l) => round(l, 2));
}
/** PSS splits shared pages among every process mapping them: a foreign Chrome would lower our
 * figures. Wait (bounded) until none runs, and record whether one did. */
async function waitForQuietMachine(limitMs = 60_000): Promise<number> {
  const deadline = Date.now() + limitMs;
  let foreign = foreignChrome();
  if (foreign.length) log(`${foreign.length} foreign Chrome processes running; waiting up to ${limitMs / 1000} s for them to go`);
  while (foreign.length && Date.now() < deadline) {
    await sleep(1_000);
    foreign = foreignChrome();
  }
  return foreign.length;
}
/** Wait until every process of a browser's group is gone (puppeteer starts Chrome detached too). */
async function waitGroupGone(pgid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await liveGroupMembers(pgid)).length) {
    if (Date.now() > deadline) throw new Error(`process group ${pgid} still alive after ${timeoutMs} ms`);
    await sleep(10);
  }
}
async function treeMemory(pid: number): Promise<ProcessMemory & { processes: number }> {
  const pids = await processTree(pid);
  return { ...(await readProcessMemory(pids)), processes: pids.length };
}
/** Median of three readings 250 ms apart: one reading can catch a GC or a tab mid-teardown. */
async function settledMemory(pid: number): Promise<ProcessMemory & { processes: number }> {
  await sleep(SETTLE_MS);
  const readings = [];
  for (let i = 0; i < 3; i++) {
    if (i) await sleep(250);
    readings.push(await treeMemory(pid));
  }
  readings.sort((a, b) => a.pssBytes - b.pssBytes);
  return readings[1] as ProcessMemory & { processes: number };
}

/** State events as they arrive, with a wait for a condition over the events since a mark. */
class StateEvents {
  readonly list: (EventMessage & { actor: string; from: string | null; to: string; at: number; reason: string })[] = [];
  private wake: (() => void) | null = null;
  constructor(client: TabvisorClient) {
    client.onEvent((e) => {
      if (e.topic !== 'state') return;
      this.list.push(e as (typeof this.list)[number]);
      this.wake?.();
    });
  }
  mark = () => this.list.length;
  async until(done: (events: StateEvents['list']) => boolean, from: number, timeoutMs: number): Promise<void> {
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

// ── pages: a small static page and a second one, so navigations alternate for real ──────
const pageHtml = (name: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>page ${name}</title>` +
  `<style>body{font:16px sans-serif;margin:2em}li{margin:.2em 0}</style></head><body>` +
  `<h1>Page ${name}</h1><p>A small static page served by the lifecycle benchmark.</p><ul>` +
  Array.from({ length: 20 }, (_, i) => `<li><a href="/${name === 'a' ? 'b' : 'a'}#${i}">item ${i}</a></li>`).join('') +
  `</ul></body></html>`;
const pageServer = createServer((req, res) => {
  const name = (req.url ?? '/').replace(/^\//, '').split(/[?#]/)[0];
  if (name !== 'a' && name !== 'b') return void res.writeHead(404).end();
  // no-store: every navigation fetches the page again, as a crawler's would.
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(pageHtml(name));
});
await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
const PAGES = [`${origin}/a`, `${origin}/b`] as const;
const pageUrl = (i: number) => PAGES[i % 2] as string;

// ── the two contenders ──────────────────────────────────────────────────────────────────
const binary = await findChrome();
const rawOptions = rawLaunchOptions(binary);
const rawBrowsers = new Set<Browser>();
const rawLaunch = () => launchRaw(rawOptions, rawBrowsers, ourGroups);
async function rawClose(browser: Browser): Promise<void> {
  const pid = browser.process()?.pid;
  await browser.close();
  rawBrowsers.delete(browser);
  if (pid) await waitGroupGone(pid);
}

/** Which code is measured: the commit, and whether src/ or machines/ differ from it. */
function codeVersion(): { commit: string; dirty: string[] } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'machines'], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => l.slice(3));
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: [] };
  }
}
const code = codeVersion();
const headlessBefore = headlessPids();
const foreignAtStart = foreignChrome().length;
const quietWaitMs = Number(process.env.BENCH_QUIET_WAIT_MS ?? 300_000);
if (foreignAtStart) await waitForQuietMachine(quietWaitMs);
const logFile = 'bench-results/lifecycle-tabvisor.log';
mkdirSync('bench-results', { recursive: true });
writeFileSync(logFile, '');
const logger = pino({ level: 'warn' }, pino.destination({ dest: logFile, sync: true }));
const tv: Tabvisor = await startTabvisor({ port: 0, binary, log: logger });
const client = await connect(tv.url, { client: 'bench-lifecycle' });
const events = new StateEvents(client);
await client.call('events.subscribe', { topics: ['state'] });
const hello = await client.call('system.hello');
const instancesCreated = new Set<string>();
async function tvCreate(params: ParamsOf<'instance.create'> = {}) {
  const created = await client.call('instance.create', params);
  instancesCreated.add(created.instanceId);
  if (created.pid) ourGroups.add(created.pid);
  return created;
}
async function tvStop(instanceId: string): Promise<void> {
  await client.call('instance.stop', { instanceId });
  instancesCreated.delete(instanceId);
}

log(`chrome ${hello.chrome.version} at ${binary.path} (${binary.source}${binary.headlessShell ? ', headless shell' : ''})`);
log(`${cpus().length} cpus, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${foreignAtStart} foreign Chrome processes at start`);

interface Row {
  section: string;
  metric: string;
  n: string;
  raw: string;
  tabvisor: string;
  ratio: string;
  target: string;
  verdict: '' | 'PASS' | 'MISS' | 'n/a';
}
const rows: Row[] = [];
const results: Record<string, unknown> = {
  at: new Date().toISOString(),
  quick,
  counts: { launches: LAUNCHES, navigations: NAVIGATIONS, navigationWarmup: NAV_WARMUP, memoryNavigations: MEMORY_NAVIGATIONS, recoveries: RECOVERIES },
  environment: { node: process.version, cpus: cpus().length, loadavgAtStart: loadavg(), foreignChromeAtStart: foreignAtStart },
  chrome: { ...binary, version: hello.chrome.version },
  code,
  rawLaunchOptions: { headless: rawOptions.headless, args: rawOptions.args, defaultViewport: null },
  targets: TARGETS,
};
const verdict = (ok: boolean): Row['verdict'] => (ok ? 'PASS' : 'MISS');
let failure: unknown = null;

try {
  // ── 1. launch: puppeteer.launch vs instance.create (answered once healthy) ─────────────
  enterSection('launch');
  log(`launch: ${LAUNCHES} each (+1 warm-up each), alternating`);
  const rawLaunchMs: number[] = [];
  const createMs: number[] = [];
  const createInternalMs: number[] = [];
  for (let i = -1; i < LAUNCHES; i++) {
    const order = i % 2 === 0 ? ['raw', 'tabvisor'] : ['tabvisor', 'raw'];
    for (const who of order) {
      if (who === 'raw') {
        const [ms, browser] = await timed(rawLaunch);
        await rawClose(browser);
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

  // ── 2. navigation: page.goto vs tab.navigate, both alive, interleaved ──────────────────
  await waitForQuietMachine();
  enterSection('navigate');
  log(`navigation: ${NAV_WARMUP} warm-up + ${NAVIGATIONS} each, alternating pages and order`);
  const navBrowser = await rawLaunch();
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
  await rawClose(navBrowser);
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

  // ── 3. memory: PSS of the whole tree, each browser measured alone ──────────────────────
  log(`memory: idle (one about:blank tab, ${SETTLE_MS / 1000} s settle) and after ${MEMORY_NAVIGATIONS} navigations`);
  await waitForQuietMachine();
  enterSection('memory');
  const memBrowser = await rawLaunch();
  const memPid = memBrowser.process()?.pid as number;
  const memPage = (await memBrowser.pages())[0] as Page; // the start-up about:blank tab
  const rawIdle = await settledMemory(memPid);
  for (let i = 0; i < MEMORY_NAVIGATIONS; i++) await memPage.goto(pageUrl(i), { waitUntil: 'load' });
  const rawBusy = await settledMemory(memPid);
  await rawClose(memBrowser);

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
  const mem = (m: ProcessMemory & { processes: number }) => ({ pssMb: round(m.pssBytes / MB), ussMb: round(m.ussBytes / MB), processes: m.processes });
  results.memory = {
    raw: { idleOneTab: mem(rawIdle), afterNavigations: mem(rawBusy) },
    tabvisor: { idleNoTab: mem(oursNoTab), idleOneTab: mem(oursIdle), afterNavigations: mem(oursBusy) },
  };

  // ── 4. recovery: kill -9 → instance healthy, both tabs back (same ids, same URLs) ───────
  // Raw baseline: launch + 2 tabs + goto both (in parallel, as tabvisor reopens them).
  // A fresh tabvisor instance per repetition: each kill is then a first crash (restart
  // backoff starts at its minimum), which is what a crash in production looks like.
  await waitForQuietMachine();
  enterSection('recovery');
  log(`recovery: ${RECOVERIES} kill -9 each way, alternating with raw launch + 2 tabs`);
  const coldMs: number[] = [];
  const recoverMs: number[] = [];
  const breakdown: Record<string, number>[] = [];
  for (let i = 0; i < RECOVERIES; i++) {
    const [cold, browser] = await timed(async () => {
      const b = await rawLaunch();
      await Promise.all(PAGES.map(async (url) => (await b.newPage()).goto(url, { waitUntil: 'load' })));
      return b;
    });
    coldMs.push(cold);
    await rawClose(browser);
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
    const backHealthy = (list: StateEvents['list'], actor: string) => {
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
    if (after.pid) ourGroups.add(after.pid);
    if (after.state !== 'healthy' || after.pid === pid) throw new Error(`instance not relaunched: ${JSON.stringify(after)}`);
    const seen = events.list.slice(from);
    const at = (actor: string, to: string) => (seen.find((e) => e.actor === actor && e.to === to)?.at ?? NaN) - killedAt;
    const relaunchMs = (tv.runtime.instances.get(fleet.instanceId)?.launchMs ?? NaN) as number;
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
} catch (error) {
  failure = error;
} finally {
  clearInterval(foreignSampler);
  // ── clean-up: every browser of ours closed, tabvisor stopped, the page server closed ───
  for (const browser of rawBrowsers) await rawClose(browser).catch(() => {});
  for (const id of instancesCreated) await client.call('instance.stop', { instanceId: id }).catch(() => {});
  await client.close().catch(() => {});
  await tv.close();
  logger.flush();
  pageServer.closeAllConnections();
  await new Promise<void>((resolve) => pageServer.close(() => resolve()));
}

// ── leak check: no Chrome of ours left ─────────────────────────────────────────────────
let leftover = ourChromeProcesses();
for (let i = 0; i < 50 && leftover.length; i++) {
  await sleep(100);
  leftover = ourChromeProcesses();
}
const headlessAfter = headlessPids();
results.cleanup = { headlessBefore: headlessBefore.length, headlessAfter: headlessAfter.length, oursLeft: leftover };

// ── report ──────────────────────────────────────────────────────────────────────────────
const header: Row = { section: 'section', metric: 'metric', n: 'n', raw: 'raw puppeteer-core', tabvisor: 'tabvisor (ws)', ratio: 'ratio', target: 'target', verdict: '' };
console.log(
  `\ntabvisor bench-lifecycle — ${hello.chrome.version}, ${binary.path} (${binary.source})\n` +
    `${LAUNCHES} launches, ${NAVIGATIONS} navigations (+${NAV_WARMUP} warm-up), ${MEMORY_NAVIGATIONS} memory navigations, ` +
    `${RECOVERIES} recoveries${quick ? ' (quick)' : ''}; node ${process.version}, ${cpus().length} cpus\n` +
    `tabvisor at ${code.commit}${code.dirty.length ? ` + uncommitted changes in ${code.dirty.join(', ')}` : ''}\n`,
);
for (const line of tableLines(header, rows)) console.log(line);
const launch = results.launch as { p50: { tabvisorInternal: number } } | undefined;
if (launch) console.log(`\nlaunch: tabvisor's own launchMs (spawn → connected → start-up page closed) p50 ${launch.p50.tabvisorInternal} ms`);
const nav = results.navigate as { p50: { tabvisorServerLoadMs: number } } | undefined;
if (nav) console.log(`navigate: tabvisor's own loadMs (page.goto inside the server) p50 ${nav.p50.tabvisorServerLoadMs} ms`);
const rec = results.recovery as { tabvisorBreakdownMsSinceKill: Record<string, number>[] } | undefined;
if (rec) {
  console.log('recovery, ms since kill -9 (detected → recovering | relaunch launchMs | tabs healthy | instance healthy | total):');
  for (const b of rec.tabvisorBreakdownMsSinceKill) console.log(`  ${b.detectedMs} | ${b.relaunchMs} | ${b.tabsHealthyMs} | ${b.instanceHealthyMs} | ${b.totalMs}`);
}
results.foreignChromeSeen = foreignSeen;
results.loadAverageAtSectionStart = loadAverages;
const busy = Object.entries(foreignSeen).filter(([name, n]) => n > 0 && name !== 'start');
if (busy.length) {
  console.log(`WARNING: Chrome processes not started by this run were running during: ${busy.map(([name, n]) => `${name} (up to ${n})`).join(', ')}.`);
  console.log('         Those figures are skewed (CPU contention on timings; shared pages lower PSS). Re-run on a quiet machine.');
} else {
  console.log('\nno foreign Chrome process ran during any measurement');
}

console.log(`\nChrome processes (pgrep -f headless): ${headlessBefore.length} before, ${headlessAfter.length} after`);
if (leftover.length) console.log(`WARNING: ${leftover.length} Chrome processes started by this run are still alive: ${leftover.join(' ')}`);
else if (headlessAfter.length > headlessBefore.length) console.log('WARNING: more headless processes than at start, but none carries this run\'s marker (another process started them)');
else console.log('no Chrome process of this run is left');

if (failure) {
  results.error = failure instanceof Error ? failure.stack : String(failure);
  console.error('\nbenchmark FAILED:', failure);
}
writeFileSync('bench-results/lifecycle.json', `${JSON.stringify({ ...results, table: rows }, null, 2)}\n`);
console.log(`figures written to bench-results/lifecycle.json (tabvisor warnings in ${logFile})`);
process.exitCode = failure ? 1 : 0;
