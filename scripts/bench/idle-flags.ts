// What each Chrome flag saves on an idle instance: a lone tabvisor instance (the runtime in
// this process, the same launch as `instance.create`) with each candidate flag added to the
// default arguments, against the defaults, alternating, on the same binary. Measured idle (no
// page: tabvisor closes Chrome's start-up page) and with one tab on a small local page.
//
//   npm run bench -- idle-flags            (3 rounds)
//   npm run bench -- idle-flags --quick    (1 round)
//   --rounds=N
//
// USS (the pages no other process maps) is the figure to compare: PSS splits shared pages
// among every process that maps them, so another Chrome on the machine lowers it. Both are
// printed, with the processes of the tree.
import { setTimeout as sleep } from 'node:timers/promises';
import { liveGroupMembers } from '../../src/chrome/launch.js';
import { readProcessMemory } from '../../src/chrome/memory.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { Bench, Scenario } from './run.js';
import { median, round } from './utils/figures.js';
import { log } from './utils/machine.js';
import { servePages, smallPage } from './utils/pages.js';

const MB = 2 ** 20;

/** Candidates: each alone against the defaults; a line of why each might save memory. */
export const CANDIDATES: { name: string; args: string[]; why: string }[] = [
  { name: 'network service in process', args: ['--enable-features=NetworkServiceInProcess2'], why: 'the network service runs in the browser process instead of a utility process of its own (a default since 2026-12-02: the same as the defaults from then on)' },
  { name: 'in-process GPU', args: ['--in-process-gpu'], why: 'the GPU (software GL in headless) runs in the browser process' },
  { name: 'no GPU', args: ['--disable-gpu', '--disable-software-rasterizer'], why: 'no GPU process at all, if Chrome agrees' },
  { name: 'no zygote', args: ['--no-zygote'], why: 'renderers start from the browser process, not from two zygote processes (Chrome allows it only without the sandbox: tabvisor runs without it as root)' },
  {
    name: 'all three that save',
    args: ['--disable-gpu', '--disable-software-rasterizer', '--enable-features=NetworkServiceInProcess2', '--no-zygote'],
    why: 'no GPU process, the network service in the browser, no zygotes: together',
  },
  { name: 'no spare renderer', args: ['--disable-features=SpareRendererForSitePerProcess'], why: 'Chrome keeps a renderer warm for the next navigation' },
  { name: 'no back-forward cache', args: ['--disable-features=BackForwardCache'], why: 'pages navigated away from are not kept alive' },
  { name: 'low-end device mode', args: ['--enable-low-end-device-mode'], why: "Chrome's own memory-saving mode for small devices" },
  { name: 'one renderer', args: ['--renderer-process-limit=1'], why: 'all tabs share one renderer (breaks per-tab crash isolation)' },
  { name: 'V8 lite mode', args: ['--js-flags=--lite-mode'], why: 'V8 without its optimising compilers: smaller heaps, slower pages' },
  { name: 'one raster thread', args: ['--num-raster-threads=1'], why: 'fewer compositor raster threads' },
];

interface Reading {
  pssMb: number;
  ussMb: number;
  processes: number;
}

async function settled(pid: number): Promise<Reading> {
  await sleep(2_000);
  const readings: Reading[] = [];
  for (let i = 0; i < 3; i++) {
    if (i) await sleep(250);
    const pids = await liveGroupMembers(pid);
    const m = await readProcessMemory(pids);
    readings.push({ pssMb: m.pssBytes / MB, ussMb: m.ussBytes / MB, processes: pids.length });
  }
  readings.sort((a, b) => a.ussMb - b.ussMb);
  return readings[1] as Reading;
}

export default function idleFlags(bench: Bench): Scenario {
  const ROUNDS = bench.count('rounds', 3, 1);
  const { machine, binary, results } = bench;
  const configs = [{ name: 'defaults', args: [] as string[], why: '' }, ...CANDIDATES];
  const samples = new Map<string, { idle: Reading[]; tab: Reading[] }>(configs.map((c) => [c.name, { idle: [], tab: [] }]));
  machine.sampleForeignChrome();

  async function measure(): Promise<void> {
    await machine.waitForNoForeignChrome(Number(process.env.BENCH_QUIET_WAIT_MS ?? 60_000));
    const pages = await servePages((path) => (path === '/a' ? smallPage('a', 'idle-flags', (i) => `/a#${i}`) : null));
    bench.defer(() => pages.close());
    const runtime = new Runtime({ binary, maxInstances: 4 });
    bench.defer(() => runtime.close());
    await machine.section('idle-flags');
    for (let round = 0; round < ROUNDS; round++) {
      // Defaults measured between every candidate, so that drift falls on both sides alike.
      for (const config of configs.flatMap((c) => (c.name === 'defaults' ? [] : [configs[0]!, c]))) {
        const view = await runtime.createInstance({ args: config.args } as never, null);
        const pid = view.pid as number;
        machine.groups.add(pid);
        const idle = await settled(pid);
        const tab = await runtime.openTab(view.instanceId, `${pages.origin}/a`, false);
        const withTab = await settled(pid);
        await runtime.closeTab(tab.tabId);
        await runtime.stopInstance(view.instanceId);
        samples.get(config.name)!.idle.push(idle);
        samples.get(config.name)!.tab.push(withTab);
        log(`round ${round + 1}: ${config.name}: idle USS ${idle.ussMb.toFixed(1)} MB (${idle.processes} processes), with a tab ${withTab.ussMb.toFixed(1)} MB`);
      }
    }
  }

  function report() {
    const med = (rs: Reading[], k: keyof Reading) => median(rs.map((r) => r[k]), 'interpolated');
    const base = samples.get('defaults')!;
    const rows = configs.map((c) => {
      const s = samples.get(c.name)!;
      const saved = (which: 'idle' | 'tab') => (c.name === 'defaults' ? '' : `${round(med(base[which], 'ussMb') - med(s[which], 'ussMb'))} MB`);
      return {
        config: c.name,
        args: c.args.join(' '),
        idle: `${round(med(s.idle, 'ussMb'))} / ${round(med(s.idle, 'pssMb'))} MB, ${med(s.idle, 'processes')} proc`,
        savedIdle: saved('idle'),
        tab: `${round(med(s.tab, 'ussMb'))} / ${round(med(s.tab, 'pssMb'))} MB, ${med(s.tab, 'processes')} proc`,
        savedTab: saved('tab'),
      };
    });
    results.configs = configs.map((c) => ({ ...c, ...samples.get(c.name) }));
    return { rows, notes: CANDIDATES.map((c) => `${c.name}: ${c.why}`) };
  }

  return {
    title: `a lone idle instance with each candidate flag, ${ROUNDS} rounds`,
    legend: ['USS / PSS of the whole process group (USS is the figure to compare); saved = USS of the defaults less USS with the flag, medians'],
    counts: { rounds: ROUNDS },
    targets: { idlePssMb: 120 },
    header: { config: 'config', args: 'args', idle: 'idle, no page: USS / PSS', savedIdle: 'saved', tab: 'one tab (small page)', savedTab: 'saved' },
    measure,
    report,
  };
}
