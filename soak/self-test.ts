// `tabvisor soak --self-test`: the detector proved on leaks of known rate. Each case is a short
// soak of an embedded runtime with one leak injected on purpose (in a page, in the runtime
// through its test-only hooks, or in the workload) beside a clean control (a second instance
// doing the same work without the leak), plus one run with no leak at all. A case passes when
// exactly the leaking series are flagged (and, at most, the series that a leak of that kind
// drags along, listed per case), each flagged rate's interval holds the injected rate, and
// nothing of the control is flagged. The detection matrix: for each leak, the fewest
// iterations after which the verdict on the samples so far is already "leak" and stays so.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestHooks } from '../src/runtime/test-hooks.js';
import { runSoak } from './harness.js';
import { seriesInputs } from './judge.js';
import { SHORT, type SoakOptions } from './options.js';
import type { SeriesStore } from './series.js';
import { judgeFamily, type SeriesVerdict } from './stats/verdict.js';
import { sleep } from './workloads/common.js';
import type { Workload } from './workloads/types.js';

interface Expected {
  /** Series key. */
  key: string;
  /**
   * The injected rate on the series' axis (a function of the run's jobs per iteration for the
   * runtime's leaks per job), as a range: memory kept in JS is known to within V8's bookkeeping
   * of the objects that keep it (an array's header and its slot in the array keeping it, about
   * 30 bytes; a DOM element's wrapper and a listener's closure, about 70 more).
   */
  rate: (run: { jobsPerIteration: number }) => [number, number];
}

/** Bytes kept in JS, up to 128 bytes of V8 bookkeeping above them. */
const kept = (bytes: number): [number, number] => [bytes, bytes + 128];
const exactly = (n: number): [number, number] => [n, n];

export interface SelfTestCase {
  name: string;
  what: string;
  /** The page of the leaking tab (i1t1); every other tab gets the control page. */
  leakPage?: string;
  hooks?: TestHooks;
  /** Open a tab on instance 1 every this many iterations and leave it open. */
  tabEvery?: number;
  expect: Expected[];
  /** Series a leak of this kind drags along (a leaked tab's renderer is memory too): they may be flagged. */
  mayFlag?: RegExp;
}

const KiB = 1024;

export const CASES: SelfTestCase[] = [
  { name: 'control', what: 'no leak: every series must come out not leaking', expect: [] },
  {
    name: 'page-100k',
    what: 'a page keeps 100 KiB of JS heap per iteration',
    leakPage: '/leak?kb=100',
    expect: [{ key: 'i1t1.jsHeap', rate: () => kept(100 * KiB) }],
    mayFlag: /^i1\.(pss|uss|private)$/,
  },
  {
    name: 'page-dom',
    what: 'a page keeps 10 KiB + 1 DOM node + 1 listener per iteration',
    leakPage: '/leak?kb=10&nodes=1&listeners=1',
    expect: [
      { key: 'i1t1.jsHeap', rate: () => kept(10 * KiB) },
      { key: 'i1t1.nodes', rate: () => exactly(1) },
      { key: 'i1t1.listeners', rate: () => exactly(1) },
    ],
    mayFlag: /^i1\.(pss|uss|private)$/,
  },
  {
    name: 'page-1k',
    what: 'a page keeps 1 KiB of JS heap per iteration',
    leakPage: '/leak?kb=1',
    expect: [{ key: 'i1t1.jsHeap', rate: () => kept(KiB) }],
  },
  {
    name: 'runtime-heap',
    what: 'the runtime keeps 16 KiB of heap per job (test hook)',
    hooks: { retainBytesPerJob: 16 * KiB },
    expect: [{ key: 'runtime.heapUsed', rate: ({ jobsPerIteration }) => kept(16 * KiB).map((b) => b * jobsPerIteration) as [number, number] }],
  },
  {
    name: 'runtime-fd-handle',
    what: 'the runtime leaks one fd and one timer handle per 100 jobs (test hook)',
    hooks: { leakFdEvery: 100, leakTimerEvery: 100 },
    expect: [
      { key: 'runtime.fds', rate: ({ jobsPerIteration }) => exactly(jobsPerIteration / 100) },
      { key: 'runtime.resources.Timeout', rate: ({ jobsPerIteration }) => exactly(jobsPerIteration / 100) },
      { key: 'runtime.resources', rate: ({ jobsPerIteration }) => exactly(jobsPerIteration / 100) },
    ],
  },
  {
    name: 'tab-per-100',
    what: 'the workload leaves one tab open per 100 iterations',
    tabEvery: 100,
    expect: [{ key: 'i1.targets', rate: () => exactly(1 / 100) }],
    // A tab is a renderer (memory, processes, threads, fds), and an actor and a session in the runtime.
    mayFlag: /^(i1\.(pss|uss|private|processes|renderers|threads|fds)|runtime\.(registry\.(actors|tabs|cdpSessions)|heapUsed|external|arrayBuffers))$/,
  },
];

const PACE_MS = 100;

/** Clicks #step on every tab's page each iteration: the leaking page on i1t1, the control page elsewhere. */
function clickWorkload(c: SelfTestCase): Workload {
  return {
    name: `self-test ${c.name}`,
    async setup(ctx) {
      await Promise.all(
        ctx.tabs.map((tabId, k) => ctx.client.call('tab.navigate', { tabId, url: `${ctx.pagesUrl}${k === 0 && c.leakPage ? c.leakPage : '/leak?kb=0'}` })),
      );
    },
    async iteration(ctx, i) {
      // At least PACE_MS an iteration, so that the runtime and /proc samplers (every 500 ms)
      // see the leak grow over enough of their own samples.
      const paced = sleep(PACE_MS, ctx.signal);
      await Promise.all(ctx.tabs.map((tabId) => ctx.client.call('tab.action', { tabId, action: 'click', selector: '#step' })));
      await paced;
      if (c.tabEvery && i % c.tabEvery === c.tabEvery - 1) await ctx.client.call('tab.open', { instanceId: ctx.instances[0]!, url: `${ctx.pagesUrl}/leak?kb=0` });
    },
  };
}

