// The instance machine with fake actors and a simulated clock: every state and transition.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelayMs, type InstanceEvent } from '../../machines/index.js';
import { MB, Sim, missed, testOptions, type InstanceActor } from './fakes.js';

let sim: Sim;
afterEach(() => {
  sim?.stop();
  vi.restoreAllMocks();
});

const ctx = (ref: InstanceActor) => ref.getSnapshot().context;
const killed: InstanceEvent = { type: 'CHROME_EXITED', code: null, signal: 'SIGKILL' };

describe('instance: launch', () => {
  it('spawning → healthy once Chrome is up', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i)).toMatchObject({ pid: 1000, launchMs: 42, restarts: 0 });
    expect(ctx(i).reason).toMatch(/launched \(pid 1000/);
  });

  it('a failed launch counts as a restart and is retried after the backoff', async () => {
    sim = new Sim();
    sim.world.launchFailures = 2; // the first launch and the first relaunch fail
    const i = await sim.createInstance();
    expect(sim.state(i)).toBe('recovering');
    expect(ctx(i).reason).toMatch(/launch failed: chrome would not start/);
    await sim.advance(100);
    expect(sim.world.launches.length).toBe(2);
    expect(ctx(i).reason).toMatch(/relaunch failed/);
    await sim.advance(200);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).restarts).toBe(2);
  });
});

describe('instance: health probe', () => {
  it('two missed deadlines → degraded; an answer → healthy again', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    await sim.advance(1_000); // one probe answered
    expect(sim.state(i)).toBe('healthy');
    sim.world.frozen = true;
    await sim.advance(1_500); // probe at 2000 misses its deadline at 2500
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).misses).toBe(1);
    await sim.advance(1_500);
    expect(sim.state(i)).toBe('degraded');
    expect(ctx(i).reason).toMatch(/2 probes missed \(deadline\)/);
    sim.world.frozen = false;
    await sim.advance(1_500);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).reason).toBe('probe answered again');
  });

  it('four misses → recovering: the frozen tree is killed and Chrome relaunched', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    sim.world.frozen = true;
    await sim.advance(6_000); // misses at 1500, 3000, 4500, 6000
    expect(sim.state(i)).toBe('recovering');
    expect(ctx(i).reason).toMatch(/unresponsive: 4 probes missed/);
    expect(sim.world.kills).toEqual(['i-1']);
    sim.world.frozen = false;
    await sim.advance(200);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).pid).toBe(1001);
  });

  it('a probe that errors counts as a miss', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    sim.world.probeFails = true; // each probe fails at once, every second
    await sim.advance(2_000);
    expect(sim.state(i)).toBe('degraded');
    expect(ctx(i).reason).toMatch(/Target closed/);
    await sim.advance(1_000);
    expect(ctx(i).misses).toBe(3);
    await sim.advance(1_000);
    expect(sim.state(i)).toBe('recovering');
  });

  it('goes straight from healthy to recovering when recoverAfter comes first', async () => {
    sim = new Sim();
    const i = await sim.createInstance('i-1', testOptions({ probe: { intervalMs: 1_000, deadlineMs: 500, degradeAfter: 3, recoverAfter: 2 } }));
    sim.world.frozen = true;
    await sim.advance(3_000);
    expect(sim.state(i)).toBe('recovering');
  });
});

