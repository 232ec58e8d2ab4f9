// Launches Chrome with execa in its own process group, with a profile dir of its own, and
// finds its DevTools WebSocket endpoint. Kills go to the whole group, never to one pid.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { ChromeBinary } from './find.js';
import { identify, type ProcessIdentity } from './process-identity.js';
import { readProcessTable, readStatSync, type ProcessEntry } from './proc.js';

/** Marker put in Chrome's environment: every process of the tree inherits it, so a leak
 * check (or a reaper) can find the whole tree even after the browser process itself died. */
export const INSTANCE_ENV = 'TABVISOR_INSTANCE';

export interface LaunchOptions {
  binary: ChromeBinary;
  instanceId: string;
  profileDir: string;
  args?: string[];
  timeoutMs?: number;
  signal?: AbortSignal;
  /** More environment markers (the state dir), so a later runtime can find the tree. */
  env?: Record<string, string>;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export interface ChromeProcess {
  pid: number;
  /** pid, start time and boot: what a later runtime checks before adopting the browser. */
  identity: ProcessIdentity;
  wsEndpoint: string;
  profileDir: string;
  launchMs: number;
  /** Settles once the browser process has exited (never rejects). */
  exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | null;
  /** Called once the group is known dead: an adopted browser is not our child, so nothing
   * else tells `exited`. A no-op for a browser this runtime launched. */
  markExited(): void;
}

const running_as_root = typeof process.getuid === 'function' && process.getuid() === 0;

/** Flags that keep an automation browser lean and quiet on a closed network. */
export function chromeArgs(binary: ChromeBinary, profileDir: string, extra: string[] = []): string[] {
  return [
    binary.headlessShell ? '--headless' : '--headless=new',
    `--user-data-dir=${profileDir}`,
    '--remote-debugging-port=0',
    '--remote-debugging-address=127.0.0.1',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-extensions',
    '--disable-breakpad',
    '--disable-client-side-phishing-detection',
    '--disable-domain-reliability',
    '--disable-crash-reporter',
    '--disable-component-extensions-with-background-pages',
    '--disable-search-engine-choice-screen',
    '--disable-infobars',
    '--disable-popup-blocking',
    // Automation sends bursts of IPC (input, navigations) that Chrome would otherwise throttle.
    '--disable-ipc-flooding-protection',
    '--allow-pre-commit-input',
    // Same process model as puppeteer's defaults: no per-site renderer reuse heuristics.
    '--disable-features=Translate,MediaRouter,OptimizationHints,AcceptCHFrame,ProcessPerSiteUpToMainFrameThreshold,IsolateSandboxedIframes,InterestFeedContentSuggestions,AutofillServerCommunication',
    // Screenshots that do not depend on the host's colour profile or scrollbar theme.
    '--force-color-profile=srgb',
    '--hide-scrollbars',
    // /dev/shm is 64 MB in many containers; Chrome then crashes renderers. Use /tmp instead.
    '--disable-dev-shm-usage',
    // Automation drives background tabs too: do not throttle them.
    '--disable-background-timer-throttling',
    '--disable-backgrounding-occluded-windows',
    '--disable-renderer-backgrounding',
    '--disable-hang-monitor',
    '--disable-prompt-on-repost',
    '--metrics-recording-only',
    '--mute-audio',
    // The network service in the browser process, not a utility process of its own: 9 MB PSS
    // less per instance, idle or with a tab (bench idle-flags, 2026-12-02). A crash of it takes
    // the browser down, which tabvisor recovers like any browser exit, tabs and all.
    '--enable-features=NetworkServiceInProcess2',
    '--password-store=basic',
    '--use-mock-keychain',
    // Chrome refuses to start its sandbox as root; outside root the sandbox stays on.
    ...(running_as_root ? ['--no-sandbox'] : []),
    ...extra,
    'about:blank',
  ];
}

export const needsNoSandbox = running_as_root;

export async function launchChrome(options: LaunchOptions): Promise<ChromeProcess> {
  const { binary, profileDir, instanceId, signal } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = performance.now();
  await mkdir(profileDir, { recursive: true });
  const portFile = join(profileDir, 'DevToolsActivePort');
  await rm(portFile, { force: true });

  const child: ResultPromise = execa(binary.path, chromeArgs(binary, profileDir, options.args), {
    detached: true, // own process group: one kill reaches every Chrome process
    cleanup: false,
    reject: false,
    stdin: 'ignore',
    stdout: 'ignore',
    // A file, not a pipe: Chrome must be able to outlive the runtime that launched it.
    stderr: { file: join(profileDir, 'chrome-stderr.log') },
    env: { ...options.env, [INSTANCE_ENV]: instanceId },
    extendEnv: true,
  });
  const pid = child.pid;
  let exitInfo: ExitInfo | null = null;
  // The process's own 'exit' (its status, as soon as it is reaped) comes before execa's result,
  // which waits for the child's streams to close: 20–70 ms later after a kill -9, the time a
  // recovery would wait to name the signal. Whichever comes first settles `exited`.
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => resolve((exitInfo ??= { code, signal: signal ?? null })));
    child.then(
      (result) => resolve((exitInfo ??= { code: result.exitCode ?? null, signal: result.signal ?? null })),
      () => resolve((exitInfo ??= { code: null, signal: null })),
    );
  });
  if (pid === undefined) {
    await exited;
    throw new Error(`could not spawn ${binary.path}`);
  }
  try {
    const [wsEndpoint, identity] = await Promise.all([waitForEndpoint(portFile, exited, timeoutMs, signal), identify(pid)]);
    if (!identity) throw new Error('Chrome exited during launch');
    return {
      pid,
      identity,
      wsEndpoint,
      profileDir,
      launchMs: Math.round(performance.now() - started),
      exited,
      get exitInfo() {
        return exitInfo;
      },
      markExited() {},
    };
  } catch (error) {
    await killProcessGroup(pid);
    await exited;
    const tail = await readFile(join(profileDir, 'chrome-stderr.log'), 'utf8').catch(() => '');
    const detail = tail.trim().split('\n').slice(-5).join(' | ');
    throw new Error(`${error instanceof Error ? error.message : String(error)}${detail ? ` — stderr: ${detail}` : ''}`, {
      cause: error,
    });
  }
}

