// The snapshot writer killed with SIGKILL at 50 random moments while it writes a large fleet
// back to back: after every kill the file on disk is a whole snapshot (the old one or the
// new one), never a torn or empty one. Runs the compiled store (`npm test` builds first) in a
// child process so that the kill is real.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { SnapshotStore } from '../../src/runtime/persistence.js';

const STORE = join(process.cwd(), 'dist/src/runtime/persistence.js');

// Writes a ~1 MB fleet whose content changes on every write, as fast as it can, and says
// "writing" once the first write is done.
const WRITER = `
const { SnapshotStore } = await import(${JSON.stringify(STORE)});
const silent = { error() {}, warn() {}, info() {}, debug() {} };
const store = new SnapshotStore(process.argv[1], silent);
let n = 0;
const options = { name: '', shared: false, args: [], limits: { softMemoryMb: 100, hardMemoryMb: 200, maxTabs: 3 },
  restart: { maxRestarts: 5, windowMs: 1, backoffMinMs: 1, backoffMaxMs: 1, jitter: 0, stableMs: 1 },
  probe: { intervalMs: 1, deadlineMs: 1, degradeAfter: 1, recoverAfter: 2 },
  tabProbe: { intervalMs: 1, deadlineMs: 1, degradeAfter: 1, recoverAfter: 2 }, memoryIntervalMs: 1, tabRestoreTimeoutMs: 1 };
store.start(() => ({ clean: false, writer: { pid: process.pid, version: String(n) }, instances: Array.from({ length: 400 }, (_, i) => ({
  instanceId: 'i-' + i, name: 'write ' + n, owner: null, shared: false, createdAt: n, state: 'healthy', reason: 'x'.repeat(200),
  restarts: n, options, chrome: null,
  tabs: Array.from({ length: 4 }, (_, j) => ({ tabId: 't-' + i + '-' + j, url: 'https://x.test/' + n + '/' + j, title: 'y'.repeat(100), state: 'healthy', evictable: false })) })) }));
await store.flush();
process.stdout.write('writing\\n');
for (;;) { n++; await store.flush(); }
`;

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('kill -9 at 50 random moments of back-to-back writes always leaves a whole snapshot', async () => {
  expect(existsSync(STORE), 'dist/ is built by npm test').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'tabvisor-snapshot-kill-'));
  const versions = new Set<string>();
  for (let round = 0; round < 50; round++) {
    const child = execa('node', ['--input-type=module', '-e', WRITER, dir], { reject: false, stdin: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('writing') && resolve());
      void child.then((r) => reject(new Error(`writer exited: ${r.stderr}`)));
    });
    await new Promise((r) => setTimeout(r, Math.random() * 150));
    child.kill('SIGKILL');
    await child;
    const result = await new SnapshotStore(dir, silentLogger()).load();
    expect(result.kind, `round ${round}: ${JSON.stringify(result).slice(0, 300)}`).toBe('ok');
    if (result.kind === 'ok') {
      expect(result.snapshot.instances).toHaveLength(400);
      versions.add(result.snapshot.writer.version);
    }
    expect(readFileSync(join(dir, 'snapshot.json')).length).toBeGreaterThan(500_000);
  }
  // The kills landed at different points of the stream of writes, not always on the first.
  expect(versions.size).toBeGreaterThanOrEqual(5);
}, 120_000);
