// The wire contract (PROTOCOL.md), one schema per method: the server validates params with
// it (filling in the defaults given here), the typed client derives its types from it, and
// the protocol reference is generated from it. Field names here are the contract: add
// optional fields, never rename.
import { z } from 'zod';
import { INSTANCE_STATES, TAB_STATES, instanceLimitsSchema, restartPolicySchema } from '../../machines/index.js';

const instanceId = z.string().regex(/^i-[\w-]{1,64}$/, 'an instance id (i-…)');
const tabId = z.string().regex(/^t-[\w-]{1,64}$/, 'a tab id (t-…)');
// data: URLs can be large; Chrome itself accepts up to 2 MB.
const url = z.string().min(1).max(2 * 1024 * 1024);
const instanceState = z.enum(INSTANCE_STATES);
const tabState = z.enum(TAB_STATES);
const noParams = z.strictObject({}).optional();
/** Params that may be left out as a whole; their fields' defaults still apply. */
const optionalParams = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape).prefault({} as never);

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

const waitUntil = z.enum(['load', 'domcontentloaded', 'networkidle']);
const timeoutMs = z.number().int().min(1).max(600_000);
/** The usual time limit of a call on a page: 30 s, as puppeteer's own default. */
const pageTimeoutMs = timeoutMs.default(30_000);
const ref = z.string().regex(/^e\d{1,9}$/, 'a ref from tab.snapshot (e1, e2, …)');
const snapshotId = z.string().regex(/^s-\d{1,12}$/, 'a snapshotId from tab.snapshot (s-…)');
// Images travel base64-encoded; an inbound frame is capped by maxPayload (1 MiB by default).
const base64Image = z.base64('base64 data').max(16 * 1024 * 1024);
const bbox = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }).describe('document coordinates, CSS px');

const snapshotNode = z.object({
  ref,
  role: z.string().describe('computed ARIA role (Chrome accessibility tree)'),
  name: z.string().describe('accessible name'),
  value: z.string().optional(),
  tag: z.string().optional(),
  bbox: bbox.optional(),
  checked: z.union([z.boolean(), z.literal('mixed')]).optional(),
  disabled: z.literal(true).optional(),
  expanded: z.boolean().optional(),
  text: z.string().optional().describe('filter "all": own text of an element without a name'),
});

const itemError = z.object({ code: z.number().int(), message: z.string(), data: z.record(z.string(), z.unknown()).optional() });

