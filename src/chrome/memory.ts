// Memory of a Chrome instance = its whole process tree, read from /proc. Never summed RSS:
// Chrome's processes share most of their pages, so RSS counts the same memory many times.
import { readFile } from 'node:fs/promises';
import pidtree from 'pidtree';

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
      const status = await readProcFile(pid, 'status');
      return status ? (kB(status, 'RssAnon') + kB(status, 'VmSwap')) * 1024 : 0;
    }),
  );
  return parts.reduce((a, b) => a + b, 0);
}

/** PSS and USS of the tree from /proc/PID/smaps_rollup (one kernel walk per process). */
export async function readProcessMemory(pids: number[]): Promise<ProcessMemory> {
  const parts = await Promise.all(
    pids.map(async (pid) => {
      const rollup = await readProcFile(pid, 'smaps_rollup');
      if (!rollup) return { pssBytes: 0, ussBytes: 0 };
      return {
        pssBytes: kB(rollup, 'Pss') * 1024,
        ussBytes: (kB(rollup, 'Private_Clean') + kB(rollup, 'Private_Dirty')) * 1024,
      };
    }),
  );
  return parts.reduce((a, b) => ({ pssBytes: a.pssBytes + b.pssBytes, ussBytes: a.ussBytes + b.ussBytes }), {
    pssBytes: 0,
    ussBytes: 0,
  });
}

async function readProcFile(pid: number, name: string): Promise<string | null> {
  try {
    return await readFile(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return null; // the process exited between listing and reading
  }
}

function kB(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}
