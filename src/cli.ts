#!/usr/bin/env node
// The tabvisor command: `tabvisor serve` runs the runtime and its control channel until a
// signal stops it (gracefully on the first, at once on the second).
import { EventEmitter } from 'node:events';
import { Command, InvalidArgumentError } from 'commander';
import { createLogger, type LogTap } from './log.js';
import { ConnectionLost, connect, type RpcError, type TabvisorClient } from './client/index.js';
import { errorMessage } from './errors.js';
import { packageVersion, startTabvisor } from './index.js';
import { defaultUrlPolicy } from './server/url-policy.js';

const historySize = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new InvalidArgumentError('expected a whole number from 1 to 1000000');
  return n;
};

const program = new Command('tabvisor').version(packageVersion()).description('Supervised headless Chrome fleets over a WebSocket control channel');

const int = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number');
  return n;
};

const ms = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 86_400_000) throw new InvalidArgumentError('expected milliseconds (0 to 86400000)');
  return n;
};

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
};

const megabytes = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 16_777_216) throw new InvalidArgumentError('expected megabytes (0 to 16777216)');
  return n;
};

const boundedCount = (value: string, max: number, min = 1) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
  return n;
};
const count = (value: string) => boundedCount(value, 256);

program
  .command('serve')
  .description('run the runtime and serve the control channel')
  .option('--port <port>', 'port for WebSocket /rpc and HTTP', int, 9400)
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--state-dir <dir>', 'where the fleet snapshot and the browser profiles are kept', '.tabvisor')
  .option('--no-restore', 'start with an empty fleet: reap every browser and profile the last run left')
  .option('--orphan-grace-ms <ms>', 'how long browsers outlive a crashed runtime, waiting to be adopted', ms, 60_000)
  .option('--log-level <level>', 'pino level', process.env.TABVISOR_LOG_LEVEL ?? 'info')
  .option('--analysis-threads <n>', 'worker threads for page analysis (default: one per CPU)', count)
  .option('--max-instances <n>', 'instances allowed at once (default: the memory available at start above the reserve, at 150 MB an instance)', (v) => boundedCount(v, 100_000))
  .option('--memory-reserve-mb <mb>', 'memory kept free: instance.create is refused when less is available (default: 10 % of RAM, at least 512)', megabytes)
  .option('--warm <n>', 'launched, idle browsers kept ready for instance.create (default 0)', (v) => boundedCount(v, 1_000, 0))
  .option('--token <token>', 'require this token of every client (Bearer or ?token=); required beyond loopback', process.env.TABVISOR_TOKEN)
  .option('--allow-origin <origin...>', 'browser origins allowed to connect (default: none)')
  .option('--allow-scheme <scheme...>', 'URL schemes tabs may go to besides http:, https:, data: and about:blank (e.g. file:)')
  .option('--history-size <n>', 'transitions kept for the inspector and events.subscribe { since }, in the state dir', historySize, 10_000)
  .option('--allow-evaluate', 'allow tab.evaluate (and the MCP tool browser_evaluate): clients may run any script in their pages')
  .action(async (opts: { port: number; host: string; stateDir: string; restore: boolean; orphanGraceMs: number; logLevel: string; analysisThreads?: number; maxInstances?: number; memoryReserveMb?: number; warm?: number; token?: string; allowOrigin?: string[]; allowScheme?: string[]; historySize: number; allowEvaluate?: boolean }) => {
    const logTap: LogTap = new EventEmitter();
    const log = createLogger({ level: opts.logLevel, tap: logTap });
    let tabvisor: Awaited<ReturnType<typeof startTabvisor>>;
    try {
      tabvisor = await startTabvisor({
        host: opts.host,
        port: opts.port,
        log,
        logTap,
        analysis: { threads: opts.analysisThreads },
        maxInstances: opts.maxInstances,
        memoryReserveMb: opts.memoryReserveMb,
        warm: opts.warm,
        persistence: { stateDir: opts.stateDir, restore: opts.restore, orphanGraceMs: opts.orphanGraceMs },
        historySize: opts.historySize,
        server: {
          token: opts.token || undefined,
          allowedOrigins: opts.allowOrigin,
          urlPolicy: { schemes: [...defaultUrlPolicy.schemes, ...(opts.allowScheme ?? []).map((s) => (s.endsWith(':') ? s : `${s}:`).toLowerCase())] },
          allowEvaluate: opts.allowEvaluate ?? false,
        },
      });
    } catch (error) {
      log.fatal({ err: errorMessage(error) }, 'could not start');
      log.flush();
      process.exitCode = 1;
      return;
    }
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: killing every Chrome and exiting now');
        tabvisor.runtime.killAllSync();
        log.flush();
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'stopping every instance');
      const force = setTimeout(() => {
        log.error('shutdown took longer than 10 s: killing every Chrome and exiting');
        tabvisor.runtime.killAllSync();
        process.exit(1);
      }, 10_000);
      force.unref();
      void tabvisor.close().then(
        () => {
          log.info('stopped');
          log.flush();
          process.exit(0);
        },
        (error: unknown) => {
          log.error({ err: String(error) }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });

program
  .command('mcp')
  .description('MCP over stdio for an agent host: uses the tabvisor at --url, or starts an embedded one when none answers')
  .option('--url <url>', 'the control channel of a running tabvisor', 'ws://127.0.0.1:9400/rpc')
  .option('--token <token>', 'its token (default $TABVISOR_TOKEN)', process.env.TABVISOR_TOKEN)
  .option('--client <name>', 'own the session\'s instances as this client (default: a new name per process)')
  .option('--embedded', 'always start an embedded tabvisor, never use --url')
  .option('--no-embedded', 'never start an embedded tabvisor: fail when --url does not answer')
  .option('--state-dir <dir>', 'the embedded tabvisor\'s state dir (default: none, temporary profiles)')
  .option('--allow-evaluate', 'the embedded tabvisor allows tab.evaluate (browser_evaluate)')
  .option('--log-level <level>', 'pino level (logs go to stderr; stdout carries MCP)', process.env.TABVISOR_LOG_LEVEL ?? 'warn')
  .action(async (opts: { url: string; token?: string; client?: string; embedded?: boolean; stateDir?: string; allowEvaluate?: boolean; logLevel: string }) => {
    const log = createLogger({ level: opts.logLevel });
    try {
      const { runStdio } = await import('./mcp/stdio.js');
      await runStdio({
        url: opts.url,
        token: opts.token || undefined,
        client: opts.client,
        embedded: opts.embedded === true ? 'always' : opts.embedded === false ? 'never' : 'auto',
        stateDir: opts.stateDir,
        allowEvaluate: opts.allowEvaluate ?? false,
        log,
      });
      log.flush();
      process.exit(0);
    } catch (error) {
      log.fatal({ err: errorMessage(error) }, 'MCP server failed');
      log.flush();
      process.exit(1);
    }
  });

program
  .command('call')
  .description('call one method of a running tabvisor and print its result as JSON (exit 1 with the error on stderr when it fails)')
  .argument('<method>', 'e.g. system.health, instance.list, tab.navigate')
  .argument('[params]', 'the params as JSON text, e.g. \'{"tabId":"t-1","url":"https://example.com"}\'')
  .option('--url <url>', 'the control channel', 'ws://127.0.0.1:9400/rpc')
  .option('--token <token>', 'the server\'s token (default $TABVISOR_TOKEN)', process.env.TABVISOR_TOKEN)
  .option('--client <name>', 'call as this client (to touch instances it owns)')
  .action(async (method: string, paramsText: string | undefined, opts: { url: string; token?: string; client?: string }) => {
    // Exit codes: 0 the call succeeded; 1 the server answered with an error; 2 it could not be asked.
    let params: unknown;
    if (paramsText !== undefined) {
      try {
        params = JSON.parse(paramsText);
      } catch (error) {
        process.stderr.write(`params are not JSON: ${errorMessage(error)}\n`);
        process.exitCode = 2;
        return;
      }
    }
    let client: TabvisorClient;
    try {
      client = await connect(opts.url, { token: opts.token || undefined, client: opts.client, reconnect: false });
    } catch (error) {
      process.stderr.write(`cannot reach ${opts.url}: ${errorMessage(error)}\n`);
      process.exitCode = 2;
      return;
    }
    try {
      const result = await (client.call as (m: string, p?: unknown) => Promise<unknown>)(method, params);
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } catch (error) {
      const e = error as RpcError;
      process.stderr.write(`${JSON.stringify({ code: e.code, message: e.message, ...(e.data ? { data: e.data } : {}) }, null, 2)}\n`);
      process.exitCode = error instanceof ConnectionLost ? 2 : 1;
    } finally {
      await client.close();
    }
  });

program
  .command('soak')
  .description('run a runtime under a workload and judge whether anything leaks (exit 0 clean, 99 leak, 2 inconclusive, 1 harness error)')
  .option('--workload <name|path>', 'navigate, interact, faults, idle, or the path of an ES module', 'navigate')
  .option('--duration <time>', 'how long to run: 60m, 90s, 1h (default 60m unless --iterations)')
  .option('--iterations <n>', 'how many iterations to run', positive)
  .option('--warmup <n|time>', 'iterations (100) or a time (40s) to run first, neither sampled nor judged (default none)')
  .option('--instances <n>', 'Chrome instances (default 2; --short 1)', count)
  .option('--tabs <n>', 'tabs per instance (default 2; --short 2)', count)
  .option('--out <dir>', 'where the reports go (default soak-results/<timestamp>)')
  .option('--short', 'the CI mode: 1 instance, 2 tabs, 1,200 iterations, budgets per iteration')
  .option('--url <url>', 'soak a running tabvisor at this control channel instead of an embedded one')
  .option('--token <token>', "the running tabvisor's token (default $TABVISOR_TOKEN)", process.env.TABVISOR_TOKEN)
  .option('--self-test', 'prove the detector: leaks of known rate injected, each against a clean control')
  .option('--seed <n>', 'seed of the workload\'s choices (default random; recorded in the report)', positive)
  .option('--alpha <p>', 'family-wise error rate of the verdicts (default 0.05)', Number)
  .option('--budgets <file>', 'a JSON file of budgets overriding the defaults (docs/soak.md)')
  .option('--analysis-threads <n>', 'worker threads of the embedded runtime', count)
  .action(async (opts: import('../soak/command.js').SoakFlags) => {
    // Loaded only here: `tabvisor serve` never loads the soak's code.
    const { soakCommand } = await import('../soak/command.js');
    process.exitCode = await soakCommand(opts);
  });

await program.parseAsync(process.argv);
