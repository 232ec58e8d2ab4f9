// Finds a Chrome binary, in the order SPEC.md fixes: CHROME_PATH, the headless shell, a full
// browser on PATH, then the Chromium shipped inside the npm package @sparticuz/chromium.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { execa } from 'execa';

export type ChromeSource = 'CHROME_PATH' | 'chromium-headless-shell' | 'chromium' | 'google-chrome' | '@sparticuz/chromium';

export interface ChromeBinary {
  path: string;
  source: ChromeSource;
  /** chrome-headless-shell starts about 4× faster and uses half the memory of the full browser. */
  headlessShell: boolean;
}

export class ChromeNotFoundError extends Error {
  constructor(readonly tried: string[]) {
    super(
      `No Chrome found. Tried, in order:\n${tried.map((t) => `  - ${t}`).join('\n')}\n` +
        'Fix: set CHROME_PATH to a Chrome or Chromium binary, install the headless shell ' +
        '(Debian/Ubuntu: apt-get install chromium-headless-shell), or reinstall tabvisor with ' +
        'optional dependencies so that @sparticuz/chromium is present.',
    );
    this.name = 'ChromeNotFoundError';
  }
}

const PATH_CANDIDATES: { source: ChromeSource; names: string[] }[] = [
  { source: 'chromium-headless-shell', names: ['chromium-headless-shell', 'chrome-headless-shell'] },
  { source: 'chromium', names: ['chromium', 'chromium-browser'] },
  { source: 'google-chrome', names: ['google-chrome', 'google-chrome-stable'] },
];

/** Resolves the embedded Chromium's path (extracting it on first use). */
export type EmbeddedChromium = () => Promise<string>;

const sparticuz: EmbeddedChromium = async () => {
  const { default: chromium } = await import('@sparticuz/chromium');
  // executablePath() inflates the brotli-packed binary into the temp dir once and reuses it.
  return chromium.executablePath();
};

export async function findChrome(env: NodeJS.ProcessEnv = process.env, embedded: EmbeddedChromium = sparticuz): Promise<ChromeBinary> {
  const tried: string[] = [];
  const fromEnv = env.CHROME_PATH;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return describe(fromEnv, 'CHROME_PATH');
    tried.push(`CHROME_PATH=${fromEnv} (not an executable file)`);
  } else {
    tried.push('CHROME_PATH (not set)');
  }
  const dirs = (env.PATH ?? '').split(delimiter).filter((d) => d && isAbsolute(d));
  for (const { source, names } of PATH_CANDIDATES) {
    for (const name of names) {
      const hit = dirs.map((d) => join(d, name)).find(isExecutable);
      if (hit) return describe(hit, source);
      tried.push(`${name} on PATH`);
    }
  }
  try {
    const path = await embedded();
    if (isExecutable(path)) return { path, source: '@sparticuz/chromium', headlessShell: true };
    tried.push(`@sparticuz/chromium (extracted to ${path}, not executable)`);
  } catch (error) {
    tried.push(`@sparticuz/chromium (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  throw new ChromeNotFoundError(tried);
}

/** `chrome --version`, e.g. "Chromium 156.0.8078.79". */
export async function chromeVersion(path: string): Promise<string> {
  const { stdout } = await execa(path, ['--version'], { timeout: 15_000 });
  return stdout.trim();
}

function describe(path: string, source: ChromeSource): ChromeBinary {
  const real = unwrapShellScript(path);
  return { path: real, source, headlessShell: /headless[-_]shell/.test(real) || source === 'chromium-headless-shell' };
}

/**
 * Debian ships /usr/bin/chromium* as `#!/bin/sh` wrappers that run the real binary as a child
 * (no exec), so the pid we would hold is the shell's. Resolve to the binary the wrapper calls,
 * so that pid, process tree and adoption all refer to the browser itself.
 */
function unwrapShellScript(path: string): string {
  const head = readHead(path, 4096);
  if (!head.startsWith('#!')) return path;
  const target = [...head.matchAll(/(\/[\w./-]+)/g)]
    .map((m) => m[1] as string)
    .find((p) => p !== path && !p.startsWith('/bin/') && !p.startsWith('/usr/bin/env') && isExecutable(p) && !isScript(p));
  return target ?? path;
}

function isScript(path: string): boolean {
  return readHead(path, 2) === '#!';
}

/** The first bytes of a file (binaries are ~200 MB: never read them whole). */
function readHead(path: string, bytes: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(bytes);
    const read = readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, read).toString('latin1');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
