// The page methods agents expect beyond navigation, snapshots and actions: history moves,
// waits, what the page logged and requested, evaluation, dialogs, uploads, PDFs and
// downloads. Each runs like PageService's calls: bounded by its call's signal and its tab.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PaperFormat } from 'puppeteer-core';
import { ErrorCode, TabvisorError, capacity, errorMessage, pageFailed, timedOut, unavailable } from '../errors.js';
import { GROUP, call, locateOnPage, type Located } from '../chrome/actions.js';
import type { DialogPolicy } from '../chrome/dialogs.js';
import type { DownloadRecord } from '../chrome/downloads.js';
import type { ChromeInstance } from '../chrome/instance.js';
import type { ConsoleEntry, RequestEntry } from '../chrome/page-log.js';
import type { TabHandle, WaitUntil } from '../chrome/tab.js';
import type { ValidParams } from '../protocol/methods.js';
import { sleep } from '../wait.js';
import type { PageHost, PageService } from './pages.js';

/** What the agent pages use of the runtime besides the page host. */
export interface AgentHost extends PageHost {
  /** The browser of an instance (its downloads, dialog settings, upload dir), if it has one. */
  chromeOf(instanceId: string): ChromeInstance | undefined;
  instanceIds(): string[];
}

const POLL_MS = 100;

// Console levels at or above each filter: error < warning < info < debug.
const LEVELS: Record<string, number> = { error: 0, 'page-error': 0, assert: 0, warn: 1, warning: 1, debug: 3, verbose: 3 };
const LEVEL_OF_FILTER = { error: 0, warning: 1, info: 2, debug: 3 } as const;

const IS_FILE_INPUT = `function () { return this instanceof HTMLInputElement && this.type === 'file' ? { multiple: this.multiple } : '<' + this.tagName.toLowerCase() + (this instanceof HTMLInputElement ? ' type=' + this.type : '') + '>'; }`;

export class AgentPages {
  constructor(
    private readonly host: AgentHost,
    private readonly pages: PageService,
  ) {}

  async history(tabId: string, move: 'back' | 'forward' | 'reload', waitUntil: WaitUntil, timeoutMs: number, signal: AbortSignal) {
    return this.pages.onTab(tabId, signal, move, async (handle, bounded) => {
      try {
        const result = await handle.history(move, waitUntil, timeoutMs, bounded);
        if (result.navigated) this.host.tabNavigated(tabId, result.url, result.title);
        return result;
      } catch (error) {
        if (error instanceof Error && error.name === 'TimeoutError' && !bounded.aborted) throw timedOut(`${move} of tab ${tabId}`, timeoutMs);
        throw error;
      }
    });
  }

  async waitFor(tabId: string, params: Omit<ValidParams<'tab.waitFor'>, 'tabId'>, signal: AbortSignal) {
    return this.pages.onTab(tabId, signal, 'waitFor', async (handle, bounded) => {
      const started = performance.now();
      const deadline = started + params.timeoutMs;
      const what = params.text !== undefined ? `text ${JSON.stringify(params.text)}` : params.selector !== undefined ? `selector ${JSON.stringify(params.selector)}` : params.url !== undefined ? `URL ${params.url}` : `state ${params.state}`;
      if (params.state === 'networkidle') {
        await handle.page.waitForNetworkIdle({ idleTime: 500, timeout: params.timeoutMs, signal: bounded }).catch((error: unknown) => {
          throw bounded.aborted ? bounded.reason : error instanceof Error && error.name === 'TimeoutError' ? timedOut(`waiting for ${what}`, params.timeoutMs) : error;
        });
        return { url: handle.page.url(), waitedMs: Math.round(performance.now() - started) };
      }
      const check = this.condition(handle, params);
      for (;;) {
        if (await check()) return { url: handle.page.url(), waitedMs: Math.round(performance.now() - started) };
        const left = deadline - performance.now();
        if (left <= 0) throw timedOut(`waiting for ${params.gone ? `${what} to be gone` : what}`, params.timeoutMs);
        await sleep(Math.min(left, POLL_MS), bounded);
      }
    });
  }

