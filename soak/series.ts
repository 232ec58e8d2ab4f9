// The sampled series of a soak: what each one is (scope, unit, the axis its budget is on), and
// its samples, kept in columns allocated up front. The harness runs in the process it measures
// when it embeds the runtime, so storage that grew with every sample would itself read as a
// slow leak of the runtime's heap and RSS: the columns are typed arrays sized for the planned
// run and touched once at the start (they grow only if the run outlasts its plan).

export type SeriesKind = 'bytes' | 'count' | 'info';
/** What a series' slope is measured against: iterations of the workload, or hours. */
export type Axis = 'iterations' | 'hours';

export interface SeriesDef {
  /** Stable key: `runtime.heapUsed`, `i1.pss`, `i1t2.jsHeap`. */
  key: string;
  /** Who it belongs to: `runtime`, `instance i-… (#1)`, `tab t-… (#1.2)`. */
  scope: string;
  /** What is sampled, for people. */
  label: string;
  /** bytes and counts are judged; info series (event-loop lag) are plotted, not judged. */
  kind: SeriesKind;
  axis: Axis;
  /** Allowed slope in units per axis unit (bytes per iteration, bytes per hour, count per iteration…). */
  budget: number;
}

/** One column of samples: when, at which iteration, and the value. */
export class Column {
  length = 0;
  t: Float64Array;
  iteration: Float64Array;
  y: Float64Array;

  constructor(capacity: number) {
    this.t = filled(capacity);
    this.iteration = filled(capacity);
    this.y = filled(capacity);
  }

  push(t: number, iteration: number, y: number): void {
    if (this.length === this.y.length) {
      this.t = grown(this.t);
      this.iteration = grown(this.iteration);
      this.y = grown(this.y);
    }
    this.t[this.length] = t;
    this.iteration[this.length] = iteration;
    this.y[this.length] = y;
    this.length++;
  }

  /** The first n samples (or all), as views. */
  view(n = this.length): { t: Float64Array; iteration: Float64Array; y: Float64Array } {
    return { t: this.t.subarray(0, n), iteration: this.iteration.subarray(0, n), y: this.y.subarray(0, n) };
  }
}

/** Touched now (NaN in every slot), so that writing samples later makes no page resident. */
function filled(capacity: number): Float64Array {
  return new Float64Array(Math.max(16, capacity)).fill(NaN);
}

function grown(a: Float64Array): Float64Array {
  const b = filled(a.length * 2);
  b.set(a);
  return b;
}

export class SeriesStore {
  readonly defs = new Map<string, SeriesDef>();
  readonly columns = new Map<string, Column>();

  constructor(private readonly capacityOf: (def: SeriesDef) => number) {}

  /** Declare a series (once; later declarations of the same key are ignored). */
  define(def: SeriesDef): void {
    if (this.defs.has(def.key)) return;
    this.defs.set(def.key, def);
    this.columns.set(def.key, new Column(this.capacityOf(def)));
  }

  push(key: string, t: number, iteration: number, y: number): void {
    if (!Number.isFinite(y)) return;
    this.columns.get(key)?.push(t, iteration, y);
  }

  get size(): number {
    return this.defs.size;
  }
}
