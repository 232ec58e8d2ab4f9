// PREVIEW ONLY — a FAKE fleet for scripts/inspector-preview.ts: instances and tabs that probe,
// degrade, crash and recover on timers, speaking the inspector's data contract
// (src/inspector/CONTRACT.md) with made-up data. Nothing here touches Chrome or the runtime.
import type { StateEvent, StateValue } from '../src/inspector/page/contract.js';

type Value = StateValue;

export interface FakeActor {
  id: string;
  kind: 'instance' | 'tab';
  instanceId: string;
  name: string;
  url: string;
  state: string;
  reason: string;
  stateSince: number;
  value: Value;
  restarts: number;
  createdAt: number;
  pid: number;
  pssMb: number;
}

type StateEventParams = Required<StateEvent>;

export type Publish = (topic: 'state' | 'values' | 'metrics', params: object) => void;

const BUFFER = 10_000;
const TITLES = ['Example Domain', 'Docs — Getting started', 'Search results', 'Checkout', '<img src=x onerror=alert(1)>', 'Dashboard'];
const HOSTS = ['example.com', 'docs.example.org', 'shop.example.net', 'news.example.io'];

// The machines' own shape inside `running`: one `health` region (the probe and memory loops are actors).
const running = (_kind: 'instance' | 'tab', health: string): Value => ({ running: { health } });

export class FakeFleet {
  readonly actors = new Map<string, FakeActor>();
  readonly buffer: StateEventParams[] = [];
  seq = 0;
  readonly startedAt = Date.now();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly subscribers = new Set<Publish>();
  private readonly pendingValues = new Map<string, number>();
  private rng = 42;

  constructor(readonly options: { instances: number; tabs: number; history: number }) {
    const { instances, tabs, history } = options;
    // About one transition every 2.5 s across the fleet: 300 make the last 12 minutes, 10,000 the last 7 hours.
    const span = Math.max(60_000, history * 2500);
    const born = this.startedAt - span;
    for (let i = 0; i < instances; i++) {
      const instanceId = `i-${(0x1a2b + i * 7919).toString(16)}`;
      const createdAt = born + Math.round((i * 1500) / instances);
      this.add({ id: instanceId, kind: 'instance', instanceId, name: `crawler-${i + 1}`, url: '', createdAt });
      for (let j = 0; j < tabs; j++) {
        const n = i * tabs + j;
        const host = HOSTS[n % HOSTS.length]!;
        this.add({ id: `t-${(0x3c4d + n * 104_729).toString(16)}`, kind: 'tab', instanceId, name: TITLES[n % TITLES.length]!, url: `https://${host}/page/${n}?q=<b>${n}</b>`, createdAt: createdAt + 1 + j });
      }
    }
    for (const actor of this.actors.values()) this.move(actor, 'spawning', actor.kind === 'instance' ? 'created' : 'tab opened', 'xstate.init', 'spawning', actor.createdAt, null);
    for (const actor of this.actors.values()) this.move(actor, 'healthy', actor.kind === 'instance' ? `launched (pid ${actor.pid}, 412 ms)` : 'target opened', `xstate.done.actor.0.${actor.kind}.spawning`, running(actor.kind, 'healthy'), actor.createdAt + 400);
    // History: probe misses, crashes and recoveries spread over the past span.
    const all = [...this.actors.values()];
    for (let k = 0; k < history - 2 * all.length; k++) {
      const at = born + 2000 + ((span - 4000) * k) / Math.max(1, history - 2 * all.length);
      this.randomStep(all[Math.floor(this.random() * all.length)]!, at);
    }
    for (const actor of all) if (actor.state !== 'healthy' && actor.state !== 'failed') this.recover(actor, Date.now() - 1000);
  }

  /** The oldest seq a subscriber was sent: what a page can have seen. */
  firstSent: number | null = null;

  subscribe(publish: Publish, since: number | undefined): () => void {
    if (since !== undefined) for (const e of this.buffer) if (e.seq > since) publish('state', e);
    this.firstSent ??= since !== undefined ? (this.buffer[0]?.seq ?? this.seq + 1) : this.seq + 1;
    this.subscribers.add(publish);
    return () => this.subscribers.delete(publish);
  }

