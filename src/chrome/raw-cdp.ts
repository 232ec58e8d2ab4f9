// A DevTools connection to one page that hands back responses as the raw bytes of their
// WebSocket frames. Large answers (DOM snapshots, accessibility trees: megabytes of JSON) go
// to the analysis pool unparsed, so the main thread never parses them. puppeteer's own
// connection parses every message, which for a 5,000-element page stalls it for >100 ms.
// The connection also attaches to the page's out-of-process iframes (flat sessions on the
// same socket), so that their documents are read, and acted on, the same way.
import WebSocket from 'ws';

// Chrome serialises a response with its id first: `{"id":12,"result":…` or `{"id":12,"error":…`.
const RESPONSE_HEAD = /^\{"id":(\d+),"(result|error)"/;
// The only events this connection reads: its attachments to out-of-process iframes.
const TARGET_EVENT = /^\{"method":"Target\.(attachedToTarget|detachedFromTarget)"/;

/** A session of an out-of-process iframe attached on this connection. */
export interface FrameSession {
  sessionId: string;
  /** The iframe's frame id (its target id). */
  frameId: string;
  /** The session its owner <iframe> element lives in (undefined: the page's own). */
  parent: string | undefined;
  /** A number unique for the connection's tab, never reused: refs name the session by it. */
  slot: number;
}

interface Pending {
  resolve(bytes: Buffer): void;
  reject(error: Error): void;
  sessionId: string | undefined;
}

export class RawCdp {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedError: Error | null = null;
  /** Out-of-process iframes attached now, by session id. */
  readonly frames = new Map<string, FrameSession>();
  /** Attachments of new sessions to their own iframes, under way. */
  private readonly attaching = new Set<Promise<unknown>>();
  /** The calls waiting on each caller's signal: one abort listener per signal, not per call. */
  private readonly bySignal = new WeakMap<AbortSignal, Set<number>>();

  private constructor(
    private readonly ws: WebSocket,
    private readonly nextSlot: () => number,
  ) {
    ws.on('message', (data: Buffer) => this.receive(data));
    ws.on('close', () => this.fail(new Error('DevTools connection to the page closed')));
    ws.on('error', (error) => this.fail(error));
  }

  /** Connect to a page's own DevTools endpoint (ws://host:port/devtools/page/<targetId>). */
  static connect(url: string, timeoutMs = 5_000, nextSlot: () => number = counter()): Promise<RawCdp> {
    return new Promise((resolve, reject) => {
      // No compression (Chrome does not offer it) and room for very large pages.
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024, handshakeTimeout: timeoutMs });
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(new RawCdp(ws, nextSlot));
      });
      ws.once('error', reject);
    });
  }

  get open(): boolean {
    return this.closedError === null && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Attach to the page's out-of-process iframes, now and as they come (nested ones too), as
   * flat sessions of this connection. The page keeps running: nothing waits for a debugger.
   */
  async attachFrames(): Promise<void> {
    await this.call('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true });
    await this.settled();
  }

  /**
   * Once every iframe session attached so far is attached to its own iframes: Chrome reports a
   * session's iframes before it answers the auto-attach, so nested ones are known by then.
   */
  async settled(): Promise<void> {
    while (this.attaching.size) await Promise.all(this.attaching);
  }

  /** A command whose answer is small: parsed here. */
  async call<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}, sessionId?: string, signal?: AbortSignal): Promise<T> {
    const bytes = await this.send(method, params, signal, sessionId);
    return (JSON.parse(bytes.toString('utf8')) as { result: T }).result;
  }

  /** Send a command; resolves with the response frame's bytes, rejects with a CDP error. */
  send(method: string, params: Record<string, unknown> = {}, signal?: AbortSignal, sessionId?: string): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (sessionId !== undefined && !this.frames.has(sessionId)) return Promise.reject(detached());
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      const waiting = signal ? this.waitingOn(signal) : null;
      waiting?.add(id);
      this.pending.set(id, {
        sessionId,
        resolve: (bytes) => {
          waiting?.delete(id);
          resolve(bytes);
        },
        reject: (error) => {
          waiting?.delete(id);
          reject(error);
        },
      });
      this.ws.send(JSON.stringify(sessionId === undefined ? { id, method, params } : { id, method, params, sessionId }));
    });
  }

  close(): void {
    this.fail(new Error('DevTools connection to the page closed'));
    this.ws.terminate();
  }

  private receive(data: Buffer): void {
    const head = RESPONSE_HEAD.exec(data.subarray(0, 40).toString('latin1'));
    if (!head) {
      // An event: only the iframe attachments matter (this connection enables no domain).
      if (TARGET_EVENT.test(data.subarray(0, 40).toString('latin1'))) this.targetEvent(data);
      return;
    }
    const call = this.pending.get(Number(head[1]));
    if (!call) return; // its caller gave up
    this.pending.delete(Number(head[1]));
    if (head[2] === 'result') {
      call.resolve(data);
      return;
    }
    const { error } = JSON.parse(data.toString('utf8')) as { error?: { message?: string; data?: string } };
    call.reject(new Error(`${error?.message ?? 'CDP error'}${error?.data ? `: ${error.data}` : ''}`));
  }

  /** The calls waiting on a signal; its abort rejects them all. */
  private waitingOn(signal: AbortSignal): Set<number> {
    let ids = this.bySignal.get(signal);
    if (!ids) {
      const waiting = (ids = new Set());
      this.bySignal.set(signal, waiting);
      signal.addEventListener(
        'abort',
        () => {
          for (const id of waiting) {
            const call = this.pending.get(id);
            this.pending.delete(id);
            call?.reject(signal.reason as Error);
          }
        },
        { once: true },
      );
    }
    return ids;
  }

  private targetEvent(data: Buffer): void {
    const event = JSON.parse(data.toString('utf8')) as {
      method: string;
      params: { sessionId: string; targetInfo?: { targetId: string; type: string } };
      sessionId?: string;
    };
    const { sessionId, targetInfo } = event.params;
    if (event.method === 'Target.detachedFromTarget') {
      this.frames.delete(sessionId);
      // Its own iframes went with it.
      for (const [id, frame] of this.frames) if (frame.parent === sessionId) this.frames.delete(id);
      // Chrome drops the commands it had not answered: they fail now rather than never.
      for (const [id, call] of this.pending) {
        if (call.sessionId === undefined || this.frames.has(call.sessionId)) continue;
        this.pending.delete(id);
        call.reject(detached());
      }
      return;
    }
    if (targetInfo?.type !== 'iframe') return;
    this.frames.set(sessionId, { sessionId, frameId: targetInfo.targetId, parent: event.sessionId, slot: this.nextSlot() });
    // Its own out-of-process iframes (a session attaches only to its direct children). A
    // session that detached meanwhile has nothing left to attach.
    const attached = this.call('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }, sessionId)
      .catch(() => {})
      .finally(() => this.attaching.delete(attached));
    this.attaching.add(attached);
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }
}

const detached = () => new Error('the iframe session detached (the frame went away or moved to another process)');

function counter(): () => number {
  let n = 0;
  return () => ++n;
}

/** The buffer behind a frame, as a transferable ArrayBuffer of exactly its bytes. */
export function transferable(bytes: Buffer): Uint8Array<ArrayBuffer> {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  }
  // A small frame may sit in Node's shared Buffer pool: copy it rather than transfer the pool.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}
