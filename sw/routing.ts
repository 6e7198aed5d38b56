// Which requests are the worker's: navigations to the OAuth callback path, and requests to a
// registered MCP server (the deepest registered path wins). Everything else is left to the browser.
import { handleCallback } from './strategies/callback.ts';
import { handleMcpRequest } from './strategies/mcp-request.ts';
import { isReady, matchServer, ready } from './registry.ts';
import { isCallbackPath, isTrusted, trustedServers } from './settings.ts';

declare const self: ServiceWorkerGlobalScope;

function mcpRequest(event: FetchEvent, url: URL): Promise<Response> | undefined {
  const server = matchServer(url);
  return server ? handleMcpRequest(event.request, server.id, event.clientId) : undefined;
}

export function route(event: FetchEvent): Promise<Response> | undefined {
  const request = event.request;
  const url = new URL(request.url);
  if (request.mode === 'navigate') {
    return url.origin === self.location.origin && isCallbackPath(url.pathname) ? handleCallback(event) : undefined;
  }
  if (isReady()) return mcpRequest(event, url);
  // A worker that has just started has not read its registrations yet. What cannot be an MCP
  // request is known at once: anything the page loads as a script, style, image or document
  // (an MCP client uses fetch, destination ""), and with a trusted list anything outside it; those
  // are left to the host worker (its cache) or the browser. The rest waits for the registrations
  // (a few ms, once), so that no request to an MCP server, same-origin ones included, leaves
  // without its token. If the database cannot be read, requests go out untouched.
  if (request.destination !== '' || (trustedServers() && !isTrusted(url))) return undefined;
  return ready().then(
    () => mcpRequest(event, url) ?? fetch(request),
    () => fetch(request),
  );
}
