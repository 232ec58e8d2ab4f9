// tab.action: find the element (a snapshot ref's backend node, or a CSS selector), wait until
// it is attached, visible, enabled and not covered, then act on it with real input events
// (puppeteer's mouse and keyboard) or, where no input event exists, in the page. An element
// of a frame is handled on its frame's session, its points moved into the top page's.
import type { KeyInput } from 'puppeteer-core';
import { ErrorCode, TabvisorError, errorMessage, pageFailed } from '../errors.js';
import { sleep } from '../wait.js';
import { frameContext, type FrameContext } from './frame-context.js';
import type { FrameInfo } from './page-read.js';
import type { TabHandle } from './tab.js';

export type ActionName = 'click' | 'type' | 'fill' | 'press' | 'hover' | 'select' | 'scroll' | 'focus';
/** A ref's element (in the top document, or in `frame`), or a CSS selector of the top document. */
export type ActionTarget = { ref: string; backendNodeId: number; frame?: FrameInfo } | { selector: string };

export interface ActionRequest {
  action: ActionName;
  target: ActionTarget | null;
  text?: string;
  key?: string;
  value?: string;
  timeoutMs: number;
}

const NEEDS_TARGET = new Set<ActionName>(['click', 'hover', 'focus', 'fill', 'select']);
// A click or key press that starts a navigation is followed to the new document's load.
const FOLLOWS_NAVIGATION = new Set<ActionName>(['click', 'press', 'type', 'select']);
/** The object group of the element handles an action makes (released when it ends). */
export const GROUP = 'tabvisor-action';

// In the page: whether the element can be acted on now, and if not, why.
const STATE_FN = `function () {
  if (!this.isConnected) return { connected: false };
  const style = getComputedStyle(this);
  const rect = this.getBoundingClientRect();
  const shown = typeof this.checkVisibility === 'function' ? this.checkVisibility({ visibilityProperty: true }) : true;
  const visible = shown && rect.width > 0 && rect.height > 0 && style.visibility !== 'hidden' && style.visibility !== 'collapse';
  const disabled = this.disabled === true || this.matches(':disabled') || this.getAttribute('aria-disabled') === 'true';
  return { connected: true, visible, enabled: !disabled };
}`;

// In the page: what the pointer would hit at (x, y); an element or its own label counts.
const HIT_FN = `function (x, y) {
  // From the element's own tree: a closed shadow root answers only for itself.
  const root = this.getRootNode();
  let hit = (typeof root.elementFromPoint === 'function' ? root : document).elementFromPoint(x, y);
  while (hit && hit.shadowRoot) { const inner = hit.shadowRoot.elementFromPoint(x, y); if (!inner || inner === hit) break; hit = inner; }
  if (!hit || hit === this || this.contains(hit) || (hit.closest && hit.closest('label') && hit.closest('label').control === this)) return null;
  const id = hit.id ? '#' + hit.id : '';
  const cls = typeof hit.className === 'string' && hit.className.trim() ? '.' + hit.className.trim().split(/\\s+/).join('.') : '';
  return '<' + hit.tagName.toLowerCase() + id + cls + '>';
}`;

const FILL_FN = `function () {
  const el = this;
  if (el instanceof HTMLInputElement) {
    if (el.readOnly) return 'readonly';
    const type = el.type;
    if (['checkbox', 'radio', 'file', 'submit', 'button', 'reset', 'image', 'hidden'].includes(type)) return 'input type=' + type;
    if (['date', 'time', 'datetime-local', 'month', 'week', 'color', 'range'].includes(type)) return 'set';
    el.focus(); el.select(); return 'insert';
  }
  if (el instanceof HTMLTextAreaElement) { if (el.readOnly) return 'readonly'; el.focus(); el.select(); return 'insert'; }
  if (el.isContentEditable) {
    el.focus();
    const range = document.createRange(); range.selectNodeContents(el);
    const selection = getSelection(); selection.removeAllRanges(); selection.addRange(range);
    return 'insert';
  }
  return '<' + el.tagName.toLowerCase() + '>';
}`;

const SET_VALUE_FN = `function (value) {
  this.value = value;
  this.dispatchEvent(new Event('input', { bubbles: true }));
  this.dispatchEvent(new Event('change', { bubbles: true }));
  return this.value === value;
}`;

