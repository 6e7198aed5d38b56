/**
 * Resource-server side of DPoP (RFC 9449 §4.3, §7, §9): checks the proof that must come with a
 * DPoP-bound access token, so the demo servers accept only tokens presented by the key they were
 * bound to, and only with a proof that carries a nonce this server issued in the last minute or two.
 * Nonces are what stop proofs signed in advance: a script that could use the key once cannot stock
 * up on proofs for later.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { base64url, calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';

const ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'RS256', 'PS256'];
const MAX_AGE_S = 60;

export class DpopProofError extends Error {
  override readonly name: string = 'DpopProofError';
}

/** The proof carries no nonce, or one this server no longer accepts: answer `use_dpop_nonce`. */
export class DpopNonceError extends DpopProofError {
  override readonly name = 'DpopNonceError';
}

export interface DpopNonces {
  /** The nonce to send in `DPoP-Nonce` now. */
  current(): string;
  isValid(nonce: unknown): boolean;
}

/** Nonces that rotate every `windowSeconds`: the current one and the one before are accepted. */
export function dpopNonces(windowSeconds = 60): DpopNonces {
  const secret = randomBytes(32);
  const at = (window: number) => createHmac('sha256', secret).update(String(window)).digest('base64url');
  const window = () => Math.floor(Date.now() / 1000 / windowSeconds);
  return {
    current: () => at(window()),
    isValid: (nonce) => typeof nonce === 'string' && (nonce === at(window()) || nonce === at(window() - 1)),
  };
}

/** Proof ids seen within the acceptance window, to refuse replays. */
const seen = new Map<string, number>();

function remember(jti: string, now: number): boolean {
  for (const [id, at] of seen) if (now - at > MAX_AGE_S * 2) seen.delete(id);
  if (seen.has(jti)) return false;
  seen.set(jti, now);
  return true;
}

/**
 * Verifies `proof` for a request to `url` with `method` and the access token it accompanies.
 * Returns the JWK thumbprint the token's `cnf.jkt` must equal.
 */
export async function verifyDpopProof(proof: string, method: string, url: URL, accessToken: string, nonces: DpopNonces): Promise<string> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw new DpopProofError('The DPoP proof is not a JWT');
  }
  const jwk = header.jwk as JWK | undefined;
  if (header.typ !== 'dpop+jwt' || !header.alg || !ALGORITHMS.includes(header.alg) || !jwk || 'd' in jwk) {
    throw new DpopProofError('The DPoP proof header is invalid (typ, alg or public jwk)');
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(proof, await importJWK(jwk, header.alg), { typ: 'dpop+jwt', algorithms: ALGORITHMS }));
  } catch {
    throw new DpopProofError('The DPoP proof signature does not verify');
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > MAX_AGE_S) throw new DpopProofError('The DPoP proof is too old or from the future');
  if (payload.htm !== method.toUpperCase()) throw new DpopProofError('The DPoP proof is for another HTTP method');
  if (payload.htu !== `${url.origin}${url.pathname}`) throw new DpopProofError('The DPoP proof is for another URL');
  const ath = base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken))));
  if (payload.ath !== ath) throw new DpopProofError('The DPoP proof is for another access token');
  if (!nonces.isValid(payload.nonce)) throw new DpopNonceError('The DPoP proof must carry the nonce this server sent (DPoP-Nonce)');
  if (typeof payload.jti !== 'string' || !remember(payload.jti, now)) throw new DpopProofError('The DPoP proof was already used');
  return calculateJwkThumbprint(jwk, 'sha256');
}
