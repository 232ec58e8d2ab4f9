// Fake world for the pure machine tests: every actor the machines name, controllable from the
// test, a simulated clock, and a tracker of which states and transitions the tests reached.
import {
  SimulatedClock,
  createActor,
  fromCallback,
  fromPromise,
  type ActorRefFrom,
  type AnyActorRef,
  type AnyStateNode,
  type AnyTransitionDefinition,
  type EventObject,
  type InspectionEvent,
  type StateValue,
} from 'xstate';
import {
  instanceMachine,
  reportedState,
  runMemoryLoop,
  runProbeLoop,
  supervisorMachine,
  tabMachine,
  type InstanceEvent,
  type InstanceOptions,
  type InstanceRestore,
  type LaunchOutput,
  type LoopClock,
  type OpenTargetInput,
  type ProbeChromeInput,
  type ProbeTargetInput,
  type SampleMemoryInput,
  type TabEvent,
} from '../../machines/index.js';

export type InstanceActor = ActorRefFrom<typeof instanceMachine>;
export type TabActor = ActorRefFrom<typeof tabMachine>;

export const MB = 1024 * 1024;

export const testOptions = (overrides: Partial<InstanceOptions> = {}): InstanceOptions => ({
  name: 'test',
  shared: false,
  args: [],
  limits: { softMemoryMb: 100, hardMemoryMb: 200, maxTabs: 10 },
  restart: { maxRestarts: 5, windowMs: 60_000, backoffMinMs: 100, backoffMaxMs: 10_000, jitter: 0.2, stableMs: 30_000 },
  probe: { intervalMs: 1_000, deadlineMs: 500, degradeAfter: 2, recoverAfter: 4 },
  tabProbe: { intervalMs: 1_000, deadlineMs: 500, degradeAfter: 1, recoverAfter: 3 },
  memoryIntervalMs: 1_000,
  tabRestoreTimeoutMs: 5_000,
  ...overrides,
});

/** Promises that the test settles, by key: for actors whose timing a test controls. */
class Gate {
  private readonly waiting = new Map<string, () => void>();

  wait(key: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(key, resolve));
  }

  release(key: string): void {
    const resolve = this.waiting.get(key);
    if (!resolve) throw new Error(`nothing waits on ${key}`);
    this.waiting.delete(key);
    resolve();
  }
}

/** Everything the machines asked the world to do, and knobs for how the world answers. */
export class FakeWorld {
  // knobs
  launchFailures = 0;
  /** Adoptions that fail (the recorded browser is gone), as after a reboot. */
  adoptFailures = 0;
  /** Adoptions wait for `releaseAdoption(instanceId)` (to see a restored instance mid-adoption). */
  holdAdoptions = false;
  /** Tabs whose reopen finds their target still there in an adopted browser. */
  adoptedTargets = new Set<string>();
  /** A launch that never finishes (to hold the machine in spawning/relaunching). */
  launchHangs = false;
  frozen = false;
  memoryBytes = 50 * MB;
  openFailures = 0;
  /** Reopens wait for `releaseReopen(tabId)` (never released: the tab stays in recovering). */
  holdReopens = false;
  /** Stops wait for `releaseStop(instanceId)`. */
  holdStops = false;
  hungTabs = new Set<string>();
  /** Tabs whose probe is answered with an error (e.g. the session went away). */
  failingTabProbes = new Set<string>();
  probeFails = false;
  memoryFails = false;
  killFails = false;
  stopFails = false;
  // records
  readonly launches: string[] = [];
  readonly adoptions: string[] = [];
  readonly kills: string[] = [];
  readonly stops: string[] = [];
  readonly mitigations: string[] = [];
  readonly failures: { instanceId: string; reason: string }[] = [];
  readonly opens: OpenTargetInput[] = [];
  readonly reopens: OpenTargetInput[] = [];
  readonly closedTargets: string[] = [];
  readonly chromeWatchers = new Map<string, (event: EventObject) => void>();
  readonly tabWatchers = new Map<string, (event: EventObject) => void>();
  /** Every start of a Chrome or target watcher, by actor id (one per stretch of `running`). */
  readonly watcherStarts: string[] = [];
  /** Every probe and memory sample started, by actor id, in order. */
  readonly probes: string[] = [];
  readonly samples: string[] = [];
  private readonly gate = new Gate();
  private nextPid = 1000;

