// The state dir: the fleet snapshot, written atomically (temp file, fsync, rename, fsync of
// the directory) so that a kill at any instant leaves the old or the new file, never a torn
// one; debounced after changes, on a timer, and on demand. Also the lock that keeps a second
// runtime off the same state dir (it would reap the first one's browsers).
import { open, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { instanceOptionsSchema } from '../../machines/index.js';
import { identify, isSameProcess } from '../chrome/process-identity.js';
import { errorMessage } from '../errors.js';

export const SNAPSHOT_FORMAT = 'tabvisor.snapshot';
export const SNAPSHOT_VERSION = 1;
const FILE = 'snapshot.json';
const LOCK = 'runtime.lock';

const identity = z.object({ pid: z.number().int().positive(), startTime: z.string(), bootId: z.string() });

const tabRecord = z.object({
  tabId: z.string().regex(/^t-[\w-]{1,64}$/),
  url: z.string(),
  title: z.string(),
  state: z.string(),
  evictable: z.boolean(),
  /** Absent in snapshots written before tab restarts were counted. */
  restarts: z.number().int().min(0).optional(),
});

const instanceRecord = z.object({
  instanceId: z.string().regex(/^i-[\w-]{1,64}$/),
  name: z.string(),
  owner: z.string().nullable(),
  shared: z.boolean(),
  createdAt: z.number(),
  state: z.string(),
  reason: z.string(),
  restarts: z.number().int().min(0),
  options: instanceOptionsSchema,
  /** The running browser, null when none runs (stopped by a clean shutdown, or down). */
  chrome: z
    .object({
      identity,
      wsEndpoint: z.string(),
      profileDir: z.string(),
      targets: z.record(z.string(), z.string()),
    })
    .nullable(),
  tabs: z.array(tabRecord),
});

const snapshotFile = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  version: z.literal(SNAPSHOT_VERSION),
  at: z.number(),
  /** true when written by a clean shutdown: no browser of it is running any more. */
  clean: z.boolean(),
  writer: z.object({ pid: z.number().int(), version: z.string() }),
  instances: z.array(instanceRecord),
});

export type FleetSnapshot = z.infer<typeof snapshotFile>;
/** What the runtime supplies; the store adds the format, version and time. */
export type SnapshotContent = Omit<FleetSnapshot, 'format' | 'version' | 'at'>;
export type InstanceRecord = z.infer<typeof instanceRecord>;
export type TabRecord = z.infer<typeof tabRecord>;

export type LoadResult =
  | { kind: 'none' }
  | { kind: 'ok'; snapshot: FleetSnapshot }
  /** Unreadable, truncated, invalid or from a newer tabvisor: moved aside, start clean. */
  | { kind: 'unusable'; reason: string; movedTo: string };

export interface WriteResult {
  at: number;
  instances: number;
  tabs: number;
  bytes: number;
}

export interface SnapshotStoreOptions {
  /** A change is written at most this long after it happened (writes coalesce meanwhile). */
  debounceMs?: number;
  /** Written on this interval too, changed or not (titles and URLs stay fresh). */
  intervalMs?: number;
}

export class SnapshotStore {
  readonly file: string;
  private readonly debounceMs: number;
  private readonly intervalMs: number;
  private collect: (() => SnapshotContent) | null = null;
  private debounce: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  /** Writes run one after another on this chain. */
  private tail: Promise<unknown> = Promise.resolve();
  /** The write waiting for its turn, if any. */
  private queued: Promise<WriteResult> | null = null;
  private frozen = false;
  private locked = false;
  /** For /metrics: writes done and failed, and the last one. */
  readonly stats: { writes: number; failures: number; last: (WriteResult & { ms: number }) | null } = { writes: 0, failures: 0, last: null };

  constructor(
    readonly dir: string,
    private readonly log: Logger,
    options: SnapshotStoreOptions = {},
  ) {
    this.file = join(dir, FILE);
    this.debounceMs = options.debounceMs ?? 250;
    this.intervalMs = options.intervalMs ?? 30_000;
  }

