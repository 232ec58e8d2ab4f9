// src/chrome against the real system: discovery order and its error, the Debian wrapper
// unwrapped, launch failures reported with Chrome's own words, /proc memory of real trees.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChromeNotFoundError, findChrome } from '../../src/chrome/find.js';
import { chromeArgs, killProcessGroup, launchChrome, liveGroupMembers, needsNoSandbox } from '../../src/chrome/launch.js';
import { FleetSampler, readProcessMemory } from '../../src/chrome/memory.js';
import { readProcessTable } from '../../src/chrome/proc.js';
import { checkChromeArg, checkUrl, defaultUrlPolicy } from '../../src/server/url-policy.js';
import { TabvisorError } from '../../src/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'tabvisor-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The pid and its live descendants, by walking parent pids in one read of the process table. */
async function processTree(pid: number): Promise<number[]> {
  const table = (await readProcessTable()).filter((p) => p.state !== 'Z');
  const tree = table.some((p) => p.pid === pid) ? [pid] : [];
  for (let i = 0; i < tree.length; i++) for (const p of table) if (p.ppid === tree[i]) tree.push(p.pid);
  return tree;
}

function executable(dir: string, name: string, body = '#!/bin/sh\nexit 0\n'): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, body);
  chmodSync(path, 0o755);
  return path;
}

const noEmbedded = async (): Promise<string> => {
  throw new Error('not installed');
};

describe('findChrome', () => {
  it('takes CHROME_PATH first, then the headless shell, then a full browser', async () => {
    const bin = join(scratch, 'bin1');
    const shell = executable(bin, 'chromium-headless-shell', '\x7fELF');
    const full = executable(bin, 'chromium', '\x7fELF');
    const custom = executable(join(scratch, 'custom'), 'my-chrome', '\x7fELF');
    expect(await findChrome({ PATH: bin, CHROME_PATH: custom }, noEmbedded)).toMatchObject({ path: custom, source: 'CHROME_PATH' });
    expect(await findChrome({ PATH: bin }, noEmbedded)).toMatchObject({ path: shell, source: 'chromium-headless-shell', headlessShell: true });
    rmSync(shell);
    expect(await findChrome({ PATH: bin }, noEmbedded)).toMatchObject({ path: full, source: 'chromium', headlessShell: false });
  });

  it('falls back to the embedded Chromium, and otherwise lists every place it tried', async () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty, { recursive: true });
    const embedded = executable(join(scratch, 'embedded'), 'chromium', '\x7fELF');
    expect(await findChrome({ PATH: empty }, async () => embedded)).toMatchObject({ path: embedded, source: '@sparticuz/chromium' });
    const error = await findChrome({ PATH: empty, CHROME_PATH: join(scratch, 'missing') }, noEmbedded).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChromeNotFoundError);
    const message = (error as Error).message;
    for (const place of ['CHROME_PATH=', 'chromium-headless-shell on PATH', 'chromium on PATH', 'google-chrome on PATH', '@sparticuz/chromium (not installed)']) {
      expect(message).toContain(place);
    }
    expect(message).toMatch(/Fix: set CHROME_PATH/);
  });

  it('unwraps a Debian-style shell wrapper to the binary it runs', async () => {
    const real = executable(join(scratch, 'lib'), 'chromium-headless-shell', '\x7fELF');
    const bin = join(scratch, 'bin2');
    executable(bin, 'chromium-headless-shell', `#!/bin/sh -e\n\n${real} "$@"\n`);
    expect((await findChrome({ PATH: bin }, noEmbedded)).path).toBe(real);
  });
});

