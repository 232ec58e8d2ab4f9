import { startTabvisor } from '../src/index.js';
import { connect } from '../src/client/index.js';
const N = Number(process.argv[2] ?? 10);
const tv = await startTabvisor({ port: 0, defaults: process.env.NOMEM ? { memoryIntervalMs: 3_600_000 } : process.env.NOPROBE ? { probe: { intervalMs: 3_600_000, deadlineMs: 1000, degradeAfter: 2, recoverAfter: 4 }, tabProbe: { intervalMs: 3_600_000, deadlineMs: 1500, degradeAfter: 1, recoverAfter: 3 } } : {}, persistence: process.argv[3] ? { stateDir: '/tmp/idle-sd', restore: false } : undefined });
const c = await connect(tv.url, { client: 'x' });
for (let i = 0; i < N; i++) { const { instanceId } = await c.call('instance.create', {}); await c.call('tab.open', { instanceId, url: 'data:text/html,<title>a</title>' }); }
await new Promise(r => setTimeout(r, 5000));
const a = process.cpuUsage(); const t = performance.now();
await new Promise(r => setTimeout(r, 20000));
const b = process.cpuUsage(a);
console.log(`N=${N}: ${(((b.user + b.system) / 1000) / (performance.now() - t) * 100).toFixed(2)} % of a core (user ${(b.user/1000).toFixed(0)} ms, sys ${(b.system/1000).toFixed(0)} ms over 20 s)`);
await c.close(); await tv.close();