  start(): void {
    // Values move within a reported state (a recovery's steps); coalesced to ≤ 10/s per actor.
    this.timers.push(setInterval(() => this.flushValues(), 100));
    this.timers.push(setInterval(() => this.chaos(), 1500));
    this.timers.push(setInterval(() => this.metrics(), 2000));
    setTimeout(() => this.crashScenario(), 4000);
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  private add(partial: Pick<FakeActor, 'id' | 'kind' | 'instanceId' | 'name' | 'url' | 'createdAt'>): void {
    this.actors.set(partial.id, { ...partial, state: '', reason: '', stateSince: 0, value: '', restarts: 0, pid: 10_000 + this.actors.size * 3, pssMb: 180 + this.random() * 120 });
  }

  private move(actor: FakeActor, to: string, reason: string, event: string, value: Value, at = Date.now(), from: string | null = actor.state): void {
    const e: StateEventParams = { actor: actor.id, kind: actor.kind, instanceId: actor.instanceId, from, to, reason, at, seq: ++this.seq, value, event };
    Object.assign(actor, { state: to, reason, stateSince: at, value });
    this.buffer.push(e);
    if (this.buffer.length > BUFFER) this.buffer.splice(0, this.buffer.length - BUFFER);
    for (const publish of this.subscribers) publish('state', e);
  }

  private randomStep(actor: FakeActor, at: number): void {
    const r = this.random();
    if (actor.state === 'healthy') {
      if (r < 0.6) this.move(actor, 'degraded', actor.kind === 'instance' ? '2 probes missed (deadline)' : 'probe missed (deadline)', 'PROBE_MISSED', running(actor.kind, 'degraded'), at);
      else this.crash(actor, at);
    } else if (actor.state === 'degraded') {
      if (r < 0.8) this.move(actor, 'healthy', 'probe answered again', 'PROBE_OK', running(actor.kind, 'healthy'), at);
      else this.crash(actor, at);
    } else if (actor.state === 'recovering') {
      if (r < 0.04) this.move(actor, 'failed', 'restart intensity exceeded: 6 restarts in 60000 ms', '', 'failed', at);
      else this.recover(actor, at);
    } else if (actor.state === 'failed') {
      if (r < 0.5) this.move(actor, 'recovering', 'restart requested', 'RESTART', { recovering: 'killing' }, at);
    }
  }

  private crash(actor: FakeActor, at: number): void {
    actor.restarts += 1;
    if (actor.kind === 'instance') this.move(actor, 'recovering', 'browser exited (signal SIGKILL)', 'CHROME_EXITED', { recovering: 'killing' }, at);
    else this.move(actor, 'recovering', 'renderer crashed', 'TARGET_CRASHED', { recovering: 'backoff' }, at);
  }

  private recover(actor: FakeActor, at: number): void {
    const reason = actor.kind === 'instance' ? `relaunched (pid ${actor.pid + 1}), 3 tabs restored` : 'target reopened';
    const event = actor.kind === 'instance' ? '' : 'xstate.done.actor.0.tab.recovering.reopening';
    this.move(actor, 'healthy', reason, event, running(actor.kind, 'healthy'), at);
  }

  private flushValues(): void {
    for (const [id, at] of this.pendingValues) {
      const actor = this.actors.get(id);
      if (actor) this.publish('values', { actor: id, kind: actor.kind, instanceId: actor.instanceId, value: actor.value, at });
    }
    this.pendingValues.clear();
  }

  private chaos(): void {
    const all = [...this.actors.values()].filter((a) => a.state !== 'stopped');
    const actor = all[Math.floor(this.random() * all.length)];
    if (actor) this.randomStep(actor, Date.now());
  }

  /** One instance loses its browser: it and its tabs recover step by step; one tab fails to come back. */
  private crashScenario(): void {
    const instance = [...this.actors.values()].find((a) => a.kind === 'instance' && a.state === 'healthy');
    if (!instance) return;
    const tabs = [...this.actors.values()].filter((a) => a.kind === 'tab' && a.instanceId === instance.id);
    instance.restarts += 1;
    this.move(instance, 'recovering', 'browser exited (signal SIGKILL)', 'CHROME_EXITED', { recovering: 'killing' });
    for (const tab of tabs) this.move(tab, 'recovering', 'instance down: browser exited (signal SIGKILL)', 'INSTANCE_DOWN', { recovering: 'waitingForInstance' });
    const later = (ms: number, fn: () => void) => setTimeout(fn, ms);
    later(300, () => this.values(instance, { recovering: 'backoff' }));
    later(800, () => this.values(instance, { recovering: 'relaunching' }));
    later(1600, () => this.values(instance, { recovering: 'restoringTabs' }));
    tabs.forEach((tab, i) =>
      later(1800 + i * 150, () => {
        if (i === tabs.length - 1) this.move(tab, 'failed', 'could not reopen target: net::ERR_NAME_NOT_RESOLVED', 'xstate.error.actor.0.tab.recovering.reopening', 'failed');
        else this.move(tab, 'healthy', 'target reopened', 'xstate.done.actor.0.tab.recovering.reopening', running('tab', 'healthy'));
      }),
    );
    later(2400, () => this.move(instance, 'healthy', `relaunched (pid ${instance.pid + 7}), ${tabs.length - 1} of ${tabs.length} tabs restored`, '', running('instance', 'healthy')));
  }

  private values(actor: FakeActor, value: Value): void {
    actor.value = value;
    this.pendingValues.set(actor.id, Date.now());
  }

  private metrics(): void {
    const now = Date.now();
    const counts: Record<string, number> = {};
    for (const actor of this.actors.values()) {
      if (actor.kind !== 'instance') continue;
      counts[actor.state] = (counts[actor.state] ?? 0) + 1;
      actor.pssMb = Math.max(120, actor.pssMb + (this.random() - 0.45) * 14);
      const tabs = [...this.actors.values()].filter((a) => a.instanceId === actor.id && a.kind === 'tab').length;
      this.publish('metrics', { instanceId: actor.id, state: actor.state, tabs, memory: { pssMb: Math.round(actor.pssMb), ussMb: Math.round(actor.pssMb * 0.8) }, restarts: actor.restarts, at: now });
    }
    this.publish('metrics', { health: { status: counts.failed ? 'degraded' : 'ok', instances: counts, uptimeMs: now - this.startedAt + 3_600_000 }, at: now });
  }

  private publish(topic: 'state' | 'values' | 'metrics', params: object): void {
    for (const publish of this.subscribers) publish(topic, params);
  }

  /** Deterministic, so that screenshots are comparable from run to run. */
  private random(): number {
    this.rng = (this.rng * 1_103_515_245 + 12_345) % 2_147_483_648;
    return this.rng / 2_147_483_648;
  }
}
