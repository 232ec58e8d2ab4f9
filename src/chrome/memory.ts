// Memory of a Chrome instance = its whole process tree, read from /proc. Never summed RSS:
// Chrome's processes share most of their pages, so RSS counts the same memory many times.
import pidtree from 'pidtree';
import { readSmapsRollup, readStatus } from './proc.js';

export interface ProcessMemory {
  /** Proportional set size: shared pages divided among the processes that map them. */
  pssBytes: number;
  /** Unique set size: pages no other process maps. */
  ussBytes: number;
}

/** The pid and all its descendants that are still alive. */
export async function processTree(pid: number): Promise<number[]> {
  try {
    return await pidtree(pid, { root: true });
  } catch {
    // pidtree rejects when the root is gone; an empty tree is the honest answer.
    return [];
  }
}

/**
 * Chrome's own "private footprint" (RssAnon + VmSwap from /proc/PID/status), summed over the
 * tree: cheap enough for the frequent limit check, close to what Chrome's task manager shows.
 */
export async function readPrivateFootprint(pids: number[]): Promise<number> {
  const parts = await Promise.all(
    pids.map(async (pid) => {
      const status = await readStatus(pid);
      return status ? status.rssAnonBytes + status.vmSwapBytes : 0;
    }),
  );
  return parts.reduce((a, b) => a + b, 0);
}

/** PSS and USS of the tree from /proc/PID/smaps_rollup (one kernel walk per process). */
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
