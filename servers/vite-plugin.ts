/**
 * Vite plugin for the demo: serves `GET /demo-config.json` (see `demoConfigDocument` in config.ts)
 * and the demo's `/sw.js` (see worker-script.ts), from both the dev server and the preview server.
 * The preview server (what `npm run demo` and the browser tests serve) also sends the demo's
 * Content-Security-Policy (csp.ts): the page's on every response, the worker's on `/sw.js`. The dev
 * server sends none: Vite's dev server injects inline scripts and styles (React Refresh's preamble,
 * CSS in <style> elements), which a strict policy refuses.
 * Side-effect free: safe to import from vite.config.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Plugin } from 'vite';

import { demoConfig, demoConfigDocument, type DemoConfig } from './config.ts';
import { demoPolicies } from './csp.ts';
import { workerScript } from './worker-script.ts';

const CSP = 'content-security-policy';

export function demoConfigPlugin(cfg: DemoConfig = demoConfig()): Plugin {
  const policies = demoPolicies(cfg);
  const routes: Record<string, { type: string; body: string; csp?: string }> = {
    '/demo-config.json': { type: 'application/json', body: JSON.stringify(demoConfigDocument(cfg), null, 2) },
    '/sw.js': { type: 'text/javascript; charset=utf-8', body: workerScript(cfg.trustedServers), csp: policies.worker },
  };
  const middleware = (withCsp: boolean) => (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const route = routes[req.url?.split('?')[0] ?? ''];
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
      // every other response (the pages, their scripts and styles) carries the page's policy; only documents use it
      if (withCsp) res.setHeader(CSP, policies.page);
      return next();
    }
    res.writeHead(200, { 'content-type': route.type, 'cache-control': 'no-store', ...(withCsp ? { [CSP]: route.csp ?? policies.page } : {}) });
    res.end(req.method === 'HEAD' ? undefined : route.body);
  };
  return {
    name: 'mcp-sw-auth-demo-config',
    configureServer(server) {
      server.middlewares.use(middleware(false));
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware(true));
    },
  };
}
