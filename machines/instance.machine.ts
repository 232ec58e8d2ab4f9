// The instance machine: one Chrome process tree and its tabs, supervised through
// spawning → healthy ⇄ degraded → recovering, with `failed` when restarts come too fast.
// Pure: launching, probing, measuring and killing are named actors provided from src/.
import { assign, enqueueActions, fromCallback, fromPromise, sendParent, setup, type EventObject } from 'xstate';
import type { MemoryWatch, ProbeTiming } from './loops.js';
import type { InstanceOptions } from './options.js';
import * as policy from './policy.js';
import { errorText, type RestartRecord, type WindowElapsed } from './policy.js';
import { tabMachine, type TabParentEvent } from './tab.machine.js';

/** What a snapshot says of an instance that the runtime brings back after its own restart. */
export interface InstanceRestore {
  /** It was failed when the snapshot was taken: it comes back failed, its tabs with it. */
  failed: boolean;
  restarts: number;
  reason: string;
  tabs: { tabId: string; url: string; title: string; evictable: boolean; firstProbeDelayMs?: number; restarts?: number }[];
}

export interface InstanceInput {
  instanceId: string;
  options: InstanceOptions;
  /** Restored from a snapshot: the running browser is adopted if it can be, else relaunched. */
  restore?: InstanceRestore;
  /**
   * How long the probe loop waits before its first probe each time the browser is up (default:
   * the probe interval). The runtime draws it at random within the interval, so that a fleet
   * created or restored at once does not probe in lockstep.
   */
  firstProbeDelayMs?: number;
}

export interface InstanceContext extends RestartRecord {
  instanceId: string;
  options: InstanceOptions;
  /** Set while a restored instance comes back: how it comes back, for the reason it gives. */
  restoring: 'adopt' | 'failed' | null;
  /** How the last recovery got its browser, when it was not a plain relaunch. */
  recoveredBy: string | null;
  pid: number | null;
  launchMs: number | null;
  tabIds: string[];
  /** Tabs that have not settled (healthy or failed) since the last relaunch. */
  pendingTabs: string[];
  misses: number;
  memoryBytes: number | null;
  overSoftLimit: boolean;
  /** Every restart since creation, manual ones included. */
  restarts: number;
  reason: string;
  firstProbeDelayMs: number;
}

export interface InstanceRef {
  instanceId: string;
}
export interface LaunchInput extends InstanceRef {
  options: InstanceOptions;
}
export interface LaunchOutput {
  pid: number;
  launchMs: number;
}
/** What the probe loop of a browser runs on (loops.ts). */
export type ProbeChromeInput = InstanceRef & ProbeTiming;
/** What the memory loop of a browser runs on (loops.ts): samples are of Chrome's "private footprint" of the whole process tree, RssAnon + VmSwap. */
export type SampleMemoryInput = InstanceRef & MemoryWatch;

export type InstanceEvent =
  | { type: 'OPEN_TAB'; tabId: string; url: string; evictable?: boolean; firstProbeDelayMs?: number }
  | { type: 'CLOSE_TAB'; tabId: string; reason?: string }
  | { type: 'RESTART'; reason?: string }
  | { type: 'STOP'; reason?: string }
  | { type: 'CHROME_EXITED'; code: number | null; signal: string | null }
  | { type: 'CDP_DISCONNECTED' }
  | { type: 'PROBE_OK' }
  | { type: 'PROBE_MISSED'; detail: string }
  | { type: 'MEMORY_SAMPLED'; privateBytes: number }
  | WindowElapsed
  | TabParentEvent;

/** Events the instance sends to the supervisor. */
export type InstanceParentEvent =
  | { type: 'INSTANCE_FAILED'; instanceId: string; reason: string }
  | { type: 'INSTANCE_REVIVED'; instanceId: string }
  | { type: 'INSTANCE_STOPPED'; instanceId: string };

const notProvided = (name: string) => () => {
  throw new Error(`${name} was not provided to the instance machine`);
};
const MB = 1024 * 1024;

