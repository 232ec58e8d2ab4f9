// events.subscribe: state events in order per actor (filtered by instance when asked), with
// seq, value and cause; the history replayed `since` a seq; the values topic, coalesced; log
// lines, periodic metrics and unsubscribe.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RpcError, type EventMessage } from '../../src/client/index.js';
import { createLogger, type LogTap } from '../../src/log.js';
import { startHarness, type Harness, type StateEvent } from './harness.js';

let h: Harness;
const logTap: LogTap = new EventEmitter();
// A real logger writing to a tap (and to stderr at 'error' only, to keep the output quiet).
const log = createLogger({ level: 'error', tap: logTap });
const MAX_BUFFERED = 2 * 1024 * 1024;
beforeAll(async () => {
  h = await startHarness({ log, logTap, server: { metricsIntervalMs: 200, maxBufferedBytes: MAX_BUFFERED, slowCloseGraceMs: 10_000 } });
});
afterAll(async () => {
  await h?.close();
});

function collect(client: Harness['client']): { events: EventMessage[]; stop: () => void } {
  const events: EventMessage[] = [];
  const stop = client.onEvent((e) => events.push(e));
  return { events, stop };
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('events', () => {
  it('filters state events by instance, and delivers log lines and metrics until unsubscribed', async () => {
    const watched = await h.client.call('instance.create', { name: 'watched' });
    const other = await h.connectAnother('watcher');
    const seen = collect(other);
    const { subscriptionId } = await other.call('events.subscribe', { topics: ['state', 'log', 'metrics'], instanceId: watched.instanceId });

    const ignored = await h.client.call('instance.create', { name: 'ignored' });
    const tab = await h.client.call('tab.open', { instanceId: watched.instanceId });
    await h.client.call('tab.close', { tabId: tab.tabId });
    await until(() => seen.events.some((e) => e.topic === 'state' && e.actor === tab.tabId && e.to === 'stopped'));

    const state = seen.events.filter((e) => e.topic === 'state');
    expect(state.every((e) => e.subscriptionId === subscriptionId)).toBe(true);
    expect(state.some((e) => e.actor === ignored.instanceId)).toBe(false);
    expect(state.filter((e) => e.actor === tab.tabId).map((e) => e.to)).toEqual(['spawning', 'healthy', 'stopped']);
    for (const e of state) expect(e).toMatchObject({ kind: 'tab', reason: expect.any(String), at: expect.any(Number) });
    expect(state.filter((e) => e.actor === tab.tabId).map((e) => e.from)).toEqual([null, 'spawning', 'healthy']);

    await until(() => seen.events.some((e) => e.topic === 'log' && e.msg === 'transition'));
    // The tab is closed by now, so a metrics summary soon shows the instance without tabs.
    // Only summaries sent after the close count: one from before tab.open also says 0 tabs.
    const closedAt = seen.events.findIndex((e) => e.topic === 'state' && e.actor === tab.tabId && e.to === 'stopped');
    const after = () => seen.events.slice(closedAt + 1).filter((e) => e.topic === 'metrics' && e.instanceId === watched.instanceId);
    await until(() => after().length > 0);
    const metric = after().at(-1);
    expect(metric).toMatchObject({ state: 'healthy', tabs: 0, memory: { pssMb: expect.any(Number) } });
    expect(seen.events.some((e) => e.topic === 'metrics' && e.instanceId === ignored.instanceId)).toBe(false);

    expect(await other.call('events.unsubscribe', { subscriptionId })).toEqual({ ok: true });
    const count = seen.events.length;
    await h.client.call('instance.stop', { instanceId: watched.instanceId });
    await new Promise((r) => setTimeout(r, 500));
    expect(seen.events.length).toBe(count);
    const again = await other.call('events.unsubscribe', { subscriptionId }).catch((e: RpcError) => e);
    expect((again as RpcError).code).toBe(-32000);
    seen.stop();
    await h.client.call('instance.stop', { instanceId: ignored.instanceId });
  });

  it('closes a subscriber that stops reading with 1013, and nobody else notices', async () => {
    const slow = await h.connectAnother('slow');
    const fast = await h.connectAnother('fast');
    await slow.call('events.subscribe', { topics: ['log'] });
    await fast.call('events.subscribe', { topics: ['log'] });
    let fastFloods = 0;
    const stopFast = fast.onEvent((e) => {
      if (e.topic === 'log' && e.msg === 'flood') fastFloods++;
    });
    let dropped: Record<string, unknown> | undefined;
    const onLine = (line: Record<string, unknown>) => {
      if (line.msg === 'closing a slow subscriber') dropped = line;
    };
    logTap.on('line', onLine);
    const closed = new Promise<number>((resolve) => slow.ws.once('close', (code) => resolve(code)));

    // The slow client stops reading; lines go out one at a time, each once the fast client
    // has it, until the slow one's backlog (kernel buffers, then ws's own) passes the limit.
    const socket = (slow.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const blob = 'x'.repeat(128 * 1024);
    let sent = 0;
    while (!dropped && sent < 1_000) {
      log.info({ blob, n: sent }, 'flood');
      sent++;
      await until(() => fastFloods >= sent);
    }
    expect(dropped).toMatchObject({ owner: 'client:slow', bufferedBytes: expect.any(Number) });
    expect(dropped?.bufferedBytes as number).toBeGreaterThan(MAX_BUFFERED);

    // Once it reads again it drains its backlog and finds the close frame behind it.
    socket.resume();
    expect(await closed).toBe(1013);
    // The fast subscriber had every line, is still subscribed and still served.
    log.info({ n: sent }, 'flood');
    await until(() => fastFloods === sent + 1);
    expect((await fast.call('system.health')).status).toBe('ok');
    logTap.off('line', onLine);
    stopFast();
  });

  it('gives each state event a seq (one more per transition), the full state value and the event that caused it', async () => {
    const mark = h.events.mark();
    const { instanceId } = await h.client.call('instance.create', { name: 'seq' });
    const { tabId } = await h.client.call('tab.open', { instanceId, url: h.pages.url('/page/seq') });
    await h.client.call('tab.close', { tabId });
    await h.client.call('instance.stop', { instanceId });
    await h.events.waitFor({ actor: instanceId, to: 'stopped' }, mark);
    const seen = h.events.events.slice(mark);
    // Every transition of the runtime, in the order made: consecutive seqs.
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => seen[0]!.seq + i));
    const of = (actor: string) => seen.filter((e) => e.actor === actor).map(({ from, to, event, value, instanceId: i }) => ({ from, to, event, value, instanceId: i }));
    expect(of(instanceId)).toEqual([
      { from: null, to: 'spawning', event: 'xstate.init', value: 'spawning', instanceId },
      { from: 'spawning', to: 'healthy', event: expect.stringMatching(/^xstate\.done\.actor\./), value: { running: { health: 'healthy' } }, instanceId },
      { from: 'healthy', to: 'stopping', event: 'STOP', value: 'stopping', instanceId },
      { from: 'stopping', to: 'stopped', event: expect.stringMatching(/^xstate\.done\.actor\./), value: 'stopped', instanceId },
    ]);
    expect(of(tabId)).toEqual([
      { from: null, to: 'spawning', event: 'xstate.init', value: 'spawning', instanceId },
      { from: 'spawning', to: 'healthy', event: expect.stringMatching(/^xstate\.done\.actor\./), value: { running: { health: 'healthy' } }, instanceId },
      { from: 'healthy', to: 'stopped', event: 'CLOSE', value: 'stopped', instanceId },
    ]);
  });

  it('replays the history after `since` right after its answer, in seq order, then live events: no gap, no duplicate', async () => {
    const mark = h.events.mark();
    const { instanceId } = await h.client.call('instance.create', { name: 'replayed' });
    const other = await h.client.call('instance.create', { name: 'not replayed' });
    const { tabId } = await h.client.call('tab.open', { instanceId, url: h.pages.url('/page/replayed') });
    await h.events.waitFor({ actor: tabId, to: 'healthy' }, mark);
    const ofInstance = (from: number) => h.events.events.slice(from).filter((e) => e.instanceId === instanceId);
    const before = ofInstance(mark);
    expect(before.map((e) => e.to)).toEqual(['spawning', 'healthy', 'spawning', 'healthy']);
    const since = before[1]!.seq;

    // A raw socket, to see the frames in the order they come.
    const ws = new WebSocket(`${h.tv.url}?client=replayer`);
    const frames: Record<string, any>[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'events.subscribe', params: { topics: ['state'], instanceId, since } }));
    await until(() => frames.length >= 3);
    const { subscriptionId } = frames[0]!.result as { subscriptionId: string };
    expect(frames[0]).toMatchObject({ id: 1, result: { subscriptionId: expect.any(String) } });
    const replayed = frames.slice(1).map((f) => f.params as StateEvent & { subscriptionId: string; topic: string });
    expect(replayed.every((e) => e.subscriptionId === subscriptionId && e.topic === 'state')).toBe(true);
    const strip = (e: object) => {
      const { subscriptionId: _, topic: __, ...rest } = e as Record<string, unknown>;
      return rest;
    };
    expect(replayed.map(strip)).toEqual(before.slice(2).map(strip));

    // Then the live ones, each once: the tab's close and the instance's stop.
    const live = h.events.mark();
    await h.client.call('tab.close', { tabId });
    await h.client.call('instance.stop', { instanceId });
    await h.events.waitFor({ actor: instanceId, to: 'stopped' }, live);
    await until(() => frames.some((f) => f.params?.actor === instanceId && f.params?.to === 'stopped'));
    const all = frames.slice(1).map((f) => f.params as StateEvent);
    expect(all.map((e) => e.seq)).toEqual([...new Set(all.map((e) => e.seq))].sort((a, b) => a - b));
    expect(all.map(strip)).toEqual(ofInstance(mark).slice(2).map(strip));
    expect(all.every((e) => e.instanceId === instanceId)).toBe(true);

    // since 0: the whole history the runtime keeps, other instances too.
    const whole = await collectReplay(0);
    expect(whole.length).toBe(h.tv.runtime.transitionsSince(0).length);
    expect(whole.some((e) => e.actor === other.instanceId)).toBe(true);
    ws.close();
    await h.client.call('instance.stop', { instanceId: other.instanceId });
  });

  it('sends values as they move within a reported state (a recovery), only changed ones, and nothing while nobody subscribes', async () => {
    // An idle healthy actor's value does not move (its probe and memory loops are actors that
    // report only misses); a recovery's steps do. The tab's page changes its URL every 10 ms:
    // snapshots that change nothing a values event carries.
    const fast = await startHarness();
    try {
      const { instanceId, pid } = await fast.client.call('instance.create', { name: 'busy' });
      const { tabId } = await fast.client.call('tab.open', { instanceId, url: fast.pages.url('/hashes/busy') });
      const feed = fast.tv.server.values;
      const idle = { ...feed.stats };
      await new Promise((r) => setTimeout(r, 300));
      expect(feed.stats).toEqual(idle); // nobody subscribes: nothing is even looked at

      const watcher = await fast.connectAnother('charts');
      const seen = collect(watcher);
      const { subscriptionId } = await watcher.call('events.subscribe', { topics: ['values'] });
      await new Promise((r) => setTimeout(r, 1_000));
      // Snapshots by the dozen (each URL change), one value sent: the tab's, the first time the
      // feed sees it; none after, since none changed it. The idle instance: nothing at all.
      expect(feed.stats.seen).toBeGreaterThan(20);
      expect(seen.events.filter((e) => e.topic === 'values')).toEqual([
        expect.objectContaining({ actor: tabId, kind: 'tab', value: { running: { health: 'healthy' } } }),
      ]);

      const mark = fast.events.mark();
      const started = Date.now();
      process.kill(pid as number, 'SIGKILL');
      await fast.events.waitFor({ actor: instanceId, from: 'recovering', to: 'healthy' }, mark);
      await fast.events.waitFor({ actor: tabId, from: 'recovering', to: 'healthy' }, mark);
      await new Promise((r) => setTimeout(r, 200));
      await watcher.call('events.unsubscribe', { subscriptionId });
      const elapsed = Date.now() - started;
      const values = seen.events.filter((e) => e.topic === 'values');
      const mine = values.filter((e) => e.actor === instanceId);
      // The recovery's steps (killing → backoff → relaunching → restoringTabs), coalesced: at
      // least one, at most one a flush, each a step of `recovering` unlike the one before.
      expect(mine.length).toBeGreaterThanOrEqual(1);
      expect(mine.length).toBeLessThanOrEqual(Math.floor(elapsed / 100) + 1);
      for (const [i, e] of mine.entries()) {
        expect(e).toMatchObject({ subscriptionId, kind: 'instance', instanceId, value: { recovering: expect.any(String) }, at: expect.any(Number) });
        if (i > 0) expect(JSON.stringify(e.value)).not.toBe(JSON.stringify(mine[i - 1]!.value));
      }
      expect(values.every((e) => e.actor === instanceId || e.actor === tabId)).toBe(true);
      expect(feed.stats.seen).toBeGreaterThan(3 * feed.stats.sent);
      // Unsubscribed: the feed stops listening.
      const after = { ...feed.stats };
      await new Promise((r) => setTimeout(r, 300));
      expect(feed.stats).toEqual(after);
      seen.stop();
      await fast.client.call('instance.stop', { instanceId });
    } finally {
      await fast.close();
    }
  });
});

/** The state events a fresh subscription with `since` gets first. */
async function collectReplay(since: number): Promise<StateEvent[]> {
  const ws = new WebSocket(h.tv.url);
  const frames: Record<string, any>[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'events.subscribe', params: { topics: ['state'], since } }));
  const expected = h.tv.runtime.transitionsSince(since).length;
  await until(() => frames.length >= expected + 1);
  ws.close();
  return frames.slice(1).map((f) => f.params as StateEvent);
}
