// The snapshot store on a real file system: atomic and durable writes, debouncing and
// coalescing, every kind of unusable file, and the lock on the state dir.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { SnapshotStore, type FleetSnapshot } from '../../src/runtime/persistence.js';
import { testOptions } from '../machines/fakes.js';

let dir: string;
const stores: SnapshotStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close(null);
  rmSync(dir, { recursive: true, force: true });
});

function store(options = {}): SnapshotStore {
  const s = new SnapshotStore(dir, silentLogger(), options);
  stores.push(s);
  return s;
}

function freshDir(): void {
  dir = mkdtempSync(join(tmpdir(), 'tabvisor-persistence-test-'));
}

const record = (n: number): FleetSnapshot['instances'][number] => ({
  instanceId: `i-${n}`,
  name: `n${n}`,
  owner: 'client:x',
  shared: false,
  createdAt: 1,
  state: 'healthy',
  reason: 'launched',
  restarts: 0,
  options: testOptions(),
  chrome: null,
  // Odd instances' tabs carry their restart count; even ones are as snapshots written before it was recorded.
  tabs: [{ tabId: `t-${n}`, url: `https://x.test/${n}`, title: 't', state: 'healthy', evictable: false, ...(n % 2 ? { restarts: n } : {}) }],
});

/** A fleet whose size the test changes; counts how often it was collected (= written). */
function fleet() {
  const state = { size: 1, collected: 0 };
  const collect = () => {
    state.collected++;
    return { clean: false, writer: { pid: process.pid, version: 'test' }, instances: Array.from({ length: state.size }, (_, i) => record(i)) };
  };
  return { state, collect };
}

const onDisk = () => JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8')) as FleetSnapshot;

describe('snapshot store', () => {
  it('flush answers once the file holds the state at the time of the call, and leaves no temp file', async () => {
    freshDir();
    const s = store();
    const { state, collect } = fleet();
    s.start(collect);
    state.size = 3;
    const result = await s.flush();
    expect(result).toMatchObject({ instances: 3, tabs: 3 });
    expect(result.bytes).toBe(readFileSync(join(dir, 'snapshot.json')).length);
    expect(onDisk()).toMatchObject({ format: 'tabvisor.snapshot', version: 1, at: result.at, clean: false });
    expect(onDisk().instances).toHaveLength(3);
    expect(readdirSync(dir)).toEqual(['snapshot.json']);
    expect(await s.load()).toMatchObject({ kind: 'ok', snapshot: { at: result.at } });
    const loaded = await s.load();
    expect(loaded.kind === 'ok' && loaded.snapshot.instances.map((i) => i.tabs[0]?.restarts)).toEqual([undefined, 1, undefined]);
  });

  it('a burst of changes is written once, within the debounce', async () => {
    freshDir();
    const s = store({ debounceMs: 50 });
    const { state, collect } = fleet();
    s.start(collect);
    const started = Date.now();
    for (let i = 0; i < 100; i++) {
      state.size = i + 1;
      s.changed();
    }
    while (!existsSync(join(dir, 'snapshot.json'))) await new Promise((r) => setTimeout(r, 5));
    expect(Date.now() - started).toBeLessThan(500);
    await new Promise((r) => setTimeout(r, 150));
    expect(state.collected).toBe(1);
    expect(onDisk().instances).toHaveLength(100);
  });

  it('flushes asked for before a write starts share it; those asked for during a write share the next one', async () => {
    freshDir();
    const s = store();
    const { state, collect } = fleet();
    s.start(collect);
    // Not started yet: one write serves all four, and it sees the change made meanwhile.
    const early = s.flush();
    state.size = 4;
    const together = await Promise.all([early, s.flush(), s.flush(), s.flush()]);
    expect(state.collected).toBe(1);
    for (const w of together) expect(w.instances).toBe(4);
    // Asked for while a write is under way (it has collected, its fsync is pending): one more
    // write follows, with the state as of the asks.
    const running = s.flush();
    while (state.collected < 2) await new Promise((r) => setImmediate(r));
    state.size = 7;
    const later = await Promise.all([s.flush(), s.flush(), s.flush()]);
    expect((await running).instances).toBe(4);
    expect(state.collected).toBe(3);
    for (const w of later) expect(w.instances).toBe(7);
    expect(onDisk().instances).toHaveLength(7);
  });

  it('the last write on close is the final one given, then the lock is released', async () => {
    freshDir();
    const s = store();
    await s.lock();
    const { collect } = fleet();
    s.start(collect);
    await s.flush();
    await s.close({ clean: true, writer: { pid: 1, version: 'test' }, instances: [] });
    expect(onDisk()).toMatchObject({ clean: true, instances: [] });
    expect(existsSync(join(dir, 'runtime.lock'))).toBe(false);
    await expect(s.flush()).rejects.toThrow(/shutting down/);
  });

  it('a store that did not get the lock never writes, not even on close', async () => {
    freshDir();
    const holder = store();
    await holder.lock();
    const other = store();
    await expect(other.lock()).rejects.toThrow(new RegExp(`in use by the runtime with pid ${process.pid}`));
    await other.close({ clean: true, writer: { pid: 1, version: 'test' }, instances: [] });
    expect(existsSync(join(dir, 'snapshot.json'))).toBe(false);
    expect(existsSync(join(dir, 'runtime.lock'))).toBe(true);
  });

  it('a lock left by a dead runtime is taken over', async () => {
    freshDir();
    writeFileSync(join(dir, 'runtime.lock'), JSON.stringify({ pid: 999_999_999, startTime: '1', bootId: 'x' }));
    await store().lock();
    expect(JSON.parse(readFileSync(join(dir, 'runtime.lock'), 'utf8')).pid).toBe(process.pid);
  });

  it('no file: nothing to restore; a temp file of an interrupted write is removed', async () => {
    freshDir();
    writeFileSync(join(dir, 'snapshot.json.12345.tmp'), '{"format":');
    expect(await store().load()).toEqual({ kind: 'none' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['garbage', () => 'garbage', /not JSON/],
    ['truncated', (valid: string) => valid.slice(0, 40), /not JSON/],
    ['empty', () => '', /not JSON/],
    ['newer', (valid: string) => JSON.stringify({ ...JSON.parse(valid), version: 2 }), /newer tabvisor \(snapshot version 2; this one reads 1\)/],
    ['foreign', () => JSON.stringify({ hello: 'world' }), /not a valid snapshot: format/],
    ['invalid record', (valid: string) => valid.replace('"i-0"', '"not-an-id"'), /not a valid snapshot: instances\.0\.instanceId/],
  ])('a %s file is moved aside with the reason', async (_, spoil, reason) => {
    freshDir();
    const writer = store();
    writer.start(fleet().collect);
    await writer.flush();
    const spoiled = spoil(readFileSync(join(dir, 'snapshot.json'), 'utf8'));
    writeFileSync(join(dir, 'snapshot.json'), spoiled);
    const result = await store().load();
    expect(result.kind).toBe('unusable');
    if (result.kind !== 'unusable') return;
    expect(result.reason).toMatch(reason);
    expect(existsSync(join(dir, 'snapshot.json'))).toBe(false);
    expect(readFileSync(result.movedTo, 'utf8')).toBe(spoiled);
  });

  it('a failed write rejects the flush and is logged; the next one works again', async () => {
    freshDir();
    const s = store();
    s.start(fleet().collect);
    rmSync(dir, { recursive: true });
    await expect(s.flush()).rejects.toThrow(/ENOENT/);
    mkdirSync(dir); // the dir comes back
    await expect(s.flush()).resolves.toMatchObject({ instances: 1 });
  });
});
