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

/** A machine's full state value: a state name, or regions and their values (`{ running: { health: 'healthy', … } }`). */
export type StateValue = string | { [region: string]: StateValue };
export const stateValue: z.ZodType<StateValue> = z.lazy(() => z.union([z.string(), z.record(z.string(), stateValue)])).meta({ id: 'StateValue' });
const stateSince = z.number().describe('epoch ms the current state was entered');
/** `all: true` lists every client's instances and tabs (operators, the inspector); else the caller's own and shared ones. */
const all = z.boolean().default(false).describe("every client's, not only the caller's own and shared ones");

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
  stateSince: stateSince.optional(),
  value: stateValue.optional().describe('the machine\'s full state value'),
});

const tabInfo = z.object({
  tabId,
  instanceId,
  url: z.string(),
  title: z.string(),
  state: tabState,
  reason: z.string().optional().describe('why the tab is in its state'),
  restarts: z.number().int().optional(),
  stateSince: stateSince.optional(),
  value: stateValue.optional().describe('the machine\'s full state value'),
});

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
  frame: z.string().optional().describe('the iframe it is in (see frames); absent in the top document'),
  hidden: z.literal(true).optional().describe('hidden from assistive technology (aria-hidden, presentational parent); its name is computed from its content'),
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

// ── the page methods agents expect (tab.back … download.get, instance.storageState) ──────

const historyResult = z.object({
  url: z.string(),
  status: z.number().int().nullable(),
  title: z.string(),
  loadMs: z.number(),
  navigated: z.boolean().describe('false: there was no entry to go to'),
});
const historyMethod = (summary: string) => ({
  summary,
  params: z.strictObject({ tabId, waitUntil: waitUntil.default('load'), timeoutMs: pageTimeoutMs }),
  deadlineMs: (p: { timeoutMs: number }) => p.timeoutMs + 1_000,
  result: historyResult,
});

const dialogRecord = z.object({
  type: z.enum(['alert', 'confirm', 'prompt', 'beforeunload']),
  message: z.string(),
  defaultValue: z.string().optional(),
  url: z.string(),
  at: z.number().describe('epoch ms it opened'),
  outcome: z.enum(['accepted', 'dismissed']).optional().describe('absent while it is held open'),
  by: z.enum(['policy', 'client', 'timeout']).optional(),
  text: z.string().optional().describe('the text a prompt was accepted with'),
});

const consoleLevel = z.enum(['error', 'warning', 'info', 'debug']);
const since = z.number().int().min(0).optional().describe('only entries with a larger seq');
const entryLimit = z.number().int().min(1).max(500).default(200).describe('the newest this many');

const downloadId = z.string().regex(/^[\w-]{1,64}$/, 'a downloadId from tab.downloads');
const downloadInfo = z.object({
  downloadId,
  tabId: tabId.nullable(),
  url: z.string(),
  name: z.string().describe('the file name the page suggested'),
  state: z.enum(['inProgress', 'completed', 'canceled']),
  receivedBytes: z.number().int(),
  totalBytes: z.number().int().describe('0 when the server did not say'),
  reason: z.string().optional().describe('why tabvisor cancelled it'),
  at: z.number().describe('epoch ms it began'),
});

const httpOrigin = z
  .string()
  .max(2_048)
  .refine((o) => URL.canParse(o) && new URL(o).origin === o && /^https?:$/.test(new URL(o).protocol), 'an http(s) origin such as https://example.com');
const storageState = z.strictObject({
  cookies: z
    .array(
      z.strictObject({
        name: z.string().max(4_096),
        value: z.string().max(16_384),
        domain: z.string().min(1).max(1_024),
        path: z.string().max(1_024),
        expires: z.number().optional().describe('epoch seconds; absent for a session cookie'),
        httpOnly: z.boolean().optional(),
        secure: z.boolean().optional(),
        sameSite: z.enum(['Strict', 'Lax', 'None']).optional(),
      }),
    )
    .max(10_000),
  origins: z
    .array(z.strictObject({ origin: httpOrigin, localStorage: z.array(z.strictObject({ name: z.string().max(4_096), value: z.string().max(5_000_000) })).max(10_000) }))
    .max(1_000),
});

