// The fleet sampler against real processes: small process groups of `sh` and `sleep` (each
// group led by its shell, as Chrome leads its own), sampled from one pass over /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { killProcessGroup, liveGroupMembers } from '../../src/chrome/launch.js';
import { FleetSampler } from '../../src/chrome/memory.js';
import { readProcessTable } from '../../src/chrome/proc.js';

const started: ChildProcess[] = [];
afterEach(async () => {
  for (const child of started.splice(0)) if (child.pid) await killProcessGroup(child.pid);
});

/** A process group of a shell and `children` sleeps (plus any the shell forks later). */
async function group(children: number, script = ''): Promise<number> {
  const sleeps = Array.from({ length: children }, () => 'sleep 60 &').join(' ');
  const child = spawn('sh', ['-c', `${sleeps} ${script} wait`], { detached: true, stdio: 'ignore' });
  started.push(child);
  const pgid = child.pid as number;
  // The shell forks its sleeps just after it starts.
  for (let i = 0; i < 200 && (await liveGroupMembers(pgid)).length < children + 1; i++) await new Promise((r) => setTimeout(r, 10));
  return pgid;
}

const sampler = (overrides: Partial<ConstructorParameters<typeof FleetSampler>[0]> = {}) =>
  new FleetSampler({ maxAgeMs: 60_000, detailedEveryMs: 60_000, detailedReadsPerPass: 100, ...overrides });

describe('FleetSampler', () => {
  it("finds each group's members, and only them, from one pass for every group asked at once", async () => {
    const a = await group(2);
    const b = await group(3);
    const fleet = sampler();
    const [ma, mb] = await Promise.all([fleet.sample(a), fleet.sample(b)]);
    expect(fleet.passes).toBe(1);
    expect(ma.pids.sort()).toEqual((await liveGroupMembers(a)).sort());
    expect(mb.pids.sort()).toEqual((await liveGroupMembers(b)).sort());
    expect(ma.pids).toHaveLength(3);
    expect(mb.pids).toHaveLength(4);
    expect(ma.privateBytes).toBeGreaterThan(0);
    // A first sample of a group reads its PSS and USS too.
    expect(ma.detailed?.pssBytes).toBeGreaterThan(0);
    expect(ma.detailed?.ussBytes).toBeLessThanOrEqual(ma.detailed?.pssBytes ?? 0);
    // Within maxAgeMs a sample is served from the pass made: no new read of /proc.
    await fleet.sample(a);
    await fleet.sample(b);
    expect(fleet.passes).toBe(1);
  });

  it('makes a new pass once the last is older than maxAgeMs, and for a group the last pass did not include', async () => {
    const a = await group(1);
    const fleet = sampler({ maxAgeMs: 50 });
    await fleet.sample(a);
    expect(fleet.passes).toBe(1);
    const b = await group(1);
    expect((await fleet.sample(b)).pids).toHaveLength(2);
    expect(fleet.passes).toBe(2);
    await new Promise((r) => setTimeout(r, 60));
    await fleet.sample(a);
    expect(fleet.passes).toBe(3);
  });

  it('sees members come and go between passes, and an empty group once it is killed', async () => {
    // A subshell forks two more sleeps 300 ms in.
    const a = await group(1, '(sleep 0.3; sleep 60 & sleep 60 & wait) &');
    const fleet = sampler({ maxAgeMs: 0 });
    const before = await fleet.sample(a);
    await new Promise((r) => setTimeout(r, 600));
    const after = await fleet.sample(a);
    expect(after.pids.length).toBeGreaterThan(before.pids.length);
    expect(after.pids.sort()).toEqual((await liveGroupMembers(a)).sort());
    await killProcessGroup(a);
    expect((await fleet.sample(a)).pids).toEqual([]);
    expect((await fleet.sample(a)).privateBytes).toBe(0);
  });

  it('reads PSS for a bounded number of processes per pass, groups never read on their own budget, the others read longest ago first', async () => {
    const groups = [await group(1), await group(1), await group(1)]; // 2 processes each
    const fleet = sampler({ maxAgeMs: 0, detailedEveryMs: 0, detailedReadsPerPass: 2, firstDetailedReadsPerPass: 2 });
    const figures = () => groups.map((g) => fleet.latest(g)?.detailed);
    const readIn = (before: ReturnType<typeof figures>) => figures().flatMap((f, i) => (f && f !== before[i] ? [i] : []));
    let before = figures();
    await fleet.sample(groups[0]!);
    expect(readIn(before)).toEqual([0]);
    // All three asked in one pass: one group never read (budget: 2 processes, one group) and
    // one read before, within the other budget.
    before = figures();
    await Promise.all(groups.map((g) => fleet.sample(g)));
    expect(fleet.passes).toBe(2);
    expect(readIn(before)).toEqual([0, 1]);
    before = figures();
    await Promise.all(groups.map((g) => fleet.sample(g)));
    const third = readIn(before);
    expect(third).toContain(2); // the last one never read
    expect(third).toHaveLength(2); // and one of the two read in the pass before
    // Then the one read longest ago: the one of 0 and 1 the third pass left.
    const left = third.includes(0) ? 1 : 0;
    before = figures();
    await fleet.sample(groups[0]!);
    expect(readIn(before)).toEqual([left]);
  });

  it('reads an unchanged group again only after unchangedDetailedEveryMs; one whose processes changed at once', async () => {
    const still = await group(1);
    // A subshell forks two more sleeps 300 ms in: a change of the group's processes.
    const growing = await group(1, '(sleep 0.3; sleep 60 & sleep 60 & wait) &');
    const fleet = sampler({ maxAgeMs: 0, detailedEveryMs: 0, unchangedDetailedEveryMs: 60_000 });
    await Promise.all([fleet.sample(still), fleet.sample(growing)]);
    const first = { still: fleet.latest(still)?.detailed, growing: fleet.latest(growing)?.detailed };
    expect(first.still).toBeTruthy();
    expect(first.growing).toBeTruthy();
    await new Promise((r) => setTimeout(r, 600));
    // The pass that sees the new processes; the one after it reads the group that changed.
    await Promise.all([fleet.sample(still), fleet.sample(growing)]);
    await Promise.all([fleet.sample(still), fleet.sample(growing)]);
    expect(fleet.latest(still)?.detailed).toBe(first.still);
    expect(fleet.latest(growing)?.detailed).not.toBe(first.growing);
  });

  it('forgets a group: it is not read again', async () => {
    const a = await group(1);
    const fleet = sampler({ maxAgeMs: 0 });
    await fleet.sample(a);
    fleet.forget(a);
    expect(fleet.latest(a)).toBeUndefined();
  });
});

describe('readProcessTable', () => {
  it('lists every process /proc lists, with its parent and group', async () => {
    const a = await group(2);
    const table = await readProcessTable();
    const self = table.find((p) => p.pid === process.pid);
    expect(self?.ppid).toBe(process.ppid);
    const members = table.filter((p) => p.pgid === a);
    expect(members).toHaveLength(3);
    expect(members.filter((p) => p.ppid === a)).toHaveLength(2);
  });
});
