// The options an instance runs with: one schema per shape, from which the machines' types are
// inferred, the snapshot file is validated (src/runtime/persistence.ts) and the protocol's
// instance.create params are derived (src/protocol/methods.ts). Defaults the spec fixes live here.
import { z } from 'zod';

const ms = z.number().int().min(0).max(86_400_000);
const megabytes = z.number().int().min(16).max(1_048_576);

/** OTP-style restart intensity plus the exponential backoff between restarts. */
export const restartPolicySchema = z.object({
  /** More than this many restarts inside `windowMs` moves the actor to `failed`. */
  maxRestarts: z.number().int().min(0).max(1_000),
  windowMs: ms.min(1),
  /** The first restart after `stableMs` healthy is immediate; the backoff before the n-th one
   * after it (n ≥ 2) is min(backoffMaxMs, backoffMinMs·2ⁿ⁻²), less up to `jitter` of it. */
  backoffMinMs: ms,
  backoffMaxMs: ms,
  /** Fraction (0..1) of the delay that is randomised away, so a fleet does not restart in lockstep. */
  jitter: z.number().min(0).max(1),
  /** Time spent healthy after which the backoff exponent is reset (the next restart is immediate). */
  stableMs: ms,
});
export type RestartPolicy = z.infer<typeof restartPolicySchema>;

/** A CDP round trip every `intervalMs`; one that takes longer than `deadlineMs` is a miss. */
export const probePolicySchema = z.object({
  intervalMs: ms.min(1),
  deadlineMs: ms.min(1),
  /** Consecutive misses that move healthy → degraded. */
  degradeAfter: z.number().int().min(1).max(1_000),
  /** Consecutive misses that move to recovering. */
  recoverAfter: z.number().int().min(1).max(1_000),
});
export type ProbePolicy = z.infer<typeof probePolicySchema>;

export const instanceLimitsSchema = z.object({
  /** Above this (private footprint of the whole tree) the instance is degraded and mitigated. */
  softMemoryMb: megabytes,
  /** Above this the instance is restarted with its tabs restored. */
  hardMemoryMb: megabytes,
  maxTabs: z.number().int().min(1).max(10_000),
});
export type InstanceLimits = z.infer<typeof instanceLimitsSchema>;

export const instanceOptionsSchema = z.object({
  name: z.string().max(128),
  shared: z.boolean(),
  /** Extra Chrome command-line arguments. */
  args: z.array(z.string().max(1024)).max(64),
  limits: instanceLimitsSchema,
  restart: restartPolicySchema,
  probe: probePolicySchema,
  tabProbe: probePolicySchema,
  memoryIntervalMs: ms.min(1),
  /** How long a relaunched instance waits for its tabs before calling itself healthy anyway. */
  tabRestoreTimeoutMs: ms.min(1),
});
export type InstanceOptions = z.infer<typeof instanceOptionsSchema>;

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
