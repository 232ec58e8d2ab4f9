// The transition history: a ring of the last N, kept in an append-only JSON-lines file that a
// restart reads back (a torn last line skipped), compacted as it grows, its seq continuing;
// its writes are batched off the event loop's back.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HISTORY_FILE, TransitionHistory } from '../../src/runtime/history.js';
import type { Transition } from '../../src/runtime/views.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'history-test-'));
  file = join(dir, HISTORY_FILE);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The runtime's way: the seq comes from the history, then the transition is appended. */
function record(history: TransitionHistory, actor = 'i-1', to = 'healthy'): Transition {
  const t: Transition = {
    actor,
    kind: actor.startsWith('t-') ? 'tab' : 'instance',
    instanceId: actor.startsWith('t-') ? 'i-1' : actor,
    from: 'spawning',
    to,
    reason: `reason <b>${to}</b> "quoted"\n`,
    at: Date.now(),
    seq: history.nextSeq(),
    value: { running: { health: to, probe: 'waiting' } },
    event: 'PROBE_OK',
  };
  history.append(t);
  return t;
}

const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('transition history', () => {
  it('keeps the last N in seq order; since() answers those above a seq, of one instance if asked', () => {
    const history = new TransitionHistory(5, undefined, 1_000);
    expect(history.lastSeq).toBe(1_000_000); // a fresh history starts at its start time in µs
    const all = Array.from({ length: 8 }, (_, i) => record(history, ['i-1', 't-1', 'i-2'][i % 3], `s${i}`));
    expect(all.map((t) => t.seq)).toEqual([1_000_001, 1_000_002, 1_000_003, 1_000_004, 1_000_005, 1_000_006, 1_000_007, 1_000_008]);
    expect(history.size).toBe(5);
    expect(history.since(0).map((t) => t.to)).toEqual(['s3', 's4', 's5', 's6', 's7']);
    expect(history.since(1_000_005).map((t) => t.to)).toEqual(['s5', 's6', 's7']);
    expect(history.since(1_000_008)).toEqual([]);
    // i-1 and its tab t-1, not i-2.
    expect(history.since(1_000_004, 'i-1').map((t) => t.actor)).toEqual(['t-1', 'i-1', 't-1']);
    expect(() => new TransitionHistory(0)).toThrow(/positive integer/);
  });

  it('survives a restart: the next one reads the file back and its seq continues', async () => {
    const first = new TransitionHistory(100);
    first.open(file);
    const written = [record(first), record(first, 't-1'), record(first, 'i-1', 'degraded')];
    expect(existsSync(file)).toBe(false); // not written yet: the three go out together
    await first.flushed();
    expect(lines()).toHaveLength(3);
    await first.close();

    const second = new TransitionHistory(100);
    expect(second.open(file)).toEqual({ read: 3, skipped: 0 });
    expect(second.since(0)).toEqual(written);
    const next = record(second);
    expect(next.seq).toBe(written[2]!.seq + 1);
    await second.close();
    expect(lines()).toHaveLength(4);
  });

  it('skips a torn last line (a kill mid-write) and rewrites the file so the next line does not glue onto it', async () => {
    const first = new TransitionHistory(100);
    first.open(file);
    const kept = [record(first), record(first)];
    await first.close();
    appendFileSync(file, '{"actor":"i-1","kind":"inst');

    const messages: unknown[] = [];
    const log = { warn: (o: unknown) => messages.push(o), error: (o: unknown) => messages.push(o) } as never;
    const second = new TransitionHistory(100, log);
    expect(second.open(file)).toEqual({ read: 2, skipped: 1 });
    expect(messages).toEqual([expect.objectContaining({ read: 2, skipped: 1 })]);
    expect(second.since(0)).toEqual(kept);
    const after = record(second);
    await second.close();

    const third = new TransitionHistory(100);
    expect(third.open(file)).toEqual({ read: 3, skipped: 0 });
    expect(third.since(0)).toEqual([...kept, after]);
    await third.close();
  });

  it('skips lines that are not transitions, or out of seq order', async () => {
    const first = new TransitionHistory(100);
    first.open(file);
    const a = record(first);
    const b = record(first);
    await first.close();
    const text = readFileSync(file, 'utf8').split('\n');
    writeFileSync(file, [text[0], '{"not":"a transition"}', 'garbage', text[1], text[0], ''].join('\n'));
    const second = new TransitionHistory(100);
    expect(second.open(file)).toEqual({ read: 2, skipped: 3 });
    expect(second.since(0)).toEqual([a, b]);
    await second.close();
  });

  it('compacts the file to the last N once it holds 2N lines: it stays between N and 2N', async () => {
    const history = new TransitionHistory(10);
    history.open(file);
    const sizes: number[] = [];
    const all: Transition[] = [];
    for (let i = 0; i < 45; i++) {
      all.push(record(history, 'i-1', `s${i}`));
      await history.flushed();
      sizes.push(lines().length);
    }
    await history.close();
    expect(Math.max(...sizes)).toBe(19);
    expect(Math.min(...sizes.slice(10))).toBe(10);
    // Rewritten at the 20th and 40th line: 10 kept each time.
    expect(sizes[19]).toBe(10);
    expect(sizes[39]).toBe(10);
    expect(sizes[44]).toBe(15);

    // 15 lines read back, the last 10 kept, and the file cut to them.
    const again = new TransitionHistory(10);
    expect(again.open(file)).toEqual({ read: 15, skipped: 0 });
    expect(again.since(0)).toEqual(all.slice(-10));
    const last = record(again); // the file is cut to N at the next write
    await again.close();
    expect(lines()).toHaveLength(10);
    // A smaller N at the next start: the file is cut to it at its next write.
    const smaller = new TransitionHistory(4);
    expect(smaller.open(file)).toEqual({ read: 10, skipped: 0 });
    expect(smaller.since(0)).toEqual([...all.slice(-3), last]);
    record(smaller);
    await smaller.close();
    expect(lines()).toHaveLength(4);
  });

  it('goes on in memory when the file cannot be written', async () => {
    const messages: string[] = [];
    const log = { warn: () => {}, error: (_: unknown, msg: string) => messages.push(msg) } as never;
    const history = new TransitionHistory(10, log);
    history.open(join(dir, 'missing-dir', HISTORY_FILE));
    const t = record(history);
    await history.flushed();
    expect(messages).toEqual(['transition history: cannot write; keeping it in memory only']);
    const u = record(history);
    expect(history.since(0)).toEqual([t, u]);
    await history.close();
    expect(messages).toHaveLength(1);
  });
});
