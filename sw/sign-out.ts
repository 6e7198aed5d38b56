// Sign-out: the tokens are forgotten at once (nothing sends them again), the server's flows end,
// and then the tokens are revoked at the authorization server (RFC 7009) where it offers that, so a
// copy taken earlier stops working too.
import { authorizationServerFor } from './discovery.ts';
import { forgetFlows } from './flows.ts';
import { applySignOut } from './ledger.ts';
import type { SignOutRevocation } from './messages.ts';
import { revokeTokens } from './oauth.ts';
import { clientFor } from './registration.ts';
import type { ServerRecord } from './db.ts';
import { change, clientConfigOf, getServer } from './registry.ts';
import { clearToken, type TokenSet } from './tokens.ts';

/** Revokes a token the worker has already forgotten, as the client that `server` is at its authorization server. */
export async function revoke(token: TokenSet, server: ServerRecord): Promise<SignOutRevocation> {
  try {
    const { authorizationServer } = await authorizationServerFor(token.serverUrl, token.issuer);
    const client = await clientFor(authorizationServer, clientConfigOf(server));
    if (client.clientId !== token.clientId) return 'failed';
    return (await revokeTokens(token, authorizationServer, client)) ? 'revoked' : 'no-endpoint';
  } catch {
    return 'failed';
  }
}

export async function signOut(serverId: string): Promise<void> {
  const server = getServer(serverId);
  const token = clearToken(serverId);
  await forgetFlows(serverId);
  const revocation = token && server ? await revoke(token, server) : 'nothing-to-revoke';
  await change(serverId, (r) => applySignOut(r, Date.now(), revocation));
}
