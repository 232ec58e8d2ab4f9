// The runtime's read model: what every instance and tab looks like now, kept from the
// machines' own snapshots (XState's inspection hook), so that listing never asks Chrome and
// every change of a reported state becomes one Transition, in order per actor, with the event
// that caused it and a seq from the transition history.
import { EventEmitter } from 'node:events';
import { isMachineSnapshot, type AnyActorRef, type AnyMachineSnapshot, type InspectionEvent } from 'xstate';
import { reportedState, type InstanceState, type TabState } from '../../machines/index.js';
import { notFound } from '../errors.js';
import type { StateValue } from '../protocol/methods.js';
import type { ActorValue, InstanceMeta, InstanceView, TabView, Transition } from './views.js';

export class FleetView {
  private readonly instanceViews = new Map<string, InstanceView>();
  private readonly tabViews = new Map<string, TabView>();
  /** Who asked for an instance that has not shown its first state yet. */
  private readonly pending = new Map<string, InstanceMeta>();
  private readonly bus = new EventEmitter<{ transition: [Transition]; changed: []; value: [ActorValue] }>();
  /**
   * Per actor: its reported state as of its latest microstep, and the event of the microstep
   * that made it so. A snapshot reports a whole macrostep under its outside event (a
   * backoff's `xstate.after.…`); the microstep names what really moved it.
   */
  private readonly causes = new Map<string, { state: string; event: string }>();

  /** `nextSeq`: the seq of the next transition (the history's, which outlives the runtime). */
  constructor(private readonly nextSeq: () => number = counter()) {}

  /** An instance is about to be spawned: these are its creator's facts. */
  expect(instanceId: string, meta: InstanceMeta): void {
    this.pending.set(instanceId, meta);
  }

  /** Instances that exist or are about to: what the instance limit counts. */
  get size(): number {
    return this.instanceViews.size + this.pending.size;
  }

  has(actorId: string): boolean {
    return this.instanceViews.has(actorId) || this.tabViews.has(actorId) || this.pending.has(actorId);
  }

  instance(instanceId: string): InstanceView {
    const view = this.instanceViews.get(instanceId);
    if (!view) throw notFound('instance', { instanceId });
    return view;
  }

  tab(tabId: string): TabView {
    const view = this.tabViews.get(tabId);
    if (!view) throw notFound('tab', { tabId });
    return view;
  }

  findInstance(instanceId: string): InstanceView | undefined {
    return this.instanceViews.get(instanceId);
  }

  instances(): IterableIterator<InstanceView> {
    return this.instanceViews.values();
  }

  tabs(): IterableIterator<TabView> {
    return this.tabViews.values();
  }

  tabsOf(instanceId: string): TabView[] {
    return [...this.tabViews.values()].filter((t) => t.instanceId === instanceId);
  }

  /** Every transition of every instance and tab, in order per actor. */
  onTransition(listener: (t: Transition) => void): () => void {
    this.bus.on('transition', listener);
    return () => this.bus.off('transition', listener);
  }

  /** Every snapshot that did not change an actor's reported state: its full state value (a recovery's steps move it). */
  onValue(listener: (v: ActorValue) => void): () => void {
    this.bus.on('value', listener);
    return () => this.bus.off('value', listener);
  }

  /** Something a fleet snapshot records changed (a state, pid, restart count, URL or title). */
  onChange(listener: () => void): () => void {
    this.bus.on('changed', listener);
    return () => this.bus.off('changed', listener);
  }

  close(): void {
    this.bus.removeAllListeners();
  }

  /** The inspection hook: every snapshot and microstep of every actor of the system passes here. */
  readonly inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot' && event.type !== '@xstate.microstep') return;
    const snapshot = event.snapshot;
    if (!isMachineSnapshot(snapshot)) return;
    const kind = snapshot.machine.id;
    if (kind !== 'instance' && kind !== 'tab') return;
    const id = (event.actorRef as AnyActorRef).id;
    const to = reportedState(snapshot.value);
    if (event.type === '@xstate.microstep') {
      if (this.causes.get(id)?.state !== to) this.causes.set(id, { state: to, event: event.event.type });
      return;
    }
    this.snapshot(id, kind, to, snapshot, event.event.type);
  };

  private snapshot(id: string, kind: 'instance' | 'tab', to: string, snapshot: AnyMachineSnapshot, eventType: string): void {
    const context = snapshot.context;
    const value = snapshot.value as StateValue;
    const at = Date.now();
    const [from, changed] = kind === 'instance' ? this.updateInstance(id, to as InstanceState, snapshot, at) : this.updateTab(id, to as TabState, snapshot, at);
    if (changed || from !== to || snapshot.status !== 'active') this.bus.emit('changed');
    const instanceId = kind === 'instance' ? id : (context.instanceId as string);
    if (from !== to) {
      // An actor's first state has no microstep before it: its event is the snapshot's (xstate.init).
      const cause = this.causes.get(id);
      const event = cause?.state === to ? cause.event : eventType;
      this.bus.emit('transition', { actor: id, kind, instanceId, from, to, reason: context.reason, at, seq: this.nextSeq(), value, event });
    } else {
      this.bus.emit('value', { actor: id, kind, instanceId, value, at });
    }
    if (snapshot.status !== 'active') {
      this.instanceViews.delete(id);
      this.tabViews.delete(id);
      this.causes.delete(id);
    }
  }

  /** The state before, and whether anything the snapshot records changed. */
  private updateInstance(id: string, state: InstanceState, snapshot: AnyMachineSnapshot, at: number): [string | null, boolean] {
    const context: Record<string, any> = snapshot.context;
    let view = this.instanceViews.get(id);
    const from = view?.state ?? null;
    const changed = view?.pid !== context.pid || view?.restarts !== context.restarts;
    if (!view) {
      const meta = this.pending.get(id) ?? { name: id, owner: null, shared: false, createdAt: Date.now() };
      this.pending.delete(id);
      view = { instanceId: id, ...meta, options: context.options, state, reason: context.reason, pid: null, launchMs: null, restarts: 0, stateSince: at, value: snapshot.value as StateValue };
      this.instanceViews.set(id, view);
    }
    if (view.state !== state) view.stateSince = at;
    view.value = snapshot.value as StateValue;
    view.state = state;
    view.reason = context.reason;
    view.pid = state === 'stopped' || state === 'failed' ? null : context.pid;
    view.restarts = context.restarts;
    view.launchMs = context.launchMs;
    return [from, changed];
  }

  private updateTab(id: string, state: TabState, snapshot: AnyMachineSnapshot, at: number): [string | null, boolean] {
    const context: Record<string, any> = snapshot.context;
    let view = this.tabViews.get(id);
    const from = view?.state ?? null;
    const changed = view?.url !== context.url || view?.title !== context.title || view?.restarts !== context.restarts;
    if (!view) {
      view = {
        tabId: id,
        instanceId: context.instanceId,
        url: context.url,
        title: context.title,
        state,
        reason: context.reason,
        restarts: context.restarts,
        stateSince: at,
        value: snapshot.value as StateValue,
        evictable: context.evictable,
        lastUsedAt: at,
      };
      this.tabViews.set(id, view);
    }
    if (view.state !== state) view.stateSince = at;
    view.value = snapshot.value as StateValue;
    view.restarts = context.restarts;
    view.state = state;
    view.reason = context.reason;
    view.url = context.url;
    view.title = context.title;
    return [from, changed];
  }
}

function counter(): () => number {
  let seq = 0;
  return () => ++seq;
}
