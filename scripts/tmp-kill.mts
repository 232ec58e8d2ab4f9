import { startTabvisor } from '../src/index.js';
import { connect } from '../src/client/index.js';
import pino from 'pino';
const tv = await startTabvisor({ port: 0, log: pino({ level: 'debug' }, pino.destination({ dest: '/tmp/kill.log', sync: true })) });
const c = await connect(tv.url, { client: 'x' });
const ev: any[] = [];
c.onEvent((e: any) => e.topic === 'state' && ev.push(e));
await c.call('events.subscribe', { topics: ['state'] });
const { instanceId, pid } = await c.call('instance.create', {});
for (let i = 0; i < 2; i++) await c.call('tab.open', { instanceId, url: `data:text/html,<title>t${i}</title>` });
await new Promise(r => setTimeout(r, 1000));
for (let k = 0; k < 3; k++) {
  const p = (await c.call('instance.get', { instanceId })).pid!;
  const from = ev.length; const t0 = Date.now();
  process.kill(p, 'SIGKILL');
  while (!(ev.slice(from).filter((e) => e.to === 'healthy').length >= 3)) await new Promise(r => setTimeout(r, 2));
  console.log(`kill ${k}: ${Date.now() - t0} ms:`, ev.slice(from).map((e) => `${e.actor.slice(0,4)} ${e.to}@${e.at - t0}`).join(', '));
  await new Promise(r => setTimeout(r, 1500));
}
await c.close(); await tv.close();
