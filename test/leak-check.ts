// Suite-wide leak check: after every test file has run, no Chrome process or keeper started
// by tabvisor may be alive and no temporary profile dir may be left. Chrome processes carry
// TABVISOR_INSTANCE in their environment (children inherit it) and keepers TABVISOR_KEEPER,
// so even orphans are found.
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { KEEPER_ENV } from '../src/chrome/keeper.js';
import { INSTANCE_ENV } from '../src/chrome/launch.js';
import { processesMarked } from '../src/chrome/process-identity.js';
import { readCmdline } from '../src/chrome/proc.js';

async function tabvisorProcesses(): Promise<string[]> {
  const found: string[] = [];
  for (const [marker, kind] of [[INSTANCE_ENV, 'Chrome'], [KEEPER_ENV, 'keeper']] as const) {
    for (const p of await processesMarked(marker)) {
      const cmdline = (await readCmdline(p.pid)) ?? '';
      found.push(`${kind} pid ${p.pid} (${p.env[marker]}): ${cmdline.slice(0, 120)}`);
    }
  }
  return found;
}

async function profileDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => /^tabvisor-i-/.test(name));
}

export async function setup(): Promise<() => Promise<void>> {
  const before = new Set(await tabvisorProcesses());
  const dirsBefore = new Set(await profileDirs());
  if (before.size) console.warn(`leak-check: ${before.size} tabvisor Chrome processes were already running before the suite`);
  return async () => {
    // Killed trees take a moment to be reaped.
    let leaked: string[] = [];
    for (let i = 0; i < 50; i++) {
      leaked = (await tabvisorProcesses()).filter((p) => !before.has(p));
      if (!leaked.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const dirs = (await profileDirs()).filter((d) => !dirsBefore.has(d));
    const problems = [
      ...leaked.map((p) => `leaked process: ${p}`),
      ...dirs.map((d) => `leaked profile dir: ${tmpdir()}/${d}`),
    ];
    if (problems.length) {
      // vitest reports an error thrown here but still exits 0: fail the run explicitly.
      process.exitCode = 1;
      console.error(`\nleak-check FAILED — the suite leaked:\n${problems.join('\n')}`);
      throw new Error(`The suite leaked:\n${problems.join('\n')}`);
    }
  };
}
