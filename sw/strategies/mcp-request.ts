// What the worker does with a request to a registered MCP server: attach that server's token,
// refresh an expired one (once, single-flight), and turn a 401/403 challenge into a ledger change
// the app is told about. The server's response always goes back to the page unchanged, streams
// included.
import * as oauth from 'oauth4webapi';
import { parseBearerChallenge } from '../challenge.ts';
import type { ServerRecord } from '../db.ts';
import { forget, isLoopback } from '../discovery.ts';
import { dpopHandle, withNonceRetry } from '../dpop.ts';
import { toErrorInfo } from '../errors.ts';
import { applyChallenge, applyError, applyRefresh, scopeNotGranted } from '../ledger.ts';
import { refreshTokens } from '../oauth.ts';
import { change, getServer, strategy } from '../registry.ts';
import { dropToken, getToken, isExpired, refreshOnce, setToken, type TokenSet } from '../tokens.ts';

function forward(request: Request, headers: Headers, body: ArrayBuffer | undefined): Promise<Response> {
  return fetch(new Request(request, body === undefined ? { headers } : { headers, body }));
}

function send(request: Request, body: ArrayBuffer | undefined, token: TokenSet | undefined): Promise<Response> {
  const headers = new Headers(request.headers);
  headers.delete('Authorization');
  headers.delete('DPoP');
  if (token?.dpop) return sendWithProof(request, body, token, headers);
  if (token) headers.set('Authorization', `Bearer ${token.accessToken}`);
  return forward(request, headers, body);
}

/**
 * A DPoP-bound token goes with a fresh proof for this very request (oauth4webapi signs it with the
 * worker's key), and once more with the server's nonce when the server asks for one.
 */
async function sendWithProof(request: Request, body: ArrayBuffer | undefined, token: TokenSet, headers: Headers): Promise<Response> {
  const url = new URL(request.url);
  const options: oauth.ProtectedResourceRequestOptions = {
    DPoP: await dpopHandle(),
    [oauth.allowInsecureRequests]: isLoopback(url),
    [oauth.customFetch]: (_url, init) => forward(request, new Headers(init.headers), body),
  };
  const attempt = () => oauth.protectedResourceRequest(token.accessToken, request.method, url, headers, null, options);
  try {
    return await withNonceRetry(attempt);
  } catch (error) {
    // Any other challenge is an ordinary 401/403 for the code below to read.
    if (error instanceof oauth.WWWAuthenticateChallengeError) return error.response;
    throw error;
  }
}

/** "tools/call add-note", for the timeline and error messages; only read when a challenge arrives. */
export function describeOperation(body: ArrayBuffer | undefined, method: string): string {
  if (!body) return `${method} request`;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(body));
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    return messages
      .map((m: { method?: unknown; params?: { name?: unknown } }) =>
        m.method === 'tools/call' && typeof m.params?.name === 'string' ? `tools/call ${m.params.name}` : String(m.method ?? 'response'),
      )
      .join(', ');
  } catch {
    return `${method} request`;
  }
}

function refresh(server: ServerRecord, current: TokenSet): Promise<TokenSet | undefined> {
  return refreshOnce(server.id, async () => {
    // A request that started with an older token must not spend its refresh token again: it was
    // rotated, and reusing it makes the authorization server revoke the whole grant.
    const latest = getToken(server.id);
    if (latest && latest !== current && !isExpired(latest)) return latest;
    if (latest !== current) return undefined;
    try {
      const next = await refreshTokens(current);
      await setToken(server.id, next);
      await change(server.id, (r) => applyRefresh(r, next.scopes, Date.now()));
      return next;
    } catch (error) {
      // A refused refresh (expired, revoked, reused) is not fatal: the next request is challenged
      // and the accumulated set is authorized again in one go.
      if (getToken(server.id) === current) dropToken(server.id);
      await change(server.id, (r) => applyError(r, toErrorInfo(error, 'token_request_failed', 'Refreshing the access token failed'), Date.now()));
      return undefined;
    }
  });
}

