// Agents (seed 000 §3.2): 10 agents, each its own client owning 3 instances with a tab each, for
// 5 minutes against `tabvisor serve` (the compiled CLI, its own process), each looping over
// navigate / snapshot / fill / click / screenshot on local pages. Reports p50/p99 per method,
// errors, isolation violations, and the runtime's fds and RSS from start to end.
//
//   npm run load:agents                  (10 agents × 3 instances, 5 minutes)
//   npm run load:agents -- --quick       (30 s)
//   --agents=N --instances=N --seconds=N
//
// Isolation (PROTOCOL.md): a connection owns the instances it creates; another client touching
// them gets -32002. Each agent, every round, tries to act on another agent's tab and instance,
// and every refusal must be -32002: anything else is a violation. Listing shows a client its
// own and shared instances and tabs, `{ all: true }` every one: when the server accepts
// `{ all: true }` the agent's plain listings must show none of the others' instances or tabs;
// a server that does not accept it (listing isolation not built yet) has that check reported
// as not run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, RpcError, type TabvisorClient } from '../../src/client/index.js';
import { theilSen } from '../../soak/stats/trend.js';
import { listening, spawnServe } from '../../test/integration/processes.js';
import type { Bench, Scenario } from './run.js';
import { fmtMs, pct, round } from './utils/figures.js';
import { log } from './utils/machine.js';
import { servePages } from './utils/pages.js';
import { usageOf, type Usage } from './utils/usage.js';

const MB = 2 ** 20;
const METHODS = ['tab.navigate', 'tab.snapshot', 'tab.action fill', 'tab.action click', 'tab.screenshot'] as const;
const TARGETS = { errors: 0, isolationViolations: 0, fdGrowth: 2, rssGrowthRatio: 1.1 };