describe('launchChrome', () => {
  it('reports a browser that dies at start with what it printed, and leaves no process', async () => {
    const fake = executable(join(scratch, 'fake'), 'chrome', '#!/bin/sh\necho "cannot open display: boom" >&2\nexit 3\n');
    const profileDir = join(scratch, 'profile-fail');
    const error = await launchChrome({ binary: { path: fake, source: 'CHROME_PATH', headlessShell: true }, instanceId: 'i-fail', profileDir }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/exited during launch \(code 3/);
    expect((error as Error).message).toMatch(/boom/);
  });

  it('gives a real Chrome its own process group, and one kill takes the whole tree', async () => {
    const binary = await findChrome();
    const profileDir = mkdtempSync(join(tmpdir(), 'tabvisor-i-launchtest-'));
    const chrome = await launchChrome({ binary, instanceId: 'i-launchtest', profileDir });
    try {
      expect(chrome.wsEndpoint).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/devtools\/browser\//);
      // Chrome is still forking helpers just after launch: compare the tree and the group
      // once they agree across one reading (a child outside the group never would).
      const settle = Date.now() + 5_000;
      let tree: number[] = [];
      let group: number[] = [];
      do {
        tree = (await processTree(chrome.pid)).sort();
        group = (await liveGroupMembers(chrome.pid)).sort();
        const again = (await processTree(chrome.pid)).sort();
        if (JSON.stringify(tree) === JSON.stringify(again) && JSON.stringify(tree) === JSON.stringify(group)) break;
        await new Promise((r) => setTimeout(r, 50));
      } while (Date.now() < settle);
      expect(tree.length).toBeGreaterThan(1);
      expect(group).toEqual(tree);
      const memory = await readProcessMemory(tree);
      expect(memory.pssBytes).toBeGreaterThan(10 * 2 ** 20);
      expect(memory.ussBytes).toBeGreaterThan(0);
      expect(memory.ussBytes).toBeLessThanOrEqual(memory.pssBytes);
      // The fleet sampler finds the same processes from its pass over the process table.
      // Chrome may fork another helper meanwhile: compare with the group read right after the
      // pass, until the two agree (a process the pass missed or invented never would).
      const sampler = new FleetSampler({ maxAgeMs: 0, detailedEveryMs: 0, detailedReadsPerPass: 100 });
      let sampled = await sampler.sample(chrome.pid);
      let now = (await liveGroupMembers(chrome.pid)).sort();
      for (let i = 0; i < 50 && JSON.stringify(sampled.pids.sort()) !== JSON.stringify(now); i++) {
        await new Promise((r) => setTimeout(r, 100));
        sampled = await sampler.sample(chrome.pid);
        now = (await liveGroupMembers(chrome.pid)).sort();
      }
      expect(sampled.pids.sort()).toEqual(now);
      expect(sampled.privateBytes).toBeGreaterThan(0);
      expect(sampled.detailed?.pssBytes).toBeGreaterThan(10 * 2 ** 20);
    } finally {
      await killProcessGroup(chrome.pid);
      await chrome.exited;
      rmSync(profileDir, { recursive: true, force: true });
    }
    expect(await liveGroupMembers(chrome.pid)).toEqual([]);
    expect(await processTree(chrome.pid)).toEqual([]);
  });

  it('disables the sandbox exactly when running as root', () => {
    const args = chromeArgs({ path: '/x', source: 'CHROME_PATH', headlessShell: true }, '/p');
    expect(args.includes('--no-sandbox')).toBe(process.getuid?.() === 0);
    expect(needsNoSandbox).toBe(process.getuid?.() === 0);
    expect(args).toContain('--user-data-dir=/p');
  });
});

describe('policies', () => {
  it('allows http, https, data and about:blank; refuses the rest with -32002', () => {
    for (const ok of ['http://a.test/', 'https://a.test/x?y', 'data:text/html,hi', 'about:blank']) expect(() => checkUrl(ok, defaultUrlPolicy)).not.toThrow();
    for (const bad of ['file:///etc/passwd', 'chrome://settings', 'javascript:alert(1)', 'view-source:http://a.test', 'about:config']) {
      const error = (() => {
        try {
          checkUrl(bad, defaultUrlPolicy);
        } catch (e) {
          return e as TabvisorError;
        }
      })();
      expect(error?.code).toBe(-32002);
    }
  });

  it('refuses Chrome flags that would take the browser out of tabvisor hands', () => {
    expect(() => checkChromeArg('--window-size=800,600')).not.toThrow();
    for (const bad of ['--remote-debugging-port=9222', '--user-data-dir=/tmp/x', '--disable-web-security', '--single-process', 'not-a-flag']) {
      expect(() => checkChromeArg(bad)).toThrow(TabvisorError);
    }
  });
});
