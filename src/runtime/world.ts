// The world the machines act on: every live Chrome instance and tab, and the implementations
// of the machines' named actors and actions (machine.provide). Machines stay pure; this is
// the only place where their side effects happen.
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { fromCallback, fromPromise, type EventObject } from 'xstate';
import {
  instanceMachine,
  runMemoryLoop,
  runProbeLoop,
  supervisorMachine,
  tabMachine,
  type InstanceEvent,
  type LoopClock,
  type ProbeChromeInput,
  type ProbeTargetInput,
  type SampleMemoryInput,
  type TabEvent,
} from '../../machines/index.js';
import type { ChromeBinary } from '../chrome/find.js';
import { ChromeInstance, type ChromeRecord, type InstanceGuard } from '../chrome/instance.js';
import { removeProfile } from '../chrome/launch.js';
import type { DialogRecord } from '../chrome/dialogs.js';
import { defaultDownloadLimits, type DownloadLimits, type DownloadRecord } from '../chrome/downloads.js';
import { FleetSampler, type ProcessMemory } from '../chrome/memory.js';
import type { TabHandle } from '../chrome/tab.js';
import { errorMessage } from '../errors.js';

export interface WorldHooks {
  /** Soft memory limit crossed: the runtime knows which tabs the client allowed to be evicted. */
  onMemoryPressure(instanceId: string): void;
  onInstanceFailed(instanceId: string, reason: string): void;
}

/** A group's PSS/USS is read at most every this many memory intervals (smaps_rollup walks
 * every page table: ~1.9 ms of CPU a process), a group whose footprint has not moved only
 * every this many (5 minutes), and at most this many processes' of it per pass over the fleet
 * (one browser's). An idle fleet of 100 (600 processes) then spends ~0.4 % of a core on PSS
 * (600 × 1.9 ms every 5 minutes) where it spent ~1 % (12 processes a pass, every pass). */
const DETAILED_MEMORY_EVERY = 5;
const UNCHANGED_DETAILED_MEMORY_EVERY = 150;
const DETAILED_READS_PER_PASS = 6;
/** A browser's first PSS/USS: up to four browsers' worth a pass, so that a fleet of 100 just
 * created has its figures within a minute (~2.6 % of a core meanwhile). */
const FIRST_DETAILED_READS_PER_PASS = 24;

/** The probe and memory loops run on the real timers (the machine tests give them a simulated clock). */
const clock: LoopClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  now: () => performance.now(),
};

/**
 * Every probe loop starts on this grid and keeps to it (machines/loops.ts): a fleet's probes,
 * each on its own random phase, fire together in four turns of the event loop per 2-s
 * interval rather than in one turn each (docs/design.md has the measurements: a finer grid
 * costs more CPU, a coarser one would bunch them). The memory loops use their interval as
 * grid: one turn, one pass over /proc.
 */
const PROBE_GRID_MS = 500;

/** Environment marker of every process a runtime with a state dir starts (its value: the dir). */
export const STATE_ENV = 'TABVISOR_STATE_DIR';

/** Something a page did that a client may want to hear of (the `page` event topic). */
export type PageEvent = { instanceId: string; tabId: string | null } & ({ kind: 'dialog'; dialog: DialogRecord } | { kind: 'download'; download: DownloadRecord });

export interface WorldOptions {
  /** Profiles live here, one per instance id, so a restored instance keeps its own; without
   * it (no state dir) each profile is a temp dir. */
  profileRoot: string | null;
  /** The state dir, marked in each browser's environment so a later runtime finds orphans. */
  stateDir: string | null;
  /** How long a browser outlives a crashed runtime, waiting to be adopted. */
  orphanGraceMs: number;
  /** The instances' memory sampling interval: the fleet's samples are one pass over /proc per interval. */
  memoryIntervalMs?: number;
  /** Size limits of each instance's downloads. */
  downloads?: Partial<DownloadLimits>;
}

