// Frames for the control-channel fuzz (fuzz.test.ts): a seeded generator of random and
// malformed frames, and the oracle that says, from JSON-RPC 2.0 and PROTOCOL.md, which
// replies each frame is owed. The generator may be sloppy; the oracle decides, and a guard
// keeps out what must never be sent (valid params for a method that changes the instance).
import { z } from 'zod';
import { ErrorCode } from '../../src/errors.js';
import { isMethodName, methods, type MethodName } from '../../src/protocol/methods.js';

export type Id = string | number | null;
/** What a reply may carry: a result ('ok') or an error code. */
export type Outcome = 'ok' | number;
/** One reply a frame is owed: its id, the outcomes allowed, the method whose result schema applies. */
export interface Owed {
  id: Id;
  outcomes: Outcome[];
  method?: MethodName;
}
export type Expectation = { kind: 'none' } | { kind: 'single'; owed: Owed } | { kind: 'batch'; owed: Owed[] };
export interface Frame {
  category: string;
  data: Buffer;
  binary: boolean;
  expect: Expectation;
}
/** What the fuzz may point at: the one real instance and tab (owned by another client). */
export interface World {
  instanceId: string;
  tabId: string;
  pageUrl: string;
  /** base64 PNGs, 1×1 and 2×1. */
  png1: string;
  png2: string;
}

const { ParseError, InvalidRequest, MethodNotFound, InvalidParams, NotFound, Capacity, Forbidden } = ErrorCode;
// rpc.ts answers a batch longer than this with one -32001 for the whole frame.
export const MAX_BATCH = 100;
// The server's in-flight cap can refuse any call to a known method.
const capped = (outcomes: Outcome[]): Outcome[] => [...outcomes, Capacity];

/** Frames are kept below maxPayload (1 MiB): beyond it the connection is closed, by design. */
const MAX_FRAME_BYTES = 1000 * 1024;

/** xorshift-multiply (mulberry32): small, fast, and the same sequence for the same seed. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  /** A category by weight. */
  weighted<T extends string>(weights: Record<T, number>): T {
    const entries = Object.entries(weights) as [T, number][];
    let r = this.next() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [name, w] of entries) if ((r -= w) < 0) return name;
    return (entries.at(-1) as [T, number])[0];
  }
}

/** JSON text spliced verbatim into a generated value: deep nesting, 1e400, -0, odd keys. */
class Raw {
  constructor(readonly text: string) {}
}
const raw = (text: string) => new Raw(text);
const deepArrays = (n: number) => raw('['.repeat(n) + ']'.repeat(n));
const deepObjects = (n: number) => raw('{"a":'.repeat(n) + '1' + '}'.repeat(n));
/** An own property literally named __proto__ (JSON.parse makes one; an object literal would not). */
function withProtoKey(obj: Record<string, unknown>, value: unknown): Record<string, unknown> {
  Object.defineProperty(obj, '__proto__', { value, enumerable: true, writable: true, configurable: true });
  return obj;
}