describe('instance: probes spread over the interval', () => {
  it('the first probe comes after firstProbeDelayMs, the next ones every interval, and again so after a relaunch', async () => {
    sim = new Sim();
    sim.root.send({ type: 'CREATE_INSTANCE', instanceId: 'i-1', options: testOptions(), firstProbeDelayMs: 300 });
    await sim.flush();
    const i = sim.instance();
    const probesAt: number[] = [];
    const probed = () => {
      while (probesAt.length < sim.world.probes.length) probesAt.push(sim.clock.now());
    };
    for (let t = 0; t < 2_500; t += 10) {
      await sim.advance(10, 10);
      probed();
    }
    expect(probesAt).toEqual([300, 1_300, 2_300]);
    // A tab opened with its own offset probes on its own phase.
    sim.instance().send({ type: 'OPEN_TAB', tabId: 't-a', url: 'https://a.test/', firstProbeDelayMs: 50 });
    await sim.flush();
    const tabOpenedAt = sim.clock.now();
    await sim.advance(60, 10);
    expect(sim.world.probes.filter((id) => id === 't-a')).toHaveLength(1);
    expect(sim.tab('t-a').getSnapshot().context.firstProbeDelayMs).toBe(50);
    expect(tabOpenedAt).toBe(2_500);
    // The offset holds for each stretch of running: after a relaunch the first probe again
    // comes 300 ms after the browser is up.
    sim.chromeSays(killed);
    await sim.advance(0);
    expect(sim.state(i)).toBe('healthy');
    const upAt = sim.clock.now();
    const before = sim.world.probes.filter((id) => id === 'i-1').length;
    await sim.advance(290, 10);
    expect(sim.world.probes.filter((id) => id === 'i-1').length).toBe(before);
    await sim.advance(10, 10);
    expect(sim.world.probes.filter((id) => id === 'i-1').length).toBe(before + 1);
    expect(sim.clock.now() - upAt).toBe(300);
  });

  it('without firstProbeDelayMs the first probe comes one interval after launch', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    expect(ctx(i).firstProbeDelayMs).toBe(testOptions().probe.intervalMs);
    await sim.advance(999, 1);
    expect(sim.world.probes).toEqual([]);
    await sim.advance(1, 1);
    expect(sim.world.probes).toEqual(['i-1']);
  });
});

describe('instance: process and connection', () => {
  it.each([
    ['healthy', { type: 'CHROME_EXITED', code: null, signal: 'SIGKILL' }, /browser exited \(signal SIGKILL\)/],
    ['healthy', { type: 'CDP_DISCONNECTED' }, /DevTools connection lost/],
    ['degraded', { type: 'CHROME_EXITED', code: 1, signal: null }, /browser exited \(code 1\)/],
    ['degraded', { type: 'CDP_DISCONNECTED' }, /DevTools connection lost/],
  ] as const)('%s + %o → recovering → healthy', async (from, event, reason) => {
    sim = new Sim();
    const i = await sim.createInstance();
    if (from === 'degraded') {
      sim.world.memoryBytes = 150 * MB;
      await sim.advance(1_000);
    }
    expect(sim.state(i)).toBe(from);
    sim.chromeSays(event);
    expect(sim.state(i)).toBe('recovering');
    expect(ctx(i).reason).toMatch(reason);
    sim.world.memoryBytes = 50 * MB;
    await sim.advance(200);
    expect(sim.state(i)).toBe('healthy');
    expect(sim.world.launches.length).toBe(2);
  });

  it('a kill that fails still goes on to the relaunch', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    sim.world.killFails = true;
    sim.chromeSays({ type: 'CDP_DISCONNECTED' });
    await sim.advance(200);
    expect(sim.state(i)).toBe('healthy');
  });
});