export class World {
  private readonly instances = new Map<string, ChromeInstance>();
  private readonly memory = new Map<string, ProcessMemory>();
  /** One pass over /proc per sampling interval for every browser (see memory.ts). */
  private readonly sampler: FleetSampler;
  /** The browser pid (= its process group) each instance was last sampled under. */
  private readonly sampledGroup = new Map<string, number>();
  private readonly closing = new Map<string, Promise<void>>();
  /** Browsers recorded by the last runtime, waiting for their instance actor to adopt them. */
  private readonly adoptions = new Map<string, ChromeRecord>();
  /** Instances whose recorded browser was adopted (for the restore summary). */
  readonly adopted = new Set<string>();
  /** Warm browsers (warm-pool.ts) by their own id (`w-…`), while no instance owns them. */
  private readonly warm = new Map<string, ChromeInstance>();
  /** A warm browser each instance about to launch takes instead of launching. */
  private readonly warmFor = new Map<string, ChromeInstance>();
  /** Set by beginShutdown(): browsers are killed without a graceful close. */
  private shuttingDown = false;
  /** Dialogs and downloads of every page. */
  readonly pageEvents = new EventEmitter<{ page: [PageEvent] }>();

  constructor(
    private readonly binary: ChromeBinary,
    private readonly log: Logger,
    private readonly options: WorldOptions = { profileRoot: null, stateDir: null, orphanGraceMs: 0 },
    /** Timeout of the navigation that opens (or reopens) a tab at its URL. */
    private readonly openTimeoutMs = 30_000,
  ) {
    const intervalMs = options.memoryIntervalMs ?? 2_000;
    // The memory loops sample on one grid (machines/loops.ts): one pass serves them all.
    this.sampler = new FleetSampler({
      maxAgeMs: intervalMs * 0.9,
      detailedEveryMs: intervalMs * DETAILED_MEMORY_EVERY,
      unchangedDetailedEveryMs: intervalMs * UNCHANGED_DETAILED_MEMORY_EVERY,
      detailedReadsPerPass: DETAILED_READS_PER_PASS,
      firstDetailedReadsPerPass: FIRST_DETAILED_READS_PER_PASS,
    });
  }

  profileDirOf(instanceId: string): string | null {
    return this.options.profileRoot === null ? null : join(this.options.profileRoot, instanceId);
  }

  private async ensureInstance(instanceId: string, recordedProfile?: string): Promise<ChromeInstance> {
    let instance = this.instances.get(instanceId);
    if (instance) return instance;
    instance = await this.newBrowser(instanceId, recordedProfile);
    this.instances.set(instanceId, instance);
    return instance;
  }

  /**
   * A ChromeInstance on the profile kept for `name` (an instance id, or a warm browser's own
   * id), or on the profile a snapshot recorded for it (a warm browser's, once an instance took it).
   */
  private async newBrowser(name: string, recordedProfile?: string): Promise<ChromeInstance> {
    const { stateDir, orphanGraceMs, profileRoot } = this.options;
    const recorded = recordedProfile && profileRoot !== null && dirname(recordedProfile) === profileRoot ? recordedProfile : null;
    const kept = recorded ?? this.profileDirOf(name);
    let profileDir: string;
    if (kept) {
      await mkdir(kept, { recursive: true });
      profileDir = kept;
    } else {
      profileDir = await mkdtemp(join(tmpdir(), `tabvisor-${name}-`));
    }
    const guard: InstanceGuard = {
      // Without a state dir nothing can adopt the browser: it goes as soon as the runtime does.
      graceMs: stateDir ? orphanGraceMs : 0,
      temporaryProfile: kept === null,
      env: stateDir ? { [STATE_ENV]: stateDir } : {},
    };
    const browser = new ChromeInstance(name, this.binary, profileDir, guard, this.log.child({ instanceId: name }), { ...defaultDownloadLimits, ...this.options.downloads });
    // A warm browser is named by its own id until an instance takes it: its owner is looked up.
    browser.downloads.on('changed', (download) => this.pageEvents.emit('page', { instanceId: this.ownerOf(browser) ?? name, tabId: download.tabId, kind: 'download', download }));
    return browser;
  }

