// The supervision policy: backoff delays and the defaults the spec fixes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  backoffDelayMs,
  clearedRecord,
  countedRestart,
  freshRecord,
  intensityExceeded,
  isCurrentWindow,
  missVerdict,
  restartBackoffMs,
  uncountedRestart,
  windowElapsed,
  defaultInstanceProbe,
  defaultRestartPolicy,
  defaultTabProbe,
  type RestartPolicy,
} from '../../machines/index.js';

afterEach(() => vi.restoreAllMocks());

const policy: RestartPolicy = { maxRestarts: 5, windowMs: 60_000, backoffMinMs: 100, backoffMaxMs: 10_000, jitter: 0.2, stableMs: 30_000 };
const base = (n: number, p = policy) => Math.min(p.backoffMaxMs, p.backoffMinMs * 2 ** n);

describe('backoffDelayMs', () => {
  it('doubles from backoffMinMs up to backoffMaxMs when no jitter is drawn', () => {
    const delays = Array.from({ length: 10 }, (_, n) => backoffDelayMs(n, policy, 0));
    expect(delays).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000, 10_000]);
    expect(backoffDelayMs(1_000, policy, 0)).toBe(10_000);
  });

  it('lies in [base·(1−jitter), base] for every attempt and draw', () => {
    for (let n = 0; n < 16; n++) {
      for (let k = 0; k < 100; k++) {
        const random = k / 100;
        const delay = backoffDelayMs(n, policy, random);
        expect(delay).toBeGreaterThanOrEqual(base(n) * (1 - policy.jitter));
        expect(delay).toBeLessThanOrEqual(base(n));
      }
      // The extremes of the draw reach the ends of the range.
      expect(backoffDelayMs(n, policy, 0)).toBe(base(n));
      expect(backoffDelayMs(n, policy, 1 - Number.EPSILON)).toBe(base(n) * (1 - policy.jitter));
    }
  });

  it('spreads a fleet: different draws give different delays', () => {
    const delays = new Set([0, 0.25, 0.5, 0.75].map((r) => backoffDelayMs(3, policy, r)));
    expect(delays.size).toBe(4);
  });

  it('draws from Math.random when no number is given', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    expect(backoffDelayMs(0, policy)).toBe(90);
    expect(backoffDelayMs(2, policy)).toBe(360);
  });

  it('has no spread without jitter, and treats a negative attempt as the first', () => {
    const exact = { ...policy, jitter: 0 };
    expect([0, 0.5, 0.99].map((r) => backoffDelayMs(4, exact, r))).toEqual([1_600, 1_600, 1_600]);
    expect(backoffDelayMs(-3, policy, 0)).toBe(100);
  });
});

describe('the restart record (one rule for instances and tabs)', () => {
  it('counts restarts in the window and fails past maxRestarts, as OTP does', () => {
    let record = { ...freshRecord };
    for (let n = 1; n <= policy.maxRestarts; n++) {
      record = { ...record, ...countedRestart(record) };
      expect(intensityExceeded(record, policy)).toBe(false);
    }
    record = { ...record, ...countedRestart(record) };
    expect(record).toMatchObject({ restartsInWindow: 6, attempt: 6 });
    expect(intensityExceeded(record, policy)).toBe(true);
  });

  it('uncounts a restart once its window has passed, unless the record was cleared since', () => {
    let record = { ...freshRecord, ...countedRestart(freshRecord) };
    const elapsed = windowElapsed(record);
    expect(isCurrentWindow(record, elapsed)).toBe(true);
    expect({ ...record, ...uncountedRestart(record) }.restartsInWindow).toBe(0);
    expect(uncountedRestart(freshRecord).restartsInWindow).toBe(0); // never below zero
    record = clearedRecord(record);
    expect(record).toEqual({ restartsInWindow: 0, windowEpoch: 1, attempt: 0 });
    expect(isCurrentWindow(record, elapsed)).toBe(false);
    expect(isCurrentWindow(record, { type: 'PROBE_OK' })).toBe(false);
  });

  it('backs off by the restart just counted: the first is immediate, the second waits backoffMinMs', () => {
    const first = { ...freshRecord, ...countedRestart(freshRecord) };
    const second = { ...first, ...countedRestart(first) };
    const third = { ...second, ...countedRestart(second) };
    expect(restartBackoffMs(first, policy, 0)).toBe(0);
    expect(restartBackoffMs(first, policy, 0.99)).toBe(0); // no jitter on an immediate restart
    expect(restartBackoffMs(second, policy, 0)).toBe(100);
    expect(restartBackoffMs(third, policy, 0)).toBe(200);
    expect(restartBackoffMs(third, policy, 1 - Number.EPSILON)).toBe(160);
    // An operator's restart (attempt reset to 0) is immediate too.
    expect(restartBackoffMs(freshRecord, policy, 0)).toBe(0);
  });

  it('gives one verdict per missed probe', () => {
    const probe = { intervalMs: 1, deadlineMs: 1, degradeAfter: 2, recoverAfter: 4 };
    expect([0, 1, 2, 3, 9].map((before) => missVerdict(before, probe))).toEqual(['count', 'degrade', 'degrade', 'recover', 'recover']);
    // recoverAfter first: straight to recovery, never degraded.
    expect([0, 1, 2].map((before) => missVerdict(before, { ...probe, degradeAfter: 3, recoverAfter: 2 }))).toEqual(['count', 'recover', 'recover']);
  });
});

describe('defaults', () => {
  it('restart intensity is 5 restarts in 60 s, as the spec says', () => {
    expect(defaultRestartPolicy).toMatchObject({ maxRestarts: 5, windowMs: 60_000 });
    expect(defaultRestartPolicy.backoffMinMs).toBeLessThan(defaultRestartPolicy.backoffMaxMs);
    expect(defaultRestartPolicy.jitter).toBeGreaterThan(0);
    expect(defaultRestartPolicy.jitter).toBeLessThan(1);
  });

  it.each([
    ['instance', defaultInstanceProbe],
    ['tab', defaultTabProbe],
  ] as const)('the %s probe passes through degraded before it recovers', (_, probe) => {
    // With degradeAfter ≥ recoverAfter a hiccup would restart at once, never degrading first.
    expect(probe.degradeAfter).toBeGreaterThanOrEqual(1);
    expect(probe.degradeAfter).toBeLessThan(probe.recoverAfter);
  });
});