describe('instance: memory', () => {
  it('soft limit → degraded with one mitigation; stays degraded while above; back under → healthy', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    await sim.advance(1_000);
    // A sample under the soft limit is not worth the machine's attention: not even recorded.
    expect(sim.world.samples).toEqual(['i-1']);
    expect(ctx(i).memoryBytes).toBeNull();
    sim.world.memoryBytes = 150 * MB;
    await sim.advance(1_000);
    expect(sim.state(i)).toBe('degraded');
    expect(ctx(i).reason).toBe('memory 150 MB above soft limit 100 MB');
    expect(sim.world.mitigations).toEqual(['i-1']);
    await sim.advance(3_000); // more samples above soft, probes answered: still degraded
    expect(sim.state(i)).toBe('degraded');
    expect(sim.world.mitigations).toEqual(['i-1']);
    sim.world.memoryBytes = 60 * MB;
    await sim.advance(1_000);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).reason).toMatch(/memory back under soft limit \(60 MB\)/);
    // The first sample back under is reported, the ones after it are not.
    const reported = sim.received('i-1').filter((type) => type === 'MEMORY_SAMPLED').length;
    await sim.advance(3_000);
    expect(sim.received('i-1').filter((type) => type === 'MEMORY_SAMPLED').length).toBe(reported);
  });

  it('an idle, healthy instance and tab are probed and sampled without a single event reaching either machine', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    await sim.openTab('t-1');
    const before = { instance: sim.received('i-1').length, tab: sim.received('t-1').length };
    await sim.advance(10_000, 100);
    expect(sim.world.probes.filter((id) => id === 'i-1').length).toBeGreaterThanOrEqual(9);
    expect(sim.world.probes.filter((id) => id === 't-1').length).toBeGreaterThanOrEqual(9);
    expect(sim.world.samples.length).toBeGreaterThanOrEqual(9);
    expect(sim.received('i-1').slice(before.instance)).toEqual([]);
    expect(sim.received('t-1').slice(before.tab)).toEqual([]);
    expect(sim.state(i)).toBe('healthy');
  });

  it('healthy ⇄ degraded keeps one watcher, and the probe and memory loops keep their rhythm', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    sim.world.memoryBytes = 150 * MB;
    await sim.advance(1_000); // sample at 1000 → degraded
    expect(sim.state(i)).toBe('degraded');
    sim.world.memoryBytes = 50 * MB;
    await sim.advance(1_000); // sample at 2000 → healthy
    expect(sim.state(i)).toBe('healthy');
    await sim.advance(1_000);
    // One watcher for the whole stretch; a probe and a sample every second, none started twice
    // by a switch (a restarted loop would have waited a full interval again after each one).
    expect(sim.world.watcherStarts).toEqual(['i-1']);
    expect(sim.world.probes.length).toBe(3);
    expect(sim.world.samples.length).toBe(3);
  });

  it('under the soft limit but with probes missing stays degraded', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    i.send({ type: 'MEMORY_SAMPLED', privateBytes: 150 * MB });
    expect(sim.state(i)).toBe('degraded');
    i.send({ type: 'PROBE_MISSED', detail: 'deadline' });
    i.send({ type: 'MEMORY_SAMPLED', privateBytes: 60 * MB });
    expect(sim.state(i)).toBe('degraded');
    expect(ctx(i)).toMatchObject({ misses: 1, overSoftLimit: false });
    i.send({ type: 'PROBE_OK' });
    expect(sim.state(i)).toBe('healthy');
  });

  it('crossing the soft limit while degraded for missed probes mitigates once and holds degraded', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    i.send({ type: 'PROBE_MISSED', detail: 'deadline' });
    i.send({ type: 'PROBE_MISSED', detail: 'deadline' });
    expect(sim.state(i)).toBe('degraded');
    expect(sim.world.mitigations).toEqual([]);
    i.send({ type: 'MEMORY_SAMPLED', privateBytes: 150 * MB });
    i.send({ type: 'MEMORY_SAMPLED', privateBytes: 160 * MB });
    expect(sim.world.mitigations).toEqual(['i-1']);
    expect(ctx(i)).toMatchObject({ overSoftLimit: true, memoryBytes: 160 * MB });
    i.send({ type: 'PROBE_OK' }); // the browser answers, but memory is still over the soft limit
    expect(sim.state(i)).toBe('degraded');
    i.send({ type: 'MEMORY_SAMPLED', privateBytes: 60 * MB });
    expect(sim.state(i)).toBe('healthy');
  });

  it.each(['healthy', 'degraded'] as const)('hard limit from %s → recovering (tabs restored)', async (from) => {
    sim = new Sim();
    const i = await sim.createInstance();
    if (from === 'degraded') {
      sim.world.memoryBytes = 150 * MB;
      await sim.advance(1_000);
    }
    sim.world.memoryBytes = 250 * MB;
    await sim.advance(1_000);
    expect(sim.state(i)).toBe('recovering');
    expect(ctx(i).reason).toBe('memory 250 MB above hard limit 200 MB');
  });

  it('a failed sample changes nothing', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    sim.world.memoryFails = true;
    await sim.advance(3_000);
    expect(sim.state(i)).toBe('healthy');
    sim.world.memoryFails = false;
    sim.world.memoryBytes = 150 * MB;
    await sim.advance(1_000);
    expect(sim.state(i)).toBe('degraded');
    sim.world.memoryFails = true;
    await sim.advance(1_000);
    expect(sim.state(i)).toBe('degraded');
  });
});

