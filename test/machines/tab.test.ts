// The tab machine with fake actors and a simulated clock: every state and transition.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Sim, missed, testOptions, type TabActor } from './fakes.js';

let sim: Sim;
afterEach(() => {
  sim?.stop();
  vi.restoreAllMocks();
});

const ctx = (ref: TabActor) => ref.getSnapshot().context;

async function withTab(options = testOptions()) {
  sim = new Sim();
  const instance = await sim.createInstance('i-1', options);
  const tab = await sim.openTab('t-1', 'https://site.test/start');
  return { instance, tab };
}

describe('tab: opening', () => {
  it('spawning → healthy with the URL and title the target reports', async () => {
    const { tab } = await withTab();
    expect(sim.state(tab)).toBe('healthy');
    expect(ctx(tab)).toMatchObject({ url: 'https://site.test/start', title: 'title of https://site.test/start', reason: 'target opened' });
    expect(sim.world.opens).toEqual([{ instanceId: 'i-1', tabId: 't-1', url: 'https://site.test/start' }]);
  });

  it('a target that cannot be opened → failed', async () => {
    sim = new Sim();
    await sim.createInstance();
    sim.world.openFailures = 1;
    const tab = await sim.openTab('t-1');
    expect(sim.state(tab)).toBe('failed');
    expect(ctx(tab).reason).toMatch(/could not open target: target would not open/);
  });

  it('follows the URL as the page navigates', async () => {
    const { tab } = await withTab();
    sim.targetSays('t-1', { type: 'URL_CHANGED', url: 'https://site.test/next', title: 'Next' });
    expect(ctx(tab)).toMatchObject({ url: 'https://site.test/next', title: 'Next' });
    sim.targetSays('t-1', { type: 'URL_CHANGED', url: 'https://site.test/third' });
    expect(ctx(tab)).toMatchObject({ url: 'https://site.test/third', title: 'Next' });
  });
});

