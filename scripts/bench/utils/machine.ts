// The machine a bench runs on: what of it is this run's, what else runs on it, and waits for
// it to be quiet. On 2 cores any other Chrome work skews every timing, and a foreign Chrome
// sharing pages lowers every PSS figure.
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { liveGroupMembers } from '../../../src/chrome/launch.js';
import { CLOCK_TICKS_PER_S, cpuTicksSync, listPids, readCmdline, readEnviron, readStat } from '../../../src/chrome/proc.js';
import { round } from './figures.js';

export const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

/** SIGKILL to a whole process group; false if it is gone already. */
export function killGroup(pgid: number): boolean {
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** Wait until every process of a group is gone (polled every 10 ms). */
export async function waitGroupGone(pgid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await liveGroupMembers(pgid)).length) {
    if (Date.now() > deadline) throw new Error(`process group ${pgid} still alive after ${timeoutMs} ms`);
    await sleep(10);
  }
}

export interface LiveProcess {
  pid: number;
  pgid: number;
}

/** Machine and own CPU time at an instant (see cpuTicksSync). */
export interface CpuReading {
  machineBusy: number;
  ours: number;
  at: number;
}

export class Machine {
  /**
   * Process groups of this run's browsers. Puppeteer and tabvisor both start the browser as
   * the leader of a process group of its own, and every Chrome child stays in it.
   */
  readonly groups = new Set<number>();
  /** The most foreign Chrome processes seen in each section (see section()). */
  readonly foreignSeen: Record<string, number> = {};
  readonly loadAverages: Record<string, number[]> = {};
  private readonly marker: string;
  private current = 'start';
  private sampler: NodeJS.Timeout | null = null;

  /**
   * Marks this run: `envName` is set to a fresh id in this process's environment, which every
   * process the run starts inherits (puppeteer's Chrome; tabvisor, which extends it, and its
   * Chrome), so that a browser nobody recorded is still known as this run's.
   */
  constructor(envName: string) {
    const id = randomUUID();
    process.env[envName] = id;
    this.marker = `${envName}=${id}`;
  }

  /**
   * Is a process group this run's? Yes if recorded, or if its leader carries the marker (it is
   * then recorded): Chrome rewrites its children's environment block (setproctitle), so the
   * marker is readable on the browser process only.
   */
  private async isOurGroup(pgid: number): Promise<boolean> {
    if (this.groups.has(pgid)) return true;
    if (!(await readEnviron(pgid))?.includes(this.marker)) return false;
    this.groups.add(pgid);
    return true;
  }

  /** Live processes: headless Chrome, or with `everyProcess` any process, this run's and others'. */
  private async scan(everyProcess: boolean): Promise<{ ours: LiveProcess[]; foreign: LiveProcess[] }> {
    const ours: LiveProcess[] = [];
    const foreign: LiveProcess[] = [];
    for (const pid of await listPids()) {
      if (pid === process.pid) continue;
      const headless = (await readCmdline(pid))?.includes('headless') ?? false;
      if (!headless && !everyProcess) continue;
      const stat = await readStat(pid);
      if (!stat || stat.state === 'Z') continue;
      if (this.groups.has(stat.pgid) || (headless && (await this.isOurGroup(stat.pgid)))) ours.push({ pid, pgid: stat.pgid });
      else if (headless) foreign.push({ pid, pgid: stat.pgid });
    }
    return { ours, foreign };
  }

  /** Live (non-zombie) headless Chrome processes, this run's and others'. */
  chromeProcesses(): Promise<{ ours: LiveProcess[]; foreign: LiveProcess[] }> {
    return this.scan(false);
  }

  async foreignChrome(): Promise<number> {
    return (await this.chromeProcesses()).foreign.length;
  }

  /** Processes of this run still alive: members of its groups, and Chrome whose group leader is marked. */
  async leftover(): Promise<LiveProcess[]> {
    return (await this.scan(true)).ours;
  }

  /** Count foreign Chrome every 2 s from now on, keeping the most seen per section. The reads
   * are asynchronous: a synchronous walk of /proc would stall a timing by ~5 ms. */
  sampleForeignChrome(): void {
    let sampling = false;
    this.sampler = setInterval(() => {
      if (sampling) return;
      sampling = true;
      void this.sample(this.current).finally(() => (sampling = false));
    }, 2_000).unref();
  }

  stopSampling(): void {
    if (this.sampler) clearInterval(this.sampler);
  }

  private async sample(section: string): Promise<void> {
    const n = await this.foreignChrome();
    this.foreignSeen[section] = Math.max(this.foreignSeen[section] ?? 0, n);
  }

  /** A measurement starts: its load average and the foreign Chrome running now are recorded under its name. */
  async section(name: string): Promise<void> {
    this.current = name;
    this.loadAverages[name] = loadavg().map((l) => round(l, 2));
    await this.sample(name);
  }

  /** Wait (at most `limitMs`) until no foreign Chrome runs; returns how many still do. */
  async waitForNoForeignChrome(limitMs: number): Promise<number> {
    const deadline = Date.now() + limitMs;
    let foreign = await this.foreignChrome();
    if (foreign) log(`${foreign} foreign Chrome processes running; waiting up to ${limitMs / 1000} s for them to go`);
    while (foreign && Date.now() < deadline) {
      await sleep(1_000);
      foreign = await this.foreignChrome();
    }
    return foreign;
  }

  cpuReading(): CpuReading {
    return { ...cpuTicksSync(this.groups), at: performance.now() };
  }

  /** Cores' worth of CPU that processes other than this one and its browsers used between two readings. */
  othersCores(a: CpuReading, b: CpuReading): number {
    const ticks = Math.max(0, b.machineBusy - a.machineBusy - (b.ours - a.ours));
    return round(ticks / CLOCK_TICKS_PER_S / ((b.at - a.at) / 1000), 2);
  }

  /** Wait (at most `limitMs`) until other processes use under `quietCores`; returns their load when we go. */
  async waitForQuietCpu(limitMs: number, quietCores: number): Promise<{ waitedMs: number; othersCores: number }> {
    const start = performance.now();
    for (;;) {
      const a = this.cpuReading();
      await sleep(500);
      const others = this.othersCores(a, this.cpuReading());
      const waitedMs = performance.now() - start;
      if (others < quietCores || waitedMs >= limitMs) {
        if (others >= quietCores) log(`WARNING: other processes still use ${others} cores after ${Math.round(waitedMs / 1000)} s; measuring anyway`);
        return { waitedMs: Math.round(waitedMs), othersCores: others };
      }
    }
  }
}
