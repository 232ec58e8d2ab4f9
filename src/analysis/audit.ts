// Accessibility and health findings for a page: images without alt text, controls without an
// accessible name, form fields without a label, and the console errors and failed requests
// the tab saw since its last navigation.
import type { DomTables } from './dom-scan.js';
import { buildPageModel, type AXSource, type PageElement } from './page-model.js';

export interface AuditFinding {
  kind: 'image-alt' | 'control-name' | 'input-label' | 'console-error' | 'page-error' | 'failed-request';
  severity: 'error' | 'warning';
  message: string;
  /** The element, for the tab to turn into a ref. */
  backendNodeId?: number;
}

export interface PageEvents {
  console: { type: 'error' | 'page-error'; text: string; url?: string }[];
  requests: { url: string; method: string; status?: number; errorText?: string; resourceType?: string }[];
}

const FIELD_TAGS = new Set(['select', 'textarea']);
const BUTTON_INPUTS = new Set(['button', 'submit', 'reset', 'image']);

export function auditPage(dom: DomTables, ax: AXSource, events: PageEvents): AuditFinding[] {
  // Rendered images and controls, and every <label> (a hidden one still labels its field).
  const { elements } = buildPageModel(dom, ax, (e) => e.tag === 'label' || (e.visible && (e.tag === 'img' || e.interactive)), { attributes: true });
  const labelled = new Set<string>();
  for (const e of elements) if (e.tag === 'label' && e.attributes.get('for')) labelled.add(e.attributes.get('for') as string);
  const findings: AuditFinding[] = [];
  const describe = (e: PageElement) => {
    const id = e.attributes.get('id');
    const name = e.attributes.get('name');
    return `<${e.tag}${id ? ` id="${id}"` : ''}${name ? ` name="${name}"` : ''}>`;
  };

  for (const e of elements) {
    if (!e.visible) continue;
    if (e.tag === 'img' && !e.attributes.has('alt') && !e.attributes.has('aria-label') && !e.attributes.has('aria-labelledby')) {
      const src = e.attributes.get('src') ?? '';
      findings.push({ kind: 'image-alt', severity: 'error', message: `image without alt text: ${src.slice(0, 200) || describe(e)}`, backendNodeId: e.backendNodeId });
      continue;
    }
    if (!e.interactive) continue;
    const type = (e.attributes.get('type') ?? 'text').toLowerCase();
    const isField = FIELD_TAGS.has(e.tag) || (e.tag === 'input' && !BUTTON_INPUTS.has(type));
    if (isField) {
      if (hasLabel(e, labelled)) continue;
      findings.push(
        e.name
          ? { kind: 'input-label', severity: 'warning', message: `${describe(e)} has no label (named only by ${e.attributes.has('placeholder') ? 'its placeholder' : 'its title or content'}: "${e.name.slice(0, 80)}")`, backendNodeId: e.backendNodeId }
          : { kind: 'input-label', severity: 'error', message: `${describe(e)} has no label and no accessible name`, backendNodeId: e.backendNodeId },
      );
    } else if (!e.name.trim()) {
      findings.push({ kind: 'control-name', severity: 'error', message: `${e.role} ${describe(e)} has no accessible name`, backendNodeId: e.backendNodeId });
    }
  }

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

/** A <label> for it (by id or around it), or aria-label / aria-labelledby. */
function hasLabel(e: PageElement, labelled: Set<string>): boolean {
  if (e.attributes.get('aria-label')?.trim() || e.attributes.get('aria-labelledby')?.trim()) return true;
  const id = e.attributes.get('id');
  if (id && labelled.has(id)) return true;
  return e.insideLabel;
}