export interface CaseResult {
  name: string;
  what: string;
  passed: boolean;
  problems: string[];
  iterations: number;
  jobsPerIteration: number;
  flagged: string[];
  expected: { key: string; injected: [number, number]; verdict: string; slope: number; ciLow: number; ciHigh: number; contains: boolean; detectedAfter: number | null }[];
}

/** Iteration counts at which the detection matrix judges the samples so far. */
export const CHECKPOINTS = [25, 50, 75, 100, 150, 200, 300, 400, 500, 600];

/** The fewest iterations after which `key` is judged a leak at every later checkpoint. */
function detectedAfter(store: SeriesStore, key: string, alpha: number, last: number): number | null {
  let found: number | null = null;
  for (const k of [...CHECKPOINTS.filter((c) => c < last), last]) {
    const { defs, inputs } = seriesInputs(store, { iteration: k });
    const verdicts = judgeFamily(inputs, alpha);
    const v = verdicts[defs.findIndex((d) => d.key === key)];
    if (v?.verdict === 'leak') found ??= k;
    else found = null;
  }
  return found;
}

export async function runCase(c: SelfTestCase, base: SoakOptions, signal: AbortSignal): Promise<CaseResult> {
  const options: SoakOptions = {
    ...base,
    workload: clickWorkload(c),
    instances: 2,
    tabs: 1,
    short: true,
    iterations: base.iterations ?? 600,
    durationMs: undefined,
    intervals: { ...SHORT.intervals },
    out: join(base.out, c.name),
    runtimeMemory: 'iterations',
    testHooks: c.hooks,
    progress: false,
  };
  const result = await runSoak(options, signal);
  const problems: string[] = [];
  if (!result.report || !result.store) return { name: c.name, what: c.what, passed: false, problems: [`harness error: ${result.error}`], iterations: 0, jobsPerIteration: 0, flagged: [], expected: [] };
  const { report, store } = result;
  const iterations = Number(report.meta.iterations);
  const jobs = Number(report.meta.hookJobs ?? 0);
  const jobsPerIteration = iterations ? jobs / iterations : 0;
  const verdictOf = new Map(report.series.map((s) => [s.key, s.verdict] as [string, SeriesVerdict | null]));
  const flagged = report.series.filter((s) => s.verdict?.verdict === 'leak').map((s) => s.key);
  const expectedKeys = new Set(c.expect.map((e) => e.key));
  for (const key of flagged) {
    if (!expectedKeys.has(key) && !c.mayFlag?.test(key)) problems.push(`${key} flagged but not leaking: ${verdictOf.get(key)?.why}`);
  }
  const expected = c.expect.map((e) => {
    const v = verdictOf.get(e.key);
    const injected = e.rate({ jobsPerIteration });
    // The interval holds the injected rate: it meets the range the rate is known to.
    const contains = !!v && v.ciLow <= injected[1] && injected[0] <= v.ciHigh;
    if (!v) problems.push(`${e.key}: not sampled`);
    else if (v.verdict !== 'leak') problems.push(`${e.key}: not flagged (${v.verdict}): ${v.why}`);
    else if (!contains) problems.push(`${e.key}: the interval [${v.ciLow}, ${v.ciHigh}] does not hold the injected rate [${injected.join(', ')}]`);
    return {
      key: e.key,
      injected,
      verdict: v?.verdict ?? 'missing',
      slope: v?.slope ?? NaN,
      ciLow: v?.ciLow ?? NaN,
      ciHigh: v?.ciHigh ?? NaN,
      contains,
      detectedAfter: v?.verdict === 'leak' ? detectedAfter(store, e.key, base.alpha, iterations) : null,
    };
  });
  return { name: c.name, what: c.what, passed: problems.length === 0, problems, iterations, jobsPerIteration, flagged, expected };
}

export async function runSelfTest(base: SoakOptions, signal: AbortSignal): Promise<number> {
  const log = base.log ?? ((line: string) => process.stderr.write(`[self-test] ${line}\n`));
  await mkdir(base.out, { recursive: true });
  const results: CaseResult[] = [];
  for (const c of CASES) {
    if (signal.aborted) break;
    log(`${c.name}: ${c.what}`);
    const r = await runCase(c, { ...base, log: () => {} }, signal);
    results.push(r);
    const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3));
    for (const e of r.expected) {
      log(`  ${e.key}: ${e.verdict}, slope ${fmt(e.slope)} [${fmt(e.ciLow)}, ${fmt(e.ciHigh)}], injected ${e.injected[0] === e.injected[1] ? fmt(e.injected[0]) : `${fmt(e.injected[0])}–${fmt(e.injected[1])}`} ${e.contains ? 'inside' : 'OUTSIDE'}; detected after ${e.detectedAfter ?? '—'} iterations`);
    }
    log(`  ${r.passed ? 'PASS' : 'FAIL'}${r.flagged.length ? ` (flagged: ${r.flagged.join(', ')})` : ''}${r.problems.map((p) => `\n    ${p}`).join('')}`);
  }
  const passed = results.length === CASES.length && results.every((r) => r.passed);
  await writeFile(join(base.out, 'self-test.json'), JSON.stringify({ passed, cases: results }, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2));
  log(`${passed ? 'PASSED' : 'FAILED'}: ${results.filter((r) => r.passed).length} of ${CASES.length} cases; details in ${join(base.out, 'self-test.json')}`);
  return passed ? 0 : 1;
}
