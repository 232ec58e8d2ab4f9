// The page's model of the fleet: every actor's latest known state, the transitions seen (the
// timeline), memory history. Lists and events can arrive in either order around a reconnect,
// so each fact carries its time and the newer one wins; transitions are kept once per seq.
import type { ActorKind, HealthMetrics, InstanceItem, InstanceMetrics, StateEvent, StateValue, TabItem, ValuesEvent } from './contract.js';

export interface ActorView {
  id: string;
  kind: ActorKind;
  instanceId: string;
  /** Instance name, or the tab's title. */
  name: string;
  url: string;
  state: string;
  reason: string;
  restarts: number;
  /** Server epoch ms the current state was entered. */
  stateSince: number;
  value: StateValue | null;
  valueAt: number;
  createdAt: number | null;
  pid: number | null;
  tabCount: number;
  pssMb: number | null;
  ussMb: number | null;
  shared: boolean;
  /** PSS samples, oldest first (the sparkline). */
  pss: number[];
}

/** A `state` event as the timeline keeps it (its value is not kept: the actor has the latest). */
export type Transition = Omit<StateEvent, 'value' | 'event'> & { event: string };

const MAX_TRANSITIONS = 20_000;
const PSS_SAMPLES = 60;
/** A stopped actor stays in the tree (dimmed) this long, then only the timeline keeps it. */
export const STOPPED_LINGER_MS = 60_000;

export class Store {
  readonly actors = new Map<string, ActorView>();
  /** In seq order. */
  transitions: Transition[] = [];
  readonly byActor = new Map<string, Transition[]>();
  lastSeq = 0;
  health: HealthMetrics['health'] | null = null;
  /** Server clock minus local clock, from the latest events (their `at` is the server's now). */
  clockOffsetMs = 0;

  // What changed since the last frame; the views read and clear these.
  readonly dirtyActors = new Set<string>();
  /** Actors whose state value changed (the chart's counts and lit states). */
  readonly dirtyValues = new Set<string>();
  structureChanged = false;
  transitionsChanged = false;
  healthChanged = false;
  /** The earliest `at` among the transitions kept (seq order is not quite time order across actors). */
  earliestAt = Infinity;

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Instances from a fresh `instance.list`; instances it no longer has are gone. */
  applyInstances(items: readonly InstanceItem[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(item.instanceId);
      const actor = this.ensure(item.instanceId, 'instance', item.instanceId);
      // The tree orders instances by creation: an actor first known from an event had no date.
      if (actor.createdAt !== item.createdAt) this.structureChanged = true;
      Object.assign(actor, {
        name: item.name || item.instanceId,
        createdAt: item.createdAt,
        pid: item.pid,
        tabCount: item.tabs,
        shared: item.shared,
        restarts: item.restarts,
      });
      this.setMemory(actor, item.memory.pssMb, item.memory.ussMb);
      this.listedState(actor, item);
    }
    this.forget('instance', seen);
  }

  applyTabs(items: readonly TabItem[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(item.tabId);
      const actor = this.ensure(item.tabId, 'tab', item.instanceId);
      Object.assign(actor, { name: item.title, url: item.url, restarts: item.restarts });
      this.listedState(actor, item);
    }
    this.forget('tab', seen);
  }

  /** A `state` event: false when its seq was seen already (a replay after a reconnect). */
  applyState(event: StateEvent): { fresh: boolean; unknownActor: boolean } {
    if (event.seq <= this.lastSeq) return { fresh: false, unknownActor: false };
    this.lastSeq = event.seq;
    const unknownActor = !this.actors.has(event.actor);
    const actor = this.ensure(event.actor, event.kind, event.instanceId);
    // Replayed history older than what a list said is for the timeline only.
    if (event.at >= actor.stateSince) {
      actor.state = event.to;
      actor.reason = event.reason;
      actor.stateSince = event.at;
      if (event.value !== undefined && event.at >= actor.valueAt) this.setValue(actor, event.value, event.at);
      this.dirtyActors.add(actor.id);
    }
    const transition: Transition = {
      seq: event.seq,
      actor: event.actor,
      kind: event.kind,
      instanceId: event.instanceId,
      from: event.from,
      to: event.to,
      reason: event.reason,
      at: event.at,
      event: event.event ?? '',
    };
    this.transitions.push(transition);
    this.earliestAt = Math.min(this.earliestAt, transition.at);
    let lane = this.byActor.get(event.actor);
    if (!lane) this.byActor.set(event.actor, (lane = []));
    lane.push(transition);
    if (this.transitions.length > MAX_TRANSITIONS * 1.1) this.trim();
    this.transitionsChanged = true;
    return { fresh: true, unknownActor };
  }

