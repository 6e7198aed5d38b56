// Where discovery may go. A challenge's resource_metadata is a URL the server (or anyone on the
// path) chose: one that is neither https nor on this machine is refused by name, never fetched.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { discover, forgetServer, hintResourceMetadata } from './discovery.ts';
import { AuthError } from './errors.ts';

afterEach(() => vi.unstubAllGlobals());

describe('resource_metadata from a challenge', () => {
  it.each(['http://203.0.113.9/.well-known/oauth-protected-resource', 'http://mcp.example/.well-known/oauth-protected-resource', 'ftp://mcp.example/metadata'])(
    'refuses %s, naming it, without fetching anything',
    async (metadataUrl) => {
      const fetch = vi.fn(async () => new Response('{}'));
      vi.stubGlobal('fetch', fetch);
      const server = 'https://mcp.example/mcp';
      hintResourceMetadata(server, metadataUrl);
      const error = await discover(server).catch((e: unknown) => e);
      forgetServer(server);
      expect(error).toBeInstanceOf(AuthError);
      expect((error as AuthError).code).toBe('discovery_failed');
      expect((error as AuthError).message).toContain(new URL(metadataUrl).href);
      expect(fetch).not.toHaveBeenCalled();
    },
  );

  it('fetches an https one, and plain http on this machine', async () => {
    for (const metadataUrl of ['https://mcp.example/.well-known/oauth-protected-resource/mcp', 'http://localhost:4172/.well-known/oauth-protected-resource/mcp']) {
      const fetch = vi.fn(async () => new Response('nope', { status: 500 }));
      vi.stubGlobal('fetch', fetch);
      const server = metadataUrl.startsWith('https') ? 'https://mcp.example/mcp' : 'http://localhost:4172/mcp';
      hintResourceMetadata(server, metadataUrl);
      await discover(server).catch(() => undefined);
      forgetServer(server);
      expect(String((fetch.mock.calls[0] as unknown[] | undefined)?.[0])).toBe(metadataUrl);
    }
  });
});
