// The real `tabvisor serve` as a child process (the compiled CLI that `npm test` builds first):
// started on a free port, its JSON log lines collected, killed with real signals. The restore
// and load benches start theirs here too.
import { existsSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { KEEPER_ENV } from '../../src/chrome/keeper.js';
import { INSTANCE_ENV } from '../../src/chrome/launch.js';
import { processesMarked, type MarkedProcess } from '../../src/chrome/process-identity.js';
import { STATE_ENV } from '../../src/runtime/world.js';

export const CLI = 'dist/src/cli.js';

export type LogLine = Record<string, unknown> & {
  msg?: string;
  level?: number;
  /** performance.now() when this process read the line. */
  receivedAt: number;
};

export interface SpawnedServe {
  child: ResultPromise;
  /** performance.now() just before the spawn. */
  spawnedAt: number;
  /** The wall clock then, against the `time` of the runtime's log lines. */
  spawnedAtEpoch: number;
  lines: LogLine[];
  /** Resolves with the first log line (already seen or later) whose msg is `msg`. */
  waitForLine(msg: string | ((line: LogLine) => boolean), timeoutMs?: number): Promise<LogLine>;
}

export interface ServeProcess extends SpawnedServe {
  url: string;
}

export interface ServeOptions {
  env?: Record<string, string>;
  /** Options for node itself (--cpu-prof, …). */
  nodeArgs?: string[];
  /** Run it under this RLIMIT_NOFILE (soft and hard, with prlimit), as `ulimit -n` would. */
  fdLimit?: number;
}

/** Start `tabvisor serve --port 0 …args` and wait for "control channel listening". */
export async function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  return listening(spawnServe(args, { env }));
}

/** Wait for a spawned runtime's "control channel listening" and its URL. */
export async function listening(serve: SpawnedServe, timeoutMs?: number): Promise<ServeProcess> {
  const line = await serve.waitForLine('control channel listening', timeoutMs);
  return { ...serve, url: line.url as string };
}

/** Spawn `tabvisor serve --port 0 …args` and return at once: a bench times a start from the spawn. */
export function spawnServe(args: string[], options: ServeOptions = {}): SpawnedServe {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
  const spawnedAt = performance.now();
  const spawnedAtEpoch = Date.now();
  const argv = [...(options.nodeArgs ?? []), CLI, 'serve', '--port', '0', '--log-level', 'info', ...args];
  // prlimit execs the command: the child's pid is the runtime's.
  const [file, fileArgs] = options.fdLimit === undefined ? [process.execPath, argv] : ['prlimit', [`--nofile=${options.fdLimit}:${options.fdLimit}`, process.execPath, ...argv]];
  const child = execa(file, fileArgs, {
    reject: false,
    stdin: 'ignore',
    // A SIGTERM is the runtime's to finish: it forces its own exit after 10 s (cli.ts), so
    // execa's SIGKILL (5 s by default) would cut a large fleet's graceful stop short.
    forceKillAfterDelay: 12_000,
    env: { TABVISOR_LOG_LEVEL: 'info', TABVISOR_TOKEN: '', ...options.env },
  });
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const receivedAt = performance.now();
    buffer += chunk.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        lines.push({ ...(JSON.parse(text) as Record<string, unknown>), receivedAt });
      } catch {
        lines.push({ msg: text, receivedAt });
      }
      for (const wake of waiters) wake();
    }
  });
  const waitForLine = (match: string | ((line: LogLine) => boolean), timeoutMs = 30_000): Promise<LogLine> => {
    const test = typeof match === 'string' ? (l: LogLine) => l.msg === match : match;
    return new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = lines.find(test);
        if (found) finish(null, found);
      };
      const finish = (error: Error | null, line?: LogLine) => {
        waiters.delete(check);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(line as LogLine);
      };
      const timer = setTimeout(() => finish(new Error(`no log line ${String(match)} within ${timeoutMs} ms; saw:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)), timeoutMs);
      waiters.add(check);
      void child.then(() => setTimeout(() => finish(new Error(`serve exited before logging ${String(match)}:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)), 50));
      check();
    });
  };
  return { child, spawnedAt, spawnedAtEpoch, lines, waitForLine };
}

/** Live browsers and keepers started by runtimes on this state dir. */
export async function markedProcesses(stateDir: string): Promise<{ browsers: MarkedProcess[]; keepers: MarkedProcess[] }> {
  const marked = await processesMarked(STATE_ENV, stateDir);
  return { browsers: marked.filter((p) => INSTANCE_ENV in p.env), keepers: marked.filter((p) => KEEPER_ENV in p.env) };
}
