// Access and refresh tokens live here, in the worker's memory only: never in IndexedDB, never in a
// message. A restarted worker has none, and the next request is re-authorized for the whole
// accumulated scope set.

import type { AuthorizationServer } from 'oauth4webapi';
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
}

const EXPIRY_SKEW_MS = 10_000;
const tokens = new Map<string, TokenSet>();
const refreshing = new Map<string, Promise<TokenSet | undefined>>();

export function getToken(serverId: string): TokenSet | undefined {
  return tokens.get(serverId);
}

export function setToken(serverId: string, token: TokenSet): void {
  tokens.set(serverId, token);
}

export function dropToken(serverId: string): void {
  tokens.delete(serverId);
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
