// Robust trend statistics for soak series: MSER-5 warm-up truncation, the Theil–Sen slope with
// Sen's confidence interval, the Mann–Kendall test with an autocorrelation correction of its
// variance, and Holm's step-down correction. Pure functions over plain arrays (or Float64Array),
// so they run unchanged on an analysis worker. Sources are cited in soak/stats/README.md.
import jStat from 'jstat';
import { erfc, normalQuantile } from './normal.js';

export type Numbers = ArrayLike<number>;

const sign = (v: number) => (v > 0 ? 1 : v < 0 ? -1 : 0);

/** Sizes of the groups of equal values (only groups of two or more matter to the formulas). */
function tieGroups(v: Numbers): number[] {
  const sorted = Float64Array.from(v).sort();
  const groups: number[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    if (j - i > 1) groups.push(j - i);
    i = j;
  }
  return groups;
}

/** Mid-ranks (1-based; ties share their average rank), as Hamed & Rao rank the detrended series. */
export function ranks(v: Numbers): Float64Array {
  const order = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const r = new Float64Array(v.length);
  for (let i = 0; i < order.length; ) {
    let j = i + 1;
    while (j < order.length && v[order[j]!] === v[order[i]!]) j++;
    for (let k = i; k < j; k++) r[order[k]!] = (i + j + 1) / 2;
    i = j;
  }
  return r;
}

export interface MannKendall {
  n: number;
  /** Kendall's S: concordant minus discordant pairs of (x, y). */
  s: number;
  /** Var(S) under no trend and independence, corrected for ties, times the variance ratio given. */
  varS: number;
  /** (S ∓ 1)/√Var(S): the usual continuity correction, as R `trend` and pymannkendall apply it. */
  z: number;
  pTwoSided: number;
  /** H1: y increases with x. */
  pGreater: number;
  pLess: number;
}

/**
 * Mann–Kendall trend test of y against x (default: the sample index). x may be unevenly spaced;
 * pairs with equal x count as ties. Var(S) carries the tie terms for y and x of Kendall (1975,
 * ch. 4), which reduce to the familiar MK formula when x has no ties. `varianceRatio` is the
 * n/n* of an autocorrelation correction (see `varianceRatio`), 1 for the plain test.
 */
export function mannKendall(y: Numbers, x?: Numbers, varianceRatio = 1): MannKendall {
  const n = y.length;
  const xs = x ?? Float64Array.from({ length: n }, (_, i) => i);
  let s = 0;
  for (let i = 0; i < n - 1; i++) {
    for (let j = i + 1; j < n; j++) s += sign(xs[j]! - xs[i]!) * sign(y[j]! - y[i]!);
  }
  const ty = tieGroups(y);
  const tx = tieGroups(xs);
  const sum = (g: number[], f: (t: number) => number) => g.reduce((a, t) => a + f(t), 0);
  const v0 = (t: number) => t * (t - 1) * (2 * t + 5);
  let varS = (v0(n) - sum(ty, v0) - sum(tx, v0)) / 18;
  if (tx.length && ty.length) {
    varS += (sum(tx, (t) => t * (t - 1) * (t - 2)) * sum(ty, (t) => t * (t - 1) * (t - 2))) / (9 * n * (n - 1) * (n - 2));
    varS += (sum(tx, (t) => t * (t - 1)) * sum(ty, (t) => t * (t - 1))) / (2 * n * (n - 1));
  }
  varS *= varianceRatio;
  const z = varS > 0 ? (s - sign(s)) / Math.sqrt(varS) : 0;
  return { n, s, varS, z, pTwoSided: Math.min(1, erfc(Math.abs(z) / Math.SQRT2)), pGreater: erfc(z / Math.SQRT2) / 2, pLess: erfc(-z / Math.SQRT2) / 2 };
}

/** All slopes (y_j − y_i)/(x_j − x_i) over pairs with x_j ≠ x_i, sorted ascending. O(n²) memory. */
export function pairwiseSlopes(y: Numbers, x: Numbers): Float64Array {
  const n = y.length;
  const out = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n - 1; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = x[j]! - x[i]!;
      if (dx !== 0) out[k++] = (y[j]! - y[i]!) / dx;
    }
  }
  return out.subarray(0, k).sort();
}

