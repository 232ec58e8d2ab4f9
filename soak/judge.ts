// From sampled columns to the stats' inputs, and the run's overall verdict.
import type { SeriesInput, SeriesVerdict } from './stats/verdict.js';
import type { SeriesDef, SeriesStore } from './series.js';

export type Overall = 'clean' | 'leak' | 'inconclusive';

export interface Judged {
  def: SeriesDef;
  verdict: SeriesVerdict | null;
}

/** Samples counted as warm-up whatever MSER-5 finds: the first seconds of a tab or browser. */
const WARMUP_FLOOR = 5;

/**
 * The judged series' inputs (info series are not judged). `until` keeps only the samples up to
 * that iteration (or hour, for series on the hours axis): what a shorter run would have seen.
 */
export function seriesInputs(store: SeriesStore, until?: { iteration?: number; hours?: number }): { defs: SeriesDef[]; inputs: SeriesInput[] } {
  const defs: SeriesDef[] = [];
  const inputs: SeriesInput[] = [];
  for (const def of store.defs.values()) {
    if (def.kind === 'info') continue;
    const column = store.columns.get(def.key)!;
    let n = column.length;
    const { t, iteration } = column.view();
    if (until?.iteration !== undefined) while (n > 0 && iteration[n - 1]! > until.iteration) n--;
    if (until?.hours !== undefined) while (n > 0 && t[n - 1]! > until.hours) n--;
    const v = column.view(n);
    defs.push(def);
    inputs.push({
      x: Array.from(def.axis === 'hours' ? v.t : v.iteration),
      y: Array.from(v.y),
      iterations: Array.from(v.iteration),
      kind: def.kind === 'bytes' ? 'bytes' : 'count',
      budget: def.budget,
      warmupFloor: WARMUP_FLOOR,
      name: def.key,
      unit: def.kind === 'bytes' ? undefined : '',
      per: def.axis === 'hours' ? 'h' : 'iteration',
    });
  }
  return { defs, inputs };
}

export function overallOf(verdicts: (SeriesVerdict | null)[]): Overall {
  if (verdicts.some((v) => v?.verdict === 'leak')) return 'leak';
  if (verdicts.some((v) => v?.verdict === 'inconclusive')) return 'inconclusive';
  return 'clean';
}

/** The process exit code of a verdict: 0 clean, 99 leak, 2 inconclusive (1 is a harness error). */
export function exitCodeOf(overall: Overall): number {
  return overall === 'leak' ? 99 : overall === 'inconclusive' ? 2 : 0;
}
