// A tab.snapshot as text an LLM reads well: one line per element — role, quoted name, value,
// state, [ref=eN] — under a header with the page and the snapshot, cut into pages that each
// fit a token budget. Tokens are estimated at 4 characters each (the usual rule of thumb for
// English and markup); the estimate only has to keep a page well inside a model's context.
import type { ResultOf } from '../protocol/methods.js';

export type Snapshot = ResultOf<'tab.snapshot'>;
type SnapshotNode = Snapshot['nodes'][number];

export const CHARS_PER_TOKEN = 4;
/** What one page of a snapshot may take, by default. */
export const DEFAULT_MAX_TOKENS = 8_000;
// Longer names and values are cut: one huge text field must not fill a page alone.
const MAX_FIELD = 200;

export const estimateTokens = (text: string): number => Math.ceil(text.length / CHARS_PER_TOKEN);

const quote = (text: string) => JSON.stringify(text.length > MAX_FIELD ? `${text.slice(0, MAX_FIELD)}…` : text);

/** One element: `- role "name" value="…" [checked] [disabled] [ref=e12]`. */
export function elementLine(node: SnapshotNode): string {
  const parts = [`- ${node.role || 'generic'}`];
  const name = node.name || node.text || '';
  if (name) parts.push(quote(name));
  // A checkbox's or radio's value is its form value ("on"): its state says what matters.
  if (node.value !== undefined && node.value !== '' && node.checked === undefined) parts.push(`value=${quote(node.value)}`);
  if (node.checked !== undefined) parts.push(node.checked === 'mixed' ? '[checked=mixed]' : node.checked ? '[checked]' : '[unchecked]');
  if (node.expanded !== undefined) parts.push(node.expanded ? '[expanded]' : '[collapsed]');
  if (node.disabled) parts.push('[disabled]');
  parts.push(`[ref=${node.ref}]`);
  return parts.join(' ');
}

/** The elements cut into pages of at most `maxTokens` (with their header); at least one line a page. */
export function paginate(snapshot: Snapshot, maxTokens: number): string[][] {
  const budget = Math.max(1, maxTokens - estimateTokens(header(snapshot, 99, 99)));
  const pages: string[][] = [[]];
  let used = 0;
  for (const node of snapshot.nodes) {
    const line = elementLine(node);
    const cost = estimateTokens(line) + 1;
    const page = pages[pages.length - 1] as string[];
    if (page.length > 0 && used + cost > budget) {
      pages.push([line]);
      used = cost;
    } else {
      page.push(line);
      used += cost;
    }
  }
  return pages;
}

/** Page `page` (1-based) of the snapshot as text; null when there is no such page. */
export function renderSnapshot(snapshot: Snapshot, options: { page?: number; maxTokens?: number } = {}): { text: string; pages: number } | null {
  const pages = paginate(snapshot, options.maxTokens ?? DEFAULT_MAX_TOKENS);
  const page = options.page ?? 1;
  const lines = pages[page - 1];
  if (!lines) return null;
  const more = page < pages.length ? [`(page ${page} of ${pages.length}: browser_snapshot with page: ${page + 1} shows the next elements of this same snapshot)`] : [];
  const empty = snapshot.nodes.length === 0 ? ['(no interactive elements; filter: "all" lists every element)'] : [];
  return { text: [header(snapshot, page, pages.length), ...empty, ...lines, ...more].join('\n'), pages: pages.length };
}

function header(snapshot: Snapshot, page: number, pages: number): string {
  const truncated = snapshot.stats.truncated ? `, ${snapshot.stats.matched} matched (cut at maxNodes)` : '';
  return [
    `- Page URL: ${snapshot.url}`,
    `- Page Title: ${snapshot.title}`,
    `- Snapshot ${snapshot.snapshotId}: ${snapshot.nodes.length} elements${truncated}${pages > 1 ? `, page ${page} of ${pages}` : ''}. Act on them by ref; a ref fails once its element is gone or the page navigated: take a new snapshot then.`,
  ].join('\n');
}