const fileData = z.strictObject({
  name: z.string().min(1).max(255).regex(/^[^/\\\0]+$/, 'a file name without a path').refine((n) => n !== '.' && n !== '..', 'a file name'),
  data: z.base64('base64 data').max(64 * 1024 * 1024),
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
      allowEvaluate: z.boolean().describe('tab.evaluate is allowed (--allow-evaluate)'),
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
      warm: z
        .object({ size: z.number().int(), ready: z.number().int(), launching: z.number().int() })
        .optional()
        .describe('the warm pool (--warm N): browsers ready for instance.create, and those launching'),
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
      storageState: storageState.optional().describe('cookies and localStorage to start with (from instance.storageState)'),
    }),
    result: z.object({ instanceId, state: instanceState, pid: z.number().int().nullable(), launchMs: z.number() }),
  },
  'instance.list': {
    summary: "The caller's own and shared instances (every client's with all: true), with their state, tabs, memory and restarts.",
    params: optionalParams({ all }),
    result: z.object({ instances: z.array(instanceInfo) }),
  },
  'instance.get': {
    summary: "One element of instance.list; another client's instance that is not shared: -32002 unless all: true.",
    params: z.strictObject({ instanceId, all }),
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
    summary: "Tabs of one instance, or of all the caller's own and shared instances (every client's with all: true); answered from supervisor state.",
    params: optionalParams({ instanceId: instanceId.optional(), all }),
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
      frames: z.array(z.object({ frame: z.string(), url: z.string() })).optional().describe('the iframes read (same-origin and out-of-process), in document order'),
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
    result: z.object({ ok: z.literal(true), url: z.string(), navigated: z.boolean(), dialog: dialogRecord.optional().describe('a dialog the action opened, held for tab.dialog') }),
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
  'tab.back': historyMethod('Go back one entry in the tab\'s history and wait as tab.navigate does.'),
  'tab.forward': historyMethod('Go forward one entry in the tab\'s history and wait as tab.navigate does.'),
  'tab.reload': historyMethod('Reload the page and wait as tab.navigate does.'),
  'tab.waitFor': {
    summary:
      'Wait until the page shows a text (in its innerText), an element matches a selector (visible), the URL matches (exact, or a glob with *), or the page reaches a load state; with gone, until the text or element is gone. -32003 after timeoutMs.',
    params: z
      .strictObject({
        tabId,
        text: z.string().min(1).max(10_000).optional(),
        selector: z.string().min(1).max(4_096).optional(),
        url: z.string().min(1).max(8_192).optional(),
        state: waitUntil.optional(),
        gone: z.boolean().default(false).describe('text, selector: wait until it is gone'),
        timeoutMs: pageTimeoutMs,
      })
      .refine((p) => [p.text, p.selector, p.url, p.state].filter((v) => v !== undefined).length === 1, { message: 'give exactly one of text, selector, url, state', path: ['text'] })
      .refine((p) => !p.gone || p.text !== undefined || p.selector !== undefined, { message: 'gone applies to text and selector', path: ['gone'] }),
    deadlineMs: (p: { timeoutMs: number }) => p.timeoutMs + 1_000,
    result: z.object({ url: z.string(), waitedMs: z.number() }),
  },
  'tab.console': {
    summary:
      'What the page logged since its last navigation (console messages, and uncaught exceptions as type "page-error"), oldest first, at or above a level. The tab keeps the newest 500; dropped counts the older ones.',
    params: z.strictObject({
      tabId,
      level: consoleLevel.default('debug').describe('error: errors and exceptions; warning: and warnings; info: and logs; debug: everything'),
      text: z.string().min(1).max(1_000).optional().describe('only messages containing this'),
      since,
      limit: entryLimit,
    }),
    result: z.object({
      entries: z.array(z.object({ seq: z.number().int(), type: z.string(), text: z.string(), url: z.string().optional(), line: z.number().int().optional(), at: z.number() })),
      dropped: z.number().int(),
      truncated: z.boolean().describe('more matched than limit'),
    }),
  },
  'tab.network': {
    summary: 'The requests the page made since its last navigation, oldest first, with status, type and outcome. The tab keeps the newest 500; dropped counts the older ones.',
    params: z.strictObject({
      tabId,
      url: z.string().min(1).max(2_048).optional().describe('only URLs containing this'),
      resourceType: z.string().min(1).max(32).optional().describe('document, script, xhr, fetch, image, …'),
      failed: z.boolean().optional().describe('true: only network errors and HTTP ≥ 400'),
      since,
      limit: entryLimit,
    }),
    result: z.object({
      entries: z.array(
        z.object({
          seq: z.number().int(),
          url: z.string(),
          method: z.string(),
          resourceType: z.string(),
          state: z.enum(['pending', 'finished', 'failed']),
          status: z.number().int().optional(),
          statusText: z.string().optional(),
          mimeType: z.string().optional(),
          fromCache: z.boolean().optional(),
          errorText: z.string().optional(),
          at: z.number(),
          durationMs: z.number().optional(),
        }),
      ),
      dropped: z.number().int(),
      truncated: z.boolean(),
    }),
  },
  'tab.evaluate': {
    summary:
      'Run JavaScript in the page: an expression, or a function called with args (and, with ref, the element as its first argument); a promise is awaited. The value comes back as JSON. Only on a server started with --allow-evaluate (else -32002); a result above maxBytes is -32001; an exception in the page is -32005.',
    params: z
      .strictObject({
        tabId,
        expression: z.string().min(1).max(1_000_000).optional(),
        function: z.string().min(1).max(1_000_000).optional().describe('e.g. "(a, b) => a + b" or "(el) => el.textContent"'),
        args: z.array(z.unknown()).max(100).default([]).describe('JSON values passed to function'),
        ref: ref.optional().describe('an element from tab.snapshot, passed to function first'),
        maxBytes: z.number().int().min(1).max(50 * 1024 * 1024).default(1024 * 1024),
        timeoutMs: pageTimeoutMs,
      })
      .refine((p) => (p.expression === undefined) !== (p.function === undefined), { message: 'give an expression or a function', path: ['expression'] })
      .refine((p) => p.expression === undefined || (p.ref === undefined && p.args.length === 0), { message: 'ref and args go with a function', path: ['ref'] }),
    result: z.object({ type: z.string().describe('JavaScript type of the value (undefined, object, …)'), value: z.unknown().optional(), bytes: z.number().int() }),
  },
  'tab.dialog': {
    summary:
      'Dialogs (alert, confirm, prompt, beforeunload) never hang a tab: each is answered by the tab\'s policy — dismiss (default) or accept at once, or hold it open for this method for at most holdMs, then dismiss. With accept: answer the held dialog (-32000 if none). With policy: set how the next ones are answered. Answers the tab\'s policy, its held dialog and its recent dialogs.',
    params: z
      .strictObject({
        tabId,
        accept: z.boolean().optional().describe('answer the held dialog: accept or dismiss'),
        text: z.string().max(100_000).optional().describe('what to type into a prompt that is accepted'),
        policy: z.enum(['dismiss', 'accept', 'hold']).optional(),
        holdMs: z.number().int().min(100).max(600_000).optional().describe('hold: how long a dialog waits for an answer (default 30000)'),
      })
      .refine((p) => p.text === undefined || p.accept !== undefined || p.policy === 'accept', { message: 'text goes with accept', path: ['text'] }),
    result: z.object({
      policy: z.enum(['dismiss', 'accept', 'hold']),
      holdMs: z.number().int(),
      handled: dialogRecord.optional(),
      pending: dialogRecord.nullable(),
      recent: z.array(dialogRecord),
    }),
  },
  'tab.upload': {
    summary:
      'Set the files of an <input type=file> given by ref or selector, as if the user picked them; the page gets its input and change events. Not a file input: -32005. More than one file for an input without multiple: -32602.',
    params: z
      .strictObject({
        tabId,
        ref: ref.optional(),
        selector: z.string().min(1).max(4_096).optional(),
        files: z.array(fileData).max(100),
        timeoutMs: timeoutMs.default(5_000).describe('how long to wait for the element'),
      })
      .refine((p) => (p.ref === undefined) !== (p.selector === undefined), { message: 'give a ref or a selector', path: ['ref'] }),
    deadlineMs: (p: { timeoutMs: number }) => p.timeoutMs + 5_000,
    result: z.object({ ok: z.literal(true), files: z.array(z.object({ name: z.string(), bytes: z.number().int() })) }),
  },
  'tab.pdf': {
    summary: 'The page printed to PDF (base64), as Chrome prints it with these page settings. A PDF above maxBytes is -32001.',
    params: z.strictObject({
      tabId,
      format: z.enum(['letter', 'legal', 'tabloid', 'ledger', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']).default('letter'),
      width: z.string().regex(/^\d+(\.\d+)?(px|in|cm|mm)?$/).optional().describe('overrides format, e.g. "8.5in"'),
      height: z.string().regex(/^\d+(\.\d+)?(px|in|cm|mm)?$/).optional(),
      landscape: z.boolean().default(false),
      printBackground: z.boolean().default(false),
      scale: z.number().min(0.1).max(2).default(1),
      pageRanges: z.string().regex(/^[\d\s,-]*$/).max(256).optional().describe('e.g. "1-3, 5"'),
      maxBytes: z.number().int().min(1).max(100 * 1024 * 1024).default(20 * 1024 * 1024),
      timeoutMs: pageTimeoutMs,
    }),
    result: z.object({ data: z.string(), bytes: z.number().int() }),
  },
  'tab.downloads': {
    summary:
      'Files the tab\'s pages downloaded. They are saved per instance (inside its profile, removed with it); a file above the per-file limit, or one that takes the instance beyond its total, is cancelled and deleted.',
    params: z.strictObject({ tabId }),
    result: z.object({ downloads: z.array(downloadInfo) }),
  },
  'download.get': {
    summary: 'A completed download\'s file, base64. Still in progress or cancelled: -32004; above maxBytes: -32001.',
    params: z.strictObject({ downloadId, maxBytes: z.number().int().min(1).max(100 * 1024 * 1024).default(10 * 1024 * 1024) }),
    result: downloadInfo.extend({ bytes: z.number().int(), data: z.string() }),
  },
  'instance.storageState': {
    summary: 'The instance\'s session state: its cookies, and the localStorage of the origins its pages show. Give it to instance.create to start a new instance logged in.',
    params: z.strictObject({ instanceId }),
    result: storageState,
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
      'Accessibility findings by axe-core in every frame (one per element; kinds image-alt, control-name and input-label for the axe rules that check those, "accessibility" for the others), and console errors, uncaught exceptions and failed requests since the last navigation.',
    params: z.strictObject({
      tabId,
      rules: z.array(z.string().min(1).max(100)).min(1).max(200).optional().describe('axe-core rule ids to run (only these)'),
      tags: z.array(z.string().min(1).max(100)).min(1).max(50).optional().describe('axe-core tags whose rules run; default wcag2a, wcag2aa, wcag21a, wcag21aa, wcag22aa'),
      timeoutMs: pageTimeoutMs,
    }),
    result: z.object({
      url: z.string(),
      findings: z.array(
        z.object({
          kind: z.enum(['image-alt', 'control-name', 'input-label', 'accessibility', 'audit-error', 'console-error', 'page-error', 'failed-request']),
          severity: z.enum(['error', 'warning']).describe('error: axe impact critical or serious'),
          ref: ref.optional(),
          message: z.string(),
          rule: z.string().optional().describe('axe-core rule id'),
          impact: z.enum(['minor', 'moderate', 'serious', 'critical']).optional(),
          helpUrl: z.string().optional(),
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
    summary:
      'Receive "event" notifications for the topics, optionally for one instance. With since, the state events with a higher seq still in the history (the last 10,000 by default, kept across restarts with a state dir) come first, right after this answer, then live ones.',
    params: z.strictObject({
      topics: z.array(z.enum(['state', 'values', 'log', 'metrics', 'page'])).min(1).max(5).describe('values: full state values, coalesced; page: dialogs and downloads of the pages'),
      instanceId: instanceId.optional(),
      since: z.number().int().min(0).optional().describe('the last seq seen; 0: the whole history'),
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
  instanceId,
  from: z.string().nullable(),
  to: z.string(),
  reason: z.string(),
  at: z.number(),
  seq: z.number().int().positive(),
  value: stateValue.optional(),
  event: z.string().optional(),
});

/** The `values` event payload: an actor's full state value, at most 10 a second per actor. */
export const valuesEvent = z.object({ actor: z.string(), kind: z.enum(['instance', 'tab']), instanceId, value: stateValue, at: z.number() });
