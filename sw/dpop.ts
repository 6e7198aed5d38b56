// DPoP (RFC 9449): one non-extractable ES256 key pair per browser profile, kept in IndexedDB so that
// tokens bound to it survive worker and browser restarts. Script on the page can read IndexedDB but
// cannot export the private key, so a stolen DPoP-bound token is useless elsewhere.
import * as oauth from 'oauth4webapi';
import { db } from './db.ts';

let handle: Promise<oauth.DPoPHandle> | undefined;

async function keyPair(): Promise<CryptoKeyPair> {
  const database = await db();
  const stored = await database.get('keys', 'dpop');
  if (stored) return stored;
  const created = await oauth.generateKeyPair('ES256', { extractable: false });
  await database.put('keys', created, 'dpop');
  return created;
}

/** The proof signer; it also remembers each server's latest DPoP nonce. */
export function dpopHandle(): Promise<oauth.DPoPHandle> {
  handle ??= keyPair().then((keys) => oauth.DPoP({}, keys));
  return handle;
}

/** Use DPoP with an authorization server that supports it with our algorithm. */
export function supportsDpop(as: oauth.AuthorizationServer): boolean {
  return Array.isArray(as.dpop_signing_alg_values_supported) && as.dpop_signing_alg_values_supported.includes('ES256');
}

/** Runs a request once more when the server answered that it wants a (fresh) nonce in the proof. */
export async function withNonceRetry<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    return send();
  }
}
