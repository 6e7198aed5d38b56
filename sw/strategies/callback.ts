// The authorization server redirects the browser back to the app's callback path; the worker
// answers that navigation itself, so the code, the verifier and the tokens never reach the page.
// It checks `state` and `iss`, exchanges the code, records the grant, and redirects to where the
// user was, leaving no code in the address bar or the history.
import { db, takeFlow, type PendingFlow } from '../db.ts';
import { AuthError, toErrorInfo } from '../errors.ts';
import { applyError, applyGrant } from '../ledger.ts';
import type { FlowResult } from '../messages.ts';
import { exchangeCode, validateCallback } from '../oauth.ts';
import { change, getServer } from '../registry.ts';
import { setToken } from '../tokens.ts';

declare const self: ServiceWorkerGlobalScope;

/** A flow left at the authorization server longer than this is refused. */
export const FLOW_LIFETIME_MS = 15 * 60_000;

async function saveResult(result: FlowResult): Promise<void> {
  await (await db()).put('results', result, 'latest');
}

async function complete(flow: PendingFlow, callback: URL): Promise<FlowResult> {
  const server = getServer(flow.serverId);
  if (!server) throw new AuthError('not_registered', `The server "${flow.serverId}" is no longer registered with the worker.`);
  if (Date.now() - flow.createdAt > FLOW_LIFETIME_MS) {
    throw new AuthError('no_pending_flow', 'This authorization took longer than 15 minutes and has expired. Start it again.');
  }
  // The callback is checked against the authorization server the flow went to, as recorded then.
  const params = validateCallback(flow, callback);
  const token = await exchangeCode(flow, params);
  await setToken(server.id, token);
  await change(server.id, (r) => applyGrant(r, flow.requested, token.scopes, Date.now()));
  return { serverId: server.id, at: Date.now(), outcome: 'granted', granted: token.scopes, resume: flow.resume };
}

export async function handleCallback(request: Request): Promise<Response> {
  try {
    return await answerCallback(request);
  } catch {
    // Never leave the user on a browser error page with the code in the address bar.
    return Response.redirect(self.registration.scope, 303);
  }
}

async function answerCallback(request: Request): Promise<Response> {
  const callback = new URL(request.url);
  const state = callback.searchParams.get('state');
  const flow = state ? await takeFlow(state) : undefined;
  if (!flow) {
    await saveResult({
      serverId: '',
      at: Date.now(),
      outcome: 'error',
      error: {
        code: 'state_mismatch',
        message:
          'The authorization response matches no authorization this app started (unknown or already used state). It was ignored; start the authorization again.',
      },
    });
    return Response.redirect(self.registration.scope, 303);
  }
  let result: FlowResult;
  try {
    result = await complete(flow, callback);
  } catch (error) {
    const info = toErrorInfo(error, 'token_request_failed', 'Completing the authorization failed');
    await change(flow.serverId, (r) => applyError(r, info, Date.now()));
    result = { serverId: flow.serverId, at: Date.now(), outcome: 'error', error: info, resume: flow.resume };
  }
  await saveResult(result);
  return Response.redirect(flow.returnTo, 303);
}
