// Refreshing a server's access token: once at a time, never with a refresh token that has already
// rotated, always at the token endpoint of the authorization server discovered afresh in this
// worker's lifetime, and never installed when it answers after sign-out or after a newer token.
import { authorizationServerFor } from './discovery.ts';
import { AuthError, toErrorInfo } from './errors.ts';
import { applyError, applyRefresh } from './ledger.ts';
import { refreshTokens } from './oauth.ts';
import { clientFor } from './registration.ts';
import { change, getConfig } from './registry.ts';
import { dropToken, getToken, installToken, isExpired, refreshOnce, type TokenSet } from './tokens.ts';

/** The server's token `seen` refreshed, the token that replaced it meanwhile, or undefined. */
export function refresh(serverId: string, seen: TokenSet): Promise<TokenSet | undefined> {
  return refreshOnce(serverId, seen, async () => {
    try {
      const { authorizationServer } = await authorizationServerFor(seen.serverUrl, seen.issuer);
      const config = getConfig();
      if (!config) throw new AuthError('not_registered', 'The worker has no configuration (configure() has not run since it was cleared).');
      const client = await clientFor(authorizationServer, config);
      if (client.clientId !== seen.clientId) throw new Error(`the app is now client ${client.clientId} at ${seen.issuer}, not ${seen.clientId}`);
      const next = await refreshTokens(seen, authorizationServer, client);
      const installed = installToken(serverId, next, seen);
      // dropped: the user signed out, or a newer token arrived, while this refresh was on its way
      if (!installed) return getToken(serverId);
      await change(serverId, (r) => applyRefresh(r, next.scopes, Date.now()));
      return installed;
    } catch (error) {
      // A refused refresh (expired, revoked, reused) is not fatal: the next request is challenged
      // and the accumulated set is authorized again in one go.
      if (dropToken(serverId, seen)) {
        await change(serverId, (r) => applyError(r, toErrorInfo(error, 'token_request_failed', 'Refreshing the access token failed'), Date.now()));
      }
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
