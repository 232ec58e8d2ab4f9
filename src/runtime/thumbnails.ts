// A tab's thumbnail for the inspector's live view: a small JPEG of its viewport, captured by
// Chrome (CDP Page.captureScreenshot with a scaled clip) only when someone asks, and shared for
// a second, so that several viewers of one tab cost one capture a second. Read-only: it does not
// count as a use of the tab (idle evictable tabs stay idle).
import type { TabHandle } from '../chrome/tab.js';
import { ErrorCode, TabvisorError, errorMessage, timedOut, unavailable } from '../errors.js';
import { usableStates, type TabView } from './views.js';

export const THUMBNAIL_WIDTH = 320;
/** How long one capture serves every viewer of the tab: the page asks once a second. */
const FRESH_MS = 1_000;
const CAPTURE_TIMEOUT_MS = 5_000;

export interface ThumbnailHost {
  /** The tab (-32000 if there is none). */
  tab(tabId: string): TabView;
  handle(tabId: string): TabHandle | undefined;
}

export class Thumbnails {
  private readonly recent = new Map<string, { at: number; jpeg: Promise<Buffer> }>();
  /** Captures made (the rest were served from `recent`): what several viewers cost. */
  captures = 0;

  constructor(private readonly host: ThumbnailHost) {}

  /** The tab's viewport as a JPEG about 320 px wide: -32000 for an unknown tab, -32004 while it is not usable. */
  get(tabId: string): Promise<Buffer> {
    const view = this.host.tab(tabId);
    if (!usableStates.has(view.state)) return Promise.reject(unavailable(`tab ${tabId}`, view.state, 1_000));
    const now = Date.now();
    for (const [id, entry] of this.recent) if (now - entry.at >= FRESH_MS) this.recent.delete(id);
    const cached = this.recent.get(tabId);
    if (cached) return cached.jpeg;
    const handle = this.host.handle(tabId);
    if (!handle) return Promise.reject(unavailable(`tab ${tabId}`, view.state, 1_000));
    this.captures++;
    const jpeg = capture(handle);
    this.recent.set(tabId, { at: now, jpeg });
    // A failed capture is not kept: the next viewer tries again.
    jpeg.catch(() => this.recent.delete(tabId));
    return jpeg;
  }
}

async function capture(handle: TabHandle): Promise<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut('thumbnail', CAPTURE_TIMEOUT_MS)), CAPTURE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([shoot(handle), deadline]);
  } catch (error) {
    // A page gone mid-capture (its renderer crashed, its browser went down): unavailable now.
    throw error instanceof TabvisorError ? error : new TabvisorError(ErrorCode.Unavailable, `no thumbnail of tab ${handle.tabId}: ${errorMessage(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

async function shoot(handle: TabHandle): Promise<Buffer> {
  const { cssVisualViewport: v } = await handle.cdp.send('Page.getLayoutMetrics');
  const scale = Math.min(1, THUMBNAIL_WIDTH / Math.max(1, v.clientWidth));
  const { data } = await handle.cdp.send('Page.captureScreenshot', {
    format: 'jpeg',
    quality: 60,
    // Page coordinates: the part of the document in view, scaled down by Chrome.
    clip: { x: v.pageX, y: v.pageY, width: v.clientWidth, height: v.clientHeight, scale },
    optimizeForSpeed: true,
  });
  return Buffer.from(data, 'base64');
}
