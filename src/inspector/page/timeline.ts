// The timeline: one swimlane per actor coloured by state, a tick per transition, its reason and
// time on hover. Only the lanes in view are drawn (a hundred instances with four tabs each
// make five hundred lanes), and one listener serves every hover.
import { h, s, setText } from './dom.js';
import { clock, duration, shortDuration, stateClass, when, type TimeMode } from './format.js';
import type { ActorView, Store, Transition } from './store.js';

export interface TimelineFilters {
  instanceId: string;
  kind: '' | 'instance' | 'tab';
  state: string;
  text: string;
  windowMs: number;
}

interface Lane {
  id: string;
  actor: ActorView | undefined;
  transitions: readonly Transition[];
}

const LANE_PX = 20;
const LABEL_PX = 190;
export const WINDOWS: [string, number][] = [
  ['1 min', 60_000],
  ['5 min', 300_000],
  ['15 min', 900_000],
  ['1 h', 3_600_000],
  ['6 h', 21_600_000],
  ['all', 0],
];

export class TimelineView {
  filters: TimelineFilters = { instanceId: '', kind: '', state: '', text: '', windowMs: 900_000 };
  timeMode: TimeMode = 'relative';
  selected: string | null = null;
  private lanes: Lane[] = [];
  private size = { width: 0, height: 0 };
  private scrollTop = 0;
  private range = { from: 0, to: 1 };
  private readonly axis: SVGSVGElement;
  private readonly svg: SVGSVGElement;
  private readonly spacer: HTMLElement;
  private readonly tooltip: HTMLElement;
  private readonly count: HTMLElement;

  constructor(
    private readonly scroller: HTMLElement,
    axisHost: HTMLElement,
    count: HTMLElement,
    private readonly store: Store,
    private readonly eventLabel: (raw: string) => string,
    private readonly onSelect: (actorId: string) => void,
  ) {
    this.axis = s('svg', { class: 'axis' });
    axisHost.replaceChildren(this.axis);
    this.spacer = h('div', { class: 'spacer' });
    this.svg = s('svg', { class: 'lanes' });
    this.scroller.replaceChildren(this.spacer, this.svg);
    this.tooltip = h('div', { class: 'tooltip hidden', role: 'tooltip' });
    document.body.append(this.tooltip);
    this.count = count;
    // Sizes and scroll offset are read when they change, never inside a frame's writes (a read
    // there would force the layout of the whole page, five hundred tree rows included).
    new ResizeObserver(() => {
      this.size = { width: this.scroller.clientWidth, height: this.scroller.clientHeight };
      this.draw();
    }).observe(this.scroller);
    this.scroller.addEventListener('scroll', () => {
      this.scrollTop = this.scroller.scrollTop;
      this.draw();
    });
    this.svg.addEventListener('mousemove', (e) => this.hover(e));
    this.svg.addEventListener('mouseleave', () => this.tooltip.classList.add('hidden'));
    this.svg.addEventListener('click', (e) => {
      const lane = this.laneAt(e);
      if (lane) this.onSelect(lane.id);
    });
  }

  /** Chooses the lanes the filters let through; call when filters, actors or transitions change. */
  refilter(): void {
    const start = performance.now();
    const now = this.store.now();
    const from = this.filters.windowMs > 0 ? now - this.filters.windowMs : Math.min(this.store.earliestAt, now - 60_000);
    this.range = { from, to: now };
    const ids = new Set<string>(this.store.actors.keys());
    for (const id of this.store.byActor.keys()) ids.add(id);
    const text = this.filters.text.trim().toLowerCase();
    const lanes: Lane[] = [];
    for (const id of ids) {
      const actor = this.store.actors.get(id);
      const transitions = this.store.byActor.get(id) ?? [];
      const kind = actor?.kind ?? transitions[0]?.kind;
      const instanceId = actor?.instanceId ?? transitions[0]?.instanceId ?? '';
      if (this.filters.kind && kind !== this.filters.kind) continue;
      if (this.filters.instanceId && instanceId !== this.filters.instanceId) continue;
      // From the transition that was in force at the window's start.
      const shown = transitions.slice(Math.max(0, firstIndexAfter(transitions, from) - 1));
      // An actor that has left the tree keeps its lane while its history is in the window.
      if (!actor && (shown.length === 0 || shown[shown.length - 1]!.at < from)) continue;
      if (this.filters.state && !statesOf(shown, actor).has(this.filters.state)) continue;
      if (text && !matches(text, id, actor, shown, this.eventLabel)) continue;
      lanes.push({ id, actor, transitions });
    }
    const order = instanceOrder(this.store);
    lanes.sort((a, b) => compareLanes(a, b, order));
    this.lanes = lanes;
    this.spacer.style.height = `${lanes.length * LANE_PX}px`;
    let shown = 0;
    for (const lane of lanes) shown += lane.transitions.length - firstIndexAfter(lane.transitions, from);
    setText(this.count, `${lanes.length} lanes · ${shown} transitions`);
    this.draw();
    performance.measure('inspector-refilter', { start, end: performance.now() });
  }

