// Real faults, really detected: kill -9 and SIGSTOP of the browser, a renderer crash, a page
// stuck in a busy loop, memory limits, and restart intensity running out.
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetSampler } from '../../src/chrome/memory.js';
import { RpcError } from '../../src/client/index.js';
import { liveGroupMembers, pidAlive, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function fleet(tabPaths: string[], params: Parameters<Harness['client']['call']>[1] = {}) {
  const created = await h.client.call('instance.create', params as never);
  const tabs = [];
  for (const path of tabPaths) tabs.push(await h.client.call('tab.open', { instanceId: created.instanceId, url: h.pages.url(path) }));
  return { instanceId: created.instanceId, pid: created.pid as number, tabs };
}

async function expectTabsBack(instanceId: string, tabs: { tabId: string; url: string }[]) {
  const listed = (await h.client.call('tab.list', { instanceId })).tabs;
  expect(listed.map((t) => [t.tabId, t.url, t.state]).sort()).toEqual(tabs.map((t) => [t.tabId, t.url, 'healthy']).sort());
  // Usable, not just listed: each tab navigates again.
  for (const t of tabs) {
    const nav = await h.client.call('tab.navigate', { tabId: t.tabId, url: t.url });
    expect(nav.status).toBe(200);
  }
}

describe('faults', () => {
  it('kill -9 of the browser: recovering, relaunched, tabs back with the same ids and URLs', async () => {
    const f = await fleet(['/page/k1', '/page/k2']);
    const mark = h.events.mark();
    process.kill(f.pid, 'SIGKILL');
    const down = await h.events.waitFor({ actor: f.instanceId, to: 'recovering' }, mark);
    expect(down.reason).toMatch(/SIGKILL|DevTools connection lost/);
    await h.events.waitFor({ actor: f.instanceId, from: 'recovering', to: 'healthy' }, mark);
    for (const t of f.tabs) await h.events.waitFor({ actor: t.tabId, from: 'recovering', to: 'healthy' }, mark);
    const info = await h.client.call('instance.get', { instanceId: f.instanceId });
    expect(info.pid).not.toBe(f.pid);
    expect(info.restarts).toBe(1);
    expect(await liveGroupMembers(f.pid)).toEqual([]);
    await expectTabsBack(f.instanceId, f.tabs);
    await h.client.call('instance.stop', { instanceId: f.instanceId });
  });

  it('SIGSTOP of the browser: probes miss, degraded, then the frozen tree is killed and relaunched', async () => {
    const f = await fleet(['/page/s1']);
    const mark = h.events.mark();
    process.kill(f.pid, 'SIGSTOP');
    try {
      const degraded = await h.events.waitFor({ actor: f.instanceId, from: 'healthy', to: 'degraded' }, mark, 15_000);
      expect(degraded.reason).toMatch(/probes missed/);
      // The event that moved it: the probe's raised miss, not the timer that started the step.
      expect(degraded.event).toBe('PROBE_MISSED');
      const recovering = await h.events.waitFor({ actor: f.instanceId, from: 'degraded', to: 'recovering' }, mark, 15_000);
      expect(recovering.reason).toMatch(/unresponsive/);
      await h.events.waitFor({ actor: f.instanceId, from: 'recovering', to: 'healthy' }, mark);
    } finally {
      if (pidAlive(f.pid)) process.kill(f.pid, 'SIGCONT');
    }
    expect(await liveGroupMembers(f.pid)).toEqual([]);
    await h.events.waitFor({ actor: f.tabs[0]!.tabId, from: 'recovering', to: 'healthy' }, mark);
    await expectTabsBack(f.instanceId, f.tabs);
    await h.client.call('instance.stop', { instanceId: f.instanceId });
  });

  it('renderer crash (Page.crash): the tab is reopened at its last URL with the same id', async () => {
    const f = await fleet(['/page/c1', '/page/c2']);
    const [victim, bystander] = f.tabs as [(typeof f.tabs)[0], (typeof f.tabs)[0]];
    await h.client.call('tab.navigate', { tabId: victim.tabId, url: h.pages.url('/page/c1-moved') });
    // Crash the renderer through a separate DevTools connection, as an outside fault would.
    const instance = h.tv.runtime.chrome(f.instanceId);
    const outside = await puppeteer.connect({ browserWSEndpoint: instance.wsEndpoint as string, defaultViewport: null });
    try {
      const targetId = instance.tabs.get(victim.tabId)?.targetId;
      const target = outside.targets().find((t) => (t as unknown as { _targetId: string })._targetId === targetId);
      expect(target).toBeDefined();
      const session = await target!.createCDPSession();
      const mark = h.events.mark();
      void session.send('Page.crash').catch(() => {});
      const recovering = await h.events.waitFor({ actor: victim.tabId, to: 'recovering' }, mark);
      expect(recovering.reason).toMatch(/crash/i);
      await h.events.waitFor({ actor: victim.tabId, from: 'recovering', to: 'healthy' }, mark);
      // The instance itself never left healthy, and the other tab was not touched.
      expect(h.events.of(f.instanceId, mark)).toEqual([]);
      expect(h.events.of(bystander.tabId, mark)).toEqual([]);
    } finally {
      await outside.disconnect();
    }
    await expectTabsBack(f.instanceId, [{ tabId: victim.tabId, url: h.pages.url('/page/c1-moved') }, bystander]);
    await h.client.call('instance.stop', { instanceId: f.instanceId });
  });

  it('a page stuck in while(true): the tab probe catches it and the tab comes back, same id', async () => {
    const f = await fleet([]);
    const mark = h.events.mark();
    const tab = await h.client.call('tab.open', { instanceId: f.instanceId, url: h.pages.url('/hang-once/loop') });
    const recovering = await h.events.waitFor({ actor: tab.tabId, to: 'recovering' }, mark, 20_000);
    expect(recovering.reason).toMatch(/hung/);
    expect(h.events.of(tab.tabId, mark)).toEqual(['spawning', 'healthy', 'degraded', 'recovering']);
    await h.events.waitFor({ actor: tab.tabId, from: 'recovering', to: 'healthy' }, mark);
    expect((await h.client.call('tab.list', { instanceId: f.instanceId })).tabs).toMatchObject([
      { tabId: tab.tabId, url: h.pages.url('/hang-once/loop'), state: 'healthy' },
    ]);
    const nav = await h.client.call('tab.navigate', { tabId: tab.tabId, url: h.pages.url('/page/after-hang') });
    expect(nav.title).toBe('after-hang');
    // The instance and its browser were never in question.
    expect(h.events.of(f.instanceId, mark)).toEqual([]);
    await h.client.call('instance.stop', { instanceId: f.instanceId });
  });

  it('calls pending on a tab fail fast with -32004 when its browser goes down', async () => {
    const f = await fleet(['/page/pending']);
    const tabId = f.tabs[0]!.tabId;
    const mark = h.events.mark();
    const started = Date.now();
    const pending = h.client.call('tab.navigate', { tabId, url: h.pages.url('/slow/pending?ms=20000'), timeoutMs: 60_000 }).then(
      () => null,
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 300)); // the navigation is under way
    process.kill(f.pid, 'SIGKILL');
    const error = (await pending) as RpcError;
    expect(error).toBeInstanceOf(RpcError);
    expect(error.code).toBe(-32004);
    expect(error.data).toMatchObject({ state: 'recovering' });
    expect(Date.now() - started).toBeLessThan(10_000);
    await h.events.waitFor({ actor: tabId, from: 'recovering', to: 'healthy' }, mark);
    // The slow URL was never committed, so the tab comes back where it was.
    expect((await h.client.call('tab.list', { instanceId: f.instanceId })).tabs[0]?.url).toBe(h.pages.url('/page/pending'));
    await h.client.call('instance.stop', { instanceId: f.instanceId });
  });

  it('memory: above the soft limit → degraded with mitigation; above the hard limit → restarted with tabs', async () => {
    // Measure what an idle instance with one tab takes, then set limits relative to it.
    const probe = await fleet(['/page/idle']);
    await new Promise((r) => setTimeout(r, 1_000));
    const sampler = new FleetSampler({ maxAgeMs: 0, detailedEveryMs: Infinity, detailedReadsPerPass: 0 });
    const idleMb = (await sampler.sample(probe.pid)).privateBytes / 2 ** 20;
    await h.client.call('instance.stop', { instanceId: probe.instanceId });

    const soft = await fleet(['/page/soft'], { limits: { softMemoryMb: Math.ceil(idleMb + 150), hardMemoryMb: Math.ceil(idleMb + 2000) } });
    // The client allowed this one to be closed under memory pressure (the harness treats any
    // unused tab as idle); the hog's own tab was not allowed.
    const spare = await h.client.call('tab.open', { instanceId: soft.instanceId, url: h.pages.url('/page/spare'), evictable: true });
    let mark = h.events.mark();
    await h.client.call('tab.navigate', { tabId: soft.tabs[0]!.tabId, url: h.pages.url('/alloc-once/soft-hog?mb=300') });
    const degraded = await h.events.waitFor({ actor: soft.instanceId, to: 'degraded' }, mark, 20_000);
    expect(degraded.reason).toMatch(/above soft limit/);
    const evicted = await h.events.waitFor({ actor: spare.tabId, to: 'stopped' }, mark);
    expect(evicted.reason).toMatch(/evicted/);
    expect((await h.client.call('tab.list', { instanceId: soft.instanceId })).tabs.map((t) => t.tabId)).toEqual([soft.tabs[0]!.tabId]);
    expect((await h.client.call('instance.get', { instanceId: soft.instanceId })).state).toBe('degraded');
    await h.client.call('instance.stop', { instanceId: soft.instanceId });

    const hard = await fleet(['/page/hard'], { limits: { softMemoryMb: Math.ceil(idleMb + 100), hardMemoryMb: Math.ceil(idleMb + 200) } });
    mark = h.events.mark();
    const hogUrl = h.pages.url('/alloc-once/hard-hog?mb=400');
    // The limit may trip while the page is still loading: then the call fails fast with -32004.
    const nav = await h.client.call('tab.navigate', { tabId: hard.tabs[0]!.tabId, url: hogUrl }).then(
      () => null,
      (e: RpcError) => e,
    );
    if (nav !== null) expect(nav.code).toBe(-32004);
    const recovering = await h.events.waitFor({ actor: hard.instanceId, to: 'recovering' }, mark, 20_000);
    expect(recovering.reason).toMatch(/above hard limit/);
    await h.events.waitFor({ actor: hard.instanceId, from: 'recovering', to: 'healthy' }, mark);
    // Restored at its last URL (which no longer allocates on the second visit), same id.
    await h.events.waitFor({ actor: hard.tabs[0]!.tabId, from: 'recovering', to: 'healthy' }, mark);
    await expectTabsBack(hard.instanceId, [{ tabId: hard.tabs[0]!.tabId, url: hogUrl }]);
    await h.client.call('instance.stop', { instanceId: hard.instanceId });
  });

  it('restart intensity exhausted → failed, while a sibling instance stays healthy', async () => {
    const sibling = await fleet(['/page/sibling']);
    const f = await fleet(['/page/doomed'], { restart: { maxRestarts: 2, windowMs: 60_000 } });
    const mark = h.events.mark();
    for (let i = 0; i < 3; i++) {
      const pid = (await h.client.call('instance.get', { instanceId: f.instanceId })).pid as number;
      const step = h.events.mark();
      process.kill(pid, 'SIGKILL');
      if (i < 2) await h.events.waitFor({ actor: f.instanceId, from: 'recovering', to: 'healthy' }, step);
    }
    const failed = await h.events.waitFor({ actor: f.instanceId, to: 'failed' }, mark);
    expect(failed.reason).toMatch(/restart intensity exceeded/);
    const info = await h.client.call('instance.get', { instanceId: f.instanceId });
    expect(info).toMatchObject({ state: 'failed', pid: null });
    expect((await h.client.call('tab.list', { instanceId: f.instanceId })).tabs[0]?.state).toBe('failed');
    const refused = await h.client.call('tab.open', { instanceId: f.instanceId }).then(
      () => null,
      (e: RpcError) => e,
    );
    expect(refused?.code).toBe(-32004);
    expect(refused?.data).toMatchObject({ state: 'failed' });

    // The sibling never noticed.
    expect(h.events.of(sibling.instanceId, mark)).toEqual([]);
    expect((await h.client.call('instance.get', { instanceId: sibling.instanceId })).state).toBe('healthy');
    await expectTabsBack(sibling.instanceId, sibling.tabs);
    expect((await h.client.call('system.health')).status).toBe('degraded');

    // An operator's restart brings a failed instance back, tabs included.
    const back = await h.client.call('instance.restart', { instanceId: f.instanceId });
    expect(back.state).toBe('healthy');
    await expectTabsBack(f.instanceId, f.tabs);
    await h.client.call('instance.stop', { instanceId: f.instanceId });
    await h.client.call('instance.stop', { instanceId: sibling.instanceId });
  });

  it('instance.restart answers once healthy again with its tabs restored', async () => {
    const f = await fleet(['/page/r1', '/page/r2']);
    const mark = h.events.mark();
    const restarted = await h.client.call('instance.restart', { instanceId: f.instanceId });
    expect(restarted.state).toBe('healthy');
    expect(restarted.pid).not.toBe(f.pid);
    expect(h.events.of(f.instanceId, mark)).toEqual(['recovering', 'healthy']);
    const listed = (await h.client.call('tab.list', { instanceId: f.instanceId })).tabs;
    expect(listed.every((t) => t.state === 'healthy')).toBe(true);
    await expectTabsBack(f.instanceId, f.tabs);
    await h.client.call('instance.stop', { instanceId: f.instanceId });
  });
});
