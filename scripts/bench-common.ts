// What the benchmark scripts share: their command-line counts, how the raw side launches
// Chrome, and the small formatting helpers of their tables.
import puppeteer, { type Browser } from 'puppeteer-core';
import type { ChromeBinary } from '../src/chrome/find.js';
import { chromeArgs } from '../src/chrome/launch.js';

const argv = process.argv.slice(2);
export const quick = argv.includes('--quick');
export const hasFlag = (flag: string) => argv.includes(flag);

/** `--name=N`, else `full` (or `short` with --quick). */
export function count(name: string, full: number, short: number): number {
  const given = argv.find((a) => a.startsWith(`--${name}=`));
  const value = given ? Number(given.split('=')[1]) : quick ? short : full;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
export const fmtMs = (n: number) => `${n.toFixed(1)} ms`;
export const fmtRatio = (r: number) => `${r.toFixed(2)}×`;
export const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

/** Nearest-rank percentile (NaN for no values). */
export function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/**
 * How the raw puppeteer-core side launches Chrome: the same binary with tabvisor's lean
 * flags, less those puppeteer sets itself (headless mode, profile, port), and no viewport
 * emulation (tabvisor connects that way).
 */
export function rawLaunchOptions(binary: ChromeBinary) {
  const args = chromeArgs(binary, '/unused').filter(
    (a) => a !== 'about:blank' && !/^--(headless|user-data-dir|remote-debugging-port|remote-debugging-address)(=|$)/.test(a),
  );
  return { executablePath: binary.path, headless: binary.headlessShell ? ('shell' as const) : true, args, defaultViewport: null };
}

/** Launch the raw side's browser, recorded so the run can close it and find its processes. */
export async function launchRaw(options: ReturnType<typeof rawLaunchOptions>, browsers: Set<Browser>, groups: Set<number>): Promise<Browser> {
  const browser = await puppeteer.launch(options);
  browsers.add(browser);
  const pid = browser.process()?.pid;
  if (pid) groups.add(pid);
  return browser;
}
