// What each protocol method does: validation already happened (methods.ts), ownership and URL
// policy are checked here, the work itself is the runtime's.
import type { z } from 'zod';
import { ErrorCode, TabvisorError, forbidden } from '../errors.js';
import type { MethodName, ResultOf, methods } from '../protocol/methods.js';
import { batchNavigate } from '../runtime/batch.js';
import type { Runtime } from '../runtime/runtime.js';
import { usableStates } from '../runtime/views.js';
import type { InstanceView } from '../runtime/views.js';
import { checkChromeArg, checkUrl, type UrlPolicy } from './url-policy.js';

export interface CallContext {
  /** Who owns what this call creates: the client name given at connect, else the connection. */
  owner: string;
  /** Aborted when the connection goes: work done only for its answer stops. */
  signal: AbortSignal;
  subscribe(topics: ('state' | 'log' | 'metrics')[], instanceId: string | undefined): string;
  unsubscribe(subscriptionId: string): boolean;
}

export interface ServerInfo {
  version: string;
  chrome: { path: string; version: string; source: string };
  maxPayload: number;
  maxInFlight: number;
  urlPolicy: UrlPolicy;
}

type Params<M extends MethodName> = NonNullable<z.output<(typeof methods)[M]['params']>>;
export type Handlers = { [M in MethodName]: (params: Params<M>, ctx: CallContext) => Promise<ResultOf<M>> | ResultOf<M> };