const poolStats = z.object({
  threads: z.number().int(),
  maxThreads: z.number().int(),
  queueSize: z.number().int(),
  running: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  utilization: z.number(),
  runTimeP50Ms: z.number(),
  waitTimeP50Ms: z.number(),
});

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
    result: z.object({
      status: z.enum(['ok', 'degraded']),
      instances: z.record(z.string(), z.number()),
      uptimeMs: z.number(),
      analysis: poolStats.describe('the analysis worker pool'),
    }),
  },
  'system.stats': {
    summary:
      "The runtime's own figures, as a soak samples them: heap (after a full garbage collection with gc), RSS, external and array-buffer memory, open fds, active resources by type, event-loop lag p99 since the last call, the sizes of its registries (actors, instances, tabs, CDP sessions, connections, subscriptions) and the analysis workers' heaps.",
    params: optionalParams({ gc: z.boolean().default(false).describe('collect garbage first (in the runtime and each analysis worker): the heap then shows what is kept') }),
    result: z.object({
      at: z.number().describe('epoch ms'),
      gc: z.boolean(),
      heapUsedBytes: z.number(),
      heapTotalBytes: z.number(),
      rssBytes: z.number(),
      externalBytes: z.number(),
      arrayBuffersBytes: z.number(),
      fds: z.number().int(),
      resources: z.record(z.string(), z.number().int()).describe('process.getActiveResourcesInfo() by type'),
      eventLoopLagP99Ms: z.number(),
      registries: z.record(z.string(), z.number().int()),
      workers: z.object({ threads: z.number().int(), heapUsedBytes: z.number() }),
      sampleMs: z.number().describe('how long the sample held the event loop'),
    }),
  },
  'instance.create': {
    summary: 'Launch a supervised Chrome; answers once it is healthy.',
    params: optionalParams({
      name: z.string().max(128).optional(),
      shared: z.boolean().optional().describe('other connections may use it'),
      args: z.array(z.string().max(1024)).max(64).optional().describe('extra Chrome flags'),
      limits: z.strictObject(instanceLimitsSchema.partial().shape).optional(),
      restart: z.strictObject(restartPolicySchema.pick({ maxRestarts: true, windowMs: true }).partial().shape).optional(),
    }),
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
      url: url.default('about:blank'),
      evictable: z.boolean().default(false).describe('may be closed when the instance is short of memory'),
    }),
    result: tabInfo.pick({ tabId: true, instanceId: true, url: true, state: true }),
  },
  'tab.list': {
    summary: 'Tabs of one instance, or of all instances; answered from supervisor state.',
    params: optionalParams({ instanceId: instanceId.optional() }),
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
      waitUntil: waitUntil.default('load'),
      timeoutMs: pageTimeoutMs,
    }),
    // puppeteer's own timeout answers first, naming the URL; the call's deadline is the backstop.
    deadlineMs: (p: { timeoutMs: number }) => p.timeoutMs + 1_000,
    result: z.object({ url: z.string(), status: z.number().int().nullable(), title: z.string(), loadMs: z.number() }),
  },
  'tab.snapshot': {
    summary:
      'The elements of the page with refs (e1, e2, …), role, accessible name, value, tag and box, in document order. "interactive" (default): what a user can act on — links, buttons, inputs, selects, textareas, summary, elements with a widget role, contenteditable hosts — that is rendered (has a box, not visibility:hidden); disabled ones are included and flagged. "all": every rendered element. A ref keeps naming the same element across snapshots of one document.',
    params: z.strictObject({
      tabId,
      filter: z.enum(['interactive', 'all']).default('interactive'),
      maxNodes: z.number().int().min(1).max(100_000).default(10_000).describe('stats.truncated says if more matched'),
      timeoutMs: pageTimeoutMs,
    }),
    result: z.object({
      snapshotId,
      url: z.string(),
      title: z.string(),
      nodes: z.array(snapshotNode),
      stats: z.object({
        nodes: z.number().int(),
        matched: z.number().int(),
        truncated: z.boolean(),
        domNodes: z.number().int(),
        axNodes: z.number().int(),
        captureMs: z.number(),
        flattenMs: z.number(),
        totalMs: z.number(),
      }),
    }),
  },
  'tab.action': {
    summary:
      'Act on an element given by ref (latest snapshots) or CSS selector, once it is attached, visible, enabled and not covered (else -32003 after timeoutMs). A ref whose element is gone or whose page navigated: -32000. A click or key that starts a navigation answers after the new page has loaded.',
    params: z
      .strictObject({
        tabId,
        action: z.enum(['click', 'type', 'fill', 'press', 'hover', 'select', 'scroll', 'focus']),
        ref: ref.optional(),
        selector: z.string().min(1).max(4096).optional(),
        text: z.string().max(1_000_000).optional().describe('type, fill'),
        key: z.string().min(1).max(64).optional().describe('press: "Enter", "a", "Control+A"'),
        value: z.string().max(65_536).optional().describe('select: option value or label; scroll: down|up|top|bottom|pixels'),
        timeoutMs: timeoutMs.default(5_000).describe('how long to wait for the element'),
      })
      .refine((p) => p.ref === undefined || p.selector === undefined, { message: 'give a ref or a selector, not both', path: ['selector'] }),
    // The element wait, then the action and a navigation it starts.
    deadlineMs: (p: { timeoutMs: number }) => p.timeoutMs + 5_000,
    result: z.object({ ok: z.literal(true), url: z.string(), navigated: z.boolean() }),
  },
  'tab.screenshot': {
    summary: 'A screenshot of the viewport (or the full page), base64-encoded.',
    params: z
      .strictObject({
        tabId,
        format: z.enum(['png', 'jpeg']).default('png'),
        quality: z.number().int().min(0).max(100).optional().describe('jpeg only, default 80'),
        fullPage: z.boolean().default(false),
        timeoutMs: pageTimeoutMs,
      })
      .refine((p) => p.quality === undefined || p.format === 'jpeg', { message: 'quality applies to jpeg only', path: ['quality'] }),
    result: z.object({ format: z.enum(['png', 'jpeg']), width: z.number().int(), height: z.number().int(), data: z.string() }),
  },
  'tab.metrics': {
    summary:
      "The page's JS heap, DOM nodes, documents, frames and JS event listeners (Performance.getMetrics), after a full garbage collection in the page unless gc is false. What a soak samples per tab.",
    params: z.strictObject({ tabId, gc: z.boolean().default(true), timeoutMs: pageTimeoutMs }),
    result: z.object({
      jsHeapUsedBytes: z.number(),
      jsHeapTotalBytes: z.number(),
      nodes: z.number().int(),
      documents: z.number().int(),
      jsEventListeners: z.number().int(),
      frames: z.number().int(),
      readMs: z.number().describe('the collection and the read, in the page'),
    }),
  },
  'tab.text': {
    summary: 'The readable text of the page (innerText of the body).',
    params: z.strictObject({ tabId, maxChars: z.number().int().min(1).max(50_000_000).default(1_000_000), timeoutMs: pageTimeoutMs }),
    result: z.object({ url: z.string(), title: z.string(), text: z.string(), truncated: z.boolean(), length: z.number().int() }),
  },
  'batch.navigate': {
    summary:
      'Open one tab per URL and navigate it, a bounded number at a time, over the given instance or all healthy instances of the caller (fewest tabs first). Results in input order; a failure is reported in its item (and its tab closed unless keepFailed).',
    params: z.strictObject({
      urls: z.array(url).min(1).max(500),
      instanceId: instanceId.optional(),
      concurrency: z.number().int().min(1).max(32).default(4),
      waitUntil: waitUntil.default('load'),
      timeoutMs: pageTimeoutMs.describe('per navigation'),
      keepFailed: z.boolean().default(false).describe('keep the tabs whose navigation failed'),
    }),
    // A batch runs as long as its items take, each bounded by timeoutMs.
    deadlineMs: () => undefined,
    result: z.object({
      results: z.array(
        z.object({
          url: z.string(),
          ok: z.boolean(),
          tabId: tabId.optional(),
          instanceId: instanceId.optional(),
          status: z.number().int().nullable().optional(),
          title: z.string().optional(),
          loadMs: z.number().optional(),
          error: itemError.optional(),
        }),
      ),
    }),
  },
  'analysis.diff': {
    summary: 'Refs added, removed, changed (role, name, value, state, text) and moved between an earlier snapshot and the latest one (or `to`).',
    params: z.strictObject({ tabId, since: snapshotId, to: snapshotId.optional() }),
    result: z.object({
      from: snapshotId,
      to: snapshotId,
      added: z.array(z.string()),
      removed: z.array(z.string()),
      changed: z.array(z.string()),
      moved: z.array(z.string()),
    }),
  },
  'analysis.visualDiff': {
    summary: 'Pixel comparison (pixelmatch) of a tab\'s screenshot with a baseline PNG, or of two PNGs a and b.',
    params: z
      .strictObject({
        tabId: tabId.optional(),
        baseline: base64Image.optional(),
        a: base64Image.optional(),
        b: base64Image.optional(),
        threshold: z.number().min(0).max(1).default(0.1).describe('per-pixel colour tolerance'),
        diffImage: z.boolean().default(false).describe('return diffPng'),
        fullPage: z.boolean().default(false),
        timeoutMs: pageTimeoutMs,
      })
      .refine((p) => (p.tabId !== undefined && p.baseline !== undefined) !== (p.a !== undefined && p.b !== undefined), {
        message: 'give { tabId, baseline } or { a, b }',
        path: [],
      }),
    result: z.object({ diffPixels: z.number().int(), ratio: z.number(), width: z.number().int(), height: z.number().int(), diffPng: z.string().optional() }),
  },
  'analysis.audit': {
    summary:
      'Findings on the page: images without alt text, controls without an accessible name, form fields without a label, and console errors, uncaught exceptions and failed requests since the last navigation.',
    params: z.strictObject({ tabId, timeoutMs: pageTimeoutMs }),
    result: z.object({
      url: z.string(),
      findings: z.array(
        z.object({
          kind: z.enum(['image-alt', 'control-name', 'input-label', 'console-error', 'page-error', 'failed-request']),
          severity: z.enum(['error', 'warning']),
          ref: ref.optional(),
          message: z.string(),
        }),
      ),
    }),
  },
  'supervisor.snapshot': {
    summary:
      'Write the fleet snapshot now (instances, their browsers, tabs with ids and URLs) and answer once it is durable on disk (fsync of the file and its directory). -32004 when the runtime runs without a state dir.',
    params: noParams,
    result: z.object({
      at: z.number().describe('epoch ms the snapshot was taken'),
      instances: z.number().int(),
      tabs: z.number().int(),
      bytes: z.number().int(),
      file: z.string(),
    }),
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
/** What a client sends (defaults may be left out). */
export type ParamsOf<M extends MethodName> = z.input<(typeof methods)[M]['params']>;
/** What a handler receives: validated, with the defaults filled in. */
export type ValidParams<M extends MethodName> = NonNullable<z.output<(typeof methods)[M]['params']>>;
export type ResultOf<M extends MethodName> = z.output<(typeof methods)[M]['result']>;

export const isMethodName = (name: string): name is MethodName => Object.hasOwn(methods, name);

interface MethodDefinition {
  /** How long a call may run, from its validated params; undefined: as long as it takes. */
  deadlineMs?: (params: never) => number | undefined;
}

/** A call's time limit: the method's own rule, else its timeoutMs param, else none. */
export function deadlineOf(method: MethodName, params: unknown): number | undefined {
  const rule = (methods[method] as MethodDefinition).deadlineMs as ((p: unknown) => number | undefined) | undefined;
  if (rule) return rule(params);
  const timeoutMs = (params as { timeoutMs?: unknown } | undefined)?.timeoutMs;
  return typeof timeoutMs === 'number' ? timeoutMs : undefined;
}

/** The `state` event payload (notifications are not methods, but they are contract too). */
export const stateEvent = z.object({
  actor: z.string(),
  kind: z.enum(['instance', 'tab']),
  from: z.string().nullable(),
  to: z.string(),
  reason: z.string(),
  at: z.number(),
});
