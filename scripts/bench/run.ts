// The benchmark runner: `tsx scripts/bench/run.ts <scenario> [--quick] [--name=N …]`, one
// scenario per file beside this one. The runner marks the run (so its Chrome is told from
// others'), records the code, the machine and the Chrome measured, hands the scenario what it
// shares with the others (counts, the raw puppeteer side, the machine's state), closes
// whatever the scenario left open and checks that no process of the run is left, then prints
// the table and writes every figure to bench-results/<scenario>.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromeVersion, findChrome, type ChromeBinary } from '../../src/chrome/find.js';
import { tableLines, type TableRow } from './utils/figures.js';
import { killGroup, log, Machine } from './utils/machine.js';
import { RawBrowsers } from './utils/raw.js';

/** What a scenario is given. */
export interface Bench {
  quick: boolean;
  /** `--name=N`, else `full` (or `short` with --quick). */
  count(name: string, full: number, short: number): number;
  /** Is `--name` on the command line? */
  flag(name: string): boolean;
  binary: ChromeBinary;
  machine: Machine;
  raw: RawBrowsers;
  /** Fields of the results file beside those the runner writes. */
  results: Record<string, unknown>;
  /** Run at the end whatever happened, the last registered first. */
  defer(close: () => unknown): void;
}

export interface Scenario {
  /** The report's second line: the counts and what is compared. */
  title: string;
  /** Lines under it: what the columns mean. */
  legend?: string[];
  counts: Record<string, number>;
  targets: Record<string, number>;
  header: TableRow;
  measure(): Promise<void>;
  /** Once the run is over and closed: the table, the lines printed under it, and whether the
   * run failed on the scenario's own terms. */
  report(): Report | Promise<Report>;
}

export interface Report {
  rows: TableRow[];
  notes: string[];
  failed?: boolean;
}

export type ScenarioModule = { default: (bench: Bench) => Scenario | Promise<Scenario> };

const scenarios: Record<string, () => Promise<ScenarioModule>> = {
  lifecycle: () => import('./lifecycle.js'),
  analysis: () => import('./analysis.js'),
  restore: () => import('./restore.js'),
  load: () => import('./load.js'),
  'idle-flags': () => import('./idle-flags.js'),
  scale: () => import('./scale.js'),
  agents: () => import('./agents.js'),
  inspector: () => import('./inspector.js'),
  warm: () => import('./warm.js'),
};

/** Which code is measured: the commit, and the files of src/ and machines/ that differ from it
 * (read-only git: no index lock taken from a checkout someone works in). */
function codeVersion(): { commit: string; dirty: string[] } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['--no-optional-locks', 'status', '--porcelain', '--', 'src', 'machines'], { encoding: 'utf8' });
    return { commit, dirty: status.split('\n').filter(Boolean).map((l) => l.slice(3)) };
  } catch {
    return { commit: 'unknown', dirty: [] };
  }
}

const [name, ...argv] = process.argv.slice(2);
const load = name ? scenarios[name] : undefined;
if (!name || !load) {
  console.error(`usage: tsx scripts/bench/run.ts <${Object.keys(scenarios).join('|')}> [--quick] [--<count>=N …]`);
  process.exit(2);
}
process.chdir(fileURLToPath(new URL('../..', import.meta.url))); // dist/, src/ and bench-results/ are the repo's
mkdirSync('bench-results', { recursive: true });
const quick = argv.includes('--quick');

