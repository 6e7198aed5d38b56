// Access and refresh tokens live here, in the worker's memory, never in a message. Bearer tokens
// never leave that memory: a restarted worker has none, and the next request is re-authorized for
// the whole accumulated scope set. DPoP-bound tokens are also written to IndexedDB, because they
// are useless without the worker's non-extractable key (draft-ietf-oauth-browser-based-apps).
import type { AuthorizationServer } from 'oauth4webapi';
import { db } from './db.ts';
import type { ClientRecord } from './registration.ts';

export interface TokenSet {
  accessToken: string;
  /** Where it came from and for what: a refresh goes back to the same server, as the same client, for the same resource. */
  authorizationServer: AuthorizationServer;
  client: ClientRecord;
  resource: string;
  refreshToken?: string;
  /** Epoch ms; a token is treated as expired a little early so it never expires in flight. */
  expiresAt: number;
  scopes: string[];
  /** False until a server has accepted it once: a fresh token refused at once is a configuration error, not a reason to loop. */
  accepted: boolean;
  /** Bound to the worker's DPoP key (token_type DPoP): sent with a proof, and kept across restarts. */
  dpop: boolean;
}

const EXPIRY_SKEW_MS = 10_000;
const tokens = new Map<string, TokenSet>();
const refreshing = new Map<string, Promise<TokenSet | undefined>>();

export function getToken(serverId: string): TokenSet | undefined {
  return tokens.get(serverId);
}

export async function setToken(serverId: string, token: TokenSet): Promise<void> {
  const previous = tokens.get(serverId);
  tokens.set(serverId, token);
  if (token.dpop) await (await db()).put('tokens', token, serverId);
  else if (previous?.dpop) await (await db()).delete('tokens', serverId);
}

export function dropToken(serverId: string): void {
  const previous = tokens.get(serverId);
  tokens.delete(serverId);
  if (previous?.dpop) void db().then((database) => database.delete('tokens', serverId));
}

/** DPoP-bound tokens from before the worker (or the browser) restarted. */
export async function restoreTokens(): Promise<void> {
  const database = await db();
  const keys = await database.getAllKeys('tokens');
  for (const serverId of keys) {
    const token = await database.get('tokens', serverId);
    // it was in use before the restart: a refusal now means expiry or revocation, not a bad setup
    if (token && !tokens.has(serverId)) tokens.set(serverId, { ...token, accepted: true });
  }
}

export function isExpired(token: TokenSet, now = Date.now()): boolean {
  return token.expiresAt - EXPIRY_SKEW_MS <= now;
}

/**
 * One refresh per server at a time: refresh tokens rotate, and a second use of a consumed one
 * makes the authorization server revoke the whole grant.
 */
export function refreshOnce(serverId: string, run: () => Promise<TokenSet | undefined>): Promise<TokenSet | undefined> {
  let inFlight = refreshing.get(serverId);
  if (!inFlight) {
    inFlight = run().finally(() => refreshing.delete(serverId));
    refreshing.set(serverId, inFlight);
  }
  return inFlight;
}
