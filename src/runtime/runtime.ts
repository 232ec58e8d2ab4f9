// The runtime: a small facade over its parts — the actor system (the root supervisor with the
// world's side effects provided, world.ts), the read model kept from inspection
// (fleet-view.ts), the snapshot and restore (persistence.ts, restore.ts), memory relief
// (eviction.ts) and the pages (pages.ts). The control channel and the CLI use only this.
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { createActor, waitFor, type Actor, type AnyActorRef, type AnyMachineSnapshot } from 'xstate';
import { reportedState } from '../../machines/index.js';
import { AnalysisPool, type PoolStats } from '../analysis/pool.js';
import type { ChromeInstance, ChromeRecord } from '../chrome/instance.js';
import type { ProcessMemory } from '../chrome/memory.js';
import type { StorageState } from '../chrome/storage-state.js';
import type { TabHandle } from '../chrome/tab.js';
import { capacity, errorMessage, notFound, pageFailed, unavailable } from '../errors.js';
import { silentLogger } from '../log.js';
import { AgentPages, type AgentHost } from './agent-pages.js';
import { relieveMemory } from './eviction.js';
import { FleetView } from './fleet-view.js';
import { Admission } from './admission.js';
import { HISTORY_FILE, TransitionHistory } from './history.js';
import { firstProbeDelayMs, instanceOptions, resolveDefaults, type CreateInstanceParams, type InstanceDefaults, type RuntimeOptions } from './options.js';
import { PageService, type PageHost } from './pages.js';
import { SnapshotStore, type InstanceRecord, type SnapshotContent, type WriteResult } from './persistence.js';
import { openStateDir, recordFleet } from './restore.js';
import { TabCalls } from './tab-calls.js';
import { indexSchedulerByActor } from './scheduler-index.js';
import { LeakHooks } from './test-hooks.js';
import { Thumbnails } from './thumbnails.js';
import { WarmPool } from './warm-pool.js';
import { usableStates, type ActorValue, type InstanceMeta, type InstanceView, type TabView, type Transition } from './views.js';
import { World, type PageEvent } from './world.js';
import { waitAtMost } from '../wait.js';

export type { CreateInstanceParams, InstanceDefaults, PersistenceOptions, RuntimeOptions } from './options.js';

type Verdict = 'ok' | 'fail' | undefined;

const MB = 1024 * 1024;

export class Runtime implements PageHost, AgentHost {
  readonly defaults: InstanceDefaults;
  readonly maxInstances: number;
  readonly startedAt = Date.now();
  /** Snapshots, actions and analysis of pages (over the analysis pool). */
  readonly pages: PageService;
  /** The inspector's live view of tabs: small JPEGs, captured on demand. */
  readonly thumbnails: Thumbnails;
  /** History, waits, console and network, evaluation, dialogs, uploads, PDFs, downloads. */
  readonly agent: AgentPages;
  private readonly log: Logger;
  /** The last transitions, for subscribers that ask `since` a seq (kept in the state dir). */
  private readonly history: TransitionHistory;
  private readonly view: FleetView;
  private readonly world: World;
  private readonly root: Actor<ReturnType<World['machines']>>;
  private readonly store: SnapshotStore | null;
  private readonly calls = new TabCalls();
  /** The instance limit, the memory reserve and the fds, checked before any browser starts. */
  readonly admission: Admission;
  private readonly warm: WarmPool | null;
  /** Leaks on purpose, only when the soak's self-test asks (options.testHooks). */
  readonly testHooks: LeakHooks | null;
  private closed: Promise<void> | null = null;

