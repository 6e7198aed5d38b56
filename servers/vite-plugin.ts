/**
 * Vite plugin serving `GET /demo-config.json` (see `demoConfigDocument` in config.ts) from both the
 * dev server and the preview server. Side-effect free: safe to import from vite.config.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Plugin } from 'vite';

import { demoConfig, demoConfigDocument, type DemoConfig } from './config.ts';

export function demoConfigPlugin(cfg: DemoConfig = demoConfig()): Plugin {
  const body = JSON.stringify(demoConfigDocument(cfg), null, 2);
  const middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    if (req.url?.split('?')[0] !== '/demo-config.json' || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
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
