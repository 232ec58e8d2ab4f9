// The real `tabvisor serve` process: it serves the channel, and a signal stops every Chrome
// it started (gracefully on the first signal, at once on the second) and exits.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type TabvisorClient } from '../../src/client/index.js';
import { liveGroupMembers, PageServer } from './harness.js';
import { startServe, type ServeProcess } from './processes.js';

let child: ResultPromise | undefined;
let client: TabvisorClient | undefined;
let stateDir: string | undefined;
afterEach(async () => {
  await client?.close();
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await child?.catch(() => {});
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  child = undefined;
  client = undefined;
  stateDir = undefined;
});

/** Start `tabvisor serve --port 0` on a state dir of its own. */
async function serve(): Promise<{ url: string; lines: Record<string, unknown>[]; waitForLine: ServeProcess['waitForLine'] }> {
  stateDir = mkdtempSync(join(tmpdir(), 'tabvisor-serve-test-'));
  const served = await startServe(['--state-dir', stateDir]);
  child = served.child;
  return served;
}

async function fleetOf(url: string, pages: PageServer) {
  client = await connect(url, { client: 'serve-test' });
  const pids: number[] = [];
  const profiles: string[] = [];
  for (let i = 0; i < 2; i++) {
    const { instanceId, pid } = await client.call('instance.create', {});
    await client.call('tab.open', { instanceId, url: pages.url(`/page/p${i}`) });
    pids.push(pid as number);
    const environ = (await import('node:fs')).readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    profiles.push(/--user-data-dir=([^\0]+)/.exec(environ)?.[1] as string);
  }
  expect(profiles.every((p) => existsSync(p))).toBe(true);
  return { pids, profiles };
}

describe('tabvisor serve', () => {
  it('refuses to listen beyond loopback without a token: exit 1 and the reason, before any Chrome', async () => {
    const result = await execa('node', ['--import', 'tsx', 'src/cli.ts', 'serve', '--host', '0.0.0.0', '--port', '0'], { reject: false, stdin: 'ignore', env: { TABVISOR_TOKEN: '' } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without a token/);
    expect(result.stderr).not.toMatch(/using Chrome/);
  });

  it('SIGTERM stops every instance, leaves no Chrome and no profile, and exits 0', async () => {
    const pages = await PageServer.start();
    try {
      const { url } = await serve();
      const { pids, profiles } = await fleetOf(url, pages);
      const started = Date.now();
      child!.kill('SIGTERM');
      const result = await child!;
      expect(result.exitCode).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      for (const pid of pids) expect(await liveGroupMembers(pid)).toEqual([]);
      for (const profile of profiles) expect(existsSync(profile)).toBe(false);
    } finally {
      await pages.close();
    }
  });

  it('a second signal forces the exit and still kills every Chrome', async () => {
    const pages = await PageServer.start();
    try {
      const { url, lines, waitForLine } = await serve();
      const { pids, profiles } = await fleetOf(url, pages);
      // A frozen browser holds the graceful stop in its close grace period, so the second
      // signal surely arrives while the first is still being handled.
      process.kill(pids[0] as number, 'SIGSTOP');
      child!.kill('SIGINT');
      await waitForLine('stopping every instance');
      // While it stops, health says so (a load balancer stops sending) and new clients are refused.
      const health = await fetch(url.replace(/^ws/, 'http').replace(/\/rpc$/, '/health'));
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: 'stopping' });
      child!.kill('SIGINT');
      const result = await child!;
      expect(result.exitCode).toBe(1);
      expect(lines.some((l) => String(l.msg).startsWith('second signal'))).toBe(true);
      for (const pid of pids) {
        for (let i = 0; i < 50 && (await liveGroupMembers(pid)).length; i++) await new Promise((r) => setTimeout(r, 50));
        expect(await liveGroupMembers(pid)).toEqual([]);
      }
      for (const profile of profiles) expect(existsSync(profile)).toBe(false);
    } finally {
      await pages.close();
    }
  });
});