export function createHandlers(runtime: Runtime, info: ServerInfo): Handlers {
  /** An instance the caller may act on: its own, or one created with `shared: true`. */
  const owned = (instanceId: string, ctx: CallContext): InstanceView => {
    const view = runtime.instance(instanceId);
    if (!view.shared && view.owner !== ctx.owner) throw forbidden(`instance ${instanceId} belongs to another client`);
    return view;
  };
  /** A tab of an instance the caller may act on. */
  const ownedTab = (tabId: string, ctx: CallContext): void => void owned(runtime.tab(tabId).instanceId, ctx);
  const describe = (view: InstanceView) => ({
    instanceId: view.instanceId,
    name: view.name,
    state: view.state,
    pid: view.pid,
    tabs: runtime.tabsOf(view.instanceId).length,
    memory: runtime.instanceMemory(view.instanceId),
    restarts: view.restarts,
    createdAt: view.createdAt,
    shared: view.shared,
    reason: view.reason,
  });
  const tabInfo = (tabId: string) => {
    const t = runtime.tab(tabId);
    return { tabId: t.tabId, instanceId: t.instanceId, url: t.url, title: t.title, state: t.state };
  };

  return {
    'system.hello': () => ({
      version: info.version,
      protocol: 1 as const,
      chrome: info.chrome,
      limits: {
        maxInstances: runtime.maxInstances,
        maxTabsPerInstance: runtime.defaults.maxTabs,
        maxPayload: info.maxPayload,
        maxInFlight: info.maxInFlight,
      },
    }),
    'system.health': () => runtime.health(),
    'instance.create': async (params, ctx) => {
      for (const arg of params.args ?? []) checkChromeArg(arg);
      const view = await runtime.createInstance(params, ctx.owner);
      return { instanceId: view.instanceId, state: view.state, pid: view.pid, launchMs: view.launchMs ?? 0 };
    },
    'instance.list': () => ({ instances: [...runtime.instances.values()].map(describe) }),
    'instance.get': ({ instanceId }) => describe(runtime.instance(instanceId)),
    'instance.restart': async ({ instanceId }, ctx) => {
      owned(instanceId, ctx);
      const view = await runtime.restartInstance(instanceId);
      return { instanceId, state: view.state, pid: view.pid };
    },
    'instance.stop': async ({ instanceId }, ctx) => {
      owned(instanceId, ctx);
      await runtime.stopInstance(instanceId);
      return { stopped: true as const };
    },
    'tab.open': async ({ instanceId, url, evictable }, ctx) => {
      owned(instanceId, ctx);
      const target = url ?? 'about:blank';
      checkUrl(target, info.urlPolicy);
      const view = await runtime.openTab(instanceId, target, evictable ?? false);
      const { tabId, url: current, state } = tabInfo(view.tabId);
      return { tabId, instanceId, url: current, state };
    },
    'tab.list': (params) => {
      const instanceId = params?.instanceId;
      if (instanceId) runtime.instance(instanceId); // -32000 for an unknown instance
      const tabs = instanceId ? runtime.tabsOf(instanceId) : [...runtime.tabs.values()];
      return { tabs: tabs.map((t) => tabInfo(t.tabId)) };
    },
    'tab.close': async ({ tabId }, ctx) => {
      ownedTab(tabId, ctx);
      await runtime.closeTab(tabId);
      return { closed: true as const };
    },
    'tab.navigate': async ({ tabId, url, waitUntil, timeoutMs }, ctx) => {
      ownedTab(tabId, ctx);
      checkUrl(url, info.urlPolicy);
      return runtime.navigate(tabId, url, waitUntil ?? 'load', timeoutMs ?? 30_000);
    },
    'tab.snapshot': ({ tabId, filter, maxNodes, timeoutMs }, ctx) => {
      ownedTab(tabId, ctx);
      return runtime.pages.snapshot(tabId, { filter: filter ?? 'interactive', maxNodes: maxNodes ?? 10_000, timeoutMs: timeoutMs ?? 30_000 }, ctx.signal);
    },
    'tab.action': ({ tabId, timeoutMs, ...action }, ctx) => {
      ownedTab(tabId, ctx);
      return runtime.pages.action(tabId, { ...action, timeoutMs: timeoutMs ?? 5_000 }, ctx.signal);
    },
    'tab.screenshot': ({ tabId, format, quality, fullPage, timeoutMs }, ctx) => {
      ownedTab(tabId, ctx);
      return runtime.pages.screenshot(tabId, { format: format ?? 'png', quality, fullPage: fullPage ?? false, timeoutMs: timeoutMs ?? 30_000 }, ctx.signal);
    },
    'tab.text': ({ tabId, maxChars, timeoutMs }, ctx) => {
      ownedTab(tabId, ctx);
      return runtime.pages.text(tabId, { maxChars: maxChars ?? 1_000_000, timeoutMs: timeoutMs ?? 30_000 }, ctx.signal);
    },
    'batch.navigate': (params, ctx) => {
      let instances: string[];
      if (params.instanceId) {
        owned(params.instanceId, ctx);
        instances = [params.instanceId];
      } else {
        instances = [...runtime.instances.values()].filter((v) => v.owner === ctx.owner && usableStates.has(v.state)).map((v) => v.instanceId);
      }
      return batchNavigate(
        runtime,
        {
          urls: params.urls,
          concurrency: params.concurrency ?? 4,
          waitUntil: params.waitUntil ?? 'load',
          timeoutMs: params.timeoutMs ?? 30_000,
          keepFailed: params.keepFailed ?? false,
        },
        instances,
        (url) => void checkUrl(url, info.urlPolicy),
        ctx.signal,
      );
    },
    'analysis.diff': ({ tabId, since, to }, ctx) => {
      ownedTab(tabId, ctx);
      return runtime.pages.diff(tabId, since, to, ctx.signal);
    },
    'analysis.visualDiff': (params, ctx) => {
      if (params.tabId) ownedTab(params.tabId, ctx);
      return runtime.pages.visualDiff(
        { ...params, threshold: params.threshold ?? 0.1, diffImage: params.diffImage ?? false, fullPage: params.fullPage ?? false, timeoutMs: params.timeoutMs ?? 30_000 },
        ctx.signal,
      );
    },
    'analysis.audit': ({ tabId, timeoutMs }, ctx) => {
      ownedTab(tabId, ctx);
      return runtime.pages.audit(tabId, { timeoutMs: timeoutMs ?? 30_000 }, ctx.signal);
    },
    'supervisor.snapshot': () => runtime.snapshot(),
    'events.subscribe': ({ topics, instanceId }, ctx) => {
      if (instanceId) runtime.instance(instanceId);
      return { subscriptionId: ctx.subscribe(topics, instanceId) };
    },
    'events.unsubscribe': ({ subscriptionId }, ctx) => {
      if (!ctx.unsubscribe(subscriptionId)) {
        throw new TabvisorError(ErrorCode.NotFound, `subscription not found on this connection`, { subscriptionId });
      }
      return { ok: true as const };
    },
  };
}
