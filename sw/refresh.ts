// Refreshing a server's access token: once at a time, never with a refresh token that has already
// rotated, always at the token endpoint of the authorization server discovered afresh in this
// worker's lifetime, and never installed when it answers after sign-out or after a newer token.
import { authorizationServerFor } from './discovery.ts';
import { AuthError, toErrorInfo } from './errors.ts';
import { applyError, applyRefresh } from './ledger.ts';
import { isRefusal, refreshTokens } from './oauth.ts';
import { clientFor } from './registration.ts';
import { change, clientConfigOf, getServer } from './registry.ts';
import { dropToken, getToken, installToken, isExpired, refreshOnce, type TokenSet } from './tokens.ts';

/** The authorization server could not be reached to refresh a token: the token is kept, and the request cannot be authorized now. */
export class RefreshUnavailableError extends Error {
  override readonly name = 'RefreshUnavailableError';
}

/**
 * The server's token `seen` refreshed, the token that replaced it meanwhile, or undefined when the
 * authorization server refused the refresh. Throws RefreshUnavailableError when it could not be
 * asked (offline, down, a worker stopped mid-request): the refresh token may well be good, so it is
 * kept for the next request instead of sending the user to consent again.
 */
export function refresh(serverId: string, seen: TokenSet): Promise<TokenSet | undefined> {
  return refreshOnce(serverId, seen, async () => {
    try {
      const { authorizationServer } = await authorizationServerFor(seen.serverUrl, seen.issuer);
      const server = getServer(serverId);
      if (!server) throw new AuthError('not_registered', `The server "${serverId}" is no longer registered with the worker.`);
      const client = await clientFor(authorizationServer, clientConfigOf(server));
      if (client.clientId !== seen.clientId) throw new Error(`the app is now client ${client.clientId} at ${seen.issuer}, not ${seen.clientId}`);
      const next = await refreshTokens(seen, authorizationServer, client);
      const installed = installToken(serverId, next, seen);
      // dropped: the user signed out, or a newer token arrived, while this refresh was on its way
      if (!installed) return getToken(serverId);
      await change(serverId, (r) => applyRefresh(r, next.scopes, Date.now()));
      return installed;
    } catch (error) {
      const info = toErrorInfo(error, 'token_request_failed', 'Refreshing the access token failed');
      if (!isRefusal(error)) {
        await change(serverId, (r) => applyError(r, { ...info, message: `${info.message} The token is kept; the next request tries again.` }, Date.now()));
        throw new RefreshUnavailableError(info.message, { cause: error });
      }
      // A refused refresh (expired, revoked, reused) is not fatal: the next request is challenged
      // and the accumulated set is authorized again in one go.
      if (dropToken(serverId, seen)) await change(serverId, (r) => applyError(r, info, Date.now()));
      return undefined;
    }
  });
}

/** The token to send now: the current one, refreshed first when it has expired. */
export async function usableToken(serverId: string): Promise<TokenSet | undefined> {
  const token = getToken(serverId);
  if (!token || !isExpired(token)) return token;
  if (!token.refreshToken) {
    dropToken(serverId, token);
    return undefined;
  }
  const next = await refresh(serverId, token);
  return next && !isExpired(next) ? next : undefined;
}
