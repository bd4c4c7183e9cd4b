/**
 * The one loader of WGSL sources from shaders/. Under Vite (the app, the worker
 * and vitest) the files are bundled as text through `import.meta.glob` with
 * `?raw`. Under plain Node (the tsx command line) that call does not exist, so
 * loadShaderSources() reads the same files with node:fs instead.
 */

/** Sources by file name without the extension, such as 'matmul'. */
const sources = new Map<string, string>();
let loading: Promise<void> | null = null;

/**
 * Vite replaces the `import.meta.glob` call below with an object of the file
 * contents and defines `import.meta.env`. Plain Node defines neither, so
 * checking `import.meta.env` avoids calling an undefined function there.
 */
function bundledSources(): Record<string, string> | null {
  if (!import.meta.env) return null;
  return import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
}

function stemOf(path: string): string {
  const file = path.slice(path.lastIndexOf('/') + 1);
  return file.replace(/\.wgsl$/, '');
}

async function readSourcesFromDisk(): Promise<void> {
  // A computed specifier keeps Vite from trying to bundle node:fs for the browser.
  const fsModule = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ fsModule)) as typeof import('node:fs/promises');
  // Under Node this module runs from its source file, so the folder is two levels up.
  const dir = new URL(/* @vite-ignore */ '../../shaders/', import.meta.url);
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.wgsl'));
  for (const file of files) {
    if (!sources.has(stemOf(file))) sources.set(stemOf(file), await fs.readFile(new URL(file, dir), 'utf8'));
  }
}

/** Makes every shader source available to getShaderSource; safe to call more than once. */
export function loadShaderSources(): Promise<void> {
  loading ??= (async () => {
    const bundled = bundledSources();
    if (bundled) {
      for (const [path, code] of Object.entries(bundled)) {
        if (!sources.has(stemOf(path))) sources.set(stemOf(path), code);
      }
    } else {
      await readSourcesFromDisk();
    }
  })();
  return loading;
}

/** Replaces or adds the source of one file, for a host that loads shaders its own way. */
export function setShaderSource(name: string, code: string): void {
  sources.set(name, code);
}

/** Returns the WGSL text of shaders/<name>.wgsl; loadShaderSources() must have finished. */
export function getShaderSource(name: string): string {
  const code = sources.get(name);
  if (code === undefined) {
    const known = [...sources.keys()].sort().join(', ') || 'none loaded';
    throw new Error(`shader ${name}.wgsl not found (known: ${known}); await loadShaderSources() first`);
  }
  return code;
}
