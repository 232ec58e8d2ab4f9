// The inspector page's model (DOM-free, so it runs here): a replay after a reconnect adds no
// transition twice, and a list and the events around it agree whichever comes first.
import { describe, expect, it } from 'vitest';
import type { InstanceItem, StateEvent } from '../../src/inspector/page/contract.js';
import { Store, activeStateIds, leafPaths } from '../../src/inspector/page/store.js';

const healthy = { running: { health: 'healthy', probe: 'waiting', memory: 'sampling' } };

function event(seq: number, at: number, from: string | null, to: string): StateEvent {
  return { actor: 'i-1', kind: 'instance', instanceId: 'i-1', from, to, reason: `${from} → ${to}`, at, seq, value: to === 'healthy' ? healthy : to, event: 'E' };
}

function listed(state: string, stateSince: number): InstanceItem {
  return {
    instanceId: 'i-1',
    name: 'crawler',
    state,
    pid: 42,
    tabs: 0,
    memory: { pssMb: 200, ussMb: 150 },
    restarts: 0,
    createdAt: 1,
    shared: false,
    reason: 'listed',
    stateSince,
    value: state === 'healthy' ? healthy : state,
  };
}

describe('inspector store', () => {
  it('keeps each seq once when a reconnect replays what was already seen', () => {
    const store = new Store();
    const history = [event(1, 100, null, 'spawning'), event(2, 200, 'spawning', 'healthy'), event(3, 300, 'healthy', 'recovering')];
    for (const e of history) store.applyState(e);
    // The socket drops; the page subscribes again with since = 3, and a server that replays
    // a little more than asked (or a duplicate frame) must not double the timeline.
    for (const e of [...history, event(4, 400, 'recovering', 'healthy')]) store.applyState(e);
    expect(store.transitions.map((t) => t.seq)).toEqual([1, 2, 3, 4]);
    expect(store.lastSeq).toBe(4);
    expect(store.actors.get('i-1')!.state).toBe('healthy');
  });

  it('lets the newer of a list and an event say the current state, in either order', () => {
    const eventFirst = new Store();
    eventFirst.applyState(event(5, 500, 'healthy', 'recovering'));
    eventFirst.applyInstances([listed('healthy', 200)]);
    expect(eventFirst.actors.get('i-1')).toMatchObject({ state: 'recovering', stateSince: 500, name: 'crawler' });

    const listFirst = new Store();
    listFirst.applyInstances([listed('recovering', 500)]);
    // Replayed history from before the list: it goes to the timeline, not to the tree.
    listFirst.applyState(event(2, 200, 'spawning', 'healthy'));
    expect(listFirst.actors.get('i-1')).toMatchObject({ state: 'recovering', stateSince: 500 });
    expect(listFirst.transitions).toHaveLength(1);
  });

  it('forgets an instance a fresh list no longer has, and keeps a stopped one a while', () => {
    const store = new Store();
    store.applyInstances([listed('healthy', 200)]);
    store.applyState({ ...event(9, Date.now(), 'healthy', 'stopped'), actor: 'i-2', instanceId: 'i-2' });
    store.applyInstances([]);
    expect([...store.actors.keys()]).toEqual(['i-2']);
  });

  it('reads active states down to the leaves from a state value', () => {
    expect(activeStateIds('instance', healthy)).toEqual([
      'instance.running',
      'instance.running.health',
      'instance.running.health.healthy',
      'instance.running.probe',
      'instance.running.probe.waiting',
      'instance.running.memory',
      'instance.running.memory.sampling',
    ]);
    expect(leafPaths(healthy)).toEqual(['running.health.healthy', 'running.probe.waiting', 'running.memory.sampling']);
    expect(leafPaths({ recovering: 'killing' })).toEqual(['recovering.killing']);
    expect(leafPaths('failed')).toEqual(['failed']);
  });
});
