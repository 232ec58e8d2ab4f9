// The supervision policy: backoff delays and the defaults the spec fixes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  backoffDelayMs,
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
