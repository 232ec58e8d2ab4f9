// The restore path: after a runtime restart the supervisor brings each instance back from a
// snapshot, with its tabs under the same ids. The browser is adopted if it still runs, else
// relaunched; an instance that was failed comes back failed. Fake actors, simulated clock.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { InstanceRestore } from '../../machines/index.js';
import { RESTORE_PATH, Sim, coverage, missedRestorePath, testOptions, type InstanceActor, type TabActor } from './fakes.js';

let sim: Sim;
afterEach(() => {
  sim?.stop();
  vi.restoreAllMocks();
});

const ctx = (ref: InstanceActor) => ref.getSnapshot().context;
const tctx = (ref: TabActor) => ref.getSnapshot().context;

const TABS: InstanceRestore['tabs'] = [
  { tabId: 't-a', url: 'https://a.test/page', title: 'Page A', evictable: true, restarts: 2 },
  { tabId: 't-b', url: 'https://b.test/other', title: 'Page B', evictable: false },
];
const restore = (overrides: Partial<InstanceRestore> = {}): InstanceRestore => ({
  failed: false,
  restarts: 3,
  reason: 'launched (pid 4242, 900 ms)',
  tabs: TABS,
  ...overrides,
});
const NOT_ADOPTED = 'relaunched after a runtime restart (not adopted: no live browser recorded)';

/** The INSTANCE_* events a tab received, in order. */
const instanceEventsOf = (tabId: string) => sim.received(tabId).filter((type) => type.startsWith('INSTANCE_'));

