// The keeper: Chrome must outlive a crashed runtime long enough to be adopted by the next
// one, and must not live on for ever if no runtime comes back. One tiny sh process per
// browser (~1 MB, no polling) holds a pipe from the runtime on its stdin. "release" on the
// pipe ends it quietly; EOF without it means the runtime died: it waits out the grace
// period, then kills the browser's process group (and removes the profile if it was
// temporary). A runtime that adopts the browser kills the old keeper first (found by its
// environment marker, see runtime/restore.ts) and starts its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { waitAtMost } from '../wait.js';
import type { ProcessIdentity } from './process-identity.js';

/** Environment marker of keeper processes (its value: the instance id). */
export const KEEPER_ENV = 'TABVISOR_KEEPER';

// $1 browser pid (= its process group), $2 its start time, $3 grace in seconds, $4 the profile
// to remove or ''. The group is killed only if its leader is still the recorded browser, or
// if the pid is free (then any member left is an orphan of that browser: a pid is not reused
// while a group still carries it).
const SCRIPT = `
while IFS= read -r line; do
  [ "$line" = release ] && exit 0
done
[ "$3" = 0 ] || sleep "$3"
ours=yes
if [ -r "/proc/$1/stat" ]; then
  read -r stat < "/proc/$1/stat" || stat=''
  rest=\${stat##*) }
  expected=$2
  set -- $rest
  [ "\${20}" = "$expected" ] || ours=no
fi
if [ "$ours" = yes ]; then
  kill -KILL -"$pgid" 2>/dev/null
fi
[ -n "$profile" ] && sleep 0.2 && rm -rf -- "$profile"
exit 0
`;

export interface KeeperOptions {
  instanceId: string;
  browser: ProcessIdentity;
  graceMs: number;
  /** Removed after the kill: a temporary profile that nobody will come back for. */
  removeProfile: string | null;
  /** Extra environment markers (the state dir), so a later runtime finds this keeper. */
  env?: Record<string, string>;
}

export class Keeper {
  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
  ) {}

  static async start(options: KeeperOptions): Promise<Keeper> {
    const grace = (Math.max(0, options.graceMs) / 1000).toFixed(3).replace(/\.?0+$/, '') || '0';
    const child = spawn(
      '/bin/sh',
      ['-c', `pgid=$1; profile=$4; ${SCRIPT}`, 'tabvisor-keeper', String(options.browser.pid), options.browser.startTime, grace, options.removeProfile ?? ''],
      {
        // Its own group: a Ctrl-C meant for the runtime does not reach it, and a later runtime
        // can end it (and its sleep) with one kill.
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
        env: { ...process.env, ...options.env, [KEEPER_ENV]: options.instanceId },
      },
    );
    if (child.pid === undefined) {
      const [error] = (await once(child, 'error')) as [Error];
      throw new Error(`could not start the keeper: ${error.message}`);
    }
    // Neither the keeper nor its pipe holds the runtime's event loop open.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    child.stdin?.on('error', () => {}); // EPIPE if it already ended
    return new Keeper(child, child.pid);
  }

  /** The browser is being stopped by the runtime itself: the keeper ends without acting. */
  async release(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.stdin?.end('release\n');
    await waitAtMost(exited, 2_000);
    if (this.child.exitCode === null && this.child.signalCode === null) this.killSync();
  }

  /** Forced exit: end the keeper at once (the browser is being killed too). */
  killSync(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
