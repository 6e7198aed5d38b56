// What the worker does with a request to a registered MCP server: attach that server's token, but
// only to the very server it was issued for; refresh an expired one; and hand a 401/403 to the
// step-up policy. The server's response always goes back to the page unchanged, streams included.
import * as oauth from 'oauth4webapi';
import type { ServerRecord } from '../db.ts';
import { dpopHandle, noteNonce, withNonceRetry } from '../dpop.ts';
import { hold, stepUpMode } from '../holds.ts';
import { begin } from '../in-flight.ts';
import { refresh, RefreshUnavailableError, usableToken } from '../refresh.ts';
import { getServer, rebroadcast } from '../registry.ts';
import { onRefused } from '../step-up.ts';
import type { TokenSet } from '../tokens.ts';
import { isLoopback, isWithin } from '../urls.ts';

function forward(request: Request, headers: Headers, body: ArrayBuffer | undefined): Promise<Response> {
  return fetch(new Request(request, body === undefined ? { headers } : { headers, body }));
}

/**
 * A token goes only to a request for the server it was issued for, as the worker recorded it at
 * issuance, and only while that server is still registered at that URL.
 */
export function fits(token: TokenSet, server: ServerRecord, url: URL): boolean {
  return token.serverUrl === server.url && isWithin(url, new URL(token.serverUrl));
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
    [oauth.customFetch]: async (_url, init) => {
      const response = await forward(request, new Headers(init.headers), body);
      noteNonce(url, response);
      return response;
    },
  };
  const attempt = () => oauth.protectedResourceRequest(token.accessToken, request.method, url, headers, null, options);
  try {
    return await withNonceRetry(attempt);
  } catch (error) {
    // Any other challenge is an ordinary 401/403 for the policy to read.
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

const refused = (response: Response) => response.status === 401 || response.status === 403;

export function handleMcpRequest(request: Request, serverId: string, clientId: string): Promise<Response> {
  const settle = begin(serverId);
  const answered = (async () => {
    // JSON-RPC bodies are small; holding them lets the request be sent again after a refresh or a step-up.
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer();
    return answer({ request, body, serverId, clientId, settle, holdable: true });
  })();
  // The token could not be refreshed for want of the authorization server: a network error, as if
  // the MCP server were unreachable, rather than a consent the user does not need.
  return answered
    .catch((error: unknown) => {
      if (error instanceof RefreshUnavailableError) return Response.error();
      throw error;
    })
    .finally(settle);
}

interface Exchange {
  request: Request;
  body: ArrayBuffer | undefined;
  serverId: string;
  clientId: string;
  /** Marks the request settled for a burst's wait (in-flight.ts): answered, or held. */
  settle: () => void;
  /** It may be held for a popup step-up (not when it is a held request sent again). */
  holdable: boolean;
}

async function answer(exchange: Exchange): Promise<Response> {
  const { request, body, serverId, clientId } = exchange;
  const server = getServer(serverId);
  if (!server) return fetch(request);
  const url = new URL(request.url);
  const tokenFor = (token: TokenSet | undefined) => (token && fits(token, server, url) ? token : undefined);

  let token = tokenFor(await usableToken(serverId));
  let response = await send(request, body, token);
  if (!refused(response)) {
    if (token) token.accepted = true;
    return response;
  }
  if (response.status === 401 && token?.refreshToken && token.accepted) {
    // The server no longer accepts a token that worked before: it expired early or was revoked.
    const refreshed = tokenFor(await refresh(serverId, token));
    if (refreshed) {
      token = refreshed;
      response = await send(request, body, token);
      if (!refused(response)) {
        token.accepted = true;
        return response;
      }
    }
  }
  const operation = describeOperation(body, request.method);
  let decision: Awaited<ReturnType<typeof onRefused>> | undefined;
  try {
    decision = await onRefused(server, response, token, operation, clientId);
    if (decision === 'resend') {
      // the answer was about an older token than the one held now: one more try with the current one
      token = tokenFor(await usableToken(serverId));
      response = await send(request, body, token);
      if (!refused(response)) {
        if (token) token.accepted = true;
        return response;
      }
      decision = await onRefused(server, response, token, operation, clientId);
    }
  } catch {
    // Recording the challenge failed (IndexedDB unavailable): the page still gets the server's answer.
  }
  if (decision === 'authorize' && exchange.holdable && stepUpMode(clientId) === 'popup') {
    const resend = () => answer({ ...exchange, holdable: false, settle: () => undefined });
    const held = hold(serverId, response, body?.byteLength ?? 0, resend, () => rebroadcast(serverId));
    if (held) {
      exchange.settle(); // its challenge is in the ledger: an authorization need not wait for it
      return held;
    }
  }
  return response;
}
