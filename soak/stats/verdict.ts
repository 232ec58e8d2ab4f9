// The leak verdict for one sampled series, and for a family of them under Holm's correction:
// drop the detected warm-up, estimate the steady slope with an autocorrelation-aware confidence
// interval, and compare it with the series' budget. Pure and structured-clone friendly.
import { holmLevels, mser5, senInterval, slopeInterval, trendTest, type CorrectionOptions, type Numbers, type TrendTest } from './trend.js';

export interface SeriesInput {
  /** Time or iteration of each sample, increasing (unevenly spaced is fine). */
  x: Numbers;
  y: Numbers;
  /** 'bytes' is judged against its budget; 'count' (fds, handles, targets, nodes, listeners) must come back to baseline. */
  kind: 'bytes' | 'count';
  /**
   * Allowed slope in y-units per x-unit (bytes: e.g. 5 MiB per hour with x in hours). For a count,
   * the slope below which it is called clean: below the smallest leak worth ruling out.
   */
  budget: number;
  /** The iteration count at each sample, for the count checks for growth by whole steps. */
  iterations?: Numbers;
  /** Fewest samples counted as warm-up whatever MSER-5 finds (default 0). */
  warmupFloor?: number;
  /** Fewest steady samples worth judging (default 20). */
  minSteady?: number;
  /** Beyond this many steady samples, block means are judged (the slopes are O(n²)); default 1500. */
  maxPoints?: number;
  /** Autocorrelation correction (default 'ar1', the one our simulations found calibrated); 'none' is the plain test, for comparison. */
  correction?: CorrectionOptions['method'] | 'none';
  /** For the series' name and units in `why`. */
  name?: string;
  unit?: string;
  per?: string;
}

export interface SeriesVerdict {
  verdict: 'leak' | 'clean' | 'inconclusive';
  /** One sentence a reader of the report can check against the numbers. */
  why: string;
  n: number;
  /** Warm-up samples dropped. */
  cut: number;
  /** MSER-5 found no end of warm-up within half the run, even allowing steady growth: nothing judged. */
  stillWarming: boolean;
  /** Theil–Sen slope of the steady part and its interval, in y-units per x-unit. */
  slope: number;
  ciLow: number;
  ciHigh: number;
  /** Level of that interval: 1 − alpha after the family correction. */
  confidence: number;
  budget: number;
  /** Two-sided p-value of "slope = budget" (counts: 0) with the corrected variance; Holm orders on it. */
  p: number;
  /** The same without the autocorrelation correction, to show what it changed. */
  pPlain: number;
  /** Factor applied to Var(S): n/n*, at least 1, with the small-sample allowance (see smallSampleRatio). */
  varianceRatio: number;
  /** How a count's growth came in whole steps, when it did. */
  pattern?: string;
  /** Present when the batch slopes decided, not Theil–Sen's and Mann–Kendall (too few effective samples for ranks). */
  method?: 'batch-slopes';
}

/** What the family-independent part of a verdict computed; the Holm level is applied after. */
interface Analysis {
  input: SeriesInput;
  cut: number;
  /** No end of warm-up within half the run, even allowing a growing steady state. */
  stillWarming: boolean;
  /** The steady state was taken as a line (the level rule ran into its limit). */
  growing: boolean;
  /** The steady part as sampled (the count checks read every sample). */
  x: Float64Array;
  y: Float64Array;
  /** Absent when no steady part is left to test. */
  test?: TrendTest;
  /** Still warming up, and what was tested is the second half only: it can be clean, never a leak. */
  settling?: boolean;
}

/** Block means of g consecutive samples, so a long run costs O(maxPoints²), not O(n²). */
function thin(v: Float64Array, g: number): Float64Array {
  if (g <= 1) return v;
  return Float64Array.from({ length: Math.floor(v.length / g) }, (_, b) => v.subarray(b * g, b * g + g).reduce((a, c) => a + c, 0) / g);
}

