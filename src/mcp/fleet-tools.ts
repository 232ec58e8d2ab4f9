// tabvisor's own tools: the session's supervised browsers (list, create with a storage state,
// restart, stop), the fleet's health, session state to reuse a login, downloads; and
// browser_close, which stops the session's browsers.
import { z } from 'zod';
import { ErrorCode, TabvisorError } from '../errors.js';
import { parseJson, text, type ToolDefiner } from './define-tool.js';
import type { McpSession } from './session.js';

const tabIdArg = z.string().optional().describe('the tab (default: the current tab)');

export function registerFleetTools(tool: ToolDefiner, session: McpSession): void {
  tool('browser_close', "Close the session's browsers and tabs.", {}, async () => {
    await session.close();
    return [text('Closed every browser of this session')];
  });
  tool(
    'tabvisor_instances',
    "This session's supervised browsers: list them, create one (optionally with a storageState to start logged in), restart or stop one. A browser that crashes or hangs is relaunched with its tabs under the same ids.",
    {
      action: z.enum(['list', 'create', 'restart', 'stop']).optional().describe('default list'),
      instanceId: z.string().optional().describe('restart, stop: which one'),
      name: z.string().optional().describe('create: its name'),
      storageState: z.string().optional().describe('create: the JSON text tabvisor_storage_state gave'),
    },
    async ({ action = 'list', instanceId, name, storageState }, { signal }) => {
      const mine = (id: string | undefined) => {
        if (!id || !session.instances.includes(id)) throw new TabvisorError(ErrorCode.NotFound, `instance ${id ?? '(none given)'} is not one of this session's`, { instanceId: id });
        return id;
      };
      if (action === 'create') await session.createInstance({ ...(name ? { name } : {}), ...(storageState ? { storageState: parseJson(storageState, 'storageState') } : {}) }, signal);
      else if (action === 'restart') await session.call('instance.restart', { instanceId: mine(instanceId) }, signal);
      else if (action === 'stop') {
        await session.call('instance.stop', { instanceId: mine(instanceId) }, signal);
        session.instances.splice(session.instances.indexOf(instanceId as string), 1);
        for (const [tabId, of] of session.tabs) if (of === instanceId) session.forgetTab(tabId);
      }
      const lines = [];
      for (const id of session.instances) {
        const i = await session.call('instance.get', { instanceId: id }, signal);
        lines.push(`- ${i.instanceId} ${JSON.stringify(i.name)} [${i.state}] pid ${i.pid ?? '-'}, ${i.tabs} tabs, ${i.memory.pssMb} MB, ${i.restarts} restarts (${i.reason})`);
      }
      return [text(['### Instances', ...(lines.length ? lines : ['(none yet: the first browser_navigate creates one)'])].join('\n'))];
    },
  );
  tool(
    'tabvisor_health',
    'The fleet: status, instances by state, uptime, analysis workers.',
    {},
    async (_args, { signal }) => [text(JSON.stringify(await session.call('system.health', undefined, signal), null, 2))],
    true,
  );
  tool(
    'tabvisor_storage_state',
    'The session state (cookies, localStorage) of a browser of this session, as JSON: give it to tabvisor_instances create to start a new browser logged in.',
    { instanceId: z.string().optional().describe("default: the current tab's") },
    async ({ instanceId }, { signal }) => {
      const id = instanceId ?? (session.current ? session.tabs.get(session.current) : session.instances[0]);
      if (!id || !session.instances.includes(id)) throw new TabvisorError(ErrorCode.NotFound, `instance ${id ?? '(none)'} is not one of this session's`, { instanceId: id });
      return [text(JSON.stringify(await session.call('instance.storageState', { instanceId: id }, signal)))];
    },
    true,
  );
  tool(
    'tabvisor_downloads',
    "Files the tab's pages downloaded; with downloadId, the file itself (an embedded resource).",
    { downloadId: z.string().optional(), tabId: tabIdArg },
    async ({ downloadId, tabId }, { signal }) => {
      if (downloadId !== undefined) {
        const file = await session.call('download.get', { downloadId }, signal);
        return [text(`${file.name}: ${file.bytes} bytes from ${file.url}`), { type: 'resource', resource: { uri: `tabvisor://downloads/${file.downloadId}/${encodeURIComponent(file.name)}`, mimeType: 'application/octet-stream', blob: file.data } }];
      }
      const id = await session.tab(tabId, signal);
      const { downloads } = await session.call('tab.downloads', { tabId: id }, signal);
      const lines = downloads.map((d) => `- ${d.downloadId} ${JSON.stringify(d.name)} [${d.state}] ${d.receivedBytes} bytes${d.reason ? ` (${d.reason})` : ''}`);
      return [text(lines.length ? lines.join('\n') : '(no downloads)')];
    },
    true,
  );}
