// The analysis pool: CPU-heavy work (flattening snapshots, diffs, pixel comparison, audits)
// on piscina worker threads, so the event loop that supervises Chrome never stalls. A task
// is cancelled by its request's AbortSignal (piscina stops the worker running it), and a task
// that throws or kills its worker fails only its own request.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { Piscina } from 'piscina';
import { ErrorCode, TabvisorError, errorMessage } from '../errors.js';
import { silentLogger } from '../log.js';
import type { AnalysisTask, InputError, TaskResults } from './tasks.js';

export interface AnalysisPoolOptions {
  /** Worker threads; default one per CPU. */
  threads?: number;
  /** An idle worker exits after this long (it holds ~8 MB; a new one boots in 40–160 ms, measured). */
  idleTimeoutMs?: number;
  /** Tasks waiting for a worker beyond this get -32001. */
  maxQueue?: number;
  /** Heap limit per worker: a task that needs more kills only its worker. */
  maxHeapMb?: number;
  /** The compiled worker module; tests and the benchmark point at dist/ like production. */
  workerFile?: string;
  log?: Logger;
}

export interface PoolStats {
  threads: number;
  maxThreads: number;
  queueSize: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Time tasks were in the pool (queued or running) ÷ (time since start × max threads). */
  utilization: number;
  runTimeP50Ms: number;
  waitTimeP50Ms: number;
}

/** The worker as compiled to dist/ (piscina threads load JavaScript, not the TypeScript source). */
export function defaultWorkerFile(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? resolve(dirname(here), '../../dist/src/analysis/worker.js') : resolve(dirname(here), 'worker.js');
}

export class AnalysisPool {
  private readonly piscina: Piscina;
  private readonly maxQueue: number;
  private running = 0;
  private busyMs = 0;
  private readonly startedAt = performance.now();
  private failed = 0;
  private cancelled = 0;
  private closed: Promise<void> | null = null;
  private latency = { at: -Infinity, completed: -1, runTimeP50Ms: 0, waitTimeP50Ms: 0 };
  private readonly log: Logger;

  constructor(options: AnalysisPoolOptions = {}) {
    const file = options.workerFile ?? defaultWorkerFile();
    if (!existsSync(file)) throw new Error(`analysis worker not found at ${file}: run \`npm run build\` first`);
    const threads = Math.max(1, options.threads ?? availableParallelism());
    this.maxQueue = options.maxQueue ?? 256;
    const log = (this.log = options.log ?? silentLogger());
    this.piscina = new Piscina({
      filename: pathToFileURL(file).href,
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: options.idleTimeoutMs ?? 120_000,
      maxQueue: this.maxQueue,
      resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 1024 },
    });
    // Errors outside any task (a worker dying while idle): reported, never thrown.
    this.piscina.on('error', (error: unknown) => log.error({ err: errorMessage(error) }, 'analysis worker error'));
  }

  /**
   * Run a task. Rejects with the signal's reason when cancelled, -32602 when the task found
   * its input invalid, -32001 when the queue is full, -32603 when the task or its worker failed.
   */
  async run<K extends AnalysisTask['kind']>(
    task: Extract<AnalysisTask, { kind: K }>,
    options: { signal?: AbortSignal; transfer?: ArrayBuffer[] } = {},
  ): Promise<TaskResults[K]> {
    const { signal } = options;
    if (signal?.aborted) throw cancelReason(signal);
    if (this.closed) throw new TabvisorError(ErrorCode.Unavailable, 'analysis pool is closed', { state: 'stopped' });
    if (this.piscina.queueSize >= this.maxQueue) {
      throw new TabvisorError(ErrorCode.Capacity, 'analysis queue is full', { limit: this.maxQueue, value: this.piscina.queueSize });
    }
    this.running++;
    const started = performance.now();
    let result: TaskResults[K] | InputError;
    try {
      result = await this.piscina.run(task, { signal, transferList: options.transfer });
    } catch (error) {
      if (signal?.aborted) {
        this.cancelled++;
        throw cancelReason(signal);
      }
      this.failed++;
      throw new TabvisorError(ErrorCode.Internal, `analysis task ${task.kind} failed: ${errorMessage(error)}`);
    } finally {
      this.running--;
      this.busyMs += performance.now() - started;
    }
    if (result && typeof result === 'object' && 'inputError' in result) {
      const { message, path, expected } = result.inputError;
      throw new TabvisorError(ErrorCode.InvalidParams, `invalid params: ${message}`, { path: `params.${path}`, expected });
    }
    return result;
  }

  /**
   * Start a worker ahead of need (a cold one takes 40–160 ms to boot), so the first snapshot
   * of a new tab does not wait for it. A no-op while a worker is up.
   */
  warm(): void {
    if (this.closed || this.piscina.threads.length > 0) return;
    const empty = new TextEncoder().encode('{"id":0,"result":{"documents":[],"strings":[],"nodes":[]}}');
    this.piscina
      .run({ kind: 'flatten', dom: empty, ax: empty, filter: 'all', maxNodes: 0 })
      .catch((error: unknown) => this.log.debug({ err: errorMessage(error) }, 'warming a worker failed (the next task starts one)'));
  }

  /**
   * The heaps of the workers that are up (after a full collection when `gc`): one task per
   * live worker at once, so that each idle worker takes one. No worker is started for it.
   */
  async workerHeaps(gc: boolean): Promise<{ threads: number; heapUsedBytes: number }> {
    const n = this.piscina.threads.length;
    if (this.closed || n === 0) return { threads: 0, heapUsedBytes: 0 };
    const heaps = new Map<number, number>();
    const results = await Promise.all(Array.from({ length: n }, () => this.run({ kind: 'heap', gc })));
    for (const { threadId, heapUsedBytes } of results) heaps.set(threadId, heapUsedBytes);
    return { threads: heaps.size, heapUsedBytes: [...heaps.values()].reduce((a, b) => a + b, 0) };
  }

  stats(): PoolStats {
    const p = this.piscina;
    return {
      threads: p.threads.length,
      maxThreads: p.options.maxThreads,
      queueSize: p.queueSize,
      running: Math.max(0, this.running - p.queueSize),
      completed: p.completed,
      failed: this.failed,
      cancelled: this.cancelled,
      // (piscina's own figure divides milliseconds by 1000 once too often in 5.x.)
      utilization: round3(this.busyMs / ((performance.now() - this.startedAt) * p.options.maxThreads)),
      ...this.latencyP50(),
    };
  }

  /**
   * piscina builds a whole summary (mean, stddev, a dozen percentiles) on every read of its
   * histograms, ~0.2 ms each: system.health under load spent most of its time there. Read
   * at most once a second, and only when a task completed since.
   */
  private latencyP50(): { runTimeP50Ms: number; waitTimeP50Ms: number } {
    const p = this.piscina;
    const now = performance.now();
    if (this.latency.completed !== p.completed && now - this.latency.at >= 1_000) {
      this.latency = { at: now, completed: p.completed, runTimeP50Ms: round3(p.histogram.runTime.p50), waitTimeP50Ms: round3(p.histogram.waitTime.p50) };
    }
    return { runTimeP50Ms: this.latency.runTimeP50Ms, waitTimeP50Ms: this.latency.waitTimeP50Ms };
  }

  /** Stop every worker; queued and running tasks are rejected. */
  close(): Promise<void> {
    this.closed ??= this.piscina.destroy();
    return this.closed;
  }
}

function cancelReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new TabvisorError(ErrorCode.Internal, 'analysis task cancelled');
}

function round3(n: number): number {
  return Number.isFinite(n) ? Math.round(n * 1000) / 1000 : 0;
}
