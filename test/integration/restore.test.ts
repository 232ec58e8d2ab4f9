// Snapshot and restore with real processes and real signals: the runtime is killed with
// SIGKILL and started again on the same state dir; it must come back with every instance and
// tab under the same ids and URLs, adopting the browsers that survived, relaunching the rest,
// and leaving no browser, keeper or profile behind after any sequence of kills and stops.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type TabvisorClient } from '../../src/client/index.js';
import { liveGroupMembers, PageServer, rpcError, startHarness } from './harness.js';
import { markedProcesses, startServe, type ServeProcess } from './processes.js';

let stateDir: string;
let pages: PageServer | undefined;
let serve: ServeProcess | undefined;
const clients: TabvisorClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGTERM');
    await serve.child;
  }
  serve = undefined;
  await pages?.close();
  pages = undefined;
  // Whatever a test left on its state dir is a leak of that test: reported, then cleared so
  // the next test starts clean.
  const left = await markedProcesses(stateDir);
  for (const p of [...left.browsers, ...left.keepers]) {
    try {
      process.kill(-p.pgid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
  expect(left.browsers.map((p) => p.pid), 'browsers left on the state dir').toEqual([]);
  expect(left.keepers.map((p) => p.pid), 'keepers left on the state dir').toEqual([]);
});

/** A new state dir, the page server, and a runtime on them. */
async function begin(args: string[] = []): Promise<TabvisorClient> {
  stateDir = mkdtempSync(join(tmpdir(), 'tabvisor-restore-test-'));
  pages = await PageServer.start();
  return start(args);
}

async function start(args: string[] = []): Promise<TabvisorClient> {
  serve = await startServe(['--state-dir', stateDir, ...args]);
  const client = await connect(serve.url, { client: 'restore-test', reconnect: false });
  clients.push(client);
  return client;
}

async function killRuntime(): Promise<void> {
  const current = serve!;
  for (const c of clients.splice(0)) await c.close();
  current.child.kill('SIGKILL');
  await current.child;
  serve = undefined;
}

/** The snapshot made durable, then the runtime killed with SIGKILL. */
async function snapshotThenKill(client: TabvisorClient): Promise<void> {
  await client.call('supervisor.snapshot');
  await killRuntime();
}

interface Fleet {
  instances: { instanceId: string; pid: number }[];
  tabs: { tabId: string; instanceId: string; url: string; title: string }[];
}

/** `instances` instances with `tabsEach` tabs, each at a page of its own. */
async function makeFleet(client: TabvisorClient, instances: number, tabsEach: number): Promise<Fleet> {
  const fleet: Fleet = { instances: [], tabs: [] };
  for (let i = 0; i < instances; i++) {
    const { instanceId, pid } = await client.call('instance.create', { name: `fleet-${i}` });
    fleet.instances.push({ instanceId, pid: pid as number });
    for (let j = 0; j < tabsEach; j++) {
      const { tabId } = await client.call('tab.open', { instanceId, url: pages!.url(`/page/i${i}-t${j}`) });
      const tab = (await client.call('tab.list', { instanceId })).tabs.find((t) => t.tabId === tabId)!;
      fleet.tabs.push({ tabId, instanceId, url: tab.url, title: tab.title });
    }
  }
  return fleet;
}

/** Poll until every instance and tab is healthy (the restore is done). */
async function whenAllHealthy(client: TabvisorClient, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { instances } = await client.call('instance.list');
    const { tabs } = await client.call('tab.list');
    if (instances.every((i) => i.state === 'healthy') && tabs.every((t) => t.state === 'healthy')) return { instances, tabs };
    if (Date.now() > deadline) throw new Error(`not all healthy after ${timeoutMs} ms: ${JSON.stringify({ instances, tabs })}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function groupGone(pid: number, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while ((await liveGroupMembers(pid)).length) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

const sortById = <T extends { tabId: string }>(list: T[]) => [...list].sort((a, b) => a.tabId.localeCompare(b.tabId));

describe('restore after kill -9 of the runtime', () => {
  it('adopts every running browser: same ids, URLs, titles and pids, pages not reloaded, tabs usable, keepers replaced', async () => {
    let client = await begin();
    const fleet = await makeFleet(client, 2, 2);
    const written = await client.call('supervisor.snapshot');
    expect(written).toMatchObject({ instances: 2, tabs: 4 });
    // Answered after the file is durable: it is on disk now, with what was answered.
    const file = JSON.parse(readFileSync(join(stateDir, 'snapshot.json'), 'utf8'));
    expect(file.at).toBe(written.at);
    expect(file.instances.map((i: { instanceId: string }) => i.instanceId).sort()).toEqual(fleet.instances.map((i) => i.instanceId).sort());
    const keepersBefore = (await markedProcesses(stateDir)).keepers.map((k) => k.pid);
    expect(keepersBefore).toHaveLength(2);
    const hitsBefore = new Map(pages!.hits);

    await killRuntime();
    // The browsers outlive the runtime (their keepers wait for the grace period).
    for (const { pid } of fleet.instances) expect((await liveGroupMembers(pid)).length).toBeGreaterThan(0);
    client = await start();
    const { instances, tabs } = await whenAllHealthy(client);

    expect(instances.map((i) => [i.instanceId, i.pid, i.name]).sort()).toEqual(fleet.instances.map((i, n) => [i.instanceId, i.pid, `fleet-${n}`]).sort());
    for (const i of instances) expect(i.reason).toMatch(/^adopted after a runtime restart \(pid \d+\), 2 tabs restored$/);
    expect(sortById(tabs).map(({ tabId, instanceId, url, title }) => ({ tabId, instanceId, url, title }))).toEqual(sortById(fleet.tabs));
    // Adopted, not reopened: no page was requested again.
    expect(new Map(pages!.hits)).toEqual(hitsBefore);
    const keepersAfter = (await markedProcesses(stateDir)).keepers.map((k) => k.pid);
    expect(keepersAfter).toHaveLength(2);
    expect(keepersAfter.filter((pid) => keepersBefore.includes(pid))).toEqual([]);

    // The tabs work: navigate one, read another, act on a third, and still owned by their client.
    const [a, b] = fleet.tabs;
    const nav = await client.call('tab.navigate', { tabId: a!.tabId, url: pages!.url('/page/after') });
    expect(nav).toMatchObject({ status: 200, title: 'after' });
    expect((await client.call('tab.text', { tabId: b!.tabId })).text).toContain('i0-t1');
    const snapshot = await client.call('tab.snapshot', { tabId: b!.tabId, filter: 'all' });
    expect(snapshot.url).toBe(b!.url);
    const stranger = await connect(serve!.url, { client: 'someone-else', reconnect: false });
    clients.push(stranger);
    expect((await rpcError(stranger.call('tab.navigate', { tabId: a!.tabId, url: pages!.url('/page/x') }))).code).toBe(-32002);

    // Operators see the snapshots being written.
    const { bytes } = await client.call('supervisor.snapshot');
    const metrics = await (await fetch(serve!.url.replace(/^ws/, 'http').replace(/\/rpc$/, '/metrics'))).text();
    expect(Number(/^tabvisor_snapshot_writes_total\{outcome="ok"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/^tabvisor_snapshot_writes_total\{outcome="error"\} 0$/m);
    expect(Number(/^tabvisor_snapshot_last_write\{stat="bytes"\} (\d+)$/m.exec(metrics)?.[1])).toBe(bytes);
    expect(metrics).not.toMatch(/state="starting"/);
  });

  it('relaunches browsers that died with it: same ids, tabs reopened at their URLs', async () => {
    let client = await begin();
    const fleet = await makeFleet(client, 2, 2);
    await snapshotThenKill(client);
    for (const { pid } of fleet.instances) {
      process.kill(-pid, 'SIGKILL');
      expect(await groupGone(pid)).toBe(true);
    }
    client = await start();
    const { instances, tabs } = await whenAllHealthy(client);
    expect(instances.map((i) => i.instanceId).sort()).toEqual(fleet.instances.map((i) => i.instanceId).sort());
    for (const i of instances) {
      expect(fleet.instances.map((f) => f.pid)).not.toContain(i.pid);
      expect(i.reason).toMatch(/^relaunched after a runtime restart \(not adopted: pid \d+ is not the recorded browser any more\) \(pid \d+\), 2 tabs restored$/);
    }
    expect(sortById(tabs).map(({ tabId, instanceId, url, title }) => ({ tabId, instanceId, url, title }))).toEqual(sortById(fleet.tabs));
    // Reopened: each page was loaded a second time.
    for (const t of fleet.tabs) expect(pages!.hits.get(new URL(t.url).pathname)).toBe(2);
    const nav = await client.call('tab.navigate', { tabId: fleet.tabs[3]!.tabId, url: pages!.url('/page/again') });
    expect(nav.title).toBe('again');
  });

  it('a browser frozen at the restart is not adopted: it is killed and relaunched, never two browsers for one instance', async () => {
    let client = await begin();
    const fleet = await makeFleet(client, 1, 1);
    const { instanceId, pid } = fleet.instances[0]!;
    await snapshotThenKill(client);
    process.kill(pid, 'SIGSTOP'); // alive, same pid and start time, but it cannot answer
    client = await start();
    const { instances, tabs } = await whenAllHealthy(client);
    expect(instances[0]!.instanceId).toBe(instanceId);
    expect(instances[0]!.pid).not.toBe(pid);
    expect(instances[0]!.reason).toMatch(/^relaunched after a runtime restart \(not adopted: (its DevTools endpoint did not answer|it did not answer a probe)\)/);
    expect(tabs.map((t) => [t.tabId, t.url])).toEqual(fleet.tabs.map((t) => [t.tabId, t.url]));
    expect(await liveGroupMembers(pid)).toEqual([]);
    expect(new Set((await markedProcesses(stateDir)).browsers.map((p) => p.pgid))).toEqual(new Set([instances[0]!.pid]));
  });

  it('kill -9 at 50 random moments of heavy snapshot writing: every start finds a valid snapshot and restores it', async () => {
    let client = await begin();
    const { instanceId } = await client.call('instance.create', {});
    for (let j = 0; j < 2; j++) await client.call('tab.open', { instanceId, url: pages!.url(`/page/k${j}`) });
    let restores = 0;
    const began = Date.now();
    for (let round = 0; round < 50; round++) {
      // Heavy writing: navigations (each a debounced write), tabs opened and closed, and
      // explicit snapshots back to back, all at once.
      let stop = false;
      const load = (async () => {
        let n = 0;
        while (!stop) {
          const { tabs } = await client.call('tab.list');
          const tab = tabs[n % tabs.length]!;
          await Promise.allSettled([
            client.call('tab.navigate', { tabId: tab.tabId, url: pages!.url(`/page/r${round}-${n}`) }),
            client.call('supervisor.snapshot'),
            client.call('supervisor.snapshot'),
            n % 3 === 0 ? client.call('tab.open', { instanceId, url: pages!.url(`/page/extra${n}`) }) : null,
            n % 3 === 2 && tabs.length > 2 ? client.call('tab.close', { tabId: tabs[tabs.length - 1]!.tabId }) : null,
          ]);
          n++;
        }
      })().catch(() => {}); // the kill cuts it off
      await new Promise((r) => setTimeout(r, 30 + Math.random() * 270));
      stop = true;
      await killRuntime();
      await load;
      // What the killed runtime left on disk is a whole snapshot.
      const file = JSON.parse(readFileSync(join(stateDir, 'snapshot.json'), 'utf8'));
      expect(file).toMatchObject({ format: 'tabvisor.snapshot', version: 1 });
      const recorded = file.instances.flatMap((i: { tabs: { tabId: string }[] }) => i.tabs.map((t) => t.tabId)).sort();
      client = await start();
      await serve!.waitForLine('fleet restored');
      expect(serve!.lines.some((l) => l.msg?.includes('unusable'))).toBe(false);
      const { instances, tabs } = await whenAllHealthy(client);
      expect(instances.map((i) => i.instanceId)).toEqual([instanceId]);
      // The same tabs; an adopted page shows where it is now, which may be newer than the file.
      expect(tabs.map((t) => t.tabId).sort()).toEqual(recorded);
      for (const t of tabs) expect(t.url.startsWith(pages!.origin)).toBe(true);
      restores++;
    }
    expect(restores).toBe(50);
    console.log(`50 kills and restores in ${Date.now() - began} ms`);
    // One browser at the end, whatever happened in between.
    expect(new Set((await markedProcesses(stateDir)).browsers.map((p) => p.pgid)).size).toBe(1);
  }, 240_000);
});

describe('start-up with a state dir', () => {
  it.each([
    ['corrupt', () => 'this is {not json'],
    ['truncated', (valid: string) => valid.slice(0, Math.floor(valid.length / 2))],
    ['newer', (valid: string) => JSON.stringify({ ...JSON.parse(valid), version: 99 })],
  ])('a %s snapshot is logged, moved aside, and the runtime starts clean and reaps its browsers', async (kind, spoil) => {
    let client = await begin();
    const fleet = await makeFleet(client, 1, 1);
    await snapshotThenKill(client);
    const path = join(stateDir, 'snapshot.json');
    writeFileSync(path, spoil(readFileSync(path, 'utf8')));
    client = await start();
    const error = await serve!.waitForLine('snapshot unusable: moved aside, starting with an empty fleet');
    expect(error.level).toBe(50);
    expect(String(error.reason)).toMatch(kind === 'newer' ? /newer tabvisor \(snapshot version 99/ : /not JSON/);
    expect(existsSync(String(error.movedTo))).toBe(true);
    expect((await client.call('instance.list')).instances).toEqual([]);
    // The browser nobody can adopt is reaped (found by its marker), its profile removed.
    expect(await groupGone(fleet.instances[0]!.pid)).toBe(true);
    expect(readdirSync(join(stateDir, 'profiles'))).toEqual([]);
    // And the runtime works.
    const { instanceId } = await client.call('instance.create', {});
    await client.call('tab.open', { instanceId, url: pages!.url('/page/fresh') });
    expect((await client.call('supervisor.snapshot')).tabs).toBe(1);
  });

  it('--no-restore starts empty and reaps every browser, keeper and profile the last run left', async () => {
    let client = await begin();
    const fleet = await makeFleet(client, 2, 1);
    await killRuntime();
    // One keeper per browser (each keeper's group: its sh, and its sleep now that the runtime is gone).
    expect(new Set((await markedProcesses(stateDir)).keepers.map((k) => k.pgid)).size).toBe(2);
    client = await start(['--no-restore']);
    expect((await client.call('instance.list')).instances).toEqual([]);
    for (const { pid } of fleet.instances) expect(await groupGone(pid)).toBe(true);
    expect(await markedProcesses(stateDir)).toEqual({ browsers: [], keepers: [] });
    expect(readdirSync(join(stateDir, 'profiles'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(stateDir, 'snapshot.json'), 'utf8')).instances).toEqual([]);
  });

  it('a runtime gone longer than the grace period takes its browsers with it (the keeper)', async () => {
    await begin(['--orphan-grace-ms', '1500']);
    const fleet = await makeFleet(clients[0]!, 1, 1);
    const { pid } = fleet.instances[0]!;
    const killedAt = Date.now();
    await killRuntime();
    // Still there inside the grace period, to be adopted...
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await liveGroupMembers(pid)).length).toBeGreaterThan(0);
    // ...and gone soon after it, keeper included.
    expect(await groupGone(pid, 4_000)).toBe(true);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1_500);
    for (let i = 0; i < 100 && (await markedProcesses(stateDir)).keepers.length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await markedProcesses(stateDir)).toEqual({ browsers: [], keepers: [] });
  });

  it('SIGTERM stops every browser, writes the fleet without them, and the next start relaunches it', async () => {
    const client = await begin();
    const fleet = await makeFleet(client, 2, 1);
    const stopping = serve!;
    const started = Date.now();
    stopping.child.kill('SIGTERM');
    expect((await stopping.child).exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    serve = undefined;
    clients.splice(0);
    await client.close();
    for (const { pid } of fleet.instances) expect(await liveGroupMembers(pid)).toEqual([]);
    expect(await markedProcesses(stateDir)).toEqual({ browsers: [], keepers: [] });
    expect(readdirSync(join(stateDir, 'profiles'))).toEqual([]);
    expect(existsSync(join(stateDir, 'runtime.lock'))).toBe(false);
    const file = JSON.parse(readFileSync(join(stateDir, 'snapshot.json'), 'utf8'));
    expect(file.clean).toBe(true);
    expect(file.instances.map((i: { chrome: unknown }) => i.chrome)).toEqual([null, null]);

    const again = await start();
    const { instances, tabs } = await whenAllHealthy(again);
    expect(instances.map((i) => i.instanceId).sort()).toEqual(fleet.instances.map((i) => i.instanceId).sort());
    for (const i of instances) expect(i.reason).toMatch(/^relaunched after a runtime restart \(not adopted: no running browser was recorded\)/);
    expect(sortById(tabs).map((t) => [t.tabId, t.url])).toEqual(sortById(fleet.tabs).map((t) => [t.tabId, t.url]));
  });

  it('refuses a second runtime on the same state dir, and leaves the first one alone', async () => {
    const client = await begin();
    await makeFleet(client, 1, 0);
    await client.call('supervisor.snapshot');
    await new Promise((r) => setTimeout(r, 400)); // past the debounce of the creation's own write
    const before = readFileSync(join(stateDir, 'snapshot.json'), 'utf8');
    const first = serve!;
    await expect(startServe(['--state-dir', stateDir])).rejects.toThrow(/state dir .* is in use by the runtime with pid \d+/);
    expect(first.child.exitCode).toBe(null);
    expect(readFileSync(join(stateDir, 'snapshot.json'), 'utf8')).toBe(before);
    expect((await client.call('instance.list')).instances).toHaveLength(1);
  });
});

describe('supervisor.snapshot without a state dir', () => {
  it('answers -32004: the runtime keeps no snapshot', async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'tabvisor-restore-test-'));
    const h = await startHarness();
    try {
      const error = await rpcError(h.client.call('supervisor.snapshot'));
      expect(error.code).toBe(-32004);
      expect(error.message).toMatch(/without a state dir/);
    } finally {
      await h.close();
    }
  });
});
