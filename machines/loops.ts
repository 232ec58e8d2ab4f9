// The probe and memory loops of a running instance or tab. Each is one long-lived actor per
// stretch of `running` that times itself and tells its machine only what can change a verdict:
// a missed probe, the first answer after misses, a memory sample above the soft limit (and the
// first back under it). An idle, healthy fleet then costs one timer and one CDP round trip per
// probe and moves no machine at all; a loop of states per probe cost a macrostep, an actor and
// an inspection event each time (~1 ms of CPU, measured: most of an idle fleet's runtime CPU).
// Pure but for the clock it is given: the machine tests run it on XState's simulated clock,
// the runtime on the real one, so both run this code.
import { errorText } from './policy.js';

/** XState's clock interface (SimulatedClock and the real timers with performance.now both fit it). */
export interface LoopClock {
  setTimeout(fn: () => void, timeoutMs: number): unknown;
  clearTimeout(id: unknown): void;
  /** Milliseconds on a monotonic clock. */
  now(): number;
}

/**
 * The first multiple of `gridMs` at or after `at` (0: `at` itself). Loops whose times are on
 * one grid fire in the same turn of the event loop: a fleet's hundreds of probes wake the
 * runtime a few dozen times an interval instead of once each.
 */
export function onGrid(at: number, gridMs: number): number {
  return gridMs > 0 ? Math.ceil(at / gridMs) * gridMs : at;
}

export interface ProbeTiming {
  /** The first probe's wait, each time the loop starts (the runtime draws it so that a fleet does not probe in lockstep). */
  firstDelayMs: number;
  /**
   * From the start of one probe to the next when it is answered; from its end when it is
   * missed (after a deadline, an interval: a frozen target is probed as often as before).
   * Kept on the clock, not on when timers happened to fire, so loops on one grid stay on it.
   */
  intervalMs: number;
  /** A probe not answered within this is missed (its late answer is ignored). */
  deadlineMs: number;
  /** The first probe's time is put on this grid (see onGrid); 0 or absent: none. */
  gridMs?: number;
}

export type ProbeReport = { type: 'PROBE_OK' } | { type: 'PROBE_MISSED'; detail: string };

/**
 * Probe on `timing` until the returned function is called. Every miss is reported (the
 * machine counts them); an answer only when it follows a miss. Returns the stop function.
 */
export function runProbeLoop(clock: LoopClock, timing: ProbeTiming, probe: () => Promise<unknown>, report: (event: ProbeReport) => void): () => void {
  let stopped = false;
  let missed = false;
  let timer: unknown = null;
  let deadline: unknown = null;
  /** When the current (or next) probe is due on the clock. */
  let due = onGrid(clock.now() + timing.firstDelayMs, timing.gridMs ?? 0);
  const wait = () => Math.max(0, due - clock.now());

  const once = () => {
    timer = null;
    let settled = false;
    const finish = (detail: string | null) => {
      if (settled || stopped) return;
      settled = true;
      clock.clearTimeout(deadline);
      deadline = null;
      if (detail !== null) {
        missed = true;
        report({ type: 'PROBE_MISSED', detail });
      } else if (missed) {
        missed = false;
        report({ type: 'PROBE_OK' });
      }
      // Answered: an interval after it was due. Missed: an interval after it ended (for a
      // deadline, when it was due to end). A loop that fell behind (a stalled event loop)
      // skips what it missed rather than probing in a burst, and keeps its phase.
      if (detail === null) due += timing.intervalMs;
      else if (detail === 'deadline') due += timing.deadlineMs + timing.intervalMs;
      else due = onGrid(clock.now() + timing.intervalMs, timing.gridMs ?? 0);
      const now = clock.now();
      if (due < now) due += Math.ceil((now - due) / timing.intervalMs) * timing.intervalMs;
      if (!stopped) timer = clock.setTimeout(once, wait());
    };
    // The deadline runs from when the probe really starts: a timer that fired late must not
    // shorten it.
    deadline = clock.setTimeout(() => finish('deadline'), timing.deadlineMs);
    attempt(probe).then(
      () => finish(null),
      (error: unknown) => finish(errorText(error)),
    );
  };

  timer = clock.setTimeout(once, wait());
  return () => {
    stopped = true;
    if (timer !== null) clock.clearTimeout(timer);
    if (deadline !== null) clock.clearTimeout(deadline);
  };
}

export interface MemoryWatch {
  intervalMs: number;
  /** Samples are taken on this grid (see onGrid): with the interval as grid, a fleet's loops all sample in the same turn, and one pass over /proc serves them. 0 or absent: an interval after the last. */
  gridMs?: number;
  /** Samples above this are reported (the machine judges soft and hard); so is the first back under it. */
  reportAboveBytes: number;
}

export interface MemoryReport {
  type: 'MEMORY_SAMPLED';
  privateBytes: number;
}

/**
 * Sample every interval until the returned function is called; report what `watch` says is
 * worth a machine's attention. A failed sample (the process table unreadable for a moment) is
 * skipped: memory is judged on the samples there are.
 */
export function runMemoryLoop(clock: LoopClock, watch: MemoryWatch, sample: () => Promise<number>, report: (event: MemoryReport) => void): () => void {
  let stopped = false;
  let reportedAbove = false;
  let timer: unknown = null;
  // On a grid: its next point after now. Without: an interval after the last sample.
  const next = () => (watch.gridMs ? onGrid(clock.now() + 1, watch.gridMs) - clock.now() : watch.intervalMs);

  const once = () => {
    timer = null;
    attempt(sample)
      .then(
        (bytes) => {
          if (stopped) return;
          const above = bytes > watch.reportAboveBytes;
          if (above || reportedAbove) report({ type: 'MEMORY_SAMPLED', privateBytes: bytes });
          reportedAbove = above;
        },
        () => {},
      )
      .finally(() => {
        if (!stopped) timer = clock.setTimeout(once, next());
      });
  };

  timer = clock.setTimeout(once, next());
  return () => {
    stopped = true;
    if (timer !== null) clock.clearTimeout(timer);
  };
}

/** `fn()`'s promise, with a synchronous throw turned into its rejection. */
function attempt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}
