// The values feed's coalescing on its own: a source of values far faster than 10 a second per
// actor (the real runtime's values move only within a recovery, too briefly to show the cap;
// events.test.ts checks the feed there).
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { ActorValue } from '../../src/runtime/views.js';
import { ValuesFeed } from '../../src/server/values-feed.js';

/** The one part of a runtime the feed listens to. */
function source() {
  const bus = new EventEmitter<{ value: [ActorValue] }>();
  const runtime = {
    onValue(listener: (v: ActorValue) => void) {
      bus.on('value', listener);
      return () => bus.off('value', listener);
    },
  } as unknown as Runtime;
  const emit = (actor: string, value: ActorValue['value']) => bus.emit('value', { actor, kind: 'instance', instanceId: actor, value, at: Date.now() } as ActorValue);
  return { runtime, emit, listeners: () => bus.listenerCount('value') };
}

describe('ValuesFeed', () => {
  it('sends each actor at most 10 values a second, its latest, only when changed', async () => {
    const { runtime, emit } = source();
    const sent: ActorValue[] = [];
    const feed = new ValuesFeed(runtime, (v) => sent.push(v));
    feed.setActive(true);
    const started = Date.now();
    let i = 0;
    // Two actors: one whose value changes every 2 ms, one whose value never changes after its first.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        emit('a', { recovering: `step-${++i}` });
        emit('b', { running: { health: 'healthy' } });
        if (Date.now() - started >= 1_000) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    });
    await new Promise((r) => setTimeout(r, 150)); // the last flush
    const elapsed = Date.now() - started;
    const ofA = sent.filter((v) => v.actor === 'a');
    expect(i).toBeGreaterThan(100);
    expect(ofA.length).toBeGreaterThanOrEqual(5);
    expect(ofA.length).toBeLessThanOrEqual(Math.floor(elapsed / 100) + 1);
    // The last one sent is the last value emitted: coalescing keeps the latest.
    expect(ofA.at(-1)!.value).toEqual({ recovering: `step-${i}` });
    expect(sent.filter((v) => v.actor === 'b')).toHaveLength(1);
    expect(feed.stats.seen).toBe(2 * i);
    feed.close();
  });

  it('listens only while active, and forgets what it sent when it stops', () => {
    const { runtime, emit, listeners } = source();
    const sent: ActorValue[] = [];
    const feed = new ValuesFeed(runtime, (v) => sent.push(v));
    emit('a', 'x');
    expect(listeners()).toBe(0);
    expect(feed.stats.seen).toBe(0);
    feed.setActive(true);
    expect(listeners()).toBe(1);
    feed.setActive(false);
    expect(listeners()).toBe(0);
  });
});
