// Sign-out: the tokens are forgotten at once (nothing sends them again), the server's flows end,
// and then the tokens are revoked at the authorization server (RFC 7009) where it offers that, so a
// copy taken earlier stops working too.
import { authorizationServerFor } from './discovery.ts';
import { forgetFlows } from './flows.ts';
import { applySignOut } from './ledger.ts';
import type { SignOutRevocation } from './messages.ts';
import { revokeTokens } from './oauth.ts';
import { clientFor } from './registration.ts';
import { change, getConfig } from './registry.ts';
import { clearToken, type TokenSet } from './tokens.ts';

async function revoke(token: TokenSet): Promise<SignOutRevocation> {
  try {
    const config = getConfig();
    if (!config) return 'failed';
    const { authorizationServer } = await authorizationServerFor(token.serverUrl, token.issuer);
    const client = await clientFor(authorizationServer, config);
    if (client.clientId !== token.clientId) return 'failed';
    return (await revokeTokens(token, authorizationServer, client)) ? 'revoked' : 'no-endpoint';
  } catch {
    return 'failed';
  }
}

export async function signOut(serverId: string): Promise<void> {
  const token = clearToken(serverId);
  await forgetFlows(serverId);
  const revocation = token ? await revoke(token) : 'nothing-to-revoke';
  await change(serverId, (r) => applySignOut(r, Date.now(), revocation));
}
