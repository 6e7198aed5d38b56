// Sizes that ship, gzipped at level 9 (KB = 1000 bytes):
// - the worker: what the browser loads for it, i.e. an entry script plus every chunk it imports,
//   found by following the import statements in the bench's own build output. Two entries:
//   the prebuilt `sw.js` (for an app without a worker of its own) and the demo's `/sw.js`, a
//   two-line host script (servers/worker-script.ts) that imports `/mcp-sw-auth-worker.js`;
// - the client core, bundled and minified on its own with vite's build API (rolldown + its minifier).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = join(import.meta.dirname, '..', '..');

export interface FileSize {
  /** path inside the build output (or the URL the host script is served at) */
  file: string;
  bytes: number;
  gzip: number;
}

export interface WorkerSize {
  /** how the entry is reached */
  entry: string;
  /** the entry first, then the chunks it imports (transitively), in the order found */
  files: FileSize[];
  bytes: number;
  /** gzip -9 of all the files concatenated: the figure */
  gzip: number;
  /** the gzip -9 sizes of the files added up, as they travel (one response each) */
  gzipPerFileSum: number;
}

export interface SizeFigures {
  /** the prebuilt worker: dist/sw.js and its chunks (the row) */
  worker: WorkerSize & {
    /** What those chunks are made of: rendered bytes per package or source file, before minification, largest first. */
    composition: Array<{ part: string; renderedBytes: number; share: number }>;
  };
  /** what the demo (and the bench world) serve: the host /sw.js, /mcp-sw-auth-worker.js and its chunks */
  demoWorker: WorkerSize;
  clientCore: { entries: string[]; file: string; bytes: number; gzip: number };
}

const gzip = (data: Buffer | string) => gzipSync(data, { level: 9 }).byteLength;

type Composition = SizeFigures['worker']['composition'];

interface BuiltChunk {
  fileName: string;
  modules: Record<string, { renderedLength: number }>;
}

export interface Build {
  chunks: Map<string, BuiltChunk>;
}

/** `…/node_modules/oauth4webapi/build/index.js` → `oauth4webapi`; `…/sw/strategies/x.ts` → `sw/strategies/x.ts`. */
function partOf(id: string): string {
  const clean = id.replace(/\?.*$/, '').replaceAll('\\', '/');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(clean);
  if (pkg?.[1]) return pkg[1];
  return clean.startsWith(root) ? clean.slice(root.length + 1) : clean;
}

/** Builds the app and the worker into `outDir` (the bench's private copy; dist/ is left alone). */
export async function buildApp(outDir: string): Promise<Build> {
  const vite = await import('vite');
  const result = await vite.build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const outputs = Array.isArray(result) ? result : [result];
  const chunks = outputs.flatMap((o) => ('output' in o ? o.output : [])).filter((c) => c.type === 'chunk') as unknown as BuiltChunk[];
  return { chunks: new Map(chunks.map((c) => [c.fileName, c])) };
}

/** Module specifiers of the static and dynamic imports (and re-exports) in built, minified ES code. */
function importsOf(code: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /\b(?:import|export)\s*(?:[\w*$]+\s*,?\s*)?(?:\{[^}]*\}|\*\s*as\s+[\w$]+|\*)?\s*from\s*["']([^"']+)["']/g, // import … from "x", export … from "x"
    /\bimport\s*["']([^"']+)["']/g, // import "x"
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g, // import("x")
  ];
  for (const pattern of patterns) for (const match of code.matchAll(pattern)) if (match[1]) found.add(match[1]);
  return [...found];
}

/**
 * Follows the imports from `entry` (code served at `entryUrl`) through the files of `outDir`, as
 * the browser would load them. Throws on an import that is not a file of the build.
 */
