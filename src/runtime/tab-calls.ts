// Client calls under way on tabs: each runs bounded by its own signal (client gone, deadline)
// and by its tab, whose going down (renderer crash, hung page, browser gone) fails the calls
// on it at once with -32004 instead of leaving them to hang.
import type { TabHandle } from '../chrome/tab.js';
import { TabvisorError, unavailable } from '../errors.js';
import { linkedSignal } from '../wait.js';

export class TabCalls {
  private readonly calls = new Map<string, Set<AbortController>>();

  /** Tabs with a call under way. */
  get size(): number {
    return this.calls.size;
  }

  /** A call is under way on the tab: it is in use, whatever its last use says. */
  busy(tabId: string): boolean {
    return (this.calls.get(tabId)?.size ?? 0) > 0;
  }

  /** The tab stopped being usable: every call on it answers `error`. */
  abortAll(tabId: string, error: TabvisorError): void {
    for (const call of this.calls.get(tabId) ?? []) call.abort(error);
  }

  /**
   * Run `operation` on the tab's page. An error from a page whose target went away is -32004
   * too (puppeteer may report it before the machines hear of it, and the answer must be the
   * same either way).
   */
  async run<T>(tabId: string, handle: TabHandle, signal: AbortSignal, operation: (handle: TabHandle, signal: AbortSignal) => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    const tabDown = new AbortController();
    let calls = this.calls.get(tabId);
    if (!calls) this.calls.set(tabId, (calls = new Set()));
    calls.add(tabDown);
    // The call's signal may be its connection's, which outlives the call (see linkedSignal).
    const { signal: bounded, dispose } = linkedSignal(signal, tabDown.signal);
    const aborted = new Promise<never>((_, reject) => bounded.addEventListener('abort', () => reject(bounded.reason), { once: true }));
    try {
      return await Promise.race([operation(handle, bounded), aborted]);
    } catch (error) {
      if (!(error instanceof TabvisorError) && !handle.usable) throw unavailable(`tab ${tabId} (its target went away)`, 'recovering', 1_000);
      throw error;
    } finally {
      calls.delete(tabDown);
      if (calls.size === 0) this.calls.delete(tabId);
      tabDown.abort(); // releases the race's listener; a no-op reason for a finished call
      dispose();
    }
  }
}
