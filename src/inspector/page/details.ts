// The selected actor: what it is, where it stands (its active states down to the leaf), why it
// got there (its last transitions with their events and reasons), and a tab's live view.
import { h, setText } from './dom.js';
import { duration, megabytes, stateClass, when, type TimeMode } from './format.js';
import { LiveView } from './live.js';
import { leafPaths, type Store } from './store.js';

const RECENT = 30;

export class DetailsView {
  private actorId: string | null = null;
  private readonly head: HTMLElement;
  private readonly facts: HTMLElement;
  private readonly leaves: HTMLElement;
  private readonly history: HTMLElement;
  private readonly liveBox: HTMLElement;
  private readonly liveButton: HTMLButtonElement;
  readonly live: LiveView;
  timeMode: TimeMode = 'relative';
  private historyKey = '';

  constructor(
    host: HTMLElement,
    private readonly store: Store,
    private readonly eventLabel: (raw: string) => string,
  ) {
    this.head = h('div', { class: 'details-head' });
    this.facts = h('dl', { class: 'facts' });
    this.leaves = h('div', { class: 'leaves' });
    this.liveButton = h('button', { type: 'button', class: 'live-toggle' }, 'open live view');
    const img = h('img', { class: 'thumb', alt: 'live view of the tab' });
    img.hidden = true;
    const status = h('div', { class: 'muted live-status' });
    this.liveBox = h('div', { class: 'live' }, this.liveButton, status, img);
    this.history = h('ol', { class: 'history' });
    host.replaceChildren(this.head, this.leaves, this.facts, this.liveBox, h('h3', {}, 'recent transitions'), this.history);
    this.live = new LiveView(img, status, (id) => this.store.actors.get(id)?.state);
    this.liveButton.addEventListener('click', () => {
      if (!this.actorId) return;
      if (this.live.openTab === this.actorId) this.live.close();
      else this.live.open(this.actorId);
      this.render();
    });
  }

  show(actorId: string | null): void {
    if (this.actorId !== actorId && this.live.openTab !== actorId) this.live.close();
    this.actorId = actorId;
    this.render();
  }

  render(): void {
    const id = this.actorId;
    const now = this.store.now();
    if (id === 'supervisor' || id === null) {
      const health = this.store.health;
      this.head.replaceChildren(h('span', { class: 'dot st-healthy' }), h('span', { class: 'name' }, 'supervisor'), h('span', { class: 'badge st-healthy' }, health?.status ?? 'running'));
      this.leaves.replaceChildren(h('div', { class: 'leaf' }, 'running'));
      this.setFacts([
        ['runtime up', health ? duration(health.uptimeMs) : '–'],
        ['instances', String([...this.store.actors.values()].filter((a) => a.kind === 'instance').length)],
        ['tabs', String([...this.store.actors.values()].filter((a) => a.kind === 'tab').length)],
      ]);
      this.liveBox.hidden = true;
      this.history.replaceChildren();
      this.historyKey = '';
      return;
    }
    const actor = this.store.actors.get(id);
    const transitions = this.store.byActor.get(id) ?? [];
    const state = actor?.state ?? transitions[transitions.length - 1]?.to ?? 'stopped';
    const cls = stateClass(state);
    this.head.replaceChildren(h('span', { class: `dot ${cls}` }), h('span', { class: 'name' }, actor?.name || id), h('span', { class: `badge ${cls}` }, state));
    this.leaves.replaceChildren(...leafPaths(actor?.value ?? null).map((path) => h('div', { class: 'leaf' }, path)));
    const facts: [string, string][] = [['id', id]];
    if (actor) {
      facts.push(['reason', actor.reason], [`${state} for`, duration(now - actor.stateSince)], ['restarts', String(actor.restarts)]);
      if (actor.kind === 'instance') {
        facts.push(['pid', actor.pid === null ? '–' : String(actor.pid)], ['memory', `PSS ${megabytes(actor.pssMb)} · USS ${megabytes(actor.ussMb)}`], ['tabs', String(actor.tabCount)]);
        if (actor.createdAt) facts.push(['uptime', duration(now - actor.createdAt)]);
        if (actor.shared) facts.push(['shared', 'yes']);
      } else {
        facts.push(['url', actor.url], ['instance', actor.instanceId]);
      }
    } else facts.push(['', 'no longer in the fleet']);
    this.setFacts(facts);

    const isTab = (actor?.kind ?? transitions[0]?.kind) === 'tab';
    this.liveBox.hidden = !isTab;
    setText(this.liveButton, this.live.openTab === id ? 'close live view' : 'open live view');

    // Rebuilt only when there is something new (text being read or selected stays put);
    // otherwise only the times move.
    const recent = transitions.slice(-RECENT).reverse();
    const key = `${id}:${transitions.length}:${transitions[transitions.length - 1]?.seq}:${this.timeMode}`;
    if (key === this.historyKey) {
      recent.forEach((t, i) => {
        const cell = this.history.children[i]?.firstElementChild;
        if (cell) setText(cell, when(t.at, now, this.timeMode));
      });
      return;
    }
    this.historyKey = key;
    this.history.replaceChildren(
      ...recent.map((t) =>
        h(
          'li',
          {},
          h('span', { class: 'when' }, when(t.at, now, this.timeMode)),
          h('span', { class: `badge ${stateClass(t.from ?? '')}` }, t.from ?? '∅'),
          ' → ',
          h('span', { class: `badge ${stateClass(t.to)}` }, t.to),
          t.event ? h('span', { class: 'event' }, this.eventLabel(t.event)) : null,
          h('div', { class: 'reason' }, t.reason),
        ),
      ),
    );
  }

  private setFacts(facts: [string, string][]): void {
    const cells = this.facts.children;
    const same = cells.length === facts.length * 2 && facts.every(([k], i) => cells[2 * i]!.textContent === k);
    if (!same) {
      this.facts.replaceChildren(...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { title: v }, v)]));
      return;
    }
    facts.forEach(([, v], i) => {
      const dd = cells[2 * i + 1] as HTMLElement;
      setText(dd, v);
      if (dd.title !== v) dd.title = v;
    });
  }
}