function workerSize(outDir: string, entryLabel: string, entryUrl: string, entryCode: string): WorkerSize {
  const files: Array<{ file: string; code: Buffer }> = [{ file: entryLabel, code: Buffer.from(entryCode) }];
  const seen = new Set<string>();
  const queue: Array<{ url: string; code: string }> = [{ url: entryUrl, code: entryCode }];
  while (queue.length > 0) {
    const { url, code } = queue.shift()!;
    for (const specifier of importsOf(code)) {
      if (!specifier.startsWith('/') && !specifier.startsWith('./') && !specifier.startsWith('../')) {
        throw new Error(`${url} imports "${specifier}", which a browser cannot load as is`);
      }
      const target = specifier.startsWith('/') ? specifier : new URL(specifier, `http://x${url}`).pathname;
      if (seen.has(target)) continue;
      seen.add(target);
      const path = resolve(outDir, `.${target}`);
      if (!path.startsWith(resolve(outDir)) || !existsSync(path)) throw new Error(`${url} imports ${specifier}: ${relative(root, path)} is not in the build`);
      const data = readFileSync(path);
      files.push({ file: target.slice(1), code: data });
      queue.push({ url: target, code: data.toString('utf8') });
    }
  }
  return {
    entry: entryLabel,
    files: files.map((f) => ({ file: f.file, bytes: f.code.byteLength, gzip: gzip(f.code) })),
    bytes: files.reduce((sum, f) => sum + f.code.byteLength, 0),
    gzip: gzip(Buffer.concat(files.map((f) => f.code))),
    gzipPerFileSum: files.reduce((sum, f) => sum + gzip(f.code), 0),
  };
}

function compositionOf(build: Build, files: readonly string[]): Composition {
  const parts = new Map<string, number>();
  for (const file of files) {
    const chunk = build.chunks.get(file);
    if (!chunk) throw new Error(`${file} is not a chunk of the build`);
    for (const [id, module] of Object.entries(chunk.modules)) parts.set(partOf(id), (parts.get(partOf(id)) ?? 0) + module.renderedLength);
  }
  const total = [...parts.values()].reduce((a, b) => a + b, 0) || 1;
  return [...parts.entries()]
    .map(([part, renderedBytes]) => ({ part, renderedBytes, share: Math.round((renderedBytes / total) * 1000) / 10 }))
    .sort((a, b) => b.renderedBytes - a.renderedBytes);
}

/** `hostScript`: the demo's /sw.js as the bench world serves it (servers/worker-script.ts). */
export async function measureSizes(outDir: string, resultsDir: string, build: Build, hostScript: string): Promise<SizeFigures> {
  const prebuilt = workerSize(outDir, 'sw.js', '/sw.js', readFileSync(join(outDir, 'sw.js'), 'utf8'));
  const demo = workerSize(outDir, '/sw.js (host script, servers/worker-script.ts)', '/sw.js', hostScript);

  const vite = await import('vite');
  const output = await vite.build({
    configFile: false,
    logLevel: 'warn',
    root,
    build: {
      write: false,
      target: 'es2022',
      minify: true,
      lib: { entry: join(import.meta.dirname, 'client-core-entry.ts'), formats: ['es'], fileName: 'client-core' },
      // vite keeps whitespace in ES library builds (for pure annotations); minify fully, as an adopter's app build would
      rolldownOptions: { external: [], output: { minify: true } },
    },
  });
  const outputs = Array.isArray(output) ? output : [output];
  const chunks = outputs.flatMap((o) => ('output' in o ? o.output : [])).filter((c) => c.type === 'chunk');
  if (chunks.length !== 1) throw new Error(`the client core should bundle to one file, got ${chunks.length}`);
  const code = (chunks[0] as { code: string }).code;
  const coreFile = join(resultsDir, 'client-core.min.js');
  writeFileSync(coreFile, code);
  return {
    worker: { ...prebuilt, composition: compositionOf(build, prebuilt.files.map((f) => f.file)) },
    demoWorker: demo,
    clientCore: {
      entries: ['app/core/auth-client.ts', 'app/core/worker-channel.ts'],
      file: relative(root, coreFile),
      bytes: Buffer.byteLength(code),
      gzip: gzip(code),
    },
  };
}
