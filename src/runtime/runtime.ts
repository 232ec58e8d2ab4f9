// The runtime: the root supervisor actor with the world provided, the read model kept from
// inspection, and the operations the control channel exposes.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { reportedState } from '../../machines/index.js';
import { createActor, isMachineSnapshot, type AnyActorRef, type Actor, type InspectionEvent } from 'xstate';
import {
  defaultInstanceProbe,
  defaultRestartPolicy,
  defaultTabProbe,
  type InstanceOptions,
  type ProbePolicy,
  type RestartPolicy,
} from '../../machines/index.js';
import { AnalysisPool, type AnalysisPoolOptions, type PoolStats } from '../analysis/pool.js';
import type { ChromeBinary } from '../chrome/find.js';
import type { TabHandle } from '../chrome/tab.js';
import { ErrorCode, TabvisorError, capacity, errorMessage, notFound, unavailable } from '../errors.js';
import { silentLogger } from '../log.js';
import { usableStates, type InstanceState, type InstanceView, type TabState, type TabView, type Transition } from './views.js';
import { waitAtMost } from '../wait.js';
import { PageService } from './pages.js';
import { SnapshotStore, type FleetSnapshot, type InstanceRecord, type WriteResult } from './persistence.js';
import { reapStateDir } from './restore.js';
import { World } from './world.js';

export interface InstanceDefaults {
  softMemoryMb: number;
  hardMemoryMb: number;
  maxTabs: number;
  restart: RestartPolicy;
  probe: ProbePolicy;
  tabProbe: ProbePolicy;
  memoryIntervalMs: number;
  tabRestoreTimeoutMs: number;
  /** Under memory pressure, evictable tabs unused for this long are closed. */
  evictIdleMs: number;
}

export interface RuntimeOptions {
  binary: ChromeBinary;
  log?: Logger;
  /** Defaults for every instance; tests lower the timings to prove the signals quickly. */
  defaults?: Partial<InstanceDefaults>;
  maxInstances?: number;
  analysis?: AnalysisPoolOptions;
  /** Written into each snapshot (which tabvisor wrote it). */
  version?: string;
  /** Keep a snapshot of the fleet in this dir and restore it on start (see open()). */
  persistence?: PersistenceOptions;
}

export interface PersistenceOptions {
  stateDir: string;
  /** Bring back the recorded fleet (default). false: start clean, reaping what it left. */
  restore?: boolean;
  /** How long a browser outlives a crashed runtime, waiting to be adopted (default 60 s). */
  orphanGraceMs?: number;
  debounceMs?: number;
  intervalMs?: number;
}


export interface CreateInstanceParams {
  name?: string;
  shared?: boolean;
  args?: string[];
  limits?: { softMemoryMb?: number; hardMemoryMb?: number; maxTabs?: number };
  restart?: { maxRestarts?: number; windowMs?: number };
}

const MB = 1024 * 1024;

// 1 GiB soft / 2 GiB hard per instance: a busy multi-tab browser stays well below, and a
// runaway one is caught long before the machine swaps.
export const instanceDefaults: InstanceDefaults = {
  softMemoryMb: 1024,
  hardMemoryMb: 2048,
  maxTabs: 50,
  restart: defaultRestartPolicy,
  probe: defaultInstanceProbe,
  tabProbe: defaultTabProbe,
  memoryIntervalMs: 2_000,
  tabRestoreTimeoutMs: 30_000,
  evictIdleMs: 30_000,
};

export type NavigationOutcome = 'ok' | 'failed' | 'timeout';

export class Runtime {
  readonly instances = new Map<string, InstanceView>();
  readonly tabs = new Map<string, TabView>();
  readonly world: World;
  /** Snapshots, actions and analysis of pages (over the analysis pool). */
  readonly pages: PageService;
  readonly defaults: InstanceDefaults;
  readonly maxInstances: number;
  readonly startedAt = Date.now();
  private readonly log: Logger;
  private readonly bus = new EventEmitter<{ transition: [Transition]; navigation: [number, NavigationOutcome] }>();
  private readonly refs = new Map<string, AnyActorRef>();
  private readonly pending = new Map<string, Pick<InstanceView, 'name' | 'owner' | 'shared' | 'createdAt'>>();
  private readonly root: Actor<ReturnType<World['machines']>>;
  private closed: Promise<void> | null = null;
  private readonly store: SnapshotStore | null;