  /** Scrolls the lane of an actor into view (after a selection in the tree). */
  reveal(actorId: string): void {
    const index = this.lanes.findIndex((lane) => lane.id === actorId);
    if (index < 0) return;
    const top = index * LANE_PX;
    if (top < this.scrollTop || top + LANE_PX > this.scrollTop + this.size.height) this.scroller.scrollTop = Math.max(0, top - this.size.height / 3);
  }

  /** What the view shows, for the JSON download. */
  shownTransitions(): Transition[] {
    const out: Transition[] = [];
    for (const lane of this.lanes) for (const t of lane.transitions) if (t.at >= this.range.from && t.at <= this.range.to) out.push(t);
    return out.sort((a, b) => a.seq - b.seq);
  }

  draw(): void {
    const width = Math.max(200, this.size.width);
    const plot = width - LABEL_PX - 8;
    const now = this.store.now();
    this.range = { from: this.filters.windowMs > 0 ? now - this.filters.windowMs : Math.min(this.store.earliestAt, now - 60_000), to: now };
    const { from, to } = this.range;
    const x = (t: number) => LABEL_PX + ((t - from) / (to - from)) * plot;
    this.drawAxis(width, x);

    const first = Math.min(Math.floor(this.scrollTop / LANE_PX), Math.max(0, this.lanes.length - 1));
    const last = Math.min(this.lanes.length, first + Math.ceil(this.size.height / LANE_PX) + 1);
    const height = (last - first) * LANE_PX;
    this.svg.setAttribute('width', String(width));
    this.svg.setAttribute('height', String(height));
    this.svg.style.top = `${first * LANE_PX}px`;
    const parts: SVGElement[] = [];
    for (let i = first; i < last; i++) {
      const lane = this.lanes[i]!;
      const y = (i - first) * LANE_PX;
      const selected = lane.id === this.selected;
      parts.push(s('rect', { class: selected ? 'lane-bg selected' : i % 2 ? 'lane-bg odd' : 'lane-bg', x: 0, y, width, height: LANE_PX }));
      const name = lane.actor?.name || lane.id;
      const indent = (lane.actor?.kind ?? lane.transitions[0]?.kind) === 'tab' ? 14 : 4;
      parts.push(s('text', { class: 'lane-label', x: indent, y: y + 14 }, clipText(name, Math.floor((LABEL_PX - indent - 6) / 6.4))));
      this.drawSegments(lane, y, x, from, to, parts);
    }
    this.svg.replaceChildren(...parts);
  }

  private drawSegments(lane: Lane, y: number, x: (t: number) => number, from: number, to: number, parts: SVGElement[]): void {
    const list = lane.transitions;
    let i = Math.max(0, firstIndexAfter(list, from) - 1);
    let lastPx = -1;
    if (list.length === 0 && lane.actor) {
      const start = Math.max(from, lane.actor.stateSince);
      parts.push(s('rect', { class: `seg ${stateClass(lane.actor.state)}`, x: x(start), y: y + 4, width: Math.max(1, x(to) - x(start)), height: LANE_PX - 8 }));
      return;
    }
    for (; i < list.length; i++) {
      const t = list[i]!;
      const start = Math.max(from, t.at);
      const end = Math.min(to, list[i + 1]?.at ?? to);
      if (end < from) continue;
      const x0 = x(start);
      const x1 = x(end);
      // Transitions closer than a pixel: only the last one's state is visible there anyway.
      if (x1 - x0 < 1 && Math.floor(x0) === lastPx) continue;
      lastPx = Math.floor(x0);
      parts.push(s('rect', { class: `seg ${stateClass(t.to)}`, x: x0, y: y + 4, width: Math.max(1, x1 - x0), height: LANE_PX - 8 }));
      if (t.at >= from) parts.push(s('rect', { class: 'tick', x: x0 - 0.5, y: y + 2, width: 1.5, height: LANE_PX - 4 }));
    }
  }

