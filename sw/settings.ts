// What the worker's own script decides, and no page script can change: the callback path and the
// list of MCP servers the worker may hold tokens for. Pages can write IndexedDB and send messages,
// but cannot alter the script the browser runs as the worker.
import { MAX_HOLD_MS, setHoldTimeout } from './holds.ts';
import { basePath, isSameOriginPath, isWithin, parseUrl } from './urls.ts';

declare const self: ServiceWorkerGlobalScope;

export interface McpSwAuthOptions {
  /**
   * MCP server URLs (origin and path) the worker may register and hold tokens for. A URL covers
   * itself and the paths below it. When set, `configure` refuses any other server. Recommended in
   * production; without it, any script of the origin may register any server.
   */
  trustedServers?: readonly string[];
  /**
   * The path on this origin the authorization server redirects back to. Defaults to the worker
   * script's `?callback=` parameter, else `/oauth/callback`.
   */
  callbackPath?: string;
  /**
   * How long a request refused for scope is held while the user authorizes in a popup, before it
   * is answered with its challenge. Default 2 minutes; at most 4 (Chromium ends a fetch event
   * after about 5).
   */
  holdTimeoutMs?: number;
}

export class InvalidOptionsError extends Error {
  override readonly name = 'InvalidOptionsError';
}

let callback = '/oauth/callback';
let trusted: URL[] | undefined;

/** Validates and applies the options once, when the worker script runs. */
export function applyOptions(options: McpSwAuthOptions = {}): void {
  const origin = self.location.origin;
  const path = options.callbackPath ?? new URL(self.location.href).searchParams.get('callback') ?? '/oauth/callback';
  if (!isSameOriginPath(path, origin) || path === '/') {
    throw new InvalidOptionsError(`callbackPath ${JSON.stringify(path)} is not a path on this origin (such as "/oauth/callback").`);
  }
  callback = path.replace(/\/$/, '');
  if (options.holdTimeoutMs !== undefined) {
    if (!Number.isFinite(options.holdTimeoutMs) || options.holdTimeoutMs < 1_000 || options.holdTimeoutMs > MAX_HOLD_MS) {
      throw new InvalidOptionsError(`holdTimeoutMs ${options.holdTimeoutMs} must be between 1000 and ${MAX_HOLD_MS} ms.`);
    }
    setHoldTimeout(options.holdTimeoutMs);
  }
  if (options.trustedServers) {
    trusted = options.trustedServers.map((entry) => {
      const url = parseUrl(entry);
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
        throw new InvalidOptionsError(`trustedServers entry ${JSON.stringify(entry)} is not an http(s) URL without query or fragment.`);
      }
      return url;
    });
  }
}

export function callbackPath(): string {
  return callback;
}

/** The callback path itself (a shared redirect URI), or one segment below it (one per authorization server). */
export function isCallbackPath(pathname: string): boolean {
  return pathname === callback || (pathname.startsWith(`${callback}/`) && !pathname.slice(callback.length + 1).includes('/'));
}

/**
 * The redirect URI for an authorization server. With `issuer`, a path of its own (RFC 9700 §4.4.2:
 * a distinct redirect URI per authorization server defeats mix-up attacks even without `iss`);
 * without, the shared one a pre-registered client was registered with.
 */
export function redirectUriFor(issuer?: string): string {
  const base = `${self.location.origin}${callback}`;
  if (!issuer) return base;
  const url = new URL(issuer);
  return `${base}/${encodeURIComponent(`${url.host}${basePath(url)}`)}`;
}

export function trustedServers(): readonly string[] | undefined {
  return trusted?.map((u) => u.href);
}

/** Whether a server URL is on the trusted list (always true without a list). */
export function isTrusted(url: URL): boolean {
  return !trusted || trusted.some((base) => isWithin(url, base));
}
