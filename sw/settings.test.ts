// settings.ts reads the worker's own location: each test stubs `self` and imports a fresh copy of
// the module (its options are module state, applied once per worker start).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

type Settings = typeof import('./settings.ts');

async function load(script = 'http://localhost:4170/sw.js?callback=/oauth/callback'): Promise<Settings> {
  vi.stubGlobal('self', { location: new URL(script) });
  vi.resetModules();
  return import('./settings.ts');
}

beforeEach(() => vi.resetModules());
afterEach(() => vi.unstubAllGlobals());

describe('applyOptions', () => {
  it("takes the callback path from the worker script's ?callback=, else the option", async () => {
    const s = await load('http://localhost:4170/sw.js?callback=/auth/cb');
    s.applyOptions();
    expect(s.callbackPath()).toBe('/auth/cb');
    s.applyOptions({ callbackPath: '/oauth/return/' });
    expect(s.callbackPath()).toBe('/oauth/return');
  });

  it.each(['//evil.example', '//evil.example/cb', 'https://evil.example/cb', '/\\evil.example', '/', 'cb', '/cb?x=1'])('throws on callbackPath %j', async (callbackPath) => {
    const s = await load();
    expect(() => s.applyOptions({ callbackPath })).toThrow(s.InvalidOptionsError);
    expect(s.callbackPath()).toBe('/oauth/callback');
  });

  it("throws on a worker script whose ?callback= points off the origin", async () => {
    const s = await load('http://localhost:4170/sw.js?callback=//evil.example/cb');
    expect(() => s.applyOptions()).toThrow(/not a path on this origin/);
  });

  it.each(['https://mcp.example/mcp?tenant=a', 'https://mcp.example/mcp#x', 'ftp://mcp.example/mcp', 'mcp.example/mcp', '/mcp'])(
    'throws on a trusted server entry %j',
    async (entry) => {
      const s = await load();
      expect(() => s.applyOptions({ trustedServers: ['https://ok.example/mcp', entry] })).toThrow(/trustedServers entry/);
    },
  );
});

describe('isTrusted', () => {
  it('trusts any server without a list', async () => {
    const s = await load();
    s.applyOptions({});
    expect(s.trustedServers()).toBeUndefined();
    expect(s.isTrusted(new URL('https://anything.example/mcp'))).toBe(true);
  });

  it('with a list, trusts a listed URL and the paths below it, nothing else', async () => {
    const s = await load();
    s.applyOptions({ trustedServers: ['https://mcp.example/mcp', 'http://localhost:4172/mcp'] });
    expect(s.trustedServers()).toEqual(['https://mcp.example/mcp', 'http://localhost:4172/mcp']);
    for (const url of ['https://mcp.example/mcp', 'https://mcp.example/mcp/admin', 'http://localhost:4172/mcp']) expect(s.isTrusted(new URL(url)), url).toBe(true);
    for (const url of ['https://mcp.example/mcpx', 'https://mcp.example/', 'http://mcp.example/mcp', 'https://evil.example/mcp', 'http://localhost:4173/mcp']) {
      expect(s.isTrusted(new URL(url)), url).toBe(false);
    }
  });
});

describe('redirect URIs and the callback path', () => {
  it('gives the shared redirect URI without an issuer', async () => {
    const s = await load();
    s.applyOptions();
    expect(s.redirectUriFor()).toBe('http://localhost:4170/oauth/callback');
  });

  it('gives each authorization server a redirect URI of its own, one segment below the callback path', async () => {
    const s = await load();
    s.applyOptions();
    const issuers = ['https://as.example', 'https://as.example/tenant-a', 'https://as.example/tenant-b', 'https://other.example', 'http://localhost:4173', 'http://localhost:4174'];
    const uris = issuers.map((issuer) => s.redirectUriFor(issuer));
    expect(new Set(uris).size).toBe(issuers.length);
    expect(uris).not.toContain(s.redirectUriFor());
    for (const uri of uris) {
      const url = new URL(uri);
      expect(url.origin).toBe('http://localhost:4170');
      expect(s.isCallbackPath(url.pathname), uri).toBe(true);
    }
  });

  it('isCallbackPath accepts the shared path and one segment below it, not two, nor a prefix', async () => {
    const s = await load();
    s.applyOptions();
    expect(s.isCallbackPath('/oauth/callback')).toBe(true);
    expect(s.isCallbackPath('/oauth/callback/as.example')).toBe(true);
    expect(s.isCallbackPath('/oauth/callback/as.example/x')).toBe(false);
    expect(s.isCallbackPath('/oauth/callbackx')).toBe(false);
    expect(s.isCallbackPath('/oauth')).toBe(false);
    expect(s.isCallbackPath('/')).toBe(false);
  });
});
