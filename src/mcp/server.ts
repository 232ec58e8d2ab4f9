// An MCP server over one session: the SDK's McpServer with tabvisor's tools registered. The
// SDK stays behind this file and tools.ts (a 2.x split into separate packages is coming).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpSession } from './session.js';
import { registerTools, type ToolOptions } from './tools.js';

const INSTRUCTIONS = `tabvisor drives supervised headless Chrome. Start with browser_navigate; read the page with browser_snapshot (one line per element with [ref=eN]) and act by ref. Tabs keep their ids when their browser crashes or hangs: tabvisor relaunches it and a call on a recovering tab waits for it. Dialogs are held for browser_handle_dialog.`;

export function createMcpServer(session: McpSession, options: ToolOptions & { version: string }): McpServer {
  const server = new McpServer({ name: 'tabvisor', version: options.version }, { instructions: INSTRUCTIONS });
  registerTools(server, session, options);
  return server;
}
