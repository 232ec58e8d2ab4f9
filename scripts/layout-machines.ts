// Lays out the statecharts once, at build time, so that the inspector page carries no layout
// library: elkjs places compound and parallel states as nested boxes and routes every
// transition, and the result is written to src/inspector/machines-layout.json with the hash of
// the machines it was made from (a unit test fails when the machines have changed since).
// Run: npm run layout:machines
import { writeFileSync } from 'node:fs';
import type { ELK as ElkApi, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import elkBundled from 'elkjs/lib/elk.bundled.js';
import { CHART, edgeGroups, edgeLabelLines, headerSize, initialKey, textWidthPx } from '../src/inspector/chart-geometry.js';
import type { MachineDescription, MachineLayout, MachinesLayoutFile, StateDescription } from '../src/inspector/document.js';
import { LAYOUT_FILE, describeMachines, machinesHash } from '../src/inspector/machines.js';

const LAYOUT_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  // Edges between states in different compound states are routed through the hierarchy.
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.layered.spacing.nodeNodeBetweenLayers': '36',
  'elk.spacing.nodeNode': '28',
  'elk.spacing.edgeEdge': '10',
  'elk.spacing.edgeNode': '14',
  'elk.spacing.edgeLabel': '4',
  'elk.layered.spacing.edgeNodeBetweenLayers': '14',
  'elk.edgeLabels.inline': 'false',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
};

function elkState(state: StateDescription, edges: ElkExtendedEdge[], ids: Map<string, string[]>): ElkNode {
  const header = headerSize(state);
  const children = state.states ?? [];
  for (const group of edgeGroups(state)) {
    const lines = edgeLabelLines(group.transitions).map((line) => line.text);
    ids.set(group.key, group.transitions.map((t) => t.id));
    edges.push({
      id: group.key,
      sources: [group.source],
      targets: [group.target],
      // Arrows that follow the order in which the machine declares its states (its life:
      // starting, spawning, running, recovering, failed, stopping, stopped) point down; the others
      // are the ones drawn back up.
      layoutOptions: { 'elk.layered.priority.direction': forward(group.source, group.target) ? '10' : '0' },
      labels: [{ text: lines.join('\n'), width: Math.ceil(textWidthPx(lines) + 4), height: lines.length * CHART.rowLinePx }],
    });
  }
  if (children.length === 0) return { id: state.id, width: header.width, height: header.height };

  const nodes: ElkNode[] = children.map((child) => elkState(child, edges, ids));
  if (state.type === 'compound' && state.initial) {
    const dot = initialKey(state.id);
    nodes.unshift({ id: dot, width: CHART.initialDotPx, height: CHART.initialDotPx });
    edges.push({ id: dot, sources: [dot], targets: [`${state.id}.${state.initial}`] });
  }
  return {
    id: state.id,
    children: nodes,
    layoutOptions: {
      ...LAYOUT_OPTIONS,
      'elk.padding': `[top=${header.height + 6},left=12,bottom=12,right=12]`,
      'elk.nodeSize.constraints': 'MINIMUM_SIZE',
      'elk.nodeSize.minimum': `(${header.width}, ${header.height})`,
      // Regions of a parallel state stand side by side.
      ...(state.type === 'parallel' ? { 'elk.direction': 'RIGHT' } : {}),
    },
  };
}

/** Declaration order of every state within its parent, for `forward`. */
const order = new Map<string, number>();
function indexStates(state: StateDescription): void {
  (state.states ?? []).forEach((child, i) => {
    order.set(child.id, i);
    indexStates(child);
  });
}

/** Whether the target is declared after the source, compared at their closest common parent. */
function forward(source: string, target: string): boolean {
  const a = source.split('.');
  const b = target.split('.');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i >= a.length || i >= b.length) return true;
  const at = (path: string[]) => order.get(path.slice(0, i + 1).join('.')) ?? 0;
  return at(b) > at(a);
}

// elk.bundled.js is CommonJS whose module.exports is the constructor; its typings declare an ES default.
const ELK = elkBundled as unknown as new () => ElkApi;

async function layoutMachine(elk: ElkApi, machine: MachineDescription): Promise<MachineLayout> {
  const edges: ElkExtendedEdge[] = [];
  const ids = new Map<string, string[]>();
  indexStates(machine.root);
  const root = elkState(machine.root, edges, ids);
  const graph: ElkNode = { id: '#graph', layoutOptions: LAYOUT_OPTIONS, children: [root], edges };
  const laid = await elk.layout(graph);

  const layout: MachineLayout = { width: Math.ceil(laid.width ?? 0), height: Math.ceil(laid.height ?? 0), nodes: {}, edges: {} };
  // ELK gives node positions relative to their parent and edge routes relative to the node
  // named by the edge's `container`: collect absolute offsets on the way down.
  const offsets = new Map<string, [number, number]>([['#graph', [0, 0]]]);
  const visit = (node: ElkNode, ox: number, oy: number) => {
    for (const child of node.children ?? []) {
      const x = ox + (child.x ?? 0);
      const y = oy + (child.y ?? 0);
      offsets.set(child.id, [x, y]);
      layout.nodes[child.id] = [round(x), round(y), round(child.width ?? 0), round(child.height ?? 0)];
      visit(child, x, y);
    }
  };
  visit(laid, 0, 0);
  for (const edge of laid.edges ?? []) {
    const container = (edge as { container?: string }).container ?? '#graph';
    const [ox, oy] = offsets.get(container) ?? [0, 0];
    const points: number[] = [];
    for (const section of edge.sections ?? []) {
      for (const p of [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]) points.push(round(ox + p.x), round(oy + p.y));
    }
    const label = edge.labels?.[0];
    layout.edges[edge.id] = {
      ids: ids.get(edge.id) ?? [],
      points,
      label: label ? [round(ox + (label.x ?? 0)), round(oy + (label.y ?? 0)), round(label.width ?? 0), round(label.height ?? 0)] : undefined,
    };
  }
  return layout;
}

function round(n: number): number {
  return Math.round(n);
}

const descriptions = describeMachines();
const elk = new ELK();
const file: MachinesLayoutFile = { hash: machinesHash(descriptions), machines: {} };
for (const machine of descriptions) file.machines[machine.id] = await layoutMachine(elk, machine);
writeFileSync(LAYOUT_FILE, `${JSON.stringify(file)}\n`);
const bytes = JSON.stringify(file).length;
console.log(`wrote ${LAYOUT_FILE.pathname} (${bytes} bytes, hash ${file.hash.slice(0, 12)})`);
for (const [id, layout] of Object.entries(file.machines)) console.log(`  ${id}: ${layout.width}×${layout.height}`);
