// Workloads by name (the built-ins) or by path (an ES module whose default export is a Workload).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Workload } from './types.js';

export const BUILT_IN = {
  navigate: () => import('./navigate.js'),
  interact: () => import('./interact.js'),
  faults: () => import('./faults.js'),
  idle: () => import('./idle.js'),
} as const;

export async function loadWorkload(nameOrPath: string): Promise<Workload> {
  const builtIn = BUILT_IN[nameOrPath as keyof typeof BUILT_IN];
  const module = (builtIn ? await builtIn() : await import(pathToFileURL(resolve(nameOrPath)).href).catch((error: unknown) => {
    throw new Error(`--workload ${nameOrPath}: neither a built-in (${Object.keys(BUILT_IN).join(', ')}) nor a module that loads: ${error instanceof Error ? error.message : String(error)}`);
  })) as { default?: unknown };
  const workload = module.default as Partial<Workload> | undefined;
  if (!workload || typeof workload !== 'object' || typeof workload.name !== 'string' || typeof workload.iteration !== 'function') {
    throw new Error(`--workload ${nameOrPath}: the module's default export must be { name: string, iteration(ctx, i), setup?(ctx), teardown?(ctx) }`);
  }
  for (const hook of ['setup', 'teardown'] as const) {
    if (workload[hook] !== undefined && typeof workload[hook] !== 'function') throw new Error(`--workload ${nameOrPath}: ${hook} must be a function`);
  }
  return workload as Workload;
}

export type { Workload, WorkloadContext } from './types.js';
