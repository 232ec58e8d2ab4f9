// Whether one more browser may start now (an instance, or a warm one for the pool): the
// instance limit, the machine's memory reserve and this process's file descriptors. Each
// refusal is -32001 with `{ limit, value, resource }` naming what ran out, and nothing that
// runs is disturbed. The limit is a count fixed at start; memory and fds are read at each
// admission, so the fleet is refused before the machine swaps or the runtime runs out of fds.
import { fdLimitSync, openFdsSync, readMemInfoSync } from '../chrome/proc.js';
import { capacity } from '../errors.js';

const MB = 1024 * 1024;

/**
 * What an instance is taken to cost, in MB, for the default count limit. In a fleet, where
 * Chrome's processes share their code pages, an instance with one tab measured 63.6 MB PSS at
 * 100 instances and 62.8 MB at 200 (bench:scale, 2026-12-02), 53.5 MB at 300 once the network
 * service ran in the browser process; 70 MB is the first with a tenth of headroom, so the default admits as many instances as the memory available holds when they
 * idle (~300 on a 24-GiB machine). A lone instance costs more (~147 MB: nothing to share
 * with), and busy tabs far more; the count only caps the fleet. What keeps the machine out of
 * swap is the reserve, checked at every admission against the memory available then, and
 * each instance's soft and hard limits.
 */
export const INSTANCE_FOOTPRINT_MB = 70;

/**
 * File descriptors the runtime holds per instance: 4 measured for a browser (its DevTools
 * socket, the keeper's pipe, …), ~4–5 more per tab with a page connection; 16 covers a few tabs.
 */
export const FDS_PER_INSTANCE = 16;

/** Descriptors kept free for everything else: client connections, the state dir, workers. */
export const FD_RESERVE = 64;

/** The reserve of memory never handed to new browsers: 10 % of the machine, at least 512 MB. */
export function defaultMemoryReserveMb(totalBytes: number): number {
  return Math.max(512, Math.round((totalBytes / MB) * 0.1));
}

/** As many instances as the memory available now holds above the reserve, at INSTANCE_FOOTPRINT_MB each. */
export function defaultMaxInstances(availableBytes: number, reserveMb: number): number {
  return Math.max(1, Math.floor((availableBytes / MB - reserveMb) / INSTANCE_FOOTPRINT_MB));
}

/** What admission reads of the machine (tests give their own). */
export interface MachineReadings {
  memory(): { availableBytes: number; totalBytes: number };
  /** RLIMIT_NOFILE of this process, null if unlimited. */
  fdLimit(): number | null;
  openFds(): number;
}

export const liveReadings: MachineReadings = {
  memory: readMemInfoSync,
  fdLimit: fdLimitSync,
  openFds: () => openFdsSync().length,
};

export interface AdmissionOptions {
  /** Default: as many as the memory available at start holds (defaultMaxInstances). */
  maxInstances?: number;
  /** Default: defaultMemoryReserveMb. */
  memoryReserveMb?: number;
}

export class Admission {
  readonly maxInstances: number;
  /** May be changed while the runtime runs (an operator's setting; tests raise it to trip the check). */
  memoryReserveMb: number;

  constructor(options: AdmissionOptions = {}, private readonly readings: MachineReadings = liveReadings) {
    const { availableBytes, totalBytes } = readings.memory();
    this.memoryReserveMb = options.memoryReserveMb ?? defaultMemoryReserveMb(totalBytes);
    this.maxInstances = options.maxInstances ?? defaultMaxInstances(availableBytes, this.memoryReserveMb);
  }

  /**
   * Throws -32001 unless one more browser may start. `browsers`: instances and warm browsers
   * that exist or are starting; `launching`: those of them whose browser is not up yet, whose
   * memory and fds the readings do not show.
   */
  check(browsers: number, launching: number): void {
    if (browsers >= this.maxInstances) throw capacity('instance limit reached', this.maxInstances, browsers, 'instances');
    const availableMb = Math.floor(this.readings.memory().availableBytes / MB);
    const startingMb = INSTANCE_FOOTPRINT_MB * (launching + 1);
    if (availableMb - startingMb < this.memoryReserveMb) {
      throw capacity(
        `not enough memory: ${availableMb} MB available, less ${startingMb} MB for the browsers starting, is below the reserve of ${this.memoryReserveMb} MB`,
        this.memoryReserveMb,
        availableMb,
        'memory',
      );
    }
    const fdLimit = this.readings.fdLimit();
    if (fdLimit === null) return;
    const open = this.readings.openFds();
    if (open + FDS_PER_INSTANCE * (launching + 1) + FD_RESERVE > fdLimit) {
      throw capacity(
        `file descriptors running out: ${open} of ${fdLimit} open (ulimit -n), a new instance needs about ${FDS_PER_INSTANCE} and ${FD_RESERVE} are kept free`,
        fdLimit,
        open,
        'fds',
      );
    }
  }
}
