// A machine's statechart in SVG, drawn from `GET /machines` (boxes and routes laid out at build
// time), with the selected actor's active states lit down to the leaf and, on every state, how
// many actors of the fleet are in it.
import { CHART, edgeLabelLines, initialKey, stateLines, stateRows } from '../chart-geometry.js';
import type { MachineChart, StateDescription, TransitionDescription } from '../document.js';
import { s, setClass, setText, svgTitle } from './dom.js';
import { STATES } from './format.js';

interface DrawnMachine {
  svg: SVGSVGElement;
  nodes: Map<string, { group: SVGGElement; badge: SVGGElement; badgeText: SVGTextElement; badgeBox: SVGRectElement }>;
  width: number;
  height: number;
}

export class ChartView {
  private readonly drawn = new Map<string, DrawnMachine>();
  private current: DrawnMachine | null = null;
  private view = { x: 0, y: 0, w: 1, h: 1 };
  /** Follow the selected actor: the view frames its top-level active state until the user pans or zooms. */
  private following = true;
  private focused = '';
  private layout: MachineChart['layout'];
  onFollowChange: (following: boolean) => void = () => {};

  constructor(
    private readonly host: HTMLElement,
    private readonly machines: readonly MachineChart[],
  ) {
    this.enablePanZoom();
  }

  /** Shows a machine's chart (drawn once, then kept), fitted to the panel. */
  show(machineId: string): void {
    const machine = this.machines.find((m) => m.id === machineId);
    if (!machine) return;
    let drawn = this.drawn.get(machineId);
    if (!drawn) this.drawn.set(machineId, (drawn = drawMachine(machine)));
    if (this.current === drawn) return;
    this.host.replaceChildren(drawn.svg);
    this.current = drawn;
    this.layout = machine.layout;
    this.focused = '';
    this.fit(this.following);
  }

  /** Lights the active states and writes the fleet's count on each state. */
  update(active: ReadonlySet<string>, counts: ReadonlyMap<string, number>): void {
    if (!this.current) return;
    if (this.following) this.frame(active);
    for (const [id, node] of this.current.nodes) {
      setClass(node.group, 'active', active.has(id));
      const count = counts.get(id) ?? 0;
      setClass(node.badge, 'hidden', count === 0);
      if (count > 0) {
        const text = String(count);
        setText(node.badgeText, text);
        node.badgeBox.setAttribute('width', String(text.length * 6.6 + 8));
        node.badgeBox.setAttribute('x', String(-(text.length * 6.6 + 8)));
        node.badgeText.setAttribute('x', String(-(text.length * 6.6 + 8) / 2));
      }
    }
  }

  /** The whole chart; the view stops following the actor unless `keepFollowing`. */
  fit(keepFollowing = false): void {
    if (!this.current) return;
    this.setFollowing(keepFollowing);
    this.view = { x: 0, y: 0, w: this.current.width, h: this.current.height };
    this.applyView();
  }

  follow(): void {
    this.setFollowing(true);
    this.focused = '';
  }

  private setFollowing(on: boolean): void {
    if (this.following !== on) this.onFollowChange(on);
    this.following = on;
  }

  /** Frames the outermost active state below the machine (running, recovering, …) when it changes. */
  private frame(active: ReadonlySet<string>): void {
    const top = [...active].find((id) => id.split('.').length === 2) ?? '';
    if (top === this.focused) return;
    this.focused = top;
    const box = this.layout?.nodes[top];
    if (!box || !this.current) return;
    const rect = this.host.getBoundingClientRect();
    const margin = 28;
    // Not closer than 1.2 chart units a pixel: a small state is shown with its neighbours.
    const w = Math.max(box[2] + 2 * margin, rect.width / 1.2, ((box[3] + 2 * margin) * rect.width) / Math.max(1, rect.height));
    const h = (w * rect.height) / Math.max(1, rect.width);
    this.view = { x: box[0] + box[2] / 2 - w / 2, y: box[1] + box[3] / 2 - h / 2, w, h };
    this.applyView();
  }

  zoom(factor: number, cx = this.view.x + this.view.w / 2, cy = this.view.y + this.view.h / 2): void {
    this.setFollowing(false);
    const w = this.view.w * factor;
    const h = this.view.h * factor;
    this.view = { x: cx - (cx - this.view.x) * factor, y: cy - (cy - this.view.y) * factor, w, h };
    this.applyView();
  }

  private applyView(): void {
    const { x, y, w, h } = this.view;
    this.current?.svg.setAttribute('viewBox', `${x} ${y} ${w} ${h}`);
  }

  private enablePanZoom(): void {
    let drag: { x: number; y: number; vx: number; vy: number } | null = null;
    const scale = () => {
      const rect = this.host.getBoundingClientRect();
      return Math.max(this.view.w / rect.width, this.view.h / rect.height);
    };
    this.host.addEventListener('pointerdown', (e) => {
      drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y };
      this.host.setPointerCapture(e.pointerId);
    });
    this.host.addEventListener('pointermove', (e) => {
      if (!drag) return;
      if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 3) this.setFollowing(false);
      const k = scale();
      this.view.x = drag.vx - (e.clientX - drag.x) * k;
      this.view.y = drag.vy - (e.clientY - drag.y) * k;
      this.applyView();
    });
    this.host.addEventListener('pointerup', () => (drag = null));
    this.host.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        const rect = this.host.getBoundingClientRect();
        const k = scale();
        // Zoom about the pointer: the point under it stays put.
        const cx = this.view.x + (e.clientX - rect.left - (rect.width - this.view.w / k) / 2) * k;
        const cy = this.view.y + (e.clientY - rect.top - (rect.height - this.view.h / k) / 2) * k;
        this.zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, cx, cy);
      },
      { passive: false },
    );
  }
}

