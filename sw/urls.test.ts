import { describe, expect, it } from 'vitest';
import { deepestMatch, isSafeEndpoint, isSameOriginPath, isWithin, parseUrl } from './urls.ts';

const ORIGIN = 'http://localhost:4170';

describe('isSameOriginPath', () => {
  it.each([
    ['a protocol-relative URL', '//evil.example/cb'],
    ['an absolute URL', 'https://evil.example/cb'],
    ['a backslash that browsers read as a slash', '/\\evil.example'],
    ['a query', '/cb?x'],
    ['a fragment', '/cb#x'],
    ['a relative path', 'cb'],
    ['whitespace', '/oauth/call back'],
    ['a path the URL parser rewrites', '/oauth/../callback'],
    ['an encoded dot segment', '/oauth/%2e%2e/callback'],
    ['the empty string', ''],
  ])('refuses %s (%j)', (_what, path) => {
    expect(isSameOriginPath(path, ORIGIN)).toBe(false);
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 42, ['/oauth/callback'], { toString: () => '/oauth/callback' }]) expect(isSameOriginPath(value, ORIGIN)).toBe(false);
  });

  it('accepts a plain path on this origin', () => {
    expect(isSameOriginPath('/oauth/callback', ORIGIN)).toBe(true);
    expect(isSameOriginPath('/auth/cb-1_x.y~z', ORIGIN)).toBe(true);
  });
});

describe('isWithin: path-segment boundaries', () => {
  const base = new URL('https://mcp.example/mcp');

  it('covers the base itself and paths below it', () => {
    for (const path of ['/mcp', '/mcp/', '/mcp/x', '/mcp/x/y']) expect(isWithin(new URL(path, base), base), path).toBe(true);
  });

  it('does not cover a sibling that merely shares a prefix, or a parent', () => {
    for (const path of ['/mcpx', '/mcp-admin', '/mc', '/', '/other/mcp']) expect(isWithin(new URL(path, base), base), path).toBe(false);
  });

  it('never crosses origins (host, port or scheme)', () => {
    for (const url of ['https://evil.example/mcp', 'https://mcp.example:8443/mcp', 'http://mcp.example/mcp', 'https://mcp.example.evil.example/mcp']) {
      expect(isWithin(new URL(url), base), url).toBe(false);
    }
  });

  it('reads a base with a trailing slash like one without, and a root base as the whole origin', () => {
    expect(isWithin(new URL('https://mcp.example/mcp'), new URL('https://mcp.example/mcp/'))).toBe(true);
    expect(isWithin(new URL('https://mcp.example/mcpx'), new URL('https://mcp.example/mcp/'))).toBe(false);
    expect(isWithin(new URL('https://mcp.example/anything/below'), new URL('https://mcp.example/'))).toBe(true);
  });
});

describe('deepestMatch: longest-prefix routing', () => {
  const mcp = { value: 'mcp', url: new URL('https://mcp.example/mcp') };
  const admin = { value: 'admin', url: new URL('https://mcp.example/mcp/admin') };
  const root = { value: 'root', url: new URL('https://mcp.example/') };
  const orders = [
    [mcp, admin, root],
    [root, admin, mcp],
    [admin, root, mcp],
  ];

  it('sends a request below the deeper server to the deeper server, in whatever order they were registered', () => {
    for (const candidates of orders) {
      expect(deepestMatch(new URL('https://mcp.example/mcp/admin/x'), candidates)?.value).toBe('admin');
      expect(deepestMatch(new URL('https://mcp.example/mcp/admin'), candidates)?.value).toBe('admin');
    }
  });

  it('sends the rest to the deepest server above it, on segment boundaries', () => {
    for (const candidates of orders) {
      expect(deepestMatch(new URL('https://mcp.example/mcp/x'), candidates)?.value).toBe('mcp');
      expect(deepestMatch(new URL('https://mcp.example/mcp/administrator'), candidates)?.value).toBe('mcp');
      expect(deepestMatch(new URL('https://mcp.example/mcpx'), candidates)?.value).toBe('root');
    }
  });

  it('matches nothing on another origin', () => {
    expect(deepestMatch(new URL('https://evil.example/mcp/admin/x'), [mcp, admin, root])).toBeUndefined();
    expect(deepestMatch(new URL('https://mcp.example/mcp'), [])).toBeUndefined();
  });
});

describe('isSafeEndpoint and parseUrl', () => {
  it('accepts https anywhere and plain http on loopback only', () => {
    for (const url of ['https://as.example/token', 'http://localhost:4173/token', 'http://127.0.0.1:4173/token', 'http://[::1]:4173/token']) {
      expect(isSafeEndpoint(new URL(url)), url).toBe(true);
    }
    for (const url of ['http://203.0.113.9/token', 'http://localhost.evil.example/token', 'javascript:alert(1)', 'data:text/plain,x', 'ftp://as.example/']) {
      expect(isSafeEndpoint(new URL(url)), url).toBe(false);
    }
  });

  it('refuses user info and fragments', () => {
    expect(isSafeEndpoint(new URL('https://user:pw@as.example/token'))).toBe(false);
    expect(isSafeEndpoint(new URL('https://as.example/token#x'))).toBe(false);
  });

  it('parses only absolute URLs of reasonable length', () => {
    expect(parseUrl('https://as.example/x')?.href).toBe('https://as.example/x');
    for (const value of ['/mcp', 'mcp.example/mcp', '', 42, null, `https://as.example/${'a'.repeat(2048)}`]) expect(parseUrl(value)).toBeUndefined();
  });
});