function serialize(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .map((k) => `${JSON.stringify(k)}:${serialize((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export const ODD_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\udbff', '\udc00x', '\ufeff', '\ufeffsystem.hello', '\u202esystem.hello',
  'مرحبا', '😀', '👩‍👩‍👧‍👦', '\u2028\u2029', '\\', '"', '\r\n', '\u001b[31m', 'i-', 't-', `i-${'x'.repeat(65)}`, 'i-../../etc',
  't-\u0000', 's-', 'e0', 'javascript:alert(1)', 'file:///etc/passwd', 'chrome://version', '%00', '${x}', '<script>', 'null', '0',
];
const ODD_NUMBERS: unknown[] = [1e308, -1e308, 2 ** 64, -(2 ** 64), 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 5e-324, -1, 0, 0.5, -0.5, 1.5, 600_001, 1e21];
const RAW_NUMBERS = ['1e400', '-1e400', '-0', '1E2', '0.0', '1e-400', '123456789012345678901234567890'].map(raw);
const METHOD_NAMES = Object.keys(methods) as MethodName[];
// Never given valid params: each would change the instance or start real browser work.
const SAFE_WHEN_VALID = new Set<MethodName>([
  'system.hello', 'system.health', 'instance.list', 'instance.get', 'tab.list', 'tab.snapshot', 'tab.screenshot', 'tab.text',
  'analysis.diff', 'analysis.audit', 'analysis.visualDiff', 'events.subscribe', 'events.unsubscribe',
]);

/** What a fuzz connection may expect of a call with valid params (it owns nothing). */
function validOutcomes(method: MethodName, params: Record<string, unknown> | undefined, world: World): Outcome[] | null {
  const instance = (id: unknown) => (id === undefined || id === world.instanceId ? 'ok' : NotFound);
  // Naming the world's instance (the harness client's, not shared) without all: true is touching it.
  const named = (id: unknown, all: unknown) => (id === world.instanceId && all !== true ? Forbidden : instance(id));
  const tab = (id: unknown) => (id === world.tabId ? Forbidden : NotFound);
  switch (method) {
    case 'system.hello':
    case 'system.health':
    case 'instance.list':
      return ['ok'];
    case 'instance.get':
    case 'tab.list':
      return [named(params?.instanceId, params?.all)];
    case 'events.subscribe':
      return [instance(params?.instanceId)];
    case 'tab.snapshot':
    case 'tab.screenshot':
    case 'tab.text':
    case 'analysis.diff':
    case 'analysis.audit':
      return [tab(params?.tabId)];
    case 'analysis.visualDiff':
      return params?.tabId === undefined ? ['ok', InvalidParams] : [tab(params.tabId)];
    case 'events.unsubscribe':
      return ['ok', NotFound];
    default:
      return null;
  }
}

const readableId = (id: unknown): id is Id => typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) || id === null;
export const idKey = (id: Id): string => JSON.stringify(id);

/** A call the oracle found in a frame, for the guard. */
interface Call {
  method: MethodName;
  valid: boolean;
  notification: boolean;
  /** Answered without waiting on anything but microtasks (no pool, no browser). */
  immediate: boolean;
}

function owedForOne(message: unknown, world: World, calls: Call[]): Owed | null {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return { id: null, outcomes: [InvalidRequest] };
  const request = message as Record<string, unknown>;
  const hasId = 'id' in request;
  const id = hasId && readableId(request.id) ? request.id : null;
  if (request.jsonrpc !== '2.0' || typeof request.method !== 'string' || (hasId && !readableId(request.id))) return { id, outcomes: [InvalidRequest] };
  const method = request.method;
  if (!isMethodName(method)) return hasId ? { id, outcomes: [MethodNotFound] } : null;
  const parsed = (methods[method].params as z.ZodType).safeParse(request.params);
  const params = parsed.data as Record<string, unknown> | undefined;
  const outcomes = parsed.success ? validOutcomes(method, params, world) : [InvalidParams];
  const pooled = method === 'analysis.visualDiff' && params?.tabId === undefined;
  calls.push({ method, valid: parsed.success, notification: !hasId, immediate: !parsed.success || !pooled });
  if (!hasId) return null;
  // Valid params of an unsafe method never get this far (see acceptable).
  return { id, outcomes: capped(outcomes ?? []), method };
}

/** The replies owed to a text frame, by JSON-RPC 2.0 (and rpc.ts's batch cap). */
function analyse(text: string, world: World): { expect: Expectation; calls: Call[] } {
  const calls: Call[] = [];
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { expect: { kind: 'single', owed: { id: null, outcomes: [ParseError] } }, calls };
  }
  if (Array.isArray(message)) {
    if (message.length === 0) return { expect: { kind: 'single', owed: { id: null, outcomes: [InvalidRequest] } }, calls };
    if (message.length > MAX_BATCH) return { expect: { kind: 'single', owed: { id: null, outcomes: [Capacity] } }, calls };
    const owed = message.map((m) => owedForOne(m, world, calls)).filter((o): o is Owed => o !== null);
    return { expect: owed.length ? { kind: 'batch', owed } : { kind: 'none' }, calls };
  }
  const owed = owedForOne(message, world, calls);
  return { expect: owed ? { kind: 'single', owed } : { kind: 'none' }, calls };
}

/** Null-id replies cannot be told apart, so each one owed must be one outcome, or one or -32001. */
export const countable = (o: Owed) => o.outcomes.length === 1 || (o.outcomes.length === 2 && o.outcomes[1] === Capacity);

/** The key a batch reply is found by: its readable ids, else the outcomes of its null-id replies. */
export function batchKey(owed: { id: Id; outcome: Outcome }[]): string {
  const ids = owed.filter((o) => o.id !== null).map((o) => idKey(o.id));
  return ids.length ? `ids ${ids.sort().join(' ')}` : `null ${owed.map((o) => String(o.outcome)).sort().join(' ')}`;
}

type Category =
  | 'invalid-json' | 'truncated-json' | 'empty' | 'binary' | 'wrong-shape' | 'odd-id' | 'unknown-method'
  | 'bad-params' | 'valid-call' | 'notification' | 'deep-nesting' | 'huge' | 'batch';

const WEIGHTS: Record<Category, number> = {
  'invalid-json': 8, 'truncated-json': 8, empty: 2, binary: 3, 'wrong-shape': 12, 'odd-id': 8, 'unknown-method': 7,
  'bad-params': 22, 'valid-call': 8, notification: 7, 'deep-nesting': 1.5, huge: 1, batch: 10,
};

const INVALID_JSON = [
  '{', '}', '[', ']', '[{]', '{"jsonrpc":"2.0",}', "{'jsonrpc':'2.0','id':1,'method':'system.hello'}", 'NaN', 'undefined', 'Infinity',
  '{"a":1} x', '// c\n{}', '/* c */ []', '{"jsonrpc":"2.0","id":1,"method":"system.hello"}{"jsonrpc":"2.0"}', '[1,]', '[,1]', '0x10',
  '01', '1.', '.5', '+1', '"\\x"', '"\\u12"', '"\\ud800', 'tru', 'nul', '{"id":1 "method":"x"}', '{"a"}', '{1:2}', '"a\nb"', '"\t"',
  '\ufeff{"jsonrpc":"2.0","id":"bom","method":"system.hello"}', '{"jsonrpc":"2.0","id":"nul","method":"system.hello\u0000"}',
  '\u00a0{}', '\u2028[]', '[[[[[[[[[[', ']]]]]]', '{"a":{"b":{"c":', '\u0000', '💥',
];
const NOT_ID: unknown[] = [{}, [], [1], { id: 1 }, true, false, raw('1e400'), raw('-1e400'), deepArrays(50)];

export class FrameSource {
  private readonly rng: Rng;
  private readonly used = new Set<string>();
  private counter = 0;
  readonly categories = new Map<string, number>();

  constructor(seed: number, private readonly world: World, private readonly name: string) {
    this.rng = new Rng(seed);
  }

  /** The next frame: random, but the same for the same seed. */
  next(): Frame {
    for (;;) {
      const category = this.rng.weighted(WEIGHTS);
      const frame = this.make(category);
      if (frame) {
        this.categories.set(category, (this.categories.get(category) ?? 0) + 1);
        return frame;
      }
    }
  }

  /** A request a barrier can wait on. */
  barrier(): Frame {
    return this.finish('barrier', this.request('system.hello', undefined, `${this.name}-barrier-${++this.counter}`)) as Frame;
  }

  private make(category: Category): Frame | null {
    const { rng } = this;
    switch (category) {
      case 'invalid-json':
        return this.finish(category, rng.chance(0.6) ? rng.pick(INVALID_JSON) : this.garbage());
      case 'truncated-json': {
        const text = serialize(rng.chance(0.7) ? this.anyRequest() : this.batchValue(2 + rng.int(4)));
        return this.finish(category, text.slice(0, rng.int(text.length)));
      }
      case 'empty':
        return this.finish(category, rng.pick(['', ' ', '\n', '\t\r\n ']));
      case 'binary': {
        const bytes = rng.chance(0.5) ? Buffer.from(serialize(this.anyRequest())) : Buffer.from(Array.from({ length: rng.int(64) }, () => rng.int(256)));
        return this.finish(category, bytes, true);
      }
      case 'wrong-shape':
        return this.finish(category, this.wrongShape());
      case 'odd-id':
        return this.finish(category, this.request(rng.pick(['system.hello', 'system.health', 'instance.list'] as const), undefined, this.oddId()));
      case 'unknown-method':
        return this.finish(category, this.request(this.unknownMethod(), rng.chance(0.5) ? this.junk(2) : undefined, rng.chance(0.2) ? NONE : this.freshId()));
      case 'bad-params': {
        const method = rng.pick(METHOD_NAMES);
        return this.finish(category, this.request(method, this.badParams(method), this.freshId()));
      }
      case 'valid-call': {
        const method = rng.pick([...SAFE_WHEN_VALID]);
        return this.finish(category, this.request(method, this.validParams(method), this.freshId()));
      }
      case 'notification':
        return this.finish(category, this.withoutId(this.anyRequest()));
      case 'deep-nesting':
        return this.finish(category, this.deep());
      case 'huge':
        return this.finish(category, this.huge());
      case 'batch':
        return this.finish(category, this.batch());
    }
  }

  /** The frame if the guard lets it through (else null: the caller draws another). */
  private finish(category: string, content: unknown, binary = false): Frame | null {
    // What the server reads: lone surrogates in a JS string become U+FFFD on the wire.
    const data = Buffer.isBuffer(content) ? content : Buffer.from(typeof content === 'string' ? content : serialize(content), 'utf8');
    if (data.length > MAX_FRAME_BYTES) return null;
    if (binary) return { category, data, binary, expect: { kind: 'single', owed: { id: null, outcomes: [InvalidRequest] } } };
    const { expect, calls } = analyse(data.toString('utf8'), this.world);
    if (!this.acceptable(expect, calls)) return null;
    return { category, data, binary, expect };
  }

  private acceptable(expect: Expectation, calls: Call[]): boolean {
    for (const call of calls) {
      if (call.valid && !SAFE_WHEN_VALID.has(call.method)) return false;
      // A notification owes nothing; the end-of-connection barrier proves it got nothing only
      // if it was answered (or not) without waiting on the pool or the browser.
      if (call.notification && call.valid && !call.immediate) return false;
    }
    const owed = expect.kind === 'none' ? [] : expect.kind === 'single' ? [expect.owed] : expect.owed;
    const ids = owed.filter((o) => o.id !== null).map((o) => idKey(o.id));
    // Readable ids are unique on a connection, so each reply is found by its id.
    if (new Set(ids).size !== ids.length || ids.some((k) => this.used.has(k))) return false;
    if (!owed.filter((o) => o.id === null).every(countable)) return false;
    // A batch reply without readable ids is found by its outcomes: they must be certain.
    if (expect.kind === 'batch' && ids.length === 0 && !expect.owed.every((o) => o.outcomes.length === 1)) return false;
    for (const k of ids) this.used.add(k);
    return true;
  }

  private request(method: string, params: unknown, id: unknown): Record<string, unknown> {
    const request: Record<string, unknown> = { jsonrpc: '2.0' };
    if (id !== NONE) request.id = id;
    request.method = method;
    if (params !== undefined) request.params = params;
    return request;
  }

  private withoutId(request: unknown): unknown {
    if (request === null || typeof request !== 'object' || Array.isArray(request) || request instanceof Raw) return request;
    const { id: _, ...rest } = request as Record<string, unknown>;
    return rest;
  }

  private anyRequest(): unknown {
    const { rng } = this;
    switch (rng.int(5)) {
      case 0:
        return this.wrongShape();
      case 1: {
        const method = rng.pick([...SAFE_WHEN_VALID]);
        return this.request(method, this.validParams(method), this.freshId());
      }
      case 2:
        return this.request(this.unknownMethod(), this.junk(1), this.freshId());
      default: {
        const method = rng.pick(METHOD_NAMES);
        return this.request(method, this.badParams(method), this.freshId());
      }
    }
  }

  private freshId(): unknown {
    const { rng } = this;
    const n = ++this.counter;
    return rng.chance(0.15) ? this.oddId() : rng.chance(0.5) ? `${this.name}-${n}` : n;
  }

  /** Ids of every readable kind, the extremes exactly (the guard lets each through once). */
  private oddId(): unknown {
    const { rng } = this;
    const n = ++this.counter;
    switch (rng.int(12)) {
      case 0:
        return rng.pick([1e308, -1e308, 2 ** 64, 0, raw('-0'), '', null, 1e-300, -(2 ** 53)]);
      case 1:
        return -n;
      case 2:
        return n + 0.25;
      case 3:
        return 1e308 - n * 1e295;
      case 4:
        return -1e308 + n * 1e295;
      case 5:
        return 2 ** 64 + n * 8192;
      case 6:
        return `${rng.pick(ODD_STRINGS)}${n}`;
      case 7:
        return `${n}${'z'.repeat(10_000)}`;
      case 8:
        return null;
      case 9:
        return raw(`${n}e0`);
      case 10:
        return `${n}`;
      default:
        return `${rng.pick(['😀', '\ud800', '\u202e', '\ufeff', '\u0000'])}${this.name}-${n}`;
    }
  }

  private unknownMethod(): string {
    const { rng } = this;
    return rng.pick([
      () => rng.pick(['', 'system', 'system.', '.hello', 'system.hello ', ' system.hello', 'SYSTEM.HELLO', 'System.Hello', 'system..hello', 'instance.create.x']),
      () => rng.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'rpc.discover', 'event']),
      () => `${rng.pick(METHOD_NAMES)}${rng.pick(ODD_STRINGS.filter((s) => s !== ''))}`,
      () => rng.pick(ODD_STRINGS),
      () => 'm'.repeat(rng.pick([1_000, 100_000])),
      () => this.garbage(),
    ])();
  }

  /** A random JSON value, the odd ones often. */
  private junk(depth: number): unknown {
    const { rng } = this;
    switch (rng.int(depth > 0 ? 10 : 7)) {
      case 0:
        return rng.pick(ODD_STRINGS);
      case 1:
        return rng.pick(ODD_NUMBERS);
      case 2:
        return rng.pick(RAW_NUMBERS);
      case 3:
        return rng.pick([true, false, null]);
      case 4:
        return rng.pick([[], {}, '', 0]);
      case 5:
        return rng.chance(0.1) ? 'x'.repeat(70_000) : `s${rng.int(1000)}`;
      case 6:
        return rng.chance(0.05) ? rng.pick([deepArrays(10_000), deepObjects(10_000)]) : rng.int(100);
      case 7:
        return Array.from({ length: rng.int(4) }, () => this.junk(depth - 1));
      case 8:
        return Object.fromEntries(Array.from({ length: rng.int(4) }, () => [rng.pick([...ODD_STRINGS, 'instanceId', 'tabId', 'url']), this.junk(depth - 1)]));
      default:
        return withProtoKey({}, this.junk(depth - 1));
    }
  }

  private garbage(): string {
    const alphabet = '{}[]":,\\ 0123456789eE+-.truefalsn\u0000\ud83d\ude00\u00e9';
    return Array.from({ length: 1 + this.rng.int(40) }, () => alphabet[this.rng.int(alphabet.length)]).join('');
  }

  /** Params that pass the schema, pointing at the real instance and tab or at made-up ones. */
  private validParams(method: MethodName): Record<string, unknown> | undefined {
    const { rng, world } = this;
    const instanceId = rng.chance(0.5) ? world.instanceId : `i-fuzz${rng.int(100)}`;
    const tabId = rng.chance(0.5) ? world.tabId : `t-fuzz${rng.int(100)}`;
    const png = () => rng.pick([world.png1, world.png2, 'AAAA']);
    switch (method) {
      case 'system.hello':
      case 'system.health':
      case 'instance.list':
        return rng.chance(0.5) ? undefined : rng.chance(0.5) ? {} : { all: rng.chance(0.5) };
      case 'instance.create':
        return { name: 'fuzz', shared: false, args: ['--mute-audio'], limits: { maxTabs: 5, softMemoryMb: 256 }, restart: { maxRestarts: 1, windowMs: 1000 } };
      case 'instance.get':
        return rng.chance(0.5) ? { instanceId } : { instanceId, all: rng.chance(0.5) };
      case 'instance.restart':
      case 'instance.stop':
        return { instanceId };
      case 'tab.open':
        return { instanceId, url: world.pageUrl, evictable: false };
      case 'tab.list':
        return rng.chance(0.3) ? undefined : rng.chance(0.5) ? {} : rng.chance(0.5) ? { instanceId } : { instanceId, all: rng.chance(0.5) };
      case 'tab.close':
        return { tabId };
      case 'tab.navigate':
        return { tabId, url: world.pageUrl, waitUntil: 'load', timeoutMs: 1000 };
      case 'tab.snapshot':
        return { tabId, filter: rng.pick(['all', 'interactive']), maxNodes: 10, timeoutMs: 1000 };
      case 'tab.action':
        return { tabId, action: rng.pick(['click', 'type', 'scroll']), selector: 'h1', text: 'x', timeoutMs: 100 };
      case 'tab.screenshot':
        return rng.chance(0.5) ? { tabId, format: 'jpeg', quality: 50 } : { tabId, fullPage: true };
      case 'tab.text':
        return { tabId, maxChars: 10 };
      case 'batch.navigate':
        return { urls: [world.pageUrl], instanceId, concurrency: 1 };
      case 'analysis.diff':
        return { tabId, since: 's-1', to: 's-2' };
      case 'analysis.visualDiff':
        return rng.chance(0.3) ? { tabId, baseline: png() } : { a: png(), b: png(), threshold: rng.pick([0, 0.5, 1]), diffImage: rng.chance(0.5) };
      case 'analysis.audit':
        return { tabId, timeoutMs: 1000 };
      case 'events.subscribe':
        return {
          topics: rng.pick([['state'], ['state', 'log', 'metrics'], ['values'], ['state', 'values']]),
          ...(rng.chance(0.5) ? { instanceId } : {}),
          ...(rng.chance(0.3) ? { since: rng.pick([0, 1, Number.MAX_SAFE_INTEGER]) } : {}),
        };
      case 'events.unsubscribe':
        return { subscriptionId: `s-${rng.int(20)}` };
    }
  }

  /** Valid params with one to three things wrong: a field of the wrong type or range, a field
   * missing, an unknown or __proto__ key, or params that are not an object at all. */
  private badParams(method: MethodName): unknown {
    const { rng } = this;
    if (rng.chance(0.15)) return rng.pick([42, 'params', true, null, [], [{}], 1e308, -1e308, 2 ** 64, raw('1e400'), deepArrays(10_000), ...ODD_STRINGS.slice(0, 6)]);
    const params: Record<string, unknown> = { ...(this.validParams(method) ?? {}) };
    const fields = [...new Set([...fieldsOf(method), ...Object.keys(params)])];
    for (let steps = 1 + rng.int(3); steps > 0; steps--) {
      const field = fields.length ? rng.pick(fields) : 'x';
      switch (rng.int(6)) {
        case 0:
          delete params[field];
          break;
        case 1:
          params[rng.pick(ODD_STRINGS)] = this.junk(1);
          break;
        case 2:
          withProtoKey(params, rng.chance(0.5) ? { instanceId: this.world.instanceId } : this.junk(1));
          break;
        case 3: {
          const inner = params[field];
          if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
            params[field] = { ...inner, [rng.pick([...Object.keys(inner), 'x'])]: this.junk(1) };
            break;
          }
          params[field] = this.junk(2);
          break;
        }
        default:
          params[field] = this.junk(2);
      }
    }
    return params;
  }

  /** A request broken as a JSON-RPC object: version, method or id of the wrong kind, a
   * response-shaped or empty object, or no object at all. */
  private wrongShape(): unknown {
    const { rng } = this;
    const request = this.request(rng.pick(['system.hello', 'instance.list', 'tab.list']), undefined, this.freshId());
    switch (rng.int(9)) {
      case 0:
        return rng.pick([1, -1, 'system.hello', true, false, null, 1e308, raw('1e400'), '', '\ud800']);
      case 1:
        delete request.jsonrpc;
        return request;
      case 2:
        request.jsonrpc = rng.pick(['1.0', '2', '2.0 ', ' 2.0', '2.00', 2, 2.0, null, ['2.0'], { v: '2.0' }, '\ufeff2.0']);
        return request;
      case 3:
        if (rng.chance(0.3)) delete request.method;
        else request.method = rng.pick([1, null, {}, [], true, ['system.hello'], { name: 'system.hello' }]);
        return request;
      case 4:
        request.id = rng.pick(NOT_ID);
        return request;
      case 5:
        return rng.pick([{}, { jsonrpc: '2.0' }, { jsonrpc: '2.0', id: this.freshId() }, { id: this.freshId(), method: 'system.hello' }]);
      case 6:
        return { jsonrpc: '2.0', id: this.freshId(), ...(rng.chance(0.5) ? { result: {} } : { error: { code: -32600, message: 'x' } }) };
      case 7:
        request.params = this.junk(1);
        request[rng.pick(ODD_STRINGS)] = this.junk(1);
        return request;
      default:
        // Twice the same key: JSON.parse keeps the last one.
        return raw(`{"jsonrpc":"2.0","id":${serialize(this.freshId())},"method":"nope","method":${serialize(rng.pick([1, 'system.hello', null]))}}`);
    }
  }

  private deep(): unknown {
    const { rng } = this;
    const n = rng.pick([10_000, 10_000, 50_000]);
    switch (rng.int(6)) {
      case 0:
        return deepArrays(n);
      case 1:
        return deepObjects(n);
      case 2:
        return this.request('tab.list', deepArrays(n), this.freshId());
      case 3:
        return this.request('instance.get', { instanceId: deepObjects(n) }, this.freshId());
      case 4:
        return this.request('system.hello', undefined, deepArrays(n));
      default:
        return { jsonrpc: '2.0', id: this.freshId(), method: deepArrays(n) };
    }
  }

  private huge(): unknown {
    const { rng } = this;
    switch (rng.int(4)) {
      case 0:
        return this.request('tab.navigate', { tabId: this.world.tabId, url: `data:text/html,${'x'.repeat(900_000)}`, timeoutMs: 0 }, this.freshId());
      case 1:
        return this.request('batch.navigate', { urls: Array.from({ length: 100_000 }, (_, i) => i) }, this.freshId());
      case 2:
        return this.request('instance.get', Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i])), this.freshId());
      default:
        return this.request('analysis.visualDiff', { a: '!'.repeat(500_000), b: this.world.png1 }, this.freshId());
    }
  }

  private batchValue(size: number): unknown[] {
    const { rng } = this;
    return Array.from({ length: size }, () =>
      rng.pick([
        () => this.anyRequest(),
        () => this.withoutId(this.anyRequest()),
        () => this.request('system.hello', undefined, this.freshId()),
        () => rng.pick([1, 'x', null, true, [], {}]),
        () => [this.anyRequest()],
      ])(),
    );
  }

  /** Empty, small and mixed, all notifications, nested, near and beyond the batch cap. */
  private batch(): unknown {
    const { rng } = this;
    switch (rng.int(8)) {
      case 0:
        return [];
      case 1:
        return Array.from({ length: 1 + rng.int(4) }, () => this.withoutId(this.request(rng.pick(['system.hello', 'instance.list', 'nope']), undefined, NONE)));
      case 2:
        return [this.batchValue(2), this.batchValue(1)];
      case 3:
        return rng.pick([[1, 2, 3], [[]], [{}], [null], [[[]]]]);
      case 4:
        // Enough calls at once to pass the in-flight cap: some get -32001.
        return Array.from({ length: 60 + rng.int(MAX_BATCH - 59) }, () => this.request('system.hello', undefined, this.freshId()));
      case 5:
        return Array.from({ length: MAX_BATCH + 1 + rng.int(30) }, () => this.request('system.hello', undefined, this.freshId()));
      default:
        return this.batchValue(1 + rng.int(10));
    }
  }
}

const NONE = Symbol('no id');

function fieldsOf(method: MethodName): string[] {
  let schema = methods[method].params as z.ZodType;
  if (schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** The key a batch frame's reply will be found by (see batchKey). */
export const owedBatchKey = (owed: Owed[]): string => batchKey(owed.map((o) => ({ id: o.id, outcome: o.outcomes[0] as Outcome })));
