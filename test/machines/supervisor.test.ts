// The supervisor machine: it spawns and stops instances, hears failures while the rest of
// the fleet carries on, and shuts everything down.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Sim, missed, testOptions } from './fakes.js';

let sim: Sim;
afterEach(() => sim?.stop());

describe('supervisor', () => {
  it('spawns instances, stops one on request, and forgets it once stopped', async () => {
    sim = new Sim();
    await sim.createInstance('i-a');
    await sim.createInstance('i-b');
    expect(sim.root.getSnapshot().context.instanceIds).toEqual(['i-a', 'i-b']);
    sim.root.send({ type: 'STOP_INSTANCE', instanceId: 'i-a' });
    await sim.flush();
    expect(sim.root.getSnapshot().context.instanceIds).toEqual(['i-b']);
    expect(sim.root.getSnapshot().children['i-a']).toBeUndefined();
    sim.root.send({ type: 'STOP_INSTANCE', instanceId: 'i-unknown' }); // ignored
    expect(sim.state(sim.instance('i-b'))).toBe('healthy');
  });

  it('records a failed instance and reports it, while a sibling stays healthy', async () => {
    sim = new Sim();
    const options = testOptions({ restart: { ...testOptions().restart, maxRestarts: 0 } });
    await sim.createInstance('i-doomed', options);
    await sim.createInstance('i-sibling');
    sim.chromeSays({ type: 'CHROME_EXITED', code: null, signal: 'SIGKILL' }, 'i-doomed');
    await sim.flush();
    expect(sim.state(sim.instance('i-doomed'))).toBe('failed');
    expect(sim.root.getSnapshot().context.failed).toEqual(['i-doomed']);
    expect(sim.world.failures.map((f) => f.instanceId)).toEqual(['i-doomed']);
    await sim.advance(5_000);
    expect(sim.state(sim.instance('i-sibling'))).toBe('healthy');
    // An operator's restart takes it off the failed list; failing again puts it back.
    sim.instance('i-doomed').send({ type: 'RESTART' });
    await sim.flush();
    expect(sim.root.getSnapshot().context.failed).toEqual([]);
    await sim.advance(5_000);
    expect(sim.state(sim.instance('i-doomed'))).toBe('healthy');
    sim.chromeSays({ type: 'CHROME_EXITED', code: null, signal: 'SIGKILL' }, 'i-doomed');
    await sim.flush();
    expect(sim.root.getSnapshot().context.failed).toEqual(['i-doomed']);
    sim.root.send({ type: 'STOP_INSTANCE', instanceId: 'i-doomed' });
    await sim.flush();
    expect(sim.root.getSnapshot().context.failed).toEqual([]);
  });

  it('SHUTDOWN stops every instance (and its tabs); the supervisor is stopped once the last one is', async () => {
    sim = new Sim();
    await sim.createInstance('i-a');
    await sim.createInstance('i-b');
    await sim.openTab('t-1', 'https://a.test/', 'i-a');
    sim.world.holdStops = true;
    sim.root.send({ type: 'SHUTDOWN' });
    expect(sim.root.getSnapshot().matches('stopping')).toBe(true);
    await sim.flush();
    expect(sim.world.stops).toEqual(['i-a', 'i-b']);
    expect(sim.world.closedTargets).toEqual(['t-1']);
    expect(sim.state(sim.instance('i-a'))).toBe('stopping');
    sim.world.releaseStop('i-b');
    await sim.flush();
    expect(sim.root.getSnapshot().context.instanceIds).toEqual(['i-a']);
    expect(sim.root.getSnapshot().matches('stopping')).toBe(true);
    sim.root.send({ type: 'SHUTDOWN' }); // a second one changes nothing
    sim.world.releaseStop('i-a');
    await sim.flush();
    expect(sim.root.getSnapshot().matches('stopped')).toBe(true);
    expect(sim.root.getSnapshot().context.instanceIds).toEqual([]);
    expect(sim.world.stops).toEqual(['i-a', 'i-b']);
    sim.root.send({ type: 'CREATE_INSTANCE', instanceId: 'i-late', options: testOptions() }); // too late: ignored
    expect(sim.root.getSnapshot().context.instanceIds).toEqual([]);
    expect(sim.root.getSnapshot().children['i-late']).toBeUndefined();
  });

  it('SHUTDOWN with no instances goes straight to stopped', async () => {
    sim = new Sim();
    sim.root.send({ type: 'SHUTDOWN' });
    expect(sim.root.getSnapshot().matches('stopped')).toBe(true);
  });
});

afterAll(() => {
  expect(missed('supervisor')).toEqual({ states: [], transitions: [] });
});
