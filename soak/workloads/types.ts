// A workload: what a soak does to the runtime, one iteration at a time. Built-ins live beside
// this file; a user's is an ES module whose default export has this shape (README, docs/soak.md).
import type { TabvisorClient } from '../../src/client/index.js';

export interface WorkloadContext {
  /** The typed client, connected to the runtime under soak. */
  client: TabvisorClient;
  /** Instances opened for the workload (`--instances`). */
  instances: string[];
  /** Every tab opened for it (`--tabs` per instance), instance by instance. */
  tabs: string[];
  /** The tabs of each instance. */
  tabsOf: Record<string, string[]>;
  /** Base URL of the local test pages the harness serves (`${pagesUrl}/p/text`, …). */
  pagesUrl: string;
  /** Ends when the run is stopped (Ctrl-C, duration reached): long waits should honour it. */
  signal: AbortSignal;
  /** Uniform in [0, 1), from the run's seed (`--seed`): a rerun makes the same choices. */
  random: () => number;
  log(message: string): void;
}

export interface Workload {
  name: string;
  /** Once, after the instances and tabs are open and before the first iteration. */
  setup?(ctx: WorkloadContext): unknown;
  /** The unit of work: samples are taken between iterations and budgets are per iteration. */
  iteration(ctx: WorkloadContext, i: number): unknown;
  /** Once, after the last iteration (the final samples follow it). */
  teardown?(ctx: WorkloadContext): unknown;
  /** Nothing happens per iteration but time passing: budgets are then per hour. */
  idle?: boolean;
}
