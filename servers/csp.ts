/**
 * The Content-Security-Policy the demo (servers/vite-plugin.ts) and the fixture apps
 * (e2e/fixtures/serve.ts) are served with, as HTTP response headers. README, "Content-Security-Policy".
 *
 * Two policies, because two kinds of document make requests:
 *
 * - the page's (every HTML document): no inline script or style, no eval; `connect-src` names the
 *   MCP servers the page's own MCP client fetches. A fetch the service worker answers is checked
 *   against the page's `connect-src` before the worker sees it, so the page needs the MCP servers
 *   even though it never talks to them directly. The authorization server is not there: the page
 *   only navigates to it (a redirect or a popup), and navigations are not `connect-src`.
 * - the worker's (the response that carries the service worker's script): a service worker is
 *   governed by the CSP of its own script's response, not by any page's, so its requests to the
 *   authorization server (metadata, token, registration, revocation) and to the MCP servers (the
 *   requests it sends on the page's behalf, Protected Resource Metadata) are checked against this one.
 */
import type { DemoConfig } from './config.ts';

export type Policy = Record<string, readonly string[]>;

/** Serializes a policy, directives in their given order, each source once. */
export function serializePolicy(policy: Policy): string {
  return Object.entries(policy)
    .map(([directive, sources]) => [directive, ...new Set(sources)].join(' '))
    .join('; ');
}

/** `http://localhost:4172/mcp` → `http://localhost:4172`: CSP source expressions name origins here. */
export function originOf(url: string): string {
  return new URL(url).origin;
}

/**
 * What a person may add with "Add a server" (the worker accepts https anywhere, and plain http on
 * this machine): the demo without a trusted-server list must let its page and its worker reach those.
 * `http://[::1]:*` is not a valid CSP source (the host grammar has no IPv6 literal), so a server on
 * `[::1]` cannot be added under this policy; `localhost` and `127.0.0.1` can.
 */
export const ADDED_SERVER_SOURCES = ['http://localhost:*', 'http://127.0.0.1:*', 'https:'] as const;

/** The policy of every HTML page: `connect` lists the origins (or sources) the page itself fetches. */
export function pagePolicy(connect: readonly string[]): Policy {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'"],
    'connect-src': ["'self'", ...connect],
    'worker-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
}

/**
 * The policy of the service worker's script: `connect` lists the origins the worker fetches (the
 * authorization servers' endpoints and the MCP servers). `'self'` stays for the app's own files (a
 * PWA's worker precaches them); `script-src 'self'` for the modules the worker imports.
 */
export function workerPolicy(connect: readonly string[]): Policy {
  return {
    'default-src': ["'none'"],
    'script-src': ["'self'"],
    'connect-src': ["'self'", ...connect],
  };
}

/**
 * The demo's two policies, from its configuration. With a trusted-server list (the locked build) the
 * page may fetch exactly the two MCP servers, and the worker those and the authorization server. Without
 * one (the demo as it ships: people add servers), both may also reach any server a person may add.
 */
export function demoPolicies(cfg: DemoConfig): { page: string; worker: string } {
  const mcp = [originOf(cfg.notesUrl), originOf(cfg.calendarUrl)];
  const added = cfg.trustedServers ? [] : ADDED_SERVER_SOURCES;
  return {
    page: serializePolicy(pagePolicy([...mcp, ...added])),
    worker: serializePolicy(workerPolicy([originOf(cfg.issuer), ...mcp, ...added])),
  };
}
