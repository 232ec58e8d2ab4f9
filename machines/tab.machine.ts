// The tab machine: one Chrome target supervised through spawning → healthy ⇄ degraded →
// recovering. Pure: every side effect is a named actor or action that src/ provides.
import { assign, enqueueActions, fromCallback, fromPromise, sendParent, setup, type EventObject } from 'xstate';
import type { ProbeTiming } from './loops.js';
import type { ProbePolicy, RestartPolicy } from './options.js';
import * as policy from './policy.js';
import { errorText, type RestartRecord, type WindowElapsed } from './policy.js';

export interface TabInput {
  tabId: string;
  instanceId: string;
  url: string;
  /** The client allows this tab to be closed when its instance is short of memory. */
  evictable: boolean;
  probe: ProbePolicy;
  restart: RestartPolicy;
  /** Restored from a snapshot: the tab waits for its instance, then its target is found again
   * (adopted browser) or reopened at `url` (relaunched one), under the same id. */
  restored?: { title: string; restarts?: number };
  /** How long the probe loop waits before its first probe each time the target is up (default:
   * the probe interval); drawn at random by the runtime, so that tabs do not probe in lockstep. */
  firstProbeDelayMs?: number;
}

export interface TabContext extends TabInput, RestartRecord {
  title: string;
  /** Consecutive missed probes. */
  misses: number;
  /** Restarts since the tab was opened (crashes, lost targets, hangs), what tab.list reports. */
  restarts: number;
  reason: string;
}

export interface TargetRef {
  instanceId: string;
  tabId: string;
}
/** What the probe loop of a target runs on (loops.ts). */
export type ProbeTargetInput = TargetRef & ProbeTiming;
export interface OpenTargetInput extends TargetRef {
  url: string;
}
export interface OpenTargetOutput {
  url: string;
  title: string;
  /** The target was still there in an adopted browser (nothing was reloaded). */
  adopted?: boolean;
}

export type TabEvent =
  | { type: 'CLOSE'; reason?: string }
  | { type: 'URL_CHANGED'; url: string; title?: string }
  | { type: 'TARGET_CRASHED'; detail?: string }
  | { type: 'TARGET_GONE' }
  | { type: 'INSTANCE_DOWN'; reason: string }
  | { type: 'INSTANCE_UP' }
  | { type: 'INSTANCE_FAILED'; reason: string }
  | { type: 'PROBE_OK' }
  | { type: 'PROBE_MISSED'; detail: string }
  | WindowElapsed;

/** Events the tab sends to its instance. */
export type TabParentEvent = { type: 'TAB_SETTLED'; tabId: string } | { type: 'TAB_STOPPED'; tabId: string };

const notProvided = (name: string) => () => {
  throw new Error(`${name} was not provided to the tab machine`);
};

const tabSetup = setup({
  types: {
    context: {} as TabContext,
    events: {} as TabEvent,
    input: {} as TabInput,
  },
  actors: {
    openTarget: fromPromise<OpenTargetOutput, OpenTargetInput>(notProvided('openTarget')),
    reopenTarget: fromPromise<OpenTargetOutput, OpenTargetInput>(notProvided('reopenTarget')),
    /** The probe loop (loops.ts): a renderer round trip on an interval, with a deadline that a
     * busy or frozen main thread misses; reports each miss, and the first answer after one. */
    probeTarget: fromCallback<EventObject, ProbeTargetInput>(notProvided('probeTarget')),
    watchTarget: fromCallback<EventObject, TargetRef>(notProvided('watchTarget')),
  },
  actions: {
    closeTarget: (_, _params: TargetRef) => {},
    describeTargetLoss: assign(({ event }) => ({
      reason:
        event.type === 'TARGET_CRASHED' ? `renderer crashed${event.detail ? `: ${event.detail}` : ''}` : 'target closed outside tabvisor',
    })),
    // A counted restart expires after the intensity window: a delayed event, so the simulated
    // clock drives it in tests and nothing but the actor's own scheduler keeps time.
    countRestart: enqueueActions(({ enqueue, context }) => {
      enqueue.assign({ ...policy.countedRestart(context), restarts: context.restarts + 1 });
      enqueue.raise(policy.windowElapsed(context), { delay: context.restart.windowMs });
    }),
    uncountRestart: assign(({ context }) => policy.uncountedRestart(context)),
    countMiss: assign({ misses: ({ context }) => context.misses + 1 }),
  },
  guards: {
    intensityExceeded: ({ context }) => policy.intensityExceeded(context, context.restart),
    currentWindow: ({ context, event }) => policy.isCurrentWindow(context, event),
    // One verdict per missed probe, so that exactly one of these holds.
    missesCallForRecovery: ({ context }) => policy.missVerdict(context.misses, context.probe) === 'recover',
    missesCallForDegrading: ({ context }) => policy.missVerdict(context.misses, context.probe) === 'degrade',
    restored: ({ context }) => context.restored !== undefined,
  },
  delays: {
    backoff: ({ context }) => policy.restartBackoffMs(context, context.restart),
    stable: ({ context }) => context.restart.stableMs,
  },
});

// Takes only the probe results that move the tab between healthy and degraded; the rest falls
// through to `running` (recover, or count the miss).
const healthRegion = tabSetup.createStateConfig({
  initial: 'healthy',
  states: {
    healthy: {
      entry: [assign({ misses: 0 }), sendParent(({ context }) => ({ type: 'TAB_SETTLED', tabId: context.tabId }))],
      after: { stable: { actions: assign({ attempt: 0 }) } },
      on: {
        PROBE_MISSED: {
          guard: 'missesCallForDegrading',
          target: 'degraded',
          actions: assign(({ context, event }) => ({ misses: context.misses + 1, reason: `probe missed (${event.detail})` })),
        },
      },
    },
    degraded: {
      on: { PROBE_OK: { target: 'healthy', actions: assign({ reason: 'probe answered again' }) } },
    },
  },
});