const SELECT_FN = `function (wanted) {
  if (!(this instanceof HTMLSelectElement)) return { error: 'element is a <' + this.tagName.toLowerCase() + '>, not a <select>' };
  const options = [...this.options];
  const option = options.find((o) => o.value === wanted) || options.find((o) => o.label.trim() === wanted.trim());
  if (!option) return { error: 'no option with value or label ' + JSON.stringify(wanted) + ' (options: ' + options.slice(0, 10).map((o) => JSON.stringify(o.value)).join(', ') + ')' };
  if (option.disabled) return { error: 'option ' + JSON.stringify(wanted) + ' is disabled' };
  option.selected = true;
  this.dispatchEvent(new Event('input', { bubbles: true }));
  this.dispatchEvent(new Event('change', { bubbles: true }));
  return { value: this.value };
}`;

const FOCUS_FN = `function () { this.focus(); return document.activeElement === this || this.contains(document.activeElement); }`;
const INTO_VIEW_FN = `function () { this.scrollIntoView({ block: 'center', inline: 'center', behavior: 'instant' }); }`;

export interface Located {
  objectId: string;
  label: string;
  ctx: FrameContext;
}

export async function performAction(tab: TabHandle, request: ActionRequest, signal: AbortSignal): Promise<{ ok: true; url: string; navigated: boolean }> {
  const { action, target } = request;
  if (NEEDS_TARGET.has(action) && !target) throw invalid('params.ref', 'a ref or a selector', `${action} needs a ref or a selector`);
  const deadline = performance.now() + request.timeoutMs;
  const ctx = await targetContext(tab, target);
  const navigation = FOLLOWS_NAVIGATION.has(action) ? tab.watchNavigation() : null;
  try {
    try {
      await act(tab, ctx, request, deadline, signal);
    } finally {
      // Fails only when the page went away or navigated, and its handles went with it.
      await ctx.send('Runtime.releaseObjectGroup', { objectGroup: GROUP }).catch(() => {});
    }
    const navigated = navigation ? await navigation.settle(Math.max(0, deadline - performance.now())) : false;
    return { ok: true, url: tab.page.url(), navigated };
  } finally {
    navigation?.stop();
  }
}

async function act(tab: TabHandle, ctx: FrameContext, request: ActionRequest, deadline: number, signal: AbortSignal): Promise<void> {
  const { action, target } = request;
  const page = tab.page;
  const needText = () => {
    const text = request.text ?? request.value;
    if (text === undefined) throw invalid('params.text', 'a string', `${action} needs text`);
    return text;
  };
  switch (action) {
    case 'click':
    case 'hover': {
      const el = await locate(ctx, target as ActionTarget, deadline, request.timeoutMs, signal, { enabled: action === 'click' });
      const point = await clickablePoint(el, request.timeoutMs, deadline, signal);
      if (action === 'click') await page.mouse.click(point.x, point.y);
      else await page.mouse.move(point.x, point.y);
      return;
    }
    case 'focus': {
      const el = await locate(ctx, target as ActionTarget, deadline, request.timeoutMs, signal, { enabled: true });
      if (!(await call<boolean>(el, FOCUS_FN))) throw failed(`${el.label} cannot take focus`);
      return;
    }
    case 'fill': {
      const text = needText();
      const el = await locate(ctx, target as ActionTarget, deadline, request.timeoutMs, signal, { enabled: true });
      const mode = await call<string>(el, FILL_FN);
      if (mode === 'set') {
        if (!(await call<boolean>(el, SET_VALUE_FN, [text]))) throw failed(`${el.label} did not accept the value ${JSON.stringify(text)}`);
      } else if (mode === 'insert') {
        if (text) await tab.cdp.send('Input.insertText', { text });
        else await page.keyboard.press('Delete');
      } else {
        throw failed(`${el.label} cannot be filled (${mode})`);
      }
      return;
    }
    case 'type': {
      const text = needText();
      if (target) {
        const el = await locate(ctx, target, deadline, request.timeoutMs, signal, { enabled: true });
        if (!(await call<boolean>(el, FOCUS_FN))) throw failed(`${el.label} cannot take focus`);
      }
      await page.keyboard.type(text);
      return;
    }
    case 'press': {
      const key = request.key ?? request.text;
      if (!key) throw invalid('params.key', 'a key such as "Enter" or "Control+A"', 'press needs a key');
      const keys = key.split('+').filter(Boolean) as KeyInput[];
      if (target) {
        const el = await locate(ctx, target, deadline, request.timeoutMs, signal, { enabled: true });
        if (!(await call<boolean>(el, FOCUS_FN))) throw failed(`${el.label} cannot take focus`);
      }
      const modifiers = keys.slice(0, -1);
      try {
        for (const modifier of modifiers) await page.keyboard.down(modifier);
        await page.keyboard.press(keys[keys.length - 1] as KeyInput);
      } catch (error) {
        if (/Unknown key/i.test(errorMessage(error))) throw invalid('params.key', 'a key name such as "Enter", "a" or "Control+A"', errorMessage(error));
        throw error;
      } finally {
        // A modifier whose down failed is not held; the up has nothing to release then.
        for (const modifier of modifiers.reverse()) await page.keyboard.up(modifier).catch(() => {});
      }
      return;
    }
    case 'select': {
      const wanted = request.value ?? request.text;
      if (wanted === undefined) throw invalid('params.value', 'an option value or label', 'select needs a value');
      const el = await locate(ctx, target as ActionTarget, deadline, request.timeoutMs, signal, { enabled: true });
      const outcome = await call<{ error?: string }>(el, SELECT_FN, [wanted]);
      if (outcome.error) throw failed(`${el.label}: ${outcome.error}`);
      return;
    }
    case 'scroll': {
      if (target) {
        const el = await locate(ctx, target, deadline, request.timeoutMs, signal, { enabled: false });
        await call(el, INTO_VIEW_FN);
        return;
      }
      const how = request.value ?? 'down';
      const pixels = Number(how);
      const expression =
        how === 'top' ? 'scrollTo(0, 0)'
        : how === 'bottom' ? 'scrollTo(0, document.scrollingElement.scrollHeight)'
        : how === 'down' ? 'scrollBy(0, innerHeight * 0.9)'
        : how === 'up' ? 'scrollBy(0, -innerHeight * 0.9)'
        : Number.isFinite(pixels) ? `scrollBy(0, ${pixels})`
        : null;
      if (!expression) throw invalid('params.value', '"down", "up", "top", "bottom" or a number of pixels', `cannot scroll ${JSON.stringify(how)}`);
      await ctx.send('Runtime.evaluate', { expression });
      return;
    }
  }
}

