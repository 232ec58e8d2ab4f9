// One Chrome instance as the world sees it: the process tree, the puppeteer connection over
// the DevTools WebSocket (not a pipe, so a later runtime can re-adopt it), and its pages.
import { join } from 'node:path';
import type { Logger } from 'pino';
import puppeteer, { type Browser, type CDPSession, type Target } from 'puppeteer-core';
import { errorMessage } from '../errors.js';
import { waitAtMost, withDeadline } from '../wait.js';
import type { ChromeBinary } from './find.js';
import { Keeper } from './keeper.js';
import { killProcessGroup, launchChrome, removeProfile, type ChromeProcess, type ExitInfo } from './launch.js';
import { groupIsOurs, isSameProcess, type ProcessIdentity } from './process-identity.js';
import { readArgv } from './proc.js';
import { defaultDialogSettings, type DialogSettings } from './dialogs.js';
import { Downloads, defaultDownloadLimits, type DownloadLimits } from './downloads.js';
import { exportStorageState, importStorageState, type StorageState } from './storage-state.js';
import { TabHandle } from './tab.js';

export interface Connection {
  chrome: ChromeProcess;
  browser: Browser;
  /** Browser-level session for probes: one round trip through the browser process. */
  session: CDPSession;
  keeper: Keeper;
  /** Set when the runtime itself closes or kills the browser: its end is no news then. */
  ending?: boolean;
}

/** How a browser outlives a crashed runtime (see keeper.ts). */
export interface InstanceGuard {
  /** How long the browser waits for a new runtime to adopt it. */
  graceMs: number;
  /** The profile is temporary (no state dir): the keeper removes it with the browser. */
  temporaryProfile: boolean;
  /** Environment markers that let a later runtime find this tree and its keeper. */
  env: Record<string, string>;
}

/** What a snapshot records of a running browser, to adopt it after a runtime restart. */
export interface ChromeRecord {
  identity: ProcessIdentity;
  wsEndpoint: string;
  profileDir: string;
  /** Tab id → DevTools target id of the pages the runtime had open. */
  targets: Record<string, string>;
}

export interface OpenedTab {
  tab: TabHandle;
  /** An adopted browser still had this tab's target: it was attached to, not reopened. */
  adopted: boolean;
}

/** An adopted browser must answer within this; a frozen or foreign endpoint is not adopted. */
const ADOPT_TIMEOUT_MS = 3_000;

export class ChromeInstance {
  private connection: Connection | null = null;
  /** Connections whose browser or keeper may still be running, until kill() has ended both
   * (a forced exit in the middle of a kill must still reach them). */
  private readonly live = new Set<Connection>();
  readonly tabs = new Map<string, TabHandle>();
  /** Targets of an adopted browser not yet claimed by their tab actors. */
  private readonly adoptable = new Map<string, Target>();

  /** Lines about this instance's browser: `{instanceId}`, and `chromePid` while one runs
   * (`pid` is the runtime's own in every pino line). */
  private log: Logger;
  /** Files its pages downloaded, inside the profile (removed with it). */
  readonly downloads: Downloads;
  /** Each tab's dialog policy: it outlives the tab's page (a recovered tab keeps it). */
  private readonly dialogSettings = new Map<string, DialogSettings>();

  constructor(
    readonly instanceId: string,
    readonly binary: ChromeBinary,
    readonly profileDir: string,
    private readonly guard: InstanceGuard,
    private readonly baseLog: Logger,
    downloadLimits: DownloadLimits = defaultDownloadLimits,
  ) {
    this.log = baseLog;
    this.downloads = new Downloads(join(profileDir, 'tabvisor-downloads'), downloadLimits, baseLog);
  }

  /** Where files given to tab.upload are kept for the page to read (inside the profile). */
  get uploadDir(): string {
    return join(this.profileDir, 'tabvisor-uploads');
  }

