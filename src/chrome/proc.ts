// The one reader of /proc: which processes exist, what the kernel says of each (stat, status,
// smaps_rollup, environ, cmdline, how many fds it has open) and of this process's open fds, the
// machine's CPU time and the boot id. A process can exit between a listing and any read of it, so a read of a
// process that is gone answers null, never throws.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';

/** A pid, or 'self' for this process. */
export type ProcessRef = number | string;

const isPid = (entry: string) => /^\d+$/.test(entry);

async function read(pid: ProcessRef, file: string): Promise<string | null> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null; // gone, or not ours to read
  }
}

function readSync(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Every pid /proc lists now (zombies included). */
export async function listPids(): Promise<number[]> {
  return (await readdir('/proc')).filter(isPid).map(Number);
}

export interface ProcessStat {
  /** R, S, D, T, Z, … */
  state: string;
  ppid: number;
  pgid: number;
  /** Clock ticks after boot, as the kernel writes it: compared, never computed with. */
  startTime: string;
  /** User plus system CPU time, in clock ticks. */
  cpuTicks: number;
}

/** The text of /proc/PID/stat, parsed after the command name (which may hold spaces and parentheses). */
export function parseStat(text: string): ProcessStat {
  // fields[0] is field 3 (state); ppid is field 4, the process group 5, utime 14, stime 15,
  // the start time 22.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    state: fields[0] ?? '',
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    startTime: fields[19] ?? '',
    cpuTicks: Number(fields[11]) + Number(fields[12]),
  };
}

/** /proc/PID/stat of a process, or null if there is none with this pid. */
export async function readStat(pid: ProcessRef): Promise<ProcessStat | null> {
  const text = await read(pid, 'stat');
  return text ? parseStat(text) : null;
}

/** A field of /proc/PID/status or smaps_rollup (`Name:   1234 kB`), in bytes; 0 if absent. */
function kBField(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : 0;
}

export interface ProcessStatus {
  /** Resident anonymous memory: what the process wrote itself, not file pages. */
  rssAnonBytes: number;
  vmSwapBytes: number;
  threads: number;
}

/** /proc/PID/status: the fields tabvisor reads. */
export async function readStatus(pid: ProcessRef): Promise<ProcessStatus | null> {
  const text = await read(pid, 'status');
  if (text === null) return null;
  return {
    rssAnonBytes: kBField(text, 'RssAnon'),
    vmSwapBytes: kBField(text, 'VmSwap'),
    threads: Number(/^Threads:\s+(\d+)/m.exec(text)?.[1] ?? 0),
  };
}

export interface MemoryRollup {
  /** Proportional set size: shared pages divided among the processes that map them. */
  pssBytes: number;
  privateCleanBytes: number;
  privateDirtyBytes: number;
}

/** /proc/PID/smaps_rollup (one kernel walk of the process's mappings). */
export async function readSmapsRollup(pid: ProcessRef): Promise<MemoryRollup | null> {
  const text = await read(pid, 'smaps_rollup');
  if (text === null) return null;
  return { pssBytes: kBField(text, 'Pss'), privateCleanBytes: kBField(text, 'Private_Clean'), privateDirtyBytes: kBField(text, 'Private_Dirty') };
}

/**
 * The environment a process started with, as NAME=value strings. Chrome rewrites its
 * children's (setproctitle), so only a browser process's own is what it was given.
 */
export async function readEnviron(pid: ProcessRef): Promise<string[] | null> {
  return (await read(pid, 'environ'))?.split('\0') ?? null;
}

/** The command line as its arguments. */
export async function readArgv(pid: ProcessRef): Promise<string[] | null> {
  return (await read(pid, 'cmdline'))?.split('\0').filter((arg, i, all) => arg !== '' || i < all.length - 1) ?? null;
}

/** The command line, its arguments joined by spaces (for people to read). */
export async function readCmdline(pid: ProcessRef): Promise<string | null> {
  return (await readArgv(pid))?.join(' ') ?? null;
}

/** How many fds a process has open, or null if it is gone (or not ours to read). */
export async function countFds(pid: ProcessRef): Promise<number | null> {
  try {
    return (await readdir(`/proc/${pid}/fd`)).length;
  } catch {
    return null;
  }
}

/**
 * The members of some process groups, in one pass over /proc: group → live (non-zombie) pids.
 * Chrome starts in a group of its own and every child stays in it, so a browser's group is
 * its process tree without a `ps` per sample.
 */
export async function groupMembers(pgids: ReadonlySet<number>): Promise<Map<number, number[]>> {
  const members = new Map<number, number[]>([...pgids].map((g) => [g, []]));
  if (!pgids.size) return members;
  for (const pid of await listPids()) {
    const stat = await readStat(pid);
    if (stat && stat.state !== 'Z') members.get(stat.pgid)?.push(pid);
  }
  return members;
}

/**
 * Chrome's process type from its command line (`--type=renderer`, …); the browser has none.
 * Chrome rewrites its children's command line into one space-separated string (setproctitle),
 * so the flag is looked for inside each argument too.
 */
export function chromeProcessType(argv: readonly string[]): string {
  for (const arg of argv) {
    const match = /(?:^|\s)--type=(\S+)/.exec(arg);
    if (match) return match[1]!;
  }
  return 'browser';
}

/** This boot's id: with a pid and a start time it names a process for good. */
export async function readBootId(): Promise<string | null> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => null))?.trim() ?? null;
}

// Synchronous, unlike the rest: the integration harness counts fds in the same instant as it
// reads process.getActiveResourcesInfo(), and an asynchronous read would itself be one of
// those resources.
/** The fds this process has open (as /proc/self/fd lists them, the listing's own included). */
export function openFdsSync(): string[] {
  return readdirSync('/proc/self/fd');
}

/** What an fd of this process is open on, or null if it closed meanwhile. */
export function fdTargetSync(fd: string): string | null {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

/** USER_HZ: the unit of every CPU time in /proc. */
export const CLOCK_TICKS_PER_S = 100;

/**
 * CPU time so far, in clock ticks: the machine's busy time (all CPUs), and that of this
 * process with every process in `pgids`. Synchronous, unlike the rest: the difference of two
 * readings is taken as the CPU other processes used, so the machine's total and ours must be
 * read back to back, not spread over a walk of /proc that lets this process's own callbacks
 * run in its middle.
 */
export function cpuTicksSync(pgids: ReadonlySet<number>): { machineBusy: number; ours: number } {
  const cpu = (readSync('/proc/stat')?.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const machineBusy = (cpu[0] ?? 0) + (cpu[1] ?? 0) + (cpu[2] ?? 0) + (cpu[5] ?? 0) + (cpu[6] ?? 0) + (cpu[7] ?? 0);
  const stat = (pid: ProcessRef) => {
    const text = readSync(`/proc/${pid}/stat`);
    return text ? parseStat(text) : null;
  };
  let ours = stat('self')?.cpuTicks ?? 0;
  if (pgids.size) {
    for (const entry of readdirSync('/proc')) {
      if (!isPid(entry) || Number(entry) === process.pid) continue;
      const s = stat(entry);
      if (s && pgids.has(s.pgid)) ours += s.cpuTicks;
    }
  }
  return { machineBusy, ours };
}