  private drawAxis(width: number, x: (t: number) => number): void {
    const { from, to } = this.range;
    const span = to - from;
    const step = niceStep(span / Math.max(2, Math.floor((width - LABEL_PX) / 110)));
    const parts: SVGElement[] = [];
    this.axis.setAttribute('width', String(width));
    this.axis.setAttribute('height', '20');
    for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
      const px = x(t);
      parts.push(s('line', { class: 'axis-tick', x1: px, x2: px, y1: 14, y2: 20 }));
      const label = this.timeMode === 'relative' ? (to - t < 500 ? 'now' : `−${shortDuration(to - t)}`) : clock(t);
      parts.push(s('text', { class: 'axis-label', x: px, y: 11 }, label));
    }
    parts.push(s('text', { class: 'axis-label start', x: 4, y: 11 }, this.timeMode === 'relative' ? `last ${duration(span)}` : `${clock(from)} – ${clock(to)}`));
    this.axis.replaceChildren(...parts);
  }

  private laneAt(e: MouseEvent): Lane | undefined {
    const rect = this.svg.getBoundingClientRect();
    const index = Math.floor((this.scroller.scrollTop + e.clientY - this.scroller.getBoundingClientRect().top) / LANE_PX);
    return e.clientX - rect.left >= 0 ? this.lanes[index] : undefined;
  }

  private hover(e: MouseEvent): void {
    const lane = this.laneAt(e);
    const rect = this.svg.getBoundingClientRect();
    const px = e.clientX - rect.left;
    if (!lane || px < LABEL_PX) {
      this.showTip(e, lane ? [`${lane.actor?.name || lane.id}`, lane.id, lane.actor ? `now ${lane.actor.state}: ${lane.actor.reason}` : 'gone'] : null);
      return;
    }
    const { from, to } = this.range;
    const plot = rect.width - LABEL_PX - 8;
    const at = from + ((px - LABEL_PX) / plot) * (to - from);
    const msPerPx = (to - from) / plot;
    const list = lane.transitions;
    const i = firstIndexAfter(list, at);
    const near = [list[i - 1], list[i]].filter((t): t is Transition => !!t && Math.abs(t.at - at) <= 4 * msPerPx);
    const now = this.store.now();
    const header = `${lane.actor?.name || lane.id} · ${lane.id}`;
    if (near.length > 0) {
      const t = near.sort((a, b) => Math.abs(a.at - at) - Math.abs(b.at - at))[0]!;
      this.showTip(e, [header, `${t.from ?? '∅'} → ${t.to}`, when(t.at, now, this.timeMode), t.event ? `on ${this.eventLabel(t.event)}` : '', t.reason, `seq ${t.seq}`]);
      return;
    }
    const current = list[i - 1];
    if (current) {
      const end = list[i]?.at ?? now;
      this.showTip(e, [header, `${current.to} for ${duration(end - current.at)}`, `since ${when(current.at, now, this.timeMode)}`, current.reason]);
    } else this.showTip(e, [header, 'no transition seen before this time']);
  }

  private showTip(e: MouseEvent, lines: string[] | null): void {
    if (!lines) {
      this.tooltip.classList.add('hidden');
      return;
    }
    this.tooltip.replaceChildren(...lines.filter(Boolean).map((line, i) => h('div', { class: i === 0 ? 'tip-head' : '' }, line)));
    this.tooltip.classList.remove('hidden');
    const x = Math.min(e.clientX + 14, window.innerWidth - this.tooltip.offsetWidth - 8);
    const y = e.clientY + 16 + this.tooltip.offsetHeight > window.innerHeight ? e.clientY - this.tooltip.offsetHeight - 8 : e.clientY + 16;
    this.tooltip.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
  }
}

/** Index of the first transition at or after `at` (binary search: lanes are in time order). */
export function firstIndexAfter(list: readonly Transition[], at: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.at < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function statesOf(shown: readonly Transition[], actor: ActorView | undefined): Set<string> {
  const states = new Set(shown.map((t) => t.to));
  if (actor) states.add(actor.state);
  return states;
}

function matches(text: string, id: string, actor: ActorView | undefined, shown: readonly Transition[], label: (raw: string) => string): boolean {
  const hay = [id, actor?.name ?? '', actor?.url ?? '', actor?.reason ?? ''];
  if (hay.some((v) => v.toLowerCase().includes(text))) return true;
  return shown.some((t) => t.reason.toLowerCase().includes(text) || label(t.event).toLowerCase().includes(text) || t.to.includes(text));
}

/** Instances in the tree's order (by creation); those gone from the tree after them. */
function instanceOrder(store: Store): Map<string, number> {
  const instances = [...store.actors.values()].filter((a) => a.kind === 'instance');
  instances.sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0) || (a.id < b.id ? -1 : 1));
  return new Map(instances.map((a, i) => [a.id, i]));
}

/** Lanes as the tree: each instance, then its tabs. */
function compareLanes(a: Lane, b: Lane, order: Map<string, number>): number {
  const ia = a.actor?.instanceId ?? a.transitions[0]?.instanceId ?? '';
  const ib = b.actor?.instanceId ?? b.transitions[0]?.instanceId ?? '';
  if (ia !== ib) return (order.get(ia) ?? Infinity) - (order.get(ib) ?? Infinity) || (ia < ib ? -1 : 1);
  if (a.id === ia) return -1;
  if (b.id === ib) return 1;
  return a.id < b.id ? -1 : 1;
}

function niceStep(ms: number): number {
  for (const step of [1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 216e5, 432e5, 864e5]) if (step >= ms) return step;
  return 864e5 * Math.ceil(ms / 864e5);
}

function clipText(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}
