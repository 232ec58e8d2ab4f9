// The analysis tasks, as plain functions of their input: the pool's worker runs them, and
// the benchmark runs the same code inline for comparison.
import { threadId } from 'node:worker_threads';
import type { SeriesInput, SeriesVerdict } from '../../soak/stats/verdict.js';
import { auditFindings, type AuditFinding, type FrameRun, type PageEvents } from './audit.js';
import { diffSnapshots, type DiffNode, type SnapshotDiff } from './diff.js';
import { toColumns, type FlatColumns } from './flat-columns.js';
import { flattenFrames, type SessionRead } from './frame-tree.js';
import type { FlattenStats, SnapshotFilter } from './page-model.js';
import type { VisualDiff } from './visual.js';

export type AnalysisTask =
  | { kind: 'flatten'; sessions: SessionRead[]; filter: SnapshotFilter; maxNodes: number }
  | { kind: 'audit'; runs: FrameRun[]; events: PageEvents }
  | { kind: 'diff'; before: DiffNode[]; after: DiffNode[] }
  | { kind: 'visualDiff'; a: Uint8Array; b: Uint8Array; threshold: number; diffImage: boolean; names: [string, string] }
  /** The soak's leak verdicts for a run's series, with Holm's correction across them (soak/stats). */
  | { kind: 'soakVerdicts'; inputs: SeriesInput[]; alpha: number }
  /** The heap of the worker that runs it, after a full collection when `gc` (the soak samples it). */
  | { kind: 'heap'; gc: boolean };

/** A task whose input was wrong: the request's fault, answered with -32602. */
export interface InputError {
  inputError: { message: string; path: string; expected: string };
}

export interface TaskResults {
  /** The nodes as columns (see flat-columns.ts): cheap for the main thread to receive. */
  flatten: { columns: FlatColumns; frameIds: string[]; stats: FlattenStats & { flattenMs: number } };
  audit: { findings: AuditFinding[] };
  diff: SnapshotDiff;
  visualDiff: VisualDiff;
  soakVerdicts: SeriesVerdict[];
  heap: { threadId: number; heapUsedBytes: number };
}
export type TaskResult<K extends AnalysisTask['kind']> = TaskResults[K] | InputError;

export async function runTask(task: AnalysisTask): Promise<TaskResult<AnalysisTask['kind']>> {
  switch (task.kind) {
    case 'flatten': {
      const started = performance.now();
      const { nodes, frameOf, frameIds, stats } = flattenFrames(task.sessions, task.filter, task.maxNodes);
      return { columns: toColumns(nodes, frameOf), frameIds, stats: { ...stats, flattenMs: Math.round((performance.now() - started) * 10) / 10 } };
    }
    case 'audit':
      return { findings: auditFindings(task.runs, task.events) };
    case 'diff':
      return diffSnapshots(task.before, task.after);
    case 'visualDiff': {
      // pngjs and pixelmatch take ~80 ms to load: only workers that compare images pay it.
      const { ImageInputError, compareImages } = await import('./visual.js');
      try {
        return compareImages(task.a, task.b, { threshold: task.threshold, diffImage: task.diffImage, names: task.names });
      } catch (error) {
        if (error instanceof ImageInputError) return { inputError: { message: error.message, path: error.path, expected: error.expected } };
        throw error;
      }
    }
    case 'soakVerdicts': {
      // Loaded by the workers that judge a soak only.
      const { judgeFamily } = await import('../../soak/stats/verdict.js');
      return judgeFamily(task.inputs, task.alpha);
    }
    case 'heap': {
      const { collectGarbage, heapUsedBytes } = await import('../runtime/gc.js');
      if (task.gc) collectGarbage();
      return { threadId, heapUsedBytes: heapUsedBytes() };
    }
  }
}
