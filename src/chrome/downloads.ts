// The downloads of one instance: Chrome saves them under the instance's profile (so whatever
// removes the profile — stop, reaping, the keeper — removes them too), each file named by its
// download's guid, and reports their progress; a file or an instance beyond its size limit
// has its download cancelled and the partial file deleted.
import { EventEmitter } from 'node:events';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CDPSession } from 'puppeteer-core';
import { errorMessage } from '../errors.js';

export interface DownloadLimits {
  /** One file larger than this is cancelled. */
  maxFileBytes: number;
  /** The instance's downloads together, beyond this, cancel the one that crossed it. */
  maxInstanceBytes: number;
}

export const defaultDownloadLimits: DownloadLimits = { maxFileBytes: 100 * 1024 * 1024, maxInstanceBytes: 500 * 1024 * 1024 };

export interface DownloadRecord {
  downloadId: string;
  /** The tab whose page started it (null: a frame tabvisor does not know). */
  tabId: string | null;
  url: string;
  /** The name the page suggested (the file on disk is named by the download's guid). */
  name: string;
  state: 'inProgress' | 'completed' | 'canceled';
  receivedBytes: number;
  totalBytes: number;
  /** Why it was cancelled, when tabvisor cancelled it. */
  reason?: string;
  /** Epoch ms it began. */
  at: number;
}

/** Records kept per instance (the oldest are forgotten, and their files deleted). */
const MAX_RECORDS = 200;

export class Downloads extends EventEmitter<{ changed: [DownloadRecord] }> {
  private readonly records = new Map<string, DownloadRecord>();

  constructor(
    /** Where Chrome saves them (inside the profile dir). */
    readonly dir: string,
    private readonly limits: DownloadLimits,
    private readonly log: Logger,
  ) {
    super();
  }

  /** Tell a (new) browser where to save and to report progress on `session`. */
  async attach(session: CDPSession, tabOf: (frameId: string) => string | null): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    session.on('Browser.downloadWillBegin', ({ guid, url, suggestedFilename, frameId }) => {
      const record: DownloadRecord = { downloadId: guid, tabId: tabOf(frameId), url: url.slice(0, 4_096), name: suggestedFilename, state: 'inProgress', receivedBytes: 0, totalBytes: 0, at: Date.now() };
      this.records.set(guid, record);
      this.forgetOldest();
      this.emit('changed', record);
    });
    session.on('Browser.downloadProgress', ({ guid, receivedBytes, totalBytes, state }) => {
      const record = this.records.get(guid);
      if (!record || record.state !== 'inProgress') return;
      record.receivedBytes = receivedBytes;
      record.totalBytes = totalBytes;
      const tooLarge = this.overLimit(record);
      if (tooLarge && state !== 'canceled') return void this.cancel(session, record, tooLarge);
      if (state === 'inProgress') return;
      record.state = state;
      if (state === 'canceled') void this.remove(guid);
      this.emit('changed', record);
    });
    await session.send('Browser.setDownloadBehavior', { behavior: 'allowAndName', downloadPath: this.dir, eventsEnabled: true });
  }

  list(tabId?: string): DownloadRecord[] {
    return [...this.records.values()].filter((r) => tabId === undefined || r.tabId === tabId);
  }

  get(downloadId: string): DownloadRecord | undefined {
    return this.records.get(downloadId);
  }

  /** The saved file of a completed download. */
  async file(record: DownloadRecord): Promise<{ path: string; bytes: number }> {
    const path = join(this.dir, record.downloadId);
    return { path, bytes: (await stat(path)).size };
  }

  /** Why this download must stop, if it must. */
  private overLimit(record: DownloadRecord): string | null {
    const size = Math.max(record.receivedBytes, record.totalBytes);
    if (size > this.limits.maxFileBytes) return `larger than the ${this.limits.maxFileBytes}-byte limit per file`;
    let total = 0;
    for (const r of this.records.values()) if (r.state !== 'canceled') total += r === record ? size : r.receivedBytes;
    if (total > this.limits.maxInstanceBytes) return `the instance's downloads would pass the ${this.limits.maxInstanceBytes}-byte limit`;
    return null;
  }

  private async cancel(session: CDPSession, record: DownloadRecord, reason: string): Promise<void> {
    record.state = 'canceled';
    record.reason = reason;
    this.log.warn({ tabId: record.tabId, url: record.url, reason }, 'download cancelled');
    await session.send('Browser.cancelDownload', { guid: record.downloadId }).catch((e: unknown) => this.log.debug({ err: errorMessage(e) }, 'cancelling a download failed (it ended meanwhile)'));
    await this.remove(record.downloadId);
    this.emit('changed', record);
  }

  private forgetOldest(): void {
    for (const guid of this.records.keys()) {
      if (this.records.size <= MAX_RECORDS) return;
      this.records.delete(guid);
      void this.remove(guid);
    }
  }

  private async remove(guid: string): Promise<void> {
    await rm(join(this.dir, guid), { force: true }).catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'could not delete a download'));
  }
}