/** A form page per agent and step: an input, a button that writes what was typed, a link. */
function formPage(path: string): string | null {
  const m = /^\/agent\/(\d+)\/(\d+)$/.exec(path);
  if (!m) return null;
  const [, agent, step] = m;
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>agent ${agent} step ${step}</title></head><body>` +
    `<h1>Agent ${agent}, step ${step}</h1><label>Query <input id="q" name="q"></label>` +
    `<button id="go" onclick="document.getElementById('out').textContent = 'searched ' + document.getElementById('q').value">Search</button>` +
    `<p id="out"></p><a href="/agent/${agent}/${Number(step) + 1}">next</a>` +
    Array.from({ length: 30 }, (_, i) => `<p>Paragraph ${i} of a small page.</p>`).join('') +
    `</body></html>`
  );
}

interface Agent {
  index: number;
  client: TabvisorClient;
  instances: { instanceId: string; tabId: string }[];
}

export default function agents(bench: Bench): Scenario {
  const AGENTS = bench.count('agents', 10, 10);
  const INSTANCES = bench.count('instances', 3, 3);
  const SECONDS = bench.count('seconds', 300, 30);
  const { machine, results } = bench;
  const latency = new Map<string, number[]>(METHODS.map((m) => [m, []]));
  const errors: { agent: number; method: string; code?: number; message: string }[] = [];
  const violations: string[] = [];
  let touchChecks = 0;
  let listChecks = 0;
  let listingIsolation: 'checked' | 'not built' | 'unknown' = 'unknown';
  const usage: Usage[] = [];
  const rows: { metric: string; value: string; target: string; verdict: '' | 'PASS' | 'FAIL' }[] = [];
  let failed = false;

  async function timed<T>(agent: Agent, method: string, call: () => Promise<T>): Promise<T | null> {
    const t0 = performance.now();
    try {
      const value = await call();
      latency.get(method)?.push(performance.now() - t0);
      return value;
    } catch (error) {
      errors.push({ agent: agent.index, method, code: error instanceof RpcError ? error.code : undefined, message: error instanceof Error ? error.message : String(error) });
      return null;
    }
  }

  /** Another agent's tab and instance: acting on them must be refused with -32002. */
  async function tryTouching(agent: Agent, other: Agent, pageUrl: string): Promise<void> {
    const target = other.instances[touchChecks % other.instances.length]!;
    const attempts: [string, () => Promise<unknown>][] = [
      ['tab.navigate', () => agent.client.call('tab.navigate', { tabId: target.tabId, url: pageUrl })],
      ['tab.snapshot', () => agent.client.call('tab.snapshot', { tabId: target.tabId })],
      ['tab.close', () => agent.client.call('tab.close', { tabId: target.tabId })],
      ['instance.stop', () => agent.client.call('instance.stop', { instanceId: target.instanceId })],
    ];
    const [what, attempt] = attempts[touchChecks++ % attempts.length]!;
    const outcome = await attempt().then(
      () => null,
      (e: unknown) => e,
    );
    if (!(outcome instanceof RpcError) || outcome.code !== -32002) {
      violations.push(`agent ${agent.index} ${what} on agent ${other.index}'s ${what.startsWith('tab') ? target.tabId : target.instanceId}: ${outcome === null ? 'succeeded' : outcome instanceof RpcError ? `${outcome.code} ${outcome.message}` : String(outcome)}`);
    }
  }

  /** The agent's plain listings show only its own (and shared) instances and tabs. */
  async function checkListing(agent: Agent, all: Agent[]): Promise<void> {
    if (listingIsolation !== 'checked') return;
    listChecks++;
    const others = new Set(all.filter((a) => a !== agent).flatMap((a) => a.instances.map((i) => i.instanceId)));
    const instances = (await agent.client.call('instance.list')).instances;
    const tabs = (await agent.client.call('tab.list', {})).tabs;
    for (const i of instances) if (others.has(i.instanceId)) violations.push(`agent ${agent.index} lists agent-owned instance ${i.instanceId}`);
    for (const t of tabs) if (others.has(t.instanceId)) violations.push(`agent ${agent.index} lists tab ${t.tabId} of another agent's instance`);
  }

  async function loop(agent: Agent, all: Agent[], origin: string, until: number): Promise<void> {
    for (let round = 0; Date.now() < until; round++) {
      const { tabId } = agent.instances[round % agent.instances.length]!;
      await timed(agent, 'tab.navigate', () => agent.client.call('tab.navigate', { tabId, url: `${origin}/agent/${agent.index}/${round}` }));
      const snapshot = await timed(agent, 'tab.snapshot', () => agent.client.call('tab.snapshot', { tabId }));
      const input = snapshot?.nodes.find((n) => n.role === 'textbox');
      const button = snapshot?.nodes.find((n) => n.role === 'button');
      if (input) await timed(agent, 'tab.action fill', () => agent.client.call('tab.action', { tabId, action: 'fill', ref: input.ref, text: `agent ${agent.index} round ${round}` }));
      if (button) await timed(agent, 'tab.action click', () => agent.client.call('tab.action', { tabId, action: 'click', ref: button.ref }));
      await timed(agent, 'tab.screenshot', () => agent.client.call('tab.screenshot', { tabId, format: 'jpeg', quality: 50 }));
      if (snapshot && (!input || !button)) errors.push({ agent: agent.index, method: 'tab.snapshot', message: `no textbox or button in the snapshot of ${snapshot.url}` });
      const other = all[(agent.index + 1 + (round % (all.length - 1))) % all.length]!;
      await tryTouching(agent, other, `${origin}/agent/${agent.index}/x`);
      if (round % 5 === 0) await checkListing(agent, all);
    }
  }

  async function measure(): Promise<void> {
    const pages = await servePages(formPage);
    bench.defer(() => pages.close());
    const stateDir = mkdtempSync(join(tmpdir(), 'tabvisor-bench-agents-'));
    bench.defer(() => rmSync(stateDir, { recursive: true, force: true }));
    const server = spawnServe(['--no-restore', '--state-dir', stateDir]);
    bench.defer(async () => {
      if (server.child.exitCode !== null) return;
      server.child.kill('SIGTERM');
      await server.child;
    });
    const { url } = await listening(server, 60_000);
    const pid = server.child.pid as number;

    log(`${AGENTS} agents × ${INSTANCES} instances, one tab each`);
    const all: Agent[] = [];
    for (let a = 0; a < AGENTS; a++) {
      const client = await connect(url, { client: `agent-${a}` });
      bench.defer(() => client.close());
      const agent: Agent = { index: a, client, instances: [] };
      for (let i = 0; i < INSTANCES; i++) {
        const { instanceId, pid: browser } = await client.call('instance.create', { name: `agent-${a}-${i}` });
        machine.groups.add(browser as number);
        const { tabId } = await client.call('tab.open', { instanceId, url: `${pages.origin}/agent/${a}/0` });
        agent.instances.push({ instanceId, tabId });
      }
      all.push(agent);
    }
    // Listing isolation is checked where the server has it (it then takes `{ all: true }`).
    listingIsolation = await all[0]!.client.call('instance.list', { all: true } as never).then(
      () => 'checked' as const,
      (e: unknown) => (e instanceof RpcError && e.code === -32602 ? ('not built' as const) : ('unknown' as const)),
    );
    log(`listing isolation: ${listingIsolation}`);

    await machine.section('agents');
    const sampler = setInterval(() => {
      const u = usageOf(pid);
      if (u) usage.push(u);
    }, 5_000);
    bench.defer(() => clearInterval(sampler));
    usage.push(usageOf(pid)!);
    const until = Date.now() + SECONDS * 1000;
    await Promise.all(all.map((agent) => loop(agent, all, pages.origin, until)));
    clearInterval(sampler);
    usage.push(usageOf(pid)!);
    for (const agent of all) await agent.client.close();
  }

  function report() {
    const none = { target: '', verdict: '' } as const;
    for (const method of METHODS) {
      const values = latency.get(method)!;
      rows.push({ ...none, metric: `${method}: n / p50 / p99`, value: `${values.length} / ${fmtMs(pct(values, 50))} / ${fmtMs(pct(values, 99))}` });
    }
    const calls = [...latency.values()].reduce((n, v) => n + v.length, 0);
    rows.push({ metric: `errors (of ${calls + errors.length} calls)`, value: String(errors.length), target: '0', verdict: errors.length === 0 ? 'PASS' : 'FAIL' });
    rows.push({
      metric: `isolation violations (${touchChecks} touches of another agent's tab or instance${listingIsolation === 'checked' ? `, ${listChecks} listings` : ''})`,
      value: String(violations.length),
      target: '0',
      verdict: violations.length === 0 && touchChecks > 0 ? 'PASS' : 'FAIL',
    });
    rows.push({ ...none, metric: 'listing isolation', value: listingIsolation === 'checked' ? 'checked' : `not checked: the server does not take instance.list { all: true } (${listingIsolation})` });
    // The first minute's samples are the warm-up (caches, the pool's workers): from then on.
    const steady = usage.filter((u) => u.at - (usage[0]?.at ?? 0) >= Math.min(60_000, (SECONDS * 1000) / 5));
    if (steady.length >= 2) {
      const first = steady[0]!;
      const last = steady[steady.length - 1]!;
      const minutes = steady.map((u) => (u.at - first.at) / 60_000);
      const fdSlope = theilSen(steady.map((u) => u.fds), minutes);
      const rssSlope = theilSen(steady.map((u) => u.rssBytes / MB), minutes);
      const fdOk = last.fds - first.fds <= TARGETS.fdGrowth;
      const rssOk = last.rssBytes <= first.rssBytes * TARGETS.rssGrowthRatio;
      rows.push({ metric: 'runtime fds, after warm-up → end (Theil–Sen slope)', value: `${first.fds} → ${last.fds} (${round(fdSlope, 2)}/min)`, target: `+${TARGETS.fdGrowth} at most`, verdict: fdOk ? 'PASS' : 'FAIL' });
      rows.push({ metric: 'runtime RSS, after warm-up → end (Theil–Sen slope)', value: `${round(first.rssBytes / MB)} → ${round(last.rssBytes / MB)} MB (${round(rssSlope, 2)} MB/min)`, target: `≤ ${TARGETS.rssGrowthRatio}×`, verdict: rssOk ? 'PASS' : 'FAIL' });
      failed ||= !fdOk || !rssOk;
    }
    failed ||= errors.length > 0 || violations.length > 0 || touchChecks === 0;
    Object.assign(results, {
      latencyMs: Object.fromEntries(METHODS.map((m) => [m, { n: latency.get(m)!.length, p50: round(pct(latency.get(m)!, 50), 2), p99: round(pct(latency.get(m)!, 99), 2) }])),
      errors: errors.slice(0, 50),
      errorCount: errors.length,
      violations,
      touchChecks,
      listChecks,
      listingIsolation,
      usage: usage.map((u) => ({ atS: round((u.at - (usage[0]?.at ?? 0)) / 1000), fds: u.fds, rssMb: round(u.rssBytes / MB), cpuTicks: u.cpuTicks })),
    });
    const notes = errors.slice(0, 5).map((e) => `error: agent ${e.agent} ${e.method}: ${e.code ?? ''} ${e.message}`);
    notes.push(...violations.slice(0, 5).map((v) => `violation: ${v}`));
    return { rows, notes, failed };
  }

  return {
    title: `${AGENTS} agents × ${INSTANCES} instances (one tab each), ${SECONDS} s of navigate / snapshot / fill / click / screenshot`,
    counts: { agents: AGENTS, instances: INSTANCES, seconds: SECONDS },
    targets: TARGETS,
    header: { metric: 'metric', value: 'tabvisor', target: 'target', verdict: '' },
    measure,
    report,
  };
}
