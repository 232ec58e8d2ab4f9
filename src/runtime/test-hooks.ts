// Leaks on purpose, for the soak's self-test only (`tabvisor soak --self-test` sets them through
// RuntimeOptions.testHooks; nothing else does, and no CLI flag or protocol method reaches them).
// A "job" is one call on a tab's page (Runtime.withTab). Off, the runtime holds null here and a
// job costs one null check.
import { openSync, closeSync } from 'node:fs';

export interface TestHooks {
  /** Keep this many bytes of JS heap per job (an array of doubles, so it is V8 heap, not external memory). */
  retainBytesPerJob?: number;
  /** Open /dev/null and keep the fd every this many jobs. */
  leakFdEvery?: number;
  /** Start a timer and keep it every this many jobs (an active handle of type Timeout). */
  leakTimerEvery?: number;
  /** Keep this many bytes of JS heap per hour, a tenth of a minute's worth every 6 s, whatever the jobs. */
  retainBytesPerHour?: number;
}

export class LeakHooks {
  /** Jobs seen, for the self-test to turn a per-job rate into its own units. */
  jobs = 0;
  private readonly retained: number[][] = [];
  private readonly fds: number[] = [];
  private readonly timers: NodeJS.Timeout[] = [];

  private readonly clock: NodeJS.Timeout | null;

  constructor(private readonly hooks: TestHooks) {
    const perHour = hooks.retainBytesPerHour;
    this.clock = perHour ? setInterval(() => this.retained.push(new Array<number>(Math.round(perHour / 600 / 8)).fill(this.jobs + 0.5)), 6_000) : null;
  }

  job(): void {
    const n = ++this.jobs;
    const { retainBytesPerJob, leakFdEvery, leakTimerEvery } = this.hooks;
    // Doubles that are not small integers are stored unboxed: 8 bytes each, on the V8 heap.
    if (retainBytesPerJob) this.retained.push(new Array<number>(Math.round(retainBytesPerJob / 8)).fill(n + 0.5));
    if (leakFdEvery && n % leakFdEvery === 0) this.fds.push(openSync('/dev/null', 'r'));
    if (leakTimerEvery && n % leakTimerEvery === 0) this.timers.push(setInterval(() => {}, 3_600_000));
  }

  /** The runtime closes: what was leaked on purpose is released, so tests still see no leak. */
  close(): void {
    if (this.clock) clearInterval(this.clock);
    for (const fd of this.fds.splice(0)) closeSync(fd);
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.retained.length = 0;
  }
}
