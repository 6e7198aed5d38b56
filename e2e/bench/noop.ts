// The floor of any service worker: a worker that does nothing but `event.respondWith(fetch(event.request))`.
// Whatever routing a fetch through a service worker costs in Chromium (dispatching the fetch event
// to the worker's thread, the worker's own request, handing the response back to the page; and
// after a stop, starting the worker again) this worker pays too, and nothing else. overhead.ts and
// restart.ts send the direct side's request (the same URL, the same bearer token from Node) through
// it, and report our worker against it.
//
// One service worker per scope: the demo's worker has scope `/` on the app origin, so this one is
// registered at `/noop/sw.js` with scope `/noop/` and controls the plain page `/noop/` instead,
// in a browser context of its own (where the demo's worker is never registered). Both are served
// by the bench world's app server (`vite preview` in servers.ts), through `noopWorkerPlugin`.
//
// Only type imports here: servers.ts (a child process) imports the plugin.
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Browser, BrowserContext, Page } from '@playwright/test';
import type { Plugin } from 'vite';

export const NOOP_SCOPE = '/noop/';
export const NOOP_SCRIPT = '/noop/sw.js';

/** The whole worker. install/activate only make it control the page at once; its fetch handler is the one line. */
const NOOP_WORKER = `// bench: the floor of any service worker (e2e/bench/noop.ts)
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => event.respondWith(fetch(event.request)));
`;

const NOOP_PAGE = `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>bench: no-op service worker</title>
<p>The bench's no-op service worker (e2e/bench/noop.ts) controls this page.</p>
`;

/** Serves the no-op worker and its page from the bench world's app server (dev and preview), before the app's own routes. */
export function noopWorkerPlugin(): Plugin {
  const routes: Record<string, { type: string; body: string }> = {
    [NOOP_SCOPE]: { type: 'text/html; charset=utf-8', body: NOOP_PAGE },
    [NOOP_SCRIPT]: { type: 'text/javascript; charset=utf-8', body: NOOP_WORKER },
  };
  const middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const route = routes[req.url?.split('?')[0] ?? ''];
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    res.writeHead(200, { 'content-type': route.type, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : route.body);
  };
  return {
    name: 'mcp-sw-auth-bench-noop-worker',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
  };
}

export interface NoopSide {
  context: BrowserContext;
  page: Page;
  /** the worker's script URL */
  script: string;
}

/** A context of its own, on `<appOrigin>/noop/`, controlled by the no-op worker. */
export async function openNoopSide(browser: Browser, appOrigin: string): Promise<NoopSide> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${appOrigin}${NOOP_SCOPE}`);
  const controller = await page.evaluate(
    async ({ script, scope }) => {
      const controlled = new Promise<void>((resolve) => {
        if (navigator.serviceWorker.controller) resolve();
        else navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true });
      });
      await navigator.serviceWorker.register(script, { scope });
      await Promise.race([controlled, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      return navigator.serviceWorker.controller?.scriptURL ?? '';
    },
    { script: NOOP_SCRIPT, scope: NOOP_SCOPE },
  );
  const script = `${appOrigin}${NOOP_SCRIPT}`;
  if (controller !== script) throw new Error(`the no-op worker does not control ${appOrigin}${NOOP_SCOPE} (controller: ${controller || 'none'})`);
  return { context, page, script };
}
