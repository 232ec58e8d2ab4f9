// analysis.audit's accessibility checks: axe-core, run on demand in an isolated world of every
// frame of the page (the page's own session for its frames, each out-of-process iframe's on
// the raw connection). An isolated world shares the DOM but not the JavaScript: the page's
// scripts cannot see axe, and a page that redefines Array.prototype or window.axe cannot break
// it. axe's own frame messaging (postMessage to an axe in each frame's page world) is not used:
// each frame is audited on its own, with `iframes: false`.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ErrorCode, TabvisorError } from '../errors.js';
import { on, type FrameInfo } from './page-read.js';
import type { RawCdp } from './raw-cdp.js';

const require = createRequire(import.meta.url);
const WORLD = 'tabvisor-axe';
const NODES = '__tabvisorAxeNodes';
/** Elements mapped to refs per frame, at most: the rest of the findings carry no ref. */
const MAX_REFS = 2_000;

/** The default set: WCAG 2.0, 2.1 and 2.2 at levels A and AA. */
export const DEFAULT_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

interface AxeRule {
  ruleId: string;
  tags: string[];
}
let rules: AxeRule[] | null = null;
let source: Promise<string> | null = null;

/** axe-core's rules, read from the package in Node (it runs there for this much). */
function axeRules(): AxeRule[] {
  rules ??= (require('axe-core') as { getRules(): AxeRule[] }).getRules();
  return rules;
}

/** The rules and tags asked for, checked against axe's (-32602 names the unknown one). */
export function axeSelection(params: { rules?: string[]; tags?: string[] }): { rules?: string[]; tags: string[] } {
  const known = axeRules();
  const ruleIds = new Set(known.map((r) => r.ruleId));
  const tags = new Set(known.flatMap((r) => r.tags));
  params.rules?.forEach((id, k) => {
    if (!ruleIds.has(id)) throw new TabvisorError(ErrorCode.InvalidParams, `invalid params: no axe-core rule "${id}"`, { path: `params.rules.${k}`, expected: 'an axe-core rule id such as "image-alt"' });
  });
  params.tags?.forEach((tag, k) => {
    if (!tags.has(tag)) throw new TabvisorError(ErrorCode.InvalidParams, `invalid params: no axe-core rule has the tag "${tag}"`, { path: `params.tags.${k}`, expected: 'an axe-core tag such as "wcag2a", "wcag2aa" or "best-practice"' });
  });
  return { ...(params.rules ? { rules: params.rules } : {}), tags: params.tags ?? (params.rules ? [] : DEFAULT_TAGS) };
}

/** What one frame's run gave: axe's answer as the raw bytes of its CDP response (parsed on the pool), and its elements. */
export interface FrameAudit {
  frame: FrameInfo;
  /** The Runtime.evaluate response whose string value is the run's JSON (see RUN). */
  result: Buffer | null;
  /** The backend node id of each element of the findings, in order (0: not mapped). */
  backendNodeIds: number[];
  /** axe threw, or the frame went away: why. */
  error?: string;
}

export async function runAxe(raw: RawCdp, frames: FrameInfo[], selection: { rules?: string[]; tags: string[] }, signal: AbortSignal): Promise<FrameAudit[]> {
  source ??= readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  const axe = await source;
  const sessionOf = new Map([...raw.frames.values()].map((s) => [s.slot, s.sessionId]));
  // Rules first, then tags narrow them down; tags alone pick their rules.
  const runOnly = selection.rules ? { type: 'rule', values: selection.rules } : { type: 'tag', values: selection.tags };
  const keepTags = selection.rules && selection.tags.length ? selection.tags : null;
  const options = { runOnly, resultTypes: ['violations'], iframes: false, elementRef: true, performanceTimer: false };
  return Promise.all(
    frames.map(async (frame): Promise<FrameAudit> => {
      const sessionId = frame.slot === 0 ? undefined : sessionOf.get(frame.slot);
      if (frame.slot !== 0 && sessionId === undefined) return { frame, result: null, backendNodeIds: [], error: 'the frame went away' };
      const send = on(raw, sessionId, signal);
      try {
        const { executionContextId } = await send<{ executionContextId: number }>('Page.createIsolatedWorld', { frameId: frame.frameId, worldName: WORLD });
        const loaded = await send<Evaluated>('Runtime.evaluate', { expression: axe, contextId: executionContextId, silent: true });
        if (loaded.exceptionDetails) throw new Error(describe(loaded));
        const result = await raw.send(
          'Runtime.evaluate',
          { expression: run(options, keepTags), contextId: executionContextId, awaitPromise: true, returnByValue: true, silent: true },
          signal,
          sessionId,
        );
        return { frame, result, backendNodeIds: await nodeIds(send, executionContextId) };
      } catch (error) {
        if (signal.aborted) throw error;
        return { frame, result: null, backendNodeIds: [], error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

interface Evaluated {
  result: { objectId?: string; value?: unknown };
  exceptionDetails?: { text: string; exception?: { description?: string } };
}

function describe(evaluated: Evaluated): string {
  return evaluated.exceptionDetails?.exception?.description?.split('\n')[0] ?? evaluated.exceptionDetails?.text ?? 'exception';
}

// In the isolated world: run axe, keep the elements of the findings for nodeIds(), answer
// JSON (one string: the main thread hands it to the pool unparsed). Messages are cut short.
function run(options: object, keepTags: string[] | null): string {
  return `(async () => {
  const results = await axe.run(document, ${JSON.stringify(options)});
  const keep = ${JSON.stringify(keepTags)};
  const elements = [];
  const violations = results.violations.filter((v) => !keep || v.tags.some((t) => keep.includes(t))).map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => {
      elements.push(n.element);
      return { impact: n.impact, target: n.target.map(String).join(' '), html: n.html.slice(0, 300), summary: (n.failureSummary || '').slice(0, 500) };
    }),
  }));
  globalThis.${NODES} = elements;
  return JSON.stringify(violations);
})()`;
}

/** The backend node ids of the elements the run kept (one round trip per element, pipelined). */
async function nodeIds(send: ReturnType<typeof on>, contextId: number): Promise<number[]> {
  const group = 'tabvisor-axe';
  try {
    const list = await send<Evaluated>('Runtime.evaluate', { expression: NODES, contextId, objectGroup: group });
    if (!list.result.objectId) return [];
    const { result } = await send<{ result: { name: string; value?: { objectId?: string } }[] }>('Runtime.getProperties', { objectId: list.result.objectId, ownProperties: true });
    const ids: number[] = [];
    await Promise.all(
      result.map(async ({ name, value }) => {
        const k = Number(name);
        if (!Number.isInteger(k) || k >= MAX_REFS || !value?.objectId) return;
        const { node } = await send<{ node: { backendNodeId: number } }>('DOM.describeNode', { objectId: value.objectId }).catch(() => ({ node: { backendNodeId: 0 } }));
        ids[k] = node.backendNodeId;
      }),
    );
    return Array.from(ids, (id) => id ?? 0);
  } finally {
    await send('Runtime.releaseObjectGroup', { objectGroup: group }).catch(() => {});
  }
}
