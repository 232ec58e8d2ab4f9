// The warm pool: what `instance.create` costs over the control channel when a launched, idle
// browser is ready (`tabvisor serve --warm 2`), against the same call without a pool (a cold
// launch), and against puppeteer-core's own launch of the same binary, in the same run. Each
// create is stopped before the next; with the pool, the next create waits until the pool has
// refilled (system.health's `warm.ready`), so every warm create finds one ready.
//
//   npm run bench -- warm            (20 creates each side)
//   npm run bench -- warm --quick    (5)
//   --creates=N
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type TabvisorClient } from '../../src/client/index.js';
import { listening, spawnServe } from '../../test/integration/processes.js';
import type { Bench, Scenario } from './run.js';
import { fmtMs, fmtRatio, pct, round } from './utils/figures.js';
import { log } from './utils/machine.js';

const TARGETS = { warmCreateP50Ms: 15 };

export default function warm(bench: Bench): Scenario {
  const CREATES = bench.count('creates', 20, 5);
  const { machine, raw, results } = bench;
  const figures: Record<string, number[]> = { warm: [], cold: [], raw: [] };

  /** A `tabvisor serve` of its own, with `args`, and a client of it. */
  async function serve(name: string, args: string[]): Promise<{ client: TabvisorClient; stop: () => Promise<void> }> {
    const stateDir = mkdtempSync(join(tmpdir(), `tabvisor-bench-warm-${name}-`));
    const server = spawnServe([...args, '--no-restore', '--state-dir', stateDir]);
    const stop = async () => {
      if (server.child.exitCode === null) {
        server.child.kill('SIGTERM');
        await server.child;
      }
      rmSync(stateDir, { recursive: true, force: true });
    };
    bench.defer(stop);
    const { url } = await listening(server, 60_000);
    const client = await connect(url, { client: `bench-warm-${name}` });
    bench.defer(() => client.close());
    return { client, stop };
  }

  /** Wait until the pool has `n` browsers ready. */
  async function ready(client: TabvisorClient, n: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { warm } = (await client.call('system.health')) as { warm?: { ready: number } };
      if ((warm?.ready ?? 0) >= n) return;
      if (Date.now() > deadline) throw new Error(`the warm pool did not refill to ${n} in 60 s`);
      await sleep(20);
    }
  }

  async function creates(client: TabvisorClient, into: number[], before: () => Promise<void>): Promise<void> {
    for (let i = 0; i < CREATES + 2; i++) {
      await before();
      await sleep(200); // the pool's or the last stop's work settles first
      const t0 = performance.now();
      const { instanceId, pid } = await client.call('instance.create', {});
      const ms = performance.now() - t0;
      machine.groups.add(pid as number);
      if (i >= 2) into.push(ms); // the first two warm the runtime up
      await client.call('instance.stop', { instanceId });
    }
  }

  async function measure(): Promise<void> {
    await machine.section('warm');
    log(`tabvisor serve --warm 2: ${CREATES} creates, each with a browser ready`);
    const pooled = await serve('pooled', ['--warm', '2']);
    await creates(pooled.client, figures.warm!, () => ready(pooled.client, 1));
    await pooled.client.close();
    await pooled.stop();

    log(`tabvisor serve (no pool): ${CREATES} creates`);
    const cold = await serve('cold', []);
    await creates(cold.client, figures.cold!, async () => {});
    await cold.client.close();
    await cold.stop();

    log(`puppeteer-core launch: ${CREATES} launches`);
    for (let i = 0; i < CREATES + 2; i++) {
      await sleep(200);
      const t0 = performance.now();
      const browser = await raw.launch();
      const ms = performance.now() - t0;
      if (i >= 2) figures.raw!.push(ms);
      await raw.close(browser);
    }
    results.createsMs = figures;
  }

  function report() {
    const p = (k: string, q: number) => pct(figures[k]!, q);
    const ok = p('warm', 50) <= TARGETS.warmCreateP50Ms;
    const row = (metric: string, k: string) => ({ metric, p50: fmtMs(p(k, 50)), p90: fmtMs(p(k, 90)), max: fmtMs(Math.max(...figures[k]!)), vsRaw: fmtRatio(p(k, 50) / p('raw', 50)) });
    return {
      rows: [
        { ...row('instance.create, a warm browser ready (--warm 2)', 'warm'), target: `p50 ≤ ${TARGETS.warmCreateP50Ms} ms`, verdict: ok ? 'PASS' : 'MISS' },
        { ...row('instance.create, no pool (a launch)', 'cold'), target: '', verdict: '' },
        { ...row('puppeteer-core launch (raw)', 'raw'), target: '', verdict: '' },
      ],
      notes: [`warm create p50 is ${round(p('cold', 50) / p('warm', 50), 1)}× faster than a cold one`],
      failed: !ok,
    };
  }

  return {
    title: `instance.create with and without a warm pool, ${CREATES} creates each, over the control channel`,
    legend: ['each create stopped before the next; with the pool, the next create waits until a browser is ready again'],
    counts: { creates: CREATES },
    targets: TARGETS,
    header: { metric: 'call', p50: 'p50', p90: 'p90', max: 'max', vsRaw: 'p50 ÷ raw launch p50', target: 'target', verdict: '' },
    measure,
    report,
  };
}
