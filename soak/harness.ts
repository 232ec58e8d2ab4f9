// The soak: a runtime (embedded, or running at --url), a workload driving it through the typed
// client for a set time or number of iterations, the samplers reading it meanwhile, then the
// verdicts (on the analysis workers) and the reports. runSoak never throws for a workload's
// failure: it reports it and answers with exit code 1.
import { mkdir } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { overallOf, exitCodeOf, seriesInputs, type Overall } from './judge.js';
import { DEFAULT_DURATION_MS, type SoakOptions } from './options.js';
import { PageServer } from './pages.js';
import { Progress } from './progress.js';
import { buildReport, writeReports, type SoakReport } from './report/json.js';
import { Samplers, type Fleet } from './samplers.js';
import { SeriesStore } from './series.js';
import { seeded } from './stats/random.js';
import { embeddedTarget, remoteTarget, type SoakTarget } from './target.js';
import { loadWorkload, type WorkloadContext } from './workloads/index.js';

export interface SoakResult {
  exitCode: number;
  overall: Overall | 'error';
  report: SoakReport | null;
  /** The store, for the self-test's prefix analysis. */
  store: SeriesStore | null;
  error?: string;
}

/** Consecutive failed iterations after which the run is a harness error rather than a soak. */
const MAX_FAILED_IN_A_ROW = 10;