  console(tabId: string, params: Omit<ValidParams<'tab.console'>, 'tabId'>, signal: AbortSignal) {
    return this.host.withTab(tabId, signal, async (handle) => {
      const most = LEVEL_OF_FILTER[params.level];
      const matches = (e: ConsoleEntry) => (LEVELS[e.type] ?? 2) <= most && (params.since === undefined || e.seq > params.since) && (params.text === undefined || e.text.includes(params.text));
      return { ...newest(handle.events.console.filter(matches), params.limit), dropped: handle.events.dropped.console };
    });
  }

  network(tabId: string, params: Omit<ValidParams<'tab.network'>, 'tabId'>, signal: AbortSignal) {
    return this.host.withTab(tabId, signal, async (handle) => {
      const failed = (r: RequestEntry) => r.state === 'failed' || (r.status !== undefined && r.status >= 400);
      const matches = (r: RequestEntry) =>
        (params.since === undefined || r.seq > params.since) &&
        (params.url === undefined || r.url.includes(params.url)) &&
        (params.resourceType === undefined || r.resourceType === params.resourceType) &&
        (params.failed === undefined || failed(r) === params.failed);
      return { ...newest(handle.events.requests.filter(matches).map((r) => ({ ...r })), params.limit), dropped: handle.events.dropped.requests };
    });
  }

  async evaluate(tabId: string, params: Omit<ValidParams<'tab.evaluate'>, 'tabId'>, signal: AbortSignal) {
    return this.pages.onTab(tabId, signal, 'evaluate', async (handle, bounded) => {
      const common = { awaitPromise: true, returnByValue: true, userGesture: true } as const;
      let reply;
      let el: Located | null = null;
      try {
        if (params.ref !== undefined) {
          const target = this.pages.target(tabId, handle, params);
          el = await locateOnPage(handle, target!, performance.now(), 0, bounded, { enabled: false, visible: false });
          reply = await el.ctx.send<{ result: { type: string; subtype?: string; value?: unknown }; exceptionDetails?: { text: string; exception?: { description?: string } } }>('Runtime.callFunctionOn', {
            ...common,
            functionDeclaration: params.function as string,
            objectId: el.objectId,
            arguments: [{ objectId: el.objectId }, ...params.args.map((value) => ({ value }))],
          });
        } else {
          const expression = params.expression ?? `(${params.function as string})(...${JSON.stringify(params.args)})`;
          reply = await handle.cdp.send('Runtime.evaluate', { ...common, expression, timeout: params.timeoutMs });
        }
      } finally {
        await releaseGroup(handle, el);
      }
      const { result, exceptionDetails } = reply;
      if (exceptionDetails) {
        const cause = exceptionDetails.exception?.description?.split('\n')[0] ?? exceptionDetails.text;
        throw pageFailed(`evaluation threw in the page: ${cause}`, { url: handle.page.url(), cause });
      }
      const json = result.value === undefined ? undefined : JSON.stringify(result.value);
      const bytes = json === undefined ? 0 : Buffer.byteLength(json);
      if (bytes > params.maxBytes) throw capacity(`the value is ${bytes} bytes, above maxBytes`, params.maxBytes, bytes);
      return { type: result.subtype === 'null' ? 'null' : result.type, ...(result.value === undefined ? {} : { value: result.value as unknown }), bytes };
    });
  }

