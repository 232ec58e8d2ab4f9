// What a soak samples, and how: every instance's process tree from /proc (one pass over /proc
// for the fleet per tick, no process spawned), every tab's page after a full collection (one
// tab at a time, between iterations), and the runtime's own figures. Each series is declared
// with its budget the first time it is seen.
import { loadavg } from 'node:os';
import { chromeProcessType, countFds, groupMembers, readArgv, readSmapsRollup, readStatus } from '../src/chrome/proc.js';
import type { RuntimeStats } from '../src/runtime/self-stats.js';
import type { Budgets } from './options.js';
import type { Axis, SeriesDef, SeriesKind, SeriesStore } from './series.js';
import type { SoakTarget } from './target.js';

export interface Fleet {
  instances: { instanceId: string; label: string }[];
  tabs: { tabId: string; instanceId: string; label: string }[];
}

/** CPU time (this process) and wall time a sample takes, by sampler (see measureCost). */
type Sampler = 'instance' | 'instanceDetailed' | 'tab' | 'runtime';

/** PSS and USS (smaps_rollup, a walk of every mapping: ~2.5 ms of CPU per Chrome process) are read every this many instance ticks. */
export const DETAILED_EVERY = 5;

/**
 * libuv requests (FSReqCallback, CloseReq, GetAddrInfoReqWrap, WriteWrap, and the stream
 * requests SimpleWriteWrap and SimpleShutdownWrap that a socket's write or end leaves in flight),
 * as named by process.getActiveResourcesInfo().
 */
export const isRequest = (type: string): boolean => /Req(Wrap|Callback|Promise)?$|^(Simple)?(WriteWrap|ShutdownWrap)$/.test(type);

export interface SamplingCost {
  samples: number;
  cpuMs: number;
  wallMs: number;
  /** For tabs: the collection and read in the page (the renderer's share). */
  pageMs?: number;
}

export class Samplers {
  readonly cost: Record<Sampler, SamplingCost> = {
    instance: { samples: 0, cpuMs: 0, wallMs: 0 },
    instanceDetailed: { samples: 0, cpuMs: 0, wallMs: 0 },
    tab: { samples: 0, cpuMs: 0, wallMs: 0, pageMs: 0 },
    runtime: { samples: 0, cpuMs: 0, wallMs: 0 },
  };
  /** Process types by pid: a pid's command line does not change while it lives. */
  private readonly types = new Map<number, string>();
  private nextTab = 0;
  private instanceTicks = 0;
  private measuring = false;
  /** Chrome process types seen so far: a type with no process now counts 0. */
  private readonly typesSeen = new Set<string>();

  constructor(
    private readonly target: SoakTarget,
    private readonly store: SeriesStore,
    private readonly fleet: Fleet,
    private readonly budgets: Budgets,
    /** Idle workloads are judged per hour; the runtime's memory is judged per hour, or only plotted. */
    private readonly mode: { idle: boolean; runtimeMemory: 'hours' | 'iterations' | 'plot'; detailedEvery?: number },
    private readonly startedAt: number,
  ) {}

  private def(key: string, scope: string, label: string, kind: SeriesKind, family: 'chrome' | 'tab' | 'runtime' | 'rss' | 'count' | 'info'): void {
    if (this.store.defs.has(key)) return;
    const b = this.budgets;
    const { idle, runtimeMemory } = this.mode;
    let axis: Axis = idle ? 'hours' : 'iterations';
    let budget = 0;
    if (family === 'chrome') budget = idle ? b.chromeBytesPerHour : b.chromeBytesPerIteration;
    if (family === 'tab') budget = idle ? b.tabHeapPerHour : b.tabHeapPerIteration;
    if (family === 'count') budget = idle ? b.countPerHour : b.countPerIteration;
    if (family === 'runtime' || family === 'rss') {
      axis = runtimeMemory === 'iterations' && !idle ? 'iterations' : 'hours';
      budget = family === 'rss' ? b.runtimeRssPerHour : axis === 'hours' ? b.runtimeBytesPerHour : b.runtimeBytesPerIteration;
      if (runtimeMemory === 'plot' || (family === 'rss' && axis === 'iterations')) kind = 'info';
    }
    const def: SeriesDef = { key, scope, label, kind, axis, budget };
    this.store.define(def);
  }

