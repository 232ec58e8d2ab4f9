// Supervision policy shared by the instance and tab machines: restart intensity, backoff and
// probe timing. Pure values and functions; the machines read them from their context.

/** OTP-style restart intensity plus the exponential backoff between restarts. */
export interface RestartPolicy {
  /** More than this many restarts inside `windowMs` moves the actor to `failed`. */
  maxRestarts: number;
  windowMs: number;
  /** Backoff before restart n (0-based) is min(capMs, minMs·2ⁿ), less up to `jitter` of it. */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Fraction (0..1) of the delay that is randomised away, so a fleet does not restart in lockstep. */
  jitter: number;
  /** Time spent healthy after which the backoff exponent is reset to 0. */
  stableMs: number;
}

/** A CDP round trip every `intervalMs`; one that takes longer than `deadlineMs` is a miss. */
export interface ProbePolicy {
  intervalMs: number;
  deadlineMs: number;
  /** Consecutive misses that move healthy → degraded. */
  degradeAfter: number;
  /** Consecutive misses that move to recovering. */
  recoverAfter: number;
}

export const defaultRestartPolicy: RestartPolicy = {
  maxRestarts: 5,
  windowMs: 60_000,
  backoffMinMs: 100,
  backoffMaxMs: 10_000,
  jitter: 0.2,
  stableMs: 30_000,
};

// Instance probe: 2 s interval, 1 s deadline; 2 misses → degraded, 4 → recovering (≈ 10 s to
// act on a frozen browser without restarting one that merely hiccups under load).
export const defaultInstanceProbe: ProbePolicy = {
  intervalMs: 2_000,
  deadlineMs: 1_000,
  degradeAfter: 2,
  recoverAfter: 4,
};

// Tab probe: a page can legitimately block its main thread for a second or two, so one miss
// only marks the tab degraded and three in a row reload it.
export const defaultTabProbe: ProbePolicy = {
  intervalMs: 2_000,
  deadlineMs: 1_500,
  degradeAfter: 1,
  recoverAfter: 3,
};

/**
 * Delay before restart number `attempt` (0-based).
 * `random` is a number in [0, 1); the result lies in [base·(1 − jitter), base].
 */
export function backoffDelayMs(attempt: number, policy: RestartPolicy, random = Math.random()): number {
  const base = Math.min(policy.backoffMaxMs, policy.backoffMinMs * 2 ** Math.max(0, attempt));
  // ceil keeps the result inside [base·(1 − jitter), base] for every base and draw.
  return Math.ceil(base * (1 - policy.jitter * random));
}