  /** Let a held reopen of `tabId` succeed. */
  releaseReopen(tabId: string): void {
    this.gate.release(`reopen ${tabId}`);
  }

  /** Let a held adoption by `instanceId` go on (to succeed or fail by `adoptFailures`). */
  releaseAdoption(instanceId: string): void {
    this.gate.release(`adopt ${instanceId}`);
  }

  /** Let a held stop of `instanceId` finish. */
  releaseStop(instanceId: string): void {
    this.gate.release(`stop ${instanceId}`);
  }

  /** The machines with this world's actors; their probe and memory loops run on `clock`. */
  logic(clock: LoopClock) {
    /** A probe loop on the simulated clock whose probes this world answers. */
    const probeLoop = <I extends ProbeTargetInput | ProbeChromeInput>(answer: (input: I) => Promise<void>) =>
      fromCallback<EventObject, I>(({ input, sendBack }) => runProbeLoop(clock, input, () => answer(input), sendBack));
    const tab = tabMachine.provide({
      actors: {
        openTarget: fromPromise(async ({ input }) => this.open(this.opens, input)),
        reopenTarget: fromPromise(async ({ input }) => {
          if (!this.holdReopens) return { ...this.open(this.reopens, input), ...this.adoptedMark(input.tabId) };
          this.reopens.push(input);
          await this.gate.wait(`reopen ${input.tabId}`);
          return { url: input.url, title: `title of ${input.url}`, ...this.adoptedMark(input.tabId) };
        }),
        probeTarget: probeLoop<ProbeTargetInput>((input) => {
          this.probes.push(input.tabId);
          if (this.hungTabs.has(input.tabId)) return new Promise<void>(() => {});
          if (this.failingTabProbes.has(input.tabId)) return Promise.reject(new Error('session closed'));
          return Promise.resolve();
        }),
        watchTarget: fromCallback<EventObject, { instanceId: string; tabId: string }>(({ input, sendBack }) => {
          this.watcherStarts.push(input.tabId);
          this.tabWatchers.set(input.tabId, sendBack);
          return () => this.tabWatchers.delete(input.tabId);
        }),
      },
      actions: { closeTarget: (_, params) => void this.closedTargets.push(params.tabId) },
    });
    const instance = instanceMachine.provide({
      actors: {
        tab,
        launchChrome: fromPromise(async ({ input }): Promise<LaunchOutput> => {
          this.launches.push(input.instanceId);
          if (this.launchHangs) return new Promise<LaunchOutput>(() => {});
          if (this.launchFailures > 0) {
            this.launchFailures--;
            throw new Error('chrome would not start');
          }
          return { pid: this.nextPid++, launchMs: 42 };
        }),
        adoptChrome: fromPromise(async ({ input }): Promise<LaunchOutput> => {
          this.adoptions.push(input.instanceId);
          if (this.holdAdoptions) await this.gate.wait(`adopt ${input.instanceId}`);
          if (this.adoptFailures > 0) {
            this.adoptFailures--;
            throw new Error('no live browser recorded');
          }
          return { pid: this.nextPid++, launchMs: 7 };
        }),
        killChrome: fromPromise(async ({ input }) => {
          this.kills.push(input.instanceId);
          if (this.killFails) throw new Error('kill failed');
        }),
        stopChrome: fromPromise(async ({ input }) => {
          this.stops.push(input.instanceId);
          if (this.holdStops) await this.gate.wait(`stop ${input.instanceId}`);
          if (this.stopFails) throw new Error('stop failed');
        }),
        probeChrome: probeLoop<ProbeChromeInput>((input) => {
          this.probes.push(input.instanceId);
          if (this.frozen) return new Promise<void>(() => {});
          return this.probeFails ? Promise.reject(new Error('Target closed')) : Promise.resolve();
        }),
        sampleMemory: fromCallback<EventObject, SampleMemoryInput>(({ input, sendBack }) =>
          runMemoryLoop(
            clock,
            input,
            async () => {
              this.samples.push(input.instanceId);
              if (this.memoryFails) throw new Error('/proc unreadable');
              return this.memoryBytes;
            },
            sendBack,
          ),
        ),
        watchChrome: fromCallback<EventObject, { instanceId: string }>(({ input, sendBack }) => {
          this.watcherStarts.push(input.instanceId);
          this.chromeWatchers.set(input.instanceId, sendBack);
          return () => this.chromeWatchers.delete(input.instanceId);
        }),
      },
      actions: { mitigateMemory: (_, params) => void this.mitigations.push(params.instanceId) },
    });
    return supervisorMachine.provide({
      actors: { instance },
      actions: { reportFailure: (_, params) => void this.failures.push(params) },
    });
  }