  private push(key: string, t: number, iteration: number, y: number): void {
    if (this.measuring) return;
    this.store.push(key, (t - this.startedAt) / 3_600_000, iteration, y);
  }

  private async timed(which: Sampler, work: () => Promise<void>): Promise<void> {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await work();
    if (!this.measuring) return;
    const used = process.cpuUsage(cpu);
    const c = this.cost[which];
    c.samples++;
    c.cpuMs += (used.user + used.system) / 1000;
    c.wallMs += performance.now() - started;
  }

  /**
   * What a sample costs, measured once the workload has stopped: `rounds` samples of each kind
   * one after the other, so this process's CPU time is the samplers' own and nothing else's
   * (during the run, other work interleaves with the samplers' awaits). These samples are not
   * kept: a run of equal samples at the end would read as the level a count stays at.
   */
  async measureCost(iteration: number, rounds = 5): Promise<void> {
    this.measuring = true;
    try {
      for (let r = 0; r < rounds; r++) {
        await this.sampleInstances(iteration, false);
        await this.sampleInstances(iteration, true);
        await this.sampleRuntime(iteration);
        for (let k = 0; k < this.fleet.tabs.length; k++) await this.sampleNextTab(iteration, new AbortController().signal);
      }
    } finally {
      this.measuring = false;
    }
  }

  /**
   * /proc of every instance's tree: private footprint, fds, threads, processes by type, and on
   * every DETAILED_EVERY-th tick (or when `detailed`) PSS and USS; its targets.
   */
  sampleInstances(iteration: number, detailed = this.instanceTicks % (this.mode.detailedEvery ?? DETAILED_EVERY) === 0): Promise<void> {
    this.instanceTicks++;
    return this.timed(detailed ? 'instanceDetailed' : 'instance', async () => {
      const pids = new Map<string, number>();
      for (const { instanceId } of this.fleet.instances) {
        const pid = await this.target.pidOf(instanceId).catch(() => null);
        if (pid !== null) pids.set(instanceId, pid);
      }
      const groups = await groupMembers(new Set(pids.values()));
      const t = Date.now();
      const seen = new Set<number>();
      for (const { instanceId, label } of this.fleet.instances) {
        const pid = pids.get(instanceId);
        const members = pid === undefined ? undefined : groups.get(pid);
        // Recovering: no browser, or a browser not yet listed. Nothing to sample this tick.
        if (!members?.length) continue;
        const scope = `instance ${instanceId} (${label})`;
        let [pss, uss, priv, fds, threads] = [0, 0, 0, 0, 0];
        const byType: Record<string, number> = {};
        for (const member of members) {
          seen.add(member);
          const [rollup, status, fdCount] = await Promise.all([detailed ? readSmapsRollup(member) : null, readStatus(member), countFds(member)]);
          if (!status) continue; // exited meanwhile
          pss += rollup?.pssBytes ?? 0;
          uss += rollup ? rollup.privateCleanBytes + rollup.privateDirtyBytes : 0;
          priv += status.rssAnonBytes + status.vmSwapBytes;
          threads += status.threads;
          fds += fdCount ?? 0;
          let type = this.types.get(member);
          if (type === undefined) this.types.set(member, (type = chromeProcessType((await readArgv(member)) ?? [])));
          byType[type] = (byType[type] ?? 0) + 1;
        }
        const put = (metric: string, name: string, kind: SeriesKind, family: Parameters<Samplers['def']>[4], y: number) => {
          this.def(`${label}.${metric}`, scope, name, kind, family);
          this.push(`${label}.${metric}`, t, iteration, y);
        };
        if (detailed) {
          put('pss', 'Chrome PSS (process tree)', 'bytes', 'chrome', pss);
          put('uss', 'Chrome USS (process tree)', 'bytes', 'chrome', uss);
        }
        put('private', 'Chrome private footprint (RssAnon + swap)', 'bytes', 'chrome', priv);
        put('fds', 'Chrome open fds', 'count', 'count', fds);
        put('threads', 'Chrome threads', 'count', 'count', threads);
        put('processes', 'Chrome processes', 'count', 'count', members.length);
        for (const type of new Set([...Object.keys(byType), ...this.typesSeen])) {
          this.typesSeen.add(type);
          put(`processes.${type}`, `Chrome processes: ${type}`, 'count', 'count', byType[type] ?? 0);
        }
        const targets = this.target.targets(instanceId);
        if (targets !== null) put('targets', 'page targets', 'count', 'count', targets);
      }
      for (const pid of this.types.keys()) if (!seen.has(pid)) this.types.delete(pid);
    });
  }