  /** The browser as a snapshot records it (null while none runs). */
  record(): ChromeRecord | null {
    const connection = this.connection;
    if (!connection) return null;
    const targets: Record<string, string> = {};
    for (const [tabId, tab] of this.tabs) targets[tabId] = tab.targetId;
    for (const [tabId, target] of this.adoptable) targets[tabId] ??= targetIdOf(target);
    return {
      identity: connection.chrome.identity,
      wsEndpoint: connection.chrome.wsEndpoint,
      profileDir: this.profileDir,
      targets,
    };
  }

  get pid(): number | null {
    return this.connection?.chrome.pid ?? null;
  }

  get wsEndpoint(): string | null {
    return this.connection?.chrome.wsEndpoint ?? null;
  }

  /** Launch a new browser (the previous one must have been killed) and connect to it. */
  async launch(args: string[], signal?: AbortSignal): Promise<{ pid: number; launchMs: number }> {
    const started = performance.now();
    const chrome = await launchChrome({ binary: this.binary, instanceId: this.instanceId, profileDir: this.profileDir, args, signal, env: this.guard.env });
    this.log = this.baseLog.child({ chromePid: chrome.pid });
    let browser: Browser | undefined;
    // Started while puppeteer connects; released below if the launch fails at any point. Its
    // own failure is handled where it is awaited (the try, or the release in the catch): this
    // handler only keeps it from counting as unhandled while the connect is awaited first.
    const keeping = this.startKeeper(chrome.identity);
    keeping.catch(() => {});
    try {
      browser = await puppeteer.connect({
        browserWSEndpoint: chrome.wsEndpoint,
        defaultViewport: null,
        protocolTimeout: 30_000,
      });
      const keeper = await keeping;
      const session = await browser.target().createCDPSession();
      // Chrome opens an about:blank page at start; its renderer is ~40 MB PSS that no tab
      // uses. Tabs get targets of their own, so an idle instance holds no page at all.
      // Nothing waits on the close: the instance is usable meanwhile.
      session
        .send('Target.getTargets')
        .then(({ targetInfos }) =>
          Promise.all(targetInfos.filter((t) => t.type === 'page').map((t) => session.send('Target.closeTarget', { targetId: t.targetId }))),
        )
        .catch((error: unknown) => this.log.debug({ err: errorMessage(error) }, 'the start page stays open (it only costs memory)'));
      this.connect({ chrome, browser, session, keeper });
      if (signal?.aborted) throw new Error('launch aborted');
      return { pid: chrome.pid, launchMs: Math.round(performance.now() - started) };
    } catch (error) {
      const failed = this.connection;
      this.connection = null;
      this.log.warn({ err: errorMessage(error) }, 'launch failed: killing the browser');
      await browser?.disconnect().catch((e: unknown) => this.log.debug({ err: errorMessage(e) }, 'disconnect after a failed launch failed (the group is killed next)'));
      await killProcessGroup(chrome.pid);
      await chrome.exited;
      await keeping.then((k) => k.release(), () => {}); // a keeper that did not start has nothing to release
      if (failed) this.live.delete(failed);
      throw error;
    }
  }

  /** The browser this instance runs now; an end it did not ask for leaves a line. */
  private connect(connection: Connection): void {
    this.connection = connection;
    this.live.add(connection);
    // Downloads are saved from the start; a browser that refuses leaves its pages unable to download.
    void this.downloads
      .attach(connection.session, (frameId) => this.tabOfFrame(frameId))
      .catch((error: unknown) => this.log.warn({ err: errorMessage(error) }, 'downloads are off for this browser'));
    const current = () => this.connection === connection && !connection.ending;
    void connection.chrome.exited.then((info) => current() && this.log.warn(info, 'browser exited'));
    connection.browser.once('disconnected', () => current() && this.log.warn('DevTools connection lost'));
  }

  private startKeeper(browser: ProcessIdentity): Promise<Keeper> {
    return Keeper.start({
      instanceId: this.instanceId,
      browser,
      graceMs: this.guard.graceMs,
      removeProfile: this.guard.temporaryProfile ? this.profileDir : null,
      env: this.guard.env,
    });
  }

