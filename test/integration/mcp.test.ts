// MCP for agents with the SDK's own Client: over stdio (`tabvisor mcp`, the compiled CLI, as an
// agent host launches it, against this harness's daemon) and over streamable HTTP at /mcp.
// A form filled and submitted by refs read from the snapshot text, sessions that cannot see
// each other's tabs, and a browser killed mid-session that the next call waits for.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './processes.js';
import { rpcError, startHarness, type Harness } from './harness.js';

let h: Harness;
let stdio: Client;
let stdioTransport: StdioClientTransport;
let http: Client;
let httpTransport: StreamableHTTPClientTransport;
const stderr: string[] = [];

const FORM = `<!doctype html><title>signup</title>
<form onsubmit="event.preventDefault(); document.getElementById('out').textContent = 'welcome ' + this.who.value + ' (' + this.plan.value + (this.news.checked ? ', news' : '') + ')'">
  <label>Your name <input name=who></label>
  <label>Plan <select name=plan><option value=free>Free</option><option value=pro>Pro</option></select></label>
  <label><input type=checkbox name=news> Newsletter</label>
  <button>Sign up</button>
</form><p id=out>nobody yet</p>
<button onclick="document.getElementById('out').textContent = 'deleted: ' + confirm('Delete everything?')">Delete</button>`;

