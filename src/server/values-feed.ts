// The `values` topic: every instance's and tab's full state value as it moves within a
// reported state (a recovery's steps), for the inspector's charts. A fleet in trouble makes
// many snapshots a second (crash loops, a page changing its URL), so values are coalesced: at most one flush every 100 ms (the first change
// after a quiet spell goes at once), each sending an actor's latest value only if it differs
// from the last one it was sent (in a values or a state event). Nothing is listened to, kept or
// compared while nobody subscribes.
import type { Runtime } from '../runtime/runtime.js';
import type { ActorValue, Transition } from '../runtime/views.js';

/** At most 10 values events a second per actor. */
export const VALUES_PERIOD_MS = 100;

export interface ValuesStats {
  /** Snapshots that did not change a reported state, while someone subscribed. */
  seen: number;
  /** Values events sent (per actor, before the fan-out to subscribers). */
  sent: number;
}

export class ValuesFeed {
  /** The latest value of each actor that changed since the last flush. */
  private readonly pending = new Map<string, ActorValue>();
  /** The value each actor was last sent, as JSON. */
  private readonly lastSent = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private off: (() => void) | null = null;
  readonly stats: ValuesStats = { seen: 0, sent: 0 };

  constructor(
    private readonly runtime: Runtime,
    private readonly send: (v: ActorValue) => void,
  ) {}

  /** Someone subscribes to `values` (listen), or nobody does any more (forget everything). */
  setActive(active: boolean): void {
    if (active && !this.off) this.off = this.runtime.onValue((v) => this.changed(v));
    if (active || !this.off) return;
    this.off();
    this.off = null;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.lastSent.clear();
  }

  /** A state event went out: it carried the actor's value, and a value from before it is stale. */
  stated(t: Transition): void {
    if (!this.off) return;
    this.pending.delete(t.actor);
    if (t.to === 'stopped') this.lastSent.delete(t.actor);
    else this.lastSent.set(t.actor, JSON.stringify(t.value));
  }

  close(): void {
    this.setActive(false);
  }

  private changed(v: ActorValue): void {
    this.stats.seen++;
    this.pending.set(v.actor, v);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, this.lastFlush + VALUES_PERIOD_MS - Date.now()));
  }

  private flush(): void {
    this.timer = undefined;
    this.lastFlush = Date.now();
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const v of due) {
      const json = JSON.stringify(v.value);
      if (this.lastSent.get(v.actor) === json) continue;
      this.lastSent.set(v.actor, json);
      this.stats.sent++;
      this.send(v);
    }
  }
}
