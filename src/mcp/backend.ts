// How an MCP session reaches tabvisor: one `call` with the protocol's method names and types,
// over the control channel (the typed client, for `tabvisor mcp` on stdio) or in-process
// through the same handlers the channel dispatches to (for /mcp on the daemon). Tool logic is
// written once, against this.
import type { TabvisorClient } from '../client/index.js';
import { ErrorCode, TabvisorError } from '../errors.js';
import type { MethodName, ParamsOf, ResultOf } from '../protocol/methods.js';
import type { Handlers } from '../server/handlers.js';
import { invokeMethod } from '../server/rpc.js';

export interface Backend {
  /** Fails with an error carrying a PROTOCOL.md `code` (and `data`), whichever way it went. */
  call<M extends MethodName>(method: M, params: ParamsOf<M>, signal?: AbortSignal): Promise<ResultOf<M>>;
}

/** Over the control channel. A call cannot be withdrawn there: the signal only stops the wait. */
export function clientBackend(client: TabvisorClient): Backend {
  return {
    call: (method, params, signal) => {
      const answer = (client.call as (m: MethodName, p: unknown) => Promise<never>)(method, params);
      if (!signal) return answer;
      answer.catch(() => {}); // abandoned with the signal: its answer is not wanted
      return Promise.race([answer, new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }))]);
    },
  };
}

/** In the daemon's process, as `owner`, until `closed` ends (the session is gone). */
export function inProcessBackend(handlers: Handlers, owner: string, closed: AbortSignal): Backend {
  const refuse = () => {
    throw new TabvisorError(ErrorCode.MethodNotFound, 'event subscriptions are not available to MCP sessions');
  };
  return {
    call: async (method, params, signal) =>
      (await invokeMethod(method, params, handlers, {
        owner,
        signal: signal ? AbortSignal.any([closed, signal]) : closed,
        subscribe: refuse,
        unsubscribe: () => false,
      })) as never,
  };
}

/** The PROTOCOL.md code of a failure from either backend, if it has one. */
export function codeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function dataOf(error: unknown): Record<string, unknown> | undefined {
  const data = (error as { data?: unknown } | null)?.data;
  return data && typeof data === 'object' ? (data as Record<string, unknown>) : undefined;
}
