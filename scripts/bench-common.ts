// What the benchmark scripts share: their command-line counts, how the raw side launches
// Chrome, how a run tells its own Chrome from others', and the formatting of their tables.
import { randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
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

/** A table's lines: the header, a rule, then the rows; the header gives the columns and their
 * order, each column as wide as its widest cell. */
export function tableLines<R extends Record<keyof R, string>>(header: R, rows: R[]): string[] {
  const keys = Object.keys(header) as (keyof R)[];
  const widths = keys.map((k) => Math.max(header[k].length, ...rows.map((r) => r[k].length)));
  const line = (r: R) => `| ${keys.map((k, i) => r[k].padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
}

/** /proc/<pid>/stat → state and process group (read after the command name, which may hold spaces). */
export function procStat(stat: string): { state: string; pgrp: number } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] as string, pgrp: Number(fields[2]) };
}

/**
 * Marks this run: `envName` is set to a fresh id in this process's environment, which every
 * process the run starts inherits (puppeteer's Chrome; tabvisor, which extends it, and its Chrome).
 *
 * Whose is a Chrome process? Puppeteer and tabvisor both start the browser as the leader of a
 * process group of its own, and every Chrome child stays in it. Chrome rewrites its children's
 * environment block (setproctitle), so the marker is readable on the browser process only: a
 * group is ours if the run recorded its leader in `groups`, or if the leader carries the marker
 * (the group is then recorded).
 */
export function markRun(envName: string) {
  const id = randomUUID();
  process.env[envName] = id;
  const marker = `${envName}=${id}`;
  const groups = new Set<number>();
  function isOurGroup(pgrp: number, readLeaderEnviron: (pgrp: number) => string | null): boolean {
    if (groups.has(pgrp)) return true;
    if (readLeaderEnviron(pgrp)?.split('\0').includes(marker)) {
      groups.add(pgrp);
      return true;
    }
    return false;
  }
  /** Live (non-zombie) headless Chrome processes not of this run. Other Chrome work on a 2-core
   * machine skews every timing; the reads are asynchronous, so a sampler does not stall one. */
  async function countForeignChrome(): Promise<number> {
    let found = 0;
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'latin1').catch(() => '');
      if (!cmdline.includes('headless')) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => null);
      if (!stat) continue;
      const { state, pgrp } = procStat(stat);
      if (state === 'Z') continue;
      const leaderEnviron = groups.has(pgrp) ? null : await readFile(`/proc/${pgrp}/environ`, 'latin1').catch(() => null);
      if (!isOurGroup(pgrp, () => leaderEnviron)) found++;
    }
    return found;
  }
  return { groups, isOurGroup, countForeignChrome };
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
