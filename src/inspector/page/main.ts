// The inspector page: loads the charts from GET /machines, follows the runtime over its
// same-origin socket (lists, then state, values and metrics events), and redraws what changed
// at most once a frame. Read-only: it sends no request that changes anything.
import type { MachinesDocument } from '../document.js';
import { ChartView } from './chart.js';
import type { EventParams, InstanceItem, TabItem } from './contract.js';
import { DetailsView } from './details.js';
import { byId, h, setClass, setText } from './dom.js';
import { STATES, duration, stateClass } from './format.js';
import { Connection, type ConnectionStatus } from './rpc.js';
import { activeStateIds, Store } from './store.js';
import { TimelineView, WINDOWS } from './timeline.js';
import { TreeView } from './tree.js';

const LIST_REFRESH_MS = 15_000;

const store = new Store();
let machines: MachinesDocument | null = null;
let selected: string | null = null;
let chartKind = 'instance';
let chartPinned = false;
const eventLabels = new Map<string, string>();
const eventLabel = (raw: string) => eventLabels.get(raw) ?? raw;

const tree = new TreeView(byId('tree'), store, { select, openLive });
const details = new DetailsView(byId('details'), store, eventLabel);
const timeline = new TimelineView(byId('lanes'), byId('axis'), byId('timeline-count'), store, eventLabel, (id) => select(id, 'timeline'));
let chart: ChartView | null = null;

function select(actorId: string, from: 'tree' | 'timeline' = 'tree'): void {
  selected = actorId;
  tree.select(actorId);
  timeline.selected = actorId;
  if (from === 'tree') timeline.reveal(actorId);
  else tree.reveal(actorId);
  details.show(actorId);
  if (!chartPinned) showChart(kindOf(actorId));
  frame.chart = true;
  timeline.draw();
}

function openLive(tabId: string): void {
  select(tabId);
  details.live.open(tabId);
  details.render();
}

function kindOf(actorId: string): string {
  if (actorId === 'supervisor') return 'supervisor';
  return store.actors.get(actorId)?.kind ?? store.byActor.get(actorId)?.[0]?.kind ?? 'instance';
}

function showChart(kind: string): void {
  chartKind = kind;
  chart?.show(kind);
  for (const button of document.querySelectorAll<HTMLButtonElement>('#chart-kinds button')) setClass(button, 'on', button.dataset.kind === kind);
}

// ---- rendering, at most once a frame ----
/** `tick`: the once-a-second clock (uptimes, the timeline's window, stopped actors leaving). */
const frame = { scheduled: false, chart: true, counts: true, tick: false, ticks: 0 };

function schedule(): void {
  if (frame.scheduled) return;
  frame.scheduled = true;
  requestAnimationFrame(render);
}

function render(): void {
  frame.scheduled = false;
  const start = performance.now();
  const now = store.now();
  if (frame.tick) store.sweep();
  if (store.structureChanged) {
    tree.restructure();
    fillInstanceFilter();
    frame.counts = true;
  }
  for (const id of store.dirtyActors) {
    const actor = store.actors.get(id);
    if (actor) tree.update(actor, now);
  }
  if (frame.tick) for (const actor of store.actors.values()) tree.tick(actor, now);
  if (store.dirtyActors.size > 0 || store.healthChanged) frame.counts = true;
  // The window slides with the clock: the lanes it lets through are chosen again every few seconds.
  if (store.structureChanged || store.transitionsChanged || (frame.tick && frame.ticks % 5 === 0)) timeline.refilter();
  else if (frame.tick) timeline.draw();
  if (store.dirtyValues.size > 0 || frame.counts) frame.chart = true;
  if (frame.counts) renderCounts();
  if (frame.chart) renderChart();
  if (selected && (frame.tick || store.dirtyActors.has(selected) || store.dirtyValues.has(selected))) details.render();
  // For tests and the latency benchmark: the last seq this frame put on screen.
  if (store.transitionsChanged) document.documentElement.dataset.seq = String(store.lastSeq);
  store.dirtyActors.clear();
  store.dirtyValues.clear();
  store.structureChanged = store.transitionsChanged = store.healthChanged = false;
  frame.chart = frame.counts = frame.tick = false;
  recordFrame(start);
}

