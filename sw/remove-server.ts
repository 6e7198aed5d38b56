// Removing a server: from this moment its requests pass through untouched and nothing of it is
// used again. Its tokens are revoked where the authorization server allows it, its flows end, held
// requests are answered, and the registration made for it is forgotten unless another server's
// authorization server is the same one.
import { deleteClient } from './db.ts';
import { forgetServer, known } from './discovery.ts';
import { AuthError } from './errors.ts';
import { forgetFlows } from './flows.ts';
import { release } from './holds.ts';
import { allServers, getServer, unregister } from './registry.ts';
import { revoke } from './sign-out.ts';
import { clearToken, getToken } from './tokens.ts';

function issuerOf(server: { id: string; url: string }): string | undefined {
  return getToken(server.id)?.issuer ?? known(server.url)?.authorizationServer.issuer;
}

export async function removeServer(serverId: string): Promise<void> {
  const server = getServer(serverId);
  if (!server) throw new AuthError('not_registered', `No MCP server "${serverId}" is registered with the worker.`);
  const issuer = issuerOf(server);
  const token = clearToken(serverId);
  await forgetFlows(serverId);
  await release(serverId, 'cancelled', () => undefined);
  await unregister(serverId);
  if (token) await revoke(token, server);
  forgetServer(server.url);
  // a pre-registered client was never ours to forget
  const sharedIssuer = allServers().some((other) => issuerOf(other) === issuer);
  if (issuer && !server.clientId && !sharedIssuer) await deleteClient(issuer);
}
