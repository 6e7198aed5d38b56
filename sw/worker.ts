// `mcp-sw-auth/worker`: installs the worker on the service worker global scope of the app's own
// worker. The browser's events go to routing and commands; only our requests (the callback path,
// the registered MCP servers) and our messages (namespaced) are handled, and everything else is
// left to the host worker. It does not call clients.claim unless asked (`takeControl`), and never
// skipWaiting: see `takeControl`.
import { handleMessage, isOurs } from './commands.ts';
import { ready } from './registry.ts';
import { route } from './routing.ts';
import { applyOptions, type McpSwAuthOptions } from './settings.ts';

declare const self: ServiceWorkerGlobalScope;

export { InvalidOptionsError } from './settings.ts';

export interface McpSwAuthInstallOptions extends McpSwAuthOptions {
  /**
   * Take control of the pages that are open when the worker first activates (clients.claim), so
   * the first page is controlled without a reload. Off by default: a host worker decides its own
   * lifecycle. The client core asks the worker to claim a page it finds uncontrolled either way.
   *
   * A new version never takes over pages the previous one controls (no skipWaiting): it waits
   * until the app's pages are closed or have left the app, as browsers do by default. Taking over
   * under an open page is a handover during which Firefox 153 sent a page's request past both
   * versions, without its token (e2e/firefox/update.test.ts); and the previous version may be
   * completing a consent. A host worker that calls skipWaiting itself takes that risk.
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