  private open(record: OpenTargetInput[], input: OpenTargetInput) {
    record.push(input);
    if (this.openFailures > 0) {
      this.openFailures--;
      throw new Error('target would not open');
    }
    return { url: input.url, title: `title of ${input.url}` };
  }

  /** What reopenTarget adds for a target an adopted browser still had. */
  private adoptedMark(tabId: string): { adopted?: true } {
    return this.adoptedTargets.has(tabId) ? { adopted: true } : {};
  }
}

/** Which state nodes and transitions of the three machines any test reached. */
export class Coverage {
  readonly states = new Set<string>();
  readonly transitions = new Set<string>();

  inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.microstep' && event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as { _nodes?: AnyStateNode[] };
    for (const node of snapshot._nodes ?? []) this.states.add(node.id);
    if (event.type !== '@xstate.microstep') return;
    for (const t of event._transitions) {
      this.transitions.add(transitionKey(t));
      // A transition is only taken from an active state. This is what counts a transient state
      // entered by the initial microstep (e.g. `starting`): XState emits no inspection event for
      // that microstep, and the eventless one out of it reports the snapshot after it.
      this.states.add(t.source.id);
    }
  };

  static all(): { states: string[]; transitions: string[] } {
    const states: string[] = [];
    const transitions: string[] = [];
    const walk = (node: AnyStateNode) => {
      states.push(node.id);
      for (const [, list] of node.transitions) for (const t of list) transitions.push(transitionKey(t));
      for (const t of node.always ?? []) transitions.push(transitionKey(t));
      for (const child of Object.values(node.states)) walk(child);
    };
    for (const machine of [supervisorMachine, instanceMachine, tabMachine]) walk(machine.root);
    return { states, transitions };
  }
}

function transitionKey(t: AnyTransitionDefinition): string {
  const list = t.eventType === '' ? (t.source.always ?? []) : (t.source.transitions.get(t.eventType) ?? []);
  const index = list.indexOf(t);
  return `${t.source.id} --${t.eventType || 'always'}[${index}]--> ${(t.target ?? []).map((n: AnyStateNode) => n.id).join(',') || '(self)'}`;
}

export const coverage = new Coverage();

/**
 * The restore path: an instance (and its tabs) brought back from a snapshot after a runtime
 * restart. Only restore.test.ts reaches these, and it asserts that it reached every one
 * (`missedRestorePath()`); `missed()` leaves exactly these out for the other files, since
 * each test file runs in its own worker with its own tracker.
 */
export const RESTORE_PATH: { readonly states: readonly string[]; readonly transitions: readonly string[] } = {
  states: ['instance.recovering.adopting'],
  transitions: [
    'instance.starting --always[0]--> instance.failed',
    'instance.starting --always[1]--> instance.recovering.adopting',
    'instance.recovering.adopting --xstate.done.actor.0.instance.recovering.adopting[0]--> instance.recovering.restoringTabs',
    'instance.recovering.adopting --xstate.error.actor.0.instance.recovering.adopting[0]--> instance.recovering.relaunching',
    'tab.starting --always[0]--> tab.recovering.waitingForInstance',
  ],
};

/** Entries of RESTORE_PATH not reached. Throws on an entry the machines do not have (renamed?). */
export function missedRestorePath(): { states: string[]; transitions: string[] } {
  const all = Coverage.all();
  const unknown = [
    ...RESTORE_PATH.states.filter((s) => !all.states.includes(s)),
    ...RESTORE_PATH.transitions.filter((t) => !all.transitions.includes(t)),
  ];
  if (unknown.length) throw new Error(`RESTORE_PATH names what the machines do not have: ${unknown.join('; ')}`);
  return {
    states: RESTORE_PATH.states.filter((s) => !coverage.states.has(s)),
    transitions: RESTORE_PATH.transitions.filter((t) => !coverage.transitions.has(t)),
  };
}

