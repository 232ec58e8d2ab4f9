// The runtime under soak, and how each figure is read from it. Embedded (the default): a
// tabvisor started in this process, read through its own read-only API (the pages' metrics,
// the runtime's figures and registries, the browsers' targets). Remote (--url): a running
// tabvisor read over its control channel (tab.metrics, system.stats); its browsers' /proc must
// be on this machine, and the count of each browser's targets cannot be read from outside.
import { join } from 'node:path';
import pino from 'pino';
import { AnalysisPool } from '../src/analysis/pool.js';
import { connect, type TabvisorClient } from '../src/client/index.js';
import { startTabvisor, type Tabvisor } from '../src/index.js';
import type { PageMetrics } from '../src/runtime/pages.js';
import { runtimeStats, type RuntimeStats } from '../src/runtime/self-stats.js';
import type { TestHooks } from '../src/runtime/test-hooks.js';
import type { SeriesInput, SeriesVerdict } from './stats/verdict.js';

export interface SoakTarget {
  mode: 'embedded' | 'remote';
  url: string;
  versions: { tabvisor: string; chrome: string; chromePath: string };
  /** The client the workload drives the runtime with. */
  client: TabvisorClient;
  pidOf(instanceId: string): Promise<number | null>;
  /** Page targets the instance's browser has (embedded only: null when unknown). */
  targets(instanceId: string): number | null;
  tabMetrics(tabId: string, signal: AbortSignal): Promise<PageMetrics>;
  runtimeStats(): Promise<RuntimeStats>;
  /** The run's verdicts, computed on the analysis workers. */
  judge(inputs: SeriesInput[], alpha: number): Promise<SeriesVerdict[]>;
  /** Jobs the self-test's hooks counted (null without hooks). */
  hookJobs(): number | null;
  close(): Promise<void>;
}

export async function embeddedTarget(options: { out: string; analysisThreads?: number; testHooks?: TestHooks }): Promise<SoakTarget> {
  const destination = pino.destination({ dest: join(options.out, 'runtime.log'), sync: false, mkdir: true });
  const log = pino({ level: 'info' }, destination);
  let tv: Tabvisor;
  try {
    tv = await startTabvisor({ port: 0, log, analysis: { threads: options.analysisThreads }, testHooks: options.testHooks });
  } catch (error) {
    destination.end();
    throw error;
  }
  const hello = await connect(tv.url, { client: 'soak-hello', reconnect: false });
  const { version, chrome } = await hello.call('system.hello').finally(() => hello.close());
  const client = await connect(tv.url, { client: 'soak' });
  const { runtime } = tv;
  return {
    mode: 'embedded',
    url: tv.url,
    versions: { tabvisor: version, chrome: chrome.version, chromePath: chrome.path },
    client,
    pidOf: async (instanceId) => runtime.findInstance(instanceId)?.pid ?? null,
    targets(instanceId) {
      try {
        return runtime.chrome(instanceId).browser.targets().filter((t) => t.type() === 'page').length;
      } catch {
        return null; // no browser right now (recovering)
      }
    },
    tabMetrics: (tabId, signal) => runtime.pages.metrics(tabId, { gc: true }, signal),
    runtimeStats: () => runtimeStats(runtime, { gc: true, extraRegistries: tv.server.registries() }),
    judge: (inputs, alpha) => runtime.pages.pool.run({ kind: 'soakVerdicts', inputs, alpha }),
    hookJobs: () => runtime.testHooks?.jobs ?? null,
    async close() {
      await client.close();
      await tv.close();
      await new Promise<void>((resolve) => {
        destination.once('close', () => resolve());
        destination.end();
      });
    },
  };
}

export async function remoteTarget(url: string, token: string | undefined): Promise<SoakTarget> {
  const client = await connect(url, { client: 'soak', token });
  const { version, chrome } = await client.call('system.hello');
  // The verdicts still run on analysis workers: this process's own, the remote runtime's being out of reach.
  const pool = new AnalysisPool({ threads: 1 });
  return {
    mode: 'remote',
    url,
    versions: { tabvisor: version, chrome: chrome.version, chromePath: chrome.path },
    client,
    pidOf: async (instanceId) => (await client.call('instance.get', { instanceId })).pid,
    targets: () => null,
    tabMetrics: (tabId) => client.call('tab.metrics', { tabId, gc: true }),
    runtimeStats: () => client.call('system.stats', { gc: true }),
    judge: (inputs, alpha) => pool.run({ kind: 'soakVerdicts', inputs, alpha }),
    hookJobs: () => null,
    async close() {
      await client.close();
      await pool.close();
    },
  };
}
