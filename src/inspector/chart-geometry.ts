// What a chart draws and how big its text is: shared by the build-time layout
// (scripts/layout-machines.ts sizes boxes and labels with it) and the page (which draws the same
// rows and labels at the same sizes), so the boxes fit their text without a layout library in
// the page.
import type { StateDescription, TransitionDescription } from './document.js';

export const CHART = {
  /** State names: sans-serif, bold. */
  titleFontPx: 12,
  /** Upper bound of a bold sans-serif character at titleFontPx. */
  titleCharPx: 7.6,
  /** Rows and edge labels: monospace, so the width of a string is known ahead of time. */
  rowFontPx: 10.5,
  rowCharPx: 6.4,
  rowLinePx: 14,
  headerPx: 24,
  padPx: 8,
  /** Longer rows are cut with an ellipsis (the full text is in the box's tooltip). */
  maxRowChars: 46,
  /** A guarded trigger longer than this puts its guard on a line of its own. */
  maxLabelChars: 30,
  initialDotPx: 10,
} as const;

/**
 * Transitions written inside their state's box rather than drawn as arrows: those without a
 * target, and those into the state's own descendants (`STOP → stopping` on the machine itself
 * holds in every state: an arrow from the outer box would cross the whole chart).
 */
export function isRow(transition: TransitionDescription): boolean {
  const targets = transition.targets ?? [];
  return targets.every((target) => target.startsWith(`${transition.source}.`));
}

export function rowText(transition: TransitionDescription): string {
  const targets = (transition.targets ?? []).map((target) => target.slice(transition.source.length + 1));
  return `${transition.label}${targets.length ? ` → ${targets.join(', ')}` : ''}${transition.actions ? ` / ${transition.actions.join(', ')}` : ''}`;
}

/** The full text rows under a state's name: what it invokes, its entry and exit actions, its row transitions. */
export function stateLines(state: StateDescription): string[] {
  const rows: string[] = [];
  for (const src of state.invoke ?? []) rows.push(`invoke ${src}`);
  if (state.entry) rows.push(`entry / ${state.entry.join(', ')}`);
  if (state.exit) rows.push(`exit / ${state.exit.join(', ')}`);
  for (const transition of state.transitions ?? []) if (isRow(transition)) rows.push(rowText(transition));
  return rows;
}

/** The rows as drawn: clipped. */
export function stateRows(state: StateDescription): string[] {
  return stateLines(state).map(clip);
}

/** One arrow per source and target: the transitions between the same two states share it and stack their labels. */
export interface EdgeGroup {
  /** Layout key: the first transition's id, with `/i` for its i-th target after the first. */
  key: string;
  source: string;
  target: string;
  transitions: TransitionDescription[];
}

export function edgeGroups(state: StateDescription): EdgeGroup[] {
  const groups = new Map<string, EdgeGroup>();
  for (const transition of state.transitions ?? []) {
    if (isRow(transition)) continue;
    (transition.targets ?? []).forEach((target, i) => {
      const group = groups.get(target);
      if (group) group.transitions.push(transition);
      else groups.set(target, { key: i === 0 ? transition.id : `${transition.id}/${i}`, source: state.id, target, transitions: [transition] });
    });
  }
  return [...groups.values()];
}

/** An edge's label lines: each transition's trigger, its guard beside it or below it when long. */
export function edgeLabelLines(transitions: readonly TransitionDescription[]): { text: string; guard: boolean }[] {
  const lines: { text: string; guard: boolean }[] = [];
  for (const t of transitions) {
    const trigger = t.guard ? t.label.slice(0, t.label.length - t.guard.length - 3) : t.label;
    if (!t.guard) lines.push({ text: clip(trigger), guard: false });
    else if (t.label.length <= CHART.maxLabelChars) lines.push({ text: t.label, guard: false });
    else lines.push({ text: clip(trigger), guard: false }, { text: clip(`  [${t.guard}]`), guard: true });
  }
  return lines;
}

export function clip(text: string): string {
  return text.length > CHART.maxRowChars ? `${text.slice(0, CHART.maxRowChars - 1)}…` : text;
}

export function textWidthPx(lines: readonly string[]): number {
  return Math.max(0, ...lines.map((line) => line.length)) * CHART.rowCharPx;
}

/** The room a state's name and rows take: the whole box of an atomic state, the header of a compound one. */
export function headerSize(state: StateDescription): { width: number; height: number } {
  const rows = stateRows(state);
  const width = Math.max(state.key.length * CHART.titleCharPx + 24, textWidthPx(rows)) + 2 * CHART.padPx;
  const height = CHART.headerPx + rows.length * CHART.rowLinePx + (rows.length > 0 ? CHART.padPx / 2 : 0);
  return { width: Math.ceil(width), height: Math.ceil(height) };
}

/** The layout key of the pseudo-node marking a compound state's initial child, and of its arrow. */
export function initialKey(stateId: string): string {
  return `${stateId}#initial`;
}
