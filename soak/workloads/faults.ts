// Navigations with a fault between them, each kind in turn on each instance in turn: kill -9
// of a browser, a renderer crash (kill -9 of one renderer process), a frozen browser (SIGSTOP,
// found by the missed probes). Each fault waits for the recovery before the next iteration,
// so the run proves that recovering, over and over, leaks nothing.
import { chromeProcessType, groupMembers, readArgv } from '../../src/chrome/proc.js';
import { CYCLE } from '../pages.js';
import { navigateAll, sleep, waitHealthy } from './common.js';
import type { Workload, WorkloadContext } from './types.js';

export const FAULTS = ['kill-browser', 'crash-renderer', 'stop-browser'] as const;

/** A fault every this many iterations: apart enough that restart intensity (5 in 60 s) is never reached. */
const FAULT_EVERY = 20;

async function rendererOf(browserPid: number): Promise<number | null> {
  const pids = (await groupMembers(new Set([browserPid]))).get(browserPid) ?? [];
  for (const pid of pids) if (chromeProcessType((await readArgv(pid)) ?? []) === 'renderer') return pid;
  return null;
}

async function inject(ctx: WorkloadContext, fault: (typeof FAULTS)[number], instanceId: string): Promise<void> {
  const { pid } = await ctx.client.call('instance.get', { instanceId });
  if (pid === null) return;
  if (fault === 'crash-renderer') {
    const renderer = await rendererOf(pid);
    if (renderer === null) return;
    process.kill(renderer, 'SIGKILL');
    // The tabs it served go recovering once Chrome reports the crash; wait for that, then for them.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && !ctx.signal.aborted) {
      const { tabs } = await ctx.client.call('tab.list', { instanceId });
      if (tabs.some((t) => t.state !== 'healthy')) break;
      await sleep(50, ctx.signal);
    }
    await waitHealthy(ctx, instanceId);
    return;
  }
  process.kill(pid, fault === 'kill-browser' ? 'SIGKILL' : 'SIGSTOP');
  await waitHealthy(ctx, instanceId, pid);
}

const faults: Workload = {
  name: 'faults',
  async iteration(ctx, i) {
    await navigateAll(ctx, (_, k) => `${ctx.pagesUrl}${CYCLE[(i + k) % CYCLE.length]}?i=${i}`);
    if (i % FAULT_EVERY === FAULT_EVERY - 1) {
      const n = Math.floor(i / FAULT_EVERY);
      const instanceId = ctx.instances[n % ctx.instances.length]!;
      const fault = FAULTS[Math.floor(n / ctx.instances.length) % FAULTS.length]!;
      ctx.log(`iteration ${i}: ${fault} on ${instanceId}`);
      await inject(ctx, fault, instanceId);
    }
  },
};
export default faults;