describe('restore: the browser is adopted', () => {
  it('adopts the running browser; tabs wait for it, then find their targets again under the same ids', async () => {
    sim = new Sim();
    sim.world.holdAdoptions = true;
    sim.world.adoptedTargets = new Set(['t-a', 't-b']);
    const i = await sim.restoreInstance('i-1', restore());

    // Mid-adoption: nothing launched, the tabs are back (same ids, urls, titles) and waiting.
    expect(i.getSnapshot().matches({ recovering: 'adopting' })).toBe(true);
    expect(ctx(i)).toMatchObject({ restoring: 'adopt', restarts: 3, pid: null, tabIds: ['t-a', 't-b'] });
    expect(ctx(i).reason).toBe('restoring from snapshot (was: launched (pid 4242, 900 ms))');
    expect(sim.world.adoptions).toEqual(['i-1']);
    expect(sim.world.launches).toEqual([]);
    expect(Object.keys(i.getSnapshot().children).sort()).toEqual(expect.arrayContaining(['t-a', 't-b']));
    for (const tab of TABS) {
      const t = sim.tab(tab.tabId);
      expect(t.getSnapshot().matches({ recovering: 'waitingForInstance' })).toBe(true);
      // Its restart count too (a snapshot written before tab restarts were recorded has none: 0).
      expect(tctx(t)).toMatchObject({ tabId: tab.tabId, instanceId: 'i-1', url: tab.url, title: tab.title, evictable: tab.evictable, restarts: tab.restarts ?? 0 });
      expect(tctx(t).reason).toMatch(/^instance down: restoring from snapshot/);
    }
    expect(sim.world.reopens).toEqual([]);

    sim.world.releaseAdoption('i-1');
    await sim.flush();
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i)).toMatchObject({ pid: 1000, launchMs: 7, restarts: 3, restartsInWindow: 0, restoring: null, recoveredBy: null, pendingTabs: [] });
    expect(ctx(i).reason).toBe('adopted after a runtime restart (pid 1000), 2 tabs restored');
    // One Chrome: adopted, never launched nor killed.
    expect(sim.world.adoptions).toEqual(['i-1']);
    expect(sim.world.launches).toEqual([]);
    expect(sim.world.kills).toEqual([]);
    expect(sim.world.opens).toEqual([]);
    expect(sim.world.reopens).toEqual([
      { instanceId: 'i-1', tabId: 't-a', url: 'https://a.test/page' },
      { instanceId: 'i-1', tabId: 't-b', url: 'https://b.test/other' },
    ]);
    for (const tab of TABS) {
      const t = sim.tab(tab.tabId);
      expect(sim.state(t)).toBe('healthy');
      expect(tctx(t)).toMatchObject({ tabId: tab.tabId, url: tab.url, reason: 'target adopted', restartsInWindow: 0 });
      expect(instanceEventsOf(tab.tabId)).toEqual(['INSTANCE_DOWN', 'INSTANCE_UP']);
    }
    expect(sim.received('i-1').filter((type) => type === 'TAB_SETTLED')).toHaveLength(2);
    // The supervisor only created it: nothing failed.
    expect(sim.received(sim.root.id)).toEqual(['xstate.init', 'CREATE_INSTANCE']);
    expect(sim.root.getSnapshot().context).toEqual({ instanceIds: ['i-1'], failed: [] });
    expect(sim.world.failures).toEqual([]);

    // Supervised as any instance from here: watched, probed, and its tabs too.
    expect(sim.world.chromeWatchers.has('i-1')).toBe(true);
    expect([...sim.world.tabWatchers.keys()].sort()).toEqual(['t-a', 't-b']);
    await sim.advance(3_000);
    expect(sim.state(i)).toBe('healthy');
    expect(sim.state(sim.tab('t-a'))).toBe('healthy');
  });

  it('a target the adopted browser no longer has is reopened: each tab says which', async () => {
    sim = new Sim();
    sim.world.adoptedTargets = new Set(['t-b']);
    const i = await sim.restoreInstance('i-1', restore());
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).reason).toBe('adopted after a runtime restart (pid 1000), 2 tabs restored');
    expect(tctx(sim.tab('t-a'))).toMatchObject({ reason: 'target reopened', title: 'title of https://a.test/page' });
    expect(tctx(sim.tab('t-b')).reason).toBe('target adopted');
  });

  it('after the adoption, a later crash is a plain relaunch (the adoption is not named again)', async () => {
    sim = new Sim();
    const i = await sim.restoreInstance('i-1', restore());
    expect(ctx(i).reason).toMatch(/^adopted after a runtime restart/);
    sim.chromeSays({ type: 'CHROME_EXITED', code: null, signal: 'SIGKILL' });
    await sim.advance(200);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).reason).toBe('relaunched (pid 1001), 2 tabs restored');
    expect(ctx(i).restarts).toBe(4);
    expect(sim.world.launches).toEqual(['i-1']);
    expect(sim.world.kills).toEqual(['i-1']);
  });

  it('STOP while adopting: stopped, its restored tabs closed', async () => {
    sim = new Sim();
    sim.world.holdAdoptions = true;
    const i = await sim.restoreInstance('i-1', restore());
    expect(i.getSnapshot().matches({ recovering: 'adopting' })).toBe(true);
    sim.root.send({ type: 'STOP_INSTANCE', instanceId: 'i-1' });
    await sim.flush();
    expect(i.getSnapshot().status).toBe('done');
    expect(sim.world.stops).toEqual(['i-1']);
    expect(sim.world.closedTargets).toEqual(['t-a', 't-b']);
    expect(sim.world.launches).toEqual([]);
    expect(sim.root.getSnapshot().context.instanceIds).toEqual([]);
  });
});

