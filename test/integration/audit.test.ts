// analysis.audit on real Chrome: axe-core's findings (rule, impact, help URL, refs that act on
// the element) in the page and its frames, the old kinds as aliases of the matching rules, the
// rules and tags params, a page that tries to break axe, and the console errors and failed
// requests since the last navigation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcError, startHarness, titleOnce, type Harness } from './harness.js';

let h: Harness;
let instanceId: string;
beforeAll(async () => {
  h = await startHarness();
  // Out-of-process iframes: the cross-origin frame is audited on its own session.
  instanceId = (await h.client.call('instance.create', { name: 'auditor', args: ['--site-per-process'] })).instanceId;
});
afterAll(async () => {
  await h?.close();
});

type Finding = { kind: string; severity: string; ref?: string; message: string; rule?: string; impact?: string; helpUrl?: string };
const audit = async (tabId: string, params: { rules?: string[]; tags?: string[] } = {}) => (await h.client.call('analysis.audit', { tabId, ...params })).findings as Finding[];
const openAt = async (path: string, html: string) => (await h.client.call('tab.open', { instanceId, url: h.pages.put(path, html) })).tabId;

// Known violations, one of each kind, the rest of the page clean (lang, title, labels, alt="").
const VIOLATIONS = `<!doctype html><html lang="en"><head><title>violations</title></head><body><main>
  <h1>Violations</h1>
  <img id=noalt src="/img.png" width=20 height=20><img src="/img.png" alt="" width=20 height=20>
  <button id=empty onclick="document.title = 'empty clicked'"></button><button>Named</button>
  <a id=blank href="/x" style="display:inline-block;width:20px;height:20px"></a>
  <input id=bare><input id=placeheld placeholder="Search"><label>Good <input id=good></label>
  <div role=checkbox id=unnamed tabindex=0 aria-checked=false style="width:10px;height:10px"></div>
  <iframe title="inner frame" src="CROSS/audit-inner" width=300 height=100></iframe>
</main><script>addEventListener('message', (e) => { document.title = e.data; });</script></body></html>`;
const INNER = `<!doctype html><html lang="en"><head><title>inner</title></head><body><main><h1>Inner</h1><button id=inner onclick="document.title = 'inner clicked'; parent.postMessage('inner clicked', '*')"></button></main></body></html>`;