const instanceSetup = setup({
  types: {
    context: {} as InstanceContext,
    events: {} as InstanceEvent,
    input: {} as InstanceInput,
  },
  actors: {
    launchChrome: fromPromise<LaunchOutput, LaunchInput>(notProvided('launchChrome')),
    /** Reconnect to the browser a snapshot recorded, if it is still the same live process. */
    adoptChrome: fromPromise<LaunchOutput, LaunchInput>(notProvided('adoptChrome')),
    /** Kill the whole process tree (SIGKILL to the group); the profile stays for the relaunch. */
    killChrome: fromPromise<void, InstanceRef>(notProvided('killChrome')),
    /** Graceful close, then kill of the group; the profile is removed. */
    stopChrome: fromPromise<void, InstanceRef>(notProvided('stopChrome')),
    /** The probe loop (loops.ts): reports PROBE_MISSED for each miss, PROBE_OK for the first answer after one. */
    probeChrome: fromCallback<EventObject, ProbeChromeInput>(notProvided('probeChrome')),
    /** The memory loop (loops.ts): reports MEMORY_SAMPLED above the soft limit, and the first sample back under it. */
    sampleMemory: fromCallback<EventObject, SampleMemoryInput>(notProvided('sampleMemory')),
    /** Reports CHROME_EXITED and CDP_DISCONNECTED; reports at once if either already happened. */
    watchChrome: fromCallback<EventObject, InstanceRef>(notProvided('watchChrome')),
    tab: tabMachine,
  },
  actions: {
    /** Collect garbage in every page and close idle tabs the client marked evictable. */
    mitigateMemory: (_, _params: InstanceRef) => {},
    countRestart: enqueueActions(({ enqueue, context }) => {
      enqueue.assign({ ...policy.countedRestart(context), restarts: context.restarts + 1 });
      enqueue.raise(policy.windowElapsed(context), { delay: context.options.restart.windowMs });
    }),
    uncountRestart: assign(({ context }) => policy.uncountedRestart(context)),
    countMiss: assign({ misses: ({ context }) => context.misses + 1 }),
    openTab: enqueueActions(({ enqueue, context, event }) => {
      if (event.type !== 'OPEN_TAB') return;
      enqueue.spawnChild('tab', {
        id: event.tabId,
        systemId: event.tabId,
        input: {
          tabId: event.tabId,
          instanceId: context.instanceId,
          url: event.url,
          evictable: event.evictable ?? false,
          probe: context.options.tabProbe,
          restart: context.options.restart,
          firstProbeDelayMs: event.firstProbeDelayMs,
        },
      });
      enqueue.assign({ tabIds: [...context.tabIds, event.tabId] });
    }),
    manualRestart: assign(({ context, event }) => ({
      restarts: context.restarts + 1,
      attempt: 0,
      reason: event.type === 'RESTART' && event.reason ? event.reason : 'restart requested',
    })),
    tellTabs: enqueueActions(({ enqueue, context }, params: { type: 'INSTANCE_DOWN'; reason: string } | { type: 'INSTANCE_UP' } | { type: 'INSTANCE_FAILED'; reason: string }) => {
      for (const tabId of context.tabIds) enqueue.sendTo(tabId, params);
    }),
    closeTabs: enqueueActions(({ enqueue, context }, params: { reason: string }) => {
      for (const tabId of context.tabIds) enqueue.sendTo(tabId, { type: 'CLOSE', reason: params.reason });
    }),
  },
  guards: {
    intensityExceeded: ({ context }) => policy.intensityExceeded(context, context.options.restart),
    currentWindow: ({ context, event }) => policy.isCurrentWindow(context, event),
    // One verdict per missed probe, so that exactly one of these holds.
    missesCallForRecovery: ({ context }) => policy.missVerdict(context.misses, context.options.probe) === 'recover',
    missesCallForDegrading: ({ context }) => policy.missVerdict(context.misses, context.options.probe) === 'degrade',
    // One verdict per memory sample: above hard, above soft (not hard), or not above soft.
    aboveHard: ({ context, event }) => memoryVerdict(context, event) === 'hard',
    aboveSoft: ({ context, event }) => memoryVerdict(context, event) === 'soft',
    crossesSoft: ({ context, event }) => !context.overSoftLimit && memoryVerdict(context, event) === 'soft',
    underSoftAndAnswering: ({ context, event }) => memoryVerdict(context, event) === 'ok' && context.misses === 0,
    underSoft: ({ context, event }) => memoryVerdict(context, event) === 'ok',
    memoryOk: ({ context }) => !context.overSoftLimit,
    allTabsSettled: ({ context }) => context.pendingTabs.length === 0,
    restoredFailed: ({ context }) => context.restoring === 'failed',
    restored: ({ context }) => context.restoring === 'adopt',
  },
  delays: {
    backoff: ({ context }) => policy.restartBackoffMs(context, context.options.restart),
    stable: ({ context }) => context.options.restart.stableMs,
    tabRestoreTimeout: ({ context }) => context.options.tabRestoreTimeoutMs,
  },
});

