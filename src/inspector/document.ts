// The shape of `GET /machines`: the statecharts that run, described from their state nodes,
// with a layout made ahead of time. Types only, shared by the server side and the page.
// Empty lists and false flags are left out (the document stays small enough to serve whole).

export type StateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

/** What started a transition, for its label and for matching the runtime's `event` field. */
export type TransitionKind = 'event' | 'after' | 'done' | 'error' | 'always';

export interface TransitionDescription {
  /** Stable within one machine description: `t0`, `t1`, … in walk order. */
  id: string;
  kind: TransitionKind;
  /** The event type XState matches (`PROBE_MISSED`, `xstate.after.probeInterval.…`); '' for `always`. */
  event: string;
  /** For people: `PROBE_MISSED [missesCallForDegrading]`, `after probeInterval`, `done: launchChrome`. */
  label: string;
  /** Id of the state node that owns the transition. */
  source: string;
  /** Target state ids; absent for a transition that only runs actions. */
  targets?: string[];
  guard?: string;
  actions?: string[];
  /** Present (true) only for a reentering transition. */
  reenter?: true;
}

export interface StateDescription {
  /** Full id, e.g. `instance.running.health.healthy`. */
  id: string;
  key: string;
  type: StateType;
  /** Key of the initial child of a compound state. */
  initial?: string;
  entry?: string[];
  exit?: string[];
  /** Sources of the actors invoked while in the state. */
  invoke?: string[];
  transitions?: TransitionDescription[];
  states?: StateDescription[];
}

export interface MachineDescription {
  /** The machine's id: `supervisor`, `instance` or `tab`. */
  id: string;
  root: StateDescription;
  /** Named implementations the machine declares (setup), sorted. */
  actors: string[];
  actions: string[];
  guards: string[];
  delays: string[];
}

/** Boxes and routes in chart units (CSS pixels at scale 1); every number rounded. */
export interface MachineLayout {
  width: number;
  height: number;
  /** By state id: [x, y, width, height], absolute. */
  nodes: Record<string, [number, number, number, number]>;
  /**
   * One arrow per source and target state (chart-geometry.ts `edgeGroups`), keyed by its first
   * transition's id: the transitions it draws, the route as flat [x0, y0, x1, y1, …] and the box
   * of its stacked labels [x, y, width, height]. Initial arrows are keyed `<state id>#initial`.
   */
  edges: Record<string, { ids: string[]; points: number[]; label?: [number, number, number, number] }>;
}

export interface MachinesLayoutFile {
  /** Hash of the descriptions the layout was made from. */
  hash: string;
  machines: Record<string, MachineLayout>;
}

export interface MachineChart extends MachineDescription {
  /** Absent when the committed layout does not know this machine. */
  layout?: MachineLayout;
}

export interface MachinesDocument {
  /** sha256 of the canonical JSON of the descriptions. */
  hash: string;
  /** The hash the layout was made from: differs from `hash` when the layout is stale. */
  layoutHash: string;
  machines: MachineChart[];
}
