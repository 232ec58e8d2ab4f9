// Admission of new browsers: the default limit from memory, and the three refusals with what ran out.
import { describe, expect, it } from 'vitest';
import { Admission, defaultMaxInstances, defaultMemoryReserveMb, FD_RESERVE, FDS_PER_INSTANCE, INSTANCE_FOOTPRINT_MB, liveReadings, type MachineReadings } from '../../src/runtime/admission.js';
import { TabvisorError } from '../../src/errors.js';

const MB = 2 ** 20;
const GB = 2 ** 30;

function readings(over: Partial<{ availableBytes: number; totalBytes: number; fdLimit: number | null; openFds: number }> = {}): MachineReadings & { set(o: typeof over): void } {
  const state = { availableBytes: 20 * GB, totalBytes: 24 * GB, fdLimit: 20_000 as number | null, openFds: 40, ...over };
  return {
    memory: () => ({ availableBytes: state.availableBytes, totalBytes: state.totalBytes }),
    fdLimit: () => state.fdLimit,
    openFds: () => state.openFds,
    set: (o) => Object.assign(state, o),
  };
}

function refusal(f: () => void): TabvisorError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(TabvisorError);
    return error as TabvisorError;
  }
  throw new Error('admitted');
}

describe('the default limit', () => {
  it('is the memory available above the reserve, at INSTANCE_FOOTPRINT_MB an instance', () => {
    expect(defaultMemoryReserveMb(24 * GB)).toBe(2458);
    expect(defaultMemoryReserveMb(2 * GB)).toBe(512);
    expect(defaultMaxInstances(22 * GB, 2458)).toBe(Math.floor((22 * 1024 - 2458) / INSTANCE_FOOTPRINT_MB));
    expect(defaultMaxInstances(1 * GB, 2458)).toBe(1);
    const admission = new Admission({}, readings({ availableBytes: 22 * GB }));
    expect(admission.memoryReserveMb).toBe(2458);
    expect(admission.maxInstances).toBe(286); // (22,528 − 2,458) ÷ 70
  });

  it('admits at least 100 instances on a 24 GiB machine with 18 GiB free, and 300 with 23 GiB', () => {
    expect(new Admission({}, readings({ availableBytes: 18 * GB })).maxInstances).toBeGreaterThanOrEqual(100);
    expect(new Admission({}, readings({ availableBytes: 23 * GB })).maxInstances).toBeGreaterThanOrEqual(300);
  });

  it('on this machine, from its own /proc/meminfo', () => {
    const { availableBytes } = liveReadings.memory();
    const admission = new Admission();
    expect(admission.maxInstances).toBe(defaultMaxInstances(availableBytes, admission.memoryReserveMb));
    expect(liveReadings.fdLimit()).toBeGreaterThan(0);
    expect(liveReadings.openFds()).toBeGreaterThan(0);
  });

  it('takes the limit and the reserve given', () => {
    const admission = new Admission({ maxInstances: 7, memoryReserveMb: 100 }, readings());
    expect([admission.maxInstances, admission.memoryReserveMb]).toEqual([7, 100]);
  });
});

describe('Admission.check', () => {
  it('refuses past the instance limit, naming the instances', () => {
    const admission = new Admission({ maxInstances: 3 }, readings());
    admission.check(2, 0);
    const error = refusal(() => admission.check(3, 0));
    expect(error.code).toBe(-32001);
    expect(error.data).toEqual({ limit: 3, value: 3, resource: 'instances' });
  });

  it('refuses when available memory, less what starting browsers will take, falls below the reserve', () => {
    const machine = readings({ availableBytes: 3_000 * MB });
    const admission = new Admission({ maxInstances: 100, memoryReserveMb: 2_500 }, machine);
    admission.check(0, 0); // 3000 − 70 ≥ 2500
    admission.check(0, 6); // 3000 − 7 × 70 ≥ 2500
    const error = refusal(() => admission.check(0, 7)); // 3000 − 8 × 70 < 2500
    expect(error.data).toEqual({ limit: 2_500, value: 3_000, resource: 'memory' });
    expect(error.message).toMatch(/not enough memory: 3000 MB available/);
    machine.set({ availableBytes: 2_550 * MB }); // 2550 − 70 < 2500
    expect(refusal(() => admission.check(0, 0)).data).toMatchObject({ resource: 'memory', value: 2_550 });
  });

  it('refuses when the fds left would not hold one more instance, naming file descriptors', () => {
    const limit = 256;
    const machine = readings({ fdLimit: limit, openFds: limit - FD_RESERVE - FDS_PER_INSTANCE });
    const admission = new Admission({ maxInstances: 100, memoryReserveMb: 0 }, machine);
    admission.check(0, 0);
    machine.set({ openFds: limit - FD_RESERVE - FDS_PER_INSTANCE + 1 });
    const error = refusal(() => admission.check(0, 0));
    expect(error.data).toEqual({ limit, value: limit - FD_RESERVE - FDS_PER_INSTANCE + 1, resource: 'fds' });
    expect(error.message).toMatch(/file descriptors/);
    machine.set({ fdLimit: null, openFds: 1_000_000 }); // unlimited
    admission.check(0, 0);
  });
});
