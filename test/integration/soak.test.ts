// The soak as a CI pipeline runs it: the compiled `tabvisor soak --short` as a real process,
// once on the clean default workload (exit 0) and once with a workload module whose page keeps
// 100 KiB per iteration (exit 99, that tab's heap flagged at its rate); then the HTML report
// opened in real Chromium: it must draw a chart per series, request nothing from any other
// origin and log no console error.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import puppeteer from 'puppeteer-core';
import { afterAll, describe, expect, it } from 'vitest';
import { findChrome } from '../../src/chrome/find.js';
import type { SoakReport } from '../../soak/report/json.js';
import { CLI } from './processes.js';

const dir = mkdtempSync(join(tmpdir(), 'soak-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function soak(args: string[]) {
  const out = join(dir, `run-${Math.random().toString(36).slice(2, 8)}`);
  const run = await execa(process.execPath, [CLI, 'soak', '--short', '--out', out, '--seed', '7', ...args], { reject: false, stdin: 'ignore', all: true, timeout: 380_000 });
  const file = join(out, 'soak-report.json');
  const report = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SoakReport) : null;
  return { exitCode: run.exitCode, output: run.all ?? '', report, out };
}

const verdicts = (report: SoakReport | null) => Object.fromEntries((report?.series ?? []).map((s) => [s.key, s.verdict?.verdict ?? 'info']));

describe('tabvisor soak --short', () => {
  let leaky: Awaited<ReturnType<typeof soak>>;

  it('finds tabvisor clean under the navigate workload: exit 0', { timeout: 400_000 }, async () => {
    const run = await soak([]);
    // 1,200 iterations, about two minutes here: every series judged and every one clean (20 of
    // 20 such runs were, docs/soak.md).
    expect(run.exitCode, run.output).toBe(0);
    expect(run.report?.summary.overall).toBe('clean');
    expect(run.report!.summary.clean, run.output).toBe(run.report!.summary.series - run.report!.summary.info);
    const keys = Object.keys(verdicts(run.report));
    // Every scope the issue names was sampled.
    for (const key of ['runtime.heapUsed', 'runtime.fds', 'runtime.resources', 'runtime.registry.actors', 'runtime.lagP99', 'runtime.workersHeap', 'i1.pss', 'i1.uss', 'i1.private', 'i1.fds', 'i1.threads', 'i1.processes.renderer', 'i1.targets', 'machine.load1', 'i1t1.jsHeap', 'i1t2.nodes', 'i1t2.listeners', 'i1t1.documents']) {
      expect(keys).toContain(key);
    }
    expect(existsSync(join(run.out, 'soak-report.html'))).toBe(true);
  });

  it('flags a page that keeps 100 KiB per iteration, at that rate, after a warm-up it does not sample: exit 99', { timeout: 300_000 }, async () => {
    leaky = await soak(['--workload', 'test/integration/fixtures/leaky-workload.mjs', '--iterations', '150', '--warmup', '20']);
    expect(leaky.exitCode, leaky.output).toBe(99);
    expect(leaky.report!.meta.warmupIterations).toBe(20);
    expect(leaky.report!.meta.iterations).toBe(150);
    const heap = leaky.report!.series.find((s) => s.key === 'i1t1.jsHeap')!;
    // Sampling started after the warm-up: the iteration axis counts from there.
    expect(heap.samples.iteration[0]).toBeLessThanOrEqual(1);
    expect(heap.samples.iteration.at(-1)).toBeLessThanOrEqual(150);
    expect(heap.verdict?.verdict, heap.verdict?.why).toBe('leak');
    // The injected rate: 100 KiB of doubles, plus the array's own headers and its slot in the
    // page's list (tens of bytes; the self-test counts up to 128).
    expect(heap.verdict!.ciLow).toBeLessThanOrEqual(100 * 1024 + 128);
    expect(heap.verdict!.ciHigh).toBeGreaterThanOrEqual(100 * 1024);
    // The control tab, doing the same clicks on a page that keeps nothing, is not flagged.
    expect(verdicts(leaky.report)['i1t2.jsHeap']).not.toBe('leak');
    // Leaks come first in the report.
    expect(leaky.report!.series[0]!.verdict?.verdict).toBe('leak');
  });

  it('refuses a warm-up that is neither iterations nor a time, before starting anything: exit 1', { timeout: 60_000 }, async () => {
    const bad = await soak(['--warmup', 'soon']);
    expect(bad.exitCode).toBe(1);
    expect(bad.output).toContain('--warmup: expected iterations (100) or a time (40s), not "soon"');
    expect(bad.report).toBeNull();
  });

  it('writes an HTML report that draws offline in Chromium: a chart per series, no other origin, no console error', { timeout: 60_000 }, async () => {
    const file = join(leaky.out, 'soak-report.html');
    const browser = await puppeteer.launch({ executablePath: (await findChrome()).path, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('requestfailed', (r) => errors.push(`failed: ${r.url()}`));
      const url = pathToFileURL(file).href;
      await page.goto(url, { waitUntil: 'load' });
      const drawn = await page.evaluate(() => ({
        canvases: document.querySelectorAll('.uplot canvas').length,
        rows: document.querySelectorAll('#verdicts tbody tr').length,
        overall: document.querySelector('#overall')?.textContent,
        firstRow: document.querySelector('#verdicts tbody tr')?.textContent ?? '',
      }));
      expect(errors).toEqual([]);
      expect(requests.filter((r) => r !== url && !r.startsWith('data:'))).toEqual([]);
      expect(drawn.canvases).toBe(leaky.report!.series.length);
      expect(drawn.rows).toBe(leaky.report!.series.length);
      expect(drawn.overall).toBe('leak');
      expect(drawn.firstRow).toContain('leak');
      await page.screenshot({ path: join(leaky.out, 'report.png'), fullPage: false });
    } finally {
      await browser.close();
    }
  });
});
