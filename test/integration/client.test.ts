// The typed client across a server restart (reconnect with backoff, subscriptions made again
// under the ids the caller knows), and `tabvisor call` as a real process.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_LOST, ConnectionLost, connect, type ClientState, type EventMessage, type TabvisorClient } from '../../src/client/index.js';
import { startTabvisor, type Tabvisor } from '../../src/index.js';
import { expectNoLeakedResources, fastDefaults, PageServer, resourceSnapshot, type ResourceSnapshot } from './harness.js';

let baseline: ResourceSnapshot;
let pages: PageServer;
let tv: Tabvisor | undefined;
let port: number;
const start = async () => {
  tv = await startTabvisor({ port, defaults: fastDefaults });
  port = tv.server.port;
  return tv;
};

beforeAll(async () => {
  baseline = resourceSnapshot();
  pages = await PageServer.start();
  port = 0;
  await start();
});
afterAll(async () => {
  await tv?.close();
  await pages.close();
  await expectNoLeakedResources(baseline);
});

function untilState(client: TabvisorClient, wanted: ClientState): Promise<void> {
  if (client.state === wanted) return Promise.resolve();
  return new Promise((resolve) => {
    const off = client.onState((state) => {
      if (state !== wanted) return;
      off();
      resolve();
    });
  });
}

