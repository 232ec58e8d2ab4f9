// The MCP page tools, named and shaped as playwright-mcp names them where the job is the
// same (browser_navigate, browser_snapshot, browser_click, …), each with an optional tabId;
// tabvisor's fleet tools are in fleet-tools.ts. Each is a few control-channel calls through
// the session; the snapshot comes back as text (snapshot-text.ts).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { ErrorCode, TabvisorError } from '../errors.js';
import type { ResultOf } from '../protocol/methods.js';
import { sleep } from '../wait.js';
import { dataOf } from './backend.js';
import { defineTool, noted, text, type Content } from './define-tool.js';
import { registerFleetTools } from './fleet-tools.js';
import type { McpSession } from './session.js';
import { DEFAULT_MAX_TOKENS, renderSnapshot } from './snapshot-text.js';

export interface ToolOptions {
  /** List browser_evaluate (the server allows tab.evaluate). */
  allowEvaluate: boolean;
  /** browser_file_upload may read `paths` on this machine (stdio: the agent's own machine). */
  localFiles: boolean;
}

const tabIdArg = z.string().optional().describe('the tab to act on (default: the current tab; browser_tabs lists them)');
const elementArg = z.string().optional().describe('human-readable description of the element, for the record');
const refArg = z.string().describe('exact ref of the element from the page snapshot, e.g. e12');