describe('restore: the browser cannot be adopted', () => {
  it('relaunches, counting one restart on top of the restored count; tabs are reopened', async () => {
    sim = new Sim();
    sim.world.adoptFailures = 1;
    const i = await sim.restoreInstance('i-1', restore({ restarts: 2 }));
    expect(sim.state(i)).toBe('healthy');
    expect(sim.world.adoptions).toEqual(['i-1']);
    expect(sim.world.launches).toEqual(['i-1']);
    expect(sim.world.kills).toEqual([]); // the world saw to the recorded browser; nothing to kill
    expect(ctx(i)).toMatchObject({ pid: 1000, launchMs: 42, restarts: 3, restoring: null, recoveredBy: null });
    // A runtime restart is not the browser's fault: it does not count against the intensity.
    expect(ctx(i)).toMatchObject({ restartsInWindow: 0, attempt: 0 });
    expect(ctx(i).reason).toBe(`${NOT_ADOPTED} (pid 1000), 2 tabs restored`);
    expect(sim.world.reopens.map((r) => [r.tabId, r.url])).toEqual([
      ['t-a', 'https://a.test/page'],
      ['t-b', 'https://b.test/other'],
    ]);
    for (const tab of TABS) {
      const t = sim.tab(tab.tabId);
      expect(sim.state(t)).toBe('healthy');
      expect(tctx(t)).toMatchObject({ tabId: tab.tabId, url: tab.url, title: `title of ${tab.url}`, reason: 'target reopened' });
      expect(instanceEventsOf(tab.tabId)).toEqual(['INSTANCE_DOWN', 'INSTANCE_UP']);
    }
    expect(sim.root.getSnapshot().context.failed).toEqual([]);
  });

  it('a relaunch that fails too goes through checking and the backoff (immediate: its first restart), then comes back', async () => {
    sim = new Sim();
    sim.world.adoptFailures = 1;
    sim.world.launchFailures = 1;
    const i = await sim.restoreInstance('i-1', restore({ restarts: 5, tabs: TABS.slice(0, 1) }));
    expect(i.getSnapshot().matches({ recovering: 'backoff' })).toBe(true);
    expect(ctx(i).reason).toBe('relaunch failed: chrome would not start');
    expect(ctx(i)).toMatchObject({ restarts: 7, restartsInWindow: 1, attempt: 1 });
    expect(sim.world.adoptions).toEqual(['i-1']);
    expect(sim.world.launches).toEqual(['i-1']);
    expect(sim.world.kills).toEqual(['i-1']); // checking → killing, as after any failed relaunch
    expect(sim.tab('t-a').getSnapshot().matches({ recovering: 'waitingForInstance' })).toBe(true);
    expect(sim.world.reopens).toEqual([]);

    await sim.advance(0);
    expect(sim.world.launches).toEqual(['i-1', 'i-1']);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).reason).toBe(`${NOT_ADOPTED} (pid 1000), 1 tabs restored`);
    expect(ctx(i).restarts).toBe(7);
    expect(tctx(sim.tab('t-a'))).toMatchObject({ reason: 'target reopened', url: 'https://a.test/page' });
    // The tab was told once that the browser was down and once that it was up.
    expect(instanceEventsOf('t-a')).toEqual(['INSTANCE_DOWN', 'INSTANCE_UP']);
  });

  it('with no restarts allowed, a failed relaunch after a failed adoption fails the instance', async () => {
    sim = new Sim();
    sim.world.adoptFailures = 1;
    sim.world.launchFailures = 1;
    const options = testOptions({ restart: { ...testOptions().restart, maxRestarts: 0 } });
    const i = await sim.restoreInstance('i-1', restore(), options);
    expect(sim.state(i)).toBe('failed');
    expect(ctx(i).reason).toBe('restart intensity exceeded: 1 restarts in 60000 ms (last: relaunch failed: chrome would not start)');
    expect(sim.world.failures).toEqual([{ instanceId: 'i-1', reason: ctx(i).reason }]);
    for (const tab of TABS) expect(sim.state(sim.tab(tab.tabId))).toBe('failed');
  });
});

