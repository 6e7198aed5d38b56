// The authorization server redirects the browser back to the app's callback path; the worker
// answers that navigation itself, so the code, the verifier and the tokens never reach the page.
// It finds the flow by `state`, checks that the response came to the redirect URI and from the
// authorization server the flow went to (`iss`), discovers that server's endpoints afresh, exchanges
// the code, records the grant, and redirects to where the user was, leaving no code in the address
// bar or the history.
import type { StoredFlow } from '../db.ts';
import { authorizationServerFor } from '../discovery.ts';
import { AuthError, toErrorInfo } from '../errors.ts';
import { FLOW_LIFETIME_MS, takeFlow } from '../flows.ts';
import { release } from '../holds.ts';
import { applyError, applyGrant } from '../ledger.ts';
import type { FlowResult } from '../messages.ts';
import { exchangeCode, validateCallback } from '../oauth.ts';
import { holdResult } from '../outcomes.ts';
import { clientFor } from '../registration.ts';
import { change, clientConfigOf, getServer, rebroadcast } from '../registry.ts';
import { installToken } from '../tokens.ts';

declare const self: ServiceWorkerGlobalScope;

function home(): string {
  return self.registration.scope;
}

const CLOSE_SCRIPT = 'window.close()';

/**
 * What a popup's callback gets: a page that says how it went and closes itself. Its own CSP allows
 * exactly its one inline script (by hash), whatever the app's policy.
 */
async function popupPage(result: FlowResult): Promise<Response> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(CLOSE_SCRIPT)));
  const hash = btoa(String.fromCharCode(...digest));
  const text = result.outcome === 'granted' ? 'Authorization complete.' : 'Authorization did not complete; the app says why.';
  // an empty icon of its own: else Firefox asks for /favicon.ico under this page's policy, and reports the refusal
  const html = `<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="data:,"><title>${text}</title><p>${text} You can close this window.</p><script>${CLOSE_SCRIPT}</script></html>`;
  return new Response(html, {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': `default-src 'none'; img-src data:; script-src 'sha256-${hash}'`,
      'referrer-policy': 'no-referrer',
    },
  });
}

/** The window that opened the popup learns the outcome from the worker, not from window.opener (COOP may sever it). */
async function tellOpener(startedBy: string, result: FlowResult): Promise<void> {
  const opener = await self.clients.get(startedBy);
  opener?.postMessage({ type: 'mcp-sw-auth:result', result });
}

/** Where to send the user back: a URL of this app, never elsewhere. */
function backInApp(returnTo: string): string {
  const url = URL.parse(returnTo);
  return url && url.origin === self.location.origin ? url.href : home();
}

async function complete(flow: StoredFlow, callback: URL): Promise<FlowResult> {
  const server = getServer(flow.serverId);
  if (!server || server.url !== flow.serverUrl) {
    throw new AuthError('not_registered', `The server "${flow.serverId}" is no longer registered with the worker at ${flow.serverUrl}; nothing was exchanged.`);
  }
  if (Date.now() - flow.createdAt > FLOW_LIFETIME_MS) {
    throw new AuthError('no_pending_flow', 'This authorization took longer than 15 minutes and has expired. Start it again.');
  }
  if (new URL(flow.redirectUri).pathname !== callback.pathname) {
    // another authorization server's redirect URI: a mix-up, or a forged callback
    throw new AuthError('iss_mismatch', 'The authorization response arrived at the redirect URI of another authorization server than the one this authorization went to, so it was refused without being used. Start the authorization again.');
  }
  // The endpoints come from this worker's own discovery, never from the stored flow.
  const { authorizationServer } = await authorizationServerFor(flow.serverUrl, flow.issuer);
  const client = await clientFor(authorizationServer, clientConfigOf(server));
  if (client.clientId !== flow.clientId || client.redirectUri !== flow.redirectUri) {
    throw new AuthError('state_mismatch', 'This authorization was started as another client of the authorization server than the app is now; nothing was exchanged. Start it again.');
  }
  const params = validateCallback(flow, authorizationServer, client, callback);
  const token = await exchangeCode(flow, authorizationServer, client, params);
  installToken(server.id, token, 'any');
  // a popup's grant is told to the windows after its held requests are answered (answerCallback)
  await change(server.id, (r) => applyGrant(r, flow.requested, token.scopes, Date.now()), { quiet: flow.display === 'popup' });
  return { serverId: server.id, at: Date.now(), outcome: 'granted', granted: [...token.scopes], resumes: flow.resumes, ...(flow.popupBlocked ? { popupBlocked: true } : {}) };
}

export async function handleCallback(event: FetchEvent): Promise<Response> {
  try {
    return await answerCallback(event);
  } catch {
    // Never leave the user on a browser error page with the code in the address bar.
    return Response.redirect(home(), 303);
  }
}

async function answerCallback(event: FetchEvent): Promise<Response> {
  const callback = new URL(event.request.url);
  const state = callback.searchParams.get('state');
  const flow = state ? await takeFlow(state) : undefined;
  if (!flow) {
    const result: FlowResult = {
      serverId: '',
      at: Date.now(),
      outcome: 'error',
      error: {
        code: 'state_mismatch',
        message: 'The authorization response matches no authorization this app started (unknown or already used state). It was ignored; start the authorization again.',
      },
      resumes: [],
    };
    holdResult(result, home(), event.resultingClientId);
    return Response.redirect(home(), 303);
  }
  let result: FlowResult;
  try {
    result = await complete(flow, callback);
  } catch (error) {
    const info = toErrorInfo(error, 'token_request_failed', 'Completing the authorization failed');
    await change(flow.serverId, (r) => applyError(r, info, Date.now(), flow.requested));
    result = { serverId: flow.serverId, at: Date.now(), outcome: 'error', error: info, resumes: [], ...(flow.popupBlocked ? { popupBlocked: true } : {}) };
  }
  // Requests held for this server are answered (sent again with the new token, or with their
  // challenge) before the windows hear of the grant and before the popup's own page: a popup of the
  // same site shares the opener's main thread, and the held answer the user waits on comes first,
  // not a re-render or the popup's page. Not waiting longer than a moment for a burst.
  const reason = result.outcome === 'granted' ? 'granted' : 'declined';
  if (flow.display === 'popup') {
    const released = release(flow.serverId, reason, () => undefined);
    await Promise.race([released, new Promise((resolve) => setTimeout(resolve, 250))]);
    rebroadcast(flow.serverId);
    await tellOpener(flow.startedBy, result);
    return popupPage(result);
  }
  void release(flow.serverId, reason, () => rebroadcast(flow.serverId));
  const returnTo = backInApp(flow.returnTo);
  holdResult(result, returnTo, event.resultingClientId);
  return Response.redirect(returnTo, 303);
}