describe('tab: faults', () => {
  it.each([
    ['healthy', { type: 'TARGET_CRASHED', detail: 'Page crashed!' }, 'renderer crashed: Page crashed!'],
    ['healthy', { type: 'TARGET_GONE' }, 'target closed outside tabvisor'],
    ['degraded', { type: 'TARGET_CRASHED' }, 'renderer crashed'],
    ['degraded', { type: 'TARGET_GONE' }, 'target closed outside tabvisor'],
  ] as const)('%s + %o → recovering → reopened at its last URL, same id', async (from, event, reason) => {
    const { tab } = await withTab();
    sim.targetSays('t-1', { type: 'URL_CHANGED', url: 'https://site.test/last' });
    if (from === 'degraded') {
      sim.world.hungTabs.add('t-1');
      await sim.advance(1_500);
      sim.world.hungTabs.delete('t-1');
    }
    expect(sim.state(tab)).toBe(from);
    sim.targetSays('t-1', event);
    expect(sim.state(tab)).toBe('recovering');
    expect(ctx(tab).reason).toBe(reason);
    await sim.advance(100);
    expect(sim.state(tab)).toBe('healthy');
    expect(sim.world.reopens).toEqual([{ instanceId: 'i-1', tabId: 't-1', url: 'https://site.test/last' }]);
    expect(ctx(tab)).toMatchObject({ restartsInWindow: 1, restarts: 1 });
  });

  it('healthy ⇄ degraded keeps one watcher and the probe loop running', async () => {
    const { tab } = await withTab();
    sim.world.hungTabs.add('t-1');
    await sim.advance(1_500); // probe at 1000 misses its deadline at 1500
    expect(sim.state(tab)).toBe('degraded');
    sim.world.hungTabs.delete('t-1');
    await sim.advance(1_000); // the next probe, at 2500, answers
    expect(sim.state(tab)).toBe('healthy');
    expect(sim.world.watcherStarts.filter((id) => id === 't-1')).toEqual(['t-1']);
    expect(sim.world.probes.filter((id) => id === 't-1').length).toBe(2);
  });

  it('a hung page: degraded at the first missed deadline, recovering at the third', async () => {
    const { tab, instance } = await withTab();
    sim.world.holdReopens = true; // the reopen is immediate: held, to see the tab recovering
    sim.world.hungTabs.add('t-1');
    await sim.advance(1_500);
    expect(sim.state(tab)).toBe('degraded');
    expect(ctx(tab).reason).toBe('probe missed (deadline)');
    await sim.advance(1_500);
    expect(sim.state(tab)).toBe('degraded');
    expect(ctx(tab).misses).toBe(2);
    await sim.advance(1_500);
    expect(sim.state(tab)).toBe('recovering');
    expect(ctx(tab)).toMatchObject({ reason: 'page hung: 3 probes missed', restarts: 1 });
    sim.world.hungTabs.delete('t-1');
    sim.world.releaseReopen('t-1');
    await sim.flush();
    expect(sim.state(tab)).toBe('healthy');
    expect(sim.state(instance)).toBe('healthy');
  });

  it('a degraded tab that answers again is healthy; an erroring probe counts as a miss', async () => {
    const { tab } = await withTab();
    sim.world.failingTabProbes.add('t-1');
    await sim.advance(1_000);
    expect(sim.state(tab)).toBe('degraded');
    expect(ctx(tab).reason).toBe('probe missed (session closed)');
    await sim.advance(1_000);
    expect(ctx(tab).misses).toBe(2);
    sim.world.failingTabProbes.delete('t-1');
    await sim.advance(1_000);
    expect(sim.state(tab)).toBe('healthy');
    expect(ctx(tab).reason).toBe('probe answered again');
    await sim.advance(1_000);
    expect(ctx(tab).misses).toBe(0);
  });

  it('an answer after misses below degradeAfter clears them: only misses in a row degrade', async () => {
    const options = testOptions({ tabProbe: { intervalMs: 1_000, deadlineMs: 500, degradeAfter: 2, recoverAfter: 3 } });
    const { tab } = await withTab(options);
    sim.world.hungTabs.add('t-1');
    await sim.advance(1_500); // the probe at 1000 misses at 1500
    expect(sim.state(tab)).toBe('healthy');
    expect(ctx(tab).misses).toBe(1);
    sim.world.hungTabs.delete('t-1');
    await sim.advance(1_000); // the one at 2500 answers
    expect(ctx(tab).misses).toBe(0);
    sim.world.hungTabs.add('t-1');
    await sim.advance(1_500); // one miss again: still healthy, where a running count would have degraded
    expect(sim.state(tab)).toBe('healthy');
    expect(ctx(tab).misses).toBe(1);
  });

  it('misses below degradeAfter are only counted; recoverAfter ≤ degradeAfter goes straight to recovering', async () => {
    const options = testOptions({ tabProbe: { intervalMs: 1_000, deadlineMs: 500, degradeAfter: 3, recoverAfter: 2 } });
    const { tab } = await withTab(options);
    sim.world.holdReopens = true;
    sim.world.hungTabs.add('t-1');
    await sim.advance(1_500);
    expect(sim.state(tab)).toBe('healthy');
    expect(ctx(tab).misses).toBe(1);
    await sim.advance(1_500);
    expect(sim.state(tab)).toBe('recovering');
  });

  it('more than maxRestarts crashes in the window → failed; a reopen that fails → failed', async () => {
    const options = testOptions({ restart: { ...testOptions().restart, maxRestarts: 1 } });
    const { tab } = await withTab(options);
    sim.targetSays('t-1', { type: 'TARGET_CRASHED' });
    await sim.advance(100);
    expect(sim.state(tab)).toBe('healthy');
    sim.targetSays('t-1', { type: 'TARGET_CRASHED' });
    expect(sim.state(tab)).toBe('failed');
    expect(ctx(tab).reason).toBe('restart intensity exceeded: 2 restarts in 60000 ms');
    await sim.advance(60_000, 1_000);
    // The window forgets the restarts; the total does not.
    expect(ctx(tab)).toMatchObject({ restartsInWindow: 0, restarts: 2 });

    const second = await sim.openTab('t-2');
    sim.world.openFailures = 1;
    sim.targetSays('t-2', { type: 'TARGET_GONE' });
    await sim.advance(100);
    expect(sim.state(second)).toBe('failed');
    expect(ctx(second).reason).toMatch(/could not reopen target/);
  });

  it('after INSTANCE_UP clears a failed record, restarts counted before neither count nor expire newer ones', async () => {
    const options = testOptions({ restart: { ...testOptions().restart, maxRestarts: 1 } });
    const { tab } = await withTab(options);
    sim.targetSays('t-1', { type: 'TARGET_CRASHED' });
    await sim.advance(100);
    sim.targetSays('t-1', { type: 'TARGET_CRASHED' });
    expect(sim.state(tab)).toBe('failed');
    tab.send({ type: 'INSTANCE_UP' });
    await sim.flush();
    expect(sim.state(tab)).toBe('healthy');
    expect(ctx(tab).restartsInWindow).toBe(0);
    await sim.advance(50_000, 1_000);
    sim.targetSays('t-1', { type: 'TARGET_GONE' }); // counted at ~50 s
    await sim.advance(15_000, 500); // the two crashes from before INSTANCE_UP expire meanwhile
    expect(sim.state(tab)).toBe('healthy');
    expect(ctx(tab).restartsInWindow).toBe(1);
    sim.targetSays('t-1', { type: 'TARGET_GONE' });
    expect(sim.state(tab)).toBe('failed');
    await sim.advance(60_000, 1_000); // newer restarts still expire
    expect(ctx(tab).restartsInWindow).toBe(0);
  });

  it('reopens at once after a first crash, backs off from the second, and resets after stableMs healthy', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // the backoff is exactly backoffMinMs
    const { tab } = await withTab();
    const { backoffMinMs, stableMs } = testOptions().restart;
    sim.targetSays('t-1', { type: 'TARGET_CRASHED' });
    await sim.advance(0);
    expect(sim.state(tab)).toBe('healthy'); // reopened with no time passing
    expect(ctx(tab).attempt).toBe(1);
    sim.targetSays('t-1', { type: 'TARGET_CRASHED' });
    await sim.advance(backoffMinMs - 1, 1_000_000);
    expect(sim.state(tab)).toBe('recovering');
    await sim.advance(1, 1);
    expect(sim.state(tab)).toBe('healthy'); // healthy again since just now
    expect(ctx(tab).attempt).toBe(2);
    await sim.advance(stableMs - 50);
    expect(ctx(tab).attempt).toBe(2);
    await sim.advance(50);
    expect(ctx(tab).attempt).toBe(0);
  });
});