  applyValues(event: ValuesEvent): void {
    const actor = this.actors.get(event.actor);
    if (!actor || event.at < actor.valueAt) return;
    this.setValue(actor, event.value, event.at);
  }

  applyMetrics(event: InstanceMetrics | HealthMetrics): void {
    this.clockOffsetMs = event.at - Date.now();
    if ('health' in event) {
      this.health = event.health;
      this.healthChanged = true;
      return;
    }
    const actor = this.actors.get(event.instanceId);
    if (!actor) return;
    actor.tabCount = event.tabs;
    actor.restarts = event.restarts;
    this.setMemory(actor, event.memory.pssMb, event.memory.ussMb);
    this.dirtyActors.add(actor.id);
  }

  /** Stopped actors past their linger time leave the tree (their lanes stay in the timeline). */
  sweep(): void {
    const now = this.now();
    for (const actor of this.actors.values()) {
      if (actor.state === 'stopped' && now - actor.stateSince > STOPPED_LINGER_MS) this.remove(actor.id);
    }
  }

  private ensure(id: string, kind: ActorKind, instanceId: string): ActorView {
    let actor = this.actors.get(id);
    if (!actor) {
      actor = {
        id,
        kind,
        instanceId,
        name: '',
        url: '',
        state: 'spawning',
        reason: '',
        restarts: 0,
        stateSince: 0,
        value: null,
        valueAt: 0,
        createdAt: null,
        pid: null,
        tabCount: 0,
        pssMb: null,
        ussMb: null,
        shared: false,
        pss: [],
      };
      this.actors.set(id, actor);
      this.structureChanged = true;
    }
    this.dirtyActors.add(id);
    return actor;
  }

  private listedState(actor: ActorView, item: { state: string; reason: string; stateSince: number; value: StateValue }): void {
    if (item.stateSince < actor.stateSince) return;
    actor.state = item.state;
    actor.reason = item.reason;
    actor.stateSince = item.stateSince;
    // A list is answered after every message before it on the socket: its value is the newest.
    this.setValue(actor, item.value, Math.max(actor.valueAt, item.stateSince));
  }

  private setValue(actor: ActorView, value: StateValue, at: number): void {
    actor.value = value;
    actor.valueAt = at;
    this.dirtyValues.add(actor.id);
  }

  private setMemory(actor: ActorView, pssMb: number | null, ussMb: number | null): void {
    actor.pssMb = pssMb;
    actor.ussMb = ussMb;
    if (pssMb === null) return;
    actor.pss.push(pssMb);
    if (actor.pss.length > PSS_SAMPLES) actor.pss.splice(0, actor.pss.length - PSS_SAMPLES);
  }

  private forget(kind: ActorKind, listed: Set<string>): void {
    for (const actor of [...this.actors.values()]) {
      if (actor.kind === kind && !listed.has(actor.id) && actor.state !== 'stopped') this.remove(actor.id);
    }
  }

  private remove(id: string): void {
    this.actors.delete(id);
    this.dirtyActors.delete(id);
    this.dirtyValues.add(id);
    this.structureChanged = true;
  }

  private trim(): void {
    const cut = this.transitions.length - MAX_TRANSITIONS;
    const firstKept = this.transitions[cut]!.seq;
    this.transitions = this.transitions.slice(cut);
    this.earliestAt = Math.min(...this.transitions.map((t) => t.at));
    for (const [id, lane] of this.byActor) {
      const kept = lane.filter((t) => t.seq >= firstKept);
      if (kept.length === 0) this.byActor.delete(id);
      else this.byActor.set(id, kept);
    }
  }
}

/** The state ids a value makes active, down to the leaves: `{running:{health:'healthy'}}` → instance.running, instance.running.health, … */
export function activeStateIds(machineId: string, value: StateValue | null): string[] {
  const ids: string[] = [];
  const walk = (prefix: string, v: StateValue) => {
    if (typeof v === 'string') {
      ids.push(`${prefix}.${v}`);
      return;
    }
    for (const [key, child] of Object.entries(v)) {
      ids.push(`${prefix}.${key}`);
      walk(`${prefix}.${key}`, child);
    }
  };
  if (value !== null) walk(machineId, value);
  return ids;
}

/** Leaf paths of a value: `running.health.healthy`, `recovering.relaunching`. */
export function leafPaths(value: StateValue | null): string[] {
  return activeStateIds('', value)
    .map((id) => id.slice(1))
    .filter((path, i, all) => !all.some((other, j) => j !== i && other.startsWith(`${path}.`)));
}