  /**
   * Take the state dir for this process. A lock held by a live runtime is refused with its
   * pid; one left by a dead runtime (its pid gone or reused) is taken over.
   */
  async lock(): Promise<void> {
    const path = join(this.dir, LOCK);
    const me = await identify(process.pid);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await writeFile(path, JSON.stringify(me), { flag: 'wx' });
        this.locked = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readFile(path, 'utf8').then((text) => identity.safeParse(JSON.parse(text)), () => null);
      if (holder?.success && (await isSameProcess(holder.data))) {
        throw new Error(`state dir ${this.dir} is in use by the runtime with pid ${holder.data.pid}`);
      }
      // A stale lock: another starting runtime may have taken it over first (then the next
      // attempt sees its live pid), or removed it already (ENOENT). Either way, try again.
      await unlink(path).catch(() => {});
    }
    throw new Error(`could not lock state dir ${this.dir}`);
  }

  async load(): Promise<LoadResult> {
    // Temp files of writes that a kill interrupted: never the snapshot, always garbage.
    for (const name of await readdir(this.dir)) if (name.startsWith(`${FILE}.`) && name.endsWith('.tmp')) await rm(join(this.dir, name), { force: true });
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return this.moveAside(`unreadable: ${errorMessage(error)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return this.moveAside(`not JSON (truncated or corrupt): ${errorMessage(error)}`);
    }
    const version = (json as { version?: unknown } | null)?.version;
    if (typeof version === 'number' && version > SNAPSHOT_VERSION) {
      return this.moveAside(`written by a newer tabvisor (snapshot version ${version}; this one reads ${SNAPSHOT_VERSION})`);
    }
    const parsed = snapshotFile.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.moveAside(`not a valid snapshot: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
    }
    return { kind: 'ok', snapshot: parsed.data };
  }

  private async moveAside(reason: string): Promise<LoadResult> {
    const movedTo = `${this.file}.unusable-${new Date().toISOString().replaceAll(':', '-')}`;
    await rename(this.file, movedTo);
    return { kind: 'unusable', reason, movedTo };
  }

  /** Begin writing: after changes (debounced) and on the interval. */
  start(collect: () => SnapshotContent): void {
    this.collect = collect;
    // A failed write is logged by enqueue(); the next tick or change tries again.
    this.interval = setInterval(() => void this.flush().catch(() => {}), this.intervalMs);
    this.interval.unref();
  }

  /** Something worth persisting changed: written within debounceMs. */
  changed(): void {
    if (this.frozen || !this.collect || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.flush().catch(() => {}); // logged by enqueue(); the interval tries again
    }, this.debounceMs);
  }

  /** Write now; resolves once the snapshot that holds every change made before the call is durable. */
  async flush(): Promise<WriteResult> {
    if (!this.collect) throw new Error('the snapshot store was not started');
    if (this.frozen) throw new Error('the runtime is shutting down');
    return this.enqueue(this.collect);
  }

  /** Stop writing on changes and on the interval (shutdown: the final snapshot comes last). */
  freeze(): void {
    this.frozen = true;
    clearTimeout(this.debounce);
    clearInterval(this.interval);
    this.debounce = this.interval = undefined;
  }

  /** The last write, then the lock is released. */
  async close(final: SnapshotContent | null): Promise<void> {
    this.freeze();
    try {
      await this.tail;
      // Only the runtime that holds the lock may write: one refused the dir must not clobber it.
      if (final && this.locked) await this.write(final);
    } finally {
      if (this.locked) {
        await unlink(join(this.dir, LOCK)).catch((error: unknown) =>
          // A lock left behind is taken over by the next runtime once this pid is gone.
          this.log.debug({ err: errorMessage(error), dir: this.dir }, 'could not remove the state dir lock'),
        );
      }
      this.locked = false;
    }
  }

  private enqueue(collect: () => SnapshotContent): Promise<WriteResult> {
    // A write that has not started yet collects the state when it starts, so it serves this
    // request too: under a burst of changes, at most one write runs and one waits.
    if (this.queued) return this.queued;
    const next = this.tail.then(() => {
      this.queued = null;
      return this.write(collect());
    });
    this.queued = next;
    this.tail = next.catch((error: unknown) => this.log.error({ err: errorMessage(error), file: this.file }, 'snapshot write failed'));
    return next;
  }

  private async write(content: SnapshotContent): Promise<WriteResult> {
    const snapshot: FleetSnapshot = { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, at: Date.now(), ...content };
    const started = performance.now();
    const text = JSON.stringify(snapshot);
    try {
      await writeDurably(this.dir, this.file, text);
    } catch (error) {
      this.stats.failures++;
      throw error;
    }
    const tabs = snapshot.instances.reduce((n, i) => n + i.tabs.length, 0);
    const result = { at: snapshot.at, instances: snapshot.instances.length, tabs, bytes: Buffer.byteLength(text) };
    this.stats.writes++;
    this.stats.last = { ...result, ms: performance.now() - started };
    return result;
  }
}

/** Temp file, fsync, rename over the old file, fsync of the directory. */
async function writeDurably(dir: string, file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
