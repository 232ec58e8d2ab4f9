// A DevTools connection to one page that hands back responses as the raw bytes of their
// WebSocket frames. Large answers (DOM snapshots, accessibility trees: megabytes of JSON) go
// to the analysis pool unparsed, so the main thread never parses them. puppeteer's own
// connection parses every message, which for a 5,000-element page stalls it for >100 ms.
import WebSocket from 'ws';

// Chrome serialises a response with its id first: `{"id":12,"result":…` or `{"id":12,"error":…`.
const RESPONSE_HEAD = /^\{"id":(\d+),"(result|error)"/;

interface Pending {
  resolve(bytes: Buffer): void;
  reject(error: Error): void;
}

export class RawCdp {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedError: Error | null = null;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.receive(data));
    ws.on('close', () => this.fail(new Error('DevTools connection to the page closed')));
    ws.on('error', (error) => this.fail(error));
  }

  /** Connect to a page's own DevTools endpoint (ws://host:port/devtools/page/<targetId>). */
  static connect(url: string, timeoutMs = 5_000): Promise<RawCdp> {
    return new Promise((resolve, reject) => {
      // No compression (Chrome does not offer it) and room for very large pages.
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024, handshakeTimeout: timeoutMs });
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(new RawCdp(ws));
      });
      ws.once('error', reject);
    });
  }

  get open(): boolean {
    return this.closedError === null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send a command; resolves with the response frame's bytes, rejects with a CDP error. */
  send(method: string, params: Record<string, unknown> = {}, signal?: AbortSignal): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(id);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (bytes) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(bytes);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.fail(new Error('DevTools connection to the page closed'));
    this.ws.terminate();
  }

  private receive(data: Buffer): void {
    const head = RESPONSE_HEAD.exec(data.subarray(0, 40).toString('latin1'));
    if (!head) return; // an event: this connection enables no domain, so none matter
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

  private fail(error: Error): void {
    this.closedError ??= error;
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }
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
