// The pool's worker: piscina loads this file (compiled, from dist/) in each thread.
import { runTask, type AnalysisTask } from './tasks.js';

export default function analysisWorker(task: AnalysisTask) {
  return runTask(task);
}
