// What each protocol method does: validation (with the defaults the schemas give) already
// happened and the call's context was made by the dispatcher (rpc.ts); ownership and URL
// policy are checked here, the work itself is the runtime's.
import { ErrorCode, TabvisorError, forbidden } from '../errors.js';
import type { MethodName, ResultOf, ValidParams } from '../protocol/methods.js';
import { batchNavigate } from '../runtime/batch.js';
import type { Runtime } from '../runtime/runtime.js';
import { runtimeStats } from '../runtime/self-stats.js';
import { usableStates, type InstanceView, type TabView } from '../runtime/views.js';
import { checkChromeArg, checkUrl, type UrlPolicy } from './url-policy.js';

/** One call: made once per request by the dispatcher, handed to everything the call does. */
export interface Call {
  /** Who owns what this call creates: the client name given at connect, else the connection. */
  owner: string;
  /**
   * Aborted when the connection goes or the call's deadline passes (its timeoutMs, or the
   * method's rule in methods.ts); the reason is the coded error the call answers with.
   */
  signal: AbortSignal;
  /** With `since`, the state events after that seq still in the history go out first. */
  subscribe(topics: Topic[], instanceId: string | undefined, since?: number): string;
  unsubscribe(subscriptionId: string): boolean;
}

export type Topic = ValidParams<'events.subscribe'>['topics'][number];

export interface ServerInfo {
  /** The server's own registries (connections, subscriptions), for system.stats. */
  registries(): Record<string, number>;
  version: string;
  chrome: { path: string; version: string; source: string };
  maxPayload: number;
  maxInFlight: number;
  urlPolicy: UrlPolicy;
  /** tab.evaluate runs only when the server was started with --allow-evaluate. */
  allowEvaluate: boolean;
}

export type Handlers = { [M in MethodName]: (params: ValidParams<M>, call: Call) => Promise<ResultOf<M>> | ResultOf<M> };

