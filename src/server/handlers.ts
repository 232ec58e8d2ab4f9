// What each protocol method does: validation already happened (methods.ts), ownership and URL
// policy are checked here, the work itself is the runtime's.
import type { z } from 'zod';
import { ErrorCode, TabvisorError, forbidden } from '../errors.js';
import type { MethodName, ResultOf, methods } from '../protocol/methods.js';
import type { Runtime } from '../runtime/runtime.js';
import type { InstanceView } from '../runtime/views.js';
import { checkChromeArg, checkUrl, type UrlPolicy } from './url-policy.js';

export interface CallContext {
  /** Who owns what this call creates: the client name given at connect, else the connection. */
  owner: string;
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
      owned(runtime.tab(tabId).instanceId, ctx);
      await runtime.closeTab(tabId);
      return { closed: true as const };
    },
    'tab.navigate': async ({ tabId, url, waitUntil, timeoutMs }, ctx) => {
      owned(runtime.tab(tabId).instanceId, ctx);
      checkUrl(url, info.urlPolicy);
      return runtime.navigate(tabId, url, waitUntil ?? 'load', timeoutMs ?? 30_000);
    },
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
