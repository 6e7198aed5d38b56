// Requests from the app's pages, each answered on the MessagePort that came with it.
import { db } from './db.ts';
import { discover } from './discovery.ts';
import { AuthError, toErrorInfo } from './errors.ts';
import { applyError, applyRedirect, applyRetry, applySignOut } from './ledger.ts';
import type { WorkerReply, WorkerRequest } from './messages.ts';
import { buildAuthorizationRequest } from './oauth.ts';
import { allServers, change, configure, getConfig, getServer, ready, setStrategy, strategy, toState } from './registry.ts';
import { dropToken } from './tokens.ts';
import { FLOW_LIFETIME_MS } from './strategies/callback.ts';

declare const self: ServiceWorkerGlobalScope;

function snapshot(extra: Partial<Extract<WorkerReply, { ok: true }>> = {}): WorkerReply {
  return { ok: true, servers: allServers().map(toState), strategy: strategy(), ...extra };
}

function sameOriginPath(returnTo: string): string {
  const url = new URL(returnTo, self.location.origin);
  // Only ever send the user back into this app.
  return url.origin === self.location.origin ? url.href : new URL('/', self.location.origin).href;
}

async function authorize(serverId: string, returnTo: string, resume: unknown): Promise<string> {
  const server = getServer(serverId);
  const config = getConfig();
  if (!server || !config) {
    throw new AuthError('not_registered', `No MCP server "${serverId}" is registered with the worker; call configure() with it first.`);
  }
  try {
    const { resource, authorizationServer } = await discover(server.url, server.resourceMetadataUrl);
    // First authorization without a challenged scope: what the server says it supports, else none.
    const scopes = server.requested.length > 0 ? server.requested : (resource.scopes_supported ?? []);
    const redirectUri = new URL(config.callbackPath, self.location.origin).href;
    const request = await buildAuthorizationRequest(authorizationServer, config.clientId, redirectUri, server.url, scopes);
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
      issuer: authorizationServer.issuer,
      redirectUri,
      clientId: config.clientId,
      returnTo: sameOriginPath(returnTo),
      resume,
      createdAt: Date.now(),
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

async function run(request: WorkerRequest): Promise<WorkerReply> {
  await ready();
  switch (request.type) {
    case 'configure':
      await configure(request.config, request.servers);
      return snapshot();
    case 'state':
    case 'ping':
      return snapshot();
    case 'authorize':
      return snapshot({ authorizationUrl: await authorize(request.serverId, request.returnTo, request.resume) });
    case 'take-result': {
      const database = await db();
      const tx = database.transaction('results', 'readwrite');
      const result = await tx.store.get('latest');
      if (result) await tx.store.delete('latest');
      await tx.done;
      return result ? snapshot({ result }) : snapshot();
    }
    case 'sign-out':
      dropToken(request.serverId);
      await change(request.serverId, (r) => applySignOut(r, Date.now()));
      return snapshot();
    case 'set-strategy':
      await setStrategy(request.strategy);
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
    reply = await run(event.data as WorkerRequest);
  } catch (error) {
    reply = { ok: false, error: toErrorInfo(error, 'not_registered', 'The worker could not handle the request') };
  }
  port.postMessage(reply);
}