export function createHandlers(runtime: Runtime, info: ServerInfo): Handlers {
  /** An instance the caller may act on: its own, or one created with `shared: true`. */
  const owned = (instanceId: string, call: Call): InstanceView => {
    const view = runtime.instance(instanceId);
    if (!view.shared && view.owner !== call.owner) throw forbidden(`instance ${instanceId} belongs to another client`);
    return view;
  };
  /** A tab of an instance the caller may act on. */
  const ownedTab = (tabId: string, call: Call): void => void owned(runtime.tab(tabId).instanceId, call);
  /** Listing shows a client its own and shared instances; `all` shows every one (operators, the inspector). */
  const listed = (view: InstanceView, call: Call, all: boolean): boolean => all || view.shared || view.owner === call.owner;
  const describe = (view: InstanceView) => ({
    instanceId: view.instanceId,
    name: view.name,
    state: view.state,
    pid: view.pid,
    tabs: runtime.tabs(view.instanceId).length,
    memory: runtime.instanceMemory(view.instanceId),
    restarts: view.restarts,
    createdAt: view.createdAt,
    shared: view.shared,
    reason: view.reason,
    stateSince: view.stateSince,
    value: view.value,
  });
  const tabInfo = (t: TabView) => ({
    tabId: t.tabId,
    instanceId: t.instanceId,
    url: t.url,
    title: t.title,
    state: t.state,
    reason: t.reason,
    restarts: t.restarts,
    stateSince: t.stateSince,
    value: t.value,
  });
  /** A method on one of the caller's tabs: its tabId checked, the rest of its params handed on. */
  const onOwnedTab =
    <M extends MethodName>(run: (tabId: string, params: Omit<ValidParams<M>, 'tabId'>, signal: AbortSignal) => ReturnType<Handlers[M]>) =>
    ({ tabId, ...params }: ValidParams<M> & { tabId: string }, call: Call) => {
      ownedTab(tabId, call);
      return run(tabId, params as Omit<ValidParams<M>, 'tabId'>, call.signal);
    };
  const history =
    (move: 'back' | 'forward' | 'reload') =>
    ({ tabId, waitUntil, timeoutMs }: ValidParams<'tab.back'>, call: Call) => {
      ownedTab(tabId, call);
      return runtime.agent.history(tabId, move, waitUntil, timeoutMs, call.signal);
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
      allowEvaluate: info.allowEvaluate,
    }),
    'system.health': () => runtime.health(),
    'system.stats': ({ gc }) => runtimeStats(runtime, { gc, extraRegistries: info.registries() }),
    'instance.create': async (params, call) => {
      for (const arg of params.args ?? []) checkChromeArg(arg);
      const view = await runtime.createInstance(params, call.owner);
      return { instanceId: view.instanceId, state: view.state, pid: view.pid, launchMs: view.launchMs ?? 0 };
    },
    'instance.list': ({ all }, call) => ({ instances: runtime.instances().filter((v) => listed(v, call, all)).map(describe) }),
    'instance.get': ({ instanceId, all }, call) => describe(all ? runtime.instance(instanceId) : owned(instanceId, call)),
    'instance.restart': async ({ instanceId }, call) => {
      owned(instanceId, call);
      const view = await runtime.restartInstance(instanceId);
      return { instanceId, state: view.state, pid: view.pid };
    },
    'instance.stop': async ({ instanceId }, call) => {
      owned(instanceId, call);
      await runtime.stopInstance(instanceId);
      return { stopped: true as const };
    },
    'tab.open': async ({ instanceId, url, evictable }, call) => {
      owned(instanceId, call);
      checkUrl(url, info.urlPolicy);
      const { tabId } = await runtime.openTab(instanceId, url, evictable);
      const { url: current, state } = runtime.tab(tabId);
      return { tabId, instanceId, url: current, state };
    },
    'tab.list': ({ instanceId, all }, call) => {
      if (instanceId) {
        if (all) runtime.instance(instanceId); // -32000 for an unknown instance
        else owned(instanceId, call); // … and -32002 for another client's
        return { tabs: runtime.tabs(instanceId).map(tabInfo) };
      }
      const shown = new Set(runtime.instances().filter((v) => listed(v, call, all)).map((v) => v.instanceId));
      return { tabs: runtime.tabs().filter((t) => shown.has(t.instanceId)).map(tabInfo) };
    },
    'tab.close': async ({ tabId }, call) => {
      ownedTab(tabId, call);
      await runtime.closeTab(tabId);
      return { closed: true as const };
    },
    'tab.navigate': async ({ tabId, url, waitUntil, timeoutMs }, call) => {
      ownedTab(tabId, call);
      checkUrl(url, info.urlPolicy);
      return runtime.pages.navigate(tabId, url, waitUntil, timeoutMs, call.signal);
    },
    'tab.snapshot': ({ tabId, filter, maxNodes }, call) => {
      ownedTab(tabId, call);
      return runtime.pages.snapshot(tabId, { filter, maxNodes }, call.signal);
    },
    'tab.action': ({ tabId, ...action }, call) => {
      ownedTab(tabId, call);
      return runtime.pages.action(tabId, action, call.signal);
    },
    'tab.screenshot': ({ tabId, format, quality, fullPage }, call) => {
      ownedTab(tabId, call);
      return runtime.pages.screenshot(tabId, { format, quality, fullPage }, call.signal);
    },
    'tab.metrics': ({ tabId, gc }, call) => {
      ownedTab(tabId, call);
      return runtime.pages.metrics(tabId, { gc }, call.signal);
    },
    'tab.text': ({ tabId, maxChars }, call) => {
      ownedTab(tabId, call);
      return runtime.pages.text(tabId, { maxChars }, call.signal);
    },
    'tab.back': history('back'),
    'tab.forward': history('forward'),
    'tab.reload': history('reload'),
    'tab.waitFor': onOwnedTab<'tab.waitFor'>((tabId, params, signal) => runtime.agent.waitFor(tabId, params, signal)),
    'tab.console': onOwnedTab<'tab.console'>((tabId, params, signal) => runtime.agent.console(tabId, params, signal)),
    'tab.network': onOwnedTab<'tab.network'>((tabId, params, signal) => runtime.agent.network(tabId, params, signal)),
    'tab.evaluate': ({ tabId, ...params }, call) => {
      // Refused before anything is looked up: a server without the flag says nothing of its tabs.
      if (!info.allowEvaluate) throw forbidden('tab.evaluate is off: the server must be started with --allow-evaluate');
      ownedTab(tabId, call);
      return runtime.agent.evaluate(tabId, params, call.signal);
    },
    'tab.dialog': onOwnedTab<'tab.dialog'>((tabId, params, signal) => runtime.agent.dialog(tabId, params, signal)),
    'tab.upload': onOwnedTab<'tab.upload'>((tabId, params, signal) => runtime.agent.upload(tabId, params, signal)),
    'tab.pdf': onOwnedTab<'tab.pdf'>((tabId, params, signal) => runtime.agent.pdf(tabId, params, signal)),
    'tab.downloads': ({ tabId }, call) => {
      ownedTab(tabId, call);
      return runtime.agent.downloads(tabId);
    },
    'download.get': ({ downloadId, maxBytes }, call) => {
      owned(runtime.agent.findDownload(downloadId).instanceId, call);
      return runtime.agent.download(downloadId, maxBytes);
    },
    'instance.storageState': ({ instanceId }, call) => {
      owned(instanceId, call);
      return runtime.storageState(instanceId);
    },
    'batch.navigate': ({ instanceId, ...params }, call) => {
      let instances: string[];
      if (instanceId) {
        owned(instanceId, call);
        instances = [instanceId];
      } else {
        instances = runtime.instances().filter((v) => v.owner === call.owner && usableStates.has(v.state)).map((v) => v.instanceId);
      }
      return batchNavigate(runtime, params, instances, (url) => void checkUrl(url, info.urlPolicy), call.signal);
    },
    'analysis.diff': ({ tabId, since, to }, call) => {
      ownedTab(tabId, call);
      return runtime.pages.diff(tabId, since, to, call.signal);
    },
    'analysis.visualDiff': (params, call) => {
      if (params.tabId) ownedTab(params.tabId, call);
      return runtime.pages.visualDiff(params, call.signal);
    },
    'analysis.audit': ({ tabId, rules, tags }, call) => {
      ownedTab(tabId, call);
      return runtime.pages.audit(tabId, { rules, tags }, call.signal);
    },
    'supervisor.snapshot': () => runtime.snapshot(),
    'events.subscribe': ({ topics, instanceId, since }, call) => {
      if (instanceId) runtime.instance(instanceId);
      return { subscriptionId: call.subscribe(topics, instanceId, since) };
    },
    'events.unsubscribe': ({ subscriptionId }, call) => {
      if (!call.unsubscribe(subscriptionId)) {
        throw new TabvisorError(ErrorCode.NotFound, `subscription not found on this connection`, { subscriptionId });
      }
      return { ok: true as const };
    },
  };
}
