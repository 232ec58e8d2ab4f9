// batch.navigate: one tab per URL over the caller's instances, a bounded number at a time,
// results in input order, each failure reported with its item while the rest go on.
import { ErrorCode, TabvisorError, errorMessage, notFound, unavailable } from '../errors.js';
import type { Runtime } from './runtime.js';
import { usableStates } from './views.js';

export interface BatchParams {
  urls: string[];
  instanceId?: string;
  concurrency: number;
  waitUntil: 'load' | 'domcontentloaded' | 'networkidle';
  timeoutMs: number;
  keepFailed: boolean;
}

export interface BatchItem {
  url: string;
  ok: boolean;
  tabId?: string;
  instanceId?: string;
  status?: number | null;
  title?: string;
  loadMs?: number;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

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
    const result = await runtime.navigate(tabId, url, params.waitUntil, params.timeoutMs);
    return { url, ok: true, tabId, instanceId, status: result.status, title: result.title, loadMs: result.loadMs };
  } catch (error) {
    const failure = asItemError(error);
    if (tabId && !params.keepFailed) {
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
    const view = runtime.instances.get(id);
    if (!view || !usableStates.has(view.state)) continue;
    usable++;
    const tabs = runtime.tabsOf(id).length;
    limit += view.options.limits.maxTabs;
    if (tabs >= view.options.limits.maxTabs) continue;
    if (!best || tabs < best.tabs) best = { id, tabs };
  }
  if (!best && usable === 0) {
    const state = runtime.instances.get(instances[0] as string)?.state ?? 'stopped';
    throw unavailable(instances.length === 1 ? `instance ${instances[0]}` : 'every instance of this client', state, 1_000);
  }
  if (!best) {
    const open = instances.reduce((sum, id) => sum + (runtime.instances.has(id) ? runtime.tabsOf(id).length : 0), 0);
    throw new TabvisorError(ErrorCode.Capacity, 'no instance has room for another tab', { limit, value: open });
  }
  return best.id;
}

function asItemError(error: unknown): NonNullable<BatchItem['error']> {
  if (error instanceof TabvisorError) return { code: error.code, message: error.message, ...(error.data ? { data: error.data } : {}) };
  return { code: ErrorCode.Internal, message: `internal error: ${errorMessage(error)}` };
}
