// Prometheus text for GET /metrics (prom-client). Gauges are computed at scrape time from the
// runtime's own state, kept by the machines' events; nothing here asks Chrome anything.
// One registry per server: a process may run several (the tests do).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { INSTANCE_STATES, TAB_STATES } from '../../machines/index.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ValuesStats } from './values-feed.js';

/**
 * Node's default metrics (heap, GC, handles, fds, CPU, event-loop lag) belong to the process:
 * one registry for it, made once — prom-client's event-loop monitor, once started, runs for the
 * process's life, so a registry per server would start one per server.
 */
let processMetrics: Registry | undefined;
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics, eventLoopMonitoringPrecision: 10 });
  }
  return processMetrics;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly rpc: Histogram<'method' | 'outcome'>;
  private readonly detach: (() => void)[] = [];

  constructor(runtime: Runtime, values?: ValuesStats) {
    const registers = [this.registry];
    /** Actors counted by state, every state present (0 when none). */
    const byState = (name: string, help: string, states: string[], views: () => Iterable<{ state: string }>) =>
      new Gauge({
        name,
        help,
        labelNames: ['state'],
        registers,
        collect() {
          const counts = new Map(states.map((s) => [s, 0]));
          for (const view of views()) counts.set(view.state, (counts.get(view.state) ?? 0) + 1);
          for (const [state, n] of counts) this.set({ state }, n);
        },
      });
    byState('tabvisor_instances', 'Chrome instances by supervisor state', [...INSTANCE_STATES], () => runtime.instances());
    byState('tabvisor_tabs', 'Tabs by supervisor state', [...TAB_STATES], () => runtime.tabs());
    new Gauge({
      name: 'tabvisor_instance_memory_bytes',
      help: "An instance's whole process tree: pss and uss from smaps_rollup",
      labelNames: ['instance', 'kind'],
      registers,
      collect() {
        this.reset(); // instances come and go
        for (const { instanceId } of runtime.instances()) {
          const memory = runtime.memoryOf(instanceId);
          if (!memory) continue;
          this.set({ instance: instanceId, kind: 'pss' }, memory.pssBytes);
          this.set({ instance: instanceId, kind: 'uss' }, memory.ussBytes);
        }
      },
    });
    const restarts = new Counter({ name: 'tabvisor_restarts_total', help: 'Recoveries of instances and tabs, by why they were needed', labelNames: ['kind', 'reason'], registers });
    this.detach.push(
      runtime.onTransition((t) => {
        if (t.to === 'recovering' && t.from !== 'recovering') restarts.inc({ kind: t.kind, reason: reasonLabel(t.reason) });
      }),
    );
    this.rpc = new Histogram({
      name: 'tabvisor_rpc_duration_seconds',
      help: 'JSON-RPC calls from validation to answer',
      labelNames: ['method', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const navigations = new Histogram({
      name: 'tabvisor_navigation_duration_seconds',
      help: 'Navigations of tabs (tab.navigate), from the request to the page loaded or failed',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.detach.push(runtime.pages.onNavigation((ms, outcome) => navigations.observe({ outcome }, ms / 1000)));
    new Counter({
      name: 'tabvisor_snapshot_writes_total',
      help: 'Fleet snapshots written to the state dir, by outcome (none without a state dir)',
      labelNames: ['outcome'],
      registers,
      collect() {
        const stats = runtime.snapshotStats();
        this.reset();
        if (!stats) return;
        this.inc({ outcome: 'ok' }, stats.writes);
        this.inc({ outcome: 'error' }, stats.failures);
      },
    });
    new Gauge({
      name: 'tabvisor_snapshot_last_write',
      help: 'The last snapshot written: when (epoch seconds), its size (bytes) and how long it took to be durable (seconds)',
      labelNames: ['stat'],
      registers,
      collect() {
        const last = runtime.snapshotStats()?.last;
        this.reset();
        if (!last) return;
        this.set({ stat: 'timestamp_seconds' }, last.at / 1000);
        this.set({ stat: 'bytes' }, last.bytes);
        this.set({ stat: 'duration_seconds' }, last.ms / 1000);
      },
    });
    new Gauge({
      name: 'tabvisor_analysis_pool',
      help: 'The analysis worker pool: queued and running tasks, threads, utilization (0-1)',
      labelNames: ['stat'],
      registers,
      collect() {
        const stats = runtime.pages.pool.stats();
        this.set({ stat: 'queue' }, stats.queueSize);
        this.set({ stat: 'running' }, stats.running);
        this.set({ stat: 'threads' }, stats.threads);
        this.set({ stat: 'utilization' }, stats.utilization);
      },
    });
    if (values) {
      new Counter({
        name: 'tabvisor_values_total',
        help: 'The values topic (the inspector): state values seen while someone subscribed, and values events sent after coalescing',
        labelNames: ['outcome'],
        registers,
        collect() {
          this.reset();
          this.inc({ outcome: 'seen' }, values.seen);
          this.inc({ outcome: 'sent' }, values.sent);
        },
      });
    }
  }

  /** One JSON-RPC call done (only known methods get this far: clients cannot grow the series). */
  observeRpc(method: string, ms: number, ok: boolean): void {
    this.rpc.observe({ method, outcome: ok ? 'ok' : 'error' }, ms / 1000);
  }

  /** The server's series and the process's (Node's defaults, event-loop lag among them). */
  text(): Promise<string> {
    return Registry.merge([this.registry, processRegistry()]).metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const off of this.detach) off();
    this.registry.clear();
  }
}

/** Reasons name the cause ("Chrome exited with signal SIGKILL"); ids and numbers beyond that would grow the series. */
function reasonLabel(reason: string): string {
  return reason.replace(/\b[it]-[\w-]+/g, '<id>').slice(0, 80);
}