function analyze(input: SeriesInput): Analysis {
  // A level steady state first. When its cut runs into the half-run limit the series either
  // still warms up or grows steadily; with a line as the steady state, a leak shows its warm-up
  // ending early, while the tail of a warm-up still slowing down passes for a line only late in
  // the run. So a growing steady state must cover three quarters of the run past the floor.
  const floor = input.warmupFloor ?? 0;
  const options = { floor, minSteady: input.minSteady };
  const level = mser5(input.y, options);
  let line = level.atLimit ? mser5(input.y, { ...options, model: 'line' }) : undefined;
  let late = !!line && (line.atLimit || line.cut > floor + (input.y.length - floor) / 4);
  // MSER-5 weighs misfit against samples kept, whatever the misfit's size: on a series growing
  // at a steady rate (a page keeping the same bytes every iteration, a runtime keeping the same
  // per job) a few KiB of wobble early move its cut late. What is still warming up slows down.
  const [xs, ys] = [Float64Array.from(input.x), Float64Array.from(input.y)];
  if (late && steadyRise(xs.subarray(floor), ys.subarray(floor))) [line, late] = [{ ...line!, cut: floor, steady: input.y.length - floor >= (input.minSteady ?? 20) }, false];
  const warm = line ?? level;
  const x = xs.subarray(warm.cut);
  const y = ys.subarray(warm.cut);
  const analysis = { input, cut: warm.cut, stillWarming: late, growing: !!line, x, y };
  const test = (x: Float64Array, y: Float64Array) => {
    const g = Math.ceil(y.length / (input.maxPoints ?? 1500));
    return trendTest(thin(y, g), thin(x, g), { budget: input.budget, correction: input.correction });
  };
  if (analysis.stillWarming) {
    // A warm-up still slowing down grows faster in the second half of the run than at any time
    // after it. If even that half grows slower than the budget, so does the steady state: clean.
    // Otherwise nothing can be said yet (a leak needs a steady state to be called).
    const half = Math.max(warm.cut, Math.ceil(input.y.length / 2));
    if (input.kind !== 'bytes' || input.y.length - half < (input.minSteady ?? 20)) return analysis;
    const [hx, hy] = [xs.subarray(half), ys.subarray(half)];
    return { ...analysis, cut: half, x: hx, y: hy, settling: true, test: test(hx, hy) };
  }
  if (!warm.steady) return analysis;
  return { ...analysis, test: test(x, y) };
}

/**
 * Growth at a steady rate: a least-squares parabola through the samples rises at the end at
 * least 9/10 as fast as at the start. A warm-up slows down (Chrome's memory over a
 * run its own length loses two thirds of its rate); a leak does not, whatever wobble of GC or
 * bookkeeping MSER-5 weighs against it.
 */
function steadyRise(x: Float64Array, y: Float64Array): boolean {
  const n = x.length;
  if (n < 10) return false;
  const [lo, hi] = [x[0]!, x[n - 1]!];
  if (!(hi > lo)) return false;
  // y = a + b·u + c·u² with u in [−1, 1]: the slope in u is b − 2c at the start, b + 2c at the end.
  const u = Float64Array.from(x, (v) => (2 * (v - lo)) / (hi - lo) - 1);
  const m = [0, 0, 0, 0, 0];
  const r = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    for (let k = 0, p = 1; k < 5; k++, p *= u[i]!) m[k]! += p;
    for (let k = 0, p = 1; k < 3; k++, p *= u[i]!) r[k]! += p * y[i]!;
  }
  const [, b0, c0] = solve3([[m[0]!, m[1]!, m[2]!], [m[1]!, m[2]!, m[3]!], [m[2]!, m[3]!, m[4]!]], r);
  const [start, end] = [b0 - 2 * c0, b0 + 2 * c0];
  return start > 0 && end >= 0.9 * start;
}

/** The solution of a 3 × 3 linear system (Cramer's rule; the parabola's normal equations are well conditioned on [−1, 1]). */
function solve3(m: number[][], r: number[]): [number, number, number] {
  const det = (q: number[][]) => q[0]![0]! * (q[1]![1]! * q[2]![2]! - q[1]![2]! * q[2]![1]!) - q[0]![1]! * (q[1]![0]! * q[2]![2]! - q[1]![2]! * q[2]![0]!) + q[0]![2]! * (q[1]![0]! * q[2]![1]! - q[1]![1]! * q[2]![0]!);
  const d = det(m);
  const col = (k: number) => det(m.map((row, i) => row.map((v, j) => (j === k ? r[i]! : v))));
  return [col(0) / d, col(1) / d, col(2) / d];
}

