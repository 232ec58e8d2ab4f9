// The supervision tree: root → instances → tabs, one keyed row per actor, updated in place
// (only rows whose actor changed are touched in a frame; times are refreshed once a second).
import { h, s, setClass, setText } from './dom.js';
import { megabytes, shortDuration, stateClass } from './format.js';
import type { ActorView, Store } from './store.js';

interface Row {
  el: HTMLElement;
  dot: HTMLElement;
  name: HTMLElement;
  badge: HTMLElement;
  restarts: HTMLElement;
  time: HTMLElement;
  reason: HTMLElement;
  url?: HTMLElement;
  memory?: HTMLElement;
  spark?: SVGPolylineElement;
  /** The tabs of an instance. */
  children?: HTMLElement;
  block?: HTMLElement;
}

export interface TreeCallbacks {
  select(actorId: string): void;
  openLive(tabId: string): void;
}

export class TreeView {
  private readonly rows = new Map<string, Row>();
  private readonly collapsed = new Set<string>();
  private selected: string | null = null;
  readonly rootRow: HTMLElement;
  private readonly rootText: HTMLElement;
  private readonly list: HTMLElement;

  constructor(
    host: HTMLElement,
    private readonly store: Store,
    private readonly callbacks: TreeCallbacks,
  ) {
    this.rootText = h('span', { class: 'muted' });
    this.rootRow = h('div', { class: 'row root', 'data-id': 'supervisor' }, h('span', { class: 'dot st-healthy' }), h('span', { class: 'name' }, 'supervisor'), this.rootText);
    this.rootRow.tabIndex = 0;
    this.rootRow.addEventListener('click', () => callbacks.select('supervisor'));
    this.rootRow.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') callbacks.select('supervisor');
    });
    this.list = h('div', { class: 'tree-list' });
    host.replaceChildren(this.rootRow, this.list);
  }

  select(actorId: string | null): void {
    if (this.selected) {
      const old = this.selected === 'supervisor' ? this.rootRow : this.rows.get(this.selected)?.el;
      if (old) setClass(old, 'selected', false);
    }
    this.selected = actorId;
    const row = actorId === 'supervisor' ? this.rootRow : actorId ? this.rows.get(actorId)?.el : undefined;
    if (row) setClass(row, 'selected', true);
  }

  reveal(actorId: string): void {
    this.rows.get(actorId)?.el.scrollIntoView({ block: 'nearest' });
  }

  /** Rebuilds the order of rows after actors came or went; rows are reused. */
  restructure(): void {
    const instances = [...this.store.actors.values()].filter((a) => a.kind === 'instance').sort(byCreation);
    const tabsOf = new Map<string, ActorView[]>();
    for (const actor of this.store.actors.values()) {
      if (actor.kind !== 'tab') continue;
      const list = tabsOf.get(actor.instanceId) ?? [];
      list.push(actor);
      tabsOf.set(actor.instanceId, list);
    }
    const blocks: HTMLElement[] = [];
    for (const instance of instances) {
      const row = this.row(instance);
      const tabs = (tabsOf.get(instance.id) ?? []).sort((a, b) => (a.id < b.id ? -1 : 1));
      row.children!.replaceChildren(...tabs.map((tab) => this.row(tab).el));
      blocks.push(row.block!);
    }
    this.list.replaceChildren(...blocks);
    for (const id of [...this.rows.keys()]) if (!this.store.actors.has(id)) this.rows.delete(id);
    this.select(this.selected);
  }

  /** Writes what changed of one actor into its row. */
  update(actor: ActorView, now: number): void {
    const row = this.rows.get(actor.id);
    if (!row) return;
    const cls = stateClass(actor.state);
    if (row.dot.dataset.state !== cls) {
      row.dot.className = `dot ${cls}`;
      row.badge.className = `badge ${cls}`;
      row.dot.dataset.state = cls;
    }
    setClass(row.el, 'gone', actor.state === 'stopped');
    setText(row.badge, actor.state);
    setText(row.name, actor.name || actor.id);
    setTitle(row.name, actor.kind === 'tab' ? `${actor.name}\n${actor.url}` : `${actor.name} (${actor.id})`);
    setText(row.reason, actor.reason);
    setTitle(row.reason, actor.reason);
    setText(row.restarts, `↻ ${actor.restarts}`);
    if (row.url) setText(row.url, actor.url);
    if (row.memory) setText(row.memory, megabytes(actor.pssMb));
    if (row.spark) row.spark.setAttribute('points', sparkPoints(actor.pss));
    this.tick(actor, now);
  }

  /** The clock moved: uptime of instances, time in state of tabs. */
  tick(actor: ActorView, now: number): void {
    const row = this.rows.get(actor.id);
    if (!row) return;
    const text = actor.kind === 'instance' && actor.createdAt ? `up ${shortDuration(now - actor.createdAt)}` : shortDuration(now - actor.stateSince);
    setText(row.time, text);
  }

  setRoot(text: string): void {
    setText(this.rootText, text);
  }

  private row(actor: ActorView): Row {
    const existing = this.rows.get(actor.id);
    if (existing) return existing;
    const dot = h('span', { class: 'dot' });
    const name = h('span', { class: 'name' });
    const badge = h('span', { class: 'badge' });
    const restarts = h('span', { class: 'num', title: 'restarts' });
    const time = h('span', { class: 'num time' });
    const reason = h(actor.kind === 'instance' ? 'span' : 'div', { class: 'reason' });
    let row: Row;
    if (actor.kind === 'instance') {
      const caret = h('button', { class: 'caret', type: 'button', title: 'show or hide tabs' }, '▾');
      const memory = h('span', { class: 'num mem', title: 'PSS of the process tree' });
      const spark = s('polyline', { class: 'spark-line' });
      const sparkSvg = s('svg', { class: 'spark', viewBox: '0 0 60 16', preserveAspectRatio: 'none' }, spark);
      const idText = h('span', { class: 'id' }, actor.id);
      const el = h(
        'div',
        { class: 'row instance', 'data-id': actor.id },
        h('div', { class: 'line' }, caret, dot, name, badge, h('span', { class: 'fill' }), restarts, memory, sparkSvg),
        h('div', { class: 'line sub' }, idText, time, reason),
      );
      const children = h('div', { class: 'tabs' });
      const block = h('div', { class: 'block' }, el, children);
      caret.addEventListener('click', (e) => {
        e.stopPropagation();
        const hidden = !this.collapsed.delete(actor.id);
        if (hidden) this.collapsed.add(actor.id);
        setClass(block, 'collapsed', hidden);
        setText(caret, hidden ? '▸' : '▾');
      });
      row = { el, dot, name, badge, restarts, time, reason, memory, spark, children, block };
    } else {
      const live = h('button', { class: 'live-btn', type: 'button', title: 'live view of this tab' }, 'live');
      live.addEventListener('click', (e) => {
        e.stopPropagation();
        this.callbacks.openLive(actor.id);
      });
      const url = h('div', { class: 'url' });
      const el = h('div', { class: 'row tab', 'data-id': actor.id }, h('div', { class: 'line' }, dot, name, badge, restarts, time, live), url, reason);
      row = { el, dot, name, badge, restarts, time, reason, url };
    }
    row.el.tabIndex = 0;
    row.el.addEventListener('click', () => this.callbacks.select(actor.id));
    row.el.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        this.callbacks.select(actor.id);
      }
    });
    this.rows.set(actor.id, row);
    this.update(actor, this.store.now());
    return row;
  }
}

function setTitle(el: HTMLElement, title: string): void {
  if (el.title !== title) el.title = title;
}

function byCreation(a: ActorView, b: ActorView): number {
  return (a.createdAt ?? 0) - (b.createdAt ?? 0) || (a.id < b.id ? -1 : 1);
}

function sparkPoints(samples: readonly number[]): string {
  if (samples.length === 0) return '';
  const max = Math.max(...samples);
  const min = Math.min(...samples);
  const span = max - min || 1;
  const step = samples.length > 1 ? 60 / (samples.length - 1) : 0;
  return samples.map((v, i) => `${(i * step).toFixed(1)},${(15 - ((v - min) / span) * 14).toFixed(1)}`).join(' ');
}