describe('client reconnect', () => {
  it('comes back after a server restart, subscriptions and all, and a call made meanwhile waits for it', async () => {
    const client = await connect(tv!.url, { client: 'survivor', reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    const events: EventMessage[] = [];
    client.onEvent((e) => events.push(e));
    // Two subscriptions, the first dropped: the server numbers subscriptions from 1, so the
    // one left (2 here) gets another id (1) from the restarted server.
    const first = await client.call('events.subscribe', { topics: ['state'] });
    const { subscriptionId } = await client.call('events.subscribe', { topics: ['state'] });
    await client.call('events.unsubscribe', { subscriptionId: first.subscriptionId });

    await tv!.close();
    await untilState(client, 'reconnecting');
    // Made while the server is down: it waits for the connection instead of failing.
    const waiting = client.call('system.hello');
    await new Promise((r) => setTimeout(r, 300)); // a few failed attempts
    await start();
    expect((await waiting).protocol).toBe(1);
    await untilState(client, 'open');
    expect(client.reconnects).toBe(1);

    // The subscription was made again: events arrive under the id the caller knows.
    const { instanceId } = await client.call('instance.create', {});
    for (let i = 0; i < 200 && !events.some((e) => e.actor === instanceId && e.to === 'healthy'); i++) await new Promise((r) => setTimeout(r, 25));
    const mine = events.filter((e) => e.actor === instanceId);
    expect(mine.map((e) => e.to)).toContain('healthy');
    expect(new Set(mine.map((e) => e.subscriptionId))).toEqual(new Set([subscriptionId]));
    // Unsubscribing by that id stops them.
    await client.call('events.unsubscribe', { subscriptionId });
    const before = events.length;
    await client.call('instance.stop', { instanceId });
    await new Promise((r) => setTimeout(r, 200));
    expect(events.length).toBe(before);
    await client.close();
    expect(client.state).toBe('closed');
  });

  it('resubscribes `since` the last seq it saw: what happened while it was away comes once, nothing twice', async () => {
    const client = await connect(tv!.url, { client: 'resume', reconnect: { initialDelayMs: 300, maxDelayMs: 300 } });
    const events: EventMessage[] = [];
    client.onEvent((e) => events.push(e));
    const start = tv!.runtime.transitionsSince(0).at(-1)?.seq ?? 0;
    await client.call('events.subscribe', { topics: ['state'], since: start });
    const { instanceId } = await client.call('instance.create', {});
    for (let i = 0; i < 200 && !events.some((e) => e.actor === instanceId && e.to === 'healthy'); i++) await new Promise((r) => setTimeout(r, 25));

    client.ws.terminate(); // the network goes away; the runtime goes on meanwhile
    const meanwhile = await connect(tv!.url, { client: 'resume', reconnect: false });
    const { tabId } = await meanwhile.call('tab.open', { instanceId, url: pages.url('/page/away') });
    await meanwhile.close();
    await untilState(client, 'open');
    await client.call('instance.stop', { instanceId });
    for (let i = 0; i < 200 && !events.some((e) => e.actor === instanceId && e.to === 'stopped'); i++) await new Promise((r) => setTimeout(r, 25));

    const seqs = events.map((e) => e.seq as number);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b)); // each once, in order
    expect(seqs).toEqual(tv!.runtime.transitionsSince(start).map((t) => t.seq)); // and every one
    expect(events.filter((e) => e.actor === tabId).map((e) => e.to)).toEqual(['spawning', 'healthy', 'stopped']);
    await client.close();
  });

  it('rejects a call in flight when the connection is lost, with CONNECTION_LOST', async () => {
    const client = await connect(tv!.url, { client: 'in-flight', reconnect: { initialDelayMs: 50 } });
    const { instanceId } = await client.call('instance.create', {});
    const { tabId } = await client.call('tab.open', { instanceId, url: pages.url('/page/c1') });
    const pending = client.call('tab.action', { tabId, action: 'click', selector: '#never', timeoutMs: 20_000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    client.ws.terminate(); // the network goes away under the call
    const error = (await pending) as ConnectionLost;
    expect(error).toBeInstanceOf(ConnectionLost);
    expect(error.code).toBe(CONNECTION_LOST);
    await untilState(client, 'open');
    // Same client name, so the instance is still ours after the reconnect.
    await client.call('instance.stop', { instanceId });
    await client.close();
  });

  it('close() while reconnecting stops for good: no attempt after it, events() ends', async () => {
    const client = await connect(tv!.url, { reconnect: { initialDelayMs: 200, maxDelayMs: 200 } });
    await client.call('events.subscribe', { topics: ['state'] });
    const iterator = client.events();
    const next = iterator.next();
    client.ws.terminate();
    await untilState(client, 'reconnecting');
    await client.close();
    expect(client.state).toBe('closed');
    const http = (tv!.server as unknown as { http: import('node:http').Server }).http;
    let upgrades = 0;
    const count = () => upgrades++;
    http.on('upgrade', count);
    await new Promise((r) => setTimeout(r, 600)); // past the 100-200 ms a retry would wait
    http.off('upgrade', count);
    expect(upgrades).toBe(0);
    expect(await next).toEqual({ done: true, value: undefined });
    await expect(client.call('system.hello')).rejects.toMatchObject({ code: CONNECTION_LOST });
    // Without reconnect, a lost connection closes the client.
    const once = await connect(tv!.url, { reconnect: false });
    once.ws.terminate();
    await once.closed;
    expect(once.state).toBe('closed');
  });
});

describe('tabvisor call', () => {
  const call = (...args: string[]) => execa('node', ['dist/src/cli.js', 'call', ...args], { reject: false, stdin: 'ignore', env: { TABVISOR_TOKEN: '' } });

  it('prints the result as JSON and exits 0; an RPC error goes to stderr with exit 1; no answer at all, exit 2', async () => {
    const ok = await call('system.hello', '--url', tv!.url);
    expect(ok.exitCode).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ protocol: 1 });

    const unknown = await call('no.such.method', '--url', tv!.url);
    expect(unknown.exitCode).toBe(1);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ code: -32601 });

    const invalid = await call('tab.navigate', '{"tabId":1}', '--url', tv!.url);
    expect(invalid.exitCode).toBe(1);
    expect(JSON.parse(invalid.stderr)).toMatchObject({ code: -32602, data: { path: 'params.tabId' } });

    const notJson = await call('tab.list', '{oops', '--url', tv!.url);
    expect(notJson.exitCode).toBe(2);
    expect(notJson.stderr).toMatch(/params are not JSON/);

    const nobody = await call('system.hello', '--url', 'ws://127.0.0.1:1/rpc');
    expect(nobody.exitCode).toBe(2);
    expect(nobody.stderr).toMatch(/cannot reach ws:\/\/127\.0\.0\.1:1\/rpc/);
  });
});
