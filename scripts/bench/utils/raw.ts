// The raw puppeteer-core side of every bench: the same binary as tabvisor with tabvisor's lean
// flags, less those puppeteer sets itself (headless mode, profile, port), and no viewport
// emulation (tabvisor connects that way). Each browser's process group is the run's.
import puppeteer, { type Browser } from 'puppeteer-core';
import type { ChromeBinary } from '../../../src/chrome/find.js';
import { chromeArgs, liveGroupMembers } from '../../../src/chrome/launch.js';
import { killGroup, waitGroupGone } from './machine.js';

export function rawLaunchOptions(binary: ChromeBinary) {
  const args = chromeArgs(binary, '/unused').filter(
    (a) => a !== 'about:blank' && !/^--(headless|user-data-dir|remote-debugging-port|remote-debugging-address)(=|$)/.test(a),
  );
  return { executablePath: binary.path, headless: binary.headlessShell ? ('shell' as const) : true, args, defaultViewport: null };
}

export class RawBrowsers {
  readonly options: ReturnType<typeof rawLaunchOptions>;
  private readonly open = new Set<Browser>();

  constructor(binary: ChromeBinary, private readonly groups: Set<number>) {
    this.options = rawLaunchOptions(binary);
  }

  /** The options as the results record them. */
  get recorded() {
    return { headless: this.options.headless, args: this.options.args, defaultViewport: null };
  }

  async launch(): Promise<Browser> {
    const browser = await puppeteer.launch(this.options);
    this.open.add(browser);
    const pid = browser.process()?.pid;
    if (pid) this.groups.add(pid);
    return browser;
  }

  /** Close a browser and wait until its whole process group is gone (what a close left is killed),
   * so that no teardown overlaps the next measurement. */
  async close(browser: Browser): Promise<void> {
    const pid = browser.process()?.pid;
    await browser.close().catch(() => {});
    this.open.delete(browser);
    if (!pid) return;
    if ((await liveGroupMembers(pid)).length) killGroup(pid);
    await waitGroupGone(pid);
  }

  async closeAll(): Promise<void> {
    for (const browser of [...this.open]) await this.close(browser).catch(() => {});
  }
}
