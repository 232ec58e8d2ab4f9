// What a process (a `tabvisor serve` under measurement) uses: its CPU time, resident memory and
// open fds, read from /proc, and the cores' worth of CPU between two readings.
import { readdirSync } from 'node:fs';
import { CLOCK_TICKS_PER_S, readResidentSync, readStatSync } from '../../../src/chrome/proc.js';
import { round } from './figures.js';

export interface Usage {
  /** performance.now() of the reading. */
  at: number;
  cpuTicks: number;
  rssBytes: number;
  fds: number;
}

export function usageOf(pid: number): Usage | null {
  const stat = readStatSync(pid);
  const resident = readResidentSync(pid);
  if (!stat || !resident) return null;
  let fds = 0;
  try {
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
  return { at: performance.now(), cpuTicks: stat.cpuTicks, rssBytes: resident.residentBytes, fds };
}

/** Share of one core the process used between two readings (0.05 = 5 %). */
export function coresBetween(a: Usage, b: Usage): number {
  return round((b.cpuTicks - a.cpuTicks) / CLOCK_TICKS_PER_S / ((b.at - a.at) / 1000), 4);
}
