// What the built-in workloads share: navigating every tab at once, and waiting for an instance
// and its tabs to be healthy again after a fault.
import { RpcError } from '../../src/client/index.js';
import { ErrorCode } from '../../src/errors.js';
import type { WorkloadContext } from './types.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
export { sleep };

/** Retry once a call that met its tab or instance down (-32004) after waiting for it to be back. */
export async function whenUp<T>(ctx: WorkloadContext, instanceId: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof RpcError) || error.code !== ErrorCode.Unavailable || ctx.signal.aborted) throw error;
    await waitHealthy(ctx, instanceId);
    return call();
  }
}

export async function navigateAll(ctx: WorkloadContext, urlOf: (tabId: string, k: number) => string): Promise<void> {
  await Promise.all(
    ctx.instances.flatMap((instanceId) =>
      (ctx.tabsOf[instanceId] ?? []).map((tabId, k) => whenUp(ctx, instanceId, () => ctx.client.call('tab.navigate', { tabId, url: urlOf(tabId, k) }))),
    ),
  );
}

/**
 * Wait until the instance is healthy (with another browser than `oldPid`, when given) and all
 * its tabs are healthy; at most `timeoutMs`.
 */
export async function waitHealthy(ctx: WorkloadContext, instanceId: string, oldPid?: number | null, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const instance = await ctx.client.call('instance.get', { instanceId });
    if (instance.state === 'healthy' && (oldPid == null || instance.pid !== oldPid)) {
      const { tabs } = await ctx.client.call('tab.list', { instanceId });
      if (tabs.every((t) => t.state === 'healthy')) return;
    }
    if (instance.state === 'failed') throw new Error(`instance ${instanceId} failed: ${instance.reason}`);
    if (Date.now() > deadline) throw new Error(`instance ${instanceId} not healthy again within ${timeoutMs} ms (${instance.state}: ${instance.reason})`);
    if (ctx.signal.aborted) return;
    await sleep(200, ctx.signal);
  }
}
