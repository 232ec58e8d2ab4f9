// Generated pages for the driving tests: every element kind a snapshot must count or skip,
// with the exact set the "interactive" filter must return.

export interface GeneratedPage {
  html: string;
  /** id → accessible name of every element the interactive filter must return. */
  interactive: Map<string, string>;
  /** Ids of interactive elements that are disabled. */
  disabled: Set<string>;
}

// One kind per slot, cycled: what it renders and whether a user can act on it.
const KINDS: ((i: number) => { html: string; id?: string; name?: string; disabled?: boolean })[] = [
  (i) => ({ html: `<button id=x${i}>n${i}</button>`, id: `x${i}`, name: `n${i}` }),
  (i) => ({ html: `<a id=x${i} href="/go/${i}">n${i}</a>`, id: `x${i}`, name: `n${i}` }),
  (i) => ({ html: `<label for=x${i}>n${i}</label> <input id=x${i}>`, id: `x${i}`, name: `n${i}` }),
  (i) => ({ html: `<select id=x${i} aria-label=n${i}><option>one</option><option>two</option></select>`, id: `x${i}`, name: `n${i}` }),
  (i) => ({ html: `<textarea id=x${i} aria-label=n${i}></textarea>`, id: `x${i}`, name: `n${i}` }),
  (i) => ({ html: `<div id=x${i} role=button tabindex=0>n${i}</div>`, id: `x${i}`, name: `n${i}` }),
  (i) => ({ html: `<div id=x${i} contenteditable aria-label=n${i}>edit <span>inside</span> me</div>`, id: `x${i}`, name: `n${i}` }),
  (i) => ({ html: `<input id=x${i} type=checkbox aria-label=n${i}>`, id: `x${i}`, name: `n${i}` }),
  (i) => ({ html: `<a id=x${i}>no href ${i}</a>` }),
  (i) => ({ html: `<button id=x${i} style="display:none">gone ${i}</button><div hidden><input aria-label="hidden ${i}"></div>` }),
  (i) => ({ html: `<button id=x${i} style="visibility:hidden">invisible ${i}</button><button style="width:0;height:0;padding:0;border:0"></button>` }),
  (i) => ({ html: `<input id=x${i} type=hidden value=${i}>` }),
  (i) => ({ html: `<div id=x${i}>plain text ${i}</div><p>para ${i}</p>` }),
  (i) => ({ html: `<button id=x${i} disabled>n${i}</button>`, id: `x${i}`, name: `n${i}`, disabled: true }),
  (i) => ({ html: `<span id=x${i} role=heading aria-level=3>heading ${i}</span><span role=presentation>p${i}</span>` }),
  (i) => ({ html: `<details><summary id=x${i}>n${i}</summary><button>folded ${i}</button></details>`, id: `x${i}`, name: `n${i}` }),
];

export function generatedPage(count: number): GeneratedPage {
  const interactive = new Map<string, string>();
  const disabled = new Set<string>();
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = (KINDS[i % KINDS.length] as (typeof KINDS)[number])(i);
    parts.push(kind.html);
    if (kind.id && kind.name) interactive.set(kind.id, kind.name);
    if (kind.disabled && kind.id) disabled.add(kind.id);
  }
  // Hovering or clicking an element records its id in the title; links do not navigate.
  const script = `<script>
    const mark = (e) => { const el = e.target.closest('[id]'); if (el) document.title = e.type + ' ' + el.id; };
    document.addEventListener('mouseover', mark);
    document.addEventListener('click', (e) => { mark(e); if (e.target.closest('a')) e.preventDefault(); });
  </script>`;
  return { html: `<!doctype html><html><head><title>generated ${count}</title></head><body>${parts.join('\n')}${script}</body></html>`, interactive, disabled };
}