/**
 * The element in whichever frame it lives (see `locate`), for callers outside an action (upload,
 * evaluate on a ref). Its handles are in `GROUP` on `el.ctx`: release them there.
 */
export async function locateOnPage(tab: TabHandle, target: ActionTarget, deadline: number, timeoutMs: number, signal: AbortSignal, want: { enabled: boolean; visible?: boolean }): Promise<Located> {
  return locate(await targetContext(tab, target), target, deadline, timeoutMs, signal, want);
}

/** Where a target is acted on: its ref's frame, or the top document (a selector, or none). A ref whose frame is gone or navigated is stale: -32000. */
async function targetContext(tab: TabHandle, target: ActionTarget | null): Promise<FrameContext> {
  const ctx = await frameContext(tab, target && 'ref' in target ? target.frame : undefined).catch(() => null);
  if (!ctx) throw staleRef((target as { ref: string }).ref);
  return ctx;
}

/**
 * The element, once attached, visible and (when asked) enabled. A ref that no longer
 * resolves is -32000 at once; a selector matching nothing yet, or an element not ready yet,
 * is retried until the deadline (-32003).
 */
async function locate(ctx: FrameContext, target: ActionTarget, deadline: number, timeoutMs: number, signal: AbortSignal, want: { enabled: boolean; visible?: boolean }): Promise<Located> {
  const label = 'ref' in target ? `element ${target.ref}` : `element ${JSON.stringify(target.selector)}`;
  let why = 'not attached';
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted();
    const objectId = await resolve(ctx, target);
    if (objectId) {
      const state = await ctx
        .send<{ result: { value: unknown } }>('Runtime.callFunctionOn', { functionDeclaration: STATE_FN, objectId, returnByValue: true })
        .then(({ result }) => result.value as { connected: boolean; visible?: boolean; enabled?: boolean });
      if (!state.connected && 'ref' in target) throw staleRef(target.ref);
      why = !state.connected ? 'not attached' : !state.visible && want.visible !== false ? 'not visible' : want.enabled && !state.enabled ? 'disabled' : '';
      if (!why) return { objectId, label, ctx };
    }
    const left = deadline - performance.now();
    if (left <= 0) throw new TabvisorError(ErrorCode.Timeout, `${label} is ${why}: gave up after ${timeoutMs} ms`, { timeoutMs, reason: why });
    await sleep(Math.min(left, attempt < 4 ? 20 : 100), signal);
  }
}