describe('restore: an instance that was failed', () => {
  it('comes back failed with its tabs, is reported, and an operator restart brings it all back', async () => {
    sim = new Sim();
    const recorded = 'restart intensity exceeded: 6 restarts in 60000 ms (last: browser exited (signal SIGKILL))';
    const i = await sim.restoreInstance('i-1', restore({ failed: true, restarts: 6, reason: recorded }));
    expect(sim.state(i)).toBe('failed');
    expect(ctx(i)).toMatchObject({ restoring: null, restarts: 6, pid: null, tabIds: ['t-a', 't-b'] });
    expect(ctx(i).reason).toContain(recorded);
    // Neither adopted nor launched; whatever may be left of its tree is killed.
    expect(sim.world.adoptions).toEqual([]);
    expect(sim.world.launches).toEqual([]);
    expect(sim.world.kills).toEqual(['i-1']);
    // The supervisor heard of it and reported it.
    expect(sim.received(sim.root.id)).toEqual(['xstate.init', 'CREATE_INSTANCE', 'INSTANCE_FAILED']);
    expect(sim.world.failures).toEqual([{ instanceId: 'i-1', reason: ctx(i).reason }]);
    expect(sim.root.getSnapshot().context.failed).toEqual(['i-1']);
    for (const tab of TABS) {
      const t = sim.tab(tab.tabId);
      expect(sim.state(t)).toBe('failed');
      expect(tctx(t)).toMatchObject({ tabId: tab.tabId, url: tab.url, title: tab.title, evictable: tab.evictable });
      expect(tctx(t).reason).toBe(`instance failed: ${ctx(i).reason}`);
      expect(instanceEventsOf(tab.tabId)).toEqual(['INSTANCE_FAILED']);
    }
    expect(sim.world.reopens).toEqual([]);

    i.send({ type: 'RESTART', reason: 'operator restart' });
    expect(sim.state(i)).toBe('recovering');
    await sim.flush();
    expect(sim.root.getSnapshot().context.failed).toEqual([]);
    expect(sim.received(sim.root.id).at(-1)).toBe('INSTANCE_REVIVED');
    await sim.advance(200);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i)).toMatchObject({ restarts: 7, restartsInWindow: 0, pid: 1000 });
    expect(ctx(i).reason).toBe('relaunched (pid 1000), 2 tabs restored');
    expect(sim.world.adoptions).toEqual([]);
    expect(sim.world.launches).toEqual(['i-1']);
    expect(sim.world.reopens.map((r) => [r.tabId, r.url])).toEqual([
      ['t-a', 'https://a.test/page'],
      ['t-b', 'https://b.test/other'],
    ]);
    for (const tab of TABS) {
      expect(sim.state(sim.tab(tab.tabId))).toBe('healthy');
      expect(tctx(sim.tab(tab.tabId)).reason).toBe('target reopened');
    }
    expect(sim.world.failures).toHaveLength(1);
  });
});

describe('restore: tabs that take too long', () => {
  it.each([
    ['adopted', 0, 'adopted after a runtime restart', 'target adopted'],
    ['relaunched', 1, NOT_ADOPTED, 'target reopened'],
  ] as const)('%s: healthy after tabRestoreTimeoutMs, naming how the browser came back', async (_, adoptFailures, prefix, tabReason) => {
    sim = new Sim();
    sim.world.adoptFailures = adoptFailures;
    sim.world.holdReopens = true;
    // Only an adopted browser can still have the tabs' targets.
    if (!adoptFailures) sim.world.adoptedTargets = new Set(['t-a', 't-b']);
    const i = await sim.restoreInstance('i-1', restore());
    expect(i.getSnapshot().matches({ recovering: 'restoringTabs' })).toBe(true);
    expect(ctx(i).pendingTabs).toEqual(['t-a', 't-b']);
    sim.world.releaseReopen('t-a');
    await sim.flush();
    expect(ctx(i).pendingTabs).toEqual(['t-b']);
    await sim.advance(testOptions().tabRestoreTimeoutMs - 100);
    expect(sim.state(i)).toBe('recovering');
    await sim.advance(100);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).reason).toBe(`${prefix} (pid 1000); 1 of 2 tabs still recovering`);
    expect(ctx(i).recoveredBy).toBeNull();
    expect(sim.state(sim.tab('t-a'))).toBe('healthy');
    expect(sim.tab('t-b').getSnapshot().matches({ recovering: 'reopening' })).toBe(true);
    // The late tab still comes back, under its id, and the instance stays healthy.
    sim.world.releaseReopen('t-b');
    await sim.flush();
    expect(sim.state(sim.tab('t-b'))).toBe('healthy');
    expect(tctx(sim.tab('t-a')).reason).toBe(tabReason);
    expect(tctx(sim.tab('t-b'))).toMatchObject({ tabId: 't-b', url: 'https://b.test/other', reason: tabReason });
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).pendingTabs).toEqual([]);
  });

  it('a restored tab whose target cannot be reopened fails; the instance comes up all the same', async () => {
    sim = new Sim();
    sim.world.openFailures = 1; // the first reopen (t-a) fails
    const i = await sim.restoreInstance('i-1', restore());
    expect(sim.state(i)).toBe('healthy');
    expect(sim.state(sim.tab('t-a'))).toBe('failed');
    expect(tctx(sim.tab('t-a')).reason).toBe('could not reopen target: target would not open');
    expect(sim.state(sim.tab('t-b'))).toBe('healthy');
  });
});

