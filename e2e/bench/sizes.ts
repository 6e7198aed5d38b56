// Sizes that ship: the built worker (sw.js of the bench's own build) and the client core bundled
// and minified on its own with vite's build API (rolldown + its minifier), both gzipped (level 9).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = join(import.meta.dirname, '..', '..');

export interface SizeFigures {
  worker: {
    file: string;
    bytes: number;
    gzip: number;
    /** What the worker is made of: rendered bytes per package or source file, before minification, largest first. */
    composition: Array<{ part: string; renderedBytes: number; share: number }>;
  };
  clientCore: { entries: string[]; file: string; bytes: number; gzip: number };
}

const gzip = (data: Buffer | string) => gzipSync(data, { level: 9 }).byteLength;

type Composition = SizeFigures['worker']['composition'];

/** `…/node_modules/oauth4webapi/build/index.js` → `oauth4webapi`; `…/sw/strategies/x.ts` → `sw/strategies/x.ts`. */
function partOf(id: string): string {
  const clean = id.replace(/\?.*$/, '').replaceAll('\\', '/');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(clean);
  if (pkg?.[1]) return pkg[1];
  return clean.startsWith(root) ? clean.slice(root.length + 1) : clean;
}

/**
 * Builds the app and the worker into `outDir` (the bench's private copy; dist/ is left alone) and
 * returns what the worker chunk is made of.
 */
export async function buildApp(outDir: string): Promise<Composition> {
  const vite = await import('vite');
  const result = await vite.build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const outputs = Array.isArray(result) ? result : [result];
  const chunks = outputs.flatMap((o) => ('output' in o ? o.output : [])).filter((c) => c.type === 'chunk');
  const worker = chunks.find((c) => c.fileName === 'sw.js') as { modules?: Record<string, { renderedLength: number }> } | undefined;
  const parts = new Map<string, number>();
  for (const [id, module] of Object.entries(worker?.modules ?? {})) parts.set(partOf(id), (parts.get(partOf(id)) ?? 0) + module.renderedLength);
  const total = [...parts.values()].reduce((a, b) => a + b, 0) || 1;
  return [...parts.entries()]
    .map(([part, renderedBytes]) => ({ part, renderedBytes, share: Math.round((renderedBytes / total) * 1000) / 10 }))
    .sort((a, b) => b.renderedBytes - a.renderedBytes);
}

export async function measureSizes(outDir: string, resultsDir: string, composition: Composition = []): Promise<SizeFigures> {
  const workerFile = join(outDir, 'sw.js');
  const worker = readFileSync(workerFile);

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
    worker: { file: workerFile, bytes: worker.byteLength, gzip: gzip(worker), composition },
    clientCore: {
      entries: ['app/core/auth-client.ts', 'app/core/worker-channel.ts'],
      file: coreFile,
      bytes: Buffer.byteLength(code),
      gzip: gzip(code),
    },
  };
}