async function resolve(ctx: FrameContext, target: ActionTarget): Promise<string | null> {
  if ('ref' in target) {
    try {
      const { object } = await ctx.send<{ object: { objectId?: string } }>('DOM.resolveNode', { backendNodeId: target.backendNodeId, objectGroup: GROUP });
      if (!object.objectId) throw staleRef(target.ref);
      return object.objectId;
    } catch (error) {
      if (error instanceof TabvisorError) throw error;
      throw staleRef(target.ref);
    }
  }
  const { result, exceptionDetails } = await ctx.send<{ result: { subtype?: string; objectId?: string }; exceptionDetails?: { text: string; exception?: { description?: string } } }>('Runtime.evaluate', {
    expression: `document.querySelector(${JSON.stringify(target.selector)})`,
    objectGroup: GROUP,
  });
  if (exceptionDetails) {
    throw invalid('params.selector', 'a valid CSS selector', `invalid selector ${JSON.stringify(target.selector)}: ${exceptionDetails.exception?.description?.split('\n')[0] ?? exceptionDetails.text}`);
  }
  return result.subtype === 'null' || !result.objectId ? null : result.objectId;
}

/** The centre of the element's first visible box, scrolled into view and not covered, in the top viewport. */
async function clickablePoint(el: Located, timeoutMs: number, deadline: number, signal: AbortSignal): Promise<{ x: number; y: number }> {
  let covering = '';
  let previous: { x: number; y: number } | undefined;
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted();
    await call(el, INTO_VIEW_FN);
    const { quads } = await el.ctx.send<{ quads: number[][] }>('DOM.getContentQuads', { objectId: el.objectId }).catch(() => ({ quads: [] as number[][] }));
    const quad = quads.find((q) => area(q) > 0.5);
    if (quad) {
      // Quads are in the session's viewport: the element's own frame hit-tests in its viewport,
      // the mouse goes to the top one.
      const x = (quad[0]! + quad[2]! + quad[4]! + quad[6]!) / 4;
      const y = (quad[1]! + quad[3]! + quad[5]! + quad[7]!) / 4;
      const { page, frame } = await el.ctx.offsets();
      const hit = await call<string | null>(el, HIT_FN, [x - frame.x, y - frame.y]);
      const point = { x: x + page.x, y: y + page.y };
      // Scrolling an iframe's element into view scrolls the frames around it from another
      // process, a frame or so later: a point counts once two reads agree.
      const settled = !el.ctx.framed || (previous?.x === point.x && previous.y === point.y);
      previous = point;
      if (hit === null && settled) return point;
      covering = hit === null ? 'still moving' : `covered by ${hit}`;
    } else {
      covering = 'without a visible box';
    }
    if (performance.now() >= deadline) {
      throw new TabvisorError(ErrorCode.Timeout, `${el.label} is ${covering}: gave up after ${timeoutMs} ms`, { timeoutMs, reason: covering });
    }
    await sleep(Math.min(deadline - performance.now(), attempt < 4 ? 20 : 100), signal);
  }
}

export async function call<T = unknown>(el: Located, fn: string, args: unknown[] = []): Promise<T> {
  const { result, exceptionDetails } = await el.ctx.send<{ result: { value: unknown }; exceptionDetails?: { text: string; exception?: { description?: string } } }>('Runtime.callFunctionOn', {
    functionDeclaration: fn,
    objectId: el.objectId,
    arguments: args.map((value) => ({ value })),
    returnByValue: true,
  });
  if (exceptionDetails) throw failed(`${el.label}: ${exceptionDetails.exception?.description?.split('\n')[0] ?? exceptionDetails.text}`);
  return result.value as T;
}

function area(q: number[]): number {
  let sum = 0;
  for (let i = 0; i < 4; i++) {
    const [x1, y1, x2, y2] = [q[i * 2]!, q[i * 2 + 1]!, q[((i + 1) % 4) * 2]!, q[((i + 1) % 4) * 2 + 1]!];
    sum += x1 * y2 - x2 * y1;
  }
  return Math.abs(sum) / 2;
}

export const staleRef = (ref: string) =>
  new TabvisorError(ErrorCode.NotFound, `ref ${ref} no longer resolves: the element is gone or the page navigated; take a new snapshot`, { ref });
const invalid = (path: string, expected: string, message: string) => new TabvisorError(ErrorCode.InvalidParams, `invalid params: ${message}`, { path, expected });
const failed = (cause: string) => pageFailed(`action failed: ${cause}`, { cause });