export function registerTools(server: McpServer, session: McpSession, options: ToolOptions): void {
  const tool = defineTool(server);

  /** Run on a tab, waiting out a recovery: its id, the value, and a note if it was recovered. */
  const onTab = async <T>(tabId: string | undefined, signal: AbortSignal, work: (id: string) => Promise<T>) => {
    const id = await session.tab(tabId, signal);
    return { id, ...(await session.onTab(id, () => work(id), signal)) };
  };

  /** Run on a tab (waiting out a recovery), then the page as it is now. */
  const act = async (tabId: string | undefined, signal: AbortSignal, what: (tabId: string) => Promise<string>): Promise<Content> => {
    const { id, value, note } = await onTab(tabId, signal, what);
    let state: string;
    try {
      state = await page(id, signal);
    } catch (error) {
      // A dialog the action opened blocks the page until it is answered: no snapshot till then.
      if (dataOf(error)?.state !== 'dialog') throw error;
      state = `### Tab ${id}\n(the page waits for its dialog to be answered: browser_handle_dialog)`;
    }
    return [text(noted(note, value)), text(state)];
  };

  const page = async (tabId: string, signal: AbortSignal, view: { page?: number; maxTokens?: number; filter?: 'interactive' | 'all' } = {}): Promise<string> => {
    let snapshot = view.page && view.page > 1 ? session.lastSnapshot(tabId) : undefined;
    if (!snapshot) {
      snapshot = await session.call('tab.snapshot', { tabId, filter: view.filter ?? 'interactive' }, signal);
      session.rememberSnapshot(tabId, snapshot);
    }
    const rendered = renderSnapshot(snapshot, view);
    if (!rendered) throw new TabvisorError(ErrorCode.InvalidParams, `invalid params: page ${view.page} is past the last page of snapshot ${snapshot.snapshotId}`, { path: 'page', expected: 'a page of the last snapshot' });
    return `### Tab ${tabId}\n${rendered.text}`;
  };

  const moved = (r: { url: string; status: number | null; title: string; navigated?: boolean }) =>
    r.navigated === false ? `No history entry there; still at ${r.url}` : `Now at ${r.url}${r.status !== null ? ` (HTTP ${r.status})` : ''}, title ${JSON.stringify(r.title)}`;

  const actionLine = (r: ResultOf<'tab.action'>, done: string) =>
    r.dialog
      ? `${done}; a ${r.dialog.type} dialog opened: ${JSON.stringify(r.dialog.message)}. Answer it with browser_handle_dialog (it is dismissed if nobody does).`
      : `${done}${r.navigated ? `; the page navigated to ${r.url}` : ''}`;

  const acted = async (tabId: string | undefined, signal: AbortSignal, params: Omit<Parameters<McpSession['call']>[1] & object, 'tabId'>, done: string) =>
    act(tabId, signal, async (id) => actionLine(await session.call('tab.action', { tabId: id, ...(params as { action: 'click' }) }, signal), done));

  tool('browser_navigate', 'Navigate to a URL (opens a tab first if the session has none).', { url: z.string().describe('the URL to navigate to'), tabId: tabIdArg }, async ({ url, tabId }, { signal }) =>
    act(tabId, signal, async (id) => moved(await session.call('tab.navigate', { tabId: id, url }, signal))),
  );
  tool('browser_navigate_back', 'Go back to the previous page.', { tabId: tabIdArg }, async ({ tabId }, { signal }) =>
    act(tabId, signal, async (id) => moved(await session.call('tab.back', { tabId: id }, signal))),
  );
  tool('browser_navigate_forward', 'Go forward to the next page.', { tabId: tabIdArg }, async ({ tabId }, { signal }) =>
    act(tabId, signal, async (id) => moved(await session.call('tab.forward', { tabId: id }, signal))),
  );
  tool(
    'browser_snapshot',
    `The page's elements, one line each: role, quoted name, value, state and [ref=eN]; act on elements by ref. Long pages come in pages of about maxTokens (default ${DEFAULT_MAX_TOKENS}); page 2, 3, … read on in the same snapshot.`,
    {
      tabId: tabIdArg,
      page: z.number().int().min(1).optional().describe('page of the last snapshot to show (1: take a new one)'),
      maxTokens: z.number().int().min(200).max(100_000).optional(),
      filter: z.enum(['interactive', 'all']).optional().describe('interactive (default): what can be acted on; all: every rendered element'),
    },
    async ({ tabId, ...view }, { signal }) => {
      const { value, note } = await onTab(tabId, signal, (id) => page(id, signal, view));
      return [text(noted(note, value))];
    },
    true,
  );
  tool('browser_click', 'Click an element.', { element: elementArg, ref: refArg, tabId: tabIdArg }, async ({ ref, tabId }, { signal }) =>
    acted(tabId, signal, { action: 'click', ref }, `Clicked ${ref}`),
  );
  tool('browser_hover', 'Move the mouse over an element.', { element: elementArg, ref: refArg, tabId: tabIdArg }, async ({ ref, tabId }, { signal }) =>
    acted(tabId, signal, { action: 'hover', ref }, `Hovered ${ref}`),
  );
  tool(
    'browser_type',
    'Type text into an editable element (replacing what it holds).',
    {
      element: elementArg,
      ref: refArg,
      text: z.string().describe('text to type'),
      submit: z.boolean().optional().describe('press Enter after'),
      slowly: z.boolean().optional().describe('one key at a time (for pages that listen to keys) instead of at once'),
      tabId: tabIdArg,
    },
    async ({ ref, text: typed, submit, slowly, tabId }, { signal }) =>
      act(tabId, signal, async (id) => {
        let r = await session.call('tab.action', { tabId: id, action: slowly ? 'type' : 'fill', ref, text: typed }, signal);
        if (submit && !r.dialog) r = await session.call('tab.action', { tabId: id, action: 'press', ref, key: 'Enter' }, signal);
        return actionLine(r, `Typed into ${ref}${submit ? ' and pressed Enter' : ''}`);
      }),
  );
  tool(
    'browser_fill_form',
    'Fill several form fields at once.',
    {
      fields: z
        .array(
          z.object({
            name: z.string().describe('human-readable field name'),
            type: z.enum(['textbox', 'checkbox', 'radio', 'combobox', 'slider']),
            ref: refArg,
            value: z.string().describe('text; "true"/"false" for checkbox and radio; the option for combobox'),
          }),
        )
        .min(1),
      tabId: tabIdArg,
    },
    async ({ fields, tabId }, { signal }) =>
      act(tabId, signal, async (id) => {
        const known = new Map((session.lastSnapshot(id)?.nodes ?? []).map((n) => [n.ref, n]));
        for (const field of fields) {
          if (field.type === 'checkbox' || field.type === 'radio') {
            const want = field.value === 'true';
            if ((known.get(field.ref)?.checked === true) !== want) await session.call('tab.action', { tabId: id, action: 'click', ref: field.ref }, signal);
          } else if (field.type === 'combobox') {
            await session.call('tab.action', { tabId: id, action: 'select', ref: field.ref, value: field.value }, signal);
          } else {
            await session.call('tab.action', { tabId: id, action: 'fill', ref: field.ref, text: field.value }, signal);
          }
        }
        return `Filled ${fields.length} field${fields.length === 1 ? '' : 's'}: ${fields.map((f) => f.name).join(', ')}`;
      }),
  );
  tool(
    'browser_select_option',
    'Select an option in a dropdown.',
    { element: elementArg, ref: refArg, values: z.array(z.string()).min(1).max(1).describe('the option to select (value or label)'), tabId: tabIdArg },
    async ({ ref, values, tabId }, { signal }) => acted(tabId, signal, { action: 'select', ref, value: values[0] as string }, `Selected ${JSON.stringify(values[0])} in ${ref}`),
  );
  tool('browser_press_key', 'Press a key, e.g. "Enter", "ArrowLeft", "a", "Control+A".', { key: z.string().describe('the key'), tabId: tabIdArg }, async ({ key, tabId }, { signal }) =>
    acted(tabId, signal, { action: 'press', key }, `Pressed ${key}`),
  );
  tool(
    'browser_take_screenshot',
    'A screenshot of the viewport (or the full page). browser_snapshot is better for acting on the page.',
    { type: z.enum(['png', 'jpeg']).optional(), fullPage: z.boolean().optional(), tabId: tabIdArg },
    async ({ type = 'png', fullPage = false, tabId }, { signal }) => {
      const { id, value, note } = await onTab(tabId, signal, (id) => session.call('tab.screenshot', { tabId: id, format: type, fullPage }, signal));
      return [text(noted(note, `Screenshot of tab ${id}: ${value.width}×${value.height} ${type}`)), { type: 'image', data: value.data, mimeType: `image/${type}` }];
    },
    true,
  );
  tool(
    'browser_tabs',
    "List, open, close or select this session's tabs. Tabs keep their ids when their browser is recovered.",
    {
      action: z.enum(['list', 'new', 'close', 'select']),
      index: z.number().int().min(0).optional().describe('close, select: the tab at this index of the list'),
      tabId: z.string().optional().describe('close, select: this tab'),
      url: z.string().optional().describe('new: open it at this URL'),
    },
    async ({ action, index, tabId, url }, { signal }) => {
      const pick = async () => {
        if (tabId !== undefined) return session.tab(tabId, signal);
        if (index === undefined) return session.tab(undefined, signal);
        const found = (await session.listTabs(signal))[index];
        if (!found) throw new TabvisorError(ErrorCode.NotFound, `no tab at index ${index}`, {});
        return found.tabId;
      };
      if (action === 'new') await session.openTab(url, signal);
      else if (action === 'close') {
        const id = await pick();
        await session.call('tab.close', { tabId: id }, signal);
        session.forgetTab(id);
      } else if (action === 'select') session.current = await pick();
      const tabs = await session.listTabs(signal);
      const lines = tabs.map((t, i) => `- ${i}: ${t.tabId}${t.tabId === session.current ? ' (current)' : ''} [${t.state}] ${JSON.stringify(t.title)} ${t.url}`);
      return [text(['### Tabs', ...(lines.length ? lines : ['(none: browser_navigate or browser_tabs new opens one)'])].join('\n'))];
    },
  );
  tool(
    'browser_wait_for',
    'Wait for text to appear or disappear, or for a time to pass.',
    {
      time: z.number().min(0).max(60).optional().describe('seconds to wait'),
      text: z.string().optional().describe('wait until this text appears'),
      textGone: z.string().optional().describe('wait until this text is gone'),
      tabId: tabIdArg,
    },
    async ({ time, text: shown, textGone, tabId }, { signal }) => {
      if (time !== undefined) await sleep(time * 1_000, signal);
      if (shown === undefined && textGone === undefined) return [text(`Waited ${time ?? 0} s`)];
      return act(tabId, signal, async (id) => {
        const wanted = shown ?? (textGone as string);
        const r = await session.call('tab.waitFor', { tabId: id, text: wanted, gone: shown === undefined }, signal);
        return `${shown !== undefined ? 'Saw' : 'No more'} ${JSON.stringify(wanted)} after ${r.waitedMs} ms`;
      });
    },
  );
  tool(
    'browser_console_messages',
    'What the page logged since its last navigation, at or above a level.',
    { level: z.enum(['error', 'warning', 'info', 'debug']).optional().describe('default info'), tabId: tabIdArg },
    async ({ level = 'info', tabId }, { signal }) => {
      const { value, note } = await onTab(tabId, signal, (id) => session.call('tab.console', { tabId: id, level }, signal));
      const lines = value.entries.map((e) => `[${e.type}] ${e.text}${e.url ? ` @ ${e.url}${e.line !== undefined ? `:${e.line}` : ''}` : ''}`);
      return [text(noted(note, lines.length ? lines.join('\n') : '(no messages)'))];
    },
    true,
  );
  tool(
    'browser_network_requests',
    'The requests the page made since its last navigation.',
    { failedOnly: z.boolean().optional().describe('only network errors and HTTP ≥ 400'), tabId: tabIdArg },
    async ({ failedOnly, tabId }, { signal }) => {
      const { value, note } = await onTab(tabId, signal, (id) => session.call('tab.network', { tabId: id, ...(failedOnly ? { failed: true } : {}) }, signal));
      const lines = value.entries.map((r) => `[${r.method}] ${r.url} => ${r.state === 'failed' ? `failed: ${r.errorText}` : r.status !== undefined ? `[${r.status}] ${r.statusText ?? ''}`.trim() : r.state} (${r.resourceType})`);
      return [text(noted(note, lines.length ? lines.join('\n') : '(no requests)'))];
    },
    true,
  );
  tool(
    'browser_handle_dialog',
    'Answer the dialog (alert, confirm, prompt, beforeunload) the page holds open.',
    { accept: z.boolean().describe('accept, or dismiss'), promptText: z.string().optional().describe('text for a prompt'), tabId: tabIdArg },
    async ({ accept, promptText, tabId }, { signal }) => {
      const id = await session.tab(tabId, signal);
      const r = await session.call('tab.dialog', { tabId: id, accept, ...(promptText !== undefined ? { text: promptText } : {}) }, signal);
      return [text(`${r.handled?.outcome === 'accepted' ? 'Accepted' : 'Dismissed'} the ${r.handled?.type} dialog ${JSON.stringify(r.handled?.message ?? '')}`), text(await page(id, signal))];
    },
  );
  tool(
    'browser_file_upload',
    `Set the files of a file input (by ref), as if the user picked them: ${options.localFiles ? 'paths on this machine, or ' : ''}files given as name and base64 data.`,
    {
      element: elementArg,
      ref: refArg,
      ...(options.localFiles ? { paths: z.array(z.string()).optional().describe('absolute paths of the files to upload') } : {}),
      files: z.array(z.object({ name: z.string(), data: z.string().describe('base64') })).optional(),
      tabId: tabIdArg,
    },
    async (args, { signal }) => {
      const { ref, tabId } = args;
      const files = [...(args.files ?? [])];
      const paths = options.localFiles ? ((args as { paths?: string[] }).paths ?? []) : [];
      for (const path of paths) files.push({ name: basename(path), data: (await readFile(path)).toString('base64') });
      return act(tabId, signal, async (id) => {
        const r = await session.call('tab.upload', { tabId: id, ref, files }, signal);
        return `Uploaded ${r.files.map((f) => `${f.name} (${f.bytes} bytes)`).join(', ') || 'no files'} into ${ref}`;
      });
    },
  );
  if (options.allowEvaluate) {
    tool(
      'browser_evaluate',
      'Run a JavaScript function in the page and get its JSON value: "() => document.title", or with a ref "(element) => element.textContent".',
      { function: z.string().describe('the function'), element: elementArg, ref: z.string().optional().describe('an element ref passed as the first argument'), tabId: tabIdArg },
      async ({ function: fn, ref, tabId }, { signal }) => {
        const { value, note } = await onTab(tabId, signal, (id) => session.call('tab.evaluate', { tabId: id, function: fn, ...(ref ? { ref } : {}) }, signal));
        return [text(noted(note, value.type === 'undefined' ? 'undefined' : JSON.stringify(value.value, null, 2)))];
      },
    );
  }
  tool(
    'browser_pdf_save',
    'The page as a PDF (returned as an embedded resource).',
    { filename: z.string().optional().describe('name for the PDF (default page-<time>.pdf)'), tabId: tabIdArg },
    async ({ filename, tabId }, { signal }) => {
      const { id, value, note } = await onTab(tabId, signal, (id) => session.call('tab.pdf', { tabId: id }, signal));
      const name = basename(filename ?? `page-${Date.now()}.pdf`);
      return [text(noted(note, `PDF of tab ${id}: ${name}, ${value.bytes} bytes`)), { type: 'resource', resource: { uri: `tabvisor://tabs/${id}/${encodeURIComponent(name)}`, mimeType: 'application/pdf', blob: value.data } }];
    },
    true,
  );
  registerFleetTools(tool, session);
}