const machine = new Machine(`BENCH_${name.toUpperCase()}_RUN`);
const binary = await findChrome();
const version = await chromeVersion(binary.path).catch(() => 'unknown');
const code = codeVersion();
const chromeBefore = await machine.chromeProcesses();
const raw = new RawBrowsers(binary, machine.groups);
const closers: (() => unknown)[] = [];
const bench: Bench = {
  quick,
  count(option, full, short) {
    const given = argv.find((a) => a.startsWith(`--${option}=`));
    const value = given ? Number(given.split('=')[1]) : quick ? short : full;
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${option} must be a positive integer`);
    return value;
  },
  flag: (option) => argv.includes(`--${option}`),
  binary,
  machine,
  raw,
  results: {},
  defer: (close) => void closers.push(close),
};
const results: Record<string, unknown> = {
  at: new Date().toISOString(),
  quick,
  environment: { node: process.version, cpus: cpus().length, loadavgAtStart: loadavg(), foreignChromeAtStart: chromeBefore.foreign.length },
  chrome: { ...binary, version },
  code,
  rawLaunchOptions: raw.recorded,
};
log(`chrome ${version} at ${binary.path} (${binary.source}${binary.headlessShell ? ', headless shell' : ''})`);
log(`${cpus().length} cpus, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${chromeBefore.foreign.length} foreign Chrome processes at start`);

const scenario = await (await load()).default(bench);
let failure: unknown = null;
try {
  await scenario.measure();
} catch (error) {
  failure = error;
} finally {
  machine.stopSampling();
  for (const close of closers.reverse()) await Promise.resolve().then(close).catch((e: unknown) => log(`clean-up: ${String(e)}`));
  await raw.closeAll();
}

// ── leak check: killed trees take a moment to be reaped; what is left then is killed ──────
let left = await machine.leftover();
for (let i = 0; i < 50 && left.length; i++) {
  await sleep(100);
  left = await machine.leftover();
}
for (const pgid of new Set(left.map((p) => p.pgid))) killGroup(pgid);
const chromeAfter = await machine.chromeProcesses();
const report = await scenario.report();

// ── report ──────────────────────────────────────────────────────────────────────────────
console.log(
  `\ntabvisor bench-${name} — ${version}, ${binary.path} (${binary.source})\n` +
    `${scenario.title}${quick ? ' (quick)' : ''}; node ${process.version}, ${cpus().length} cpus\n` +
    `tabvisor at ${code.commit}${code.dirty.length ? ` + uncommitted changes in ${code.dirty.join(', ')}` : ''}\n` +
    (scenario.legend ?? []).map((l) => `${l}\n`).join(''),
);
for (const line of tableLines(scenario.header, report.rows)) console.log(line);
for (const line of report.notes) console.log(line);
const sampled = Object.keys(machine.loadAverages).length > 0;
if (sampled) {
  const busy = Object.entries(machine.foreignSeen).filter(([section, n]) => n > 0 && section !== 'start');
  if (busy.length) {
    console.log(`WARNING: Chrome processes not started by this run were running during: ${busy.map(([section, n]) => `${section} (up to ${n})`).join(', ')}.`);
    console.log('         Those figures are skewed (CPU contention on timings; shared pages lower PSS). Re-run on a quiet machine.');
  } else {
    console.log('no foreign Chrome process ran during any measurement');
  }
}
const headless = (p: typeof chromeBefore) => p.ours.length + p.foreign.length;
console.log(`\nheadless Chrome processes: ${headless(chromeBefore)} before, ${headless(chromeAfter)} after`);
if (left.length) console.log(`WARNING: ${left.length} processes started by this run were still alive (killed now): ${left.map((p) => p.pid).join(' ')}`);
else if (headless(chromeAfter) > headless(chromeBefore)) console.log("WARNING: more headless processes than at start, but none is this run's (another process started them)");
else console.log(`no process of this run is left (${machine.groups.size} browsers started)`);
if (failure) console.error('\nbenchmark FAILED:', failure);

const file = `bench-results/${name}.json`;
Object.assign(results, { counts: scenario.counts, targets: scenario.targets }, bench.results);
if (sampled) Object.assign(results, { foreignChromeSeen: machine.foreignSeen, loadAverageAtSectionStart: machine.loadAverages });
results.cleanup = {
  groups: [...machine.groups],
  left: left.map((p) => p.pid),
  oursLeft: left.map((p) => p.pid),
  headlessBefore: headless(chromeBefore),
  headlessAfter: headless(chromeAfter),
};
results.table = report.rows;
if (failure) results.error = failure instanceof Error ? failure.stack : String(failure);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`figures written to ${file}`);
// Exit even if a library left a handle open: everything of the run is closed or killed by now.
process.exit(failure || left.length || report.failed ? 1 : 0);
