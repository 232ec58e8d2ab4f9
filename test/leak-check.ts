// Suite-wide leak check: after every test file has run, no Chrome process or keeper started
// by tabvisor may be alive and no temporary profile dir may be left. Chrome processes carry
// TABVISOR_INSTANCE in their environment (children inherit it) and keepers TABVISOR_KEEPER,
// so even orphans are found.
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';

async function tabvisorProcesses(): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    const match = /(?:^|\0)TABVISOR_(INSTANCE|KEEPER)=([^\0]*)/.exec(environ);
    if (!match) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // a zombie holds nothing
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    found.push(`${match[1] === 'KEEPER' ? 'keeper' : 'Chrome'} pid ${entry} (${match[2]}): ${cmdline.slice(0, 120)}`);
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