describe('analysis.audit', () => {
  it('reports axe-core violations with rule, impact, help URL and refs, in every frame', async () => {
    h.pages.put('/img.png', Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex'), 'image/png');
    h.pages.put('/audit-inner', INNER);
    const port = new URL(h.pages.origin).port;
    const tabId = await openAt('/violations', VIOLATIONS.replace('CROSS', `http://localhost:${port}`));
    const findings = await audit(tabId);
    const axe = findings.filter((f) => f.rule);
    expect(axe.map((f) => `${f.kind} ${f.rule} ${f.impact} ${f.severity}`).sort()).toEqual(
      [
        'image-alt image-alt critical error',
        'control-name button-name critical error', // #empty
        'control-name button-name critical error', // the inner frame's button
        'control-name link-name serious error',
        'input-label label critical error', // #bare (#placeheld is named by its placeholder)
        'control-name aria-toggle-field-name serious error',
      ].sort(),
    );
    for (const f of axe) {
      expect(f.helpUrl).toMatch(new RegExp(`^https://dequeuniversity\\.com/rules/axe/[\\d.]+/${f.rule}\\b`));
      expect(f.ref).toMatch(/^e\d+$/);
    }
    expect(new Set(axe.map((f) => f.ref)).size).toBe(axe.length);
    // The refs are the snapshot's, and act on the elements the findings name.
    const snap = await h.client.call('tab.snapshot', { tabId });
    const byRef = new Map(snap.nodes.map((n) => [n.ref, n]));
    const of = (rule: string, frame: boolean) => axe.find((f) => f.rule === rule && (byRef.get(f.ref!)?.frame !== undefined) === frame)!;
    expect(byRef.get(of('label', false).ref!)).toMatchObject({ tag: 'input', role: 'textbox', name: '' });
    expect(byRef.get(of('link-name', false).ref!)).toMatchObject({ tag: 'a', role: 'link' });
    expect(byRef.get(of('aria-toggle-field-name', false).ref!)).toMatchObject({ tag: 'div', role: 'checkbox' });
    expect(byRef.get(of('button-name', true).ref!)).toMatchObject({ tag: 'button', frame: expect.stringMatching(/^f\d+$/) });
    await h.client.call('tab.action', { tabId, action: 'fill', ref: of('label', false).ref!, text: 'via audit ref' });
    expect(snapsValue(await h.client.call('tab.snapshot', { tabId }), of('label', false).ref!)).toBe('via audit ref');
    await h.client.call('tab.action', { tabId, action: 'click', ref: of('button-name', false).ref! });
    await h.client.call('tab.action', { tabId, action: 'click', ref: of('button-name', true).ref! });
    expect(await titleOnce(h.client, tabId, 'inner clicked')).toBe('inner clicked');

    // rules: only those; tags: the rules with those tags; both: the rules, kept to the tags.
    expect((await audit(tabId, { rules: ['image-alt', 'label'] })).filter((f) => f.rule).map((f) => f.rule).sort()).toEqual(['image-alt', 'label']);
    const practice = await audit(tabId, { tags: ['best-practice'] });
    expect(practice.some((f) => f.rule === 'image-alt')).toBe(false);
    expect(practice.filter((f) => f.rule).every((f) => f.kind === 'accessibility' || f.kind === 'image-alt' || f.kind === 'control-name')).toBe(true);
    expect((await audit(tabId, { rules: ['image-alt', 'region'], tags: ['wcag2a'] })).filter((f) => f.rule).map((f) => f.rule)).toEqual(['image-alt']);
    // Unknown rules and tags are named; nothing runs.
    expect(await rpcError(h.client.call('analysis.audit', { tabId, rules: ['image-alt', 'no-such-rule'] }))).toMatchObject({ code: -32602, data: { path: 'params.rules.1' } });
    expect(await rpcError(h.client.call('analysis.audit', { tabId, tags: ['wcag9z'] }))).toMatchObject({ code: -32602, data: { path: 'params.tags.0' } });
    await h.client.call('tab.close', { tabId });
  });

  it('is not broken by a page that redefines Array.prototype, JSON and window.axe', async () => {
    const tabId = await openAt(
      '/hostile',
      `<!doctype html><html lang="en"><head><title>hostile</title><script>
        for (const name of ['map', 'filter', 'forEach', 'some', 'push', 'join', 'includes']) Array.prototype[name] = () => { throw new Error('no ' + name); };
        JSON.stringify = () => 'nope';
        window.axe = { run() { throw new Error('fake axe'); }, getRules() { return []; } };
        Object.defineProperty(window, 'axe', { configurable: false, writable: false, value: window.axe });
      </script></head><body><main><h1>Hostile</h1><img src="/img.png" width=10 height=10><button></button></main></body></html>`,
    );
    const findings = await audit(tabId);
    expect(findings.filter((f) => f.rule).map((f) => f.rule).sort()).toEqual(['button-name', 'image-alt']);
    expect(findings.filter((f) => f.kind === 'audit-error')).toEqual([]);
    await h.client.call('tab.close', { tabId });
  });

  it('keeps console errors, uncaught exceptions and failed requests since the last navigation beside axe', async () => {
    const refused = await h.pages.closedPortUrl();
    const tabId = await openAt(
      '/noisy',
      `<!doctype html><html lang="en"><head><title>noisy</title></head><body><main><h1>Noisy</h1><img src="/missing.png" alt="gone">
       <script>console.error('boom ' + 42); fetch(${JSON.stringify(refused)}).catch(() => {}); setTimeout(() => { throw new Error('kaput') }, 0)</script></main></body></html>`,
    );
    let findings: Finding[] = [];
    // The failed fetch and the exception arrive after load.
    for (let i = 0; i < 50; i++) {
      findings = await audit(tabId, { rules: ['image-alt'] });
      if (findings.some((f) => f.kind === 'page-error') && findings.filter((f) => f.kind === 'failed-request').length >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(findings.map((f) => `${f.kind}:${f.severity}`).sort()).toEqual(
      [
        'console-error:error', // boom 42
        'console-error:error', // the 404 for missing.png
        'console-error:error', // the refused fetch
        'failed-request:warning', // missing.png
        'failed-request:warning', // the refused fetch
        'page-error:error', // kaput
      ].sort(),
    );
    expect(findings.find((f) => f.kind === 'page-error')?.message).toContain('kaput');
    await h.client.call('tab.navigate', { tabId, url: h.pages.put('/clean', '<!doctype html><html lang="en"><head><title>clean</title></head><body><main><h1>Clean</h1></main></body></html>') });
    expect(await audit(tabId)).toEqual([]);
    await h.client.call('tab.close', { tabId });
  });
});

function snapsValue(snap: { nodes: { ref: string; value?: string }[] }, ref: string): string | undefined {
  return snap.nodes.find((n) => n.ref === ref)?.value;
}
