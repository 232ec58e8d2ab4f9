// Which process a recorded pid is now: a pid alone is reused by the kernel, so a process is
// named by its pid, its start time (clock ticks after boot, /proc/PID/stat field 22) and the
// boot it belongs to. Also the scan that finds every process tabvisor marked in its
// environment, so that orphans are found even when nothing recorded them.
import { listPids, readBootId, readEnviron, readStat } from './proc.js';

export { readStat, type ProcessStat } from './proc.js';

export interface ProcessIdentity {
  pid: number;
  startTime: string;
  bootId: string;
}

let cachedBootId: string | undefined;

export async function bootId(): Promise<string> {
  cachedBootId ??= (await readBootId()) ?? 'unknown';
  return cachedBootId;
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
  for (const pid of await listPids()) {
    if (pid === process.pid) continue;
    const environ = await readEnviron(pid);
    if (!environ?.some((pair) => pair.startsWith(prefix))) continue;
    const env: Record<string, string> = {};
    for (const pair of environ) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.startsWith('TABVISOR_')) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    if (!(key in env) || (value !== undefined && env[key] !== value)) continue;
    const stat = await readStat(pid);
    if (!stat || stat.state === 'Z') continue;
    found.push({ pid, pgid: stat.pgid, startTime: stat.startTime, env });
  }
  return found;
}