/** The value at 1-based rank r of sorted values, interpolating linearly between neighbours. */
function atRank(sorted: Float64Array, r: number): number {
  const lo = Math.floor(r);
  const f = r - lo;
  const a = sorted[lo - 1]!;
  return f === 0 ? a : a + f * (sorted[lo]! - a);
}

/** Theil–Sen slope: the median of the pairwise slopes (Theil 1950, Sen 1968). */
export function theilSen(y: Numbers, x: Numbers): number {
  const s = pairwiseSlopes(y, x);
  return s.length ? atRank(s, (s.length + 1) / 2) : NaN;
}

/**
 * Sen's (1968) confidence interval for the slope at level 1 − alpha, as Gilbert (1987, ch. 16)
 * gives it: C = z(1−α/2)·√Var(S), M1 = (N′ − C)/2, M2 = (N′ + C)/2; the bounds are the M1-th and
 * (M2+1)-th of the N′ ordered slopes. Pass the corrected Var(S) for autocorrelated data.
 * 'interpolate' reads fractional ranks linearly (the interval then moves smoothly with the
 * variance); 'outward' rounds M1 down and M2+1 up (conservative, as statpsych's ci.theil does);
 * 'nearest' rounds both (as scipy.stats.theilslopes and R trend's sens.slope do).
 * A rank outside [1, N′] gives ±Infinity: the data cannot bound the slope at that level.
 */
export function senInterval(sortedSlopes: Float64Array, varS: number, alpha: number, rounding: 'interpolate' | 'outward' | 'nearest' = 'interpolate'): [number, number] {
  const N = sortedSlopes.length;
  const c = normalQuantile(1 - alpha / 2) * Math.sqrt(varS);
  let lo = (N - c) / 2;
  let hi = (N + c) / 2 + 1;
  if (rounding === 'outward') [lo, hi] = [Math.floor(lo), Math.ceil(hi)];
  if (rounding === 'nearest') [lo, hi] = [Math.round(lo), Math.round(hi)];
  return [lo < 1 ? -Infinity : atRank(sortedSlopes, lo), hi > N ? Infinity : atRank(sortedSlopes, hi)];
}

/** Sample autocorrelation at lags 1..maxLag (the biased estimator: demeaned, divided by lag-0 sum). */
export function autocorrelation(v: Numbers, maxLag: number): Float64Array {
  const n = v.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += v[i]! / n;
  const d = Float64Array.from(v, (a) => a - mean);
  let c0 = 0;
  for (const a of d) c0 += a * a;
  const out = new Float64Array(maxLag + 1);
  out[0] = 1;
  for (let k = 1; k <= maxLag; k++) {
    let c = 0;
    for (let i = 0; i + k < n; i++) c += d[i]! * d[i + k]!;
    out[k] = c0 > 0 ? c / c0 : 0;
  }
  return out;
}

export interface CorrectionOptions {
  method?: 'hamed-rao' | 'yue-wang' | 'ar1';
  /** Highest lag summed; default n − 1 (all), as Hamed & Rao and pymannkendall do. */
  maxLag?: number;
  /** Hamed–Rao keeps only the lags whose autocorrelation is significant at this level (default 0.05). */
  acfAlpha?: number;
}

/**
 * n/n*, the factor by which serial correlation inflates Var(S). The series is first detrended
 * with the Theil–Sen slope, so a real trend does not pass for autocorrelation.
 * - 'hamed-rao' (Hamed & Rao 1998): ρ_k are the autocorrelations of the ranks of the
 *   detrended series, kept when |ρ_k| > z(1−acfAlpha/2)/√n; n/n* = 1 + 2/(n(n−1)(n−2)) Σ (n−k)(n−k−1)(n−k−2)·ρ_k.
 * - 'yue-wang' (Yue & Wang 2004): ρ_k of the detrended values; n/n* = 1 + 2 Σ (1 − k/n)·ρ_k.
 * - 'ar1': the same sum for an AR(1) model, ρ_k = r^k, with the lag-1 autocorrelation freed of
 *   its small-sample bias, r = (n·r₁ + 1)/(n − 4) (Kendall 1954). Estimated lag by lag, the sums
 *   above come out too small on short series (the sample autocorrelations of a demeaned series
 *   are biased low by about n*∕n each), and the test stays liberal: see README.md for figures.
 * The raw ratio is returned (it can be below 1 for negative correlation); callers that must not
 * let a correction make the test more liberal clamp it at 1.
 */