export const tabMachine = tabSetup.createMachine({
  id: 'tab',
  context: ({ input }) => ({
    ...input,
    title: input.restored?.title ?? '',
    misses: 0,
    ...policy.freshRecord,
    restarts: input.restored?.restarts ?? 0,
    reason: input.restored ? 'restoring from snapshot' : 'tab opened',
  }),
  initial: 'starting',
  on: {
    CLOSE: { target: '.stopped', actions: assign({ reason: ({ event }) => event.reason ?? 'closed by client' }) },
    INSTANCE_FAILED: { target: '.failed', actions: assign({ reason: ({ event }) => `instance failed: ${event.reason}` }) },
    URL_CHANGED: {
      actions: assign(({ event, context }) => ({ url: event.url, title: event.title ?? context.title })),
    },
    RESTART_WINDOW_ELAPSED: { guard: 'currentWindow', actions: 'uncountRestart' },
    // While the browser is down there is nothing to probe: wait for it, without counting a restart.
    INSTANCE_DOWN: {
      target: '.recovering.waitingForInstance',
      actions: assign({ reason: ({ event }) => `instance down: ${event.reason}` }),
    },
  },
  states: {
    // Transient: a new tab opens its target; a restored one waits for its instance.
    starting: {
      always: [{ guard: 'restored', target: 'recovering.waitingForInstance' }, { target: 'spawning' }],
    },
    spawning: {
      invoke: {
        src: 'openTarget',
        input: ({ context }) => ({ instanceId: context.instanceId, tabId: context.tabId, url: context.url }),
        onDone: {
          target: 'running',
          actions: assign(({ event }) => ({ url: event.output.url, title: event.output.title, reason: 'target opened' })),
        },
        onError: {
          target: 'failed',
          actions: assign({ reason: ({ event }) => `could not open target: ${errorText(event.error)}` }),
        },
      },
    },
    // The target is up: healthy or degraded (the health region), watched and probed by two
    // actors that live as long as this state (a switch of health leaves them running). The
    // probe loop reports only misses and the first answer after one (loops.ts): an idle
    // healthy tab makes no transition. `health` is kept a region so that state values keep
    // their shape (`running.health`).
    running: {
      type: 'parallel',
      invoke: [
        { src: 'watchTarget', input: ({ context }) => ({ instanceId: context.instanceId, tabId: context.tabId }) },
        {
          src: 'probeTarget',
          input: ({ context }) => ({
            instanceId: context.instanceId,
            tabId: context.tabId,
            firstDelayMs: context.firstProbeDelayMs ?? context.probe.intervalMs,
            intervalMs: context.probe.intervalMs,
            deadlineMs: context.probe.deadlineMs,
          }),
        },
      ],
      states: { health: healthRegion },
      on: {
        TARGET_CRASHED: { target: 'recovering', actions: ['describeTargetLoss', 'countRestart'] },
        TARGET_GONE: { target: 'recovering', actions: ['describeTargetLoss', 'countRestart'] },
        PROBE_OK: { actions: assign({ misses: 0 }) },
        PROBE_MISSED: [
          {
            guard: 'missesCallForRecovery',
            target: 'recovering',
            actions: [assign(({ context }) => ({ reason: `page hung: ${context.misses + 1} probes missed` })), 'countRestart'],
          },
          { actions: 'countMiss' },
        ],
      },
    },
    recovering: {
      initial: 'checking',
      states: {
        checking: {
          always: [
            {
              guard: 'intensityExceeded',
              target: '#tab.failed',
              actions: assign(({ context }) => ({
                reason: `restart intensity exceeded: ${context.restartsInWindow} restarts in ${context.restart.windowMs} ms`,
              })),
            },
            { target: 'backoff' },
          ],
        },
        backoff: { after: { backoff: 'reopening' } },
        waitingForInstance: {
          on: { INSTANCE_UP: 'reopening' },
        },
        reopening: {
          invoke: {
            src: 'reopenTarget',
            input: ({ context }) => ({ instanceId: context.instanceId, tabId: context.tabId, url: context.url }),
            onDone: {
              target: '#tab.running',
              actions: assign(({ event }) => ({
                url: event.output.url,
                title: event.output.title,
                reason: event.output.adopted ? 'target adopted' : 'target reopened',
              })),
            },
            onError: {
              target: '#tab.failed',
              actions: assign({ reason: ({ event }) => `could not reopen target: ${errorText(event.error)}` }),
            },
          },
        },
      },
    },
    failed: {
      entry: sendParent(({ context }) => ({ type: 'TAB_SETTLED', tabId: context.tabId })),
      on: {
        // A failed tab has no target to lose; it stays failed until the browser comes back.
        INSTANCE_DOWN: {},
        // A relaunched browser gives a failed tab a fresh start with a clean record.
        INSTANCE_UP: {
          target: 'recovering.reopening',
          actions: assign(({ context }) => ({ ...policy.clearedRecord(context), reason: 'instance relaunched' })),
        },
      },
    },
    stopped: {
      type: 'final',
      entry: [
        { type: 'closeTarget', params: ({ context }) => ({ instanceId: context.instanceId, tabId: context.tabId }) },
        sendParent(({ context }) => ({ type: 'TAB_STOPPED', tabId: context.tabId })),
      ],
    },
  },
});