  /** The instance a browser serves (null for a warm one no instance took). */
  private ownerOf(browser: ChromeInstance): string | null {
    for (const [instanceId, instance] of this.instances) if (instance === browser) return instanceId;
    return null;
  }

  /** Launch a warm browser: its own id (`w-…`), profile and markers, no instance yet. */
  async launchWarm(): Promise<ChromeInstance> {
    const id = `w-${randomUUID().slice(0, 8)}`;
    const browser = await this.newBrowser(id);
    this.warm.set(id, browser);
    try {
      await browser.launch([]);
      return browser;
    } catch (error) {
      this.warm.delete(id);
      await removeProfile(browser.profileDir);
      throw error;
    }
  }

  /** Stop a warm browser no instance took. */
  async discardWarm(browser: ChromeInstance): Promise<void> {
    try {
      await browser.stop();
    } finally {
      this.warm.delete(browser.instanceId);
    }
  }

  /** The next launchChrome of this instance takes `browser` (a warm one) instead of launching. */
  expectWarm(instanceId: string, browser: ChromeInstance): void {
    this.warm.delete(browser.instanceId);
    this.warmFor.set(instanceId, browser);
  }

  /** The browser of an instance as a snapshot records it (null while none runs). */
  record(instanceId: string): ChromeRecord | null {
    return this.instances.get(instanceId)?.record() ?? null;
  }

  /** PSS and USS of the instance's process tree, as last sampled. */
  memoryOf(instanceId: string): ProcessMemory | undefined {
    return this.memory.get(instanceId);
  }

  /** The page of a tab, if its browser has it open now. */
  tabHandle(instanceId: string, tabId: string): TabHandle | undefined {
    return this.instances.get(instanceId)?.tabs.get(tabId);
  }

  /** DevTools sessions open: one per browser for its probes, one per page. */
  sessionCount(): number {
    let n = 0;
    for (const instance of this.instances.values()) n += (instance.pid === null ? 0 : 1) + instance.tabs.size;
    return n;
  }

  tabHandles(instanceId: string): TabHandle[] {
    return [...(this.instances.get(instanceId)?.tabs.values() ?? [])];
  }

  /** Stop every browser left (graceful close, then kill, profile removed): shutdown's last step. */
  async stopAll(): Promise<void> {
    for (const [instanceId, browser] of this.warmFor) this.instances.set(instanceId, browser); // taken, never launched
    this.warmFor.clear();
    await Promise.all(
      [...this.instances.keys()].map((id) =>
        this.stop(id).catch((error: unknown) => this.log.error({ instanceId: id, err: errorMessage(error) }, 'could not stop a browser at shutdown')),
      ),
    );
  }

  /** The next adoptChrome of this instance tries this browser (recorded by the last runtime). */
  expectAdoption(instanceId: string, record: ChromeRecord): void {
    this.adoptions.set(instanceId, record);
  }

  async adopt(instanceId: string, signal: AbortSignal): Promise<{ pid: number; launchMs: number }> {
    const record = this.adoptions.get(instanceId);
    this.adoptions.delete(instanceId);
    if (!record) throw new Error('no running browser was recorded');
    const instance = await this.ensureInstance(instanceId, record.profileDir);
    const result = await instance.adopt(record, signal);
    this.adopted.add(instanceId);
    return result;
  }

  instance(instanceId: string): ChromeInstance {
    const instance = this.instances.get(instanceId);
    if (!instance) throw new Error(`no Chrome for ${instanceId}`);
    return instance;
  }

  async launch(instanceId: string, args: string[], signal: AbortSignal): Promise<{ pid: number; launchMs: number }> {
    const warm = this.warmFor.get(instanceId);
    this.warmFor.delete(instanceId);
    if (warm && !this.instances.has(instanceId)) {
      const started = performance.now();
      this.instances.set(instanceId, warm);
      // Gone while it waited (its watcher reports that at once): the instance recovers from here.
      if (warm.pid !== null) return { pid: warm.pid, launchMs: Math.round(performance.now() - started) };
    }
    const instance = await this.ensureInstance(instanceId);
    // Never two browsers for one instance: whatever is left of the last one goes first.
    await instance.kill();
    return instance.launch(args, signal);
  }