function drawMachine(machine: MachineChart): DrawnMachine {
  const layout = machine.layout;
  const width = layout?.width ?? 400;
  const height = layout?.height ?? 200;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'xMidYMid meet' });
  const markerId = `arrow-${machine.id}`;
  svg.append(
    s('defs', {}, s('marker', { id: markerId, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))),
  );
  const nodesLayer = s('g', { class: 'nodes' });
  const edgesLayer = s('g', { class: 'edges' });
  svg.append(nodesLayer, edgesLayer);
  const nodes: DrawnMachine['nodes'] = new Map();
  if (!layout) {
    svg.append(s('text', { x: 12, y: 24, class: 'state-row' }, 'no layout for this machine: run npm run layout:machines'));
    return { svg, nodes, width, height };
  }

  const drawState = (state: StateDescription, parentType: string | null) => {
    const box = layout.nodes[state.id];
    if (box) {
      const [x, y, w, h] = box;
      const classes = ['node', `type-${state.type}`];
      if (parentType === 'parallel') classes.push('region');
      if ((STATES as readonly string[]).includes(state.key) && parentType !== null) classes.push(`st-${state.key}`);
      const group = s('g', { class: classes.join(' '), transform: `translate(${x},${y})` });
      const rows = stateRows(state);
      group.append(svgTitle(fullText(state)), s('rect', { class: 'box', width: w, height: h, rx: 6 }));
      if (state.type === 'final') group.append(s('rect', { class: 'inner', x: 3, y: 3, width: w - 6, height: h - 6, rx: 4 }));
      if (classes.some((c) => c.startsWith('st-'))) group.append(s('rect', { class: 'stripe', x: 0, y: 6, width: 4, height: Math.min(h - 12, 14) }));
      group.append(s('text', { class: 'title', x: CHART.padPx, y: 16 }, parentType === null ? `${machine.id} machine` : state.key));
      rows.forEach((row, i) => group.append(s('text', { class: 'state-row', x: CHART.padPx, y: CHART.headerPx + i * CHART.rowLinePx + 6 }, row)));
      const badgeBox = s('rect', { class: 'badge-box', x: -20, y: -8, width: 20, height: 15, rx: 7 });
      const badgeText = s('text', { class: 'badge-text', x: -10, y: 3 });
      const badge = s('g', { class: 'badge hidden', transform: `translate(${w - 4},0)` }, badgeBox, badgeText);
      group.append(badge);
      nodesLayer.append(group);
      nodes.set(state.id, { group, badge, badgeText, badgeBox });
    }
    const dot = layout.nodes[initialKey(state.id)];
    if (dot) {
      const [x, y, w] = dot;
      nodesLayer.append(s('circle', { class: 'initial', cx: x + w / 2, cy: y + w / 2, r: w / 2 }));
    }
    for (const child of state.states ?? []) drawState(child, state.type);
  };

  const transitions = new Map<string, TransitionDescription>();
  const collect = (state: StateDescription) => {
    for (const t of state.transitions ?? []) transitions.set(t.id, t);
    for (const child of state.states ?? []) collect(child);
  };
  collect(machine.root);
  const drawEdge = (key: string, route: NonNullable<typeof layout>['edges'][string]) => {
    const drawn = route.ids.map((id) => transitions.get(id)).filter((t): t is TransitionDescription => t !== undefined);
    const kinds = new Set(drawn.map((t) => t.kind));
    const kind = key.endsWith('#initial') ? 'initial' : kinds.size === 1 ? [...kinds][0] : 'event';
    const group = s('g', { class: `edge-group k-${kind}` });
    if (drawn.length > 0) group.append(svgTitle(drawn.map(transitionText).join('\n\n')));
    group.append(s('path', { class: 'edge', d: pathOf(route.points), 'marker-end': `url(#${markerId})` }));
    if (route.label && drawn.length > 0) {
      const [lx, ly, lw, lh] = route.label;
      group.append(s('rect', { class: 'label-box', x: lx - 2, y: ly, width: lw + 2, height: lh, rx: 3 }));
      edgeLabelLines(drawn).forEach((line, j) => {
        group.append(s('text', { class: line.guard ? 'label guard' : 'label', x: lx, y: ly + 10 + j * CHART.rowLinePx }, line.text));
      });
    }
    edgesLayer.append(group);
  };

  drawState(machine.root, null);
  for (const [key, route] of Object.entries(layout.edges)) drawEdge(key, route);
  return { svg, nodes, width, height };
}

function pathOf(points: readonly number[]): string {
  let d = '';
  for (let i = 0; i + 1 < points.length; i += 2) d += `${i === 0 ? 'M' : 'L'}${points[i]},${points[i + 1]}`;
  return d;
}

function transitionText(t: TransitionDescription): string {
  const targets = (t.targets ?? []).map((id) => id.split('.').slice(1).join('.')).join(', ');
  return `${t.label} → ${targets}${t.actions ? `\nactions: ${t.actions.join(', ')}` : ''}${t.reenter ? '\nreenters' : ''}`;
}

function fullText(state: StateDescription): string {
  return [`${state.id} (${state.type})`, ...stateLines(state)].join('\n');
}
