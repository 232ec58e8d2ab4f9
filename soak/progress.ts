// The progress line on a TTY: elapsed time, iterations, and the current verdict per scope (the
// runtime, each instance with its tabs), judged again every 30 s on the analysis workers.
import { overallOf, seriesInputs } from './judge.js';
import type { SeriesStore } from './series.js';
import type { SoakTarget } from './target.js';

const JUDGE_EVERY_MS = 30_000;

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private judging = false;
  private lastJudged = 0;
  private scopes = 'judging after 30 s';

  constructor(
    private readonly store: SeriesStore,
    private readonly target: SoakTarget,
    private readonly alpha: number,
    private readonly now: () => { iteration: number; elapsedMs: number; durationMs?: number; iterations?: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.draw(), 1_000);
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    process.stderr.write('\n');
  }

  private draw(): void {
    const { iteration, elapsedMs, durationMs, iterations } = this.now();
    if (!this.judging && elapsedMs - this.lastJudged >= JUDGE_EVERY_MS) void this.judge(elapsedMs);
    const clock = (ms: number) => `${Math.floor(ms / 60_000)}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}`;
    const line = `${clock(elapsedMs)}${durationMs ? ` / ${clock(durationMs)}` : ''} · iteration ${iteration}${iterations ? ` / ${iterations}` : ''} · ${this.scopes}`;
    process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
  }

  private async judge(elapsedMs: number): Promise<void> {
    this.judging = true;
    this.lastJudged = elapsedMs;
    try {
      const { defs, inputs } = seriesInputs(this.store);
      const verdicts = await this.target.judge(inputs, this.alpha);
      const byScope = new Map<string, (typeof verdicts)[number][]>();
      defs.forEach((def, i) => {
        // i1t2 belongs to i1; runtime to itself.
        const scope = /^i\d+/.exec(def.key)?.[0] ?? 'runtime';
        byScope.set(scope, [...(byScope.get(scope) ?? []), verdicts[i]!]);
      });
      this.scopes = [...byScope].map(([scope, v]) => `${scope} ${overallOf(v)}`).join(' · ');
    } catch {
      this.scopes = 'verdict unavailable';
    } finally {
      this.judging = false;
    }
  }
}
