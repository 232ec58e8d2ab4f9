// The scheduler index: a stopping actor's delayed events are cancelled (and only its), fired
// ones are forgotten, and a system with it behaves as without it.
import { assign, createActor, fromPromise, raise, setup, type AnyActorRef } from 'xstate';
import { describe, expect, it } from 'vitest';
import { indexSchedulerByActor } from '../../src/runtime/scheduler-index.js';

/** A loop like the probe's: wait, run a promise actor (which stops when done), again, each
 * round raising a delayed event of a fresh id (as a counted restart does); and a long timer
 * that only a stop cancels. */
const loop = setup({
  types: { context: {} as { rounds: number } },
  actors: { work: fromPromise(async () => {}) },
}).createMachine({
  context: { rounds: 0 },
  type: 'parallel',
  states: {
    cycle: {
      initial: 'waiting',
      states: {
        waiting: { after: { 5: 'working' } },
        working: {
          invoke: {
            src: 'work',
            onDone: { target: 'waiting', actions: [assign({ rounds: ({ context }) => context.rounds + 1 }), raise({ type: 'TICK' }, { delay: 1 })] },
          },
        },
      },
    },
    long: { initial: 'pending', states: { pending: { after: { 60_000: 'fired' } }, fired: {} } },
  },
});

const scheduled = (actor: AnyActorRef) => Object.values(actor.system.getSnapshot()._scheduledEvents);
/** The loop's next wait and its long timer (a TICK may be pending besides). */
const timers = (actor: AnyActorRef) => scheduled(actor).filter((e) => e.event.type !== 'TICK');

describe('indexSchedulerByActor', () => {
  it('runs the loops as XState alone does, cancels only the stopped actor\'s events, and keeps no fired ids', async () => {
    const a = createActor(loop);
    const index = indexSchedulerByActor(a.system);
    a.start();
    const b = createActor(loop, { systemId: undefined });
    indexSchedulerByActor(b.system);
    b.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(a.getSnapshot().context.rounds).toBeGreaterThan(10);
    // Each system holds its loop's next wait and the long timer, nothing that has fired.
    expect(timers(a)).toHaveLength(2);
    // Fired ids are pruned: a few per actor at most, not one per round.
    expect(index.indexed()).toBeLessThanOrEqual(17);
    a.stop();
    expect(index.indexed()).toBe(0);
    expect(scheduled(a)).toHaveLength(0);
    expect(scheduled(b).length).toBeGreaterThan(0);
    b.stop();
    expect(scheduled(b)).toHaveLength(0);
  });

  it("a child's stop cancels the child's events, not its parent's", async () => {
    const parent = setup({ actors: { child: loop } }).createMachine({
      type: 'parallel',
      states: {
        timer: { initial: 'pending', states: { pending: { after: { 60_000: 'fired' } }, fired: {} } },
        work: { initial: 'on', states: { on: { invoke: { id: 'child', src: 'child' }, on: { OFF: 'off' } }, off: {} } },
      },
    });
    const actor = createActor(parent);
    indexSchedulerByActor(actor.system);
    actor.start();
    await new Promise((r) => setTimeout(r, 50));
    const child = actor.getSnapshot().children.child as AnyActorRef;
    expect(timers(actor).filter((e) => e.source === child).length).toBe(2);
    actor.send({ type: 'OFF' }); // the child stops; the parent's own timer stays
    expect(scheduled(actor).map((e) => e.source)).toEqual([actor]);
    actor.stop();
    expect(scheduled(actor)).toHaveLength(0);
  });
});
