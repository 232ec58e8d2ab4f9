// GET /machines: the charts come from the machines that run, every state and transition is in
// them (the `always` ones too), the committed layout was made from these very machines, and
// the document stays small enough to send whole.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { and, not, or, raise, setup, type AnyStateMachine, type StateNode } from 'xstate';
import { instanceMachine, supervisorMachine, tabMachine } from '../../machines/index.js';
import { edgeGroups, isRow } from '../../src/inspector/chart-geometry.js';
import type { MachinesLayoutFile, StateDescription, TransitionDescription } from '../../src/inspector/document.js';
import { LAYOUT_FILE, describeMachine, describeMachines, machinesDocument, machinesHash } from '../../src/inspector/machines.js';

type AnyNode = StateNode<any, any>;

function states(root: StateDescription): StateDescription[] {
  return [root, ...(root.states ?? []).flatMap(states)];
}

function transitionsOf(machine: { root: StateDescription }): TransitionDescription[] {
  return states(machine.root).flatMap((state) => state.transitions ?? []);
}

function find(machineId: string, stateId: string): StateDescription {
  const machine = describeMachines().find((m) => m.id === machineId)!;
  const state = states(machine.root).find((s) => s.id === stateId);
  if (!state) throw new Error(`${stateId} is not in the description of ${machineId}`);
  return state;
}

function labels(machineId: string, stateId: string): string[] {
  return (find(machineId, stateId).transitions ?? []).map((t) => `${t.label} → ${(t.targets ?? []).join(',')}`);
}

/** Every state node of a running machine, walked from its root, and its transitions as XState holds them. */
function nodesOf(machine: AnyStateMachine): AnyNode[] {
  const walk = (node: AnyNode): AnyNode[] => [node, ...Object.values(node.states as Record<string, AnyNode>).flatMap(walk)];
  return walk(machine.root);
}

