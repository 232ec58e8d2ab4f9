// Prints the false-alarm table of soak/stats/README.md: how often each variance correction calls
// a trend in trend-free AR(1) noise at alpha 0.05. Run: npx tsx soak/stats/false-alarms.ts
import { normalQuantile } from './normal.js';
import { seeded } from './random.js';
import { mannKendall, smallSampleRatio, theilSen, varianceRatio } from './trend.js';

const { ar1 } = seeded(2024); // the table is the same on every run
const runs = 1000;
console.log('| n | phi | plain MK | Hamed–Rao (1998) | AR(1) + small-sample (verdicts) |\n|---|---|---|---|---|');
for (const n of [25, 50, 100, 200]) {
  for (const phi of [0.5, 0.8]) {
    const x = Float64Array.from({ length: n }, (_, i) => i);
    const alarms = [0, 0, 0];
    for (let r = 0; r < runs; r++) {
      const y = ar1(n, phi);
      const { s, varS } = mannKendall(y, x);
      const slope = theilSen(y, x);
      const ratios = [1, Math.max(1, varianceRatio(y, x, slope)), smallSampleRatio(n, varianceRatio(y, x, slope, { method: 'ar1' }))];
      ratios.forEach((ratio, i) => (alarms[i]! += Math.abs(s - Math.sign(s)) / Math.sqrt(varS * ratio) > normalQuantile(0.975) ? 1 : 0));
    }
    console.log(`| ${n} | ${phi} | ${alarms.map((a) => (a / runs).toFixed(3)).join(' | ')} |`);
  }
}
