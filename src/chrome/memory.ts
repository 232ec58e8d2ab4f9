// Memory of the fleet's browsers, read from /proc. One pass over the process table per
// sampling tick serves the whole fleet: each browser's process group (Chrome is launched as the
// leader of its own group and every helper stays in it) is found from one listing of /proc,
// with no process spawned, so the cost per idle instance is flat. Never summed RSS: Chrome's
// processes share most of their pages, so RSS counts the same memory many times.
import {
  listPidsSync,
  readProcessTable,
  readResidentSync,
  readSmapsRollup,
  readSmapsRollupSync,
  SYNC_BATCH,
  yieldToLoop,
} from './proc.js';

export interface ProcessMemory {
  /** Proportional set size: shared pages divided among the processes that map them. */
  pssBytes: number;
  /** Unique set size: pages no other process maps. */
  ussBytes: number;
}

/** PSS and USS of some processes from /proc/PID/smaps_rollup (one kernel walk per process). */
export async function readProcessMemory(pids: number[]): Promise<ProcessMemory> {
  const parts = await Promise.all(
    pids.map(async (pid) => {
      const rollup = await readSmapsRollup(pid);
      if (!rollup) return { pssBytes: 0, ussBytes: 0 }; // the process exited between listing and reading
      return { pssBytes: rollup.pssBytes, ussBytes: rollup.privateCleanBytes + rollup.privateDirtyBytes };
    }),
  );
  return parts.reduce((a, b) => ({ pssBytes: a.pssBytes + b.pssBytes, ussBytes: a.ussBytes + b.ussBytes }), {
    pssBytes: 0,
    ussBytes: 0,
  });
}

export interface GroupMemory {
  /** Live members of the process group at the last pass. */
  pids: number[];
  /**
   * Chrome's own "private footprint" (resident anonymous memory plus swap) summed over the
   * group: close to what Chrome's task manager shows, and cheap enough for every limit check.
   */
  privateBytes: number;
  /** PSS and USS of the group at its last detailed read; null until one was made. */
  detailed: ProcessMemory | null;
}

export interface FleetSamplerOptions {
  /** A pass younger than this serves every request: the fleet's memory loops share one pass. */
  maxAgeMs: number;
  /** A group's PSS and USS (smaps_rollup) are read again at most this often. */
  detailedEveryMs: number;
  /**
   * A group whose private footprint moved by less than a twentieth (and its processes are the
   * same) since its last detailed read is read again only this long after it (default:
   * detailedEveryMs): an idle fleet's PSS barely moves, and its reads were most of the
   * sampler's cost.
   */
  unchangedDetailedEveryMs?: number;
  /** smaps_rollup reads per pass for groups never read yet (default: detailedReadsPerPass), beside those. */
  firstDetailedReadsPerPass?: number;
  /**
   * smaps_rollup reads per pass at most for groups read before (those whose footprint moved
   * most first, then the oldest), a group read whole: smaps_rollup walks a process's page
   * tables (~1.9 ms of CPU for an idle headless shell process, measured), so a large fleet's
   * PSS is refreshed at a bounded cost rather than at a cost that grows with it.
   */
  detailedReadsPerPass: number;
}

interface Group {
  memory: GroupMemory | null;
  /** performance.now() of the last detailed read (-Infinity: never). */
  detailedAt: number;
  /** Swap of each member at the last detailed read: statm does not say. */
  swapBytes: Map<number, number>;
  /** Private footprint and processes at the last detailed read. */
  privateAtDetail: number;
  pidsAtDetail: number;
}

/** A private footprint that moved less than this fraction since the last detailed read is unchanged. */
const UNCHANGED_FRACTION = 0.05;

/**
 * Without a pass for this long the pid → group map is read afresh: a pid is not handed out
 * again within seconds (the kernel allocates them in order up to pid_max), but it may be
 * after a long pause.
 */
const PGID_MAP_TTL_MS = 10_000;

/** The fleet's memory, one pass over /proc for every group sampled (see the top of the file). */
export class FleetSampler {
  private readonly groups = new Map<number, Group>();
  /** pid → process group of every live process at the last pass; only new pids are read. */
  private pgidOf = new Map<number, number>();
  private lastPassAt = -Infinity;
  private running: Promise<void> | null = null;
  /** Passes made so far (tests count them). */
  passes = 0;

  constructor(private readonly options: FleetSamplerOptions) {}

  /**
   * The memory of the process group `pgid` (a browser's pid) from the latest pass, making a
   * new one if that is older than `maxAgeMs` or did not include this group yet. Concurrent
   * requests share one pass.
   */
  async sample(pgid: number): Promise<GroupMemory> {
    let group = this.groups.get(pgid);
    if (!group) {
      group = { memory: null, detailedAt: -Infinity, swapBytes: new Map(), privateAtDetail: 0, pidsAtDetail: 0 };
      this.groups.set(pgid, group);
    }
    if (!group.memory || performance.now() - this.lastPassAt >= this.options.maxAgeMs) await this.pass();
    // A group added while a pass ran is not in it: one more pass then.
    if (!group.memory) await this.pass();
    return group.memory ?? { pids: [], privateBytes: 0, detailed: null };
  }

