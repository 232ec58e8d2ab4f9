// One error class for everything a client can be told: a PROTOCOL.md code plus structured
// data. The server maps it to a JSON-RPC error once; nothing string-matches messages.

export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  NotFound: -32000,
  Capacity: -32001,
  Forbidden: -32002,
  Timeout: -32003,
  Unavailable: -32004,
  PageFailed: -32005,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export class TabvisorError extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    message: string,
    readonly data?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TabvisorError';
  }
}

export const notFound = (what: string, data: { instanceId?: string; tabId?: string; ref?: string }) =>
  new TabvisorError(ErrorCode.NotFound, `${what} not found`, data);

export const unavailable = (what: string, state: string, retryAfterMs?: number) =>
  new TabvisorError(ErrorCode.Unavailable, `${what} is ${state}`, retryAfterMs === undefined ? { state } : { state, retryAfterMs });

/** -32001 `{ limit, value }`, with `resource` naming what ran out when it is not plain from the method
 * ('instances', 'memory', 'fds', 'tabs'). */
export const capacity = (message: string, limit: number, value: number, resource?: string) =>
  new TabvisorError(ErrorCode.Capacity, message, resource === undefined ? { limit, value } : { limit, value, resource });

export const forbidden = (reason: string) => new TabvisorError(ErrorCode.Forbidden, reason, { reason });

export const timedOut = (what: string, timeoutMs: number) =>
  new TabvisorError(ErrorCode.Timeout, `${what} timed out after ${timeoutMs} ms`, { timeoutMs });

export const pageFailed = (message: string, data: { url?: string; status?: number; cause: string }) =>
  new TabvisorError(ErrorCode.PageFailed, message, data);

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
