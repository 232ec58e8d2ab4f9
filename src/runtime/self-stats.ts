// The runtime's own figures, as a soak samples them: its heap (after a full collection when
// asked), RSS, external and array-buffer memory, fds, active resources by type, event-loop lag,
// the sizes of its registries and the analysis workers' heaps. In-process for an embedded
// soak, and over the control channel (system.stats) for a soak of a running runtime.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { countFds } from '../chrome/proc.js';
import { collectGarbage } from './gc.js';
import type { Runtime } from './runtime.js';

export interface RuntimeStats {
  /** epoch ms */
  at: number;
  /** The heap figures follow a full garbage collection. */
  gc: boolean;
  heapUsedBytes: number;
  heapTotalBytes: number;
  rssBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  fds: number;
  /** process.getActiveResourcesInfo(), counted by type (timers, sockets, file reads, …). */
  resources: Record<string, number>;
  /** 99th percentile of the event loop's delay since the last sample, ms (the sample's own collection excluded). */
  eventLoopLagP99Ms: number;
  /** Actors, instances, tabs, CDP sessions, … and, with a server, connections and subscriptions. */
  registries: Record<string, number>;
  workers: { threads: number; heapUsedBytes: number };
  /** How long taking this sample held the event loop (collection included), ms. */
  sampleMs: number;
}

/** One monitor for the process, started by the first sample (it is a libuv timer, 10 ms resolution). */
let lag: IntervalHistogram | null = null;

export async function runtimeStats(runtime: Runtime, options: { gc: boolean; extraRegistries?: Record<string, number> }): Promise<RuntimeStats> {
  if (!lag) {
    lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
  }
  const histogram = lag;
  const eventLoopLagP99Ms = histogram.count ? Math.round(histogram.percentile(99) / 1e4) / 100 : 0;
  const workers = await runtime.pages.pool.workerHeaps(options.gc);
  const started = performance.now();
  if (options.gc) {
    collectGarbage();
    // The collection delays the monitor's next tick: that delay is this sample's, not the
    // runtime's, so the histogram starts afresh after the monitor has recorded it.
    setTimeout(() => histogram.reset(), 1);
  } else {
    histogram.reset();
  }
  const memory = process.memoryUsage();
  const resources: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) resources[name] = (resources[name] ?? 0) + 1;
  const sampleMs = Math.round((performance.now() - started) * 100) / 100;
  return {
    at: Date.now(),
    gc: options.gc,
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    rssBytes: memory.rss,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    fds: (await countFds('self')) ?? 0,
    resources,
    eventLoopLagP99Ms,
    registries: { ...runtime.registries(), ...options.extraRegistries },
    workers,
    sampleMs,
  };
}
