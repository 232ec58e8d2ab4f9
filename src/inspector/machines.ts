// The statecharts for `GET /machines`, read from the very machine objects that run: a walk over
// their state nodes, because XState's toJSON() and @xstate/graph both leave out `always`
// transitions, and the restore path (the transient `starting`) is made of them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AnyStateMachine, StateNode } from 'xstate';
import { instanceMachine, supervisorMachine, tabMachine } from '../../machines/index.js';
import type {
  MachineDescription,
  MachinesDocument,
  MachinesLayoutFile,
  StateDescription,
  TransitionDescription,
  TransitionKind,
} from './document.js';

type AnyStateNode = StateNode<any, any>;
/** The parts of an XState transition definition this walk reads. */
interface TransitionDefinition {
  eventType: string;
  target?: readonly AnyStateNode[];
  guard?: unknown;
  actions: readonly unknown[];
  reenter?: boolean;
  delay?: string | number;
}

/** The machines tabvisor runs, supervisor first, as the page draws them. */
export const runningMachines: readonly AnyStateMachine[] = [supervisorMachine, instanceMachine, tabMachine];

export function describeMachines(machines: readonly AnyStateMachine[] = runningMachines): MachineDescription[] {
  return machines.map(describeMachine);
}

export function describeMachine(machine: AnyStateMachine): MachineDescription {
  const counter = { next: 0 };
  const names = (record: object | undefined) => Object.keys(record ?? {}).sort();
  const { actors, actions, guards, delays } = machine.implementations;
  return {
    id: machine.id,
    root: describeState(machine.root, counter),
    actors: names(actors),
    actions: names(actions),
    guards: names(guards),
    delays: names(delays),
  };
}

