// The fleet in and out of the state dir. Out: what a snapshot records of every instance and
// tab. In, at start-up: take the dir, read the snapshot, end the keepers an earlier runtime
// left, kill every browser tree of the dir that will not be adopted, remove profiles nobody
// will use, and bring the recorded fleet back under the same ids. The reaping scan goes by
// the environment markers every such process carries, so a browser launched just before a
// crash, too late to be in the snapshot, is found and reaped as well.
import { mkdir, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { ChromeRecord } from '../chrome/instance.js';
import { KEEPER_ENV } from '../chrome/keeper.js';
import { INSTANCE_ENV, killProcessGroup, removeProfile } from '../chrome/launch.js';
import { groupIsOurs, processesMarked, startTimeOf, type MarkedProcess, type ProcessIdentity } from '../chrome/process-identity.js';
import { errorMessage } from '../errors.js';
import type { FleetView } from './fleet-view.js';
import type { InstanceRecord, SnapshotContent, SnapshotStore } from './persistence.js';
import type { InstanceView } from './views.js';
import { STATE_ENV, type World } from './world.js';

/** The fleet as a snapshot records it: every instance not stopping, its browser and tabs. */
export function recordFleet(view: FleetView, world: World): InstanceRecord[] {
  const records: InstanceRecord[] = [];
  for (const instance of view.instances()) {
    if (instance.state === 'stopping' || instance.state === 'stopped') continue;
    records.push({
      instanceId: instance.instanceId,
      name: instance.name,
      owner: instance.owner,
      shared: instance.shared,
      createdAt: instance.createdAt,
      state: instance.state,
      reason: instance.reason,
      restarts: instance.restarts,
      options: instance.options,
      chrome: world.record(instance.instanceId),
      tabs: view
        .tabsOf(instance.instanceId)
        .filter((t) => t.state !== 'stopped')
        .map((t) => ({ tabId: t.tabId, url: t.url, title: t.title, state: t.state, evictable: t.evictable, restarts: t.restarts })),
    });
  }
  return records;
}

/** What bringing the fleet back needs of the runtime. */
export interface RestoreHost {
  log: Logger;
  world: World;
  view: FleetView;
  /** The content of every snapshot written from now on. */
  content(): SnapshotContent;
  /** The dir is this runtime's now (locked): read what else it keeps there (the transition history). */
  tookDir(dir: string): void;
  /** Spawn the instance the record describes (adopting `browser` if given); resolves with its
   * view once it is back or failed, null if it stopped. */
  restoreInstance(record: InstanceRecord, browser: ChromeRecord | null): Promise<InstanceView | null>;
}

/**
 * Take the state dir (one runtime per dir), read the snapshot, reap every browser and profile
 * of the dir that will not come back, start writing snapshots, and bring the recorded fleet
 * back. Resolves once the restore is under way; "fleet restored" is logged when it is done.
 * A snapshot that cannot be used is moved aside and the runtime starts clean.
 */
export async function openStateDir(store: SnapshotStore, restore: boolean, host: RestoreHost): Promise<void> {
  const { log, world, view } = host;
  const profileRoot = join(store.dir, 'profiles');
  await mkdir(profileRoot, { recursive: true });
  await store.lock();
  host.tookDir(store.dir);
  const loaded = await store.load();
  let records: InstanceRecord[] = [];
  let clean = false;
  if (loaded.kind === 'unusable') {
    log.error({ file: store.file, reason: loaded.reason, movedTo: loaded.movedTo }, 'snapshot unusable: moved aside, starting with an empty fleet');
  } else if (loaded.kind === 'ok') {
    clean = loaded.snapshot.clean;
    // An instance that was being stopped when the runtime died is not brought back.
    records = loaded.snapshot.instances.filter((r) => r.state !== 'stopping' && r.state !== 'stopped');
  }
  if (!restore) records = [];
  // The browser an instance will try to adopt: none after a clean stop, none for a failed one.
  const adoptable = (r: InstanceRecord) => (clean || r.state === 'failed' ? null : r.chrome);
  const candidates = records.flatMap((r) => adoptable(r)?.identity ?? []);
  // An instance's profile is named for it, or for the warm browser it took (`w-…`).
  const keepProfilesOf = new Set<string>();
  for (const record of records) {
    keepProfilesOf.add(record.instanceId);
    const browser = adoptable(record);
    if (browser) keepProfilesOf.add(basename(browser.profileDir));
  }
  const reaped = await reapStateDir({ stateDir: store.dir, profileRoot, candidates, keepProfilesOf }, log);
  if (reaped.keepers || reaped.browsers || reaped.profiles) log.info(reaped, 'reaped what the last runtime left');
  store.start(() => host.content());
  if (!records.length) {
    await store.flush();
    return;
  }
  const started = performance.now();
  log.info({ instances: records.length, tabs: records.reduce((n, r) => n + r.tabs.length, 0), snapshotAt: loaded.kind === 'ok' ? loaded.snapshot.at : null }, 'restoring the fleet from the snapshot');
  void Promise.all(records.map((record) => host.restoreInstance(record, adoptable(record)))).then((views) => {
    const back = views.filter((v): v is InstanceView => v !== null && v.state !== 'failed');
    const adopted = back.filter((v) => world.adopted.has(v.instanceId)).length;
    world.adopted.clear();
    log.info(
      {
        instances: views.length,
        adopted,
        relaunched: back.length - adopted,
        failed: views.length - back.length,
        tabs: views.reduce((n, v) => n + (v ? view.tabsOf(v.instanceId).length : 0), 0),
        ms: Math.round(performance.now() - started),
      },
      'fleet restored',
    );
  });
}

export interface ReapPlan {
  stateDir: string;
  profileRoot: string;
  /** Browsers that their instance will try to adopt: left alive here. */
  candidates: ProcessIdentity[];
  /** Instances that come back: their profile dirs stay. */
  keepProfilesOf: Set<string>;
}

export interface ReapReport {
  keepers: number;
  browsers: number;
  profiles: number;
}

export async function reapStateDir(plan: ReapPlan, log: Logger): Promise<ReapReport> {
  const marked = await processesMarked(STATE_ENV, plan.stateDir);
  // Keepers first, so that none fires while its browser is being adopted.
  const keepers = marked.filter((p) => KEEPER_ENV in p.env);
  const keeperGroups = await killKeepers(keepers).catch((error: unknown) => {
    log.error({ err: errorMessage(error) }, 'could not end the keepers the last runtime left');
    return new Set(keepers.map((p) => p.pgid));
  });

  const candidates = new Set<number>();
  for (const candidate of plan.candidates) if (await groupIsOurs(candidate)) candidates.add(candidate.pid);
  const browserGroups = new Set(marked.filter((p) => INSTANCE_ENV in p.env && !candidates.has(p.pgid)).map((p) => p.pgid));
  for (const pgid of browserGroups) {
    const instance = marked.find((p) => p.pgid === pgid)?.env[INSTANCE_ENV];
    log.warn({ pgid, instance }, 'killing a browser of this state dir that will not be adopted');
  }
  await Promise.all([...browserGroups].map((pgid) => killProcessGroup(pgid).catch((error: unknown) => log.error({ pgid, err: errorMessage(error) }, 'could not kill an orphaned browser'))));

  let profiles = 0;
  const entries = await readdir(plan.profileRoot).catch(() => [] as string[]);
  for (const name of entries) {
    if (plan.keepProfilesOf.has(name)) continue;
    await removeProfile(join(plan.profileRoot, name));
    profiles++;
  }
  return { keepers: keeperGroups.size, browsers: browserGroups.size, profiles };
}

/**
 * SIGKILL the keepers' groups and wait until every process of them is gone. A keeper never
 * forks but for its one sleep, so the scan saw them all: waiting for those pids (by start
 * time, as a pid may be reused) is cheaper than rescanning /proc as killProcessGroup does.
 */
async function killKeepers(keepers: MarkedProcess[], timeoutMs = 5_000): Promise<Set<number>> {
  const groups = new Set(keepers.map((p) => p.pgid));
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + timeoutMs;
  const alive = async () => (await Promise.all(keepers.map(async (p) => (await startTimeOf(p.pid)) === p.startTime))).some(Boolean);
  while (await alive()) {
    if (Date.now() > deadline) throw new Error(`keeper groups ${[...groups].join(', ')} still alive ${timeoutMs} ms after SIGKILL`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return groups;
}
