// The one reader of /proc: which processes exist, what the kernel says of each (stat, statm,
// status, smaps_rollup, environ, cmdline, how many fds it has open) and of this process's open
// fds and fd limit, the machine's CPU time, available memory and the boot id. A process can
// exit between a listing and any read of it, so a read of a process that is gone answers null,
// never throws.
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

/** The same, read synchronously (one getdents walk of /proc: cheap). */
export function listPidsSync(): number[] {
  return readdirSync('/proc').filter(isPid).map(Number);
}

/**
 * A small /proc file costs ~10–25 µs of CPU to read synchronously and ~140 µs through the
 * thread pool (open, read and close each a hop), measured on this project's VM; a pass over
 * the thousands of processes of a large fleet is read synchronously, in batches of this many
 * files with a turn of the event loop between them, so that it never holds the loop for more
 * than about a millisecond.
 */
export const SYNC_BATCH = 64;

/** A turn of the event loop, between two batches of synchronous reads. */
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

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

export function readStatSync(pid: ProcessRef): ProcessStat | null {
  const text = readSync(`/proc/${pid}/stat`);
  return text ? parseStat(text) : null;
}

export interface ProcessEntry extends ProcessStat {
  pid: number;
}

/**
 * The process table: one pass over /proc/PID/stat for every PID (zombies included), or over `pids` only.
 * Read in synchronous batches (see SYNC_BATCH).
 */
export async function readProcessTable(pids: readonly number[] = listPidsSync()): Promise<ProcessEntry[]> {
  const table: ProcessEntry[] = [];
  for (let i = 0; i < pids.length; i++) {
    if (i > 0 && i % SYNC_BATCH === 0) await yieldToLoop();
    const pid = pids[i] as number;
    const stat = readStatSync(pid);
    if (stat) table.push({ pid, ...stat });
  }
  return table;
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

/** /proc/PID/status: anonymous memory, swap and threads (the soak's samplers; statm has no threads or swap). */
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
  swapBytes: number;
}

function parseRollup(text: string): MemoryRollup {
  return {
    pssBytes: kBField(text, 'Pss'),
    privateCleanBytes: kBField(text, 'Private_Clean'),
    privateDirtyBytes: kBField(text, 'Private_Dirty'),
    swapBytes: kBField(text, 'Swap'),
  };
}

/**
 * /proc/PID/smaps_rollup (one kernel walk of the process's page tables: ~1.7 ms of CPU for an
 * idle headless shell process, measured; a hundred times a small file's cost).
 */
export async function readSmapsRollup(pid: ProcessRef): Promise<MemoryRollup | null> {
  const text = await read(pid, 'smaps_rollup');
  return text === null ? null : parseRollup(text);
}

export function readSmapsRollupSync(pid: ProcessRef): MemoryRollup | null {
  const text = readSync(`/proc/${pid}/smaps_rollup`);
  return text === null ? null : parseRollup(text);
}

let pageBytes: number | undefined;

/**
 * The kernel's page size (statm counts pages): this process's resident size in status (kB) over
 * the same in statm (pages), read back to back, rounded to a power of two.
 */
function pageSize(): number {
  if (pageBytes === undefined) {
    const kB = kBField(readSync('/proc/self/status') ?? '', 'VmRSS');
    const pages = Number((readSync('/proc/self/statm') ?? '').split(' ')[1]);
    pageBytes = kB > 0 && pages > 0 ? 2 ** Math.round(Math.log2(kB / pages)) : 4096;
  }
  return pageBytes;
}

export interface ResidentMemory {
  /** Resident set size: RSS. */
  residentBytes: number;
  /** Resident anonymous memory (statm's resident less its file and shmem pages): RssAnon. */
  anonBytes: number;
}

/** /proc/PID/statm: the cheapest read of a process's resident anonymous memory (~10 µs). */
export function readResidentSync(pid: ProcessRef): ResidentMemory | null {
  const text = readSync(`/proc/${pid}/statm`);
  if (text === null) return null;
  const [, resident = 0, shared = 0] = text.split(' ').map(Number);
  return { residentBytes: resident * pageSize(), anonBytes: Math.max(0, (resident - shared) * pageSize()) };
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

/** The machine's memory as /proc/meminfo says (bytes): what can be given to new work without swapping, and the total. */
export function readMemInfoSync(): { availableBytes: number; totalBytes: number } {
  const text = readSync('/proc/meminfo') ?? '';
  return { availableBytes: kBField(text, 'MemAvailable'), totalBytes: kBField(text, 'MemTotal') };
}

/** This process's soft limit on open fds (RLIMIT_NOFILE, /proc/self/limits); null if unlimited or unreadable. */
export function fdLimitSync(): number | null {
  const match = /^Max open files\s+(\S+)/m.exec(readSync('/proc/self/limits') ?? '');
  const soft = match ? Number(match[1]) : NaN;
  return Number.isFinite(soft) ? soft : null;
}