  constructor(readonly options: RuntimeOptions) {
    this.log = options.log ?? silentLogger();
    this.defaults = { ...instanceDefaults, ...options.defaults };
    this.maxInstances = options.maxInstances ?? Math.max(1, Math.floor((totalmem() * 0.8) / (this.defaults.hardMemoryMb * MB)));
    const persistence = options.persistence;
    const stateDir = persistence ? resolve(persistence.stateDir) : null;
    this.store = stateDir ? new SnapshotStore(stateDir, this.log, persistence) : null;
    this.world = new World(options.binary, this.log, {
      stateDir,
      profileRoot: stateDir ? join(stateDir, 'profiles') : null,
      orphanGraceMs: persistence?.orphanGraceMs ?? 60_000,
    });
    const logic = this.world.machines({
      onMemoryPressure: (id) => void this.relieveMemory(id),
      onInstanceFailed: (id, reason) => this.log.error({ actor: id, reason }, 'instance failed; the rest of the fleet keeps running'),
    });
    this.root = createActor(logic, { inspect: (event) => this.inspect(event) });
    this.pages = new PageService(this, new AnalysisPool({ log: this.log, ...options.analysis }));
    this.root.start();
  }

  /**
   * With a state dir: take it (one runtime per dir), read the snapshot, reap every browser
   * and profile of the dir that will not come back, and bring the recorded fleet back under
   * the same ids (adopting the browsers that still run). Resolves once the restore is under
   * way; "fleet restored" is logged when it is done. A snapshot that cannot be used is moved
   * aside and the runtime starts clean.
   */
  async open(): Promise<void> {
    const store = this.store;
    if (!store) return;
    const restore = this.options.persistence?.restore ?? true;
    const profileRoot = join(store.dir, 'profiles');
    await mkdir(profileRoot, { recursive: true });
    await store.lock();
    const loaded = await store.load();
    let records: InstanceRecord[] = [];
    let clean = false;
    if (loaded.kind === 'unusable') {
      this.log.error({ file: store.file, reason: loaded.reason, movedTo: loaded.movedTo }, 'snapshot unusable: moved aside, starting with an empty fleet');
    } else if (loaded.kind === 'ok') {
      clean = loaded.snapshot.clean;
      // An instance that was being stopped when the runtime died is not brought back.
      records = loaded.snapshot.instances.filter((r) => r.state !== 'stopping' && r.state !== 'stopped');
    }
    if (!restore) records = [];
    // The browser an instance will try to adopt: none after a clean stop, none for a failed one.
    const adoptable = (r: InstanceRecord) => (clean || r.state === 'failed' ? null : r.chrome);
    const candidates = records.flatMap((r) => adoptable(r)?.identity ?? []);
    const reaped = await reapStateDir({ stateDir: store.dir, profileRoot, candidates, keepProfilesOf: new Set(records.map((r) => r.instanceId)) }, this.log);
    if (reaped.keepers || reaped.browsers || reaped.profiles) this.log.info(reaped, 'reaped what the last runtime left');
    store.start(() => ({ clean: false, writer: this.writer(), instances: this.fleet() }));
    if (!records.length) {
      await store.flush();
      return;
    }
    const started = performance.now();
    this.log.info({ instances: records.length, tabs: records.reduce((n, r) => n + r.tabs.length, 0), snapshotAt: loaded.kind === 'ok' ? loaded.snapshot.at : null }, 'restoring the fleet from the snapshot');
    const settled = records.map((record) => this.restoreInstance(record, adoptable(record)));
    void Promise.all(settled).then((views) => {
      const back = views.filter((v): v is InstanceView => v !== null && v.state !== 'failed');
      const adopted = back.filter((v) => this.world.adopted.has(v.instanceId)).length;
      this.world.adopted.clear();
      const summary = {
        instances: views.length,
        adopted,
        relaunched: back.length - adopted,
        failed: views.length - back.length,
        tabs: views.reduce((n, v) => n + (v ? this.tabsOf(v.instanceId).length : 0), 0),
        ms: Math.round(performance.now() - started),
      };
      this.log.info(summary, 'fleet restored');
    });
  }

