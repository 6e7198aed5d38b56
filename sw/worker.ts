// `mcp-sw-auth/worker`: installs the worker on the service worker global scope of the app's own
// worker. The browser's events go to routing and commands; only our requests (the callback path,
// the registered MCP servers) and our messages (namespaced) are handled, and everything else is
// left to the host worker. It does not call skipWaiting/clients.claim unless asked (`takeControl`).
import { handleMessage, isOurs } from './commands.ts';
import { ready } from './registry.ts';
import { route } from './routing.ts';
import { applyOptions, type McpSwAuthOptions } from './settings.ts';

declare const self: ServiceWorkerGlobalScope;

export { InvalidOptionsError } from './settings.ts';

export interface McpSwAuthInstallOptions extends McpSwAuthOptions {
  /**
   * Activate a new version of the worker at once and take control of open pages
   * (skipWaiting + clients.claim). Off by default: a host worker decides its own lifecycle. The
   * client core asks the worker to claim a page it finds uncontrolled either way.
   */
  takeControl?: boolean;
}

export type { McpSwAuthOptions };

/**
 * Installs mcp-sw-auth on this service worker. Call it once, at the top level of the worker script
 * (before other fetch handlers that answer navigations, so that the OAuth callback is ours). Throws
 * InvalidOptionsError for a callback path or trusted-server entry it cannot use.
 */
export function installMcpSwAuth(options: McpSwAuthInstallOptions = {}): void {
  applyOptions(options);
  void ready().catch(() => undefined);
  if (options.takeControl) {
    self.addEventListener('install', (event) => event.waitUntil(self.skipWaiting()));
    self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
  }
  self.addEventListener('fetch', (event) => {
    const response = route(event);
    if (response) event.respondWith(response);
  });
  self.addEventListener('message', (event) => {
    if (isOurs(event.data)) event.waitUntil(handleMessage(event));
  });
}
