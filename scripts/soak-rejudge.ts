// Judge a soak report's samples again with the current statistics and write the report anew
// (JSON and HTML beside the original, as soak-report.rejudged.*): for runs made before a fix to
// the verdicts. `--drop-after-loop` leaves out the samples taken after the last iteration.
// `npx tsx scripts/soak-rejudge.ts DIR [--drop-after-loop]`
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitCodeOf, overallOf } from '../soak/judge.js';
import { renderHtml } from '../soak/report/html.js';
import { reportJson, type SoakReport } from '../soak/report/json.js';
import { judgeFamily, type SeriesInput } from '../soak/stats/verdict.js';

const [dir] = process.argv.slice(2);
if (!dir) {
  console.error('usage: tsx scripts/soak-rejudge.ts DIR [--drop-after-loop]');
  process.exit(2);
}
const drop = process.argv.includes('--drop-after-loop');
const report = JSON.parse(readFileSync(join(dir, 'soak-report.json'), 'utf8')) as SoakReport;
const last = Number(report.meta.iterations);
for (const s of report.series) {
  if (!drop) continue;
  // Samples after the loop carry the last iteration's count: keep the first of them only.
  let n = s.samples.y.length;
  while (n > 1 && s.samples.iteration[n - 1] === last && s.samples.iteration[n - 2] === last) n--;
  s.samples = { t: s.samples.t.slice(0, n), iteration: s.samples.iteration.slice(0, n), y: s.samples.y.slice(0, n) };
}
const judged = report.series.filter((s) => s.kind !== 'info');
const inputs: SeriesInput[] = judged.map((s) => ({
  x: s.axis === 'hours' ? s.samples.t : s.samples.iteration,
  y: s.samples.y,
  iterations: s.samples.iteration,
  kind: s.kind === 'bytes' ? 'bytes' : 'count',
  budget: s.budget,
  warmupFloor: 5,
  name: s.key,
  unit: s.kind === 'bytes' ? undefined : '',
  per: s.axis === 'hours' ? 'h' : 'iteration',
}));
const verdicts = judgeFamily(inputs, Number((report.meta.flags as { alpha?: number }).alpha ?? 0.05));
judged.forEach((s, i) => {
  const v = verdicts[i]!;
  s.verdict = v;
  const x = s.axis === 'hours' ? s.samples.t : s.samples.iteration;
  const r = x.slice(v.cut).map((xi, k) => s.samples.y[v.cut + k]! - v.slope * xi).sort((a, b) => a - b);
  const m = r.length >> 1;
  s.fit = Number.isFinite(v.slope) && r.length ? { slope: v.slope, intercept: r.length % 2 ? r[m]! : (r[m - 1]! + r[m]!) / 2 } : null;
});
const order = { leak: 0, inconclusive: 1, clean: 2 } as const;
report.series.sort((a, b) => (a.verdict ? order[a.verdict.verdict] : 3) - (b.verdict ? order[b.verdict.verdict] : 3));
const overall = overallOf(verdicts);
const count = (v: string) => report.series.filter((s) => s.verdict?.verdict === v).length;
report.summary = { ...report.summary, overall, leak: count('leak'), inconclusive: count('inconclusive'), clean: count('clean') };
report.meta.rejudged = { at: new Date().toISOString(), droppedAfterLoop: drop };
writeFileSync(join(dir, 'soak-report.rejudged.json'), reportJson(report));
writeFileSync(join(dir, 'soak-report.rejudged.html'), renderHtml(report));
console.log(`${overall} (exit ${exitCodeOf(overall)}): ${report.summary.leak} leak, ${report.summary.inconclusive} inconclusive, ${report.summary.clean} clean`);
for (const s of report.series.filter((s) => s.verdict && s.verdict.verdict !== 'clean')) console.log(`  ${s.verdict!.verdict}: ${s.verdict!.why}`);