  constructor(readonly options: RuntimeOptions) {
    this.log = options.log ?? silentLogger();
    this.history = new TransitionHistory(options.historySize, this.log);
    this.view = new FleetView(() => this.history.nextSeq());
    this.defaults = resolveDefaults(options.defaults);
    this.admission = new Admission({ maxInstances: options.maxInstances, memoryReserveMb: options.memoryReserveMb });
    this.maxInstances = this.admission.maxInstances;
    const persistence = options.persistence;
    const stateDir = persistence ? resolve(persistence.stateDir) : null;
    this.store = stateDir ? new SnapshotStore(stateDir, this.log, persistence) : null;
    this.world = new World(options.binary, this.log, {
      stateDir,
      profileRoot: stateDir ? join(stateDir, 'profiles') : null,
      orphanGraceMs: persistence?.orphanGraceMs ?? 60_000,
      memoryIntervalMs: this.defaults.memoryIntervalMs,
      downloads: options.downloads,
    });
    const logic = this.world.machines({
      onMemoryPressure: (id) => void this.relieveMemory(id),
      onInstanceFailed: (id, reason) => this.log.error({ actor: id, reason }, 'instance failed; the rest of the fleet keeps running'),
    });
    // First: a subscriber that asks for the history right after a transition finds it there.
    this.view.onTransition((t) => this.history.append(t));
    this.view.onTransition((t) => this.transitioned(t));
    this.view.onChange(() => this.store?.changed());
    this.root = createActor(logic, { inspect: this.view.inspect });
    indexSchedulerByActor(this.root.system);
    this.pages = new PageService(this, new AnalysisPool({ log: this.log, ...options.analysis }));
    this.thumbnails = new Thumbnails({ tab: (tabId) => this.view.tab(tabId), handle: (tabId) => this.world.tabHandle(this.view.tab(tabId).instanceId, tabId) });
    this.agent = new AgentPages(this, this.pages);
    this.testHooks = options.testHooks ? new LeakHooks(options.testHooks) : null;
    this.root.start();
    this.warm = options.warm
      ? new WarmPool(options.warm, {
          launch: () => this.world.launchWarm(),
          discard: (browser) => this.world.discardWarm(browser),
          admit: () => this.admit(),
          log: this.log.child({ pool: 'warm' }),
        })
      : null;
    this.warm?.refill();
  }

  /**
   * With a state dir: take it, reap what the last runtime left, and bring the recorded fleet
   * back under the same ids (see restore.ts). Resolves once the restore is under way.
   */
  async open(): Promise<void> {
    if (!this.store) return;
    await openStateDir(this.store, this.options.persistence?.restore ?? true, {
      log: this.log,
      world: this.world,
      view: this.view,
      content: () => this.snapshotContent(),
      tookDir: (dir) => void this.history.open(join(dir, HISTORY_FILE)),
      restoreInstance: (record, browser) => this.restoreInstance(record, browser),
    });
  }

  // ── reading ────────────────────────────────────────────────────────────────────────────

  instance(instanceId: string): InstanceView {
    return this.view.instance(instanceId);
  }

  /** The instance, or undefined if there is none (any more). */
  findInstance(instanceId: string): InstanceView | undefined {
    return this.view.findInstance(instanceId);
  }

  instances(): InstanceView[] {
    return [...this.view.instances()];
  }

  tab(tabId: string): TabView {
    return this.view.tab(tabId);
  }

  /** Every tab, or the tabs of one instance. */
  tabs(instanceId?: string): TabView[] {
    return instanceId === undefined ? [...this.view.tabs()] : this.view.tabsOf(instanceId);
  }

  /** PSS and USS of an instance's process tree, as last sampled (bytes). */
  memoryOf(instanceId: string): ProcessMemory | undefined {
    return this.world.memoryOf(instanceId);
  }

  instanceMemory(instanceId: string): { pssMb: number; ussMb: number } {
    const memory = this.world.memoryOf(instanceId);
    return { pssMb: round1((memory?.pssBytes ?? 0) / MB), ussMb: round1((memory?.ussBytes ?? 0) / MB) };
  }

  /** The live browser of an instance (its process, profile and pages), for diagnostics and tests. */
  chrome(instanceId: string): ChromeInstance {
    return this.world.instance(instanceId);
  }

  /** The browser of an instance, if it has one now. */
  chromeOf(instanceId: string): ChromeInstance | undefined {
    try {
      return this.world.instance(instanceId);
    } catch {
      return undefined; // not launched yet, or stopped
    }
  }

  instanceIds(): string[] {
    return [...this.view.instances()].map((v) => v.instanceId);
  }

  /** Dialogs and downloads of every page. */
  onPageEvent(listener: (event: PageEvent) => void): () => void {
    this.world.pageEvents.on('page', listener);
    return () => this.world.pageEvents.off('page', listener);
  }

  /** Every transition of every instance and tab, in order per actor. */
  onTransition(listener: (t: Transition) => void): () => void {
    return this.view.onTransition(listener);
  }

  /** Transitions with a seq above `seq` still in the history, oldest first (of one instance if asked). */
  transitionsSince(seq: number, instanceId?: string): Transition[] {
    return this.history.since(seq, instanceId);
  }

  /** Every snapshot of an instance or tab that did not change its reported state: its full state value. */
  onValue(listener: (v: ActorValue) => void): () => void {
    return this.view.onValue(listener);
  }