/**
 * Chrome writes "PORT\n/devtools/browser/ID" to DevToolsActivePort once it listens. Polled:
 * every 2 ms for the first half second (a headless shell is up in ~80 ms, so the poll adds
 * ~1 ms, not ~5), every 10 ms after. fs.watch would be instant, but libuv keeps its inotify
 * fd for the life of the process once any watch was made.
 */
async function waitForEndpoint(
  portFile: string,
  exited: Promise<ExitInfo>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, value?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(poll);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(value as string);
    };
    const check = () => {
      readFile(portFile, 'utf8').then(
        (text) => {
          const [port, path] = text.split('\n');
          if (port && path) finish(null, `ws://127.0.0.1:${port.trim()}${path.trim()}`);
        },
        () => {},
      );
    };
    const onAbort = () => finish(new Error('launch aborted'));
    const fastUntil = performance.now() + 500;
    let poll: NodeJS.Timeout;
    const schedule = () => {
      poll = setTimeout(() => {
        check();
        if (!settled) schedule();
      }, performance.now() < fastUntil ? 2 : 10);
    };
    schedule();
    const timer = setTimeout(() => finish(new Error(`Chrome did not report a DevTools endpoint within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    void exited.then((info) => finish(new Error(`Chrome exited during launch (code ${info.code}, signal ${info.signal})`)));
    check();
  });
}

/**
 * SIGKILL to the whole process group, then wait until no live member is left. The members
 * are found with one pass over the process table; then only they are watched (a group that
 * has been sent SIGKILL forks no new member), and one last pass confirms the group is empty.
 */
export async function killProcessGroup(pgid: number, timeoutMs = 5_000): Promise<void> {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone
  }
  const deadline = Date.now() + timeoutMs;
  let members = await liveGroupMembers(pgid);
  while (members.length > 0) {
    if (Date.now() > deadline) throw new Error(`process group ${pgid} still alive ${timeoutMs} ms after SIGKILL`);
    await new Promise((r) => setTimeout(r, 5));
    members = members.filter((pid) => isLiveMember(pid, pgid));
    if (!members.length) members = await liveGroupMembers(pgid);
  }
}

function isLiveMember(pid: number, pgid: number): boolean {
  const stat = readStatSync(pid);
  return stat !== null && stat.pgid === pgid && stat.state !== 'Z';
}

/** Pids in the group that are not zombies (a zombie holds no memory and is reaped by its parent). */
export async function liveGroupMembers(pgid: number): Promise<number[]> {
  return (await freshProcessTable()).filter((p) => p.pgid === pgid && p.state !== 'Z').map((p) => p.pid);
}

/** A read of the process table not started yet: callers until it starts share it. */
let nextTable: Promise<ProcessEntry[]> | null = null;

/**
 * The process table as read after this call: callers in the same turn of the event loop share
 * one read. A runtime stopping hundreds of browsers at once checks each group twice; a read of
 * the table each (~7 ms with 700 processes) was half the CPU of a shutdown.
 */
function freshProcessTable(): Promise<ProcessEntry[]> {
  nextTable ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
    nextTable = null; // from here on, a caller needs a read that starts after it
    return readProcessTable();
  });
  return nextTable;
}

/** Remove a profile dir; Chrome may still be flushing into it for a moment after a kill. */
export async function removeProfile(profileDir: string): Promise<void> {
  await rm(profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}
