// A tab's live view: a thumbnail fetched at most once a second, and only while the view is open,
// the page is visible and the tab can answer (nothing is requested while nobody looks).
import { setText } from './dom.js';
import { clock } from './format.js';

const PERIOD_MS = 1000;
const USABLE = new Set(['healthy', 'degraded']);

export class LiveView {
  private tabId: string | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private loading = false;
  /** Bumped on every open and close: a load that finishes for an older view is ignored. */
  private generation = 0;

  constructor(
    private readonly img: HTMLImageElement,
    private readonly status: HTMLElement,
    private readonly stateOf: (tabId: string) => string | undefined,
  ) {
    document.addEventListener('visibilitychange', () => {
      if (this.tabId && !document.hidden) this.schedule(0);
    });
    img.addEventListener('load', () => this.loaded(true));
    img.addEventListener('error', () => this.loaded(false));
  }

  get openTab(): string | null {
    return this.tabId;
  }

  open(tabId: string): void {
    if (this.tabId === tabId) return;
    this.close();
    this.tabId = tabId;
    this.generation += 1;
    this.img.hidden = true;
    setText(this.status, 'loading…');
    this.schedule(0);
  }

  close(): void {
    this.tabId = null;
    this.generation += 1;
    this.loading = false;
    clearTimeout(this.timer);
    this.img.removeAttribute('src');
    this.img.hidden = true;
    setText(this.status, '');
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fetch(), delayMs);
  }

  private started = 0;

  private fetch(): void {
    const tabId = this.tabId;
    if (!tabId || this.loading) return;
    if (document.hidden) {
      setText(this.status, 'paused while the page is hidden');
      return;
    }
    const state = this.stateOf(tabId);
    if (!state || !USABLE.has(state)) {
      setText(this.status, `no live view while the tab is ${state ?? 'gone'}`);
      this.img.hidden = true;
      this.schedule(PERIOD_MS);
      return;
    }
    this.loading = true;
    this.started = performance.now();
    this.img.dataset.generation = String(this.generation);
    this.img.src = `/inspector/thumbnail?tabId=${encodeURIComponent(tabId)}&t=${Date.now()}`;
  }

  private loaded(ok: boolean): void {
    if (!this.loading || this.img.dataset.generation !== String(this.generation)) return;
    this.loading = false;
    this.img.hidden = !ok;
    setText(this.status, ok ? `live · ${clock(Date.now())}` : 'thumbnail unavailable; retrying');
    // At most one request a second, counted from the start of the last one.
    this.schedule(Math.max(0, PERIOD_MS - (performance.now() - this.started)));
  }
}
