// The warm pool (`--warm N`): N launched, idle browsers kept ready, so that instance.create
// binds one (a few ms over the channel) instead of launching one. A warm browser is a
// ChromeInstance that no instance actor owns yet; the instance's launchChrome actor takes it
// instead of launching (world.ts). The pool refills in the background. Warm browsers count
// against the limits (each launch is admitted like an instance), carry the state dir's marker
// (so a later runtime reaps them like any other browser), are not recorded in snapshots, and
// are stopped at shutdown. With N = 0 the pool does nothing.
import type { Logger } from 'pino';
import type { ChromeInstance } from '../chrome/instance.js';
import { errorMessage } from '../errors.js';

export interface WarmPoolHost {
  /** Launch a browser for the pool. */
  launch(): Promise<ChromeInstance>;
  /** Stop a browser the pool will not hand out (graceful close, kill, profile removed). */
  discard(browser: ChromeInstance): Promise<void>;
  /** Throws (-32001) unless one more browser may start now. */
  admit(): void;
  log: Logger;
}

/** After a launch failed or was refused, the pool tries again this much later (or at the next take). */
const RETRY_MS = 5_000;

export class WarmPool {
  private readonly ready: { browser: ChromeInstance; unwatch: () => void }[] = [];
  private readonly launches = new Set<Promise<void>>();
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly host: WarmPoolHost,
  ) {}

  /** Browsers of the pool, ready or launching: what the limits count. */
  get count(): number {
    return this.ready.length + this.launches.size;
  }

  /** Browsers of the pool not up yet. */
  get launching(): number {
    return this.launches.size;
  }

  /** A ready browser (now no longer the pool's), or null if none is. The caller refills the
   * pool once the browser is counted as its instance's (so the limit sees it once). */
  take(): ChromeInstance | null {
    const taken = this.ready.shift();
    taken?.unwatch();
    return taken?.browser ?? null;
  }

  /** Launch browsers until the pool is full or one more may not start. */
  refill(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    while (!this.closed && this.count < this.size) {
      try {
        this.host.admit();
      } catch (error) {
        this.host.log.debug({ err: errorMessage(error) }, 'the warm pool waits: no room for another browser now');
        this.retryLater();
        return;
      }
      const launch = this.host.launch().then(
        (browser) => {
          this.launches.delete(launch);
          if (this.closed) return this.discard(browser);
          this.keep(browser);
        },
        (error: unknown) => {
          this.launches.delete(launch);
          this.host.log.warn({ err: errorMessage(error) }, 'a warm browser did not start');
          this.retryLater();
        },
      );
      this.launches.add(launch);
    }
  }

  /** Stop every browser of the pool, those still launching included. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    while (this.launches.size) await Promise.all([...this.launches]);
    const left = this.ready.splice(0);
    await Promise.all(
      left.map(({ browser, unwatch }) => {
        unwatch();
        return this.discard(browser);
      }),
    );
  }

  /** A ready browser that dies while it waits leaves the pool, which refills. */
  private keep(browser: ChromeInstance): void {
    const lost = () => {
      const index = this.ready.findIndex((r) => r.browser === browser);
      if (index < 0) return;
      this.ready.splice(index, 1)[0]?.unwatch();
      this.host.log.warn('a warm browser died while idle: replaced');
      void this.discard(browser).then(() => this.refill());
    };
    // In the pool before the watch starts: a browser already gone is reported at once.
    const entry = { browser, unwatch: () => {} };
    this.ready.push(entry);
    entry.unwatch = browser.watch(lost, lost);
  }

  private async discard(browser: ChromeInstance): Promise<void> {
    await this.host.discard(browser).catch((error: unknown) => this.host.log.error({ err: errorMessage(error) }, 'could not stop a warm browser'));
  }

  private retryLater(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => this.refill(), RETRY_MS);
    this.retry.unref();
  }
}