describe('GET /machines', () => {
  it('the committed layout was made from the machines as they are now', () => {
    const layout = JSON.parse(readFileSync(LAYOUT_FILE, 'utf8')) as MachinesLayoutFile;
    expect(
      layout.hash,
      'the machines changed since src/inspector/machines-layout.json was made: run `npm run layout:machines` and commit the file',
    ).toBe(machinesHash());
  });

  it('is under 30 KB', () => {
    const bytes = Buffer.byteLength(JSON.stringify(machinesDocument()));
    expect(bytes).toBeLessThan(30 * 1024);
  });

  for (const machine of [supervisorMachine, instanceMachine, tabMachine] as AnyStateMachine[]) {
    it(`${machine.id}: every state node and every transition, always ones included, is described and laid out`, () => {
      const description = describeMachines().find((m) => m.id === machine.id)!;
      const described = new Map(states(description.root).map((s) => [s.id, s]));
      const layout = machinesDocument().machines.find((m) => m.id === machine.id)!.layout!;
      const routed = new Set(Object.values(layout.edges).flatMap((edge) => edge.ids));
      for (const node of nodesOf(machine)) {
        const state = described.get(node.id);
        expect(state, node.id).toBeDefined();
        expect(layout.nodes[node.id], `layout box of ${node.id}`).toBeDefined();
        const expected: string[] = [];
        for (const [eventType, candidates] of node.transitions) {
          for (const t of candidates) expected.push(`${eventType} → ${(t.target ?? []).map((n: AnyNode) => n.id).join(',')}`);
        }
        for (const t of node.always ?? []) expected.push(` → ${(t.target ?? []).map((n: AnyNode) => n.id).join(',')}`);
        const actual = (state!.transitions ?? []).map((t) => `${t.event} → ${(t.targets ?? []).join(',')}`);
        expect(actual.sort(), node.id).toEqual(expected.sort());
        // An arrow for each transition with a target elsewhere; the others are written in the box.
        for (const t of state!.transitions ?? []) if (!isRow(t)) expect(routed.has(t.id), `route of ${t.label} in ${node.id}`).toBe(true);
      }
      expect(described.size).toBe(nodesOf(machine).length);
    });
  }

  it('keeps the restore path: the transient `starting` states and their guards', () => {
    expect(find('instance', 'instance.starting').type).toBe('atomic');
    expect(labels('instance', 'instance.starting')).toEqual([
      'always [restoredFailed] → instance.failed',
      'always [restored] → instance.recovering.adopting',
      'always → instance.spawning',
    ]);
    expect(labels('tab', 'tab.starting')).toEqual(['always [restored] → tab.recovering.waitingForInstance', 'always → tab.spawning']);
    expect(labels('instance', 'instance.recovering.checking')).toContain('always [intensityExceeded] → instance.failed');
    expect(labels('instance', 'instance.recovering.restoringTabs')).toEqual([
      'after tabRestoreTimeout → instance.running',
      'always [allTabsSettled] → instance.running',
    ]);
    expect(labels('supervisor', 'supervisor.stopping')).toEqual(['always [noInstancesLeft] → supervisor.stopped']);
  });

  it('labels delays, invoked actors and guards as people read them', () => {
    expect(labels('instance', 'instance.recovering.backoff')).toEqual(['after backoff → instance.recovering.relaunching']);
    expect(labels('instance', 'instance.spawning')).toEqual(['done: launchChrome → instance.running', 'error: launchChrome → instance.recovering']);
    expect(labels('instance', 'instance.running.health.healthy')).toContain('PROBE_MISSED [missesCallForDegrading] → instance.running.health.degraded');
    expect(labels('instance', 'instance.running.health.healthy')).toContain('after stable → ');
    expect(find('instance', 'instance.failed')).toMatchObject({ entry: ['tellTabs', 'sendParent'], invoke: ['killChrome'] });
    // The probe and memory loops are actors of `running`, beside the watcher (machines/loops.ts).
    expect(find('instance', 'instance.running')).toMatchObject({ type: 'parallel', invoke: ['watchChrome', 'probeChrome', 'sampleMemory'] });
    expect(find('tab', 'tab.running')).toMatchObject({ type: 'parallel', invoke: ['watchTarget', 'probeTarget'] });
    expect(find('instance', 'instance.stopped').type).toBe('final');
    expect(find('instance', 'instance.recovering').initial).toBe('checking');
    // XState's own timer actions (schedule and cancel of `after`) are not the machine's actions.
    const all = describeMachines().flatMap((m) => states(m.root).flatMap((s) => [...(s.entry ?? []), ...(s.exit ?? []), ...(s.transitions ?? []).flatMap((t) => t.actions ?? [])]));
    expect(all.filter((name) => name.startsWith('xstate.') || name === 'cancel')).toEqual([]);
    expect(describeMachines().map((m) => m.id)).toEqual(['supervisor', 'instance', 'tab']);
  });

  it('spells out higher-order guards, numeric delays and reentering transitions', () => {
    const machine = setup({ guards: { a: () => true, b: () => false } }).createMachine({
      id: 'demo',
      initial: 'one',
      states: {
        one: {
          on: { GO: { guard: and(['a', not('b')]), target: 'two' }, BACK: { guard: or(['a', 'b']), target: 'one', reenter: true } },
          after: { 1500: { target: 'two', actions: raise({ type: 'LATE' }) } },
        },
        two: {},
      },
    });
    const one = states(describeMachine(machine).root).find((s) => s.key === 'one')!;
    expect(one.transitions!.map((t) => t.label)).toEqual(['GO [(a && !b)]', 'BACK [(a || b)]', 'after 1500 ms']);
    expect(one.transitions![1]!.reenter).toBe(true);
    expect(one.transitions![2]!.actions).toEqual(['raise LATE']);
    expect(edgeGroups(one).map((g) => g.target)).toEqual(['demo.two', 'demo.one']);
  });
});