// The health region takes only the probe answers and samples that move it between healthy and
// degraded; whatever it does not take falls through to `running` (recover, or just record).
const healthRegion = instanceSetup.createStateConfig({
  initial: 'healthy',
  states: {
    healthy: {
      entry: assign({ misses: 0 }),
      after: { stable: { actions: assign({ attempt: 0 }) } },
      on: {
        PROBE_MISSED: {
          guard: 'missesCallForDegrading',
          target: 'degraded',
          actions: assign(({ context, event }) => ({ misses: context.misses + 1, reason: `${context.misses + 1} probes missed (${event.detail})` })),
        },
        MEMORY_SAMPLED: {
          guard: 'aboveSoft',
          target: 'degraded',
          actions: [
            assign(({ context, event }) => ({ ...memoryOver(context, event.privateBytes, 'soft'), overSoftLimit: true })),
            { type: 'mitigateMemory', params: ({ context }) => ({ instanceId: context.instanceId }) },
          ],
        },
      },
    },
    degraded: {
      on: {
        PROBE_OK: { guard: 'memoryOk', target: 'healthy', actions: assign({ misses: 0, reason: 'probe answered again' }) },
        MEMORY_SAMPLED: [
          // Crossing the soft limit while degraded for missed probes: remembered, so that an
          // answered probe does not call the instance healthy, and mitigated once as from healthy.
          {
            guard: 'crossesSoft',
            actions: [
              assign(({ context, event }) => ({ ...memoryOver(context, event.privateBytes, 'soft'), overSoftLimit: true })),
              { type: 'mitigateMemory', params: ({ context }) => ({ instanceId: context.instanceId }) },
            ],
          },
          {
            guard: 'underSoftAndAnswering',
            target: 'healthy',
            actions: assign(({ event }) => ({
              memoryBytes: event.privateBytes,
              overSoftLimit: false,
              reason: `memory back under soft limit (${Math.round(event.privateBytes / MB)} MB)`,
            })),
          },
          { guard: 'underSoft', actions: assign({ memoryBytes: ({ event }) => event.privateBytes, overSoftLimit: false }) },
        ],
      },
    },
  },
});

