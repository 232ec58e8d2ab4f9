// JavaScript dialogs (alert, confirm, prompt, beforeunload) of one tab. An unanswered dialog
// blocks the page's main thread, so none is left open: the tab's policy answers each one at
// once (dismiss by default, or accept), or holds it for a client to answer with tab.dialog,
// for at most `holdMs`, after which it is dismissed.
import { EventEmitter } from 'node:events';
import type { Dialog, Page } from 'puppeteer-core';

export type DialogPolicy = 'dismiss' | 'accept' | 'hold';
export type DialogType = 'alert' | 'confirm' | 'prompt' | 'beforeunload';

export interface DialogRecord {
  type: DialogType;
  message: string;
  /** A prompt's default text. */
  defaultValue?: string;
  url: string;
  /** Epoch ms it opened. */
  at: number;
  /** Unset while it is held open. */
  outcome?: 'accepted' | 'dismissed';
  /** Who answered: the tab's policy, a client (tab.dialog), or the end of the hold. */
  by?: 'policy' | 'client' | 'timeout';
  /** The text a prompt was accepted with. */
  text?: string;
}

export interface DialogSettings {
  policy: DialogPolicy;
  /** How long a held dialog waits for a client before it is dismissed. */
  holdMs: number;
  /** Text a prompt is accepted with under the accept policy (else its default). */
  promptText?: string;
}

export const defaultDialogSettings: DialogSettings = { policy: 'dismiss', holdMs: 30_000 };

/** Dialogs kept per tab for tab.dialog's answer. */
const RECENT = 20;

export class DialogGuard extends EventEmitter<{ opened: [DialogRecord]; answered: [DialogRecord] }> {
  private held: { dialog: Dialog; record: DialogRecord; timer: NodeJS.Timeout } | null = null;
  readonly recent: DialogRecord[] = [];

  constructor(public settings: DialogSettings = defaultDialogSettings) {
    super();
  }

  attach(page: Page): void {
    page.on('dialog', (dialog) => void this.opened(dialog, page.url()));
  }

  /** The dialog held open for a client, if any. */
  get pending(): DialogRecord | null {
    return this.held?.record ?? null;
  }

  /** Answer the held dialog; null when none is open. */
  async answer(accept: boolean, text: string | undefined): Promise<DialogRecord | null> {
    const held = this.held;
    if (!held) return null;
    return this.close(held.dialog, held.record, accept, text, 'client');
  }

  /** Resolves with the next dialog that is held open (an action that opened one answers then). */
  nextHeld(signal: AbortSignal): Promise<DialogRecord> {
    return new Promise((resolve) => {
      const onOpened = (record: DialogRecord) => {
        if (record.outcome) return;
        signal.removeEventListener('abort', stop);
        this.off('opened', onOpened);
        resolve(record);
      };
      const stop = () => this.off('opened', onOpened);
      this.on('opened', onOpened);
      signal.addEventListener('abort', stop, { once: true });
    });
  }

  /** The tab goes away: a held dialog's timer with it. */
  dispose(): void {
    if (this.held) clearTimeout(this.held.timer);
    this.held = null;
    this.removeAllListeners();
  }

  private async opened(dialog: Dialog, url: string): Promise<void> {
    const record: DialogRecord = { type: dialog.type() as DialogType, message: dialog.message().slice(0, 4_000), url, at: Date.now() };
    if (record.type === 'prompt') record.defaultValue = dialog.defaultValue();
    this.recent.push(record);
    if (this.recent.length > RECENT) this.recent.shift();
    const { policy, holdMs, promptText } = this.settings;
    if (policy === 'hold' && !this.held) {
      const timer = setTimeout(() => {
        if (this.held?.dialog === dialog) void this.close(dialog, record, false, undefined, 'timeout');
      }, holdMs);
      this.held = { dialog, record, timer };
      this.emit('opened', record);
      return;
    }
    // A second dialog while one is held cannot happen (the page is blocked); answered by policy
    // anyway. Dismissing a beforeunload would cancel the navigation a client asked for: it is
    // accepted, unless held.
    await this.close(dialog, record, policy === 'accept' || record.type === 'beforeunload', promptText, 'policy');
    this.emit('opened', record);
  }

  private async close(dialog: Dialog, record: DialogRecord, accept: boolean, text: string | undefined, by: DialogRecord['by']): Promise<DialogRecord> {
    if (this.held?.dialog === dialog) {
      clearTimeout(this.held.timer);
      this.held = null;
    }
    record.outcome = accept ? 'accepted' : 'dismissed';
    record.by = by;
    if (accept && record.type === 'prompt') record.text = text ?? record.defaultValue ?? '';
    // A dialog whose page went away meanwhile is closed with it.
    await (accept ? dialog.accept(record.text) : dialog.dismiss()).catch(() => {});
    this.emit('answered', record);
    return record;
  }
}
