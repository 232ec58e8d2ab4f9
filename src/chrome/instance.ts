// One Chrome instance as the world sees it: the process tree, the puppeteer connection over
// the DevTools WebSocket (not a pipe, so a later runtime can re-adopt it), and its pages.
import puppeteer, { type Browser, type CDPSession } from 'puppeteer-core';
import { waitAtMost } from '../wait.js';
import type { ChromeBinary } from './find.js';
import { killProcessGroup, launchChrome, removeProfile, type ChromeProcess, type ExitInfo } from './launch.js';
import { processTree, readPrivateFootprint, readProcessMemory, type ProcessMemory } from './memory.js';
import { TabHandle } from './tab.js';

export interface Connection {
  chrome: ChromeProcess;
  browser: Browser;
  /** Browser-level session for probes: one round trip through the browser process. */
  session: CDPSession;
}

const TREE_TTL_MS = 5_000;

export class ChromeInstance {
  private connection: Connection | null = null;
  private treeCache: { pid: number; pids: number[]; at: number } | null = null;
  readonly tabs = new Map<string, TabHandle>();

  constructor(
    readonly instanceId: string,
    readonly binary: ChromeBinary,
    readonly profileDir: string,
  ) {}

  get pid(): number | null {
    return this.connection?.chrome.pid ?? null;
  }

  get wsEndpoint(): string | null {
    return this.connection?.chrome.wsEndpoint ?? null;
  }

  /** Launch a new browser (the previous one must have been killed) and connect to it. */
  async launch(args: string[], signal?: AbortSignal): Promise<{ pid: number; launchMs: number }> {
    const started = performance.now();
    const chrome = await launchChrome({ binary: this.binary, instanceId: this.instanceId, profileDir: this.profileDir, args, signal });
    let browser: Browser | undefined;
    try {
      browser = await puppeteer.connect({
        browserWSEndpoint: chrome.wsEndpoint,
        defaultViewport: null,
        protocolTimeout: 30_000,
      });
      const session = await browser.target().createCDPSession();
      // Chrome opens an about:blank page at start; its renderer is ~40 MB PSS that no tab
      // uses. Tabs get targets of their own, so an idle instance holds no page at all.
      // Nothing waits on the close: the instance is usable meanwhile.
      session
        .send('Target.getTargets')
        .then(({ targetInfos }) =>
          Promise.all(targetInfos.filter((t) => t.type === 'page').map((t) => session.send('Target.closeTarget', { targetId: t.targetId }))),
        )
        .catch(() => {});
      this.connection = { chrome, browser, session };
      if (signal?.aborted) throw new Error('launch aborted');
      return { pid: chrome.pid, launchMs: Math.round(performance.now() - started) };
    } catch (error) {
      this.connection = null;
      await browser?.disconnect().catch(() => {});
      await killProcessGroup(chrome.pid);
      await chrome.exited;
      throw error;
    }
  }

  get browser(): Browser {
    if (!this.connection) throw new Error(`instance ${this.instanceId} has no browser`);
    return this.connection.browser;
  }

  /** A Browser.getVersion round trip; a frozen (SIGSTOPped) browser never answers. */
  async probe(): Promise<void> {
    if (!this.connection) throw new Error('not connected');
    await this.connection.session.send('Browser.getVersion');
  }

  /**
   * Reports the end of the browser: its exit (with the signal) or the loss of the DevTools
   * connection, whichever tells more, and at once if it already happened.
   */
  watch(onExit: (info: ExitInfo) => void, onDisconnect: () => void): () => void {
    const connection = this.connection;
    if (!connection) {
      onDisconnect();
      return () => {};
    }
    let active = true;
    const { chrome, browser } = connection;
    const exited = (info: ExitInfo) => active && (active = false, onExit(info));
    const disconnected = () => {
      // The socket usually closes before the exit status is reaped: give the exit a moment
      // so the reason names the signal rather than a bare disconnect.
      const timer = setTimeout(() => active && (active = false, onDisconnect()), 250);
      void chrome.exited.then((info) => {
        clearTimeout(timer);
        exited(info);
      });
    };
    if (chrome.exitInfo) {
      exited(chrome.exitInfo);
    } else if (!browser.connected) {
      disconnected();
    } else {
      void chrome.exited.then(exited);
      browser.on('disconnected', disconnected);
    }
    return () => {
      active = false;
      browser.off('disconnected', disconnected);
    };
  }

  async memory(): Promise<{ privateBytes: number; pids: number[] }> {
    const pids = await this.tree();
    return { privateBytes: await readPrivateFootprint(pids), pids };
  }

  async detailedMemory(): Promise<ProcessMemory> {
    return readProcessMemory(await this.tree());
  }

  /**
   * The browser's process tree. pidtree runs `ps` each time, so the list is reused for a few
   * seconds; opening a tab (the usual way a renderer appears) drops it at once.
   */
  private async tree(): Promise<number[]> {
    const pid = this.pid;
    if (pid === null) return [];
    const cached = this.treeCache;
    if (cached && cached.pid === pid && performance.now() - cached.at < TREE_TTL_MS) return cached.pids;
    const pids = await processTree(pid);
    this.treeCache = { pid, pids, at: performance.now() };
    return pids;
  }

  /** Kill the whole tree; the profile stays (a relaunch reuses cookies and storage). */
  async kill(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    for (const tab of this.tabs.values()) tab.dispose();
    this.tabs.clear();
    if (!connection) return;
    connection.browser.removeAllListeners('disconnected');
    await killProcessGroup(connection.chrome.pid);
    await connection.chrome.exited;
    await connection.browser.disconnect().catch(() => {});
  }

  /** Graceful close, then kill of the group, then the profile dir goes. */
  async stop(graceMs = 2_000): Promise<void> {
    const connection = this.connection;
    if (connection) {
      await waitAtMost(connection.browser.close(), graceMs);
    }
    await this.kill();
    await removeProfile(this.profileDir);
  }

  async openTab(tabId: string): Promise<TabHandle> {
    const old = this.tabs.get(tabId);
    if (old) {
      this.tabs.delete(tabId);
      await old.close();
    }
    const tab = await TabHandle.open(this.browser, tabId);
    this.tabs.set(tabId, tab);
    this.treeCache = null;
    return tab;
  }

  async closeTab(tabId: string): Promise<void> {
    const tab = this.tabs.get(tabId);
    this.tabs.delete(tabId);
    await tab?.close();
  }
}
