// Which requests are the worker's: navigations to the OAuth callback path, and requests to a
// registered MCP server. Everything else is left to the browser untouched.
import { handleCallback } from './strategies/callback.ts';
import { handleMcpRequest } from './strategies/mcp-request.ts';
import { isReady, matchServer, ready } from './registry.ts';

declare const self: ServiceWorkerGlobalScope;

/**
 * The callback path is fixed when the worker is registered (`/sw.js?callback=/oauth/callback`),
 * so the callback can be recognised synchronously even by a worker that has just started.
 */
export const callbackPath = new URL(self.location.href).searchParams.get('callback') ?? '/oauth/callback';

export function route(event: FetchEvent): Promise<Response> | undefined {
  const request = event.request;
  const url = new URL(request.url);
  if (request.mode === 'navigate') {
    return url.origin === self.location.origin && url.pathname === callbackPath ? handleCallback(request) : undefined;
  }
  if (!isReady()) {
    // A worker that has just started has not read its registrations yet; same-origin assets are never ours.
    if (url.origin === self.location.origin) return undefined;
    return ready().then(() => {
      const server = matchServer(url);
      return server ? handleMcpRequest(request, server.id) : fetch(request);
    });
  }
  const server = matchServer(url);
  return server ? handleMcpRequest(request, server.id) : undefined;
}
