// The false-alarm count of the short mode: N clean `tabvisor soak --short` runs (the compiled
// CLI, as CI runs it), `--lanes` at a time, and how many came out leaking (and which series).
// `npx tsx scripts/soak-false-alarms.ts [--runs 20] [--lanes 4] [--out soak-results/false-alarms]`
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const runs = Number(arg('runs', '20'));
const lanes = Number(arg('lanes', '4'));
const out = arg('out', 'soak-results/false-alarms');
mkdirSync(out, { recursive: true });

interface Run {
  run: number;
  exitCode: number | undefined;
  seconds: number;
  leaks: string[];
  inconclusive: string[];
  series: number;
}
const results: Run[] = [];
let next = 0;
async function lane(): Promise<void> {
  while (next < runs) {
    const run = next++;
    const dir = join(out, `run-${String(run + 1).padStart(2, '0')}`);
    const started = Date.now();
    const child = await execa(process.execPath, ['dist/src/cli.js', 'soak', '--short', '--seed', String(run + 1), '--out', dir], { reject: false, stdin: 'ignore', all: true });
    let leaks: string[] = [];
    let inconclusive: string[] = [];
    let series = 0;
    try {
      const report = JSON.parse(readFileSync(join(dir, 'soak-report.json'), 'utf8')) as { series: { key: string; verdict: { verdict: string } | null }[] };
      leaks = report.series.filter((s) => s.verdict?.verdict === 'leak').map((s) => s.key);
      inconclusive = report.series.filter((s) => s.verdict?.verdict === 'inconclusive').map((s) => s.key);
      series = report.series.filter((s) => s.verdict).length;
    } catch {
      // no report: a harness error, shown by its exit code
    }
    const r = { run: run + 1, exitCode: child.exitCode, seconds: Math.round((Date.now() - started) / 1000), leaks, inconclusive, series };
    results.push(r);
    console.log(`run ${r.run}: exit ${r.exitCode} in ${r.seconds} s; ${r.series} series judged; leaks: ${leaks.join(', ') || 'none'}; inconclusive: ${inconclusive.join(', ') || 'none'}`);
  }
}
await Promise.all(Array.from({ length: lanes }, lane));
results.sort((a, b) => a.run - b.run);
const summary = {
  runs,
  lanes,
  exitCodes: results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [String(r.exitCode)]: (acc[String(r.exitCode)] ?? 0) + 1 }), {}),
  runsWithAFalseLeak: results.filter((r) => r.leaks.length).length,
  falseLeakSeries: results.reduce((a, r) => a + r.leaks.length, 0),
  seriesJudged: results.reduce((a, r) => a + r.series, 0),
  results,
};
writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2));
console.log(JSON.stringify({ ...summary, results: undefined }));