/**
 * Growth of a count in whole steps, the signature of a per-job leak that noise cannot fake. The
 * count's floor at each sample is the least it comes back to afterwards (a suffix minimum, which
 * transient opens do not lift); the last 5 samples only feed it, so that a spike at the end is not
 * read as a step. A leak: the floor grows by exactly k per iteration (integer k ≥ 1, over at
 * least 10 iterations), or rises in at least 3 equal steps at a regular spacing spanning the run.
 */
function wholeSteps(x: Float64Array, y: Float64Array, iterations: Float64Array | undefined, per: string): string | undefined {
  const n = y.length - 5;
  if (n < 4) return undefined;
  const floor = new Float64Array(y.length);
  for (let t = y.length - 1, min = Infinity; t >= 0; t--) floor[t] = min = Math.min(min, y[t]!);
  const at = iterations ?? x;
  const rises: number[] = [];
  for (let t = 1; t < n; t++) if (floor[t]! > floor[t - 1]!) rises.push(t);
  const span = at[n - 1]! - at[0]!;
  const growth = floor[n - 1]! - floor[0]!;
  const k = Math.round(growth / span);
  if (iterations && span >= 10 && k >= 1 && Math.abs(growth / span - k) <= 0.05 * k) return `grows by exactly ${k} per iteration`;
  if (rises.length < 3) return undefined;
  const size = floor[rises[0]!]! - floor[rises[0]! - 1]!;
  const gaps = rises.slice(1).map((t, i) => at[t]! - at[rises[i]!]!);
  const every = [...gaps].sort((p, q) => p - q)[Math.floor(gaps.length / 2)]!;
  const tol = Math.max(iterations ? 1 : 0, 0.1 * every);
  const regular = gaps.every((g) => Math.abs(g - every) <= tol) && rises.every((t) => floor[t]! - floor[t - 1]! === size);
  const spansRun = at[rises[0]!]! - at[0]! <= every + tol && at[n - 1]! - at[rises[rises.length - 1]!]! <= every + tol;
  return regular && spansRun ? `steps up by ${size} every ${every} ${iterations ? 'iterations' : per}` : undefined;
}

/**
 * A count that comes back to its baseline: the least it falls to in the last quarter of the
 * steady part is no more than the least in the first quarter. Transient opens (sockets, timers,
 * threads of a pool) make a count noisy without raising the level it returns to; a leak raises it.
 */
function backToBaseline(y: Float64Array): { first: number; last: number } | undefined {
  const f = floors(y);
  return f && f.last <= f.first ? f : undefined;
}

/** The first and last quarters of a steady part, where the checks of what a series returns to look (none under 5 samples). */
function quarters(y: Float64Array): { q: number; first: Float64Array; last: Float64Array } | undefined {
  const q = Math.floor(y.length / 4);
  return q < 5 ? undefined : { q, first: y.subarray(0, q), last: y.subarray(y.length - q) };
}

/** The least a series falls to in its first quarter and in its last. */
function floors(y: Float64Array): { q: number; first: number; last: number } | undefined {
  const qs = quarters(y);
  return qs && { q: qs.q, first: Math.min(...qs.first), last: Math.min(...qs.last) };
}

function format(v: number, input: SeriesInput): string {
  const per = input.per ? `/${input.per}` : '';
  if (!Number.isFinite(v)) return v > 0 ? '+∞' : v < 0 ? '−∞' : 'NaN';
  if (input.kind !== 'bytes') return `${Number(v.toPrecision(3))}${input.unit ? ` ${input.unit}` : ''}${per}`;
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let u = 0;
  while (u < units.length - 1 && Math.abs(v) >= 1024 ** (u + 1)) u++;
  return `${Number((v / 1024 ** u).toPrecision(3))} ${units[u]}${per}`;
}

