// The wire shapes the page reads (src/inspector/CONTRACT.md describes them for the server).
export type StateValue = string | { [region: string]: StateValue };

export interface MemoryFigures {
  pssMb: number | null;
  ussMb: number | null;
}

export interface InstanceItem {
  instanceId: string;
  name: string;
  state: string;
  pid: number | null;
  tabs: number;
  memory: MemoryFigures;
  restarts: number;
  createdAt: number;
  shared: boolean;
  reason: string;
  stateSince: number;
  value: StateValue;
}

export interface TabItem {
  tabId: string;
  instanceId: string;
  url: string;
  title: string;
  state: string;
  reason: string;
  restarts: number;
  stateSince: number;
  value: StateValue;
}

export type ActorKind = 'instance' | 'tab';

export interface StateEvent {
  actor: string;
  kind: ActorKind;
  instanceId: string;
  from: string | null;
  to: string;
  reason: string;
  at: number;
  seq: number;
  value?: StateValue;
  event?: string;
}

export interface ValuesEvent {
  actor: string;
  kind: ActorKind;
  instanceId: string;
  value: StateValue;
  at: number;
}

export interface InstanceMetrics {
  instanceId: string;
  state: string;
  tabs: number;
  memory: MemoryFigures;
  restarts: number;
  at: number;
}

export interface HealthMetrics {
  health: { status: string; instances: Record<string, number>; uptimeMs: number };
  at: number;
}

/** params of a `method: 'event'` notification. */
export type EventParams =
  | ({ subscriptionId: string; topic: 'state' } & StateEvent)
  | ({ subscriptionId: string; topic: 'values' } & ValuesEvent)
  | ({ subscriptionId: string; topic: 'metrics' } & (InstanceMetrics | HealthMetrics));