  health(): { status: 'ok' | 'degraded'; instances: Record<string, number>; uptimeMs: number; analysis: PoolStats; warm?: { size: number; ready: number; launching: number } } {
    const instances: Record<string, number> = {};
    let allHealthy = true;
    for (const view of this.view.instances()) {
      instances[view.state] = (instances[view.state] ?? 0) + 1;
      allHealthy &&= view.state === 'healthy';
    }
    const warm = this.warm && { size: this.warm.size, ready: this.warm.count - this.warm.launching, launching: this.warm.launching };
    return { status: allHealthy ? 'ok' : 'degraded', instances, uptimeMs: Date.now() - this.startedAt, analysis: this.pages.pool.stats(), ...(warm ? { warm } : {}) };
  }

  snapshotStats(): SnapshotStore['stats'] | null {
    return this.store?.stats ?? null;
  }

  /** Sizes of the runtime's own registries: under a steady workload none may keep growing (the soak watches them). */
  registries(): Record<'actors' | 'instances' | 'tabs' | 'cdpSessions' | 'refTabs' | 'busyTabs', number> {
    let tabs = 0;
    for (const _ of this.view.tabs()) tabs++;
    return {
      actors: Object.keys(this.root.system.getAll()).length,
      instances: this.view.size,
      tabs,
      cdpSessions: this.world.sessionCount(),
      refTabs: this.pages.refTabs(),
      busyTabs: this.calls.size,
    };
  }

  // ── instances ──────────────────────────────────────────────────────────────────────────

  async createInstance(params: CreateInstanceParams, owner: string | null): Promise<InstanceView> {
    if (this.closed) throw unavailable('instance.create (the runtime is shutting down)', 'stopping');
    // A warm browser takes no more room than it already does; extra Chrome flags need a launch.
    const warm = params.args?.length ? null : this.warm?.take() ?? null;
    if (!warm) this.admit();
    const instanceId = this.newId('i');
    if (warm) this.world.expectWarm(instanceId, warm);
    this.spawnInstance(instanceId, { name: params.name ?? instanceId, owner, shared: params.shared ?? false, createdAt: Date.now() }, {
      type: 'CREATE_INSTANCE',
      instanceId,
      options: instanceOptions(params, this.defaults),
      firstProbeDelayMs: firstProbeDelayMs(this.defaults.probe.intervalMs),
    });
    if (warm) this.warm?.refill();
    try {
      await this.settle(instanceId, (state) => (usableStates.has(state) ? 'ok' : state === 'failed' || state === 'stopped' ? 'fail' : undefined));
    } catch (error) {
      // A browser that cannot start is not kept around half-made.
      if (this.view.findInstance(instanceId)) {
        await this.stopInstance(instanceId).catch((e: unknown) => this.log.warn({ actor: instanceId, err: errorMessage(e) }, 'could not stop an instance that failed to start'));
      }
      throw error;
    }
    if (params.storageState) {
      try {
        await this.world.instance(instanceId).applyStorageState(params.storageState as StorageState);
      } catch (error) {
        await this.stopInstance(instanceId).catch((e: unknown) => this.log.warn({ actor: instanceId, err: errorMessage(e) }, 'could not stop an instance whose storage state failed'));
        throw pageFailed(`instance ${instanceId}: the storage state could not be applied`, { cause: errorMessage(error) });
      }
    }
    return this.instance(instanceId);
  }

  /** Cookies and localStorage of the instance's origins (instance.storageState). */
  async storageState(instanceId: string): Promise<StorageState> {
    const view = this.instance(instanceId);
    if (!usableStates.has(view.state)) throw unavailable(`instance ${instanceId}`, view.state, 1_000);
    try {
      return await this.world.instance(instanceId).storageState();
    } catch (error) {
      throw pageFailed(`reading the storage state of instance ${instanceId} failed`, { cause: errorMessage(error) });
    }
  }

  async restartInstance(instanceId: string): Promise<InstanceView> {
    const view = this.instance(instanceId);
    if (!usableStates.has(view.state) && view.state !== 'failed') throw unavailable(`instance ${instanceId}`, view.state, 1_000);
    let sawRecovering = false;
    const settled = this.settle(
      instanceId,
      (state) => {
        sawRecovering ||= state === 'recovering';
        if (!sawRecovering) return undefined;
        return usableStates.has(state) ? 'ok' : state === 'failed' || state === 'stopped' ? 'fail' : undefined;
      },
    );
    this.send(instanceId, { type: 'RESTART', reason: 'restart requested by client' });
    await settled;
    return this.instance(instanceId);
  }

  async stopInstance(instanceId: string): Promise<void> {
    const view = this.instance(instanceId);
    if (view.state === 'stopped') return;
    const stopped = this.settle(instanceId, (state) => (state === 'stopped' ? 'ok' : undefined));
    this.root.send({ type: 'STOP_INSTANCE', instanceId });
    await stopped;
  }