export function varianceRatio(y: Numbers, x: Numbers, slope: number, options: CorrectionOptions = {}): number {
  const n = y.length;
  if (n < 5 || !Number.isFinite(slope)) return 1;
  const detrended = Float64Array.from(y, (v, i) => v - slope * x[i]!);
  const maxLag = Math.min(options.maxLag ?? n - 1, n - 1);
  const weighted = (rho: (k: number) => number) => {
    let sum = 0;
    for (let k = 1; k <= maxLag; k++) sum += (1 - k / n) * rho(k);
    return 1 + 2 * sum;
  };
  if (options.method === 'ar1') {
    const r = Math.min(0.98, Math.max(-0.98, (n * autocorrelation(detrended, 1)[1]! + 1) / (n - 4)));
    return weighted((k) => r ** k);
  }
  if (options.method === 'yue-wang') {
    const rho = autocorrelation(detrended, maxLag);
    return weighted((k) => rho[k]!);
  }
  const rho = autocorrelation(ranks(detrended), maxLag);
  const bound = normalQuantile(1 - (options.acfAlpha ?? 0.05) / 2) / Math.sqrt(n);
  let sum = 0;
  for (let k = 1; k <= maxLag; k++) {
    const r = rho[k]!;
    if (Math.abs(r) > bound) sum += (n - k) * (n - k - 1) * (n - k - 2) * r;
  }
  return 1 + (2 * sum) / (n * (n - 1) * (n - 2));
}

/**
 * The variance factor actually applied. Never below 1: negative autocorrelation would otherwise
 * narrow the interval, and a narrower interval is a likelier false leak. Then, since Var(S) was
 * estimated from only ν = n* − 1 effective observations, it is scaled by ν/(ν − 2), the variance
 * of Student's t with ν degrees of freedom (the spirit of Zwiers & von Storch 1995): this is
 * what brings the false-alarm rate of short, strongly correlated runs down to about alpha.
 * With ν ≤ 2 nothing can be concluded, and the interval is unbounded.
 */
export function smallSampleRatio(n: number, raw: number): number {
  const ratio = Math.max(1, raw);
  const nu = n / ratio - 1;
  return nu > 2 ? (ratio * nu) / (nu - 2) : Infinity;
}

/**
 * Batch slopes: the steady part cut into k consecutive batches, a least-squares slope fitted to
 * each, and Student's t on their mean with k − 1 degrees of freedom. The method of batch means
 * (Schmeiser 1982), which simulation output analysis uses for correlated output as MSER-5 does,
 * with slopes in place of means: the spread of the k slopes measures the noise whatever its
 * correlation, and neighbouring batches' slopes are correlated negatively (a batch ending high is
 * followed by one starting high), which errs on the safe side. Where ranks run out, sizes do not:
 * with a handful of effective samples Mann–Kendall cannot reach a Holm level however steep and
 * clean the line, while 100 KiB per iteration with residuals of 2 KiB is decided by its size.
 * Simulated false alarms on AR(1) noise, n 25–200, φ 0–0.99: at or below alpha (README.md).
 */
export interface SlopeT {
  /** Mean of the batch slopes. */
  slope: number;
  /** Its standard error: the batch slopes' standard deviation over √k. */
  se: number;
  /** Degrees of freedom, k − 1; 0 leaves the slope unbounded. */
  nu: number;
}

