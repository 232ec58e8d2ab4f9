// The shapes of the read model (fleet-view.ts): an instance or tab as the runtime knows it now,
// and a change of its reported state. The states themselves are listed once, in machines/.
import type { InstanceOptions, InstanceState, TabState } from '../../machines/index.js';
import type { StateValue } from '../protocol/methods.js';

export { USABLE_STATES as usableStates, type InstanceState, type TabState } from '../../machines/index.js';

export interface Transition {
  actor: string;
  kind: 'instance' | 'tab';
  /** The instance itself, or the instance a tab belongs to. */
  instanceId: string;
  /** null for the first state an actor enters. */
  from: string | null;
  to: string;
  reason: string;
  /** Epoch milliseconds. */
  at: number;
  /** Increases by one per transition across the runtime and its restarts (history.ts). */
  seq: number;
  /** The machine's full state value after the transition (nested states included). */
  value: StateValue;
  /** The type of the event whose transition changed the reported state (`CHROME_EXITED`, `PROBE_MISSED`, …). */
  event: string;
}

/** An actor's machine state value, for the inspector's charts: kept for every snapshot, states nested to the leaf. */
export interface ActorValue {
  actor: string;
  kind: 'instance' | 'tab';
  instanceId: string;
  value: StateValue;
  /** Epoch milliseconds. */
  at: number;
}

/** What the creator of an instance said of it (kept by the runtime, not the machine). */
export interface InstanceMeta {
  name: string;
  /** The client that created it; null for one whose owner is unknown. */
  owner: string | null;
  shared: boolean;
  createdAt: number;
}

export interface InstanceView extends InstanceMeta {
  instanceId: string;
  options: InstanceOptions;
  state: InstanceState;
  reason: string;
  pid: number | null;
  launchMs: number | null;
  restarts: number;
  /** Epoch ms the current reported state was entered. */
  stateSince: number;
  /** The machine's full state value, as of its latest snapshot. */
  value: StateValue;
}

export interface TabView {
  tabId: string;
  instanceId: string;
  url: string;
  title: string;
  state: TabState;
  reason: string;
  /** Restarts since the tab was opened (its machine counts them; kept across runtime restarts). */
  restarts: number;
  /** Epoch ms the current reported state was entered. */
  stateSince: number;
  /** The machine's full state value, as of its latest snapshot. */
  value: StateValue;
  evictable: boolean;
  /** Last time a client call used the tab (epoch ms); idle evictable tabs go first under memory pressure. */
  lastUsedAt: number;
}
