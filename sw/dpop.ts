// DPoP (RFC 9449): one non-extractable ES256 key pair per browser profile, kept in IndexedDB so that
// tokens bound to it survive worker and browser restarts. Page script can read IndexedDB but cannot
// export the private key, so a stolen DPoP-bound token is useless off this browser. A stored key
// that could be exported (a page may have planted one) is refused and replaced, and every token
// bound to it is forgotten.
import * as oauth from 'oauth4webapi';
import { clearTokens, loadKeyPair, saveKeyPair, saveNonces, type StoredNonces } from './db.ts';
import { isNonce, MAX_NONCE_ORIGINS } from './stored.ts';

let handle: Promise<oauth.DPoPHandle> | undefined;
const warnings: string[] = [];
/**
 * The latest nonce each origin sent. oauth4webapi keeps its own in memory, which a stopped worker
 * loses: then the first proof after a restart carried none, and cost a round trip for the server's
 * `use_dpop_nonce`. Kept in IndexedDB, written only when an origin sends a new one (about once a
 * minute while in use); a planted or stale one costs that same round trip, nothing more.
 */
const nonces = new Map<string, string>();

/** The nonces the previous worker kept (checked by the startup read); nonces seen since win. */
export function restoreNonces(stored: StoredNonces): void {
  for (const [origin, nonce] of Object.entries(stored)) if (!nonces.has(origin)) nonces.set(origin, nonce);
}

/** Keeps the nonce a response carries, when it is a new one for its origin. */
export function noteNonce(url: URL, response: Response): void {
  const nonce = response.headers.get('dpop-nonce');
  if (!isNonce(nonce) || nonces.get(url.origin) === nonce) return;
  nonces.delete(url.origin);
  nonces.set(url.origin, nonce);
  for (const origin of nonces.keys()) if (nonces.size > MAX_NONCE_ORIGINS) nonces.delete(origin);
  void saveNonces(Object.fromEntries(nonces)).catch(() => undefined);
}

/** A proof for which oauth4webapi has no nonce of its own (a restarted worker) carries the kept one. */
const fillNonce: oauth.ModifyAssertionFunction = (_header, payload) => {
  if (payload['nonce'] !== undefined || typeof payload['htu'] !== 'string') return;
  const nonce = nonces.get(new URL(payload['htu']).origin);
  if (nonce) payload['nonce'] = nonce;
};

/** The proof signer for a key pair. */
export function proofSigner(keys: CryptoKeyPair): oauth.DPoPHandle {
  return oauth.DPoP({}, keys, { [oauth.modifyAssertion]: fillNonce });
}

/** Why the stored key pair cannot be used; undefined when it can. */
async function keyProblem(stored: unknown): Promise<string | undefined> {
  const pair = stored as Partial<CryptoKeyPair> | null;
  const { privateKey, publicKey } = pair ?? {};
  if (!(privateKey instanceof CryptoKey) || !(publicKey instanceof CryptoKey)) return 'it is not a key pair';
  if (privateKey.extractable) return 'its private key can be exported';
  const ecdsa = (key: CryptoKey) => key.algorithm.name === 'ECDSA' && (key.algorithm as { namedCurve?: string }).namedCurve === 'P-256';
  if (privateKey.type !== 'private' || publicKey.type !== 'public' || !ecdsa(privateKey) || !ecdsa(publicKey)) return 'it is not an ES256 key pair';
  if (!privateKey.usages.includes('sign') || !publicKey.usages.includes('verify')) return 'its keys cannot sign and verify';
  // the two halves must belong together, or proofs would not verify against the key in them
  const probe = new TextEncoder().encode('mcp-sw-auth');
  const algorithm = { name: 'ECDSA', hash: 'SHA-256' };
  const signature = await crypto.subtle.sign(algorithm, privateKey, probe);
  return (await crypto.subtle.verify(algorithm, publicKey, signature, probe)) ? undefined : 'its public key does not match its private key';
}

async function keyPair(read: () => Promise<unknown>): Promise<CryptoKeyPair> {
  const stored = await read();
  if (stored !== undefined) {
    const problem = await keyProblem(stored);
    if (!problem) return stored as CryptoKeyPair;
    warnings.push(`The stored DPoP key was replaced because ${problem}; tokens bound to it were forgotten, so the next request authorizes again.`);
    await clearTokens();
  }
  const created = await oauth.generateKeyPair('ES256', { extractable: false });
  await saveKeyPair(created);
  return created;
}

/**
 * The proof signer; it also remembers each server's latest DPoP nonce. Loaded once per worker
 * start, before any stored token is used; a failed load is tried again on the next call. `stored`
 * is the key pair as the worker's startup read found it, checked here like one read now.
 */
export function dpopHandle(stored?: { keyPair: unknown }): Promise<oauth.DPoPHandle> {
  if (handle) return handle;
  const attempt = keyPair(stored ? async () => stored.keyPair : loadKeyPair).then(proofSigner);
  handle = attempt;
  attempt.catch(() => {
    if (handle === attempt) handle = undefined;
  });
  return attempt;
}

/** What the key check refused since the worker started. */
export function dpopWarnings(): readonly string[] {
  return warnings;
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
