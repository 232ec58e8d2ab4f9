// The recent transitions, for `events.subscribe { since }`: a ring of the last N (10,000 by
// default) in memory, and with a state dir an append-only JSON-lines file beside the snapshot,
// so that the history and its seq outlive the runtime (a kill -9 and a restore included).
// Lines are appended asynchronously, the transitions of one turn of the event loop in one
// write, one write at a time: a killed runtime loses at most the writes not done yet (a torn
// last line among them, which the next start skips). Once the file holds 2N lines it is rewritten with
// the last N (temp file, rename: a kill leaves the old file or the new one), in the same queue.
// Not fsynced: against a power cut the history is best effort, the fleet snapshot is not.
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, rename, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { stateEvent } from '../protocol/methods.js';
import type { Transition } from './views.js';

export const HISTORY_FILE = 'transitions.jsonl';
export const DEFAULT_HISTORY_SIZE = 10_000;

/** One line of the file: a Transition, as the `state` event published it. */
const line = stateEvent.required({ value: true, event: true });

export class TransitionHistory {
  /** A ring: `entries[(start + i) % capacity]` is the i-th oldest. */
  private readonly entries: Transition[] = [];
  private start = 0;
  private seq: number;
  /** The file, while the history is kept in one. */
  private file: string | null = null;
  private linesInFile = 0;
  /** Lines appended and not written yet. */
  private pending: string[] = [];
  /** The write queue at work, if it is. */
  private writing: Promise<void> | null = null;

  /**
   * A fresh history starts its seq at its start time in microseconds, not at 1: a page that
   * saw seq N of a runtime without a state dir (whose history died with it) still finds every
   * seq of the next runtime above N, instead of dropping them as replays.
   */
  constructor(
    readonly capacity = DEFAULT_HISTORY_SIZE,
    private readonly log?: Logger,
    now = Date.now(),
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`history size must be a positive integer, not ${capacity}`);
    this.seq = now * 1000;
  }

  get lastSeq(): number {
    return this.seq;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The seq of the next transition. */
  nextSeq(): number {
    return ++this.seq;
  }

  /**
   * Keep the history in `file` from now on: what it holds is read back first (lines that do
   * not parse are skipped, a torn last one among them) and the seq continues after its last.
   * Call before any transition is appended.
   */
  open(file: string): { read: number; skipped: number } {
    let read = 0;
    let skipped = 0;
    let tidy = true;
    try {
      if (existsSync(file)) {
        const text = readFileSync(file, 'utf8');
        tidy = text.length === 0 || text.endsWith('\n');
        for (const raw of text.split('\n')) {
          if (!raw) continue;
          const entry = parseLine(raw);
          // In seq order only: a line out of order is as unusable as one that does not parse.
          if (!entry || (this.entries.length > 0 && entry.seq <= this.seq)) {
            skipped++;
            continue;
          }
          this.push(entry);
          this.seq = entry.seq;
          read++;
        }
      }
    } catch (error) {
      this.log?.error({ file, err: errorMessage(error) }, 'transition history: cannot read the file; keeping it in memory only');
      return { read, skipped };
    }
    this.file = file;
    this.linesInFile = read;
    if (skipped > 0) this.log?.warn({ file, read, skipped }, 'transition history: skipped lines that could not be read');
    // A torn or bad line must not glue onto the next one appended: the file is rewritten first.
    if (!tidy || skipped > 0 || read > this.capacity) this.linesInFile = Infinity;
    return { read, skipped };
  }

  append(t: Transition): void {
    this.push(t);
    if (this.file === null) return;
    this.pending.push(`${JSON.stringify(t)}\n`);
    this.writing ??= this.drain();
  }

  /** Resolves once every transition appended so far is in the file (or the file was given up). */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Transitions with a seq above `seq`, oldest first; of one instance (and its tabs) if asked. */
  since(seq: number, instanceId?: string): Transition[] {
    const n = this.entries.length;
    // Binary search on the ring for the first seq above `seq` (seqs increase along it).
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).seq > seq) hi = mid;
      else lo = mid + 1;
    }
    const out: Transition[] = [];
    for (let i = lo; i < n; i++) {
      const t = this.at(i);
      if (instanceId === undefined || t.instanceId === instanceId) out.push(t);
    }
    return out;
  }

  /** Write what is pending, then keep the history in memory only. */
  async close(): Promise<void> {
    await this.flushed();
    this.file = null;
  }

  private at(i: number): Transition {
    return this.entries[(this.start + i) % this.capacity]!;
  }

  private push(t: Transition): void {
    if (this.entries.length < this.capacity) this.entries.push(t);
    else {
      this.entries[this.start] = t;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The write queue: pending lines in one append, a rewrite first when the file is due one. */
  private async drain(): Promise<void> {
    // The transitions of this turn of the event loop go out together.
    await Promise.resolve();
    try {
      while (this.pending.length > 0 && this.file !== null) {
        const file = this.file;
        if (this.linesInFile + this.pending.length >= 2 * this.capacity) {
          // The ring holds the last N, the pending lines among them.
          this.pending = [];
          const lines = this.since(-Infinity).map((t) => `${JSON.stringify(t)}\n`);
          await writeFile(`${file}.tmp`, lines.join(''));
          await rename(`${file}.tmp`, file);
          this.linesInFile = lines.length;
          continue;
        }
        const lines = this.pending;
        this.pending = [];
        await appendFile(file, lines.join(''));
        this.linesInFile += lines.length;
      }
    } catch (error) {
      // Disk full, or the dir removed under us: the history goes on in memory only.
      this.log?.error({ file: this.file, err: errorMessage(error) }, 'transition history: cannot write; keeping it in memory only');
      this.file = null;
      this.pending = [];
    } finally {
      this.writing = null;
    }
  }
}

function parseLine(raw: string): Transition | null {
  try {
    const parsed = line.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
