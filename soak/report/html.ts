// The report as one self-contained HTML file that opens offline: uPlot (MIT) and its CSS are
// read from node_modules and inlined, the data embedded; a verdict table at the top (leaks
// first) and a chart per series with the warm-up shaded and the fitted steady line drawn.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { SoakReport } from './json.js';

let uplot: { js: string; css: string } | undefined;
function uPlotSource(): { js: string; css: string } {
  if (!uplot) {
    const dir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
    uplot = { js: readFileSync(join(dir, 'uPlot.iife.min.js'), 'utf8'), css: readFileSync(join(dir, 'uPlot.min.css'), 'utf8') };
  }
  return uplot;
}

/** Text safe inside <script>: no "</script>" or "<!--" can end or hide it. */
const scriptSafe = (text: string) => text.replace(/</g, '\\u003c');

export function renderHtml(report: SoakReport): string {
  const { js, css } = uPlotSource();
  const data = {
    meta: report.meta,
    summary: report.summary,
    series: report.series.map((s) => ({
      key: s.key,
      scope: s.scope,
      label: s.label,
      kind: s.kind,
      axis: s.axis,
      budget: s.budget,
      x: s.axis === 'hours' ? s.samples.t : s.samples.iteration,
      y: s.samples.y,
      verdict: s.verdict && { verdict: s.verdict.verdict, why: s.verdict.why, slope: s.verdict.slope, ciLow: s.verdict.ciLow, ciHigh: s.verdict.ciHigh, cut: s.verdict.cut, confidence: s.verdict.confidence },
      fit: s.fit,
    })),
  };
  const json = scriptSafe(JSON.stringify(data, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tabvisor soak: ${report.summary.overall} (${escapeHtml(report.meta.workload)})</title>
<style>${css}
body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#1d2330;background:#fff}
h1{font-size:20px;margin:0 0 4px} .meta{color:#555;margin-bottom:12px}
table{border-collapse:collapse;margin:8px 0 20px;width:100%} th,td{border-bottom:1px solid #e3e6ec;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f9;position:sticky;top:0} td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.v{font-weight:600;padding:1px 6px;border-radius:3px;white-space:nowrap} .leak{background:#fde2e1;color:#a30d0d} .inconclusive{background:#fff3cd;color:#7a5b00} .clean{background:#dff3e4;color:#17692f} .info{background:#eceff4;color:#555}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px} .chart{border:1px solid #e3e6ec;border-radius:4px;padding:6px}
.chart h3{font-size:13px;margin:0 0 2px} .why{font-size:12px;color:#555;margin:0 0 4px} .legend{font-size:12px;color:#555}
</style></head><body>
<h1>Soak report: <span id="overall"></span></h1>
<div class="meta" id="meta"></div>
<table id="verdicts"><thead><tr><th>series</th><th>verdict</th><th>slope</th><th>interval</th><th>budget</th><th>warm-up cut</th><th>why</th></tr></thead><tbody></tbody></table>
<p class="legend">Each chart: the samples (blue), the warm-up MSER-5 cut off (shaded), the Theil–Sen line fitted to the steady part (red), on the axis the series' budget is on.</p>
<div class="charts" id="charts"></div>
<script type="application/json" id="data">${json}</script>
<script>${js}</script>
<script>
(() => {
  const data = JSON.parse(document.getElementById('data').textContent);
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  const bytes = (v) => { if (v == null || !isFinite(v)) return v == null ? '∞' : String(v); let u = 0, a = Math.abs(v); while (u < 3 && a >= 1024) { a /= 1024; u++; } return (v < 0 ? '-' : '') + Number(a.toPrecision(3)) + ' ' + units[u]; };
  const num = (v) => v == null || !isFinite(v) ? '∞' : String(Number(v.toPrecision(3)));
  const fmt = (s, v) => s.kind === 'bytes' ? bytes(v) : num(v);
  // An unbounded end of an interval comes as null (JSON has no infinity).
  const low = (s, v) => v == null ? '−∞' : fmt(s, v);
  const high = (s, v) => v == null ? '+∞' : fmt(s, v);
  const per = (s) => s.axis === 'hours' ? '/h' : '/iteration';
  const el = (tag, attrs, ...children) => { const e = document.createElement(tag); Object.assign(e, attrs); e.append(...children); return e; };
  const { meta, summary } = data;
  const overall = document.getElementById('overall');
  overall.append(el('span', { className: 'v ' + summary.overall, textContent: summary.overall }));
  const v = meta.versions;
  document.getElementById('meta').textContent =
    'workload ' + meta.workload + ' · ' + meta.iterations + ' iterations in ' + Math.round(meta.durationMs / 60000) + ' min · ' +
    summary.leak + ' leak, ' + summary.inconclusive + ' inconclusive, ' + summary.clean + ' clean, ' + summary.info + ' not judged · tabvisor ' + v.tabvisor +
    ' · Chrome ' + v.chrome + ' · Node ' + v.node + ' · ' + meta.machine.cpus + ' CPUs, load ' + meta.machine.load.start.join('/') + ' → max ' + meta.machine.load.max.join('/') + ' · seed ' + meta.seed + ' · ' + meta.startedAt;
  const body = document.querySelector('#verdicts tbody');
  const charts = document.getElementById('charts');
  data.series.forEach((s, i) => {
    const verdict = s.verdict ? s.verdict.verdict : 'info';
    const id = 'c' + i;
    body.append(el('tr', {},
      el('td', {}, el('a', { href: '#' + id, textContent: s.key }), ' ', s.label),
      el('td', {}, el('span', { className: 'v ' + verdict, textContent: s.verdict ? verdict : 'not judged' })),
      el('td', { className: 'num', textContent: s.verdict ? fmt(s, s.verdict.slope) + per(s) : '' }),
      el('td', { className: 'num', textContent: s.verdict ? '[' + low(s, s.verdict.ciLow) + ', ' + high(s, s.verdict.ciHigh) + '] ' + Math.round(s.verdict.confidence * 10000) / 100 + '%' : '' }),
      el('td', { className: 'num', textContent: s.verdict ? fmt(s, s.budget) + per(s) : '' }),
      el('td', { className: 'num', textContent: s.verdict ? String(s.verdict.cut) : '' }),
      el('td', { textContent: s.verdict ? s.verdict.why : '' })));
    const box = el('div', { className: 'chart', id });
    box.append(el('h3', {}, el('span', { className: 'v ' + verdict, textContent: verdict }), ' ' + s.key + ' — ' + s.label + ' (' + s.scope + ')'));
    if (s.verdict) box.append(el('p', { className: 'why', textContent: s.verdict.why }));
    charts.append(box);
    const cut = s.verdict ? s.verdict.cut : 0;
    const line = s.x.map((x, k) => s.fit && k >= cut ? s.fit.intercept + s.fit.slope * x : null);
    const warm = s.x.length && cut > 0 ? [s.x[0], s.x[Math.min(cut, s.x.length - 1)]] : null;
    new uPlot({
      width: 500, height: 200,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false } },
      axes: [
        { label: s.axis === 'hours' ? 'hours' : 'iteration', size: 36 },
        { size: 78, values: (u, vals) => vals.map((v) => fmt(s, v)) },
      ],
      series: [{}, { stroke: '#2f6fdd', width: 1, points: { show: s.x.length < 120 } }, { stroke: '#d62828', width: 2, points: { show: false } }],
      hooks: { drawClear: [(u) => {
        if (!warm) return;
        const x0 = u.valToPos(warm[0], 'x', true), x1 = u.valToPos(warm[1], 'x', true);
        u.ctx.save(); u.ctx.fillStyle = 'rgba(120,120,120,0.15)';
        u.ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height); u.ctx.restore();
      }] },
    }, [s.x, s.y, line], box);
  });
})();
</script></body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