/** Least-squares slope of y on x (NaN when x does not vary). */
export function lsSlope(y: Numbers, x: Numbers): number {
  const n = y.length;
  let [mx, my] = [0, 0];
  for (let i = 0; i < n; i++) [mx, my] = [mx + x[i]! / n, my + y[i]! / n];
  let [sxx, sxy] = [0, 0];
  for (let i = 0; i < n; i++) [sxx, sxy] = [sxx + (x[i]! - mx) ** 2, sxy + (x[i]! - mx) * (y[i]! - my)];
  return sxx > 0 ? sxy / sxx : NaN;
}

export function batchSlopes(y: Numbers, x: Numbers, k = 5): SlopeT {
  const m = Math.floor(y.length / k);
  if (m < 3) return { slope: NaN, se: NaN, nu: 0 };
  const ys = Float64Array.from(y);
  const xs = Float64Array.from(x);
  const slopes = Array.from({ length: k }, (_, j) => lsSlope(ys.subarray(j * m, j * m + m), xs.subarray(j * m, j * m + m)));
  if (slopes.some((v) => !Number.isFinite(v))) return { slope: NaN, se: NaN, nu: 0 };
  const slope = slopes.reduce((a, v) => a + v, 0) / k;
  const sd = Math.sqrt(slopes.reduce((a, v) => a + (v - slope) ** 2, 0) / (k - 1));
  return { slope, se: sd / Math.sqrt(k), nu: k - 1 };
}

/** Two-sided p of "slope = value" under the t-test above. */
export function slopeP(t: SlopeT, value: number): number {
  if (!(t.nu > 0) || !Number.isFinite(t.slope)) return 1;
  if (t.se === 0) return t.slope === value ? 1 : 0;
  return Math.min(1, 2 * jStat.studentt.cdf(-Math.abs(t.slope - value) / t.se, t.nu));
}

/** The slope's interval at level 1 − alpha; unbounded without degrees of freedom. */
export function slopeInterval(t: SlopeT, alpha: number): [number, number] {
  if (!(t.nu > 0) || !Number.isFinite(t.slope)) return [-Infinity, Infinity];
  const h = jStat.studentt.inv(1 - alpha / 2, t.nu) * t.se;
  return [t.slope - h, t.slope + h];
}

export interface TrendTest {
  /** Theil–Sen slope, and all pairwise slopes sorted (for senInterval). */
  slope: number;
  slopes: Float64Array;
  /** Var(S) of y with the applied factor `ratio` (see smallSampleRatio). */
  varS: number;
  ratio: number;
  /** Two-sided p of "slope = budget", corrected and plain (Mann–Kendall). */
  p: number;
  pPlain: number;
  /** The least p Mann–Kendall could give this many samples with this correction: every pair concordant. */
  pBest: number;
  /** The batch slopes' t-test (see batchSlopes), and its p of "slope = budget". */
  batches: SlopeT;
  pSizes: number;
}

/**
 * The tests the verdicts rest on. "slope = budget" is tested as no trend in y − budget·x, with
 * the tie terms of y, so that the test and Sen's interval (which inverts it) agree; beside it the
 * batch slopes' t-test, for when ranks cannot decide (see `pBest`).
 */
export function trendTest(y: Numbers, x: Numbers, options: { budget?: number; correction?: CorrectionOptions['method'] | 'none' } = {}): TrendTest {
  const budget = options.budget ?? 0;
  const slopes = pairwiseSlopes(y, x);
  const slope = slopes.length ? atRank(slopes, (slopes.length + 1) / 2) : NaN;
  const ratio = options.correction === 'none' ? 1 : smallSampleRatio(y.length, varianceRatio(y, x, slope, { method: options.correction ?? 'ar1' }));
  const plain = mannKendall(y, x);
  const { varS } = plain;
  const { s } = budget === 0 ? plain : mannKendall(Float64Array.from(y, (v, i) => v - budget * x[i]!), x);
  const pOf = (v: number, at = s) => (v > 0 ? Math.min(1, erfc(Math.abs(at - sign(at)) / Math.sqrt(2 * v))) : 1);
  const batches = batchSlopes(y, x);
  return { slope, slopes, varS: varS * ratio, ratio, p: pOf(varS * ratio), pPlain: pOf(varS), pBest: pOf(varS * ratio, slopes.length), batches, pSizes: slopeP(batches, budget) };
}

