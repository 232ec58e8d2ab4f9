// Real-world pages for the analysis bench: three Wikipedia articles saved as fixtures
// (test/fixtures/pages/, CC BY-SA, see its README) and a news front page built here the way
// such pages are: navigation, a grid of teasers each repeated in an aria-hidden block, images
// (some that fail to load), ad slots in same-origin and cross-origin iframes, forms, a footer.
// Nothing is fetched from any other host: the fixtures point at the local server, which sends
// a Content-Security-Policy that allows only itself and the second local host name.
import { readFileSync } from 'node:fs';

export interface RealPage {
  name: string;
  /** The page's HTML; `CROSS` stands for the second local origin (cross-origin frames). */
  html: string;
}

const FIXTURES = ['wikipedia-mozilla', 'wikipedia-hermitian-matrix', 'wikipedia-new-zealand'];

export function realPages(): RealPage[] {
  return [...FIXTURES.map((name) => ({ name, html: readFileSync(`test/fixtures/pages/${name}.html`, 'utf8') })), { name: 'news-front-page', html: newsPage() }];
}

/** The CSP every real page is served with: this server, the second local origin, inline styles, data: images. */
export const realPageCsp = (crossOrigin: string) =>
  `default-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-src 'self' ${crossOrigin}; img-src 'self' data:`;

const SECTIONS = ['World', 'Business', 'Politics', 'Tech', 'Science', 'Health', 'Sport', 'Culture', 'Travel', 'Opinion'];

function newsPage(): string {
  const words = (i: number, n: number) => Array.from({ length: n }, (_, k) => ['market', 'city', 'council', 'vote', 'storm', 'team', 'report', 'plan', 'study', 'court', 'bank', 'school'][(i * 7 + k * 3) % 12]).join(' ');
  const teaser = (i: number) =>
    `<article class=teaser><a href="/news/${i}"><img src="/img/${i}.jpg" ${i % 5 === 0 ? '' : `alt="${words(i, 3)}"`} width=300 height=170>` +
    `<h3>${words(i, 7)}</h3></a><p>${words(i + 1, 20)}</p><a class=section href="/${SECTIONS[i % 10]?.toLowerCase()}">${SECTIONS[i % 10]}</a>` +
    `<button class=share aria-label="Share ${i}">⤴</button></article>`;
  // The same teasers again in a carousel hidden from assistive technology, as many sites do.
  const carousel = (from: number) =>
    `<div class=carousel aria-hidden="true">${Array.from({ length: 8 }, (_, k) => `<a href="/news/${from + k}"><img src="/img/${from + k}.jpg" alt="" width=150 height=85><span>${words(from + k, 6)}</span></a>`).join('')}</div>`;
  const ad = (i: number) =>
    i % 2
      ? `<iframe class=ad title="Advertisement" src="CROSS/ad/${i}" width=300 height=250></iframe>`
      : `<iframe class=ad title="Advertisement" srcdoc="&lt;a href='/promo/${i}'&gt;&lt;img src='/ads/${i}.png' width=300 height=200&gt;Promotion ${i}&lt;/a&gt;&lt;button&gt;Close ad&lt;/button&gt;" width=300 height=250></iframe>`;
  const sections = SECTIONS.map(
    (section, s) =>
      `<section><h2><a href="/${section.toLowerCase()}">${section}</a></h2><div class=grid>${Array.from({ length: 12 }, (_, k) => teaser(s * 12 + k)).join('')}</div>${carousel(s * 12)}${s % 3 === 0 ? ad(s) : ''}</section>`,
  );
  const nav = `<nav aria-label="Sections"><ul>${SECTIONS.map((s) => `<li><a href="/${s.toLowerCase()}">${s}</a></li>`).join('')}</ul></nav>`;
  const footer = `<footer><ul>${Array.from({ length: 60 }, (_, i) => `<li><a href="/about/${i}">${words(i, 2)}</a></li>`).join('')}</ul><p>© The Example Daily</p></footer>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>The Example Daily — news, sport, opinion</title>
<style>body{font:15px/1.4 Georgia,serif;margin:0}header{display:flex;gap:1em;padding:1em;background:#eee}nav ul,footer ul{display:flex;flex-wrap:wrap;gap:.5em 1em;list-style:none;padding:0 1em}
.grid{display:grid;grid-template-columns:repeat(4,1fr);gap:1em;padding:0 1em}.teaser img{width:100%;height:auto;background:#ddd}.carousel{display:flex;overflow:hidden;gap:.5em;padding:1em}.carousel a{flex:0 0 150px}.ad{display:block;margin:1em auto}</style></head>
<body><header><a href="/" class=logo><img src="/logo.svg" alt="The Example Daily" width=180 height=40></a>
<form role=search action="/search"><input name=q placeholder="Search news"><button>Search</button></form><a href="/login">Sign in</a><button aria-expanded=false>Menu</button></header>
${nav}<main>${sections.join('\n')}
<aside><form action="/newsletter"><h2>Newsletter</h2><input type=email name=email placeholder="Email address"><label><input type=checkbox name=daily> Daily digest</label><select name=edition><option>UK</option><option>US</option></select><button type=submit>Subscribe</button></form></aside>
</main>${footer}</body></html>`;
}

/** What a cross-origin ad frame shows. */
export function adFrame(i: number): string {
  return `<!doctype html><html lang="en"><head><title>ad ${i}</title></head><body style="margin:0"><a href="/click/${i}"><img src="/ads/${i}.png" width=300 height=200>Sponsored ${i}</a><button>Close</button></body></html>`;
}
