// The runtime's read model: what every instance and tab looks like now, kept from the
// machines' own snapshots (XState's inspection hook), so that listing never asks Chrome and
// every change of a reported state becomes one Transition, in order per actor.
import { EventEmitter } from 'node:events';
import { isMachineSnapshot, type AnyActorRef, type InspectionEvent } from 'xstate';
import { reportedState, type InstanceState, type TabState } from '../../machines/index.js';
import { notFound } from '../errors.js';
import type { InstanceMeta, InstanceView, TabView, Transition } from './views.js';

export class FleetView {
  private readonly instanceViews = new Map<string, InstanceView>();
  private readonly tabViews = new Map<string, TabView>();
  /** Who asked for an instance that has not shown its first state yet. */
  private readonly pending = new Map<string, InstanceMeta>();
  private readonly bus = new EventEmitter<{ transition: [Transition]; changed: [] }>();

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

  /** Something a fleet snapshot records changed (a state, pid, restart count, URL or title). */
  onChange(listener: () => void): () => void {
    this.bus.on('changed', listener);
    return () => this.bus.off('changed', listener);
  }

  close(): void {
    this.bus.removeAllListeners();
  }

  /** The inspection hook: every snapshot of every actor of the system passes here. */
  readonly inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot;
    if (!isMachineSnapshot(snapshot)) return;
    const kind = snapshot.machine.id;
    if (kind !== 'instance' && kind !== 'tab') return;
    const id = (event.actorRef as AnyActorRef).id;
    const to = reportedState(snapshot.value);
    const context = snapshot.context;
    const [from, changed] = kind === 'instance' ? this.updateInstance(id, to as InstanceState, context) : this.updateTab(id, to as TabState, context);
    if (changed || from !== to || snapshot.status !== 'active') this.bus.emit('changed');
    if (from !== to) {
      const instanceId = kind === 'instance' ? id : (context.instanceId as string);
      this.bus.emit('transition', { actor: id, kind, instanceId, from, to, reason: context.reason, at: Date.now() });
    }
    if (snapshot.status !== 'active') {
      this.instanceViews.delete(id);
      this.tabViews.delete(id);
    }
  };

  /** The state before, and whether anything the snapshot records changed. */
  private updateInstance(id: string, state: InstanceState, context: Record<string, any>): [string | null, boolean] {
    let view = this.instanceViews.get(id);
    const from = view?.state ?? null;
    const changed = view?.pid !== context.pid || view?.restarts !== context.restarts;
    if (!view) {
      const meta = this.pending.get(id) ?? { name: id, owner: null, shared: false, createdAt: Date.now() };
      this.pending.delete(id);
      view = { instanceId: id, ...meta, options: context.options, state, reason: context.reason, pid: null, launchMs: null, restarts: 0 };
      this.instanceViews.set(id, view);
    }
    view.state = state;
    view.reason = context.reason;
    view.pid = state === 'stopped' || state === 'failed' ? null : context.pid;
    view.restarts = context.restarts;
    view.launchMs = context.launchMs;
    return [from, changed];
  }

  private updateTab(id: string, state: TabState, context: Record<string, any>): [string | null, boolean] {
    let view = this.tabViews.get(id);
    const from = view?.state ?? null;
    const changed = view?.url !== context.url || view?.title !== context.title;
    if (!view) {
      view = { tabId: id, instanceId: context.instanceId, url: context.url, title: context.title, state, reason: context.reason, evictable: context.evictable, lastUsedAt: Date.now() };
      this.tabViews.set(id, view);
    }
    view.state = state;
    view.reason = context.reason;
    view.url = context.url;
    view.title = context.title;
    return [from, changed];
  }
}
