// Who may connect, and what a connection may send: token, Host (DNS rebinding), Origin,
// binding beyond loopback, payload size and in-flight requests. Each refusal with its exact
// HTTP status, close code or JSON-RPC code, and nobody else disturbed.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, startTabvisor } from '../../src/index.js';
import { assertBindable, tokenMatches } from '../../src/server/access.js';
import { rpcError, startHarness, type Harness } from './harness.js';

const TOKEN = 'correct horse battery staple';
let h: Harness;
let port: number;
beforeAll(async () => {
  h = await startHarness({ server: { token: TOKEN, maxInFlight: 4, allowedOrigins: ['https://allowed.example'] } });
  port = h.tv.server.port;
});
afterAll(async () => {
  await h?.close();
});

/** The HTTP status an upgrade request to /rpc gets (101 when it is accepted). */
function upgradeStatus(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const hostHeader = () => `127.0.0.1:${port}`;

describe('control channel security', () => {
  it('asks for the token before the upgrade: missing or wrong → 401; Bearer or ?token= → in', async () => {
    expect(await upgradeStatus('/rpc', { host: hostHeader() })).toBe(401);
    expect(await upgradeStatus('/rpc', { host: hostHeader(), authorization: 'Bearer wrong' })).toBe(401);
    expect(await upgradeStatus('/rpc', { host: hostHeader(), authorization: `Bearer ${TOKEN}x` })).toBe(401);
    expect(await upgradeStatus('/rpc', { host: hostHeader(), authorization: TOKEN })).toBe(401); // no scheme
    expect(await upgradeStatus('/rpc?token=wrong', { host: hostHeader() })).toBe(401);
    expect(await upgradeStatus('/rpc', { host: hostHeader(), authorization: `Bearer ${TOKEN}` })).toBe(101);
    expect(await upgradeStatus(`/rpc?token=${encodeURIComponent(TOKEN)}`, { host: hostHeader() })).toBe(101);
    // The typed client sends it as a Bearer header.
    const client = await connect(h.tv.url, { token: TOKEN, reconnect: false });
    expect((await client.call('system.hello')).protocol).toBe(1);
    await client.close();
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches('', TOKEN)).toBe(false);
    expect(tokenMatches(null, TOKEN)).toBe(false);
  });

  it('refuses a Host that is not this server (DNS rebinding) and a browser Origin not allow-listed, with 403', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect(await upgradeStatus('/rpc', { ...auth, host: `rebound.example:${port}` })).toBe(403);
    expect(await upgradeStatus('/rpc', { ...auth, host: `127.0.0.1:${port + 1}` })).toBe(403);
    expect(await upgradeStatus('/rpc', { ...auth, host: '127.0.0.1' })).toBe(403);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      expect(await upgradeStatus('/rpc', { ...auth, host })).toBe(101);
    }
    expect(await upgradeStatus('/rpc', { ...auth, host: hostHeader(), origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus('/rpc', { ...auth, host: hostHeader(), origin: 'null' })).toBe(403);
    expect(await upgradeStatus('/rpc', { ...auth, host: hostHeader(), origin: 'https://allowed.example' })).toBe(101);
    // A refused Host is refused before the token is even looked at.
    expect(await upgradeStatus('/rpc', { host: `rebound.example:${port}` })).toBe(403);
  });

  it("accepts the server's own origin (the inspector page): exactly http:// and the Host it accepted, nothing wider", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect(await upgradeStatus('/rpc', { ...auth, host: hostHeader(), origin: `http://127.0.0.1:${port}` })).toBe(101);
    expect(await upgradeStatus('/rpc', { ...auth, host: `localhost:${port}`, origin: `http://localhost:${port}` })).toBe(101);
    // Another name of this machine, another port, another scheme: not the page's origin.
    expect(await upgradeStatus('/rpc', { ...auth, host: hostHeader(), origin: `http://localhost:${port}` })).toBe(403);
    expect(await upgradeStatus('/rpc', { ...auth, host: hostHeader(), origin: `http://127.0.0.1:${port + 1}` })).toBe(403);
    expect(await upgradeStatus('/rpc', { ...auth, host: hostHeader(), origin: `https://127.0.0.1:${port}` })).toBe(403);
    expect(await upgradeStatus('/rpc', { ...auth, host: hostHeader(), origin: `http://127.0.0.1:${port}.evil.example` })).toBe(403);
    // A rebinding page is its own origin, but its Host is refused first.
    expect(await upgradeStatus('/rpc', { ...auth, host: `rebound.example:${port}`, origin: `http://rebound.example:${port}` })).toBe(403);
    // The same origin still needs the token, or the cookie /inspector?token= sets.
    expect(await upgradeStatus('/rpc', { host: hostHeader(), origin: `http://127.0.0.1:${port}` })).toBe(401);
    const trade = await fetch(`http://127.0.0.1:${port}/inspector?token=${encodeURIComponent(TOKEN)}`, { redirect: 'manual' });
    const cookie = (trade.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(await upgradeStatus('/rpc', { host: hostHeader(), origin: `http://127.0.0.1:${port}`, cookie })).toBe(101);
    expect(await upgradeStatus('/rpc', { host: hostHeader(), cookie: `other=1; ${cookie}` })).toBe(101);
    expect(await upgradeStatus('/rpc', { host: hostHeader(), cookie: `${cookie}x` })).toBe(401);
    expect(await upgradeStatus('/rpc', { host: hostHeader(), cookie: `tabvisor_inspector=${encodeURIComponent(TOKEN)}` })).toBe(401);
    // The metrics take the cookie too; /health needs nothing.
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
  });

  it('closes a connection that sends more than maxPayload with 1009; other clients go on', async () => {
    const ws = new WebSocket(h.tv.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'system.hello', params: { pad: 'x'.repeat(1024 * 1024) } }));
    expect(await closed).toBe(1009);
    expect((await h.client.call('system.health')).status).toBeDefined();
  });

  it('answers 10,000 unknown fields with -32602 naming a few, not with an answer bigger than the request', async () => {
    const ws = new WebSocket(h.tv.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const params = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`field${i}`, i]));
    const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tab.list', params }));
    const text = await reply;
    expect(text.length).toBeLessThan(1_000);
    expect(JSON.parse(text)).toMatchObject({ id: 1, error: { code: -32602, data: { path: 'params', expected: 'no field field0, field1, field2, field3, field4, field5, field6, field7, field8, field9 (and 9990 more)' } } });
    ws.close();
  });

  it('answers requests beyond the in-flight limit with -32001 {limit, value}, and the ones in flight finish', async () => {
    const { instanceId } = await h.client.call('instance.create', {});
    const { tabId } = await h.client.call('tab.open', { instanceId, url: h.pages.url('/page/idle') });
    // Four actions that wait for an element that never comes hold all four slots.
    const waiting = Array.from({ length: 4 }, () => rpcError(h.client.call('tab.action', { tabId, action: 'click', selector: '#never', timeoutMs: 1500 })));
    const refused = await rpcError(h.client.call('system.health'));
    expect(refused.code).toBe(-32001);
    expect(refused.data).toEqual({ limit: 4, value: 4 });
    // Another connection has its own slots.
    const other = await h.connectAnother('other');
    expect((await other.call('system.health')).status).toBeDefined();
    for (const error of await Promise.all(waiting)) expect(error.code).toBe(-32003);
    // Slots are given back.
    expect((await h.client.call('system.health')).status).toBeDefined();
    await h.client.call('instance.stop', { instanceId });
  });

  it('refuses an instance beyond --max-instances with -32001 {limit, value}; a stopped one frees its place', async () => {
    const small = await startTabvisor({ port: 0, maxInstances: 1, defaults: { hardMemoryMb: 2048 } });
    try {
      const client = await connect(small.url, { reconnect: false });
      const { instanceId } = await client.call('instance.create', {});
      const refused = await rpcError(client.call('instance.create', {}));
      expect(refused.code).toBe(-32001);
      expect(refused.data).toEqual({ limit: 1, value: 1, resource: 'instances' });
      expect((await client.call('system.hello')).limits.maxInstances).toBe(1);
      await client.call('instance.stop', { instanceId });
      const again = await client.call('instance.create', {});
      await client.call('instance.stop', { instanceId: again.instanceId });
      await client.close();
    } finally {
      await small.close();
    }
  });

  it('lets tabs go to the URL schemes it is configured for, and only those', async () => {
    const open = await startTabvisor({ port: 0, server: { urlPolicy: { schemes: ['http:', 'file:'] } } });
    try {
      const client = await connect(open.url, { reconnect: false });
      const { instanceId } = await client.call('instance.create', {});
      const { tabId } = await client.call('tab.open', { instanceId, url: 'about:blank' });
      expect((await client.call('tab.navigate', { tabId, url: 'file:///etc/hostname' })).url).toBe('file:///etc/hostname');
      for (const url of ['https://example.com/', 'data:text/html,x', 'chrome://version', 'javascript:alert(1)']) {
        const refused = await rpcError(client.call('tab.navigate', { tabId, url }));
        expect(refused.code).toBe(-32002);
        expect(refused.data).toMatchObject({ reason: expect.stringMatching(/is not allowed/) });
      }
      await client.call('instance.stop', { instanceId });
      await client.close();
    } finally {
      await open.close();
    }
  });

  it('will not listen beyond loopback without a token, and says why', async () => {
    expect(() => assertBindable('127.0.0.1', undefined)).not.toThrow();
    expect(() => assertBindable('localhost', undefined)).not.toThrow();
    expect(() => assertBindable('::1', undefined)).not.toThrow();
    expect(() => assertBindable('0.0.0.0', undefined)).toThrow(/refusing to listen on 0\.0\.0\.0 without a token/);
    expect(() => assertBindable('192.168.1.10', '')).toThrow(/--token/);
    expect(() => assertBindable('0.0.0.0', 't')).not.toThrow();
    await expect(startTabvisor({ host: '0.0.0.0', port: 0 })).rejects.toThrow(/without a token/);
    // With a token it listens on every address, and the token is what lets a client in.
    const open = await startTabvisor({ host: '0.0.0.0', port: 0, server: { token: TOKEN } });
    try {
      const url = `ws://127.0.0.1:${open.server.port}/rpc`;
      const client = await connect(url, { token: TOKEN, reconnect: false });
      expect((await client.call('system.hello')).protocol).toBe(1);
      await client.close();
      await expect(connect(url, { reconnect: false })).rejects.toThrow(/401/);
    } finally {
      await open.close();
    }
  });
});
