// Starting an authorization: one per server at a time across all tabs. The Web Lock serialises the
// decision, the wait lets a burst of challenges reach the ledger first, and a flow whose window is
// already at the authorization server makes other tabs wait for its grant instead of redirecting too.
import { discover, resourceIndicator } from './discovery.ts';
import { AuthError, toErrorInfo } from './errors.ts';
import { flowInFlight, IN_FLIGHT_MS, rememberFlow } from './flows.ts';
import { settled } from './in-flight.ts';
import { applyDiscovery, applyError, applyRedirect } from './ledger.ts';
import { buildAuthorizationRequest } from './oauth.ts';
import { clientFor, discoveryFacts } from './registration.ts';
import { change, clientConfigOf, getConfig, getServer, rebroadcast } from './registry.ts';
import { unionScopes } from './scopes.ts';

declare const self: ServiceWorkerGlobalScope;

/** What a page may ask to have handed back after the redirect, in all (it is stored with the flow). */
const RESUMES_LIMIT_BYTES = 64 * 1024;

export interface AuthorizeRequest {
  serverId: string;
  returnTo: string;
  resumes: unknown[];
  force: boolean;
  /** The callback lands in a popup (see strategies/callback.ts). */
  popup: boolean;
  /** The page meant a popup, but the browser blocked it. */
  popupBlocked: boolean;
  /** The window asking. */
  requester: string;
  /** Its tab, as the page names itself (see `StoredFlow.tab`). */
  tab?: string;
}

export function authorize(request: AuthorizeRequest): Promise<{ url?: string; inFlight?: { startedAt: number } }> {
  return navigator.locks.request(`mcp-sw-auth:authorize:${request.serverId}`, async () => {
    await settled(request.serverId);
    if (!request.force) {
      const other = await flowInFlight(request.serverId, request.requester, IN_FLIGHT_MS, rebroadcast);
      if (other) return { inFlight: { startedAt: other.createdAt } };
    }
    return { url: await startAuthorization(request) };
  });
}

function sameOrigin(returnTo: string): string {
  const url = URL.parse(returnTo, self.location.origin);
  // Only ever send the user back into this app.
  return url && url.origin === self.location.origin ? url.href : self.registration.scope;
}

function checkResumes(resumes: unknown[]): unknown[] {
  let size: number;
  try {
    size = JSON.stringify(resumes).length;
  } catch {
    throw new AuthError('invalid_config', 'authorize(): `resume` must be plain data (JSON), such as the call to repeat.');
  }
  if (size > RESUMES_LIMIT_BYTES) throw new AuthError('invalid_config', `authorize(): the calls to resume take ${size} bytes; keep them under ${RESUMES_LIMIT_BYTES}.`);
  return resumes;
}

async function startAuthorization({ serverId, returnTo, resumes, popup, popupBlocked, requester, tab }: AuthorizeRequest): Promise<string> {
  const server = getServer(serverId);
  const config = getConfig();
  if (!server || !config) {
    throw new AuthError('not_registered', `No MCP server "${serverId}" is registered with the worker; call configure() with it first.`);
  }
  // Asking again for a scope the loop guard stopped is the user's decision: it goes in.
  const refusedScopes = server.error?.code === 'scope_not_granted' ? (server.error.scopes ?? []) : [];
  const wanted = unionScopes(server.requested, refusedScopes);
  const checkedResumes = checkResumes(resumes);
  try {
    const metadata = await discover(server.url);
    const { authorizationServer } = metadata;
    const client = await clientFor(authorizationServer, clientConfigOf(server));
    // First authorization without a challenged scope: what the server says it supports, else none.
    const scopes = wanted.length > 0 ? wanted : (metadata.resource.scopes_supported ?? []);
    const offline = config.offlineAccess === true && authorizationServer.scopes_supported?.includes('offline_access') && !scopes.includes('offline_access');
    const resource = resourceIndicator(metadata);
    const request = await buildAuthorizationRequest(authorizationServer, client, resource, offline ? [...scopes, 'offline_access'] : scopes);
    await rememberFlow({
      state: request.state,
      serverId,
      serverUrl: server.url,
      issuer: authorizationServer.issuer,
      clientId: client.clientId,
      codeVerifier: request.codeVerifier,
      requested: [...scopes],
      resource,
      redirectUri: client.redirectUri,
      requireIss: client.requireIss,
      returnTo: sameOrigin(returnTo),
      display: popup ? 'popup' : 'page',
      ...(popupBlocked ? { popupBlocked: true } : {}),
      resumes: checkedResumes,
      createdAt: Date.now(),
      startedBy: requester,
      ...(tab ? { tab } : {}),
    });
    await change(serverId, (r) => applyRedirect(applyDiscovery(r, discoveryFacts(metadata, client), Date.now()), scopes, Date.now(), popup));
    return request.url.href;
  } catch (error) {
    const info = toErrorInfo(error, 'discovery_failed', `Starting the authorization for ${server.name} failed`);
    await change(serverId, (r) => applyError(r, info, Date.now(), wanted));
    throw error instanceof AuthError ? error : new AuthError(info.code, info.message, { cause: error });
  }
}
