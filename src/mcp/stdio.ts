// `tabvisor mcp`: MCP over stdio for an agent host that launches it. It talks to a running
// tabvisor over the control channel, or starts an embedded one when none answers, and is
// one session: what it opens is its own, and goes when the agent host closes it.
import { randomUUID } from 'node:crypto';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Logger } from 'pino';
import { RpcError, connect, type TabvisorClient } from '../client/index.js';
import { errorMessage } from '../errors.js';
import { packageVersion, startTabvisor, type Tabvisor } from '../index.js';
import { clientBackend } from './backend.js';
import { createMcpServer } from './server.js';
import { McpSession } from './session.js';

export interface StdioOptions {
  url: string;
  token?: string;
  /** The client name the session's instances are owned by (default: a new one per process). */
  client?: string;
  /** auto: embedded when nothing answers at url; always; never. */
  embedded: 'auto' | 'always' | 'never';
  /** The embedded runtime's state dir (default: none, temporary profiles). */
  stateDir?: string;
  /** The embedded runtime allows tab.evaluate. */
  allowEvaluate: boolean;
  log: Logger;
}

/** Serve until stdin closes or a signal comes; resolves once everything it started is stopped. */
export async function runStdio(options: StdioOptions): Promise<void> {
  const { log } = options;
  const name = options.client ?? `mcp-${randomUUID().slice(0, 8)}`;
  let embedded: Tabvisor | null = null;
  let client: TabvisorClient | null = null;
  if (options.embedded !== 'always') {
    try {
      client = await connect(options.url, { token: options.token, client: name });
      log.info({ url: options.url, client: name }, 'MCP session on the running tabvisor');
    } catch (error) {
      // A server that answered and refused (token, origin) is not replaced by an embedded one.
      if (error instanceof RpcError || options.embedded === 'never') throw new Error(`cannot use tabvisor at ${options.url}: ${errorMessage(error)}`, { cause: error });
    }
  }
  if (!client) {
    embedded = await startTabvisor({
      port: 0,
      log,
      server: { allowEvaluate: options.allowEvaluate },
      ...(options.stateDir ? { persistence: { stateDir: options.stateDir } } : {}),
    });
    client = await connect(embedded.url, { client: name });
    log.info({ url: embedded.url, client: name }, 'MCP session on an embedded tabvisor');
  }
  const { allowEvaluate } = await client.call('system.hello');
  const session = new McpSession(clientBackend(client));
  const server = createMcpServer(session, { allowEvaluate, localFiles: true, version: packageVersion() });
  const transport = new StdioServerTransport();
  const ended = new Promise<string>((resolve) => {
    process.stdin.once('end', () => resolve('stdin closed'));
    transport.onclose = () => resolve('transport closed');
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await server.connect(transport);
  const why = await ended;
  log.info({ why }, 'MCP session ending: stopping its instances');
  await session.close();
  await server.close().catch(() => {}); // the transport may be gone already
  await client.close();
  await embedded?.close();
}
