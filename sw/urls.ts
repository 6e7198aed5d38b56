// URL rules the worker applies wherever a URL comes from: the page, a server, or IndexedDB.

export function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/** Parses `value` as an absolute URL, or returns undefined. */
export function parseUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/**
 * A URL credentials, codes or tokens may go to: https, or plain http on this machine (RFC 8252
 * §8.3), with no user info and no fragment.
 */
export function isSafeEndpoint(url: URL): boolean {
  if (url.username || url.password || url.hash) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url));
}

/** The path of `url` without a trailing slash ('' for the origin's root). */
export function basePath(url: URL): string {
  return url.pathname.replace(/\/$/, '');
}

/** `url` is `base` itself or below it: same origin, and the base path or a path under it. */
export function isWithin(url: URL, base: URL): boolean {
  if (url.origin !== base.origin) return false;
  const path = basePath(base);
  return path === '' || url.pathname === path || url.pathname === `${path}/` || url.pathname.startsWith(`${path}/`);
}

/**
 * The candidate whose URL is the deepest one `url` is within (same origin, longest base path): with
 * servers at /mcp and /mcp/admin, a request to /mcp/admin/x goes to the admin server.
 */
export function deepestMatch<C extends { url: URL }>(url: URL, candidates: Iterable<C>): C | undefined {
  let best: C | undefined;
  for (const candidate of candidates) {
    if (isWithin(url, candidate.url) && (!best || basePath(candidate.url).length > basePath(best.url).length)) best = candidate;
  }
  return best;
}

/**
 * A path on this origin: starts with one "/", and resolves to this origin. Refuses "//host",
 * "/\\host", absolute URLs, queries and fragments.
 */
export function isSameOriginPath(path: unknown, origin: string): path is string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//') || /[\\?#\s]/.test(path)) return false;
  try {
    const url = new URL(path, origin);
    return url.origin === origin && url.pathname === path;
  } catch {
    return false;
  }
}
