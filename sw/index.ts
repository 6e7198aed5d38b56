// The service worker's entry: wires the browser's events to routing and commands.
import { handleMessage } from './commands.ts';
import { ready } from './registry.ts';
import { route } from './routing.ts';

declare const self: ServiceWorkerGlobalScope;

void ready();

self.addEventListener('install', (event) => event.waitUntil(self.skipWaiting()));
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  const response = route(event);
  if (response) event.respondWith(response);
});
self.addEventListener('message', (event) => event.waitUntil(handleMessage(event)));
