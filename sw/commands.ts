// Requests from the app's pages, each answered on the MessagePort that came with it.
import { db, type PendingFlow } from './db.ts';
import { discover, resourceIndicator } from './discovery.ts';
import { clientFor } from './registration.ts';
import { AuthError, toErrorInfo } from './errors.ts';
import { applyError, applyRedirect, applyRetry, applySignOut } from './ledger.ts';
import type { FlowResult, WorkerReply, WorkerRequest } from './messages.ts';
import { buildAuthorizationRequest } from './oauth.ts';
import { allServers, autoRedirect, change, configure, getConfig, getServer, ready, setPreferences, strategy, toState } from './registry.ts';
import { dropToken } from './tokens.ts';
import { FLOW_LIFETIME_MS } from './strategies/callback.ts';
import { settled } from './strategies/mcp-request.ts';

declare const self: ServiceWorkerGlobalScope;

function snapshot(extra: Partial<Extract<WorkerReply, { ok: true }>> = {}): WorkerReply {
  return { ok: true, servers: allServers().map(toState), strategy: strategy(), autoRedirect: autoRedirect(), ...extra };
}

function sameOriginPath(returnTo: string): string {
  const url = new URL(returnTo, self.location.origin);
  // Only ever send the user back into this app.
  return url.origin === self.location.origin ? url.href : new URL('/', self.location.origin).href;
}

const RESULT_LIFETIME_MS = 60_000;

/** The outcome of the last callback, handed out once, and only to a page that asks right after it. */
async function takeResult(): Promise<FlowResult | undefined> {
  const tx = (await db()).transaction('results', 'readwrite');
  const result = await tx.store.get('latest');
  if (result) await tx.store.delete('latest');
  await tx.done;
  return result && Date.now() - result.at < RESULT_LIFETIME_MS ? result : undefined;
}

/**
 * How long another window's authorization counts as in flight. Past it (an abandoned flow) any
 * tab may start a new one; before it, a tab can still choose to (`force`).
 */
const IN_FLIGHT_MS = 2 * 60_000;

async function flowInFlight(serverId: string, requester: string): Promise<PendingFlow | undefined> {
  const now = Date.now();
  return (await (await db()).getAll('flows')).find(
    (flow) => flow.serverId === serverId && flow.startedBy !== requester && now - flow.createdAt < IN_FLIGHT_MS,
  );
}

interface AuthorizeRequest {
  serverId: string;
  returnTo: string;
  resume: unknown;
  force: boolean;
  requester: string;
}

/**
 * One authorization per server at a time across all tabs: the Web Lock serialises the decision,
 * the wait lets a burst of challenges reach the ledger first, and a flow whose window is already
 * at the authorization server makes other tabs wait for its grant instead of redirecting too.
 */
function authorize(request: AuthorizeRequest): Promise<{ url?: string; inFlight?: { startedAt: number } }> {
  return navigator.locks.request(`mcp-sw-auth:authorize:${request.serverId}`, async () => {
    await settled(request.serverId);
    if (!request.force) {
      const other = await flowInFlight(request.serverId, request.requester);
      if (other) return { inFlight: { startedAt: other.createdAt } };
    }
    return { url: await startAuthorization(request) };
  });
}

async function startAuthorization({ serverId, returnTo, resume, requester }: AuthorizeRequest): Promise<string> {
  const server = getServer(serverId);
  const config = getConfig();
  if (!server || !config) {
    throw new AuthError('not_registered', `No MCP server "${serverId}" is registered with the worker; call configure() with it first.`);
  }
  try {
    const metadata = await discover(server.url, server.resourceMetadataUrl);
    const { authorizationServer } = metadata;
    const redirectUri = new URL(config.callbackPath, self.location.origin).href;
    const client = await clientFor(authorizationServer, config, redirectUri);
    // First authorization without a challenged scope: what the server says it supports, else none.
    const scopes = server.requested.length > 0 ? server.requested : (metadata.resource.scopes_supported ?? []);
    const offline = config.offlineAccess === true && authorizationServer.scopes_supported?.includes('offline_access') && !scopes.includes('offline_access');
    const resource = resourceIndicator(metadata);
    const request = await buildAuthorizationRequest(authorizationServer, client.clientId, redirectUri, resource, offline ? [...scopes, 'offline_access'] : scopes);
    const database = await db();
    const tx = database.transaction('flows', 'readwrite');
    for (const flow of await tx.store.getAll()) {
      if (Date.now() - flow.createdAt > FLOW_LIFETIME_MS) await tx.store.delete(flow.state);
    }
    await tx.store.put({
      state: request.state,
      serverId,
      codeVerifier: request.codeVerifier,
      requested: [...scopes],
      authorizationServer,
      client,
      resource,
      redirectUri,
      returnTo: sameOriginPath(returnTo),
      resume,
      createdAt: Date.now(),
      startedBy: requester,
    });
    await tx.done;
    await change(serverId, (r) => applyRedirect(r, scopes, Date.now()));
    return request.url.href;
  } catch (error) {
    const info = toErrorInfo(error, 'discovery_failed', `Starting the authorization for ${server.name} failed`);
    await change(serverId, (r) => applyError(r, info, Date.now()));
    throw error instanceof AuthError ? error : new AuthError(info.code, info.message, { cause: error });
  }
}

async function run(request: WorkerRequest, requester: string): Promise<WorkerReply> {
  await ready();
  switch (request.type) {
    case 'configure': {
      await configure(request.config, request.servers);
      const result = await takeResult();
      return snapshot(result ? { result } : {});
    }
    case 'state':
    case 'ping':
      return snapshot();
    case 'authorize': {
      const { url, inFlight } = await authorize({
        serverId: request.serverId,
        returnTo: request.returnTo,
        resume: request.resume,
        force: request.force === true,
        requester,
      });
      return snapshot(url ? { authorizationUrl: url } : inFlight ? { inFlight } : {});
    }
    case 'sign-out':
      dropToken(request.serverId);
      await change(request.serverId, (r) => applySignOut(r, Date.now()));
      return snapshot();
    case 'set-preferences':
      await setPreferences(request.preferences);
      return snapshot();
    case 'log-retry':
      await change(request.serverId, (r) => applyRetry(r, request.operation, request.ok, Date.now(), request.detail));
      return snapshot();
  }
}

export async function handleMessage(event: ExtendableMessageEvent): Promise<void> {
  const port = event.ports[0];
  if (!port || event.origin !== self.location.origin) return;
  let reply: WorkerReply;
  try {
    const source = event.source;
    reply = await run(event.data as WorkerRequest, source && 'id' in source ? source.id : '');
  } catch (error) {
    reply = { ok: false, error: toErrorInfo(error, 'not_registered', 'The worker could not handle the request') };
  }
  port.postMessage(reply);
}