beforeAll(async () => {
  h = await startHarness();
  stdioTransport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--url', h.tv.url, '--no-embedded', '--log-level', 'info'], stderr: 'pipe' });
  stdioTransport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  stdio = new Client({ name: 'stdio-agent', version: '1.0.0' });
  await stdio.connect(stdioTransport);
  httpTransport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${h.tv.server.port}/mcp`));
  http = new Client({ name: 'http-agent', version: '1.0.0' });
  await http.connect(httpTransport);
});
afterAll(async () => {
  await stdio?.close();
  await http?.close();
  await h?.close();
});

async function tool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ text: string; error: boolean; result: CallToolResult }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
  return { text, error: result.isError === true, result };
}
/** The ref of the line with this role and quoted name in a snapshot text. */
function refOf(text: string, role: string, name: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`- ${role} ${JSON.stringify(name)}`));
  const ref = line && /\[ref=(e\d+)\]/.exec(line)?.[1];
  if (!ref) throw new Error(`no ${role} ${JSON.stringify(name)} in:\n${text}`);
  return ref;
}
const tabIdIn = (text: string) => /### Tab (t-[\w-]+)/.exec(text)?.[1] as string;

/** What an agent does with a form: open it, fill it by refs, submit, read the result, answer a dialog. */
async function formFlow(client: Client, path: string): Promise<void> {
  const opened = await tool(client, 'browser_navigate', { url: h.pages.put(path, FORM) });
  expect(opened.error).toBe(false);
  expect(opened.text).toContain(`Now at ${h.pages.url(path)} (HTTP 200), title "signup"`);
  expect(opened.text).toMatch(/^- textbox "Your name" \[ref=e\d+\]$/m);
  expect(opened.text).toMatch(/^- combobox "Plan" value="Free"( \[collapsed\])? \[ref=e\d+\]$/m);
  expect(opened.text).toMatch(/^- checkbox "Newsletter" \[unchecked\] \[ref=e\d+\]$/m);
  const filled = await tool(client, 'browser_fill_form', {
    fields: [
      { name: 'Your name', type: 'textbox', ref: refOf(opened.text, 'textbox', 'Your name'), value: 'Ada' },
      { name: 'Plan', type: 'combobox', ref: refOf(opened.text, 'combobox', 'Plan'), value: 'Pro' },
      { name: 'Newsletter', type: 'checkbox', ref: refOf(opened.text, 'checkbox', 'Newsletter'), value: 'true' },
    ],
  });
  expect(filled.error).toBe(false);
  expect(filled.text).toMatch(/^- textbox "Your name" value="Ada" \[ref=e\d+\]$/m);
  expect(filled.text).toMatch(/^- checkbox "Newsletter" \[checked\] \[ref=e\d+\]$/m);
  const sent = await tool(client, 'browser_click', { element: 'Sign up button', ref: refOf(filled.text, 'button', 'Sign up') });
  expect(sent.error).toBe(false);
  const seen = await tool(client, 'browser_wait_for', { text: 'welcome Ada (pro, news)' });
  expect(seen.text).toContain('Saw "welcome Ada (pro, news)"');

  // A dialog the page opens is held for browser_handle_dialog.
  const asked = await tool(client, 'browser_click', { ref: refOf(sent.text, 'button', 'Delete') });
  expect(asked.text).toContain('a confirm dialog opened: "Delete everything?"');
  const blocked = await tool(client, 'browser_snapshot');
  expect(blocked.error).toBe(true);
  expect(blocked.text).toMatch(/Error -32004: .*confirm dialog is open/);
  const answered = await tool(client, 'browser_handle_dialog', { accept: true });
  expect(answered.text).toContain('Accepted the confirm dialog "Delete everything?"');
  expect((await tool(client, 'browser_wait_for', { text: 'deleted: true' })).error).toBe(false);
}

describe('MCP over stdio (tabvisor mcp)', () => {
  it('lists the playwright-mcp tool names and the fleet tools; browser_evaluate only where evaluation is allowed', async () => {
    const { tools } = await stdio.listTools();
    const names = tools.map((t) => t.name);
    for (const name of ['browser_navigate', 'browser_snapshot', 'browser_click', 'browser_type', 'browser_fill_form', 'browser_select_option', 'browser_hover', 'browser_press_key', 'browser_take_screenshot', 'browser_tabs', 'browser_wait_for', 'browser_navigate_back', 'browser_console_messages', 'browser_network_requests', 'browser_handle_dialog', 'browser_file_upload', 'browser_pdf_save', 'tabvisor_instances', 'tabvisor_health']) {
      expect(names).toContain(name);
    }
    expect(names).not.toContain('browser_evaluate');
    const click = tools.find((t) => t.name === 'browser_click')!;
    expect(Object.keys(click.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['element', 'ref', 'tabId']));
  });

  it('opens a tab on a form, fills and submits it by refs from the snapshot text, reads the result, and answers a dialog', async () => {
    await formFlow(stdio, '/signup');
  });

  it('pages a long snapshot within a token budget, and a stale ref fails clearly', async () => {
    const links = Array.from({ length: 300 }, (_, i) => `<a href="/page/p${i}">link number ${i}</a>`).join(' ');
    await tool(stdio, 'browser_navigate', { url: h.pages.put('/long', `<title>long</title>${links}`) });
    const first = await tool(stdio, 'browser_snapshot', { maxTokens: 1_000 });
    expect(first.text.length / 4).toBeLessThan(1_000 + 50);
    const pages = Number(/page 1 of (\d+)/.exec(first.text)?.[1]);
    expect(pages).toBeGreaterThan(3);
    const snapshotId = /Snapshot (s-\d+)/.exec(first.text)?.[1];
    const last = await tool(stdio, 'browser_snapshot', { maxTokens: 1_000, page: pages });
    expect(last.text).toContain(`Snapshot ${snapshotId}`);
    expect(last.text).toContain('"link number 299"');
    expect(last.text).not.toContain('"link number 0"');
    const all = [first.text, last.text];
    for (let page = 2; page < pages; page++) all.push((await tool(stdio, 'browser_snapshot', { maxTokens: 1_000, page })).text);
    const links299 = all.join('\n').match(/^- link "link number \d+" \[ref=e\d+\]$/gm) ?? [];
    expect(links299).toHaveLength(300);
    expect((await tool(stdio, 'browser_snapshot', { page: pages + 5, maxTokens: 1_000 })).error).toBe(true);

    const ref = refOf(first.text, 'link', 'link number 3');
    await tool(stdio, 'browser_navigate', { url: h.pages.url('/page/elsewhere') });
    const stale = await tool(stdio, 'browser_click', { ref });
    expect(stale.error).toBe(true);
    // The page navigated and was snapshotted since: the old document's refs are gone from the book.
    expect(stale.text).toMatch(/^Error -32000: ref e\d+ is not in the recent snapshots of tab t-[\w-]+: take a new snapshot/);
    // Without a snapshot since, the ref is looked up and found gone from the page.
    const fresh = await tool(stdio, 'browser_navigate', { url: h.pages.put('/gone', '<title>gone</title><button onclick="this.remove()">Vanish</button>') });
    const vanish = refOf(fresh.text, 'button', 'Vanish');
    await stdio.callTool({ name: 'browser_click', arguments: { ref: vanish } });
    const gone = await tool(stdio, 'browser_hover', { ref: vanish });
    expect(gone.text).toMatch(/^Error -32000: ref e\d+ no longer resolves: the element is gone or the page navigated; take a new snapshot/);
  });
});

describe('MCP over streamable HTTP at /mcp', () => {
  it('lists the same tools, and an agent fills and submits the form there too', async () => {
    const names = (await http.listTools()).tools.map((t) => t.name);
    expect(names).toEqual((await stdio.listTools()).tools.map((t) => t.name));
    await formFlow(http, '/signup-http');
  });

  it('is a session of its own: it sees none of the stdio session\'s tabs and cannot reach them', async () => {
    const mine = await tool(http, 'browser_navigate', { url: h.pages.url('/page/http-side') });
    expect(mine.error).toBe(false);
    const httpTab = tabIdIn(mine.text);
    const stdioTab = tabIdIn((await tool(stdio, 'browser_navigate', { url: h.pages.url('/page/stdio-side') })).text);
    const stdioTabs = await tool(stdio, 'browser_tabs', { action: 'list' });
    expect(stdioTabs.text).toContain(stdioTab);
    expect(stdioTab).toMatch(/^t-/);
    const listed = await tool(http, 'browser_tabs', { action: 'list' });
    expect(listed.text).toContain(httpTab);
    expect(listed.text).not.toContain(stdioTab);
    expect(stdioTabs.text).not.toContain(httpTab);
    const reach = await tool(http, 'browser_snapshot', { tabId: stdioTab });
    expect(reach.error).toBe(true);
    expect(reach.text).toContain(`tab ${stdioTab} is not one of this session's tabs`);
    const instances = await tool(http, 'tabvisor_instances');
    expect(instances.text.match(/^- i-/gm)).toHaveLength(1);
    // The control channel agrees: the HTTP session's instance is owned by it, not by the harness.
    expect((await rpcError(h.client.call('tab.close', { tabId: httpTab }))).code).toBe(-32002);
  });

  it('follows the channel\'s Origin rule', async () => {
    const refused = await fetch(`http://127.0.0.1:${h.tv.server.port}/mcp`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(403);
    const stray = await fetch(`http://127.0.0.1:${h.tv.server.port}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', 'mcp-session-id': 'nope' }, body: '{}' });
    expect(stray.status).toBe(404);
  });
});

describe('tabvisor mcp without a daemon', () => {
  it('starts an embedded tabvisor when nothing answers at --url (browser_evaluate listed when it allows evaluation), and --no-embedded fails instead', async () => {
    const nothing = (await h.pages.closedPortUrl()).replace('http:', 'ws:') + 'rpc';
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--url', nothing, '--allow-evaluate', '--log-level', 'info'], stderr: 'pipe' });
    const log: string[] = [];
    transport.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    const client = new Client({ name: 'embedded-agent', version: '1.0.0' });
    await client.connect(transport);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('browser_evaluate');
      const health = await tool(client, 'tabvisor_health');
      expect(JSON.parse(health.text)).toMatchObject({ status: 'ok', instances: {} });
      expect(log.join('')).toContain('MCP session on an embedded tabvisor');
    } finally {
      await client.close();
    }
    const refused = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--url', nothing, '--no-embedded'], stderr: 'pipe' });
    const failed = new Client({ name: 'no-daemon', version: '1.0.0' });
    const error = await failed.connect(refused).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    await failed.close();
  });
});

describe('recovery under an agent', () => {
  it('a browser killed mid-session recovers, and the next tool call waits for it and works on the same tab id', async () => {
    const at = await tool(stdio, 'browser_navigate', { url: h.pages.put('/recover', FORM) });
    const tabId = tabIdIn(at.text);
    // The agent's tab is the MCP session's, not this client's: an operator's view (all).
    const { instanceId } = (await h.client.call('tab.list', { all: true })).tabs.find((t) => t.tabId === tabId)!;
    const { pid } = await h.client.call('instance.get', { instanceId, all: true });
    const mark = h.events.mark();
    process.kill(pid as number, 'SIGKILL');
    await h.events.waitFor({ actor: instanceId, to: 'recovering' }, mark);
    const after = await tool(stdio, 'browser_snapshot', { tabId });
    expect(after.error).toBe(false);
    expect(after.text).toMatch(new RegExp(`tab ${tabId} was recovered \\(.+\\) and is at ${h.pages.url('/recover').replace(/[.?]/g, '\\$&')}`));
    expect(tabIdIn(after.text)).toBe(tabId);
    const typed = await tool(stdio, 'browser_type', { ref: refOf(after.text, 'textbox', 'Your name'), text: 'Grace', submit: true });
    expect(typed.error).toBe(false);
    expect((await tool(stdio, 'browser_wait_for', { text: 'welcome Grace (free)' })).error).toBe(false);
    expect((await h.client.call('instance.get', { instanceId, all: true })).restarts).toBe(1);
  });

  it('a session that ends stops its instances', async () => {
    const all = { all: true };
    const before = (await h.client.call('instance.list', all)).instances.map((i) => i.instanceId);
    expect(before).toHaveLength(2);
    await httpTransport.terminateSession();
    await http.close();
    await stdio.close();
    for (let i = 0; i < 100 && (await h.client.call('instance.list', all)).instances.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await h.client.call('instance.list', all)).instances).toEqual([]);
    expect(stderr.join('')).toContain('MCP session ending');
  });
});
