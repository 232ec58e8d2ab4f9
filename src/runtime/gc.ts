// A full garbage collection on demand, for the soak's samples of this thread's heap: what a
// heap keeps after a full collection is what it leaks, without the sawtooth of garbage not yet
// collected. Node exposes gc() only with --expose-gc; the V8 flag can be set at run time, and
// a context made after it has gc() (the flag is read when a context is created). Used only
// when a soak asks for a sample (tabvisor soak, system.stats { gc: true }, the heap task).
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null = typeof globalThis.gc === 'function' ? globalThis.gc : null;

export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** Bytes of live objects on this thread's V8 heap. */
export function heapUsedBytes(): number {
  return getHeapStatistics().used_heap_size;
}