  // ── tabs ───────────────────────────────────────────────────────────────────────────────

  async openTab(instanceId: string, url: string, evictable: boolean): Promise<TabView> {
    const view = this.instance(instanceId);
    if (!usableStates.has(view.state)) throw unavailable(`instance ${instanceId}`, view.state, 1_000);
    const count = this.view.tabsOf(instanceId).length;
    if (count >= view.options.limits.maxTabs) throw capacity(`tab limit of instance ${instanceId} reached`, view.options.limits.maxTabs, count, 'tabs');
    const tabId = this.newId('t');
    this.pages.pool.warm();
    this.send(instanceId, { type: 'OPEN_TAB', tabId, url, evictable, firstProbeDelayMs: firstProbeDelayMs(view.options.tabProbe.intervalMs) });
    await this.settle(tabId, (state) => (usableStates.has(state) ? 'ok' : state === 'failed' || state === 'stopped' ? 'fail' : undefined));
    return this.tab(tabId);
  }

  async closeTab(tabId: string): Promise<void> {
    const view = this.tab(tabId);
    const stopped = this.settle(tabId, (state) => (state === 'stopped' ? 'ok' : undefined));
    this.send(view.instanceId, { type: 'CLOSE_TAB', tabId });
    await stopped;
    await this.world.tabClosed(tabId);
  }

  /**
   * Run an operation on a usable tab's page, bounded by the call's signal (client gone,
   * deadline) and by the tab itself (see tab-calls.ts): a tab that is not usable, or stops
   * being usable meanwhile, answers -32004.
   */
  async withTab<T>(tabId: string, signal: AbortSignal, operation: (handle: TabHandle, signal: AbortSignal) => Promise<T>): Promise<T> {
    const view = this.tab(tabId);
    if (!usableStates.has(view.state)) throw unavailable(`tab ${tabId}`, view.state, 1_000);
    const handle = this.world.tabHandle(view.instanceId, tabId);
    if (!handle) throw unavailable(`tab ${tabId}`, view.state, 1_000);
    view.lastUsedAt = Date.now();
    this.testHooks?.job();
    return this.calls.run(tabId, handle, signal, operation);
  }

  /** A navigation the runtime made (or followed) ended on this URL and title. */
  tabNavigated(tabId: string, url: string, title: string): void {
    this.send(tabId, { type: 'URL_CHANGED', url, title });
  }

  // ── persistence and shutdown ───────────────────────────────────────────────────────────

  /** Write the snapshot now; resolves once it is durable (supervisor.snapshot). */
  async snapshot(): Promise<WriteResult & { file: string }> {
    if (!this.store) throw unavailable('snapshots (the runtime runs without a state dir)', 'disabled');
    if (this.closed) throw unavailable('snapshots (the runtime is shutting down)', 'stopping');
    return { ...(await this.store.flush()), file: this.store.file };
  }

  /** Stop every instance (graceful close, then kill of the group) and the actor system. */
  close(timeoutMs = 10_000): Promise<void> {
    this.closed ??= (async () => {
      await this.warm?.close();
      // The fleet as it was, before stopping takes it apart: the next start relaunches it. A
      // kill during the shutdown leaves the last snapshot, whose browsers are then reaped or adopted.
      const content = this.store ? this.snapshotContent() : null;
      const final = content ? { ...content, clean: true, instances: content.instances.map((r) => ({ ...r, chrome: null })) } : null;
      this.store?.freeze();
      this.world.beginShutdown();
      const stopped = waitFor(this.root, (snapshot) => snapshot.matches('stopped'));
      this.root.send({ type: 'SHUTDOWN' });
      await waitAtMost(stopped, timeoutMs);
      this.root.stop();
      // Last resort: whatever the machines did not stop in time is killed and removed here.
      await this.world.stopAll();
      await this.store?.close(final).catch((error: unknown) => this.log.error({ err: errorMessage(error) }, 'final snapshot failed'));
      await this.pages.pool.close();
      this.view.close();
      await this.history.close();
      this.testHooks?.close();
    })();
    return this.closed;
  }

