// How a tool is registered with the SDK and how its answers look: text parts, the recovery
// note first, and any failure as a tool error that starts with its PROTOCOL.md code.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { ErrorCode, TabvisorError, errorMessage } from '../errors.js';
import { codeOf, dataOf } from './backend.js';

export type Content = CallToolResult['content'];
export type Extra = { signal: AbortSignal };
export type ToolDefiner = <S extends z.ZodRawShape>(
  name: string,
  description: string,
  shape: S,
  run: (args: z.output<z.ZodObject<S>>, extra: Extra) => Promise<Content>,
  readOnly?: boolean,
) => void;

export function defineTool(server: McpServer): ToolDefiner {
  return (name, description, shape, run, readOnly = false) => {
    server.registerTool(name, { description, inputSchema: shape, annotations: { readOnlyHint: readOnly } }, (async (args: never, extra: Extra) => {
      try {
        return { content: await run(args, extra) };
      } catch (error) {
        return { isError: true, content: [text(describeError(error))] };
      }
    }) as never);
  };
}

export const text = (value: string) => ({ type: 'text' as const, text: value });

/** The recovery note, if any, first. */
export const noted = (note: string | undefined, value: string) => (note ? `${note}\n${value}` : value);

export function parseJson(value: string, path: string): never {
  try {
    return JSON.parse(value) as never;
  } catch (error) {
    throw new TabvisorError(ErrorCode.InvalidParams, `invalid params: ${path} is not JSON (${errorMessage(error)})`, { path, expected: 'JSON text' });
  }
}

/** A failure as the agent reads it: the code, what went wrong, and where. */
function describeError(error: unknown): string {
  const code = codeOf(error);
  const data = dataOf(error);
  return `Error${code !== undefined ? ` ${code}` : ''}: ${errorMessage(error)}${data ? ` ${JSON.stringify(data)}` : ''}`;
}
