// tabvisor as a library: start the runtime and its control channel in this process.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { AnalysisPoolOptions } from './analysis/pool.js';
import { chromeVersion, findChrome, type ChromeBinary } from './chrome/find.js';
import { needsNoSandbox } from './chrome/launch.js';
import { silentLogger, type LogTap } from './log.js';
import { Runtime, type InstanceDefaults, type PersistenceOptions, type RuntimeOptions } from './runtime/runtime.js';
import { assertBindable } from './server/access.js';
import { ControlServer, type ServerOptions } from './server/server.js';

export interface TabvisorOptions {
  host?: string;
  port?: number;
  log?: Logger;
  logTap?: LogTap;
  binary?: ChromeBinary;
  defaults?: Partial<InstanceDefaults>;
  maxInstances?: number;
  /** Memory kept free of new browsers (MB); default 10 % of RAM, at least 512. */
  memoryReserveMb?: number;
  /** Launched, idle browsers kept ready for instance.create; default 0. */
  warm?: number;
  /** The analysis worker pool (threads, idle timeout, queue bound). */
  analysis?: AnalysisPoolOptions;
  /** Snapshot the fleet into a state dir and restore it on start (off without it). */
  persistence?: PersistenceOptions;
  /** Transitions kept for `events.subscribe { since }` (in the state dir with persistence); default 10,000. */
  historySize?: number;
  /** Leaks on purpose, for the soak's self-test only (src/runtime/test-hooks.ts). */
  testHooks?: RuntimeOptions['testHooks'];
  server?: Partial<Pick<ServerOptions, 'maxPayload' | 'maxInFlight' | 'maxBufferedBytes' | 'slowCloseGraceMs' | 'metricsIntervalMs' | 'urlPolicy' | 'allowedOrigins' | 'token' | 'allowEvaluate' | 'mcpIdleMs'>>;
  /** Size limits of each instance's downloads. */
  downloads?: RuntimeOptions['downloads'];
}

export interface Tabvisor {
  runtime: Runtime;
  server: ControlServer;
  url: string;
  close(): Promise<void>;
}

export async function startTabvisor(options: TabvisorOptions = {}): Promise<Tabvisor> {
  const log = options.log ?? silentLogger();
  // Before anything starts: a runtime that may not listen must not launch anything either.
  assertBindable(options.host ?? '127.0.0.1', options.server?.token);
  const binary = options.binary ?? (await findChrome());
  // `chrome --version` takes ~170 ms: asked while the state dir is opened, not before.
  const versionAsked = chromeVersion(binary.path).catch(() => 'unknown');
  if (needsNoSandbox) log.warn('running as root: Chrome is started with --no-sandbox');
  const runtime = new Runtime({
    binary,
    log,
    defaults: options.defaults,
    maxInstances: options.maxInstances,
    memoryReserveMb: options.memoryReserveMb,
    warm: options.warm,
    analysis: options.analysis,
    persistence: options.persistence,
    historySize: options.historySize,
    downloads: options.downloads,
    version: packageVersion(),
    testHooks: options.testHooks,
  });
  let server: ControlServer;
  try {
    // Before listening: a state dir held by another runtime is a reason not to start at all.
    await runtime.open();
    const version = await versionAsked;
    log.info({ chrome: binary.path, source: binary.source, version }, 'using Chrome');
    server = await ControlServer.listen({
      runtime,
      log,
      host: options.host,
      port: options.port,
      version: packageVersion(),
      chrome: { path: binary.path, version, source: binary.source },
      logTap: options.logTap,
      ...options.server,
    });
  } catch (error) {
    await runtime.close();
    throw error;
  }
  log.info({ url: server.url }, 'control channel listening');
  return {
    runtime,
    server,
    url: server.url,
    async close() {
      server.drain();
      try {
        await runtime.close();
      } finally {
        await server.close();
      }
    },
  };
}

export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    dir = dirname(dir);
  }
  return '0.0.0';
}

export { Runtime } from './runtime/runtime.js';
export { ControlServer } from './server/server.js';
export { TabvisorError, ErrorCode } from './errors.js';
export { connect, TabvisorClient, RpcError } from './client/index.js';
export { findChrome } from './chrome/find.js';
export { methods } from './protocol/methods.js';