  private async restoreInstance(record: InstanceRecord, browser: InstanceRecord['chrome']): Promise<InstanceView | null> {
    const { instanceId } = record;
    this.pending.set(instanceId, { name: record.name, owner: record.owner, shared: record.shared, createdAt: record.createdAt });
    if (browser) this.world.expectAdoption(instanceId, browser);
    const settled = this.until(instanceId, (state) => (usableStates.has(state) || state === 'failed' ? 'ok' : state === 'stopped' ? 'fail' : undefined));
    this.root.send({
      type: 'CREATE_INSTANCE',
      instanceId,
      options: record.options,
      restore: {
        failed: record.state === 'failed',
        restarts: record.restarts,
        reason: record.reason,
        tabs: record.tabs.map(({ tabId, url, title, evictable }) => ({ tabId, url, title, evictable })),
      },
    });
    return settled.then(
      () => this.instances.get(instanceId) ?? null,
      () => null,
    );
  }

  /** The fleet as the snapshot records it. */
  private fleet(): InstanceRecord[] {
    const records: InstanceRecord[] = [];
    for (const view of this.instances.values()) {
      if (view.state === 'stopping' || view.state === 'stopped') continue;
      records.push({
        instanceId: view.instanceId,
        name: view.name,
        owner: view.owner,
        shared: view.shared,
        createdAt: view.createdAt,
        state: view.state,
        reason: view.reason,
        restarts: view.restarts,
        options: view.options,
        chrome: this.world.instances.get(view.instanceId)?.record() ?? null,
        tabs: this.tabsOf(view.instanceId)
          .filter((t) => t.state !== 'stopped')
          .map((t) => ({ tabId: t.tabId, url: t.url, title: t.title, state: t.state, evictable: t.evictable })),
      });
    }
    return records;
  }

  private writer(): FleetSnapshot['writer'] {
    return { pid: process.pid, version: this.options.version ?? '0.0.0' };
  }

  snapshotStats(): SnapshotStore['stats'] | null {
    return this.store?.stats ?? null;
  }

  /** Write the snapshot now; resolves once it is durable (supervisor.snapshot). */
  async snapshot(): Promise<WriteResult & { file: string }> {
    if (!this.store) throw unavailable('snapshots (the runtime runs without a state dir)', 'disabled');
    if (this.closed) throw unavailable('snapshots (the runtime is shutting down)', 'stopping');
    return { ...(await this.store.flush()), file: this.store.file };
  }

  /** Every transition of every instance and tab, in order per actor. */
  onTransition(listener: (t: Transition) => void): () => void {
    this.bus.on('transition', listener);
    return () => this.bus.off('transition', listener);
  }

  // ── instances ──────────────────────────────────────────────────────────────────────────

  async createInstance(params: CreateInstanceParams, owner: string | null): Promise<InstanceView> {
    const live = this.instances.size + this.pending.size;
    if (live >= this.maxInstances) throw capacity('instance limit reached', this.maxInstances, live);
    const instanceId = this.newId('i');
    const options = this.instanceOptions(params);
    this.pending.set(instanceId, { name: params.name ?? instanceId, owner, shared: params.shared ?? false, createdAt: Date.now() });
    const settled = this.until(instanceId, (state) => (usableStates.has(state) ? 'ok' : state === 'failed' || state === 'stopped' ? 'fail' : undefined));
    this.root.send({ type: 'CREATE_INSTANCE', instanceId, options });
    try {
      await settled;
    } catch (error) {
      // A browser that cannot start is not kept around half-made.
      if (this.instances.has(instanceId)) await this.stopInstance(instanceId).catch(() => {});
      throw error;
    }
    return this.instance(instanceId);
  }

  instance(instanceId: string): InstanceView {
    const view = this.instances.get(instanceId);
    if (!view) throw notFound('instance', { instanceId });
    return view;
  }

  instanceMemory(instanceId: string): { pssMb: number; ussMb: number } {
    const memory = this.world.memory.get(instanceId);
    return { pssMb: round1((memory?.pssBytes ?? 0) / MB), ussMb: round1((memory?.ussBytes ?? 0) / MB) };
  }

  tabsOf(instanceId: string): TabView[] {
    return [...this.tabs.values()].filter((t) => t.instanceId === instanceId);
  }

