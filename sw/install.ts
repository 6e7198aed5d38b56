// Installs the worker on the service worker global scope: the browser's events go to routing and
// commands. Only our requests and our messages are handled; everything else is left to the browser
// (or to the host worker this module is imported into).
import { handleMessage, isOurs } from './commands.ts';
import { ready } from './registry.ts';
import { route } from './routing.ts';
import { applyOptions, type McpSwAuthOptions } from './settings.ts';

declare const self: ServiceWorkerGlobalScope;

export type { McpSwAuthOptions };

export interface InstallOptions extends McpSwAuthOptions {
  /** Activate new versions at once and take control of open pages (skipWaiting + clients.claim). */
  takeControl?: boolean;
}

export function installMcpSwAuth(options: InstallOptions = {}): void {
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