  /**
   * The runtime is shutting down: browsers are killed without closing their tabs or the
   * browser gracefully first. Their profiles are removed right after either way, so a close
   * would flush nothing anyone reads; 200 instances took ~10 s to stop on two cores.
   */
  beginShutdown(): void {
    this.shuttingDown = true;
  }

  async stop(instanceId: string): Promise<void> {
    const instance = this.instances.get(instanceId);
    if (!instance) return;
    await Promise.all([...this.closing.values()]);
    await instance.stop(this.shuttingDown ? 0 : undefined);
    this.instances.delete(instanceId);
    this.memory.delete(instanceId);
    const group = this.sampledGroup.get(instanceId);
    if (group !== undefined) this.sampler.forget(group);
    this.sampledGroup.delete(instanceId);
  }

  /** The instance's browser's memory from the fleet's latest pass over /proc (see memory.ts). */
  async sampleMemory(instanceId: string): Promise<{ privateBytes: number }> {
    const pid = this.instance(instanceId).pid;
    if (pid === null) throw new Error('no browser runs');
    const last = this.sampledGroup.get(instanceId);
    if (last !== undefined && last !== pid) this.sampler.forget(last);
    this.sampledGroup.set(instanceId, pid);
    const sample = await this.sampler.sample(pid);
    if (sample.detailed) this.memory.set(instanceId, sample.detailed);
    return { privateBytes: sample.privateBytes };
  }

  /** Open (or reopen, same tab id) a target and load the tab's URL in it. */
  async openTarget(instanceId: string, tabId: string, url: string): Promise<{ url: string; title: string; adopted?: boolean }> {
    const { tab, adopted } = await this.instance(instanceId).openTab(tabId);
    if (adopted) return { url: tab.shown.url, title: tab.shown.title, adopted };
    if (url === 'about:blank') return { url, title: '' };
    try {
      const result = await tab.navigate(url, 'load', this.openTimeoutMs);
      return { url: result.url, title: result.title };
    } catch (error) {
      // The tab exists and shows Chrome's error page; it keeps the URL it was asked for, so a
      // restore tries that URL again rather than the error page.
      this.log.warn({ tabId, url, err: errorMessage(error) }, 'tab opened but its URL did not load');
      return { url, title: '' };
    }
  }

  closeTarget(instanceId: string, tabId: string): void {
    const instance = this.instances.get(instanceId);
    // At shutdown the browser is killed next, its tabs with it (ChromeInstance.kill disposes them).
    if (!instance || this.shuttingDown) return;
    const done = instance
      .closeTab(tabId)
      .catch((error) => this.log.warn({ tabId, err: errorMessage(error) }, 'closing target failed'))
      .finally(() => this.closing.delete(tabId));
    this.closing.set(tabId, done);
  }

  /**
   * Last resort for a forced exit: SIGKILL every Chrome process group and remove every
   * profile, synchronously, so not even an exiting runtime leaves a browser behind.
   */
  killAllSync(): void {
    for (const instance of [...this.instances.values(), ...this.warm.values(), ...this.warmFor.values()]) {
      instance.killSync();
      rmSync(instance.profileDir, { recursive: true, force: true });
    }
  }

  /** Resolves once a CLOSE sent to the tab actor has closed its target. */
  async tabClosed(tabId: string): Promise<void> {
    await this.closing.get(tabId);
  }

