// Access and refresh tokens live here, in the worker's memory, never in a message. Every install
// gets a new generation, and installs are compare-and-set: a refresh that answers after sign-out or
// after a newer token arrived is dropped, and an answer to an older token is told apart from a
// challenge to the current one. Bearer tokens never leave this memory; DPoP-bound tokens are also
// written to IndexedDB (useless without the worker's non-extractable key) and restored after a
// restart, after the same checks as any stored record.
import { deleteToken, saveToken, type StoredToken } from './db.ts';

export interface TokenSet {
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** Epoch ms; a token is treated as expired a little early so it never expires in flight (`refreshMargin`). */
  readonly expiresAt: number;
  /** Epoch ms, when the worker received it; absent for a token stored by an older version. */
  readonly issuedAt?: number;
  /** What it carries. */
  readonly scopes: readonly string[];
  /** What the authorization that issued it asked for: the loop guard's evidence. */
  readonly requested: readonly string[];
  /** The MCP server it was issued for, as the worker knew it at issuance: the only URL it goes to. */
  readonly serverUrl: string;
  /** The `resource` indicator (RFC 8707) it was issued for. */
  readonly resource: string;
  /** Its authorization server; a refresh goes there only after discovering it afresh. */
  readonly issuer: string;
  readonly clientId: string;
  /** Bound to the worker's DPoP key (token_type DPoP): sent with a proof, and kept across restarts. */
  readonly dpop: boolean;
  /** Which install this is; strictly increasing across the worker's lifetime. */
  readonly generation: number;
  /** A server has accepted it: a refusal now means expiry or revocation, not a bad setup. */
  accepted: boolean;
}

export type NewToken = Omit<TokenSet, 'generation' | 'accepted'>;

const MAX_MARGIN_MS = 10_000;
const MARGIN_SHARE = 0.2;
const tokens = new Map<string, TokenSet>();
const refreshing = new Map<string, { from: TokenSet; promise: Promise<TokenSet | undefined> }>();
let lastGeneration = 0;

export function getToken(serverId: string): TokenSet | undefined {
  return tokens.get(serverId);
}

/** The generation of the server's current token; 0 when there is none. */
export function currentGeneration(serverId: string): number {
  return tokens.get(serverId)?.generation ?? 0;
}

function persist(serverId: string, token: TokenSet | undefined, previous: TokenSet | undefined): void {
  // IndexedDB follows memory; transactions run in the order they are created, so the last word wins.
  if (token?.dpop) void saveToken(toStored(serverId, token)).catch(() => undefined);
  else if (previous?.dpop) void deleteToken(serverId).catch(() => undefined);
}

/**
 * Installs `token` for the server when its current token is still `expected` (compare-and-set);
 * `expected: 'any'` replaces whatever is there (a new grant). Returns the installed token, or
 * undefined when something else was installed or dropped in the meantime.
 */
export function installToken(serverId: string, token: NewToken, expected: TokenSet | undefined | 'any', accepted = false): TokenSet | undefined {
  const previous = tokens.get(serverId);
  if (expected !== 'any' && previous !== expected) return undefined;
  const installed: TokenSet = { ...token, generation: ++lastGeneration, accepted };
  tokens.set(serverId, installed);
  persist(serverId, installed, previous);
  return installed;
}

/** Drops the server's token if it is still `expected`; returns whether it did. */
export function dropToken(serverId: string, expected: TokenSet): boolean {
  if (tokens.get(serverId) !== expected) return false;
  tokens.delete(serverId);
  persist(serverId, undefined, expected);
  return true;
}

/** Drops whatever token the server has (sign-out, a server that moved); returns it, for revocation. */
export function clearToken(serverId: string): TokenSet | undefined {
  const previous = tokens.get(serverId);
  tokens.delete(serverId);
  refreshing.delete(serverId);
  if (previous) persist(serverId, undefined, previous);
  return previous;
}

/**
 * How long before its expiry a token counts as expired: a fifth of its lifetime, at most 10 s. A
 * fixed 10 s would make a token that lives 10 s expired on arrival, and refresh it before every
 * request.
 */
export function refreshMargin(token: Pick<TokenSet, 'expiresAt' | 'issuedAt'>): number {
  if (token.issuedAt === undefined) return MAX_MARGIN_MS;
  return Math.min(MAX_MARGIN_MS, Math.max(0, (token.expiresAt - token.issuedAt) * MARGIN_SHARE));
}

export function isExpired(token: TokenSet, now = Date.now()): boolean {
  return token.expiresAt - refreshMargin(token) <= now;
}

/**
 * Runs `refresh` for the server's token `seen`, once at a time. Refresh tokens rotate, and a second
 * use of a consumed one makes the authorization server revoke the whole grant; so a caller that
 * saw an older token than the current one never refreshes: it gets the current token (or none).
 */
export function refreshOnce(serverId: string, seen: TokenSet, refresh: () => Promise<TokenSet | undefined>): Promise<TokenSet | undefined> {
  const current = tokens.get(serverId);
  if (current !== seen) return Promise.resolve(current);
  const inFlight = refreshing.get(serverId);
  if (inFlight?.from === seen) return inFlight.promise;
  const promise = refresh().finally(() => {
    if (refreshing.get(serverId)?.promise === promise) refreshing.delete(serverId);
  });
  refreshing.set(serverId, { from: seen, promise });
  return promise;
}

function toStored(serverId: string, token: TokenSet): StoredToken {
  const stored: StoredToken = {
    serverId,
    serverUrl: token.serverUrl,
    issuer: token.issuer,
    resource: token.resource,
    clientId: token.clientId,
    accessToken: token.accessToken,
    expiresAt: token.expiresAt,
    ...(token.issuedAt !== undefined ? { issuedAt: token.issuedAt } : {}),
    scopes: [...token.scopes],
    requested: [...token.requested],
    dpop: true,
  };
  if (token.refreshToken) stored.refreshToken = token.refreshToken;
  return stored;
}

/** A stored DPoP-bound token, restored only for the server and URL it was issued for. */
export function restoreToken(stored: StoredToken, serverUrl: string): boolean {
  if (tokens.has(stored.serverId) || stored.serverUrl !== serverUrl) return false;
  const { serverId: _id, ...token } = stored;
  tokens.set(stored.serverId, { ...token, generation: ++lastGeneration, accepted: true });
  return true;
}
