// Supervision policy shared by the instance and tab machines: restart intensity, backoff and
// probe timing. Pure values and functions; the machines keep the record in their context and
// call these, so the rule is written once (as OTP's supervisor has one intensity check).
import type { ProbePolicy, RestartPolicy } from './options.js';

/**
 * An actor's restart record. OTP keeps the times of the restarts inside the period; a pure
 * machine has no clock, so each restart is counted and a delayed event uncounts it once the
 * window has passed (the simulated clock drives that event in tests).
 */
export interface RestartRecord {
  /** Restarts still inside the intensity window. */
  restartsInWindow: number;
  /** Bumped when the record is cleared: expiries of restarts counted before are then ignored. */
  windowEpoch: number;
  /** Exponent of the next backoff; reset after `stableMs` healthy. */
  attempt: number;
}

/** Raised `windowMs` after a restart, to uncount it; `epoch` names the record it was counted in. */
export interface WindowElapsed {
  type: 'RESTART_WINDOW_ELAPSED';
  epoch: number;
}

export const freshRecord: RestartRecord = { restartsInWindow: 0, windowEpoch: 0, attempt: 0 };

/** A restart happened: counted in the window, and the next backoff doubles. */
export function countedRestart(record: RestartRecord): Pick<RestartRecord, 'restartsInWindow' | 'attempt'> {
  return { restartsInWindow: record.restartsInWindow + 1, attempt: record.attempt + 1 };
}

/** The event that uncounts the restart just counted, once `windowMs` has passed. */
export function windowElapsed(record: RestartRecord): WindowElapsed {
  return { type: 'RESTART_WINDOW_ELAPSED', epoch: record.windowEpoch };
}

/** Whether `event` uncounts a restart of the current record (not of one cleared since). */
export function isCurrentWindow(record: RestartRecord, event: { type: string; epoch?: number }): boolean {
  return event.type === 'RESTART_WINDOW_ELAPSED' && event.epoch === record.windowEpoch;
}

export function uncountedRestart(record: RestartRecord): Pick<RestartRecord, 'restartsInWindow'> {
  return { restartsInWindow: Math.max(0, record.restartsInWindow - 1) };
}

/** An operator's restart or a relaunched browser gives the actor a clean record. */
export function clearedRecord(record: RestartRecord): RestartRecord {
  return { restartsInWindow: 0, windowEpoch: record.windowEpoch + 1, attempt: 0 };
}

/** OTP's rule: more than `maxRestarts` inside the window, and the actor gives up (`failed`). */
export function intensityExceeded(record: RestartRecord, policy: RestartPolicy): boolean {
  return record.restartsInWindow > policy.maxRestarts;
}

/**
 * The backoff before the restart the record has just counted. The first restart after a stable
 * period (or an operator's) is immediate, as OTP restarts a child at once and leaves crash
 * loops to the intensity limit; the backoff starts with the second restart since then, at
 * `backoffMinMs`, and doubles from there.
 */
export function restartBackoffMs(record: RestartRecord, policy: RestartPolicy, random = Math.random()): number {
  if (record.attempt <= 1) return 0;
  return backoffDelayMs(record.attempt - 2, policy, random);
}

/**
 * Delay before restart number `attempt` (0-based).
 * `random` is a number in [0, 1); the result lies in [base·(1 − jitter), base].
 */
export function backoffDelayMs(attempt: number, policy: RestartPolicy, random = Math.random()): number {
  const base = Math.min(policy.backoffMaxMs, policy.backoffMinMs * 2 ** Math.max(0, attempt));
  // ceil keeps the result inside [base·(1 − jitter), base] for every base and draw.
  return Math.ceil(base * (1 - policy.jitter * random));
}

/** What a missed probe calls for, given the misses before it. */
export function missVerdict(missesBefore: number, probe: ProbePolicy): 'recover' | 'degrade' | 'count' {
  const misses = missesBefore + 1;
  if (misses >= probe.recoverAfter) return 'recover';
  return misses >= probe.degradeAfter ? 'degrade' : 'count';
}

/** What a failed actor's error says, for a reason (an Error's message, anything else as text). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