  /**
   * Take over the browser an earlier runtime recorded, if it is still that process (same pid,
   * start time and boot), runs on this profile and answers over DevTools. Its recorded pages
   * wait to be claimed by their tabs; pages nobody recorded are closed. If it cannot be
   * adopted, whatever is left of it is killed before this rejects: never two browsers for
   * one instance. The earlier runtime's keeper must have been ended by the caller.
   */
  async adopt(record: ChromeRecord, signal?: AbortSignal): Promise<{ pid: number; launchMs: number }> {
    const started = performance.now();
    const { identity } = record;
    this.log = this.baseLog.child({ chromePid: identity.pid });
    let browser: Browser | undefined;
    let keeper: Keeper | undefined;
    try {
      if (record.profileDir !== this.profileDir) throw new Error(`it ran on another profile (${record.profileDir})`);
      if (!(await isSameProcess(identity))) throw new Error(`pid ${identity.pid} is not the recorded browser any more`);
      const argv = (await readArgv(identity.pid)) ?? [];
      if (!argv.includes(`--user-data-dir=${record.profileDir}`)) throw new Error(`pid ${identity.pid} does not run on the recorded profile`);
      const connecting = puppeteer.connect({ browserWSEndpoint: record.wsEndpoint, defaultViewport: null, protocolTimeout: 30_000 });
      browser = await withDeadline(connecting, ADOPT_TIMEOUT_MS, 'its DevTools endpoint did not answer').catch((error: unknown) => {
        void connecting.then((late) => late.disconnect(), () => {}); // a connect that failed late left nothing open
        throw error;
      });
      const session = await browser.target().createCDPSession();
      await withDeadline(session.send('Browser.getVersion'), ADOPT_TIMEOUT_MS, 'it did not answer a probe');
      if (signal?.aborted) throw new Error('adoption aborted');
      const wanted = new Map(Object.entries(record.targets).map(([tabId, targetId]) => [targetId, tabId]));
      for (const target of browser.targets()) {
        if (target.type() !== 'page') continue;
        const tabId = wanted.get(targetIdOf(target));
        if (tabId) this.adoptable.set(tabId, target);
        else {
          void session
            .send('Target.closeTarget', { targetId: targetIdOf(target) })
            .catch((error: unknown) => this.log.debug({ targetId: targetIdOf(target), err: errorMessage(error) }, 'an unrecorded page of the adopted browser stays open'));
        }
      }
      keeper = await this.startKeeper(identity);
      let exitInfo: ExitInfo | null = null;
      let markExited = () => {};
      const exited = new Promise<ExitInfo>((resolve) => (markExited = () => resolve((exitInfo ??= { code: null, signal: null }))));
      const chrome: ChromeProcess = {
        pid: identity.pid,
        identity,
        wsEndpoint: record.wsEndpoint,
        profileDir: this.profileDir,
        launchMs: Math.round(performance.now() - started),
        exited,
        get exitInfo() {
          return exitInfo;
        },
        markExited,
      };
      if (signal?.aborted) throw new Error('adoption aborted');
      this.connect({ chrome, browser, session, keeper });
      return { pid: identity.pid, launchMs: chrome.launchMs };
    } catch (error) {
      this.adoptable.clear();
      this.log.info({ err: errorMessage(error) }, 'not adopted: killing what is left of the recorded browser');
      await browser?.disconnect().catch((e: unknown) => this.log.debug({ err: errorMessage(e) }, 'disconnect from the browser that was not adopted failed'));
      if (await groupIsOurs(identity)) {
        await killProcessGroup(identity.pid).catch((e: unknown) => this.log.error({ err: errorMessage(e) }, 'could not kill the browser that was not adopted'));
      }
      await keeper?.release();
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

  /** Kill the whole tree; the profile stays (a relaunch reuses cookies and storage). */
  async kill(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    for (const tab of this.tabs.values()) tab.dispose();
    this.tabs.clear();
    this.adoptable.clear();
    if (!connection) return;
    connection.browser.removeAllListeners('disconnected');
    try {
      await killProcessGroup(connection.chrome.pid);
    } catch (error) {
      this.log.error({ err: errorMessage(error) }, 'the browser survived SIGKILL to its group');
      throw error;
    }
    connection.chrome.markExited();
    await connection.chrome.exited;
    // The browser is dead: the socket is gone or going, and nothing is left to tell it.
    await connection.browser.disconnect().catch((error: unknown) => this.log.debug({ err: errorMessage(error) }, 'disconnect after the kill failed'));
    // After the kill: a runtime that dies in between leaves a keeper that finds nothing to do.
    await connection.keeper.release();
    this.live.delete(connection);
  }

  /** Forced exit: SIGKILL the browser's group and its keeper, synchronously. */
  killSync(): void {
    for (const connection of this.live) {
      try {
        process.kill(-connection.chrome.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      connection.keeper.killSync();
    }
  }

  /** Graceful close, then kill of the group, then the profile dir goes. */
  async stop(graceMs = 2_000): Promise<void> {
    const connection = this.connection;
    if (connection) {
      connection.ending = true;
      if (graceMs > 0) await waitAtMost(connection.browser.close(), graceMs);
    }
    await this.kill();
    await removeProfile(this.profileDir);
  }

  /** A new target for the tab, or the one an adopted browser still has for it. */
  async openTab(tabId: string): Promise<OpenedTab> {
    const old = this.tabs.get(tabId);
    if (old) {
      this.tabs.delete(tabId);
      await old.close();
    }
    const target = this.adoptable.get(tabId);
    this.adoptable.delete(tabId);
    const existing = target ? await target.page().catch(() => null) : null;
    const tab = await TabHandle.open(this.browser, tabId, existing ?? undefined, this.dialogSettings.get(tabId));
    this.tabs.set(tabId, tab);
    return { tab, adopted: existing !== null };
  }

  async closeTab(tabId: string): Promise<void> {
    const tab = this.tabs.get(tabId);
    this.tabs.delete(tabId);
    this.dialogSettings.delete(tabId);
    await tab?.close();
  }

  /** How the tab's dialogs are answered from now on, for its current page and the next ones. */
  setDialogSettings(tabId: string, settings: Partial<DialogSettings>): DialogSettings {
    const merged = { ...(this.dialogSettings.get(tabId) ?? defaultDialogSettings), ...settings };
    this.dialogSettings.set(tabId, merged);
    const tab = this.tabs.get(tabId);
    if (tab) tab.dialogs.settings = merged;
    return merged;
  }

  dialogSettingsOf(tabId: string): DialogSettings {
    return this.dialogSettings.get(tabId) ?? defaultDialogSettings;
  }

  /** Cookies and localStorage of the origins its pages show (instance.storageState). */
  async storageState(): Promise<StorageState> {
    if (!this.connection) throw new Error(`instance ${this.instanceId} has no browser`);
    return exportStorageState(this.connection.session, [...this.tabs.values()].map((t) => t.page));
  }

  /** Start with a session state exported earlier (instance.create { storageState }). */
  async applyStorageState(state: StorageState): Promise<void> {
    if (!this.connection) throw new Error(`instance ${this.instanceId} has no browser`);
    await importStorageState(this.connection.browser, this.connection.session, state);
  }

  /** The tab whose page holds this frame (downloads name the frame that started them). */
  private tabOfFrame(frameId: string): string | null {
    for (const [tabId, tab] of this.tabs) {
      if (tab.targetId === frameId || tab.page.frames().some((f) => (f as unknown as { _id?: string })._id === frameId)) return tabId;
    }
    return null;
  }
}

/** puppeteer keeps a target's DevTools id on its Target (`_targetId`) and has no public getter. */
function targetIdOf(target: Target): string {
  return (target as unknown as { _targetId: string })._targetId;
}