describe('instance: restart intensity and backoff', () => {
  it('more than maxRestarts in the window → failed, reported upward; a manual restart clears it', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    for (let n = 1; n <= 5; n++) {
      sim.chromeSays(killed);
      await sim.advance(backoffDelayMs(n - 1, testOptions().restart, 0) + 50, 10);
      expect(sim.state(i)).toBe('healthy');
    }
    sim.chromeSays(killed);
    await sim.flush();
    expect(sim.state(i)).toBe('failed');
    expect(ctx(i).reason).toMatch(/restart intensity exceeded: 6 restarts in 60000 ms/);
    expect(sim.world.failures).toEqual([{ instanceId: 'i-1', reason: ctx(i).reason }]);
    expect(sim.root.getSnapshot().context.failed).toEqual(['i-1']);

    i.send({ type: 'RESTART' });
    expect(sim.state(i)).toBe('recovering');
    await sim.advance(200);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i)).toMatchObject({ restartsInWindow: 0, restarts: 7 });
  });

  it('the window slides: each restart expires windowMs after it was counted', async () => {
    sim = new Sim();
    vi.spyOn(Math, 'random').mockReturnValue(0); // backoff at its upper bound, for exact timing
    const i = await sim.createInstance();
    const counted: number[] = [];
    const crash = () => {
      counted.push(sim.clock.now());
      sim.chromeSays(killed);
    };
    for (let n = 0; n < 5; n++) {
      crash();
      await sim.advance(5_000);
      expect(sim.state(i)).toBe('healthy');
    }
    expect(ctx(i).restartsInWindow).toBe(5);
    // Just before the first restart leaves the window all five still count...
    await sim.advance((counted[0] as number) + 60_000 - sim.clock.now() - 50);
    expect(ctx(i).restartsInWindow).toBe(5);
    // ...and once it has left, one more restart is allowed, but only one.
    await sim.advance(50);
    expect(ctx(i).restartsInWindow).toBe(4);
    crash();
    await sim.advance(200);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).restartsInWindow).toBe(5);
    expect(sim.clock.now()).toBeLessThan((counted[1] as number) + 60_000);
    crash();
    await sim.flush();
    expect(sim.state(i)).toBe('failed');
    expect(ctx(i).reason).toMatch(/restart intensity exceeded: 6 restarts in 60000 ms/);
  });

  it('after an operator restart, restarts counted before it neither count nor expire newer ones', async () => {
    sim = new Sim();
    const options = testOptions({ restart: { ...testOptions().restart, maxRestarts: 1 } });
    const i = await sim.createInstance('i-1', options);
    sim.chromeSays(killed);
    await sim.advance(200);
    sim.chromeSays(killed);
    await sim.flush();
    expect(sim.state(i)).toBe('failed');
    i.send({ type: 'RESTART' });
    await sim.advance(200);
    expect(ctx(i).restartsInWindow).toBe(0);
    await sim.advance(50_000, 1_000);
    sim.chromeSays(killed); // counted at ~50 s
    await sim.advance(15_000, 500); // the two restarts from before the operator's expire meanwhile
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).restartsInWindow).toBe(1);
    sim.chromeSays(killed);
    await sim.flush();
    expect(sim.state(i)).toBe('failed');
    await sim.advance(60_000, 1_000); // newer restarts still expire
    expect(ctx(i).restartsInWindow).toBe(0);
  });

  it('a failed instance whose leftover tree cannot be killed stays failed; the fleet carries on', async () => {
    sim = new Sim();
    const options = testOptions({ restart: { ...testOptions().restart, maxRestarts: 0 } });
    const i = await sim.createInstance('i-1', options);
    await sim.createInstance('i-2');
    sim.world.killFails = true;
    sim.chromeSays(killed);
    await sim.flush();
    expect(sim.world.kills).toEqual(['i-1']);
    expect(i.getSnapshot().status).toBe('active');
    expect(sim.state(i)).toBe('failed');
    expect(sim.root.getSnapshot().status).toBe('active');
    await sim.advance(3_000);
    expect(sim.state(sim.instance('i-2'))).toBe('healthy');
    i.send({ type: 'RESTART' });
    await sim.advance(200);
    expect(sim.state(i)).toBe('healthy');
  });

  // Math.random drawn as 0 puts the delay at its upper bound, as 1 at its lower bound; the
  // real draw must land in between.
  it.each([
    ['upper bound', 0],
    ['lower bound', 1 - Number.EPSILON],
    ['real draw', undefined],
  ] as const)('relaunches no earlier than the backoff lower bound and by its upper bound (%s)', async (_, random) => {
    if (random !== undefined) vi.spyOn(Math, 'random').mockReturnValue(random);
    sim = new Sim();
    const policy = testOptions().restart;
    const i = await sim.createInstance();
    for (let n = 1; n <= 5; n++) {
      // The first restart is immediate; the backoff starts with the second.
      const upper = n === 1 ? 0 : Math.min(policy.backoffMaxMs, policy.backoffMinMs * 2 ** (n - 2));
      const lower = upper * (1 - policy.jitter);
      const expected = random === undefined ? null : n === 1 ? 0 : backoffDelayMs(n - 2, policy, random);
      const launches = sim.world.launches.length;
      sim.chromeSays(killed);
      await sim.flush(); // the kill settles and the backoff starts
      expect(i.getSnapshot().matches({ recovering: 'backoff' })).toBe(true);
      const start = sim.clock.now();
      await sim.advance((expected ?? lower) - 1, 1_000_000);
      expect(sim.world.launches.length).toBe(launches);
      await sim.advance(start + (expected ?? upper) - sim.clock.now(), random === undefined ? 1 : 1_000_000);
      expect(sim.world.launches.length).toBe(launches + 1);
      expect(sim.state(i)).toBe('healthy');
    }
    expect(ctx(i).attempt).toBe(5);
  });

  it('resets the backoff exponent after stableMs healthy, not before', async () => {
    sim = new Sim();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { stableMs } = testOptions().restart;
    const i = await sim.createInstance();
    for (let n = 0; n < 3; n++) {
      sim.chromeSays(killed);
      await sim.advance(n === 0 ? 0 : backoffDelayMs(n - 1, testOptions().restart, 0), 1_000_000);
    }
    expect(sim.state(i)).toBe('healthy'); // healthy since the last relaunch, just now
    expect(ctx(i).attempt).toBe(3);
    await sim.advance(stableMs - 50);
    expect(ctx(i).attempt).toBe(3);
    await sim.advance(50);
    expect(ctx(i).attempt).toBe(0);
    // The next restart is immediate again (not 400 ms), and the one after it waits the
    // shortest backoff.
    const launches = sim.world.launches.length;
    sim.chromeSays(killed);
    await sim.advance(0);
    expect(sim.world.launches.length).toBe(launches + 1);
    expect(sim.state(i)).toBe('healthy');
    sim.chromeSays(killed);
    await sim.advance(99, 1_000_000);
    expect(sim.world.launches.length).toBe(launches + 1);
    await sim.advance(1, 1);
    expect(sim.world.launches.length).toBe(launches + 2);
  });

  it('the first restart after a stable period is immediate: kill → relaunched with no simulated time passing', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    await sim.openTab('t-a');
    sim.chromeSays(killed);
    await sim.flush();
    expect(i.getSnapshot().matches({ recovering: 'backoff' })).toBe(true);
    const at = sim.clock.now();
    await sim.advance(0);
    expect(sim.clock.now()).toBe(at);
    expect(sim.world.launches.length).toBe(2);
    expect(sim.state(i)).toBe('healthy');
    expect(sim.state(sim.tab('t-a'))).toBe('healthy');
  });
});

