// The soak's report: run metadata, every series with its samples, warm-up cut, slope, interval
// and verdict, and the overall verdict; written as DIR/soak-report.json and, drawn, as
// DIR/soak-report.html.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Overall } from '../judge.js';
import type { SoakOptions } from '../options.js';
import type { SamplingCost } from '../samplers.js';
import type { SeriesDef, SeriesStore } from '../series.js';
import type { SeriesVerdict } from '../stats/verdict.js';
import type { SoakTarget } from '../target.js';
import { renderHtml } from './html.js';

export interface ReportSeries extends SeriesDef {
  /** Hours since the start, the iteration at each sample, the value. */
  samples: { t: number[]; iteration: number[]; y: number[] };
  verdict: SeriesVerdict | null;
  /** The fitted steady line on the series' axis: y = intercept + slope·x, from the warm-up cut on. */
  fit: { slope: number; intercept: number } | null;
}

export interface SoakReport {
  tool: 'tabvisor soak';
  reportVersion: 1;
  meta: Record<string, unknown> & { workload: string; seed: number; versions: SoakTarget['versions'] & { node: string } };
  summary: { overall: Overall; leak: number; inconclusive: number; clean: number; info: number; series: number };
  series: ReportSeries[];
}

export interface ReportInput {
  options: SoakOptions;
  workload: string;
  target: SoakTarget;
  store: SeriesStore;
  judged: { def: SeriesDef; verdict: SeriesVerdict | null }[];
  overall: Overall;
  run: Record<string, unknown> & { startedAt: number; endedAt: number; iterations: number };
  machine: Record<string, unknown>;
  cost: Record<string, SamplingCost>;
}

const ORDER = { leak: 0, inconclusive: 1, clean: 2 } as const;

/** The Theil–Sen line's intercept: the median of y − slope·x over the steady part. */
function intercept(x: ArrayLike<number>, y: ArrayLike<number>, slope: number, cut: number): number {
  const r: number[] = [];
  for (let i = cut; i < y.length; i++) r.push(y[i]! - slope * x[i]!);
  r.sort((a, b) => a - b);
  const m = r.length >> 1;
  return r.length % 2 ? r[m]! : (r[m - 1]! + r[m]!) / 2;
}

export function buildReport(input: ReportInput): SoakReport {
  const { options, store, judged } = input;
  const verdictOf = new Map(judged.map((j) => [j.def.key, j.verdict]));
  const series: ReportSeries[] = [...store.defs.values()].map((def) => {
    const v = store.columns.get(def.key)!.view();
    const verdict = verdictOf.get(def.key) ?? null;
    const x = def.axis === 'hours' ? v.t : v.iteration;
    const fit = verdict && Number.isFinite(verdict.slope) ? { slope: verdict.slope, intercept: intercept(x, v.y, verdict.slope, verdict.cut) } : null;
    return { ...def, samples: { t: Array.from(v.t, (h) => Math.round(h * 1e7) / 1e7), iteration: Array.from(v.iteration), y: Array.from(v.y) }, verdict, fit };
  });
  series.sort((a, b) => (a.verdict ? ORDER[a.verdict.verdict] : 3) - (b.verdict ? ORDER[b.verdict.verdict] : 3));
  const count = (v: string) => series.filter((s) => s.verdict?.verdict === v).length;
  const { testHooks, log, ...flags } = options;
  void log;
  return {
    tool: 'tabvisor soak',
    reportVersion: 1,
    meta: {
      workload: input.workload,
      seed: options.seed,
      mode: input.target.mode,
      url: input.target.url,
      versions: { ...input.target.versions, node: process.version },
      flags,
      ...(testHooks ? { testHooks } : {}),
      machine: input.machine,
      ...input.run,
      startedAt: new Date(input.run.startedAt).toISOString(),
      endedAt: new Date(input.run.endedAt).toISOString(),
      durationMs: input.run.endedAt - input.run.startedAt,
      samplingCost: Object.fromEntries(
        Object.entries(input.cost).map(([k, c]) => [
          k,
          {
            samples: c.samples,
            cpuMsPerSample: c.samples ? round(c.cpuMs / c.samples) : 0,
            wallMsPerSample: c.samples ? round(c.wallMs / c.samples) : 0,
            ...(c.pageMs !== undefined ? { pageMsPerSample: c.samples ? round(c.pageMs / c.samples) : 0 } : {}),
          },
        ]),
      ),
    },
    summary: { overall: input.overall, leak: count('leak'), inconclusive: count('inconclusive'), clean: count('clean'), info: series.filter((s) => !s.verdict).length, series: series.length },
    series,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** JSON cannot hold ±Infinity (an unbounded interval): written as null, as the stats' README says. */
export function reportJson(report: SoakReport): string {
  return JSON.stringify(report, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}

export async function writeReports(dir: string, report: SoakReport): Promise<void> {
  await writeFile(join(dir, 'soak-report.json'), reportJson(report));
  await writeFile(join(dir, 'soak-report.html'), renderHtml(report));
}
