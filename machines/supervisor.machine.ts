// The root supervisor: owns the instance actors, hears their failures, and stops them all
// on shutdown. Each instance restarts itself (its own intensity); a failed one is reported
// here and the rest of the fleet keeps working.
import { assign, enqueueActions, setup } from 'xstate';
import { instanceMachine, type InstanceParentEvent, type InstanceRestore } from './instance.machine.js';
import type { InstanceOptions } from './options.js';

export interface SupervisorContext {
  instanceIds: string[];
  failed: string[];
}

export type SupervisorEvent =
  | { type: 'CREATE_INSTANCE'; instanceId: string; options: InstanceOptions; restore?: InstanceRestore; firstProbeDelayMs?: number }
  | { type: 'STOP_INSTANCE'; instanceId: string }
  | { type: 'SHUTDOWN' }
  | InstanceParentEvent;

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
  },
  actors: {
    instance: instanceMachine,
  },
  actions: {
    /** Side effect hook: log and publish a failure that the fleet has to live with. */
    reportFailure: (_, _params: { instanceId: string; reason: string }) => {},
  },
  guards: {
    noInstancesLeft: ({ context }) => context.instanceIds.length === 0,
  },
}).createMachine({
  id: 'supervisor',
  context: { instanceIds: [], failed: [] },
  initial: 'running',
  on: {
    INSTANCE_FAILED: {
      actions: [
        assign({ failed: ({ context, event }) => [...new Set([...context.failed, event.instanceId])] }),
        { type: 'reportFailure', params: ({ event }) => ({ instanceId: event.instanceId, reason: event.reason }) },
      ],
    },
    // An operator restarted a failed instance: it is back in the fleet's care.
    INSTANCE_REVIVED: {
      actions: assign({ failed: ({ context, event }) => context.failed.filter((id) => id !== event.instanceId) }),
    },
    INSTANCE_STOPPED: {
      actions: enqueueActions(({ enqueue, context, event }) => {
        enqueue.stopChild(event.instanceId);
        enqueue.assign({
          instanceIds: context.instanceIds.filter((id) => id !== event.instanceId),
          failed: context.failed.filter((id) => id !== event.instanceId),
        });
      }),
    },
    STOP_INSTANCE: {
      actions: enqueueActions(({ enqueue, context, event }) => {
        if (context.instanceIds.includes(event.instanceId)) enqueue.sendTo(event.instanceId, { type: 'STOP' });
      }),
    },
  },
  states: {
    running: {
      on: {
        CREATE_INSTANCE: {
          actions: enqueueActions(({ enqueue, context, event }) => {
            enqueue.spawnChild('instance', {
              id: event.instanceId,
              // Registered in the actor system under its id: the runtime finds any instance
              // or tab with system.get(id).
              systemId: event.instanceId,
              input: { instanceId: event.instanceId, options: event.options, restore: event.restore, firstProbeDelayMs: event.firstProbeDelayMs },
            });
            enqueue.assign({ instanceIds: [...context.instanceIds, event.instanceId] });
          }),
        },
        SHUTDOWN: 'stopping',
      },
    },
    stopping: {
      entry: enqueueActions(({ enqueue, context }) => {
        for (const id of context.instanceIds) enqueue.sendTo(id, { type: 'STOP', reason: 'runtime shutting down' });
      }),
      always: { guard: 'noInstancesLeft', target: 'stopped' },
    },
    // Not a final state: instances that reach their own final state still send the parent
    // their done event afterwards, and a final root would receive it as a stopped actor.
    stopped: {},
  },
});