async function currentToken(server: ServerRecord): Promise<TokenSet | undefined> {
  const token = getToken(server.id);
  if (!token || !isExpired(token)) return token;
  if (!token.refreshToken) {
    dropToken(server.id);
    return undefined;
  }
  return refresh(server, token);
}

const unsettled = new Map<string, Set<Promise<unknown>>>();

/**
 * Resolves once every request to the server that was under way has its answer and any challenge
 * in it has reached the ledger (bounded), so that one authorization covers a whole burst.
 */
export async function settled(serverId: string, limitMs = 1500): Promise<void> {
  const pending = [...(unsettled.get(serverId) ?? [])];
  if (pending.length === 0) return;
  await Promise.race([Promise.allSettled(pending), new Promise((resolve) => setTimeout(resolve, limitMs))]);
}

export function handleMcpRequest(request: Request, serverId: string): Promise<Response> {
  const work = answer(request, serverId);
  let set = unsettled.get(serverId);
  if (!set) unsettled.set(serverId, (set = new Set()));
  set.add(work);
  const done = () => set.delete(work);
  work.then(done, done);
  return work;
}

async function answer(request: Request, serverId: string): Promise<Response> {
  const server = getServer(serverId);
  if (!server) return fetch(request);
  // JSON-RPC bodies are small; holding them lets the request be sent again after a refresh.
  const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer();
  let token = await currentToken(server);
  let response = await send(request, body, token);
  if (response.status !== 401 && response.status !== 403) {
    if (token) token.accepted = true;
    return response;
  }

  if (response.status === 401 && token?.refreshToken && token.accepted) {
    // The server no longer accepts a token that worked before: it expired early or was revoked.
    const refreshed = await refresh(server, token);
    if (refreshed) {
      const retried = await send(request, body, refreshed);
      if (retried.status !== 401 && retried.status !== 403) {
        refreshed.accepted = true;
        return retried;
      }
      token = refreshed;
      response = retried;
    }
  }
  try {
    await onChallenge(server, response, token, describeOperation(body, request.method));
  } catch {
    // Recording the challenge failed (IndexedDB unavailable): the page still gets the server's answer.
  }
  return response;
}

async function onChallenge(server: ServerRecord, response: Response, token: TokenSet | undefined, operation: string): Promise<void> {
  const status = response.status as 401 | 403;
  const now = Date.now();
  const parsed = parseBearerChallenge(response.headers.get('WWW-Authenticate'));
  if (!parsed.ok) {
    const message = `${server.name} answered ${status} to "${operation}" with a challenge the worker cannot read: ${parsed.error.message} If the server is cross-origin, it must list WWW-Authenticate in Access-Control-Expose-Headers.`;
    await change(server.id, (r) => applyError(r, { code: 'challenge_malformed', message }, now));
    return;
  }
  const challenge = parsed.value;
  if (status === 403 && challenge.error !== 'insufficient_scope') return; // forbidden for a reason scopes cannot fix

  if (status === 401 && token) {
    dropToken(server.id);
    if (!token.accepted) {
      const message = `${server.name} refused a token the authorization server has just issued for it (${challenge.error ?? 'invalid_token'}${challenge.errorDescription ? `: ${challenge.errorDescription}` : ''}). Authorizing again would loop; check that the server accepts tokens with audience ${server.url} from its authorization server.`;
      await change(server.id, (r) => applyError(r, { code: 'token_rejected', message }, now));
      return;
    }
    // A token that worked and is now refused may mean the server moved to another authorization
    // server: discover afresh before the next authorization.
    await forget(server.url);
  }
  if (status === 403) {
    const guard = scopeNotGranted(server, challenge.scope, token?.scopes ?? [], operation);
    if (guard) {
      await change(server.id, (r) => applyError(r, guard, now));
      return;
    }
  }
  await change(server.id, (r) =>
    applyChallenge(r, {
      challenged: challenge.scope,
      trigger: { status, operation },
      strategy: strategy(),
      ...(challenge.resourceMetadata ? { resourceMetadataUrl: challenge.resourceMetadata } : {}),
      at: now,
    }),
  );
}
