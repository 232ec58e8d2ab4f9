// One MCP session = one tabvisor client: the instances it created and their tabs are its own
// (another session neither lists nor reaches them), it has a current tab, keeps its tabs'
// last snapshots for paging, and waits (bounded) for a tab whose browser is recovering, then
// tells the agent what happened to it.
import { ErrorCode, TabvisorError } from '../errors.js';
import type { ParamsOf, ResultOf } from '../protocol/methods.js';
import { USABLE_STATES } from '../../machines/index.js';
import { codeOf, dataOf, type Backend } from './backend.js';
import type { Snapshot } from './snapshot-text.js';

export interface SessionOptions {
  /** How long a call on a recovering tab waits for it (default 30 s). */
  recoveryWaitMs?: number;
  /** How long a dialog an MCP tab opens is held for browser_handle_dialog. */
  dialogHoldMs?: number;
}

const POLL_MS = 200;

export class McpSession {
  /** Instances this session created, in order. */
  readonly instances: string[] = [];
  /** Its tabs and their instances. */
  readonly tabs = new Map<string, string>();
  current: string | null = null;
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly recoveryWaitMs: number;
  private readonly dialogHoldMs: number;

  constructor(
    readonly backend: Backend,
    options: SessionOptions = {},
  ) {
    this.recoveryWaitMs = options.recoveryWaitMs ?? 30_000;
    this.dialogHoldMs = options.dialogHoldMs ?? 30_000;
  }

  call<M extends Parameters<Backend['call']>[0]>(method: M, params: ParamsOf<M>, signal?: AbortSignal): Promise<ResultOf<M>> {
    return this.backend.call(method, params, signal);
  }

  /** The session's instance for new tabs: its first usable one, or a new one. */
  async instance(signal?: AbortSignal): Promise<string> {
    for (const instanceId of this.instances) {
      const info = await this.call('instance.get', { instanceId }, signal).catch(() => null);
      if (info && (USABLE_STATES as ReadonlySet<string>).has(info.state)) return instanceId;
    }
    return this.createInstance({ name: `mcp-${this.instances.length + 1}` }, signal);
  }

  async createInstance(params: ParamsOf<'instance.create'>, signal?: AbortSignal): Promise<string> {
    const { instanceId } = await this.call('instance.create', params, signal);
    this.instances.push(instanceId);
    return instanceId;
  }

  /** A new tab, current from now on. Its dialogs are held for browser_handle_dialog, as playwright-mcp does. */
  async openTab(url: string | undefined, signal?: AbortSignal): Promise<string> {
    const instanceId = await this.instance(signal);
    const { tabId } = await this.call('tab.open', { instanceId, ...(url ? { url } : {}) }, signal);
    this.tabs.set(tabId, instanceId);
    this.current = tabId;
    await this.call('tab.dialog', { tabId, policy: 'hold', holdMs: this.dialogHoldMs }, signal);
    return tabId;
  }

  /** The tab a tool acts on: the one named (it must be this session's), else the current one, else a new one. */
  async tab(tabId: string | undefined, signal?: AbortSignal): Promise<string> {
    if (tabId !== undefined) {
      if (!this.tabs.has(tabId)) throw new TabvisorError(ErrorCode.NotFound, `tab ${tabId} is not one of this session's tabs (browser_tabs lists them)`, { tabId });
      return tabId;
    }
    if (this.current && this.tabs.has(this.current)) return this.current;
    return this.openTab(undefined, signal);
  }

  /** The session's tabs as they are now (its instances' tabs). */
  async listTabs(signal?: AbortSignal): Promise<ResultOf<'tab.list'>['tabs']> {
    const tabs = [];
    for (const instanceId of this.instances) {
      const listed = await this.call('tab.list', { instanceId }, signal).catch(() => null); // an instance stopped meanwhile has none
      for (const tab of listed?.tabs ?? []) if (this.tabs.has(tab.tabId)) tabs.push(tab);
    }
    return tabs;
  }

  forgetTab(tabId: string): void {
    this.tabs.delete(tabId);
    this.snapshots.delete(tabId);
    if (this.current === tabId) this.current = [...this.tabs.keys()].at(-1) ?? null;
  }

  rememberSnapshot(tabId: string, snapshot: Snapshot): void {
    this.snapshots.set(tabId, snapshot);
  }

  lastSnapshot(tabId: string): Snapshot | undefined {
    return this.snapshots.get(tabId);
  }

  /**
   * Run `work` on the tab; if the tab (or its browser) is recovering, wait until it is usable
   * again (at most recoveryWaitMs) and run it then, with a note of what happened. A tab that
   * failed answers an error that says so.
   */
  async onTab<T>(tabId: string, work: () => Promise<T>, signal?: AbortSignal): Promise<{ value: T; note?: string }> {
    const deadline = Date.now() + this.recoveryWaitMs;
    let reason: string | null = null;
    for (;;) {
      try {
        const value = await work();
        if (reason === null) return { value };
        const tab = (await this.listTabs(signal)).find((t) => t.tabId === tabId);
        return { value, note: `tab ${tabId} was recovered (${reason}) and is at ${tab?.url ?? 'its last URL'}` };
      } catch (error) {
        const state = dataOf(error)?.state;
        if (codeOf(error) !== ErrorCode.Unavailable || (state !== 'recovering' && state !== 'spawning')) throw error;
        const seen = await this.untilUsable(tabId, deadline, signal);
        reason ??= seen ?? 'its browser went down';
      }
    }
  }

  /** Stop every instance the session created (the session ends). */
  async close(): Promise<void> {
    await Promise.all(this.instances.map((instanceId) => this.call('instance.stop', { instanceId }).catch(() => {}))); // one stopped or gone already is fine
    this.instances.length = 0;
    this.tabs.clear();
    this.snapshots.clear();
    this.current = null;
  }

  /** Poll the tab until it is usable; answers the reason it was recovering, if one was seen. */
  private async untilUsable(tabId: string, deadline: number, signal?: AbortSignal): Promise<string | null> {
    const instanceId = this.tabs.get(tabId) as string;
    let reason: string | null = null;
    for (;;) {
      const tab = (await this.call('tab.list', { instanceId }, signal)).tabs.find((t) => t.tabId === tabId);
      if (!tab || tab.state === 'stopped') throw new TabvisorError(ErrorCode.NotFound, `tab ${tabId} is gone`, { tabId });
      if (tab.state === 'failed') {
        throw new TabvisorError(ErrorCode.Unavailable, `tab ${tabId} failed (${tab.reason}); restart its instance ${instanceId} with tabvisor_instances, or open a new tab`, { state: 'failed', tabId });
      }
      if ((USABLE_STATES as ReadonlySet<string>).has(tab.state)) return reason;
      // The first reason says what happened; later ones say how the recovery goes.
      if (tab.state === 'recovering' && tab.reason && reason === null) reason = tab.reason;
      if (Date.now() >= deadline) {
        throw new TabvisorError(ErrorCode.Unavailable, `tab ${tabId} is still ${tab.state} after ${this.recoveryWaitMs} ms (${tab.reason})`, { state: tab.state, retryAfterMs: 1_000 });
      }
      await new Promise<void>((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