  /**
   * Forced exit: SIGKILL every Chrome process group and keeper and remove every temporary
   * profile, synchronously, so not even an exiting runtime leaves a browser behind.
   */
  killAllSync(): void {
    this.world.killAllSync();
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────

  /** Throws -32001 unless one more browser may start now (admission.ts); warm ones count. */
  private admit(): void {
    let launching = this.view.size;
    for (const view of this.view.instances()) if (view.state !== 'spawning') launching--;
    const warm = this.warm?.count ?? 0;
    this.admission.check(this.view.size + warm, launching + (this.warm?.launching ?? 0));
  }

  private snapshotContent(): SnapshotContent {
    return { clean: false, writer: { pid: process.pid, version: this.options.version ?? '0.0.0' }, instances: recordFleet(this.view, this.world) };
  }

  /** An instance actor comes to life: the read model learns who asked for it first. */
  private spawnInstance(instanceId: string, meta: InstanceMeta, event: { type: 'CREATE_INSTANCE' } & Record<string, unknown>): void {
    this.view.expect(instanceId, meta);
    this.root.send(event as never);
  }

  private async restoreInstance(record: InstanceRecord, browser: ChromeRecord | null): Promise<InstanceView | null> {
    const { instanceId } = record;
    if (browser) this.world.expectAdoption(instanceId, browser);
    this.spawnInstance(instanceId, { name: record.name, owner: record.owner, shared: record.shared, createdAt: record.createdAt }, {
      type: 'CREATE_INSTANCE',
      instanceId,
      options: record.options,
      firstProbeDelayMs: firstProbeDelayMs(record.options.probe.intervalMs),
      restore: {
        failed: record.state === 'failed',
        restarts: record.restarts,
        reason: record.reason,
        tabs: record.tabs.map(({ tabId, url, title, evictable, restarts }) => ({ tabId, url, title, evictable, restarts, firstProbeDelayMs: firstProbeDelayMs(record.options.tabProbe.intervalMs) })),
      },
    });
    return this.settle(instanceId, (state) => (usableStates.has(state) || state === 'failed' ? 'ok' : state === 'stopped' ? 'fail' : undefined)).then(
      () => this.view.findInstance(instanceId) ?? null,
      () => null,
    );
  }

  /** Log each transition, and end the calls on a tab that is no longer usable. */
  private transitioned(t: Transition): void {
    const { actor, kind, from, to, reason } = t;
    // A restored actor's first state is recovering: expected, not a warning.
    const level = to === 'failed' ? 'error' : (to === 'recovering' && from !== null) || to === 'degraded' ? 'warn' : 'info';
    this.log[level]({ actor, kind, from, to, reason }, 'transition');
    // A stopped instance leaves room for the warm pool.
    if (kind === 'instance' && to === 'stopped') this.warm?.refill();
    if (kind === 'tab' && !usableStates.has(to) && to !== 'spawning') {
      this.calls.abortAll(actor, unavailable(`tab ${actor} (${reason})`, to, 1_000));
    }
  }

  private newId(prefix: 'i' | 't'): string {
    for (;;) {
      const id = `${prefix}-${randomUUID().slice(0, 8)}`;
      if (!this.view.has(id) && !this.root.system.get(id)) return id;
    }
  }

  private actor(actorId: string): AnyActorRef {
    const ref = this.root.system.get(actorId) as AnyActorRef | undefined;
    if (!ref) throw notFound('actor', actorId.startsWith('t-') ? { tabId: actorId } : { instanceId: actorId });
    return ref;
  }

  private send(actorId: string, event: { type: string; [key: string]: unknown }): void {
    this.actor(actorId).send(event);
  }

  /**
   * Wait until the actor's reported state is one `judge` accepts ('ok') or refuses ('fail':
   * -32004 with the actor's reason), or the signal ends the wait.
   */
  private async settle(actorId: string, judge: (state: string) => Verdict, signal?: AbortSignal): Promise<void> {
    const ref = this.actor(actorId);
    let verdict: Verdict;
    let snapshot: AnyMachineSnapshot;
    try {
      snapshot = await waitFor(ref, (s: AnyMachineSnapshot) => (verdict = judge(reportedState(s.value))) !== undefined, { signal });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      // The actor was stopped from outside (the runtime is shutting down) without settling.
      throw unavailable(`${actorId} (${errorMessage(error)})`, 'stopped');
    }
    if (verdict === 'fail') throw unavailable(`${actorId} (${snapshot.context.reason})`, reportedState(snapshot.value));
  }

  private async relieveMemory(instanceId: string): Promise<void> {
    await relieveMemory(instanceId, {
      log: this.log,
      world: this.world,
      view: this.view,
      evictIdleMs: this.defaults.evictIdleMs,
      busy: (tabId) => this.calls.busy(tabId),
      closeTab: (id, tabId, reason) => this.send(id, { type: 'CLOSE_TAB', tabId, reason }),
    });
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