/**
 * Ranks or sizes. Mann–Kendall (and Sen's interval, which inverts it) is the test: it shrugs off
 * outliers and odd noise. But ranks run out: with n/n* large, even a series whose every pair
 * rises cannot reach the family's strictest level, and a page keeping 100 KiB each iteration,
 * sampled 75 times with a few KiB of wobble, came out inconclusive. Then a byte series is judged
 * by the t-interval of its batch slopes (see batchSlopes), which reads sizes.
 * The choice rests on n, ties and the correction only, never on the slope, so it does not spend
 * the level twice. Counts keep to ranks: they move in whole steps and long level shifts that an
 * AR(1) model understates, and a t-test would call one late step a trend.
 */
function usesSizes(a: Analysis, strictest: number): boolean {
  return !!a.test && a.input.kind === 'bytes' && a.test.pBest > strictest;
}

function pOf(a: Analysis, strictest: number): number {
  return !a.test ? 1 : usesSizes(a, strictest) ? a.test.pSizes : a.test.p;
}

function finish(a: Analysis, alpha: number, strictest: number): SeriesVerdict {
  const { input } = a;
  const confidence = 1 - alpha;
  const head = { n: input.y.length, cut: a.cut, stillWarming: a.stillWarming, budget: input.budget, confidence };
  const name = input.name ? `${input.name}: ` : '';
  const t = a.test;
  if (!t) {
    // A count is judged by where it comes back to, warm-up or not: a level that rose for a while
    // and fell back (a socket pool that grew, then shrank) is not a leak, and no steady state is
    // needed to see it.
    const settled = a.stillWarming && input.kind === 'count' ? backToBaseline(Float64Array.from(input.y).subarray(input.warmupFloor ?? 0)) : undefined;
    if (settled) {
      const why = `${name}comes back to its baseline though its level moved for most of the run (least in the last quarter ${settled.last}, in the first ${settled.first})`;
      return { ...head, verdict: 'clean', why, slope: NaN, ciLow: NaN, ciHigh: NaN, p: 1, pPlain: 1, varianceRatio: NaN };
    }
    const why = a.stillWarming
      ? `${name}run too short: still warming up at half the run (${input.y.length} samples; growth still slowing down), run longer`
      : `${name}run too short: ${input.y.length} samples leave no steady part of ${input.minSteady ?? 20} after a warm-up of at least ${Math.max(a.cut, input.warmupFloor ?? 0)}`;
    return { ...head, verdict: 'inconclusive', why, slope: NaN, ciLow: NaN, ciHigh: NaN, p: 1, pPlain: 1, varianceRatio: NaN };
  }
  const sizes = usesSizes(a, strictest);
  const slope = sizes ? t.batches.slope : t.slope;
  const [ciLow, ciHigh] = sizes ? slopeInterval(t.batches, alpha) : senInterval(t.slopes, t.varS, alpha);
  const ci = `slope ${format(slope, input)}, ${Number((100 * confidence).toPrecision(4))}% CI [${format(ciLow, input)}, ${format(ciHigh, input)}]`;
  const flat = a.y.every((v) => v === a.y[0]);
  const how = sizes && !flat ? `the slopes of 5 batches, t on 4 df: n/n* ${t.ratio.toFixed(2)} leaves ranks too few effective samples` : `n/n* ${t.ratio.toFixed(2)}`;
  const notes = `(${how}; ${a.cut} warm-up samples dropped${a.growing ? ', steady state taken as a line' : ''})`;
  const out = (verdict: SeriesVerdict['verdict'], why: string, pattern?: string): SeriesVerdict => ({ ...head, verdict, why: `${name}${why} ${notes}`, slope, ciLow, ciHigh, p: pOf(a, strictest), pPlain: t.pPlain, varianceRatio: t.ratio, ...(sizes ? { method: 'batch-slopes' as const } : {}), ...(pattern ? { pattern } : {}) });
  const budget = format(input.budget, input);
  // Every steady sample equal: nothing grows (and the interval of an all-ties series is undefined).
  if (flat) return out('clean', `flat at ${format(a.y[0]!, { ...input, per: undefined })} after warm-up`);
  if (a.settling) {
    if (ciHigh < input.budget) return out('clean', `still settling at half the run, but its second half already grows slower than the budget: ${ci}, below ${budget}`);
    return out('inconclusive', `run too short: still warming up at half the run, and its second half (${ci}) does not stay below ${budget}; run longer`);
  }
  if (input.kind === 'count') {
    const pattern = wholeSteps(a.x, a.y, input.iterations && Float64Array.from(input.iterations).subarray(a.cut), input.per ?? 'x-units');
    if (pattern) return out('leak', `does not come back to baseline: ${pattern}; ${ci}`, pattern);
    if (ciLow > 0) return out('leak', `grows steadily: ${ci}, above 0`);
    const back = backToBaseline(a.y);
    if (back) return out('clean', `comes back to its baseline (least in the last quarter ${back.last}, in the first ${back.first}); ${ci}`);
    if (ciHigh < input.budget) return out('clean', `${ci}, below ${budget}`);
    const rise = floorRise(a.x, a.y);
    if (rise && rise.perX < input.budget) return out('clean', `its floor rose by ${rise.by} in ${Number(rise.over.toPrecision(3))} ${input.per === 'iteration' ? 'iterations' : (input.per ?? 'x-units')}, under ${budget}: a leak at that rate would have raised it by ${Number((input.budget * rise.over).toPrecision(3))}; ${ci}`);
    return out('inconclusive', `${ci} neither excludes growth nor stays below ${budget}`);
  }
  if (ciLow > input.budget) return out('leak', `${ci}, above the budget ${budget}`);
  if (ciHigh < input.budget) return out('clean', `${ci}, below the budget ${budget}`);
  const fell = fellForGood(a.y);
  if (fell) return out('clean', `fell for good: every sample of the last quarter (at most ${format(fell.last, { ...input, per: undefined })}) is below every sample of the first (at least ${format(fell.first, { ...input, per: undefined })}); ${ci}`);
  return out('inconclusive', `${ci} contains the budget ${budget}`);
}