function renderChart(): void {
  if (!chart) return;
  const counts = new Map<string, number>();
  for (const actor of store.actors.values()) {
    if (actor.kind !== chartKind) continue;
    for (const id of activeStateIds(chartKind, actor.value)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  let active: string[] = [];
  if (selected === 'supervisor' && chartKind === 'supervisor') active = ['supervisor.running'];
  else if (selected && kindOf(selected) === chartKind) active = activeStateIds(chartKind, store.actors.get(selected)?.value ?? null);
  chart.update(new Set(active), counts);
}

const countCells = new Map<string, HTMLElement>();
function renderCounts(): void {
  const tally = { instance: new Map<string, number>(), tab: new Map<string, number>() };
  for (const actor of store.actors.values()) tally[actor.kind].set(actor.state, (tally[actor.kind].get(actor.state) ?? 0) + 1);
  for (const kind of ['instance', 'tab'] as const) {
    for (const state of STATES) {
      const cell = countCells.get(`${kind}:${state}`);
      if (!cell) continue;
      const n = tally[kind].get(state) ?? 0;
      setText(cell.children[1] as HTMLElement, String(n));
      setClass(cell, 'zero', n === 0);
    }
  }
  const health = store.health;
  tree.setRoot(health ? `${health.status} · up ${duration(health.uptimeMs)}` : '');
}

function buildCounts(): void {
  for (const kind of ['instance', 'tab'] as const) {
    const host = byId(`${kind}-counts`);
    for (const state of STATES) {
      if (kind === 'tab' && state === 'stopping') continue;
      const cell = h('span', { class: `count zero ${stateClass(state)}`, title: `${kind}s ${state}` }, h('span', { class: 'dot' }), h('span', { class: 'count-n' }, '0'), h('span', { class: 'count-name' }, state));
      cell.addEventListener('click', () => setStateFilter(state));
      countCells.set(`${kind}:${state}`, cell);
      host.append(cell);
    }
  }
}

// ---- frame timing, read by the preview's load check through the User Timing API ----
let frames = 0;
function recordFrame(start: number): void {
  performance.measure('inspector-frame', { start, end: performance.now() });
  if (++frames % 500 === 0) {
    performance.clearMeasures('inspector-frame');
    performance.clearMeasures('inspector-refilter');
  }
}

// ---- timeline controls ----
const instanceSelect = byId<HTMLSelectElement>('filter-instance');
const stateSelect = byId<HTMLSelectElement>('filter-state');

function fillInstanceFilter(): void {
  const instances = [...store.actors.values()].filter((a) => a.kind === 'instance').sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
  const current = instanceSelect.value;
  instanceSelect.replaceChildren(h('option', { value: '' }, 'all instances'), ...instances.map((a) => h('option', { value: a.id }, `${a.name || a.id} (${a.id})`)));
  instanceSelect.value = instances.some((a) => a.id === current) ? current : '';
}

function setStateFilter(state: string): void {
  stateSelect.value = stateSelect.value === state ? '' : state;
  stateSelect.dispatchEvent(new Event('change'));
}

function wireControls(): void {
  stateSelect.append(...STATES.map((state) => h('option', { value: state }, state)));
  const windowSelect = byId<HTMLSelectElement>('filter-window');
  windowSelect.append(...WINDOWS.map(([label, ms]) => h('option', { value: String(ms) }, label)));
  windowSelect.value = String(timeline.filters.windowMs);
  const kindSelect = byId<HTMLSelectElement>('filter-kind');
  const text = byId<HTMLInputElement>('filter-text');
  const apply = () => {
    timeline.filters = {
      instanceId: instanceSelect.value,
      kind: kindSelect.value as '' | 'instance' | 'tab',
      state: stateSelect.value,
      text: text.value,
      windowMs: Number(windowSelect.value),
    };
    timeline.refilter();
  };
  for (const el of [instanceSelect, kindSelect, stateSelect, windowSelect]) el.addEventListener('change', apply);
  let typing: ReturnType<typeof setTimeout> | undefined;
  text.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(apply, 150);
  });
  const timeButton = byId<HTMLButtonElement>('time-mode');
  timeButton.addEventListener('click', () => {
    const mode = timeline.timeMode === 'relative' ? 'absolute' : 'relative';
    timeline.timeMode = details.timeMode = mode;
    setText(timeButton, mode === 'relative' ? 'relative time' : 'clock time');
    timeline.draw();
    details.render();
  });
  byId('download').addEventListener('click', download);
  for (const button of document.querySelectorAll<HTMLButtonElement>('#chart-kinds button')) {
    button.addEventListener('click', () => {
      chartPinned = button.dataset.kind !== kindOf(selected ?? '');
      showChart(button.dataset.kind ?? 'instance');
      frame.chart = true;
      schedule();
    });
  }
  byId('zoom-in').addEventListener('click', () => chart?.zoom(1 / 1.25));
  byId('zoom-out').addEventListener('click', () => chart?.zoom(1.25));
  byId('zoom-fit').addEventListener('click', () => chart?.fit());
  byId('zoom-follow').addEventListener('click', () => {
    chart?.follow();
    frame.chart = true;
    schedule();
  });
  window.addEventListener('resize', () => timeline.draw());
}