describe('restore: edge cases', () => {
  it.each([
    ['adopted', 0, 'adopted after a runtime restart (pid 1000), 0 tabs restored', 0],
    ['relaunched', 1, `${NOT_ADOPTED} (pid 1000), 0 tabs restored`, 1],
  ] as const)('an instance with no tabs, %s, is healthy at once and opens tabs as usual', async (_, adoptFailures, reason, launches) => {
    sim = new Sim();
    sim.world.adoptFailures = adoptFailures;
    const i = await sim.restoreInstance('i-0', restore({ restarts: 0, tabs: [] }));
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).reason).toBe(reason);
    expect(ctx(i)).toMatchObject({ tabIds: [], pendingTabs: [], restarts: adoptFailures });
    expect(Object.keys(i.getSnapshot().children)).not.toContain('t-a');
    expect(sim.world.launches).toHaveLength(launches);
    const t = await sim.openTab('t-new', 'https://new.test/', 'i-0');
    expect(sim.state(t)).toBe('healthy');
    expect(tctx(t).reason).toBe('target opened');
    expect(ctx(i).tabIds).toEqual(['t-new']);
  });

  it('a new instance (no restore) beside a restored one is unaffected', async () => {
    sim = new Sim();
    sim.root.send({ type: 'CREATE_INSTANCE', instanceId: 'i-new', options: testOptions() });
    const fresh = sim.instance('i-new');
    // Synchronously, before the launch settles: spawning, as a new instance always started.
    expect(sim.state(fresh)).toBe('spawning');
    expect(ctx(fresh)).toMatchObject({ reason: 'created', restarts: 0, restoring: null, recoveredBy: null, tabIds: [], pid: null });
    const restored = await sim.restoreInstance('i-old', restore());
    await sim.openTab('t-new', 'https://new.test/', 'i-new');
    expect(sim.state(fresh)).toBe('healthy');
    expect(ctx(fresh).reason).toBe('launched (pid 1000, 42 ms)');
    expect(ctx(fresh).restarts).toBe(0);
    expect(sim.state(restored)).toBe('healthy');
    expect(ctx(restored).reason).toBe('adopted after a runtime restart (pid 1001), 2 tabs restored');
    expect(sim.world.launches).toEqual(['i-new']);
    expect(sim.world.adoptions).toEqual(['i-old']);
    const tab = sim.tab('t-new', 'i-new');
    expect(tctx(tab)).toMatchObject({ reason: 'target opened', title: 'title of https://new.test/' });
    expect(tctx(tab).restored).toBeUndefined();
    expect(sim.world.opens.map((o) => o.tabId)).toEqual(['t-new']);
    expect(sim.world.reopens.map((o) => o.tabId)).toEqual(['t-a', 't-b']);
    expect(instanceEventsOf('t-new')).toEqual([]);
    expect(sim.root.getSnapshot().context).toEqual({ instanceIds: ['i-new', 'i-old'], failed: [] });
  });

  it('a new tab starts spawning, with an empty title and "tab opened"', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    i.send({ type: 'OPEN_TAB', tabId: 't-1', url: 'https://site.test/' });
    const t = sim.tab('t-1');
    expect(sim.state(t)).toBe('spawning');
    expect(tctx(t)).toMatchObject({ title: '', reason: 'tab opened' });
    await sim.flush();
    expect(sim.state(t)).toBe('healthy');
  });
});

afterAll(() => {
  // The transient `starting` states are counted: the tracker reads a taken transition's source
  // as a reached state (no inspection snapshot ever shows `starting` itself).
  expect(coverage.states.has('instance.starting')).toBe(true);
  expect(coverage.states.has('tab.starting')).toBe(true);
  // Every state and transition of the restore path was reached by the tests above (the other
  // files leave exactly these out of their own checks).
  expect(RESTORE_PATH.states.length + RESTORE_PATH.transitions.length).toBeGreaterThan(0);
  expect(missedRestorePath()).toEqual({ states: [], transitions: [] });
});
