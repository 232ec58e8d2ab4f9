// analysis.audit's findings: axe-core's violations in every frame (see chrome/axe.ts), one per
// element, and the console errors, uncaught exceptions and failed requests the tab saw since
// its last navigation. Runs on the pool: axe's answer on a large page is megabytes of JSON.
import { JsonBytes, readResult } from './json-bytes.js';

export type FindingKind = 'image-alt' | 'control-name' | 'input-label' | 'accessibility' | 'audit-error' | 'console-error' | 'page-error' | 'failed-request';

export interface AuditFinding {
  kind: FindingKind;
  severity: 'error' | 'warning';
  message: string;
  /** axe-core's rule, its impact and its page. */
  rule?: string;
  impact?: 'minor' | 'moderate' | 'serious' | 'critical';
  helpUrl?: string;
  /** The element, for the page service to turn into a ref: its frame's run and its index there. */
  element?: { frame: number; index: number };
}

export interface PageEvents {
  console: { type: 'error' | 'page-error'; text: string; url?: string }[];
  requests: { url: string; method: string; status?: number; errorText?: string; resourceType?: string }[];
}

/** One frame's axe run: the raw Runtime.evaluate response (its value: the run's JSON), or why there is none. */
export interface FrameRun {
  url: string;
  result: Uint8Array | null;
  error?: string;
}

// The kinds the hand-written audit had, kept for the axe rules that check the same things.
const KINDS: Record<string, FindingKind> = {
  'image-alt': 'image-alt',
  'role-img-alt': 'image-alt',
  'svg-img-alt': 'image-alt',
  'area-alt': 'image-alt',
  'object-alt': 'image-alt',
  'button-name': 'control-name',
  'link-name': 'control-name',
  'input-button-name': 'control-name',
  'input-image-alt': 'control-name',
  'summary-name': 'control-name',
  'aria-command-name': 'control-name',
  'aria-toggle-field-name': 'control-name',
  'aria-tab-name': 'control-name',
  label: 'input-label',
  'select-name': 'input-label',
  'aria-input-field-name': 'input-label',
};

interface Violation {
  id: string;
  impact: AuditFinding['impact'] | null;
  help: string;
  helpUrl: string;
  nodes: { impact: AuditFinding['impact'] | null; target: string; html: string; summary: string }[];
}

export function auditFindings(runs: FrameRun[], events: PageEvents): AuditFinding[] {
  const findings: AuditFinding[] = [];
  runs.forEach((run, frame) => {
    if (!run.result) {
      findings.push({ kind: 'audit-error', severity: 'warning', message: `axe-core could not audit ${run.url.slice(0, 300)}: ${(run.error ?? 'no result').slice(0, 300)}` });
      return;
    }
    let index = 0;
    for (const v of violations(run.result)) {
      for (const node of v.nodes) {
        const impact = node.impact ?? v.impact ?? 'moderate';
        findings.push({
          kind: KINDS[v.id] ?? 'accessibility',
          severity: impact === 'critical' || impact === 'serious' ? 'error' : 'warning',
          message: `${v.help}: ${node.target.slice(0, 200)}${node.summary ? ` — ${node.summary}` : ''}`,
          rule: v.id,
          impact,
          helpUrl: v.helpUrl,
          element: { frame, index: index++ },
        });
      }
    }
  });
  for (const entry of events.console) {
    findings.push({
      kind: entry.type === 'page-error' ? 'page-error' : 'console-error',
      severity: 'error',
      message: `${entry.type === 'page-error' ? 'uncaught exception' : 'console error'}: ${entry.text.slice(0, 500)}${entry.url ? ` (${entry.url})` : ''}`,
    });
  }
  for (const request of events.requests) {
    const why = request.errorText ?? `HTTP ${request.status}`;
    findings.push({ kind: 'failed-request', severity: 'warning', message: `${request.method} ${request.url.slice(0, 300)} failed: ${why}` });
  }
  return findings;
}

/** The violations in a `{"id":N,"result":{"result":{"type":"string","value":"[…]"}}}` response. */
function violations(bytes: Uint8Array): Violation[] {
  const json = new JsonBytes(bytes, 'axe-core result');
  let text: unknown;
  readResult(json, (at) =>
    json.object(at, (key, value) => {
      if (!json.is(key, 'result')) return undefined;
      return json.object(value, (k, v) => {
        if (!json.is(k, 'value')) return undefined;
        text = json.value(v);
        return json.end;
      });
    }),
  );
  if (typeof text !== 'string') throw new Error('axe-core gave no result');
  return JSON.parse(text) as Violation[];
}
