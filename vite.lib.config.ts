// The library build (`npm run build:lib` → lib/), separate from the demo build (vite.config.ts →
// dist/). Three passes, one per kind of output:
//   --mode browser  lib/index.js, lib/react.js, lib/worker.js: ESM for the page and for a host
//                   worker, dependencies bundled (so a page without a bundler can import them),
//                   sharing their common code through lib/chunks/; react stays external (a peer)
//   --mode sw       lib/sw.js: the prebuilt worker, one self-contained file to copy to a site root
//   --mode plugin   lib/vite.js: the Vite plugin, for Node
// Types come from tsc (tsconfig.lib.json and sw/tsconfig.lib.json, run before the last pass) into
// lib/types/; the last pass points each entry's .d.ts at them.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin, type UserConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Each entry's declaration file, next to its JS, and its types' imports ending in .js like the JS. */
const ENTRY_TYPES: Record<string, string> = {
  'index.d.ts': "export * from './types/app/core/index.js';\n",
  'react.d.ts': "export * from './types/app/react/index.js';\n",
  'worker.d.ts': "export * from './types/sw/worker.js';\n",
  // the prebuilt worker is a script to serve as /sw.js (or copy there), not a module to import
  'sw.d.ts': '// The prebuilt worker: serve it as /sw.js; it exports nothing.\nexport {};\n',
  'vite.d.ts': "export * from './types/vite/index.js';\nexport { default } from './types/vite/index.js';\n",
};

function finishTypes(): Plugin {
  const rewrite = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) rewrite(path);
      else if (name.endsWith('.d.ts')) {
        // tsc keeps the sources' .ts/.tsx specifiers in declarations; consumers resolve .js ones
        writeFileSync(path, readFileSync(path, 'utf8').replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.tsx?(['"])/g, '$1.js$2'));
      }
    }
  };
  return {
    name: 'mcp-sw-auth:finish-types',
    closeBundle() {
      rewrite(here('./lib/types'));
      for (const [file, text] of Object.entries(ENTRY_TYPES)) writeFileSync(here(`./lib/${file}`), text);
    },
  };
}

const shared: UserConfig = {
  root: here('.'),
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic' } },
};

export default defineConfig(({ mode }): UserConfig => {
  if (mode === 'browser') {
    return {
      ...shared,
      build: {
        outDir: here('./lib'),
        emptyOutDir: true,
        target: 'es2022',
        minify: false,
        lib: {
          entry: { index: here('./app/core/index.ts'), react: here('./app/react/index.ts'), worker: here('./sw/worker.ts') },
          formats: ['es'],
        },
        rolldownOptions: {
          external: ['react', 'react/jsx-runtime'],
          output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
        },
      },
    };
  }
  if (mode === 'sw') {
    return {
      ...shared,
      build: {
        outDir: here('./lib'),
        emptyOutDir: false,
        target: 'es2022',
        minify: true,
        lib: { entry: here('./sw/sw.ts'), formats: ['es'], fileName: () => 'sw.js' },
      },
    };
  }
  if (mode === 'plugin') {
    return {
      ...shared,
      build: {
        outDir: here('./lib'),
        emptyOutDir: false,
        target: 'node20',
        minify: false,
        ssr: here('./vite/index.ts'),
        rolldownOptions: { external: [/^node:/, 'vite'], output: { format: 'es', entryFileNames: 'vite.js' } },
      },
      plugins: [finishTypes()],
    };
  }
  throw new Error(`vite.lib.config.ts: --mode must be browser, sw or plugin, not "${mode}".`);
});
