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

const count = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError('expected a whole number from 1 to 256');
  return n;
};

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
  .option('--max-instances <n>', 'instances allowed at once (default: from memory, 80 % of RAM over each hard limit)', count)
  .option('--token <token>', 'require this token of every client (Bearer or ?token=); required beyond loopback', process.env.TABVISOR_TOKEN)
  .option('--allow-origin <origin...>', 'browser origins allowed to connect (default: none)')
  .option('--allow-scheme <scheme...>', 'URL schemes tabs may go to besides http:, https:, data: and about:blank (e.g. file:)')
  .action(async (opts: { port: number; host: string; stateDir: string; restore: boolean; orphanGraceMs: number; logLevel: string; analysisThreads?: number; maxInstances?: number; token?: string; allowOrigin?: string[]; allowScheme?: string[] }) => {
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
        persistence: { stateDir: opts.stateDir, restore: opts.restore, orphanGraceMs: opts.orphanGraceMs },
        server: {
          token: opts.token || undefined,
          allowedOrigins: opts.allowOrigin,
          urlPolicy: { schemes: [...defaultUrlPolicy.schemes, ...(opts.allowScheme ?? []).map((s) => (s.endsWith(':') ? s : `${s}:`).toLowerCase())] },
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
  .option('--instances <n>', 'Chrome instances (default 2; --short 1)', count)
  .option('--tabs <n>', 'tabs per instance (default 2; --short 2)', count)
  .option('--out <dir>', 'where the reports go (default soak-results/<timestamp>)')
  .option('--short', 'the CI mode: 1 instance, 2 tabs, 400 iterations, budgets per iteration')
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
