// How a runtime is configured, and how a client's instance.create params and the runtime's
// defaults become the options an instance machine runs with (their schema: machines/options.ts).
import type { Logger } from 'pino';
import {
  defaultInstanceProbe,
  defaultRestartPolicy,
  defaultTabProbe,
  instanceOptionsSchema,
  type InstanceLimits,
  type InstanceOptions,
} from '../../machines/index.js';
import type { AnalysisPoolOptions } from '../analysis/pool.js';
import type { DownloadLimits } from '../chrome/downloads.js';
import type { ChromeBinary } from '../chrome/find.js';
import type { ValidParams } from '../protocol/methods.js';
import type { TestHooks } from './test-hooks.js';

/** What every instance gets unless its creator says otherwise (tests lower the timings). */
export type InstanceDefaults = InstanceLimits &
  Pick<InstanceOptions, 'restart' | 'probe' | 'tabProbe' | 'memoryIntervalMs' | 'tabRestoreTimeoutMs'> & {
    /** Under memory pressure, evictable tabs unused for this long are closed. */
    evictIdleMs: number;
  };

export interface RuntimeOptions {
  binary: ChromeBinary;
  log?: Logger;
  defaults?: Partial<InstanceDefaults>;
  /** Default: as many as the memory available at start holds (admission.ts). */
  maxInstances?: number;
  /** Memory kept free of new browsers: below it, instance.create is refused (default: admission.ts). */
  memoryReserveMb?: number;
  /** Launched, idle browsers kept ready for instance.create (warm-pool.ts); default 0. */
  warm?: number;
  analysis?: AnalysisPoolOptions;
  /** Written into each snapshot (which tabvisor wrote it). */
  version?: string;
  /** Keep a snapshot of the fleet in this dir and restore it on start (see Runtime.open). */
  persistence?: PersistenceOptions;
  /** Transitions kept for `events.subscribe { since }` (history.ts); default 10,000. */
  historySize?: number;
  /** Size limits of each instance's downloads (default 100 MiB a file, 500 MiB an instance). */
  downloads?: Partial<DownloadLimits>;
  /** Leaks on purpose, for the soak's self-test only (test-hooks.ts). Never set in production. */
  testHooks?: TestHooks;
}

export interface PersistenceOptions {
  stateDir: string;
  /** Bring back the recorded fleet (default). false: start clean, reaping what it left. */
  restore?: boolean;
  /** How long a browser outlives a crashed runtime, waiting to be adopted (default 60 s). */
  orphanGraceMs?: number;
  debounceMs?: number;
  intervalMs?: number;
}

/** instance.create's params after validation: the protocol's schema is their one definition. */
export type CreateInstanceParams = ValidParams<'instance.create'>;

// 1 GiB soft / 2 GiB hard per instance: a busy multi-tab browser stays well below, and a
// runaway one is caught long before the machine swaps.
export const instanceDefaults: InstanceDefaults = {
  softMemoryMb: 1024,
  hardMemoryMb: 2048,
  maxTabs: 50,
  restart: defaultRestartPolicy,
  probe: defaultInstanceProbe,
  tabProbe: defaultTabProbe,
  memoryIntervalMs: 2_000,
  tabRestoreTimeoutMs: 30_000,
  evictIdleMs: 30_000,
};

/**
 * The runtime's defaults: the built-in ones, overridden by `given`. Every instance's options
 * are written into snapshots and checked when read back, so defaults that the schema refuses
 * would make the next start lose the fleet: they are refused here, at once.
 */
export function resolveDefaults(given: Partial<InstanceDefaults> = {}): InstanceDefaults {
  const defaults = { ...instanceDefaults, ...given };
  const checked = instanceOptionsSchema.safeParse(instanceOptions({}, defaults));
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new Error(`invalid instance defaults: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return defaults;
}

/**
 * A probe loop's first wait, drawn in (0, intervalMs]: each actor probes on its own phase, so
 * hundreds of instances created or restored at once do not probe in the same instant.
 */
export function firstProbeDelayMs(intervalMs: number, random = Math.random()): number {
  return Math.max(1, Math.ceil(intervalMs * (1 - random)));
}

/** The options an instance runs with: what its creator gave, the runtime's defaults for the rest. */
export function instanceOptions(params: CreateInstanceParams, defaults: InstanceDefaults): InstanceOptions {
  return {
    name: params.name ?? '',
    shared: params.shared ?? false,
    args: params.args ?? [],
    limits: {
      softMemoryMb: params.limits?.softMemoryMb ?? defaults.softMemoryMb,
      hardMemoryMb: params.limits?.hardMemoryMb ?? defaults.hardMemoryMb,
      maxTabs: params.limits?.maxTabs ?? defaults.maxTabs,
    },
    restart: { ...defaults.restart, ...params.restart },
    probe: defaults.probe,
    tabProbe: defaults.tabProbe,
    memoryIntervalMs: defaults.memoryIntervalMs,
    tabRestoreTimeoutMs: defaults.tabRestoreTimeoutMs,
  };
}