/** sha256 of the descriptions' canonical JSON (keys sorted): what the committed layout is checked against. */
export function machinesHash(descriptions: readonly MachineDescription[] = describeMachines()): string {
  return createHash('sha256').update(canonicalJson(descriptions)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const LAYOUT_FILE = new URL('./machines-layout.json', import.meta.url);

/** The document `GET /machines` serves: the descriptions of the running machines and their committed layout. */
export function machinesDocument(layoutFile: URL = LAYOUT_FILE): MachinesDocument {
  const descriptions = describeMachines();
  const layout = JSON.parse(readFileSync(layoutFile, 'utf8')) as MachinesLayoutFile;
  return {
    hash: machinesHash(descriptions),
    layoutHash: layout.hash,
    machines: descriptions.map((description) => ({ ...description, layout: layout.machines[description.id] })),
  };
}

function describeState(node: AnyStateNode, counter: { next: number }): StateDescription {
  const children = Object.values(node.states as Record<string, AnyStateNode>);
  // The invoke id names the done and error events of an invoked actor: map them back to its src.
  const invokeSrc = new Map<string, string>();
  for (const invoke of node.invoke) invokeSrc.set(invoke.id, srcName(invoke.src));

  const transitions: TransitionDescription[] = [];
  const add = (kind: TransitionKind, event: string, trigger: string, definition: TransitionDefinition) => {
    const guard = definition.guard === undefined ? undefined : guardName(definition.guard);
    transitions.push({
      id: `t${counter.next++}`,
      kind,
      event,
      label: guard ? `${trigger} [${guard}]` : trigger,
      source: node.id,
      targets: nonEmpty((definition.target ?? []).map((target) => target.id)),
      guard,
      actions: nonEmpty(actionNames(definition.actions)),
      reenter: definition.reenter ? true : undefined,
    });
  };
  for (const [eventType, candidates] of node.transitions as Map<string, TransitionDefinition[]>) {
    for (const definition of candidates) {
      const [kind, trigger] = triggerOf(eventType, definition, invokeSrc);
      add(kind, eventType, trigger, definition);
    }
  }
  for (const definition of (node.always ?? []) as TransitionDefinition[]) add('always', '', 'always', definition);

  const initialTarget = (node.initial as { target?: readonly AnyStateNode[] } | undefined)?.target?.[0];
  return {
    id: node.id,
    key: node.key,
    type: node.type,
    initial: node.type === 'compound' ? initialTarget?.key : undefined,
    entry: nonEmpty(actionNames(node.entry)),
    exit: nonEmpty(actionNames(node.exit)),
    invoke: nonEmpty(node.invoke.map((invoke) => srcName(invoke.src))),
    transitions: nonEmpty(transitions),
    states: nonEmpty(children.map((child) => describeState(child, counter))),
  };
}

function nonEmpty<T>(list: T[]): T[] | undefined {
  return list.length > 0 ? list : undefined;
}

function triggerOf(eventType: string, definition: TransitionDefinition, invokeSrc: Map<string, string>): [TransitionKind, string] {
  if (eventType.startsWith('xstate.after.')) {
    // `after: { probeInterval: … }` becomes `xstate.after.probeInterval.<state id>`; the
    // definition keeps the delay's name (or its number of milliseconds).
    const delay = definition.delay ?? eventType.slice('xstate.after.'.length);
    return ['after', typeof delay === 'number' ? `after ${delay} ms` : `after ${delay}`];
  }
  for (const [prefix, kind] of [
    ['xstate.done.actor.', 'done'],
    ['xstate.error.actor.', 'error'],
  ] as const) {
    if (eventType.startsWith(prefix)) {
      const id = eventType.slice(prefix.length);
      return [kind, `${kind}: ${invokeSrc.get(id) ?? id}`];
    }
  }
  if (eventType.startsWith('xstate.done.state.')) return ['done', `done: ${eventType.slice('xstate.done.state.'.length)}`];
  return ['event', eventType];
}

function srcName(src: unknown): string {
  if (typeof src === 'string') return src;
  const id = (src as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : 'inline';
}

/** A guard's name; higher-order guards (`not`, `and`, `or`, `stateIn`) spelled out. */
export function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const fn = guard as { name: string; guards?: unknown[]; stateValue?: unknown };
    if (fn.guards && fn.name === 'not') return `!${guardName(fn.guards[0])}`;
    if (fn.guards && (fn.name === 'and' || fn.name === 'or')) {
      const joined = fn.guards.map(guardName).join(fn.name === 'and' ? ' && ' : ' || ');
      return `(${joined})`;
    }
    if (fn.name === 'stateIn') return `in ${typeof fn.stateValue === 'string' ? fn.stateValue : JSON.stringify(fn.stateValue)}`;
    return fn.name || 'inline';
  }
  const type = (guard as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : 'inline';
}

/** Names of actions: named ones as written, built-ins by what they do (`assign`, `raise PROBE_OK`, `sendParent`). */
export function actionNames(actions: readonly unknown[]): string[] {
  const names: string[] = [];
  for (const action of actions) {
    const name = actionName(action);
    if (name !== null) names.push(name);
  }
  return names;
}

function actionName(action: unknown): string | null {
  if (typeof action === 'string') return action;
  if (action === null || (typeof action !== 'object' && typeof action !== 'function')) return null;
  const a = action as { type?: unknown; name?: string; id?: unknown; sendId?: unknown; event?: unknown; to?: unknown; src?: unknown };
  if (typeof a.type !== 'string') return a.name || 'inline';
  if (!a.type.startsWith('xstate.')) return a.type;
  // XState schedules and cancels `after` timers with actions of its own: the label says it already.
  if (typeof a.id === 'string' && a.id.startsWith('xstate.after.')) return null;
  if (typeof a.sendId === 'string' && a.sendId.startsWith('xstate.after.')) return null;
  const builtin = a.type.slice('xstate.'.length);
  const eventType = (a.event as { type?: unknown } | null | undefined)?.type;
  const suffix = typeof eventType === 'string' ? ` ${eventType}` : '';
  if (builtin === 'sendTo') return a.to === '#_parent' ? `sendParent${suffix}` : `sendTo${typeof a.to === 'string' ? ` ${a.to}` : ''}${suffix}`;
  if (builtin === 'raise') return `raise${suffix}`;
  if (builtin === 'spawnChild' && typeof a.src === 'string') return `spawnChild ${a.src}`;
  return builtin;
}