  /** The machines with every side effect provided. */
  machines(hooks: WorldHooks) {
    const tab = tabMachine.provide({
      actors: {
        openTarget: fromPromise(({ input }) => this.openTarget(input.instanceId, input.tabId, input.url)),
        reopenTarget: fromPromise(({ input }) => this.openTarget(input.instanceId, input.tabId, input.url)),
        probeTarget: fromCallback<EventObject, ProbeTargetInput>(({ input, sendBack }) =>
          runProbeLoop(
            clock,
            { ...input, gridMs: PROBE_GRID_MS },
            async () => {
              const handle = this.instance(input.instanceId).tabs.get(input.tabId);
              if (!handle) throw new Error('no target');
              await handle.probe();
            },
            sendBack,
          ),
        ),
        watchTarget: fromCallback<EventObject, { instanceId: string; tabId: string }>(({ input, sendBack }) => {
          const handle = this.instances.get(input.instanceId)?.tabs.get(input.tabId);
          const send = (event: TabEvent) => sendBack(event);
          if (!handle) {
            send({ type: 'TARGET_GONE' });
            return;
          }
          const crashed = (detail: string) => send({ type: 'TARGET_CRASHED', detail });
          const gone = () => send({ type: 'TARGET_GONE' });
          const navigated = (url: string) => {
            if (!url.startsWith('chrome-error:')) send({ type: 'URL_CHANGED', url });
          };
          const loaded = (url: string, title: string) => {
            if (!url.startsWith('chrome-error:')) send({ type: 'URL_CHANGED', url, title });
          };
          // A dialog answered by policy is told once, complete; a held one when it opens and when it is answered.
          const dialog = (record: DialogRecord) => {
            this.log.debug({ tabId: input.tabId, dialog: record }, 'dialog'); // a page may open thousands
            this.pageEvents.emit('page', { instanceId: input.instanceId, tabId: input.tabId, kind: 'dialog', dialog: { ...record } });
          };
          const answered = (record: DialogRecord) => record.by !== 'policy' && dialog(record);
          handle.on('crashed', crashed).on('gone', gone).on('navigated', navigated).on('loaded', loaded);
          handle.dialogs.on('opened', dialog).on('answered', answered);
          if (handle.crashed !== null) crashed(handle.crashed);
          else if (handle.gone) gone();
          return () => {
            handle.off('crashed', crashed).off('gone', gone).off('navigated', navigated).off('loaded', loaded);
            handle.dialogs.off('opened', dialog).off('answered', answered);
          };
        }),
      },
      actions: {
        closeTarget: (_, params) => this.closeTarget(params.instanceId, params.tabId),
      },
    });
    const instance = instanceMachine.provide({
      actors: {
        tab,
        launchChrome: fromPromise(({ input, signal }) => this.launch(input.instanceId, input.options.args, signal)),
        adoptChrome: fromPromise(({ input, signal }) => this.adopt(input.instanceId, signal)),
        killChrome: fromPromise(async ({ input }) => {
          await this.instances.get(input.instanceId)?.kill();
        }),
        stopChrome: fromPromise(({ input }) => this.stop(input.instanceId)),
        probeChrome: fromCallback<EventObject, ProbeChromeInput>(({ input, sendBack }) =>
          runProbeLoop(clock, { ...input, gridMs: PROBE_GRID_MS }, () => this.instance(input.instanceId).probe(), sendBack),
        ),
        sampleMemory: fromCallback<EventObject, SampleMemoryInput>(({ input, sendBack }) =>
          runMemoryLoop(clock, { ...input, gridMs: input.intervalMs }, async () => (await this.sampleMemory(input.instanceId)).privateBytes, sendBack),
        ),
        watchChrome: fromCallback<EventObject, { instanceId: string }>(({ input, sendBack }) => {
          const send = (event: InstanceEvent) => sendBack(event);
          const instance = this.instances.get(input.instanceId);
          if (!instance) {
            send({ type: 'CDP_DISCONNECTED' });
            return;
          }
          return instance.watch(
            (info) => send({ type: 'CHROME_EXITED', code: info.code, signal: info.signal }),
            () => send({ type: 'CDP_DISCONNECTED' }),
          );
        }),
      },
      actions: {
        mitigateMemory: (_, params) => hooks.onMemoryPressure(params.instanceId),
      },
    });
    return supervisorMachine.provide({
      actors: { instance },
      actions: {
        reportFailure: (_, params) => hooks.onInstanceFailed(params.instanceId, params.reason),
      },
    });
  }
}
