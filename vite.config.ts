/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// One build: the demo app (app/index.html), the conformance page, and the worker twice: the
// prebuilt /sw.js for an app without a worker of its own, and /mcp-sw-auth-worker.js, the module a
// host worker imports (the demo serves a two-line /sw.js that imports it with its trusted servers,
// see servers/worker-script.ts). Both sit at the site root, so that a worker's scope covers the
// whole app, the OAuth callback path included.
export default defineConfig({
  root: here('./app'),
  publicDir: here('./public'),
  plugins: [react()],
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    target: 'es2022',
    // The demo page bundles the MCP SDK client (with its JSON Schema validator); the worker and the
    // client core are small, and their sizes are what matters.
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      input: {
        app: here('./app/index.html'),
        chat: here('./app/chat/index.html'),
        sw: here('./sw/sw.ts'),
        'mcp-sw-auth-worker': here('./sw/worker.ts'),
        conformance: here('./app/conformance/index.html'),
      },
      preserveEntrySignatures: 'exports-only',
      output: {
        entryFileNames: (chunk) => (chunk.name === 'sw' || chunk.name === 'mcp-sw-auth-worker' ? `${chunk.name}.js` : 'assets/[name]-[hash].js'),
      },
    },
  },
  test: {
    root: here('.'),
    include: ['app/**/*.test.ts', 'sw/**/*.test.ts', 'servers/**/*.test.ts'],
  },
});
