// Builds the inspector page into dist/inspector/ (index.html, app.js, app.css) with esbuild, a
// dev dependency used only here: at run time the server serves these files as they are.
// Plain .mjs so that `npm run build` (and so `npm ci` → prepare) needs no TypeScript loader.
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { build } from 'esbuild';

const PAGE = 'src/inspector/page';
const OUT = 'dist/inspector';
/** The issue's budget for the whole page. */
const MAX_PAGE_BYTES = 150 * 1024;

await mkdir(OUT, { recursive: true });
await build({
  entryPoints: [`${PAGE}/main.ts`],
  outfile: `${OUT}/app.js`,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  // Unminified: the whole page fits its budget as it is, and stays readable in the browser.
  minify: false,
  legalComments: 'none',
  logLevel: 'warning',
});
await copyFile(`${PAGE}/index.html`, `${OUT}/index.html`);
await copyFile(`${PAGE}/app.css`, `${OUT}/app.css`);
await copyFile(`${PAGE}/favicon.svg`, `${OUT}/favicon.svg`);

const sizes = {};
for (const file of ['index.html', 'app.js', 'app.css']) sizes[file] = (await stat(`${OUT}/${file}`)).size;
const total = Object.values(sizes).reduce((a, b) => a + b, 0);
console.log(`inspector page: ${Object.entries(sizes).map(([f, n]) => `${f} ${n} B`).join(', ')}; total ${total} B`);
if (total > MAX_PAGE_BYTES) {
  console.error(`the inspector page is ${total} B, over its budget of ${MAX_PAGE_BYTES} B`);
  process.exit(1);
}
