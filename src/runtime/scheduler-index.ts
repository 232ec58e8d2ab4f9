// XState's actor system keeps every delayed event of every actor in one table, and when an
// actor stops it finds that actor's events by walking the whole table (scheduler.cancelAll).
// A promise actor stops after every probe and every memory sample, so each probe walked the
// timers of the whole fleet: a cost per probe that grew with the fleet (measured: a fifth of
// the runtime's CPU with 100 idle instances). This keeps, beside XState's table, the ids of each
// actor's delayed events, so that a stop looks at that actor's only. XState 5.33 (the latest)
// has no such index; the scheduler object is part of the system's public type.
import type { ActorSystem, AnyActorRef, EventObject } from 'xstate';

/** Any system: the scheduler's type does not depend on what it holds. */
type AnyActorSystem = ActorSystem<any>;
type Scheduler = AnyActorSystem['scheduler'];

/** An actor's ids past this many are pruned of those that have fired (XState drops those from
 * its table without telling the scheduler's callers). */
const PRUNE_AT = 16;

/** Index the system's scheduler; answers how many ids the index holds (for tests). */
export function indexSchedulerByActor(system: AnyActorSystem): { indexed(): number } {
  const scheduler: Scheduler = system.scheduler;
  const table = (system as unknown as { _snapshot: { _scheduledEvents: Record<string, unknown> } })._snapshot;
  const byActor = new Map<AnyActorRef, Set<string>>();
  const pending = (source: AnyActorRef, id: string) => `${source.sessionId}.${id}` in table._scheduledEvents;
  const schedule = scheduler.schedule.bind(scheduler);
  const cancel = scheduler.cancel.bind(scheduler);
  scheduler.schedule = (source: AnyActorRef, target: AnyActorRef, event: EventObject, delay: number, id: string = Math.random().toString(36).slice(2)) => {
    schedule(source, target, event, delay, id);
    let ids = byActor.get(source);
    if (!ids) byActor.set(source, (ids = new Set()));
    if (ids.size >= PRUNE_AT) for (const old of ids) if (!pending(source, old)) ids.delete(old);
    ids.add(id);
  };
  scheduler.cancel = (source: AnyActorRef, id: string) => {
    cancel(source, id);
    byActor.get(source)?.delete(id);
  };
  scheduler.cancelAll = (source: AnyActorRef) => {
    const ids = byActor.get(source);
    byActor.delete(source);
    for (const id of ids ?? []) if (pending(source, id)) cancel(source, id);
  };
  return { indexed: () => [...byActor.values()].reduce((n, ids) => n + ids.size, 0) };
}