  async restartInstance(instanceId: string): Promise<InstanceView> {
    const view = this.instance(instanceId);
    if (!usableStates.has(view.state) && view.state !== 'failed') throw unavailable(`instance ${instanceId}`, view.state, 1_000);
    let sawRecovering = false;
    const settled = this.until(instanceId, (state) => {
      if (state === 'recovering') sawRecovering = true;
      if (!sawRecovering) return undefined;
      return usableStates.has(state) ? 'ok' : state === 'failed' || state === 'stopped' ? 'fail' : undefined;
    });
    this.send(instanceId, { type: 'RESTART', reason: 'restart requested by client' });
    await settled;
    return this.instance(instanceId);
  }

  async stopInstance(instanceId: string): Promise<void> {
    const view = this.instance(instanceId);
    if (view.state === 'stopped') return;
    const stopped = this.until(instanceId, (state) => (state === 'stopped' ? 'ok' : undefined));
    this.root.send({ type: 'STOP_INSTANCE', instanceId });
    await stopped;
  }

  // ── tabs ───────────────────────────────────────────────────────────────────────────────

  async openTab(instanceId: string, url: string, evictable: boolean): Promise<TabView> {
    const view = this.instance(instanceId);
    if (!usableStates.has(view.state)) throw unavailable(`instance ${instanceId}`, view.state, 1_000);
    const count = this.tabsOf(instanceId).length;
    if (count >= view.options.limits.maxTabs) throw capacity(`tab limit of instance ${instanceId} reached`, view.options.limits.maxTabs, count);
    const tabId = this.newId('t');
    this.pages.pool.warm();
    const settled = this.until(tabId, (state) => (usableStates.has(state) ? 'ok' : state === 'failed' || state === 'stopped' ? 'fail' : undefined));
    this.send(instanceId, { type: 'OPEN_TAB', tabId, url, evictable });
    await settled;
    return this.tab(tabId);
  }

  tab(tabId: string): TabView {
    const view = this.tabs.get(tabId);
    if (!view) throw notFound('tab', { tabId });
    return view;
  }

  async closeTab(tabId: string): Promise<void> {
    const view = this.tab(tabId);
    const stopped = this.until(tabId, (state) => (state === 'stopped' ? 'ok' : undefined));
    this.send(view.instanceId, { type: 'CLOSE_TAB', tabId });
    await stopped;
    await this.world.tabClosed(tabId);
  }

  /**
   * Run an operation on a usable tab's page. If the tab stops being usable meanwhile (renderer
   * crash, hung page, browser gone), the call fails at once with -32004 instead of hanging;
   * an error from a page whose target went away is -32004 too (puppeteer may report it before
   * the machines hear of it, and the answer must be the same either way).
   */
  async withTab<T>(tabId: string, operation: (handle: TabHandle, signal: AbortSignal) => Promise<T>): Promise<T> {
    const view = this.tab(tabId);
    if (!usableStates.has(view.state)) throw unavailable(`tab ${tabId}`, view.state, 1_000);
    const handle = this.world.instances.get(view.instanceId)?.tabs.get(tabId);
    if (!handle) throw unavailable(`tab ${tabId}`, view.state, 1_000);
    const controller = new AbortController();
    view.inflight.add(controller);
    view.lastUsedAt = Date.now();
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    try {
      return await Promise.race([operation(handle, controller.signal), aborted]);
    } catch (error) {
      if (!(error instanceof TabvisorError) && !handle.usable) throw unavailable(`tab ${tabId} (its target went away)`, 'recovering', 1_000);
      throw error;
    } finally {
      view.inflight.delete(controller);
      controller.abort(); // releases the race's listener; a no-op reason for a finished call
    }
  }

  async navigate(tabId: string, url: string, waitUntil: 'load' | 'domcontentloaded' | 'networkidle', timeoutMs: number) {
    return this.withTab(tabId, async (handle) => {
      const started = performance.now();
      const done = (outcome: NavigationOutcome) => this.bus.emit('navigation', performance.now() - started, outcome);
      let result;
      try {
        result = await handle.navigate(url, waitUntil, timeoutMs);
      } catch (error) {
        if (!handle.usable) throw error; // withTab answers -32004
        if (error instanceof Error && error.name === 'TimeoutError') {
          done('timeout');
          throw new TabvisorError(ErrorCode.Timeout, `navigation to ${url} timed out after ${timeoutMs} ms`, { timeoutMs });
        }
        done('failed');
        throw new TabvisorError(ErrorCode.PageFailed, `navigation to ${url} failed`, { url, cause: errorMessage(error) });
      }
      done('ok');
      this.send(tabId, { type: 'URL_CHANGED', url: result.url, title: result.title });
      return result;
    });
  }

