// events.subscribe: state events in order per actor (filtered by instance when asked), log
// lines, periodic metrics and unsubscribe.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError, type EventMessage } from '../../src/client/index.js';
import { createLogger, type LogTap } from '../../src/log.js';
import { startHarness, type Harness } from './harness.js';

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
});