  /** Read or set the tab's dialog policy, and answer its held dialog. */
  async dialog(tabId: string, params: Omit<ValidParams<'tab.dialog'>, 'tabId'>, signal: AbortSignal) {
    const chrome = this.chromeOfTab(tabId);
    if (params.policy !== undefined || params.holdMs !== undefined) {
      const policy: { policy?: DialogPolicy; holdMs?: number; promptText?: string } = {};
      if (params.policy !== undefined) policy.policy = params.policy;
      if (params.holdMs !== undefined) policy.holdMs = params.holdMs;
      if (params.policy === 'accept' && params.accept === undefined) policy.promptText = params.text;
      chrome.setDialogSettings(tabId, policy);
    }
    return this.host.withTab(tabId, signal, async (handle) => {
      let handled;
      if (params.accept !== undefined) {
        handled = await handle.dialogs.answer(params.accept, params.text);
        if (!handled) throw new TabvisorError(ErrorCode.NotFound, `no dialog is open on tab ${tabId}`, { tabId });
      }
      const { policy, holdMs } = chrome.dialogSettingsOf(tabId);
      return { policy, holdMs, ...(handled ? { handled: { ...handled } } : {}), pending: handle.dialogs.pending, recent: handle.dialogs.recent.map((d) => ({ ...d })) };
    });
  }

  async upload(tabId: string, params: Omit<ValidParams<'tab.upload'>, 'tabId'>, signal: AbortSignal) {
    const chrome = this.chromeOfTab(tabId);
    return this.pages.onTab(tabId, signal, 'upload', async (handle, bounded) => {
      const target = this.pages.target(tabId, handle, params);
      let el: Located | null = null;
      try {
        // File inputs are often hidden behind a styled label: visibility is not required.
        el = await locateOnPage(handle, target!, performance.now() + params.timeoutMs, params.timeoutMs, bounded, { enabled: true, visible: false });
        const kind = await call<{ multiple: boolean } | string>(el, IS_FILE_INPUT);
        if (typeof kind === 'string') throw pageFailed(`${el.label} is an ${kind}, not an <input type=file>`, { cause: `not a file input: ${kind}` });
        if (!kind.multiple && params.files.length > 1) {
          throw new TabvisorError(ErrorCode.InvalidParams, `invalid params: ${el.label} takes one file (no multiple attribute)`, { path: 'params.files', expected: 'at most 1 item' });
        }
        // The page reads the files when it wants to: they are kept with the instance's profile.
        const dir = join(chrome.uploadDir, randomUUID());
        await mkdir(dir, { recursive: true });
        const files = [];
        for (const file of params.files) {
          const data = Buffer.from(file.data, 'base64');
          await writeFile(join(dir, file.name), data);
          files.push({ name: file.name, bytes: data.length });
        }
        await el.ctx.send('DOM.setFileInputFiles', { files: params.files.map((f) => join(dir, f.name)), objectId: el.objectId });
        return { ok: true as const, files };
      } finally {
        await releaseGroup(handle, el);
      }
    });
  }

