// The runtime's read model: what every instance and tab looks like now, kept from the
// machines' own snapshots (inspection), so listing never has to ask Chrome.
import type { InstanceOptions } from '../../machines/index.js';

export type InstanceState = 'spawning' | 'healthy' | 'degraded' | 'recovering' | 'failed' | 'stopping' | 'stopped';
export type TabState = 'spawning' | 'healthy' | 'degraded' | 'recovering' | 'failed' | 'stopped';

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
}

export interface InstanceView {
  instanceId: string;
  name: string;
  owner: string | null;
  shared: boolean;
  options: InstanceOptions;
  state: InstanceState;
  reason: string;
  pid: number | null;
  launchMs: number | null;
  restarts: number;
  createdAt: number;
}

export interface TabView {
  tabId: string;
  instanceId: string;
  url: string;
  title: string;
  state: TabState;
  reason: string;
  evictable: boolean;
  /** Last time a client call used the tab (epoch ms); idle evictable tabs go first under memory pressure. */
  lastUsedAt: number;
  /** Calls in progress on the tab: aborted at once when the tab stops being usable. */
  inflight: Set<AbortController>;
}

export const usableStates: ReadonlySet<string> = new Set(['healthy', 'degraded']);