function download(): void {
  const body = JSON.stringify({ generatedAt: new Date(store.now()).toISOString(), filters: timeline.filters, transitions: timeline.shownTransitions() }, null, 1);
  const url = URL.createObjectURL(new Blob([body], { type: 'application/json' }));
  const a = h('a', { href: url, download: `tabvisor-transitions-${new Date().toISOString().replace(/[:.]/g, '-')}.json` });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- the connection ----
let listTimer: ReturnType<typeof setTimeout> | undefined;
let listDue = 0;
let connection: Connection | null = null;

async function refreshLists(conn: Connection): Promise<void> {
  const [instances, tabs] = await Promise.all([
    conn.request<{ instances: InstanceItem[] }>('instance.list', { all: true }),
    conn.request<{ tabs: TabItem[] }>('tab.list', { all: true }),
  ]);
  store.applyInstances(instances.instances);
  store.applyTabs(tabs.tabs);
  schedule();
}

/**
 * New actors, changed titles, a new pid and restart count after a recovery: the lists again,
 * soon or every LIST_REFRESH_MS. Coalesced: a refresh already due sooner is kept, so a storm of
 * events makes one refresh every half second, not none.
 */
function listsSoon(delayMs: number): void {
  const due = Date.now() + delayMs;
  if (listTimer !== undefined && listDue <= due) return;
  clearTimeout(listTimer);
  listDue = due;
  listTimer = setTimeout(() => {
    listTimer = undefined;
    if (connection) refreshLists(connection).catch(() => {});
    listsSoon(LIST_REFRESH_MS);
  }, delayMs);
}

function onEvent(params: EventParams): void {
  if (params.topic === 'state') {
    const { fresh, unknownActor } = store.applyState(params);
    if (unknownActor || (fresh && params.from === 'recovering')) listsSoon(500);
    if (!fresh) return;
  } else if (params.topic === 'values') store.applyValues(params);
  else if (params.topic === 'metrics') store.applyMetrics(params);
  schedule();
}

let lastStatus: ConnectionStatus | null = null;
let lastRetryAt = 0;
let everOpen = false;
function onStatus(status: ConnectionStatus): void {
  lastStatus = status;
  everOpen ||= status.kind === 'open';
  const banner = byId('banner');
  const pill = byId('conn');
  // From the first loss until the socket is open again; the first connection shows only the pill.
  const lost = status.kind !== 'open' && (everOpen || status.kind === 'closed');
  setClass(banner, 'hidden', !lost);
  setClass(pill, 'up', status.kind === 'open');
  setText(pill, status.kind === 'open' ? 'connected' : lost ? 'disconnected' : 'connecting…');
  if (status.kind === 'closed') lastRetryAt = status.retryAt;
  if (lost) {
    const seconds = status.kind === 'closed' ? Math.max(0, Math.round((lastRetryAt - Date.now()) / 1000)) : 0;
    const attempt = status.attempt;
    setText(banner, `disconnected — reconnecting${seconds > 0 ? ` in ${seconds} s` : '…'} (attempt ${attempt}; showing what was seen until the connection was lost)`);
  }
}

async function onOpen(conn: Connection): Promise<void> {
  connection = conn;
  // Subscribing with the last seq seen replays what happened while away; seen seqs are dropped.
  const subscribed = conn.request('events.subscribe', { topics: ['state', 'values', 'metrics'], since: store.lastSeq });
  await Promise.all([subscribed, refreshLists(conn)]);
  listsSoon(LIST_REFRESH_MS);
}

async function main(): Promise<void> {
  buildCounts();
  wireControls();
  try {
    const response = await fetch('/machines', { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`GET /machines: ${response.status}`);
    machines = (await response.json()) as MachinesDocument;
    for (const machine of machines.machines) collectLabels(machine.root);
    chart = new ChartView(byId('chart'), machines.machines);
    chart.onFollowChange = (on) => setClass(byId('zoom-follow'), 'on', on);
    setClass(byId('layout-stale'), 'hidden', machines.hash === machines.layoutHash);
  } catch (error) {
    setText(byId('chart'), `charts unavailable: ${error instanceof Error ? error.message : String(error)}`);
  }
  showChart(chartKind);
  select('supervisor');
  new Connection(Connection.sameOriginUrl(), { onOpen, onEvent, onStatus }).start();
  setInterval(() => {
    frame.tick = true;
    frame.ticks += 1;
    if (lastStatus && lastStatus.kind !== 'open') onStatus(lastStatus);
    schedule();
  }, 1000);
}

function collectLabels(state: MachinesDocument['machines'][number]['root']): void {
  for (const t of state.transitions ?? []) if (t.event && !eventLabels.has(t.event)) eventLabels.set(t.event, t.guard ? t.label.slice(0, -t.guard.length - 3) : t.label);
  for (const child of state.states ?? []) collectLabels(child);
}

void main();