  /** Every tab.navigate that reached the page, with how long it took and how it ended. */
  onNavigation(listener: (ms: number, outcome: NavigationOutcome) => void): () => void {
    this.bus.on('navigation', listener);
    return () => this.bus.off('navigation', listener);
  }

  health(): { status: 'ok' | 'degraded'; instances: Record<string, number>; uptimeMs: number; analysis: PoolStats } {
    const instances: Record<string, number> = {};
    for (const view of this.instances.values()) instances[view.state] = (instances[view.state] ?? 0) + 1;
    const status = [...this.instances.values()].every((v) => v.state === 'healthy') ? 'ok' : 'degraded';
    return { status, instances, uptimeMs: Date.now() - this.startedAt, analysis: this.pages.pool.stats() };
  }

  /** Stop every instance (graceful close, then kill of the group) and the actor system. */
  close(timeoutMs = 10_000): Promise<void> {
    this.closed ??= (async () => {
      // The fleet as it was, before stopping takes it apart: the next start relaunches it. A
      // kill during the shutdown leaves the last snapshot, whose browsers are then reaped or adopted.
      const final = this.store ? { clean: true, writer: this.writer(), instances: this.fleet().map((r) => ({ ...r, chrome: null })) } : null;
      this.store?.freeze();
      const done = new Promise<void>((resolve) => {
        const sub = this.root.subscribe((snapshot) => {
          if (snapshot.matches('stopped')) {
            sub.unsubscribe();
            resolve();
          }
        });
        if (this.root.getSnapshot().matches('stopped')) resolve();
      });
      this.root.send({ type: 'SHUTDOWN' });
      await waitAtMost(done, timeoutMs);
      this.root.stop();
      // Last resort: whatever the machines did not stop in time is killed and removed here.
      await Promise.all([...this.world.instances.keys()].map((id) => this.world.stop(id).catch(() => {})));
      await this.store?.close(final).catch((error: unknown) => this.log.error({ err: errorMessage(error) }, 'final snapshot failed'));
      await this.pages.pool.close();
      this.bus.removeAllListeners();
    })();
    return this.closed;
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────

  private instanceOptions(params: CreateInstanceParams): InstanceOptions {
    const d = this.defaults;
    return {
      name: params.name ?? '',
      shared: params.shared ?? false,
      args: params.args ?? [],
      limits: {
        softMemoryMb: params.limits?.softMemoryMb ?? d.softMemoryMb,
        hardMemoryMb: params.limits?.hardMemoryMb ?? d.hardMemoryMb,
        maxTabs: params.limits?.maxTabs ?? d.maxTabs,
      },
      restart: { ...d.restart, ...params.restart },
      probe: d.probe,
      tabProbe: d.tabProbe,
      memoryIntervalMs: d.memoryIntervalMs,
      tabRestoreTimeoutMs: d.tabRestoreTimeoutMs,
    };
  }

  private newId(prefix: 'i' | 't'): string {
    for (;;) {
      const id = `${prefix}-${randomUUID().slice(0, 8)}`;
      if (!this.refs.has(id) && !this.instances.has(id) && !this.tabs.has(id)) return id;
    }
  }

  private send(actorId: string, event: { type: string; [key: string]: unknown }): void {
    const ref = this.refs.get(actorId);
    if (!ref) throw notFound('actor', actorId.startsWith('t-') ? { tabId: actorId } : { instanceId: actorId });
    ref.send(event);
  }

  /**
   * Wait for an actor to reach a state that `settle` accepts ('ok') or refuses ('fail').
   * The current state is judged first, then every transition.
   */
  private until(actorId: string, settle: (state: string) => 'ok' | 'fail' | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const judge = (state: string, reason: string) => {
        const verdict = settle(state);
        if (verdict === undefined) return false;
        off();
        if (verdict === 'ok') resolve();
        else reject(unavailable(`${actorId} (${reason})`, state));
        return true;
      };
      const off = this.onTransition((t) => {
        if (t.actor === actorId) judge(t.to, t.reason);
      });
      const current = this.instances.get(actorId) ?? this.tabs.get(actorId);
      if (current) judge(current.state, current.reason);
    });
  }

  private inspect(event: InspectionEvent): void {
    if (event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot;
    if (!isMachineSnapshot(snapshot)) return;
    const kind = snapshot.machine.id;
    if (kind !== 'instance' && kind !== 'tab') return;
    const ref = event.actorRef as AnyActorRef;
    const to = reportedState(snapshot.value);
    const context = snapshot.context;
    this.refs.set(ref.id, ref);
    let from: string | null;
    let changed: boolean;
    if (kind === 'instance') [from, changed] = this.updateInstance(ref.id, to as InstanceState, context);
    else [from, changed] = this.updateTab(ref.id, to as TabState, context);
    if (changed || from !== to || snapshot.status !== 'active') this.store?.changed();
    if (from !== to) {
      const instanceId = kind === 'instance' ? ref.id : (context.instanceId as string);
      this.publish({ actor: ref.id, kind, instanceId, from, to, reason: context.reason, at: Date.now() });
    }
    if (snapshot.status !== 'active') {
      this.refs.delete(ref.id);
      this.instances.delete(ref.id);
      this.tabs.delete(ref.id);
    }
  }

  /** The state before, and whether anything the snapshot records changed. */
  private updateInstance(id: string, state: InstanceState, context: Record<string, any>): [string | null, boolean] {
    let view = this.instances.get(id);
    const from = view?.state ?? null;
    const changed = view?.pid !== context.pid || view?.restarts !== context.restarts;
    if (!view) {
      const meta = this.pending.get(id) ?? { name: id, owner: null, shared: false, createdAt: Date.now() };
      this.pending.delete(id);
      view = { instanceId: id, ...meta, options: context.options, state, reason: context.reason, pid: null, launchMs: null, restarts: 0 };
      this.instances.set(id, view);
    }
    view.state = state;
    view.reason = context.reason;
    view.pid = state === 'stopped' || state === 'failed' ? null : context.pid;
    view.restarts = context.restarts;
    view.launchMs = context.launchMs;
    return [from, changed];
  }

  private updateTab(id: string, state: TabState, context: Record<string, any>): [string | null, boolean] {
    let view = this.tabs.get(id);
    const from = view?.state ?? null;
    const changed = view?.url !== context.url || view?.title !== context.title;
    if (!view) {
      view = {
        tabId: id,
        instanceId: context.instanceId,
        url: context.url,
        title: context.title,
        state,
        reason: context.reason,
        evictable: context.evictable,
        lastUsedAt: Date.now(),
        inflight: new Set(),
      };
      this.tabs.set(id, view);
    }
    view.state = state;
    view.reason = context.reason;
    view.url = context.url;
    view.title = context.title;
    if (!usableStates.has(state) && state !== 'spawning') {
      const error = unavailable(`tab ${id} (${context.reason})`, state, 1_000);
      for (const call of view.inflight) call.abort(error);
    }
    return [from, changed];
  }

  private publish(transition: Transition): void {
    const { actor, kind, from, to, reason } = transition;
    // A restored actor's first state is recovering: expected, not a warning.
    const level = to === 'failed' ? 'error' : (to === 'recovering' && from !== null) || to === 'degraded' ? 'warn' : 'info';
    this.log[level]({ actor, kind, from, to, reason }, 'transition');
    this.bus.emit('transition', transition);
  }

  private async relieveMemory(instanceId: string): Promise<void> {
    const instance = this.world.instances.get(instanceId);
    if (!instance) return;
    await Promise.all([...instance.tabs.values()].map((tab) => tab.collectGarbage().catch(() => {})));
    const idleSince = Date.now() - this.defaults.evictIdleMs;
    for (const tab of this.tabsOf(instanceId)) {
      if (tab.evictable && usableStates.has(tab.state) && tab.inflight.size === 0 && tab.lastUsedAt <= idleSince) {
        this.log.warn({ actor: tab.tabId, instance: instanceId }, 'closing idle evictable tab under memory pressure');
        this.send(instanceId, { type: 'CLOSE_TAB', tabId: tab.tabId, reason: 'evicted: instance above soft memory limit' });
      }
    }
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
