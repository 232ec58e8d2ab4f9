// `tabvisor soak`: the command line's options made into a soak (or the self-test), run, and its
// verdict made the exit code: 0 clean, 99 leak, 2 inconclusive, 1 harness error. src/cli.ts
// imports this only when the soak command runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSoak } from './harness.js';
import { DEFAULT_DURATION_MS, LONG_INTERVALS, SHORT, defaultBudgets, parseDuration, type Budgets, type SoakOptions } from './options.js';

export interface SoakFlags {
  workload: string;
  duration?: string;
  iterations?: number;
  /** Iterations ("100") or a time ("40s"). */
  warmup?: string;
  instances?: number;
  tabs?: number;
  out?: string;
  short?: boolean;
  url?: string;
  token?: string;
  selfTest?: boolean;
  seed?: number;
  alpha?: number;
  budgets?: string;
  analysisThreads?: number;
}

const stamp = () => new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');

/** `--warmup 100` (iterations) or `--warmup 40s` (a time). */
function warmupOf(text: string | undefined): Pick<SoakOptions, 'warmup' | 'warmupMs'> {
  if (text === undefined) return {};
  if (/^\d+$/.test(text.trim())) return { warmup: Number(text) };
  try {
    return { warmupMs: parseDuration(text) };
  } catch {
    throw new Error(`--warmup: expected iterations (100) or a time (40s), not "${text}"`);
  }
}

/** The options of a soak from its flags; throws with a message for the user on bad ones. */
export function soakOptions(flags: SoakFlags): SoakOptions {
  const short = flags.short === true;
  let budgets: Budgets = defaultBudgets;
  if (flags.budgets) {
    const given = JSON.parse(readFileSync(flags.budgets, 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(given)) {
      if (!(k in defaultBudgets)) throw new Error(`--budgets: unknown budget "${k}" (known: ${Object.keys(defaultBudgets).join(', ')})`);
      if (typeof v !== 'number' || !(v >= 0)) throw new Error(`--budgets: ${k} must be a number ≥ 0`);
    }
    budgets = { ...defaultBudgets, ...(given as Partial<Budgets>) };
  }
  const durationMs = flags.duration !== undefined ? parseDuration(flags.duration) : undefined;
  const iterations = flags.iterations ?? (short && durationMs === undefined ? SHORT.iterations : undefined);
  if (flags.alpha !== undefined && !(flags.alpha > 0 && flags.alpha < 0.5)) throw new Error('--alpha must be between 0 and 0.5');
  return {
    workload: flags.workload,
    durationMs: durationMs ?? (iterations === undefined ? DEFAULT_DURATION_MS : undefined),
    iterations,
    ...warmupOf(flags.warmup),
    instances: flags.instances ?? (short ? SHORT.instances : 2),
    tabs: flags.tabs ?? (short ? SHORT.tabs : 2),
    out: flags.out ?? join('soak-results', stamp()),
    short,
    url: flags.url,
    token: flags.token || undefined,
    seed: flags.seed ?? Math.floor(Math.random() * 2 ** 31),
    budgets,
    intervals: short ? { ...SHORT.intervals } : { ...LONG_INTERVALS },
    alpha: flags.alpha ?? 0.05,
    runtimeMemory: short ? 'plot' : 'hours',
    progress: process.stderr.isTTY === true,
    analysisThreads: flags.analysisThreads,
  };
}

export async function soakCommand(flags: SoakFlags): Promise<number> {
  let options: SoakOptions;
  try {
    options = soakOptions(flags);
  } catch (error) {
    process.stderr.write(`tabvisor soak: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) process.exit(1); // the browsers' keepers end them with this process
    process.stderr.write(`\n[soak] ${signal}: stopping; judging what was sampled (again to quit at once)\n`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (flags.selfTest) {
      const { runRateTest, runSelfTest } = await import('./self-test.js');
      return await (flags.duration ? runRateTest(options, abort.signal) : runSelfTest(options, abort.signal));
    }
    return (await runSoak(options, abort.signal)).exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
