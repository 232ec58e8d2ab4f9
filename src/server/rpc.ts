// JSON-RPC 2.0 framing: parse a frame (single or batch), validate params against the
// method's schema, make the call's context (owner, signal, deadline) once, run the handler,
// and map every failure to a coded error exactly once.
import type { z } from 'zod';
import { ErrorCode, TabvisorError, errorMessage, timedOut } from '../errors.js';
import { deadlineOf, isMethodName, methods, type MethodName } from '../protocol/methods.js';
import { linkedSignal } from '../wait.js';
import type { Call, Handlers } from './handlers.js';

type Id = string | number | null;
export interface RpcResponse {
  jsonrpc: '2.0';
  id: Id;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export interface DispatchOptions {
  /** Called when a call starts: true, or the cap and the count when the connection is full. */
  admit(): true | { limit: number; value: number };
  release(): void;
  onMethodDone?(method: string, ms: number, ok: boolean): void;
}

const MAX_BATCH = 100;

/** What a connection gives each of its calls: its owner, its end (the signal), its subscriptions. */
export type ConnectionContext = Call;

/** Handle one inbound frame; resolves to the reply frame, or null when nothing is owed. */
export async function dispatchFrame(text: string, handlers: Handlers, ctx: ConnectionContext, options: DispatchOptions): Promise<RpcResponse | RpcResponse[] | null> {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return failure(null, new TabvisorError(ErrorCode.ParseError, 'parse error: the frame is not valid JSON'));
  }
  if (Array.isArray(message)) {
    if (message.length === 0) return failure(null, new TabvisorError(ErrorCode.InvalidRequest, 'empty batch'));
    if (message.length > MAX_BATCH) {
      return failure(null, new TabvisorError(ErrorCode.Capacity, `batch larger than ${MAX_BATCH}`, { limit: MAX_BATCH, value: message.length }));
    }
    const replies = await Promise.all(message.map((m) => dispatchOne(m, handlers, ctx, options)));
    const owed = replies.filter((r): r is RpcResponse => r !== null);
    return owed.length ? owed : null;
  }
  return dispatchOne(message, handlers, ctx, options);
}

async function dispatchOne(message: unknown, handlers: Handlers, ctx: ConnectionContext, options: DispatchOptions): Promise<RpcResponse | null> {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return failure(null, new TabvisorError(ErrorCode.InvalidRequest, 'a request must be a JSON object'));
  }
  const request = message as Record<string, unknown>;
  const idValid = typeof request.id === 'string' || (typeof request.id === 'number' && Number.isFinite(request.id)) || request.id === null;
  const id: Id = idValid ? (request.id as Id) : null;
  const isNotification = !('id' in request);
  if (request.jsonrpc !== '2.0' || typeof request.method !== 'string' || ('id' in request && !idValid)) {
    return failure(id, new TabvisorError(ErrorCode.InvalidRequest, 'invalid request: needs jsonrpc "2.0", a string method and a string or number id'));
  }
  const method = request.method;
  if (!isMethodName(method)) {
    return isNotification ? null : failure(id, new TabvisorError(ErrorCode.MethodNotFound, `method not found: ${method.slice(0, 100)}`));
  }
  const admitted = options.admit();
  if (admitted !== true) {
    // A refused notification is dropped like a failed one: it is owed no reply, not even this.
    return isNotification ? null : failure(id, new TabvisorError(ErrorCode.Capacity, 'too many requests in flight on this connection', admitted));
  }
  const started = performance.now();
  try {
    const result = await invokeMethod(method, request.params, handlers, ctx);
    options.onMethodDone?.(method, performance.now() - started, true);
    return isNotification ? null : { jsonrpc: '2.0', id, result };
  } catch (error) {
    options.onMethodDone?.(method, performance.now() - started, false);
    return isNotification ? null : failure(id, error);
  } finally {
    options.release();
  }
}

/**
 * One call of a method: validate its params, make its context (the deadline joins the
 * caller's signal), run its handler. The WebSocket dispatcher and in-process callers (the
 * MCP endpoint) both come through here; failures are thrown as they are.
 */
export async function invokeMethod(method: MethodName, rawParams: unknown, handlers: Handlers, ctx: ConnectionContext): Promise<unknown> {
  let deadline: NodeJS.Timeout | undefined;
  let unlink: (() => void) | undefined;
  try {
    const params = validate(method, rawParams);
    const call = { ...ctx };
    const timeoutMs = deadlineOf(method, params);
    if (timeoutMs !== undefined) {
      const timer = new AbortController();
      deadline = setTimeout(() => timer.abort(timedOut(method, timeoutMs)), timeoutMs);
      const linked = linkedSignal(ctx.signal, timer.signal);
      call.signal = linked.signal;
      unlink = linked.dispose;
    }
    const handler = handlers[method] as (params: unknown, call: Call) => unknown;
    return await handler(params, call);
  } finally {
    clearTimeout(deadline);
    unlink?.();
  }
}

function validate(method: MethodName, params: unknown): unknown {
  const parsed = methods[method].params.safeParse(params);
  if (parsed.success) return parsed.data ?? {};
  const issue = parsed.error.issues[0];
  const path = ['params', ...(issue?.path ?? [])].map(String).join('.');
  const expected = issue ? describeExpected(issue) : 'valid params';
  throw new TabvisorError(ErrorCode.InvalidParams, `invalid params: ${path}: ${(issue?.message ?? 'invalid').slice(0, 300)}`, { path, expected });
}

/** What the field should have been, in words a client can act on. */
function describeExpected(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected;
    case 'too_big':
      return `at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : ''}`;
    case 'too_small':
      return `at least ${String(issue.minimum)}${issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : ''}`;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      // Named, but not all of 10,000: an answer must not be a hundred times its request.
      return `no field ${issue.keys.slice(0, 10).join(', ')}${issue.keys.length > 10 ? ` (and ${issue.keys.length - 10} more)` : ''}`;
    default:
      return issue.message;
  }
}

export function failure(id: Id, error: unknown): RpcResponse {
  if (error instanceof TabvisorError) {
    return { jsonrpc: '2.0', id, error: { code: error.code, message: error.message, ...(error.data ? { data: error.data } : {}) } };
  }
  return { jsonrpc: '2.0', id, error: { code: ErrorCode.Internal, message: `internal error: ${errorMessage(error)}` } };
}
