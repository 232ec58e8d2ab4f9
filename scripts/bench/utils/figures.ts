// How the benches compute and print their figures: percentiles, rounding, units, and tables
// whose columns line up.

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
export const fmtMs = (n: number) => `${n.toFixed(1)} ms`;
export const fmtRatio = (r: number) => `${r.toFixed(2)}×`;

/**
 * The p-th percentile (NaN for no values). Nearest-rank by default, a value that was measured;
 * `interpolated` where there are few samples: of 15, a nearest-rank p95 is the max.
 */
export function pct(values: number[], p: number, method: 'nearest-rank' | 'interpolated' = 'nearest-rank'): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  if (method === 'nearest-rank') return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
  const at = (p / 100) * (sorted.length - 1);
  const lo = sorted[Math.floor(at)] as number;
  const hi = sorted[Math.ceil(at)] as number;
  return lo + (hi - lo) * (at - Math.floor(at));
}

export const median = (values: number[], method?: 'nearest-rank' | 'interpolated') => pct(values, 50, method);

/** A row of a table: a cell per column, by the column's key. */
export type TableRow = Record<string, string>;

/** A table's lines: the header, a rule, then the rows; the header gives the columns and their
 * order, each column as wide as its widest cell. */
export function tableLines<R extends Record<keyof R, string>>(header: R, rows: R[]): string[] {
  const keys = Object.keys(header) as (keyof R)[];
  const widths = keys.map((k) => Math.max(header[k].length, ...rows.map((r) => r[k].length)));
  const line = (r: R) => `| ${keys.map((k, i) => r[k].padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
}