describe('instance: tabs', () => {
  it('opens tabs when healthy or degraded, closes them, and forgets closed ones', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    const a = await sim.openTab('t-a');
    expect(sim.state(a)).toBe('healthy');
    sim.world.memoryBytes = 150 * MB;
    await sim.advance(1_000);
    expect(sim.state(i)).toBe('degraded');
    const b = await sim.openTab('t-b');
    expect(sim.state(b)).toBe('healthy');
    expect(ctx(i).tabIds).toEqual(['t-a', 't-b']);
    i.send({ type: 'CLOSE_TAB', tabId: 't-a' });
    await sim.flush();
    expect(ctx(i).tabIds).toEqual(['t-b']);
    expect(i.getSnapshot().children['t-a']).toBeUndefined();
    expect(sim.world.closedTargets).toEqual(['t-a']);
  });

  it('a relaunch tells each tab INSTANCE_DOWN then INSTANCE_UP and is healthy once every tab has settled', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    await sim.openTab('t-a', 'https://a.test/');
    await sim.openTab('t-b', 'https://b.test/');
    sim.targetSays('t-b', { type: 'URL_CHANGED', url: 'https://b.test/moved' });
    sim.world.holdReopens = true;
    sim.chromeSays(killed);
    expect(sim.tab('t-a').getSnapshot().matches({ recovering: 'waitingForInstance' })).toBe(true);
    await sim.advance(300);
    expect(i.getSnapshot().matches({ recovering: 'restoringTabs' })).toBe(true);
    expect(ctx(i).pendingTabs).toEqual(['t-a', 't-b']);
    for (const tabId of ['t-a', 't-b']) {
      expect(sim.received(tabId).filter((type) => type.startsWith('INSTANCE_'))).toEqual(['INSTANCE_DOWN', 'INSTANCE_UP']);
    }
    // Same tab ids, each at its last URL.
    expect(sim.world.reopens.map((r) => [r.tabId, r.url])).toEqual([
      ['t-a', 'https://a.test/'],
      ['t-b', 'https://b.test/moved'],
    ]);
    sim.world.releaseReopen('t-b');
    await sim.flush();
    expect(ctx(i).pendingTabs).toEqual(['t-a']);
    expect(sim.state(i)).toBe('recovering');
    sim.world.releaseReopen('t-a');
    await sim.flush();
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).reason).toMatch(/relaunched \(pid 1001\), 2 tabs restored/);
    expect(sim.state(sim.tab('t-a'))).toBe('healthy');
  });

  it('calls itself healthy after tabRestoreTimeoutMs even if a tab has not come back', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    await sim.openTab('t-a');
    sim.world.holdReopens = true;
    sim.chromeSays({ type: 'CHROME_EXITED', code: 0, signal: null });
    await sim.advance(200);
    expect(i.getSnapshot().matches({ recovering: 'restoringTabs' })).toBe(true);
    expect(ctx(i).pendingTabs).toEqual(['t-a']);
    await sim.advance(4_700);
    expect(sim.state(i)).toBe('recovering');
    await sim.advance(200);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i).reason).toMatch(/1 of 1 tabs still recovering/);
    expect(sim.state(sim.tab('t-a'))).toBe('recovering');
  });
});