export async function runSoak(options: SoakOptions, abort: AbortSignal = new AbortController().signal): Promise<SoakResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[soak] ${line}\n`));
  const startedAt = Date.now();
  const load = { start: loadavg().map((l) => Math.round(l * 100) / 100), max: [0, 0, 0], end: [0, 0, 0] };
  await mkdir(options.out, { recursive: true });
  const workload = typeof options.workload === 'string' ? await loadWorkload(options.workload) : options.workload;
  const durationMs = options.durationMs ?? (options.iterations === undefined ? DEFAULT_DURATION_MS : undefined);
  let target: SoakTarget | undefined;
  let pages: PageServer | undefined;
  const created: string[] = [];
  /** The samplers' next ticks (one each). */
  const timers = new Map<string, NodeJS.Timeout>();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  abort.addEventListener('abort', onAbort, { once: true });
  let progress: Progress | undefined;
  try {
    pages = await PageServer.start();
    target = options.url ? await remoteTarget(options.url, options.token) : await embeddedTarget({ out: options.out, analysisThreads: options.analysisThreads, testHooks: options.testHooks });
    const { client } = target;
    log(`${target.mode} runtime at ${target.url}; Chrome ${target.versions.chrome}; workload ${workload.name}; ${options.instances} instance(s) × ${options.tabs} tab(s); ${durationMs !== undefined ? `${durationMs / 60_000} min` : ''}${durationMs !== undefined && options.iterations !== undefined ? ' or ' : ''}${options.iterations !== undefined ? `${options.iterations} iterations` : ''}`);
    const fleet: Fleet = { instances: [], tabs: [] };
    const tabsOf: Record<string, string[]> = {};
    for (let k = 1; k <= options.instances; k++) {
      const { instanceId } = await client.call('instance.create', { name: `soak-${k}` });
      created.push(instanceId);
      fleet.instances.push({ instanceId, label: `i${k}` });
      tabsOf[instanceId] = [];
      for (let j = 1; j <= options.tabs; j++) {
        const { tabId } = await client.call('tab.open', { instanceId, url: `${pages.url}/p/text` });
        tabsOf[instanceId].push(tabId);
        fleet.tabs.push({ tabId, instanceId, label: `i${k}t${j}` });
      }
    }
    const random = seeded(options.seed).uniform;
    const ctx: WorkloadContext = {
      client,
      instances: [...created],
      tabs: fleet.tabs.map((t) => t.tabId),
      tabsOf,
      pagesUrl: pages.url,
      signal: stop.signal,
      random,
      log: (message) => log(`[${workload.name}] ${message}`),
    };
    const idle = workload.idle === true;
    const { intervals } = options;
    const plannedMs = durationMs ?? (options.iterations ?? 1_000) * 1_000;
    const tabs = Math.max(1, fleet.tabs.length);
    const store = new SeriesStore((def) => {
      if (def.scope.startsWith('tab')) return intervals.tabCycleMs > 0 ? plannedMs / intervals.tabCycleMs + 64 : (options.iterations ?? 1_000) / tabs + 64;
      return plannedMs / (def.scope.startsWith('instance') ? intervals.instanceMs : intervals.runtimeMs) + 64;
    });
    let iteration = 0;
    const samplers = new Samplers(target, store, fleet, options.budgets, { idle, runtimeMemory: options.runtimeMemory, detailedEvery: options.intervals.detailedEvery }, startedAt);

    await workload.setup?.(ctx);
    const errors: string[] = [];
    let failedInARow = 0;
    let failed = 0;
    /** One iteration of the workload; `i` is the workload's own count, warm-up included. */
    const runIteration = async (i: number, label: string) => {
      try {
        await workload.iteration(ctx, i);
        failedInARow = 0;
      } catch (error) {
        failed++;
        failedInARow++;
        const message = error instanceof Error ? error.message : String(error);
        if (errors.length < 20) errors.push(`${label}: ${message}`);
        log(`${label} failed: ${message}`);
        if (failedInARow >= MAX_FAILED_IN_A_ROW) throw new Error(`${MAX_FAILED_IN_A_ROW} iterations in a row failed; the last: ${message}`);
      }
    };
    // Warm-up: run, not sampled, not judged (see SoakOptions.warmup).
    const warmStarted = Date.now();
    let warmup = 0;
    while (!stop.signal.aborted && (warmup < (options.warmup ?? 0) || Date.now() - warmStarted < (options.warmupMs ?? 0))) {
      await runIteration(warmup, `warm-up iteration ${warmup}`);
      warmup++;
    }
    if (warmup) log(`${warmup} warm-up iterations in ${Math.round((Date.now() - warmStarted) / 1000)} s; sampling starts`);
    const jobsBefore = target.hookJobs();
    const loopStarted = Date.now();
    // The samplers on their own clocks, never overlapping themselves.
    const every = (name: string, ms: number, work: () => Promise<unknown>) => {
      const tick = () => {
        timers.delete(name);
        if (stop.signal.aborted) return;
        void work().finally(() => {
          if (!stop.signal.aborted) timers.set(name, setTimeout(tick, ms));
        });
      };
      tick();
    };
    const pending = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>) => {
      pending.add(p);
      void p.finally(() => pending.delete(p));
      return p;
    };
    every('instance', intervals.instanceMs, () => track(samplers.sampleInstances(iteration)));
    every('runtime', intervals.runtimeMs, () => track(samplers.sampleRuntime(iteration)));
    if (options.progress) {
      progress = new Progress(store, target, options.alpha, () => ({ iteration, elapsedMs: Date.now() - loopStarted, durationMs, iterations: options.iterations }));
      progress.start();
    }
    let lastTabSample = 0;
    const tabEveryMs = intervals.tabCycleMs / tabs;
    while (!stop.signal.aborted) {
      if (options.iterations !== undefined && iteration >= options.iterations) break;
      if (durationMs !== undefined && Date.now() - loopStarted >= durationMs) break;
      await runIteration(warmup + iteration, `iteration ${iteration}`);
      iteration++;
      if (performance.now() - lastTabSample >= tabEveryMs) {
        lastTabSample = performance.now();
        await samplers.sampleNextTab(iteration, stop.signal);
      }
      const l = loadavg();
      for (let k = 0; k < 3; k++) load.max[k] = Math.max(load.max[k]!, Math.round(l[k]! * 100) / 100);
    }
    const stoppedEarly = abort.aborted;
    await workload.teardown?.(ctx);
    stop.abort();
    for (const timer of timers.values()) clearTimeout(timer);
    await Promise.all(pending);
    await samplers.measureCost(iteration);
    progress?.stop();
    load.end = loadavg().map((l) => Math.round(l * 100) / 100);
    log(`${iteration} iterations in ${Math.round((Date.now() - loopStarted) / 1000)} s (${failed} failed); judging ${store.size} series`);
    const { defs, inputs } = seriesInputs(store);
    const verdicts = await target.judge(inputs, options.alpha);
    const overall = overallOf(verdicts);
    const report = buildReport({
      options,
      workload: workload.name,
      target,
      store,
      judged: defs.map((def, i) => ({ def, verdict: verdicts[i] ?? null })),
      overall,
      run: {
        startedAt,
        loopStartedAt: loopStarted,
        endedAt: Date.now(),
        iterations: iteration,
        warmupIterations: warmup,
        failedIterations: failed,
        errors,
        stoppedEarly,
        // Jobs of the measured iterations only: the self-test divides them by `iterations`.
        hookJobs: jobsBefore === null ? null : target.hookJobs()! - jobsBefore,
      },
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem(), kernel: release(), load },
      cost: samplers.cost,
    });
    await writeReports(options.out, report);
    log(`verdict: ${overall} (${report.summary.leak} leak, ${report.summary.inconclusive} inconclusive, ${report.summary.clean} clean); reports in ${options.out}`);
    return { exitCode: exitCodeOf(overall), overall, report, store };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`harness error: ${message}`);
    return { exitCode: 1, overall: 'error', report: null, store: null, error: message };
  } finally {
    stop.abort();
    abort.removeEventListener('abort', onAbort);
    progress?.stop();
    for (const timer of timers.values()) clearTimeout(timer);
    if (target) {
      if (target.mode === 'remote') {
        for (const instanceId of created) await target.client.call('instance.stop', { instanceId }).catch(() => {});
      }
      await target.close().catch((error: unknown) => log(`closing the runtime failed: ${String(error)}`));
    }
    await pages?.close();
  }
}
