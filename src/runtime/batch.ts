// batch.navigate: one tab per URL over the caller's instances, a bounded number at a time,
// results in input order, each failure reported with its item while the rest go on.
import { ErrorCode, TabvisorError, errorMessage, notFound, unavailable } from '../errors.js';
import type { ResultOf, ValidParams } from '../protocol/methods.js';
import type { Runtime } from './runtime.js';
import { usableStates } from './views.js';

/** The validated params (defaults filled in) and one item of the result: the protocol's shapes. */
export type BatchParams = Omit<ValidParams<'batch.navigate'>, 'instanceId'>;
export type BatchItem = ResultOf<'batch.navigate'>['results'][number];

/**
 * `instances` are the ones the caller may use (its own or shared, resolved by the handler);
 * `checkUrl` applies the URL policy and throws a coded error for a refused URL.
 */
export async function batchNavigate(runtime: Runtime, params: BatchParams, instances: string[], checkUrl: (url: string) => void, signal: AbortSignal): Promise<{ results: BatchItem[] }> {
  if (instances.length === 0) {
    throw notFound('healthy instance of this client (create one with instance.create)', {});
  }
  const results: BatchItem[] = new Array(params.urls.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < params.urls.length; i = next++) {
      results[i] = await navigateOne(runtime, params, params.urls[i] as string, instances, checkUrl, signal);
    }
  };
  await Promise.all(Array.from({ length: Math.min(params.concurrency, params.urls.length) }, lane));
  return { results };
}

async function navigateOne(runtime: Runtime, params: BatchParams, url: string, instances: string[], checkUrl: (url: string) => void, signal: AbortSignal): Promise<BatchItem> {
  let tabId: string | undefined;
  let instanceId: string | undefined;
  try {
    checkUrl(url);
    signal.throwIfAborted();
    instanceId = leastLoaded(runtime, instances);
    tabId = (await runtime.openTab(instanceId, 'about:blank', false)).tabId;
    const result = await runtime.pages.navigate(tabId, url, params.waitUntil, params.timeoutMs, signal);
    return { url, ok: true, tabId, instanceId, status: result.status, title: result.title, loadMs: result.loadMs };
  } catch (error) {
    const failure = asItemError(error);
    if (tabId && !params.keepFailed) {
      // closeTab fails only for a tab already gone (its instance stopped or failed meanwhile):
      // nothing is left to close, and the item reports its own failure.
      await runtime.closeTab(tabId).catch(() => {});
      tabId = undefined;
    }
    return { url, ok: false, ...(tabId ? { tabId, instanceId } : {}), error: failure };
  }
}

/** The usable instance with the fewest tabs and room for one more. */
function leastLoaded(runtime: Runtime, instances: string[]): string {
  let best: { id: string; tabs: number } | null = null;
  let limit = 0;
  let usable = 0;
  for (const id of instances) {
    const view = runtime.findInstance(id);
    if (!view || !usableStates.has(view.state)) continue;
    usable++;
    const tabs = runtime.tabs(id).length;
    limit += view.options.limits.maxTabs;
    if (tabs >= view.options.limits.maxTabs) continue;
    if (!best || tabs < best.tabs) best = { id, tabs };
  }
  if (!best && usable === 0) {
    const state = runtime.findInstance(instances[0] as string)?.state ?? 'stopped';
    throw unavailable(instances.length === 1 ? `instance ${instances[0]}` : 'every instance of this client', state, 1_000);
  }
  if (!best) {
    const open = instances.reduce((sum, id) => sum + (runtime.findInstance(id) ? runtime.tabs(id).length : 0), 0);
    throw new TabvisorError(ErrorCode.Capacity, 'no instance has room for another tab', { limit, value: open });
  }
  return best.id;
}

function asItemError(error: unknown): NonNullable<BatchItem['error']> {
  if (error instanceof TabvisorError) return { code: error.code, message: error.message, ...(error.data ? { data: error.data } : {}) };
  return { code: ErrorCode.Internal, message: `internal error: ${errorMessage(error)}` };
}
