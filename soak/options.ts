// What a soak is asked to do, its defaults, and the budgets its verdicts are judged against.
import type { TestHooks } from '../src/runtime/test-hooks.js';
import type { Workload } from './workloads/types.js';

const MiB = 1024 * 1024;

/**
 * Allowed growth, per series family, on the axis each is judged on. The Chrome and runtime
 * figures are the aims: Chrome per instance under 5 MB/h idle and under 20 MB per 100
 * navigations, the runtime's heap under 1 MB/h. Counts must come back to baseline: their budget
 * is only the slope below which a count that does not is still called clean, half the smallest
 * leak worth finding (one per 100 jobs). At one per 500, a noisy handle count (timers and sockets
 * in flight come and go by the dozen) often could not be bounded in a short run. A count leak is
 * called on its own evidence (whole steps, or growth above 0), whatever the budget.
 */
export interface Budgets {
  /** Chrome PSS, USS and private footprint of one instance, per iteration (navigation). */
  chromeBytesPerIteration: number;
  /** …per hour, when nothing happens (the idle workload). */
  chromeBytesPerHour: number;
  /** A page's JS heap after a full collection, per iteration. */
  tabHeapPerIteration: number;
  /** …per hour (idle). */
  tabHeapPerHour: number;
  /** The runtime's heap, external and array-buffer memory, and the analysis workers' heaps, per hour. */
  runtimeBytesPerHour: number;
  /** The runtime's RSS per hour (malloc arenas and code space move more than the heap). */
  runtimeRssPerHour: number;
  /** The runtime's heap per iteration, for the self-test's minute-long runs (its leaks are per job). */
  runtimeBytesPerIteration: number;
  /** Any count (fds, handles, targets, nodes, listeners, processes, registries), per iteration. */
  countPerIteration: number;
  /** …per hour (idle). */
  countPerHour: number;
}

export const defaultBudgets: Budgets = {
  chromeBytesPerIteration: 0.2 * MiB,
  chromeBytesPerHour: 5 * MiB,
  tabHeapPerIteration: 512,
  tabHeapPerHour: 1 * MiB,
  runtimeBytesPerHour: 1 * MiB,
  runtimeRssPerHour: 5 * MiB,
  runtimeBytesPerIteration: 1024,
  countPerIteration: 0.005,
  countPerHour: 1,
};

export interface Intervals {
  /** /proc of each instance's process tree. */
  instanceMs: number;
  /** The runtime's own figures (a full collection each time). */
  runtimeMs: number;
  /** Every tab is sampled once per this long, one tab at a time between iterations (0: one tab after every iteration). */
  tabCycleMs: number;
  /** PSS and USS (smaps_rollup) on every this many instance samples (default 5). */
  detailedEvery?: number;
}

export interface SoakOptions {
  /** A built-in workload's name, the path of an ES module, or (the self-test's) the workload itself. */
  workload: string | Workload;
  /** Run this long (ms)… */
  durationMs?: number;
  /** …or this many iterations (whichever is given; both: the first reached). */
  iterations?: number;
  /**
   * Iterations run before sampling starts, not counted in `iterations` nor judged: the runtime
   * compiles its code and fills its caches, Chrome its memory (as a benchmark harness warms up
   * before it measures). Default 0.
   */
  warmup?: number;
  /** …and at least this long (ms): the warm-up ends when both are reached. The self-test uses 35 s. */
  warmupMs?: number;
  instances: number;
  /** Tabs per instance. */
  tabs: number;
  out: string;
  short: boolean;
  /** Soak a running runtime at this control-channel URL instead of an embedded one. */
  url?: string;
  token?: string;
  seed: number;
  budgets: Budgets;
  intervals: Intervals;
  /** Family-wise error rate of the run's verdicts (Holm). */
  alpha: number;
  /** Print a progress line (on a TTY). */
  progress: boolean;
  /** The embedded runtime's analysis threads (default one per CPU). */
  analysisThreads?: number;
  /**
   * How the runtime's memory (heap, external, array buffers, RSS, workers' heaps) is judged:
   * against its hourly budgets (the default); per iteration, RSS only plotted (the self-test,
   * whose runtime leaks are per job); or only plotted (--short: a run of minutes cannot bound an
   * hourly rate, and the runtime is still warming up its code and caches then).
   */
  runtimeMemory: 'hours' | 'iterations' | 'plot';
  /** Self-test only: leaks injected into the embedded runtime. */
  testHooks?: TestHooks;
  /** Where log lines go (default stderr). */
  log?: (line: string) => void;
}

export const DEFAULT_DURATION_MS = 60 * 60_000;

/** The CI mode: one instance, two tabs, a few hundred iterations, a tab sample after every iteration. */
export const SHORT = { instances: 1, tabs: 2, iterations: 1_200, intervals: { instanceMs: 500, runtimeMs: 500, tabCycleMs: 0, detailedEvery: 2 } } as const;

export const LONG_INTERVALS: Intervals = { instanceMs: 2_000, runtimeMs: 5_000, tabCycleMs: 5_000 };

/** `60m`, `90s`, `1h`, `1500ms` or plain milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|min|h)?$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: "${text}" (e.g. 60m, 90s, 1h)`);
  const n = Number(match[1]);
  const unit = { ms: 1, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000 }[match[2] ?? 'ms']!;
  const ms = Math.round(n * unit);
  if (ms < 1_000 || ms > 7 * 24 * 3_600_000) throw new Error(`duration out of range: "${text}" (1 s to 7 days)`);
  return ms;
}