  /** The next tab in turn, after a full collection in its page: JS heap, DOM nodes, documents, listeners. */
  sampleNextTab(iteration: number, signal: AbortSignal): Promise<void> {
    const tab = this.fleet.tabs[this.nextTab++ % this.fleet.tabs.length];
    if (!tab) return Promise.resolve();
    return this.timed('tab', async () => {
      let m;
      try {
        m = await this.target.tabMetrics(tab.tabId, signal);
      } catch {
        return; // the tab is recovering: no sample this turn
      }
      if (this.measuring) this.cost.tab.pageMs! += m.readMs;
      const t = Date.now();
      const scope = `tab ${tab.tabId} (${tab.label})`;
      const put = (metric: string, name: string, kind: SeriesKind, family: Parameters<Samplers['def']>[4], y: number) => {
        this.def(`${tab.label}.${metric}`, scope, name, kind, family);
        this.push(`${tab.label}.${metric}`, t, iteration, y);
      };
      put('jsHeap', 'JS heap used after GC', 'bytes', 'tab', m.jsHeapUsedBytes);
      put('nodes', 'DOM nodes', 'count', 'count', m.nodes);
      put('documents', 'documents', 'count', 'count', m.documents);
      put('listeners', 'JS event listeners', 'count', 'count', m.jsEventListeners);
    });
  }

  /** The runtime's own figures. */
  sampleRuntime(iteration: number): Promise<RuntimeStats | null> {
    let stats: RuntimeStats | null = null;
    return this.timed('runtime', async () => {
      try {
        stats = await this.target.runtimeStats();
      } catch {
        return;
      }
      const s: RuntimeStats = stats;
      const t = s.at;
      const put = (metric: string, name: string, kind: SeriesKind, family: Parameters<Samplers['def']>[4], y: number) => {
        this.def(`runtime.${metric}`, 'runtime', name, kind, family);
        this.push(`runtime.${metric}`, t, iteration, y);
      };
      put('heapUsed', `heap used${s.gc ? ' after GC' : ''}`, 'bytes', 'runtime', s.heapUsedBytes);
      put('external', 'external memory', 'bytes', 'runtime', s.externalBytes);
      put('arrayBuffers', 'array buffers', 'bytes', 'runtime', s.arrayBuffersBytes);
      put('rss', 'RSS', 'bytes', 'rss', s.rssBytes);
      put('workersHeap', `analysis workers' heaps${s.gc ? ' after GC' : ''}`, 'bytes', 'runtime', s.workers.heapUsedBytes);
      put('fds', 'open fds', 'count', 'count', s.fds);
      let handles = 0;
      for (const [type, n] of Object.entries(s.resources)) {
        // A request (an fs read, a close, a write under way) is an operation in flight, caught or
        // not by the sample's instant: plotted, not judged. Handles (sockets, timers, servers) are.
        const request = isRequest(type);
        if (!request) handles += n;
        put(`resources.${type}`, `active resources: ${type}`, request ? 'info' : 'count', request ? 'info' : 'count', n);
      }
      // A type absent from this sample has none now.
      for (const key of this.store.defs.keys()) {
        if (key.startsWith('runtime.resources.') && !(key.slice('runtime.resources.'.length) in s.resources)) this.push(key, t, iteration, 0);
      }
      put('resources', 'active handles (all types but requests in flight)', 'count', 'count', handles);
      for (const [name, n] of Object.entries(s.registries)) {
        // Calls under way come and go with the workload: plotted, not judged.
        put(`registry.${name}`, `registry: ${name}`, name === 'busyTabs' ? 'info' : 'count', name === 'busyTabs' ? 'info' : 'count', n);
      }
      put('lagP99', 'event-loop lag p99 (ms)', 'info', 'info', s.eventLoopLagP99Ms);
      // The machine's load, to read the other series by (other work shares the CPUs).
      this.def('machine.load1', 'machine', 'load average (1 min)', 'info', 'info');
      this.push('machine.load1', Date.now(), iteration, loadavg()[0]!);
    }).then(() => stats);
  }
}
