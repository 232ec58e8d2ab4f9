// The analysis pool on real worker threads running the compiled worker (dist/): a task that
// throws, a worker that dies, a cancelled task and a full queue each fail only their own
// request, and the pool serves the next one.
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { fromColumns } from '../../src/analysis/flat-columns.js';
import { AnalysisPool } from '../../src/analysis/pool.js';
import { TabvisorError } from '../../src/errors.js';

/** Raw CDP frames for a synthetic page of `count` buttons (what RawCdp hands the pool). */
function syntheticPage(count: number): { dom: Uint8Array<ArrayBuffer>; ax: Uint8Array<ArrayBuffer> } {
  const strings = ['HTML', 'BODY', 'BUTTON', 'visible', 'id'];
  const parentIndex = [-1, 0];
  const nodeType = [1, 1];
  const nodeName = [0, 1];
  const backendNodeId = [1, 2];
  const attributes: number[][] = [[], []];
  const layoutIndex = [0, 1];
  const bounds = [
    [0, 0, 800, 600],
    [0, 0, 800, 600],
  ];
  const styles = [[3], [3]];
  const axNodes: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const index = parentIndex.length;
    parentIndex.push(1);
    nodeType.push(1);
    nodeName.push(2);
    backendNodeId.push(index + 1);
    strings.push(`b${i}`);
    attributes.push([4, strings.length - 1]);
    layoutIndex.push(index);
    bounds.push([0, i * 20, 100, 20]);
    styles.push([3]);
    axNodes.push({ nodeId: String(index), ignored: false, role: { type: 'role', value: 'button' }, name: { type: 'computedString', value: `Button ${i}` }, backendDOMNodeId: index + 1 });
  }
  const dom = { documents: [{ nodes: { parentIndex, nodeType, nodeName, nodeValue: nodeType.map(() => -1), backendNodeId, attributes }, layout: { nodeIndex: layoutIndex, styles, bounds } }], strings };
  const encode = (id: number, result: unknown) => new TextEncoder().encode(JSON.stringify({ id, result })) as Uint8Array<ArrayBuffer>;
  return { dom: encode(1, dom), ax: encode(2, { nodes: axNodes }) };
}

const flatten = (page: { dom: Uint8Array; ax: Uint8Array }) => ({ kind: 'flatten' as const, sessions: [{ dom: page.dom, ax: [{ tree: page.ax }], origins: [] }], filter: 'interactive' as const, maxNodes: 1_000_000 });

const failure = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TabvisorError);
  return error as TabvisorError;
};

let pool: AnalysisPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

// Real threads doing real work: generous time on a loaded 2-core machine.
describe('analysis pool', { timeout: 30_000 }, () => {
  it('flattens on a worker, with the buffers transferred', async () => {
    pool = new AnalysisPool({ threads: 1 });
    const page = syntheticPage(50);
    const { columns, stats } = await pool.run(flatten(page), { transfer: [page.dom.buffer, page.ax.buffer] });
    const nodes = fromColumns(columns, (backendNodeId) => ({ backendNodeId }));
    expect(nodes).toHaveLength(50);
    expect(nodes[7]).toMatchObject({ role: 'button', name: 'Button 7', tag: 'button', bbox: { x: 0, y: 140, width: 100, height: 20 } });
    expect(stats).toMatchObject({ matched: 50, truncated: false });
    // Transferred, not copied: the caller's buffers are detached.
    expect(page.dom.byteLength).toBe(0);
    expect(pool.stats()).toMatchObject({ completed: 1, failed: 0, running: 0, queueSize: 0 });
  });

  it('a task that throws fails alone (-32603) and the pool serves the next', async () => {
    pool = new AnalysisPool({ threads: 1 });
    const garbage = new TextEncoder().encode('{"id":1,"result":{"documents": [trunc');
    const error = await failure(pool.run({ kind: 'flatten', sessions: [{ dom: garbage, ax: [{ tree: garbage }], origins: [] }], filter: 'all', maxNodes: 10 }));
    expect(error.code).toBe(-32603);
    expect(error.message).toMatch(/analysis task flatten failed: .*JSON/);
    const invalid = await failure(pool.run({ kind: 'visualDiff', a: new Uint8Array([1, 2, 3]), b: new Uint8Array([4]), threshold: 0.1, diffImage: false, names: ['a', 'b'] }));
    expect(invalid).toMatchObject({ code: -32602, data: { path: 'params.a', expected: 'a base64 PNG image' } });
    expect((await pool.run(flatten(syntheticPage(3)))).columns.count).toBe(3);
    expect(pool.stats()).toMatchObject({ failed: 1, completed: 3 });
  });

  it('a task that kills its worker (out of memory) fails alone; a new worker takes the next task', async () => {
    pool = new AnalysisPool({ threads: 1, maxHeapMb: 24 });
    const big = syntheticPage(150_000);
    const error = await failure(pool.run(flatten(big)));
    expect(error.code).toBe(-32603);
    expect(error.message).toMatch(/out of memory|ERR_WORKER_OUT_OF_MEMORY|terminated/i);
    expect((await pool.run(flatten(syntheticPage(5)))).columns.count).toBe(5);
  });

  it('cancelling a running task stops its worker at once, and the next task gets a fresh one', async () => {
    pool = new AnalysisPool({ threads: 1 });
    await pool.run(flatten(syntheticPage(1)));
    const piscina = (pool as unknown as { piscina: { threads: Worker[] } }).piscina;
    const worker = piscina.threads[0]!;
    // Idle workers live for 30 s: only a stop can end this one within the test.
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

    const controller = new AbortController();
    const cancelled = pool.run(flatten(syntheticPage(150_000)), { signal: controller.signal }).catch((e: unknown) => e);
    while (pool.stats().running === 0) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 20));
    const reason = new TabvisorError(-32003, 'snapshot timed out', { timeoutMs: 20 });
    controller.abort(reason);
    expect(await cancelled).toBe(reason);
    await exited;
    const next = await pool.run(flatten(syntheticPage(5)));
    expect(next.columns.count).toBe(5);
    expect(piscina.threads).toHaveLength(1);
    expect(piscina.threads[0]).not.toBe(worker);
    expect(pool.stats()).toMatchObject({ cancelled: 1, running: 0, queueSize: 0 });
    // A signal aborted before the task starts never reaches a worker.
    const early = new AbortController();
    early.abort(reason);
    expect(await pool.run(flatten(syntheticPage(5)), { signal: early.signal }).catch((e: unknown) => e)).toBe(reason);
  });

  it('answers -32001 when the queue is full, and -32004 once closed', async () => {
    pool = new AnalysisPool({ threads: 1, maxQueue: 1 });
    await pool.run(flatten(syntheticPage(1)));
    // Submitted in one go: the first takes the worker, the second waits, the rest find the
    // queue full — at once, without waiting for the worker.
    const settled = await Promise.allSettled([1, 2, 3, 4].map(() => pool!.run(flatten(syntheticPage(1_000)))));
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ code: -32001, data: { limit: 1, value: 1 } });
    await pool.close();
    expect(await failure(pool.run(flatten(syntheticPage(1))))).toMatchObject({ code: -32004 });
  });
});
