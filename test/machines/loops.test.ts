// The probe and memory loops on a simulated clock: what they report, when, and that a stopped
// loop leaves no timer and reports nothing more.
import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { onGrid, runMemoryLoop, runProbeLoop, type LoopClock, type MemoryReport, type ProbeReport } from '../../machines/index.js';

/** A simulated clock that counts the timers pending. */
function countingClock() {
  const clock = new SimulatedClock();
  const pending = new Set<unknown>();
  const wrapped: LoopClock & { pending: Set<unknown>; now(): number; jump(ms: number): Promise<void>; advance(ms: number): Promise<void> } = {
    pending,
    now: () => clock.now(),
    setTimeout(fn, ms) {
      const id = clock.setTimeout(() => {
        pending.delete(id);
        fn();
      }, ms);
      pending.add(id);
      return id;
    },
    clearTimeout(id) {
      pending.delete(id);
      clock.clearTimeout(id as number);
    },
    /** One step of `ms`: the timers due meanwhile fire late, seeing the clock after it. */
    async jump(ms) {
      clock.increment(ms);
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    },
    async advance(ms) {
      for (let t = 0; t < ms; t += 10) {
        clock.increment(10);
        for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
  return wrapped;
}

const timing = { firstDelayMs: 300, intervalMs: 1_000, deadlineMs: 500 };

describe('probe loop', () => {
  it('probes after its offset, then an interval after each one was due; answers are not reported', async () => {
    const clock = countingClock();
    const starts: number[] = [];
    const reports: ProbeReport[] = [];
    const stop = runProbeLoop(clock, timing, async () => void starts.push(clock.now()), (r) => reports.push(r));
    await clock.advance(3_500);
    expect(starts).toEqual([300, 1300, 2300, 3300]);
    expect(reports).toEqual([]);
    stop();
    expect(clock.pending.size).toBe(0);
  });

  it('reports each miss (deadline, rejection, a throw) and only the first answer after them', async () => {
    const clock = countingClock();
    const outcomes: (() => Promise<void>)[] = [
      () => new Promise<void>(() => {}),
      () => Promise.reject(new Error('Target closed')),
      () => {
        throw new Error('no target');
      },
      async () => {},
      async () => {},
    ];
    const reports: ProbeReport[] = [];
    runProbeLoop(clock, timing, () => (outcomes.shift() ?? (async () => {}))(), (r) => reports.push(r));
    await clock.advance(6_000);
    expect(reports).toEqual([
      { type: 'PROBE_MISSED', detail: 'deadline' },
      { type: 'PROBE_MISSED', detail: 'Target closed' },
      { type: 'PROBE_MISSED', detail: 'no target' },
      { type: 'PROBE_OK' },
    ]);
  });

  it('a late answer after the deadline is ignored, and a stopped loop reports nothing', async () => {
    const clock = countingClock();
    let answer!: () => void;
    const reports: ProbeReport[] = [];
    const stop = runProbeLoop(clock, timing, () => new Promise<void>((resolve) => (answer = resolve)), (r) => reports.push(r));
    await clock.advance(900); // probe at 300, deadline at 800
    answer();
    await clock.advance(10);
    expect(reports).toEqual([{ type: 'PROBE_MISSED', detail: 'deadline' }]);
    await clock.advance(1_000); // the next probe, at 1800
    stop();
    answer(); // answered after the stop
    await clock.advance(2_000);
    expect(reports).toHaveLength(1);
    expect(clock.pending.size).toBe(0);
  });

  it('starts on its grid and stays on it, answered or missed; a stalled clock skips, never bursts', async () => {
    const clock = countingClock();
    const starts: number[] = [];
    let hang = false;
    runProbeLoop(clock, { firstDelayMs: 130, intervalMs: 1_000, deadlineMs: 500, gridMs: 100 }, () => {
      starts.push(clock.now());
      return hang ? new Promise<void>(() => {}) : Promise.resolve();
    }, () => {});
    await clock.advance(2_300);
    expect(starts).toEqual([200, 1200, 2200]);
    hang = true;
    await clock.advance(1_000); // 3200 misses at 3700
    hang = false;
    await clock.advance(1_600); // next at 4700 (deadline + interval after 3200)
    expect(starts).toEqual([200, 1200, 2200, 3200, 4700]);
    expect(starts.every((t) => t % 100 === 0)).toBe(true);
    // The loop stalls 2.5 s (the clock jumps): the late probe runs once, then back on the grid.
    await clock.jump(2_500); // from 4900 to 7400: the probe due at 5700 runs late, at 7400
    await clock.advance(1_000);
    expect(starts.slice(5)).toEqual([7400, 7700]); // not 6700 at once: the next one on its phase
  });
});

describe('onGrid', () => {
  it('rounds up to the grid, and leaves a time alone without one', () => {
    expect(onGrid(130, 100)).toBe(200);
    expect(onGrid(200, 100)).toBe(200);
    expect(onGrid(130, 0)).toBe(130);
  });
});

describe('memory loop', () => {
  it('reports samples above the threshold and the first back under it; skips a failed sample', async () => {
    const clock = countingClock();
    const samples: (number | Error)[] = [10, 20, 150, 160, new Error('/proc unreadable'), 50, 40, 30];
    const reports: MemoryReport[] = [];
    const stop = runMemoryLoop(
      clock,
      { intervalMs: 1_000, reportAboveBytes: 100 },
      async () => {
        const next = samples.shift() ?? 0;
        if (next instanceof Error) throw next;
        return next;
      },
      (r) => reports.push(r),
    );
    await clock.advance(8_500);
    expect(reports.map((r) => r.privateBytes)).toEqual([150, 160, 50]);
    stop();
    expect(clock.pending.size).toBe(0);
  });

  it('on a grid of its interval, loops started at different times sample at the same instants', async () => {
    const clock = countingClock();
    const at: number[][] = [[], []];
    await clock.advance(370);
    runMemoryLoop(clock, { intervalMs: 1_000, gridMs: 1_000, reportAboveBytes: 100 }, async () => (at[0]!.push(clock.now()), 0), () => {});
    await clock.advance(450);
    runMemoryLoop(clock, { intervalMs: 1_000, gridMs: 1_000, reportAboveBytes: 100 }, async () => (at[1]!.push(clock.now()), 0), () => {});
    await clock.advance(2_500);
    expect(at).toEqual([
      [1000, 2000, 3000],
      [1000, 2000, 3000],
    ]);
  });
});
