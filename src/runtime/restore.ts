// Start-up with a state dir: end the keepers an earlier runtime left, kill every browser tree
// of this state dir that will not be adopted, and remove profiles nobody will use. The scan
// goes by the environment markers every such process carries, so a browser launched just
// before a crash, too late to be in the snapshot, is found and reaped as well.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { KEEPER_ENV } from '../chrome/keeper.js';
import { INSTANCE_ENV, killProcessGroup, removeProfile } from '../chrome/launch.js';
import { groupIsOurs, processesMarked, startTimeOf, type MarkedProcess, type ProcessIdentity } from '../chrome/process-identity.js';
import { errorMessage } from '../errors.js';
import { STATE_ENV } from './world.js';

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
