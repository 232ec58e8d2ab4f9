// The limits, each with a clear error and nothing else disturbed: 1,000 instance.create at
// once, 500 tab.open in one instance, the runtime's file descriptors running out (its
// RLIMIT_NOFILE lowered under it), the machine's memory reserve reached; and the warm pool.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RpcError, connect, type TabvisorClient } from '../../src/client/index.js';
import { CLOCK_TICKS_PER_S, readMemInfoSync, readStatSync } from '../../src/chrome/proc.js';
import { PageServer, startHarness, type Harness } from './harness.js';
import { startServe, type ServeProcess } from './processes.js';

let pages: PageServer;
beforeAll(async () => {
  pages = await PageServer.start();
});
afterAll(async () => {
  await pages?.close();
});

/** Calls spread over `connections` connections of one client name (each connection caps
 * what it has in flight at 64), all sent at once; the outcome of each. */
async function storm<T>(url: string, connections: number, calls: number, call: (client: TabvisorClient, i: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const clients = await Promise.all(Array.from({ length: connections }, () => connect(url, { client: 'storm' })));
  try {
    return await Promise.allSettled(Array.from({ length: calls }, (_, i) => call(clients[i % connections] as TabvisorClient, i)));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

const refusals = (results: PromiseSettledResult<unknown>[]) => results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as RpcError);

const uptimeS = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
/** When a process started, in seconds after boot (/proc/PID/stat field 22, in clock ticks). */
const startedAtS = (pid: number) => Number(readStatSync(pid)?.startTime) / CLOCK_TICKS_PER_S;

/** An instance and its tab still answer: the tab navigates and reads its page. */
async function stillWorks(client: TabvisorClient, instanceId: string, tabId: string, title: string): Promise<void> {
  expect((await client.call('instance.get', { instanceId })).state).toBe('healthy');
  const nav = await client.call('tab.navigate', { tabId, url: pages.url(`/page/${title}`) });
  expect(nav).toMatchObject({ status: 200, title });
  expect((await client.call('tab.text', { tabId })).text).toContain(title);
}

describe('limits, in one runtime', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('1,000 instance.create at once: as many as fit are created, the rest get -32001 (instances); the runtime and the instance already there carry on', async () => {
    h = await startHarness({ maxInstances: 4 });
    const first = await h.client.call('instance.create', { shared: true });
    const tab = await h.client.call('tab.open', { instanceId: first.instanceId, url: pages.url('/page/before') });
    const started = performance.now();
    const results = await storm(h.tv.url, 20, 1_000, (client) => client.call('instance.create', {}));
    const created = results.filter((r) => r.status === 'fulfilled');
    const refused = refusals(results);
    expect(created).toHaveLength(3);
    expect(refused).toHaveLength(997);
    for (const error of refused) {
      expect(error).toBeInstanceOf(RpcError);
      expect(error.code).toBe(-32001);
      expect(error.data).toEqual({ limit: 4, value: 4, resource: 'instances' });
    }
    // Refusals are answered at once, not after the launches.
    expect(performance.now() - started).toBeLessThan(30_000);
    await stillWorks(h.client, first.instanceId, tab.tabId, 'after-storm');
    // The storm's clients own the others: listed for an operator (all), not for this client.
    expect((await h.client.call('instance.list')).instances.map((i) => i.instanceId)).toEqual([first.instanceId]);
    const listed = (await h.client.call('instance.list', { all: true })).instances;
    expect(listed).toHaveLength(4);
    expect(listed.every((i) => i.state === 'healthy')).toBe(true);
    expect((await h.client.call('system.health')).status).toBe('ok');
    // The storm's client owns the others: the harness's close stops them all.
  });

  it("500 tab.open in one instance: maxTabs are opened, the rest get -32001 (tabs) with {limit, value}; the instance's tabs carry on", async () => {
    h = await startHarness();
    const { instanceId } = await h.client.call('instance.create', { shared: true, limits: { maxTabs: 6 } });
    const results = await storm(h.tv.url, 10, 500, (client) => client.call('tab.open', { instanceId }));
    const opened = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const refused = refusals(results);
    expect(opened).toHaveLength(6);
    expect(refused).toHaveLength(494);
    for (const error of refused) {
      expect(error.code).toBe(-32001);
      expect(error.data).toEqual({ limit: 6, value: 6, resource: 'tabs' });
      expect(error.message).toMatch(/tab limit of instance/);
    }
    const tabs = (await h.client.call('tab.list', { instanceId })).tabs;
    expect(tabs).toHaveLength(6);
    expect(tabs.every((t) => t.state === 'healthy')).toBe(true);
    await stillWorks(h.client, instanceId, opened[0]!.tabId, 'tabs-after');
    await h.client.call('instance.stop', { instanceId });
  });

  it('the memory reserve reached: instance.create is refused (memory) before any browser starts; what runs carries on', async () => {
    h = await startHarness();
    const { instanceId } = await h.client.call('instance.create', {});
    const { tabId } = await h.client.call('tab.open', { instanceId, url: pages.url('/page/kept') });
    const { totalBytes } = readMemInfoSync();
    // A reserve of the whole machine: reached whatever else runs, without taking any memory.
    const reserveMb = Math.ceil(totalBytes / 2 ** 20);
    const was = h.tv.runtime.admission.memoryReserveMb;
    h.tv.runtime.admission.memoryReserveMb = reserveMb;
    const results = await storm(h.tv.url, 4, 40, (client) => client.call('instance.create', {}));
    const refused = refusals(results);
    expect(refused).toHaveLength(40);
    for (const error of refused) {
      expect(error.code).toBe(-32001);
      expect(error.data).toMatchObject({ resource: 'memory', limit: reserveMb });
      expect((error.data as { value: number }).value).toBeLessThan(reserveMb);
      expect(error.message).toMatch(/not enough memory: \d+ MB available/);
    }
    expect((await h.client.call('instance.list')).instances).toHaveLength(1);
    await stillWorks(h.client, instanceId, tabId, 'kept-after');
    // Room again: created as before.
    h.tv.runtime.admission.memoryReserveMb = was;
    const again = await h.client.call('instance.create', {});
    expect(again.state).toBe('healthy');
    await h.client.call('instance.stop', { instanceId: again.instanceId });
    await h.client.call('instance.stop', { instanceId });
  });

  it('--warm 2: instance.create binds a launched browser, the pool refills, warm browsers count against the limit and stop with the runtime', async () => {
    h = await startHarness({ warm: 2, maxInstances: 3 });
    const pool = async () => (await h.client.call('system.health')).warm!;
    const ready = async (n: number) => {
      for (let i = 0; i < 500 && ((await pool()).ready < n || (await pool()).launching > 0); i++) await new Promise((r) => setTimeout(r, 20));
      expect(await pool()).toEqual({ size: 2, ready: n, launching: 0 });
    };
    await ready(2);
    await new Promise((r) => setTimeout(r, 300));
    const sentAtS = uptimeS();
    const a = await h.client.call('instance.create', {});
    expect(a.state).toBe('healthy');
    // Bound, not launched: its browser was started before the call was made.
    expect(startedAtS(a.pid as number)).toBeLessThan(sentAtS - 0.1);
    expect(a.launchMs).toBeLessThan(5);
    // The pool refills to 2, but only 3 browsers may exist: 1 instance + 2 warm.
    await ready(2);
    const b = await h.client.call('instance.create', {});
    // 2 instances + 1 warm browser: the limit, so no refill.
    await new Promise((r) => setTimeout(r, 500));
    expect(await pool()).toEqual({ size: 2, ready: 1, launching: 0 });
    const c = await h.client.call('instance.create', {});
    // The third took the last warm browser; a fourth is refused: the limit counts them all.
    const refused = await h.client.call('instance.create', {}).catch((e: RpcError) => e);
    expect(refused).toBeInstanceOf(RpcError);
    expect((refused as RpcError).data).toEqual({ limit: 3, value: 3, resource: 'instances' });
    // A bound browser works as any other: a tab, a navigation, a kill -9 and a recovery.
    const { tabId } = await h.client.call('tab.open', { instanceId: a.instanceId, url: pages.url('/page/warm') });
    await stillWorks(h.client, a.instanceId, tabId, 'warm-nav');
    const mark = h.events.mark();
    process.kill(a.pid as number, 'SIGKILL');
    await h.events.waitFor({ actor: a.instanceId, from: 'recovering', to: 'healthy' }, mark);
    await h.events.waitFor({ actor: tabId, from: 'recovering', to: 'healthy' }, mark);
    for (const { instanceId } of [a, b, c]) await h.client.call('instance.stop', { instanceId });
    await ready(2);
    // close() (in afterEach) stops the warm browsers too; the leak checks see to it.
  });
});

describe('file descriptors running out, in a real `tabvisor serve`', () => {
  let served: ServeProcess | undefined;
  let stateDir: string | undefined;
  afterEach(async () => {
    if (served && served.child.exitCode === null) {
      served.child.kill('SIGTERM');
      await served.child;
    }
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('RLIMIT_NOFILE lowered under the runtime: new instances are refused naming file descriptors; the existing ones keep working', async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'tabvisor-limits-'));
    served = await startServe(['--state-dir', stateDir, '--no-restore']);
    const client = await connect(served.url, { client: 'fds' });
    try {
      const { instanceId } = await client.call('instance.create', {});
      const { tabId } = await client.call('tab.open', { instanceId, url: pages.url('/page/fd-one') });
      // Lower the limit (soft and hard) under the running process to what it holds now plus a
      // little less than the reserve and one instance need: `ulimit -n` for a running process.
      const pid = served.child.pid as number;
      const open = readdirSync(`/proc/${pid}/fd`).length;
      const limit = open + 60;
      await execa('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]);
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => client.call('instance.create', {})));
      const refused = refusals(results);
      expect(refused).toHaveLength(5);
      for (const error of refused) {
        expect(error.code).toBe(-32001);
        expect(error.data).toMatchObject({ resource: 'fds', limit });
        expect(error.message).toMatch(/file descriptors running out: \d+ of \d+ open \(ulimit -n\)/);
      }
      await stillWorks(client, instanceId, tabId, 'fd-after');
      expect((await client.call('instance.list')).instances).toHaveLength(1);
      expect(served.lines.filter((l) => /EMFILE/.test(JSON.stringify(l)))).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