/**
 * States and transitions of one machine ('supervisor', 'instance', 'tab') never reached,
 * leaving out RESTORE_PATH (restore.test.ts covers that).
 */
export function missed(machine: string): { states: string[]; transitions: string[] } {
  const all = Coverage.all();
  const mine = (id: string) => id === machine || id.startsWith(`${machine}.`) || id.startsWith(`${machine} `);
  // An empty enumeration would make every coverage check pass vacuously.
  if (!all.states.some(mine) || !all.transitions.some(mine)) {
    throw new Error(`coverage found no state nodes or transitions for machine '${machine}'`);
  }
  return {
    states: all.states.filter(mine).filter((s) => !coverage.states.has(s) && !RESTORE_PATH.states.includes(s)),
    transitions: all.transitions.filter(mine).filter((t) => !coverage.transitions.has(t) && !RESTORE_PATH.transitions.includes(t)),
  };
}

/** A running supervisor with the fake world and a simulated clock. */
export class Sim {
  readonly world = new FakeWorld();
  readonly clock = new SimulatedClock();
  readonly root;
  /** Every event delivered to any actor of the tree, in order, by the receiving actor's id. */
  private readonly deliveries: { to: string; type: string }[] = [];

  constructor() {
    this.root = createActor(this.world.logic(this.clock), {
      clock: this.clock,
      inspect: (event) => {
        coverage.inspect(event);
        if (event.type === '@xstate.event') this.deliveries.push({ to: (event.actorRef as AnyActorRef).id, type: event.event.type });
      },
    });
    this.root.start();
  }

  /** Types of the events an actor (by id) has received so far, oldest first. */
  received(id: string): string[] {
    return this.deliveries.filter((d) => d.to === id).map((d) => d.type);
  }

  /** Let promise actors settle. */
  async flush(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Advance simulated time in small steps, letting promises settle between them. `advance(0)`
   * fires the timers due now (a zero delay, such as an immediate restart's backoff). */
  async advance(ms: number, stepMs = 50): Promise<void> {
    await this.flush();
    if (ms === 0) {
      this.clock.increment(0);
      await this.flush();
    }
    for (let done = 0; done < ms; done += stepMs) {
      this.clock.increment(Math.min(stepMs, ms - done));
      await this.flush();
    }
  }

  async createInstance(id = 'i-1', options = testOptions()): Promise<InstanceActor> {
    this.root.send({ type: 'CREATE_INSTANCE', instanceId: id, options });
    await this.flush();
    return this.instance(id);
  }

  /** Bring an instance back from a snapshot, as the runtime does after its own restart. */
  async restoreInstance(id: string, restore: InstanceRestore, options = testOptions()): Promise<InstanceActor> {
    this.root.send({ type: 'CREATE_INSTANCE', instanceId: id, options, restore });
    await this.flush();
    return this.instance(id);
  }

  instance(id = 'i-1'): InstanceActor {
    const ref = this.root.getSnapshot().children[id] as InstanceActor | undefined;
    if (!ref) throw new Error(`no instance ${id}`);
    return ref;
  }

  tab(tabId: string, instanceId = 'i-1'): TabActor {
    const ref = this.instance(instanceId).getSnapshot().children[tabId] as TabActor | undefined;
    if (!ref) throw new Error(`no tab ${tabId}`);
    return ref;
  }

  /** The state of an actor as the protocol reports it. */
  state(ref: AnyActorRef): string {
    return reportedState(ref.getSnapshot().value as StateValue);
  }

  async openTab(tabId: string, url = `https://site.test/${tabId}`, instanceId = 'i-1', evictable = false): Promise<TabActor> {
    this.instance(instanceId).send({ type: 'OPEN_TAB', tabId, url, evictable });
    await this.flush();
    return this.tab(tabId, instanceId);
  }

  /** Send an event as the Chrome watcher of an instance would. */
  chromeSays(event: InstanceEvent, instanceId = 'i-1'): void {
    const send = this.world.chromeWatchers.get(instanceId);
    if (!send) throw new Error(`no watcher on ${instanceId}`);
    send(event);
  }

  targetSays(tabId: string, event: TabEvent): void {
    const send = this.world.tabWatchers.get(tabId);
    if (!send) throw new Error(`no watcher on ${tabId}`);
    send(event);
  }

  stop(): void {
    this.root.stop();
  }
}
