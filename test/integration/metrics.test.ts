// GET /metrics: Prometheus text from the runtime's own state, read over real HTTP while a real
// instance is created, driven, killed with SIGKILL and recovered.
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcError, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (no escapes in our label values). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[k as string] = v as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** GET /metrics over node:http (fetch would not let a test set Host). */
function scrape(headers: Record<string, string> = {}): Promise<{ status: number; type: string | undefined; samples: Sample[] }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: h.tv.server.port, path: '/metrics', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], samples: res.statusCode === 200 ? parse(text) : [] }));
    }).on('error', reject);
  });
}

/** The one sample of `name` with exactly these labels (among others); undefined when none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

describe('GET /metrics', () => {
  it('counts instances and tabs by state, RPC and navigation durations, memory, restarts with their reason', async () => {
    const { instanceId, pid } = await h.client.call('instance.create', {});
    const { tabId } = await h.client.call('tab.open', { instanceId, url: h.pages.url('/page/m1') });
    await h.client.call('tab.navigate', { tabId, url: h.pages.url('/page/m2') });
    await expect(h.client.call('no.such.method' as 'system.hello')).rejects.toThrow(/method not found/);

    let { status, type, samples } = await scrape();
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(value(samples, 'tabvisor_instances', { state: 'healthy' })).toBe(1);
    for (const state of ['spawning', 'degraded', 'recovering', 'failed', 'stopping', 'stopped']) expect(value(samples, 'tabvisor_instances', { state })).toBe(0);
    expect(value(samples, 'tabvisor_tabs', { state: 'healthy' })).toBe(1);
    expect(value(samples, 'tabvisor_tabs', { state: 'recovering' })).toBe(0);
    expect(value(samples, 'tabvisor_rpc_duration_seconds_count', { method: 'tab.navigate', outcome: 'ok' })).toBe(1);
    expect(value(samples, 'tabvisor_rpc_duration_seconds_count', { method: 'instance.create', outcome: 'ok' })).toBe(1);
    // An unknown method is rejected before it is timed, and never becomes a label.
    expect(samples.some((s) => s.labels.method === 'no.such.method')).toBe(false);
    expect(value(samples, 'tabvisor_navigation_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(value(samples, 'tabvisor_navigation_duration_seconds_sum', { outcome: 'ok' })).toBeGreaterThan(0);
    expect(value(samples, 'tabvisor_analysis_pool', { stat: 'queue' })).toBe(0);
    expect(value(samples, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
    expect(value(samples, 'nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
    expect(value(samples, 'process_open_fds')).toBeGreaterThan(0);
    // Memory is sampled on the instance's own schedule: wait for its first sample.
    for (let i = 0; i < 100 && !value(samples, 'tabvisor_instance_memory_bytes', { instance: instanceId, kind: 'pss' }); i++) {
      await new Promise((r) => setTimeout(r, 100));
      ({ samples } = await scrape());
    }
    expect(value(samples, 'tabvisor_instance_memory_bytes', { instance: instanceId, kind: 'pss' })).toBeGreaterThan(10 * 2 ** 20);
    expect(value(samples, 'tabvisor_instance_memory_bytes', { instance: instanceId, kind: 'uss' })).toBeGreaterThan(0);
    expect(samples.filter((s) => s.name === 'tabvisor_restarts_total')).toEqual([]);

    const mark = h.events.mark();
    process.kill(pid as number, 'SIGKILL');
    const down = await h.events.waitFor({ actor: instanceId, to: 'recovering' }, mark);
    await h.events.waitFor({ actor: tabId, from: 'recovering', to: 'healthy' }, mark);
    ({ samples } = await scrape());
    expect(value(samples, 'tabvisor_restarts_total', { kind: 'instance', reason: down.reason })).toBe(1);
    expect(value(samples, 'tabvisor_restarts_total', { kind: 'tab' })).toBe(1);
    expect(value(samples, 'tabvisor_instances', { state: 'healthy' })).toBe(1);

    await h.client.call('instance.stop', { instanceId });
    ({ samples } = await scrape());
    expect(value(samples, 'tabvisor_instances', { state: 'healthy' })).toBe(0);
    expect(samples.filter((s) => s.name === 'tabvisor_instance_memory_bytes')).toEqual([]);
  });

  it('a navigation stops when its client disconnects, and ends at its deadline: each call has one signal', async () => {
    const { instanceId } = await h.client.call('instance.create', { shared: true });
    const { tabId } = await h.client.call('tab.open', { instanceId, url: h.pages.url('/page/start') });
    // A client that leaves mid-navigation (a 20 s page): the call is cancelled at once.
    const quitter = await h.connectAnother();
    const left = quitter.call('tab.navigate', { tabId, url: h.pages.url('/slow/left?ms=20000') }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    const disconnectedAt = Date.now();
    await quitter.close();
    await left;
    let samples: Sample[] = [];
    for (let i = 0; i < 50 && !value(samples, 'tabvisor_navigation_duration_seconds_count', { outcome: 'cancelled' }); i++) {
      await new Promise((r) => setTimeout(r, 50));
      ({ samples } = await scrape());
    }
    expect(value(samples, 'tabvisor_navigation_duration_seconds_count', { outcome: 'cancelled' })).toBe(1);
    expect(Date.now() - disconnectedAt).toBeLessThan(5_000);
    // The tab is free at once: the next navigation is served, not queued behind the slow one.
    expect((await h.client.call('tab.navigate', { tabId, url: h.pages.url('/page/after') })).title).toBe('after');
    // Past its timeoutMs a navigation answers -32003 with it.
    const slow = await rpcError(h.client.call('tab.navigate', { tabId, url: h.pages.url('/slow/late?ms=20000'), timeoutMs: 300 }));
    expect(slow).toMatchObject({ code: -32003, data: { timeoutMs: 300 } });
    await h.client.call('instance.stop', { instanceId });
  });

  it('answers a Host that is not this server with 403, like the channel, on /metrics and /health', async () => {
    expect((await scrape({ host: 'rebound.example' })).status).toBe(403);
    expect((await scrape({ origin: 'https://evil.example' })).status).toBe(403);
    const health = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        get({ host: '127.0.0.1', port: h.tv.server.port, path: '/health', headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
    expect(await health({})).toBe(200);
    expect(await health({ host: `localhost:${h.tv.server.port}` })).toBe(200);
    expect(await health({ host: `rebound.example:${h.tv.server.port}` })).toBe(403);
  });
});