describe('tab: its instance', () => {
  it('waits while the browser is down, reopens when it is back, never counting a restart', async () => {
    const { tab } = await withTab();
    sim.chromeSays({ type: 'CHROME_EXITED', code: null, signal: 'SIGKILL' });
    expect(tab.getSnapshot().matches({ recovering: 'waitingForInstance' })).toBe(true);
    expect(ctx(tab).reason).toBe('instance down: browser exited (signal SIGKILL)');
    await sim.advance(200);
    expect(sim.state(tab)).toBe('healthy');
    expect(ctx(tab)).toMatchObject({ restartsInWindow: 0, restarts: 0, reason: 'target reopened' });
  });

  it('a tab that is already recovering waits for the browser too', async () => {
    const { tab } = await withTab();
    sim.world.holdReopens = true;
    sim.targetSays('t-1', { type: 'TARGET_CRASHED' });
    await sim.advance(200);
    expect(tab.getSnapshot().matches({ recovering: 'reopening' })).toBe(true);
    sim.world.holdReopens = false;
    tab.send({ type: 'INSTANCE_DOWN', reason: 'browser gone' });
    expect(tab.getSnapshot().matches({ recovering: 'waitingForInstance' })).toBe(true);
    tab.send({ type: 'INSTANCE_UP' });
    await sim.flush();
    expect(sim.state(tab)).toBe('healthy');
  });

  it('spawning while the browser goes down waits for it as well', async () => {
    sim = new Sim();
    await sim.createInstance();
    const instance = sim.instance();
    instance.send({ type: 'OPEN_TAB', tabId: 't-1', url: 'https://site.test/' });
    const tab = sim.tab('t-1');
    expect(sim.state(tab)).toBe('spawning');
    sim.chromeSays({ type: 'CDP_DISCONNECTED' });
    expect(tab.getSnapshot().matches({ recovering: 'waitingForInstance' })).toBe(true);
    await sim.advance(200);
    expect(sim.state(tab)).toBe('healthy');
  });

  it('a failed instance fails its tabs; a failed tab ignores INSTANCE_DOWN and comes back on INSTANCE_UP', async () => {
    const { tab } = await withTab();
    tab.send({ type: 'INSTANCE_FAILED', reason: 'too many restarts' });
    expect(sim.state(tab)).toBe('failed');
    expect(ctx(tab).reason).toBe('instance failed: too many restarts');
    tab.send({ type: 'INSTANCE_DOWN', reason: 'again' });
    expect(sim.state(tab)).toBe('failed');
    tab.send({ type: 'INSTANCE_UP' });
    await sim.flush();
    expect(sim.state(tab)).toBe('healthy');
    expect(sim.world.reopens.at(-1)).toMatchObject({ tabId: 't-1', url: 'https://site.test/start' });
  });

  it.each(['spawning', 'healthy', 'degraded', 'recovering', 'failed'] as const)(
    'CLOSE_TAB while %s → stopped: its target closed, the instance forgets it',
    async (from) => {
      sim = new Sim();
      const instance = await sim.createInstance();
      if (from === 'failed') sim.world.openFailures = 1;
      instance.send({ type: 'OPEN_TAB', tabId: 't-1', url: 'https://site.test/' });
      const tab = sim.tab('t-1');
      if (from !== 'spawning') await sim.flush(); // the open settles
      if (from === 'degraded') {
        sim.world.hungTabs.add('t-1');
        await sim.advance(1_500);
      }
      if (from === 'recovering') sim.targetSays('t-1', { type: 'TARGET_CRASHED' });
      expect(sim.state(tab)).toBe(from);
      instance.send({ type: 'CLOSE_TAB', tabId: 't-1', reason: 'done with it' });
      expect(tab.getSnapshot().status).toBe('done');
      expect(ctx(tab).reason).toBe('done with it');
      expect(sim.world.closedTargets).toEqual(['t-1']);
      expect(sim.received('i-1')).toContain('TAB_STOPPED');
      expect(instance.getSnapshot().context.tabIds).toEqual([]);
      expect(instance.getSnapshot().children['t-1']).toBeUndefined();
    },
  );
});

afterAll(() => {
  // Every state and every transition of the tab machine was reached by the tests above.
  expect(missed('tab')).toEqual({ states: [], transitions: [] });
});
