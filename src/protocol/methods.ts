// The wire contract (PROTOCOL.md), one schema per method: the server validates params with
// it, the typed client derives its types from it, and the README reference is generated
// from it. Field names here are the contract: add optional fields, never rename.
import { z } from 'zod';

const instanceId = z.string().regex(/^i-[\w-]{1,64}$/, 'an instance id (i-…)');
const tabId = z.string().regex(/^t-[\w-]{1,64}$/, 'a tab id (t-…)');
// data: URLs can be large; Chrome itself accepts up to 2 MB.
const url = z.string().min(1).max(2 * 1024 * 1024);
const instanceState = z.enum(['spawning', 'healthy', 'degraded', 'recovering', 'failed', 'stopping', 'stopped']);
const tabState = z.enum(['spawning', 'healthy', 'degraded', 'recovering', 'failed', 'stopped']);
const noParams = z.strictObject({}).optional();

const instanceInfo = z.object({
  instanceId,
  name: z.string(),
  state: instanceState,
  pid: z.number().int().nullable(),
  tabs: z.number().int(),
  memory: z.object({ pssMb: z.number(), ussMb: z.number() }),
  restarts: z.number().int(),
  createdAt: z.number().describe('epoch ms'),
  shared: z.boolean(),
  reason: z.string().describe('why the instance is in its state'),
});

const tabInfo = z.object({ tabId, instanceId, url: z.string(), title: z.string(), state: tabState });

export const methods = {
  'system.hello': {
    summary: 'Versions and limits of this runtime.',
    params: noParams,
    result: z.object({
      version: z.string(),
      protocol: z.literal(1),
      chrome: z.object({ path: z.string(), version: z.string(), source: z.string() }),
      limits: z.object({ maxInstances: z.number(), maxTabsPerInstance: z.number(), maxPayload: z.number(), maxInFlight: z.number() }),
    }),
  },
  'system.health': {
    summary: 'Overall status: "ok" when every instance is healthy.',
    params: noParams,
    result: z.object({ status: z.enum(['ok', 'degraded']), instances: z.record(z.string(), z.number()), uptimeMs: z.number() }),
  },
  'instance.create': {
    summary: 'Launch a supervised Chrome; answers once it is healthy.',
    params: z
      .strictObject({
        name: z.string().max(128).optional(),
        shared: z.boolean().optional().describe('other connections may use it'),
        args: z.array(z.string().max(1024)).max(64).optional().describe('extra Chrome flags'),
        limits: z
          .strictObject({
            softMemoryMb: z.number().int().min(16).max(1_048_576).optional(),
            hardMemoryMb: z.number().int().min(16).max(1_048_576).optional(),
            maxTabs: z.number().int().min(1).max(10_000).optional(),
          })
          .optional(),
        restart: z
          .strictObject({
            maxRestarts: z.number().int().min(0).max(1_000).optional(),
            windowMs: z.number().int().min(1).max(86_400_000).optional(),
          })
          .optional(),
      })
      .optional(),
    result: z.object({ instanceId, state: instanceState, pid: z.number().int().nullable(), launchMs: z.number() }),
  },
  'instance.list': {
    summary: 'Every instance with its state, tabs, memory and restarts.',
    params: noParams,
    result: z.object({ instances: z.array(instanceInfo) }),
  },
  'instance.get': {
    summary: 'One element of instance.list.',
    params: z.strictObject({ instanceId }),
    result: instanceInfo,
  },
  'instance.restart': {
    summary: 'Restart the browser; answers once healthy again with its tabs restored.',
    params: z.strictObject({ instanceId }),
    result: z.object({ instanceId, state: instanceState, pid: z.number().int().nullable() }),
  },
  'instance.stop': {
    summary: 'Stop the browser: process tree gone, profile removed.',
    params: z.strictObject({ instanceId }),
    result: z.object({ stopped: z.literal(true) }),
  },
  'tab.open': {
    summary: 'Open a tab (about:blank by default); answers once it is loaded.',
    params: z.strictObject({
      instanceId,
      url: url.optional(),
      evictable: z.boolean().optional().describe('may be closed when the instance is short of memory'),
    }),
    result: tabInfo.pick({ tabId: true, instanceId: true, url: true, state: true }),
  },
  'tab.list': {
    summary: 'Tabs of one instance, or of all instances; answered from supervisor state.',
    params: z.strictObject({ instanceId: instanceId.optional() }).optional(),
    result: z.object({ tabs: z.array(tabInfo) }),
  },
  'tab.close': {
    summary: 'Close a tab.',
    params: z.strictObject({ tabId }),
    result: z.object({ closed: z.literal(true) }),
  },
  'tab.navigate': {
    summary: 'Navigate a tab and wait for the load event (or as asked).',
    params: z.strictObject({
      tabId,
      url,
      waitUntil: z.enum(['load', 'domcontentloaded', 'networkidle']).optional(),
      timeoutMs: z.number().int().min(1).max(600_000).optional(),
    }),
    result: z.object({ url: z.string(), status: z.number().int().nullable(), title: z.string(), loadMs: z.number() }),
  },
  'events.subscribe': {
    summary: 'Receive "event" notifications for the topics, optionally for one instance.',
    params: z.strictObject({
      topics: z.array(z.enum(['state', 'log', 'metrics'])).min(1).max(3),
      instanceId: instanceId.optional(),
    }),
    result: z.object({ subscriptionId: z.string() }),
  },
  'events.unsubscribe': {
    summary: 'Stop a subscription.',
    params: z.strictObject({ subscriptionId: z.string().max(64) }),
    result: z.object({ ok: z.literal(true) }),
  },
} as const;

export type MethodName = keyof typeof methods;
export type ParamsOf<M extends MethodName> = z.input<(typeof methods)[M]['params']>;
export type ResultOf<M extends MethodName> = z.output<(typeof methods)[M]['result']>;

export const isMethodName = (name: string): name is MethodName => Object.hasOwn(methods, name);

/** The `state` event payload (notifications are not methods, but they are contract too). */
export const stateEvent = z.object({
  actor: z.string(),
  kind: z.enum(['instance', 'tab']),
  from: z.string().nullable(),
  to: z.string(),
  reason: z.string(),
  at: z.number(),
});