export interface WarmUp {
  /** Samples to drop from the start. */
  cut: number;
  /** False when what is left after the cut is shorter than minSteady: judge nothing. */
  steady: boolean;
  /** MSER's minimum fell on the last cut allowed (half the run): warm-up may not be over, or (model 'level') the series trends. */
  atLimit: boolean;
}

/**
 * MSER-5 (White 1997; Franklin & White 2008): average the series in batches of 5 and cut the d
 * batches that minimise MSER(d) = Σ_{j>d}(Z_j − Ẑ_j)² / (b − d)², searching d over the first half
 * only (a trending series would otherwise be cut to its last few points). Ẑ is the mean of the
 * kept batches (model 'level', the standard rule) or their least-squares line (model 'line': the
 * same rule when the steady state may itself grow, as a leaking series does). The cut is never
 * below `floor` samples; a floor beyond half the run, or fewer than `minSteady` samples left,
 * means the run is too short to have a steady part.
 */
export function mser5(y: Numbers, options: { floor?: number; minSteady?: number; model?: 'level' | 'line' } = {}): WarmUp {
  const n = y.length;
  const floor = options.floor ?? 0;
  const minSteady = options.minSteady ?? 20;
  const b = Math.floor(n / 5);
  const z = Float64Array.from({ length: b }, (_, j) => {
    let s = 0;
    for (let i = 5 * j; i < 5 * j + 5; i++) s += y[i]!;
    return s / 5;
  });
  const dMax = Math.min(Math.floor(n / 10), b - 3);
  let best = 0;
  let bestValue = Infinity;
  // Values that differ by rounding only are ties, and a tie keeps the earlier (smaller) cut: on
  // a series that is exactly a line (a count growing by one per iteration, sampled without
  // noise) every cut fits it to within rounding error, and the least of those errors must not
  // decide how much of the run is thrown away.
  let tolerance = 0;
  for (let d = 0; d <= dMax; d++) {
    const m = b - d;
    let [sj, sz] = [0, 0];
    for (let j = d; j < b; j++) [sj, sz] = [sj + j / m, sz + z[j]! / m];
    let [sjj, szz, sjz] = [0, 0, 0];
    for (let j = d; j < b; j++) [sjj, szz, sjz] = [sjj + (j - sj) ** 2, szz + (z[j]! - sz) ** 2, sjz + (j - sj) * (z[j]! - sz)];
    const value = (options.model === 'line' ? szz - (sjz * sjz) / sjj : szz) / (m * m);
    if (d === 0) tolerance = 1e-9 * (szz / (m * m));
    if (value < bestValue - tolerance) [best, bestValue] = [d, value];
  }
  const cut = Math.max(floor, 5 * best);
  return { cut, steady: dMax >= 0 && cut <= n / 2 && n - cut >= minSteady, atLimit: dMax > 0 && best === dMax };
}

/** Holm's (1979) step-down adjusted p-values, as R's p.adjust(p, "holm"): reject where ≤ alpha. */
export function holm(p: Numbers): Float64Array {
  const m = p.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => p[a]! - p[b]!);
  const out = new Float64Array(m);
  let running = 0;
  order.forEach((i, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p[i]!));
    out[i] = running;
  });
  return out;
}

/**
 * The per-hypothesis level that makes a test (or a confidence interval) agree with Holm's
 * procedure at family level alpha: alpha/(m − rank + 1) in ascending order of p, frozen at the
 * first step that fails, since Holm rejects nothing after it.
 */
export function holmLevels(p: Numbers, alpha: number): Float64Array {
  const m = p.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => p[a]! - p[b]!);
  const out = new Float64Array(m);
  let level = alpha / m;
  let failed = false;
  order.forEach((i, rank) => {
    if (!failed) level = alpha / (m - rank);
    if (p[i]! > level) failed = true;
    out[i] = level;
  });
  return out;
}
