/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// One build, two entries: the app (app/index.html) and the service worker, emitted as /sw.js at
// the site root so that its scope covers the whole app, the OAuth callback path included.
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
      input: { app: here('./app/index.html'), sw: here('./sw/index.ts'), conformance: here('./app/conformance/index.html') },
      output: {
        entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  test: {
    root: here('.'),
    include: ['app/**/*.test.ts', 'sw/**/*.test.ts', 'servers/**/*.test.ts'],
  },
});
