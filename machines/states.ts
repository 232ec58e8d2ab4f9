// The states the protocol reports, listed once: the read model, the wire schemas and the
// metrics derive theirs from here. A machine's own state value is finer (the health region,
// the steps of a recovery); reportedState() says which of these it is.
import type { StateValue } from 'xstate';

export const INSTANCE_STATES = ['spawning', 'healthy', 'degraded', 'recovering', 'failed', 'stopping', 'stopped'] as const;
export const TAB_STATES = ['spawning', 'healthy', 'degraded', 'recovering', 'failed', 'stopped'] as const;

export type InstanceState = (typeof INSTANCE_STATES)[number];
export type TabState = (typeof TAB_STATES)[number];

/** States in which an actor's browser or target is up and takes work. */
export const USABLE_STATES: ReadonlySet<string> = new Set(['healthy', 'degraded']);

/**
 * The protocol's state of an instance or tab: its top-level state, except inside `running`,
 * where the `health` region says healthy or degraded.
 */
export function reportedState(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [top] = Object.keys(value) as [string];
  if (top !== 'running') return top;
  const health = (value.running as Record<string, StateValue>).health;
  return typeof health === 'string' ? health : top;
}