/**
 * How far a count's floor rose: the least of its last quarter less the least of its first, over
 * the distance between those quarters. A leak of rate r lifts every sample of the last quarter
 * at least r × that distance above the first quarter's least (transient opens only add), so a
 * rise below budget × distance rules out a leak at the budget. Where ties leave the rank interval
 * unbounded (a thread count that stepped up by two, once), this still bounds it.
 */
function floorRise(x: Float64Array, y: Float64Array): { by: number; over: number; perX: number } | undefined {
  const f = floors(y);
  if (!f) return undefined;
  const by = f.last - f.first;
  const over = x[y.length - f.q]! - x[f.q - 1]!;
  return over > 0 ? { by, over, perX: by / over } : undefined;
}

/**
 * Memory that ends below everywhere it began: every sample of the steady part's last quarter
 * under every sample of its first (Chrome let a renderer go: 85 MB down at once). Nothing was
 * kept over the run; the drop only widens the interval, which is why it is looked at apart.
 */
function fellForGood(y: Float64Array): { first: number; last: number } | undefined {
  const qs = quarters(y);
  if (!qs) return undefined;
  const [first, last] = [Math.min(...qs.first), Math.max(...qs.last)];
  return last < first ? { first, last } : undefined;
}

/**
 * One series' verdict. `alpha` is the family's level; with `familySize` m and this series'
 * `holmStep` i (its 1-based rank by p among the family), the interval is taken at level
 * alpha/(m − i + 1), Holm's threshold for that step. Without a step, Bonferroni (step 1).
 * Prefer `judgeFamily`, which ranks the family itself.
 */
export function judgeSeries(input: SeriesInput, options: { alpha?: number; familySize?: number; holmStep?: number } = {}): SeriesVerdict {
  const { alpha = 0.05, familySize = 1, holmStep = 1 } = options;
  return finish(analyze(input), alpha / (familySize - holmStep + 1), alpha / familySize);
}

/**
 * Verdicts for every series of a run, with Holm's correction across them, so the chance of
 * calling any clean series a leak (or any leaking series clean) stays within alpha for the run.
 */
export function judgeFamily(inputs: SeriesInput[], alpha = 0.05): SeriesVerdict[] {
  const analyses = inputs.map(analyze);
  const strictest = alpha / Math.max(1, analyses.length);
  const levels = holmLevels(analyses.map((a) => pOf(a, strictest)), alpha);
  return analyses.map((a, i) => finish(a, levels[i]!, strictest));
}