  async pdf(tabId: string, params: Omit<ValidParams<'tab.pdf'>, 'tabId'>, signal: AbortSignal) {
    return this.pages.onTab(tabId, signal, 'pdf', async (handle) => {
      const data = await handle.page.pdf({
        format: params.format as PaperFormat,
        ...(params.width ? { width: params.width } : {}),
        ...(params.height ? { height: params.height } : {}),
        landscape: params.landscape,
        printBackground: params.printBackground,
        scale: params.scale,
        ...(params.pageRanges ? { pageRanges: params.pageRanges } : {}),
        timeout: params.timeoutMs,
      });
      if (data.length > params.maxBytes) throw capacity(`the PDF is ${data.length} bytes, above maxBytes`, params.maxBytes, data.length);
      return { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'), bytes: data.length };
    });
  }

  downloads(tabId: string): { downloads: DownloadRecord[] } {
    return { downloads: this.chromeOfTab(tabId).downloads.list(tabId).map((d) => ({ ...d })) };
  }

  /** The download and the instance it belongs to (-32000 if no instance has it). */
  findDownload(downloadId: string): { instanceId: string; record: DownloadRecord } {
    for (const instanceId of this.host.instanceIds()) {
      const record = this.host.chromeOf(instanceId)?.downloads.get(downloadId);
      if (record) return { instanceId, record };
    }
    throw new TabvisorError(ErrorCode.NotFound, `download ${downloadId} not found`, { downloadId });
  }

  async download(downloadId: string, maxBytes: number) {
    const { instanceId, record } = this.findDownload(downloadId);
    if (record.state !== 'completed') throw unavailable(`download ${downloadId}`, record.state, record.state === 'inProgress' ? 500 : undefined);
    const chrome = this.host.chromeOf(instanceId);
    if (!chrome) throw unavailable(`instance ${instanceId}`, 'stopped');
    let file;
    try {
      file = await chrome.downloads.file(record);
    } catch (error) {
      throw new TabvisorError(ErrorCode.NotFound, `download ${downloadId}: its file is gone (${errorMessage(error)})`, { downloadId });
    }
    if (file.bytes > maxBytes) throw capacity(`download ${downloadId} is ${file.bytes} bytes, above maxBytes`, maxBytes, file.bytes);
    const data = await readFile(file.path);
    return { ...record, bytes: data.length, data: data.toString('base64') };
  }

  private chromeOfTab(tabId: string): ChromeInstance {
    const { instanceId, state } = this.host.tab(tabId);
    const chrome = this.host.chromeOf(instanceId);
    if (!chrome) throw unavailable(`tab ${tabId}`, state, 1_000);
    return chrome;
  }

  /** One check of a waitFor condition other than networkidle. */
  private condition(handle: TabHandle, params: Omit<ValidParams<'tab.waitFor'>, 'tabId'>): () => Promise<boolean> {
    if (params.url !== undefined) {
      const pattern = params.url;
      const glob = pattern.includes('*') ? new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`) : null;
      return async () => (glob ? glob.test(handle.page.url()) : handle.page.url() === pattern);
    }
    let expression: string;
    if (params.text !== undefined) {
      expression = `((document.body || document.documentElement)?.innerText ?? '').includes(${JSON.stringify(params.text)})`;
    } else if (params.selector !== undefined) {
      expression = `(() => { const el = document.querySelector(${JSON.stringify(params.selector)}); if (!el) return false;
        const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
        return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.visibility !== 'collapse'; })()`;
    } else {
      expression = params.state === 'load' ? `document.readyState === 'complete'` : `document.readyState !== 'loading'`;
    }
    if (params.gone) expression = `!(${expression})`;
    return async () => {
      const { result, exceptionDetails } = await handle.cdp.send('Runtime.evaluate', { expression, returnByValue: true }).catch((error: unknown) => {
        // A document being replaced has no context for a moment: not yet, rather than a failure.
        if (/context|Execution|navigat/i.test(errorMessage(error)) && handle.usable) return { result: { type: 'boolean', value: false }, exceptionDetails: undefined };
        throw error;
      });
      if (exceptionDetails) {
        throw new TabvisorError(ErrorCode.InvalidParams, `invalid params: selector ${JSON.stringify(params.selector)}: ${exceptionDetails.exception?.description?.split('\n')[0] ?? exceptionDetails.text}`, {
          path: 'params.selector',
          expected: 'a valid CSS selector',
        });
      }
      return result.value === true;
    };
  }
}

/** The newest `limit` entries, oldest first. */
function newest<T>(entries: T[], limit: number): { entries: T[]; truncated: boolean } {
  return { entries: entries.slice(-limit).map((e) => ({ ...e })), truncated: entries.length > limit };
}

/** Release the handles a call made, on the page's session and the element's frame's. */
async function releaseGroup(handle: TabHandle, el: Located | null): Promise<void> {
  const release = { objectGroup: GROUP };
  // Each fails only when its page or frame went away, and the handles with it.
  await handle.cdp.send('Runtime.releaseObjectGroup', release).catch(() => {});
  if (el?.ctx.framed) await el.ctx.send('Runtime.releaseObjectGroup', release).catch(() => {});
}
