// The DPoP nonces a worker keeps across a restart: the first proof of a restarted worker carries the
// kept nonce of its origin, a nonce the server sends afterwards wins, and only a new nonce is written.
import * as oauth from 'oauth4webapi';
import { beforeAll, describe, expect, it, vi } from 'vitest';

const saved = vi.hoisted(() => [] as Array<Record<string, string>>);
vi.mock('./db.ts', () => ({
  clearTokens: async () => undefined,
  loadKeyPair: async () => undefined,
  saveKeyPair: async () => undefined,
  saveNonces: async (nonces: Record<string, string>) => void saved.push(nonces),
}));

const { noteNonce, proofSigner, restoreNonces } = await import('./dpop.ts');

const SERVER = new URL('http://localhost:4172/mcp');
let keys: CryptoKeyPair;

beforeAll(async () => {
  keys = await oauth.generateKeyPair('ES256', { extractable: false });
});

/** Sends one request with a fresh proof through `signer`, answered with `nonce` in DPoP-Nonce; returns the proof's nonce. */
async function proofNonce(signer: oauth.DPoPHandle, nonce?: string): Promise<unknown> {
  let proof = '';
  await oauth.protectedResourceRequest('token', 'POST', SERVER, new Headers(), null, {
    DPoP: signer,
    [oauth.allowInsecureRequests]: true,
    [oauth.customFetch]: async (_url, init) => {
      proof = new Headers(init.headers).get('dpop') ?? '';
      const response = new Response('{}', { headers: nonce ? { 'dpop-nonce': nonce } : {} });
      noteNonce(SERVER, response);
      return response;
    },
  });
  const payload = proof.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
  return (JSON.parse(atob(payload)) as Record<string, unknown>)['nonce'];
}

describe('DPoP nonces across a restart', () => {
  it("a restarted worker's first proof carries the kept nonce; the server's next one wins, and only a new one is written", async () => {
    restoreNonces({ [SERVER.origin]: 'kept-1', 'http://other.example': 'other' });
    const signer = proofSigner(keys); // a new signer has no nonce of its own, as after a restart
    expect(await proofNonce(signer, 'fresh-2')).toBe('kept-1');
    expect(saved.at(-1)).toEqual({ [SERVER.origin]: 'fresh-2', 'http://other.example': 'other' });
    expect(await proofNonce(signer, 'fresh-2')).toBe('fresh-2');
    expect(saved).toHaveLength(1); // the same nonce again: nothing written
    // a new signer (another restart) picks up the nonce seen last, not the one restored
    expect(await proofNonce(proofSigner(keys))).toBe('fresh-2');
  });

  it('keeps no nonce that is not one (a quote in it)', () => {
    const before = saved.length;
    noteNonce(SERVER, new Response(null, { headers: { 'dpop-nonce': 'a"b' } }));
    expect(saved).toHaveLength(before);
  });
});