describe('instance: manual restart and stop', () => {
  it.each(['healthy', 'degraded'] as const)('RESTART from %s: recovering without counting against intensity', async (from) => {
    sim = new Sim();
    const i = await sim.createInstance();
    if (from === 'degraded') {
      sim.world.memoryBytes = 150 * MB;
      await sim.advance(1_000);
      sim.world.memoryBytes = 50 * MB;
    }
    i.send({ type: 'RESTART', reason: 'operator asked' });
    expect(sim.state(i)).toBe('recovering');
    expect(ctx(i).reason).toBe('operator asked');
    await sim.advance(200);
    expect(sim.state(i)).toBe('healthy');
    expect(ctx(i)).toMatchObject({ restarts: 1, restartsInWindow: 0 });
  });

  it.each(['spawning', 'healthy', 'degraded', 'recovering', 'failed'] as const)('STOP from %s → stopping → stopped', async (from) => {
    sim = new Sim();
    if (from === 'spawning') sim.world.launchHangs = true;
    const options = testOptions({ restart: { ...testOptions().restart, maxRestarts: 0 } });
    const i = await sim.createInstance('i-1', options);
    await sim.openTab('t-a').catch(() => undefined);
    if (from === 'degraded') {
      sim.world.memoryBytes = 150 * MB;
      await sim.advance(1_000);
    }
    if (from === 'recovering') {
      sim.world.launchHangs = true;
      i.send({ type: 'RESTART' });
      await sim.advance(200);
    }
    if (from === 'failed') sim.chromeSays(killed);
    await sim.flush();
    expect(sim.state(i)).toBe(from);
    i.send({ type: 'STOP' });
    expect(['stopping', 'stopped']).toContain(sim.state(i));
    i.send({ type: 'STOP' }); // a second stop changes nothing
    await sim.flush();
    expect(sim.world.stops).toEqual(['i-1']);
    expect(sim.root.getSnapshot().context.instanceIds).toEqual([]);
  });

  it('a stop that fails still ends in stopped, with the error as reason', async () => {
    sim = new Sim();
    const i = await sim.createInstance();
    sim.world.stopFails = true;
    let last = '';
    i.subscribe((s) => (last = s.context.reason));
    i.send({ type: 'STOP' });
    await sim.flush();
    expect(i.getSnapshot().status).toBe('done');
    expect(last).toBe('stopped with error: stop failed');
  });
});

afterAll(() => {
  // Every state and every transition of the instance machine was reached by the tests above.
  expect(missed('instance')).toEqual({ states: [], transitions: [] });
});
