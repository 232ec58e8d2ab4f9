// Which process a recorded pid is now: a pid alone is reused by the kernel, so a process is
// named by its pid, its start time (clock ticks after boot, /proc/PID/stat field 22) and the
// boot it belongs to. Also the scan that finds every process tabvisor marked in its
// environment, so that orphans are found even when nothing recorded them.
import { readFile, readdir } from 'node:fs/promises';

export interface ProcessIdentity {
  pid: number;
  startTime: string;
  bootId: string;
}

let cachedBootId: string | undefined;

export async function bootId(): Promise<string> {
  cachedBootId ??= (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown')).trim();
  return cachedBootId;
}

export interface ProcessStat {
  /** R, S, D, T, Z, … */
  state: string;
  pgid: number;
  startTime: string;
}

/** /proc/PID/stat of a process, or null if there is none with this pid. */
export async function readStat(pid: number | string): Promise<ProcessStat | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (!stat) return null;
  // Fields after the parenthesised command (which may hold spaces): state is field 3, the
  // process group field 5, the start time field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', pgid: Number(fields[2]), startTime: fields[19] ?? '' };
}

/** The start time of a live (non-zombie) process, or null if there is none with this pid. */
export async function startTimeOf(pid: number): Promise<string | null> {
  const stat = await readStat(pid);
  return stat && stat.state !== 'Z' ? stat.startTime : null;
}

export async function identify(pid: number): Promise<ProcessIdentity | null> {
  const startTime = await startTimeOf(pid);
  return startTime === null ? null : { pid, startTime, bootId: await bootId() };
}

/** Is the recorded process still that same process? */
export async function isSameProcess(recorded: ProcessIdentity): Promise<boolean> {
  if (recorded.bootId !== (await bootId())) return false;
  return (await startTimeOf(recorded.pid)) === recorded.startTime;
}

/**
 * May the process group `recorded.pid` be killed as ours? Yes if its leader is the recorded
 * process; yes if no process has that pid any more (a pid is never handed out again while a
 * group still uses it as its id, so any member left is an orphan of ours); no if the pid now
 * names some other process.
 */
export async function groupIsOurs(recorded: ProcessIdentity): Promise<boolean> {
  if (recorded.bootId !== (await bootId())) return false;
  const now = await startTimeOf(recorded.pid);
  return now === null || now === recorded.startTime;
}

export interface MarkedProcess {
  pid: number;
  pgid: number;
  startTime: string;
  env: Record<string, string>;
}

/** Live processes of this user whose environment holds `key` (with `value`, if given). */
export async function processesMarked(key: string, value?: string): Promise<MarkedProcess[]> {
  const found: MarkedProcess[] = [];
  const prefix = `${key}=`;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (!environ.includes(prefix)) continue;
    const env: Record<string, string> = {};
    for (const pair of environ.split('\0')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.startsWith('TABVISOR_')) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    if (!(key in env) || (value !== undefined && env[key] !== value)) continue;
    const stat = await readStat(entry);
    if (!stat || stat.state === 'Z') continue;
    found.push({ pid: Number(entry), pgid: stat.pgid, startTime: stat.startTime, env });
  }
  return found;
}
