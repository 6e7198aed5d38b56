/**
 * Vite plugin for the demo: serves `GET /demo-config.json` (see `demoConfigDocument` in config.ts)
 * and the demo's `/sw.js` (see worker-script.ts), from both the dev server and the preview server.
 * Side-effect free: safe to import from vite.config.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Plugin } from 'vite';

import { demoConfig, demoConfigDocument, type DemoConfig } from './config.ts';
import { workerScript } from './worker-script.ts';

export function demoConfigPlugin(cfg: DemoConfig = demoConfig()): Plugin {
  const routes: Record<string, { type: string; body: string }> = {
    '/demo-config.json': { type: 'application/json', body: JSON.stringify(demoConfigDocument(cfg), null, 2) },
    '/sw.js': { type: 'text/javascript; charset=utf-8', body: workerScript(cfg.trustedServers) },
  };
  const middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const route = routes[req.url?.split('?')[0] ?? ''];
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    res.writeHead(200, { 'content-type': route.type, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : route.body);
  };
  return {
    name: 'mcp-sw-auth-demo-config',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
  };
}