  /** The group's memory as last sampled, without a pass. */
  latest(pgid: number): GroupMemory | undefined {
    return this.groups.get(pgid)?.memory ?? undefined;
  }

  /** Stop sampling a group (its browser is gone). */
  forget(pgid: number): void {
    this.groups.delete(pgid);
  }

  private pass(): Promise<void> {
    // Started after the current turn's other requests have joined (a fleet's loops often fire
    // together), so that one pass reads them all.
    this.running ??= Promise.resolve()
      .then(() => this.readFleet())
      .finally(() => (this.running = null));
    return this.running;
  }

  private async readFleet(): Promise<void> {
    const started = performance.now();
    // The groups asked for so far; one added while this pass runs waits for the next.
    const sampled = [...this.groups];
    const pids = listPidsSync();
    const fresh = started - this.lastPassAt > PGID_MAP_TTL_MS;
    const known = fresh ? new Map<number, number>() : this.pgidOf;
    const table = await readProcessTable(pids.filter((pid) => !known.has(pid)));
    const pgidOf = new Map<number, number>();
    for (const pid of pids) {
      const pgid = known.get(pid);
      if (pgid !== undefined) pgidOf.set(pid, pgid);
    }
    for (const entry of table) if (entry.state !== 'Z') pgidOf.set(entry.pid, entry.pgid);
    this.pgidOf = pgidOf;

    const members = new Map<number, number[]>();
    const wanted = new Set(sampled.map(([pgid]) => pgid));
    for (const [pid, pgid] of pgidOf) if (wanted.has(pgid)) members.set(pgid, [...(members.get(pgid) ?? []), pid]);

    // Which groups get a detailed read this pass, on two budgets: groups never read (a fleet
    // just created wants its figures soon), and the rest, those whose footprint moved most
    // first, then the oldest; an unchanged one only after unchangedDetailedEveryMs. Within each
    // budget at least one group; a group is read whole.
    const unchangedEvery = this.options.unchangedDetailedEveryMs ?? this.options.detailedEveryMs;
    const moved = (g: Group) => {
      if (g.detailedAt === -Infinity) return Infinity; // never read: first of all
      if (g.memory?.pids.length !== g.pidsAtDetail) return 1;
      return Math.abs(g.memory.privateBytes - g.privateAtDetail) / Math.max(1, g.privateAtDetail);
    };
    const due = sampled
      .map(([pgid, g]) => ({ pgid, kind: g.detailedAt === -Infinity ? ('first' as const) : ('again' as const), moved: moved(g), age: started - g.detailedAt }))
      .filter(({ moved, age }) => age >= this.options.detailedEveryMs && (moved >= UNCHANGED_FRACTION || age >= unchangedEvery))
      .sort((a, b) => (a.kind === b.kind ? b.moved - a.moved || b.age - a.age : a.kind === 'first' ? -1 : 1));
    const detailNow = new Set<number>();
    const budget = { first: this.options.firstDetailedReadsPerPass ?? this.options.detailedReadsPerPass, again: this.options.detailedReadsPerPass };
    const taken = { first: 0, again: 0 };
    for (const { pgid, kind } of due) {
      const size = members.get(pgid)?.length ?? 0;
      if (taken[kind] > 0 && size > budget[kind]) continue;
      detailNow.add(pgid);
      taken[kind]++;
      budget[kind] -= size;
    }

    let reads = 0;
    for (const [pgid, group] of sampled) {
      const live: number[] = [];
      let privateBytes = 0;
      for (const pid of members.get(pgid) ?? []) {
        if (++reads % SYNC_BATCH === 0) await yieldToLoop();
        const resident = readResidentSync(pid);
        if (!resident || resident.anonBytes === 0) continue; // gone, or a zombie: it holds nothing
        live.push(pid);
        privateBytes += resident.anonBytes + (group.swapBytes.get(pid) ?? 0);
      }
      let detailed = group.memory?.detailed ?? null;
      if (detailNow.has(pgid)) {
        detailed = { pssBytes: 0, ussBytes: 0 };
        group.swapBytes.clear();
        for (const pid of live) {
          await yieldToLoop();
          const rollup = readSmapsRollupSync(pid);
          if (!rollup) continue;
          detailed.pssBytes += rollup.pssBytes;
          detailed.ussBytes += rollup.privateCleanBytes + rollup.privateDirtyBytes;
          group.swapBytes.set(pid, rollup.swapBytes);
        }
        group.detailedAt = started;
        group.privateAtDetail = privateBytes;
        group.pidsAtDetail = live.length;
      }
      group.memory = { pids: live, privateBytes, detailed };
    }
    this.lastPassAt = performance.now();
    this.passes++;
  }
}