export const instanceMachine = instanceSetup.createMachine({
  id: 'instance',
  context: ({ input, spawn }) => ({
    instanceId: input.instanceId,
    options: input.options,
    restoring: input.restore ? (input.restore.failed ? 'failed' : 'adopt') : null,
    recoveredBy: null,
    pid: null,
    launchMs: null,
    // A restored instance brings its tabs back under their ids; they wait for the browser.
    tabIds: (input.restore?.tabs ?? []).map((tab) => {
      spawn('tab', {
        id: tab.tabId,
        systemId: tab.tabId,
        input: {
          tabId: tab.tabId,
          instanceId: input.instanceId,
          url: tab.url,
          evictable: tab.evictable,
          probe: input.options.tabProbe,
          restart: input.options.restart,
          restored: { title: tab.title, restarts: tab.restarts },
          firstProbeDelayMs: tab.firstProbeDelayMs,
        },
      });
      return tab.tabId;
    }),
    pendingTabs: [],
    misses: 0,
    memoryBytes: null,
    overSoftLimit: false,
    ...policy.freshRecord,
    firstProbeDelayMs: input.firstProbeDelayMs ?? input.options.probe.intervalMs,
    restarts: input.restore?.restarts ?? 0,
    reason: input.restore
      ? input.restore.failed
        ? `failed before a runtime restart: ${input.restore.reason}`
        : `restoring from snapshot (was: ${input.restore.reason})`
      : 'created',
  }),
  initial: 'starting',
  on: {
    STOP: { target: '.stopping', actions: assign({ reason: ({ event }) => event.reason ?? 'stop requested' }) },
    CLOSE_TAB: { actions: enqueueActions(({ enqueue, event }) => enqueue.sendTo(event.tabId, { type: 'CLOSE', reason: event.reason ?? 'closed by client' })) },
    TAB_SETTLED: { actions: assign({ pendingTabs: ({ context, event }) => context.pendingTabs.filter((id) => id !== event.tabId) }) },
    TAB_STOPPED: {
      actions: enqueueActions(({ enqueue, event, context }) => {
        enqueue.stopChild(event.tabId);
        enqueue.assign({
          tabIds: context.tabIds.filter((id) => id !== event.tabId),
          pendingTabs: context.pendingTabs.filter((id) => id !== event.tabId),
        });
      }),
    },
    RESTART_WINDOW_ELAPSED: { guard: 'currentWindow', actions: 'uncountRestart' },
  },
  states: {
    // Transient: a new instance launches; a restored one adopts or relaunches its browser, or
    // comes back failed if it was.
    starting: {
      always: [
        { guard: 'restoredFailed', target: 'failed', actions: assign({ restoring: null }) },
        { guard: 'restored', target: 'recovering.adopting' },
        { target: 'spawning' },
      ],
    },
    spawning: {
      invoke: {
        src: 'launchChrome',
        input: ({ context }) => ({ instanceId: context.instanceId, options: context.options }),
        onDone: {
          target: 'running',
          actions: assign(({ event }) => ({
            pid: event.output.pid,
            launchMs: event.output.launchMs,
            reason: `launched (pid ${event.output.pid}, ${event.output.launchMs} ms)`,
          })),
        },
        onError: {
          target: 'recovering',
          actions: [assign({ reason: ({ event }) => `launch failed: ${errorText(event.error)}` }), 'countRestart'],
        },
      },
    },
    // The browser is up: healthy or degraded (the health region), watched, probed and measured
    // by three actors that live as long as this state (a switch of health leaves them running).
    // The probe and memory loops report only what can change a verdict (loops.ts), so an idle
    // healthy instance makes no transition. `health` is the one region left of the three the
    // loops once had, kept so that state values keep their shape (`running.health`).
    running: {
      type: 'parallel',
      invoke: [
        { src: 'watchChrome', input: ({ context }) => ({ instanceId: context.instanceId }) },
        {
          src: 'probeChrome',
          input: ({ context }) => ({
            instanceId: context.instanceId,
            firstDelayMs: context.firstProbeDelayMs,
            intervalMs: context.options.probe.intervalMs,
            deadlineMs: context.options.probe.deadlineMs,
          }),
        },
        {
          src: 'sampleMemory',
          input: ({ context }) => ({
            instanceId: context.instanceId,
            intervalMs: context.options.memoryIntervalMs,
            reportAboveBytes: context.options.limits.softMemoryMb * MB,
          }),
        },
      ],
      states: { health: healthRegion },
      on: {
        OPEN_TAB: { actions: 'openTab' },
        RESTART: { target: 'recovering.killing', actions: 'manualRestart' },
        CHROME_EXITED: { target: 'recovering', actions: [assign({ reason: ({ event }) => exitText(event) }), 'countRestart'] },
        CDP_DISCONNECTED: { target: 'recovering', actions: [assign({ reason: 'DevTools connection lost' }), 'countRestart'] },
        PROBE_OK: { actions: assign({ misses: 0 }) },
        PROBE_MISSED: [
          {
            guard: 'missesCallForRecovery',
            target: 'recovering',
            actions: [assign(({ context }) => ({ reason: `browser unresponsive: ${context.misses + 1} probes missed` })), 'countRestart'],
          },
          { actions: 'countMiss' },
        ],
        MEMORY_SAMPLED: [
          {
            guard: 'aboveHard',
            target: 'recovering',
            actions: [assign(({ context, event }) => memoryOver(context, event.privateBytes, 'hard')), 'countRestart'],
          },
          { actions: assign({ memoryBytes: ({ event }) => event.privateBytes }) },
        ],
      },
    },
    recovering: {
      entry: [{ type: 'tellTabs', params: ({ context }) => ({ type: 'INSTANCE_DOWN', reason: context.reason }) }, assign({ misses: 0, overSoftLimit: false })],
      initial: 'checking',
      states: {
        checking: {
          always: [
            {
              guard: 'intensityExceeded',
              target: '#instance.failed',
              actions: assign(({ context }) => ({
                reason: `restart intensity exceeded: ${context.restartsInWindow} restarts in ${context.options.restart.windowMs} ms (last: ${context.reason})`,
              })),
            },
            { target: 'killing' },
          ],
        },
        killing: {
          invoke: {
            src: 'killChrome',
            input: ({ context }) => ({ instanceId: context.instanceId }),
            onDone: 'backoff',
            onError: 'backoff',
          },
        },
        backoff: { after: { backoff: 'relaunching' } },
        adopting: {
          invoke: {
            src: 'adoptChrome',
            input: ({ context }) => ({ instanceId: context.instanceId, options: context.options }),
            onDone: {
              target: 'restoringTabs',
              actions: assign(({ event }) => ({
                pid: event.output.pid,
                launchMs: event.output.launchMs,
                restoring: null,
                recoveredBy: 'adopted after a runtime restart',
              })),
            },
            // The world has made sure the recorded browser is gone: one Chrome per instance.
            onError: {
              target: 'relaunching',
              actions: assign(({ context, event }) => ({
                restoring: null,
                restarts: context.restarts + 1,
                reason: `not adopted: ${errorText(event.error)}; relaunching`,
                recoveredBy: `relaunched after a runtime restart (not adopted: ${errorText(event.error)})`,
              })),
            },
          },
        },
        relaunching: {
          invoke: {
            src: 'launchChrome',
            input: ({ context }) => ({ instanceId: context.instanceId, options: context.options }),
            onDone: {
              target: 'restoringTabs',
              actions: assign(({ event }) => ({ pid: event.output.pid, launchMs: event.output.launchMs })),
            },
            onError: {
              target: 'checking',
              actions: [assign({ reason: ({ event }) => `relaunch failed: ${errorText(event.error)}` }), 'countRestart'],
            },
          },
        },
        restoringTabs: {
          entry: [assign(({ context }) => ({ pendingTabs: [...context.tabIds] })), { type: 'tellTabs', params: { type: 'INSTANCE_UP' } }],
          always: {
            guard: 'allTabsSettled',
            target: '#instance.running',
            actions: assign(({ context }) => ({
              reason: `${context.recoveredBy ?? 'relaunched'} (pid ${context.pid}), ${context.tabIds.length} tabs restored`,
              recoveredBy: null,
            })),
          },
          after: {
            tabRestoreTimeout: {
              target: '#instance.running',
              actions: assign(({ context }) => ({
                reason: `${context.recoveredBy ?? 'relaunched'} (pid ${context.pid}); ${context.pendingTabs.length} of ${context.tabIds.length} tabs still recovering`,
                recoveredBy: null,
              })),
            },
          },
        },
      },
    },
    failed: {
      entry: [
        { type: 'tellTabs', params: ({ context }) => ({ type: 'INSTANCE_FAILED', reason: context.reason }) },
        sendParent(({ context }) => ({ type: 'INSTANCE_FAILED', instanceId: context.instanceId, reason: context.reason })),
      ],
      // Whatever is left of the tree goes; the profile stays until the instance is stopped.
      // A kill that fails is ignored here: unhandled, the child's error would escalate and take
      // this instance and the supervisor with it.
      invoke: { src: 'killChrome', input: ({ context }) => ({ instanceId: context.instanceId }), onError: {} },
      on: {
        // An operator's restart gives a failed instance a clean record.
        RESTART: {
          target: 'recovering.killing',
          actions: [
            assign(({ context }) => policy.clearedRecord(context)),
            'manualRestart',
            sendParent(({ context }) => ({ type: 'INSTANCE_REVIVED', instanceId: context.instanceId })),
          ],
        },
      },
    },
    stopping: {
      entry: { type: 'closeTabs', params: { reason: 'instance stopping' } },
      invoke: {
        src: 'stopChrome',
        input: ({ context }) => ({ instanceId: context.instanceId }),
        onDone: { target: 'stopped', actions: assign(({ context }) => ({ reason: context.reason })) },
        onError: { target: 'stopped', actions: assign({ reason: ({ event }) => `stopped with error: ${errorText(event.error)}` }) },
      },
      on: { STOP: {} },
    },
    stopped: {
      type: 'final',
      entry: sendParent(({ context }) => ({ type: 'INSTANCE_STOPPED', instanceId: context.instanceId })),
    },
  },
});

/** Where a memory sample stands against the limits (not a MEMORY_SAMPLED event: 'ok'). */
function memoryVerdict(context: InstanceContext, event: InstanceEvent): 'hard' | 'soft' | 'ok' {
  if (event.type !== 'MEMORY_SAMPLED') return 'ok';
  const { softMemoryMb, hardMemoryMb } = context.options.limits;
  if (event.privateBytes > hardMemoryMb * MB) return 'hard';
  return event.privateBytes > softMemoryMb * MB ? 'soft' : 'ok';
}

function memoryOver(context: InstanceContext, bytes: number, which: 'soft' | 'hard') {
  const limitMb = which === 'hard' ? context.options.limits.hardMemoryMb : context.options.limits.softMemoryMb;
  return { memoryBytes: bytes, reason: `memory ${Math.round(bytes / MB)} MB above ${which} limit ${limitMb} MB` };
}

function exitText(event: { code: number | null; signal: string | null }): string {
  return event.signal ? `browser exited (signal ${event.signal})` : `browser exited (code ${event.code})`;
}
