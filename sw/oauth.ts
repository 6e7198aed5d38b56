// The OAuth steps of one authorization, each a thin call into oauth4webapi: build the PKCE
// authorization request, validate the callback, exchange the code, refresh, revoke. `resource`
// (RFC 8707) goes on every request so tokens are audience-bound to exactly one MCP server. Every
// step takes the authorization server's metadata as discovered from the network by this worker.
import * as oauth from 'oauth4webapi';
import type { StoredClient, StoredFlow } from './db.ts';
import { assertSafeEndpoint, httpOptions } from './discovery.ts';
import { dpopHandle, supportsDpop, withNonceRetry } from './dpop.ts';
import { AuthError } from './errors.ts';
import { clientAuthentication, oauthClient } from './registration.ts';
import { parseScope } from './scopes.ts';
import type { NewToken, TokenSet } from './tokens.ts';

export interface AuthorizationRequest {
  url: URL;
  state: string;
  codeVerifier: string;
}

/**
 * The PKCE authorization request. Where the authorization server takes pushed authorization
 * requests (RFC 9126), its parameters are sent there first, from the worker, and the browser goes
 * to the authorization endpoint with only `client_id` and `request_uri`: an accumulated scope set
 * of any length stays out of the URL, nobody on the way can alter the request, and a server that
 * requires PAR can be used at all. With DPoP, the push carries a proof, binding the code to the key.
 */
export async function buildAuthorizationRequest(as: oauth.AuthorizationServer, client: StoredClient, resource: string, scopes: readonly string[]): Promise<AuthorizationRequest> {
  if (!as.authorization_endpoint) {
    throw new AuthError('discovery_failed', `The authorization server ${as.issuer} has no authorization_endpoint in its metadata.`);
  }
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const parameters = new URLSearchParams({ response_type: 'code', client_id: client.clientId, redirect_uri: client.redirectUri });
  if (scopes.length > 0) parameters.set('scope', scopes.join(' '));
  parameters.set('resource', resource);
  parameters.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  parameters.set('code_challenge_method', 'S256');
  parameters.set('state', state);
  const url = new URL(as.authorization_endpoint);
  if (as.pushed_authorization_request_endpoint) {
    url.searchParams.set('client_id', client.clientId);
    url.searchParams.set('request_uri', await pushAuthorizationRequest(as, client, parameters));
  } else if (as.require_pushed_authorization_requests === true) {
    throw new AuthError('discovery_failed', `The authorization server ${as.issuer} requires pushed authorization requests but advertises no pushed_authorization_request_endpoint; fix its metadata.`);
  } else {
    for (const [name, value] of parameters) url.searchParams.set(name, value);
  }
  return { url, state, codeVerifier };
}

/** RFC 9126: the request goes to the server directly; what comes back is a one-time reference to it. */
async function pushAuthorizationRequest(as: oauth.AuthorizationServer, client: StoredClient, parameters: URLSearchParams): Promise<string> {
  const endpoint = as.pushed_authorization_request_endpoint!;
  assertSafeEndpoint(endpoint, `pushed_authorization_request_endpoint of ${as.issuer}`);
  const options: oauth.PushedAuthorizationRequestOptions = { ...httpOptions(new URL(endpoint)) };
  if (supportsDpop(as)) options.DPoP = await dpopHandle();
  try {
    const pushed = await withNonceRetry(async () => {
      const response = await oauth.pushedAuthorizationRequest(as, oauthClient(client), clientAuthentication(client), parameters, options);
      return oauth.processPushedAuthorizationResponse(as, oauthClient(client), response);
    });
    return pushed.request_uri;
  } catch (cause) {
    if (cause instanceof oauth.ResponseBodyError) {
      fail('authorization_server_error', `The authorization server ${as.issuer} refused the authorization request (${cause.error}${cause.error_description ? `: ${cause.error_description}` : ''}).`, cause);
    }
    fail('authorization_server_error', `Sending the authorization request to ${endpoint} failed: ${cause instanceof Error ? cause.message : String(cause)}.`, cause);
  }
}

/**
 * Checks `iss` (RFC 9207) and `state`, then turns an error response into a typed error. A flow whose
 * redirect URI other authorization servers share needs `iss` even where the server does not
 * advertise it: without it, nothing tells this server's response from another's.
 */
export function validateCallback(flow: StoredFlow, as: oauth.AuthorizationServer, client: StoredClient, callback: URL): URLSearchParams {
  if (flow.requireIss && !callback.searchParams.has('iss') && as.authorization_response_iss_parameter_supported !== true) {
    return fail(
      'iss_mismatch',
      `The callback carries no issuer (iss). This app's pre-registered client shares one redirect URI among authorization servers, so without iss the response cannot be told apart from another server's (a mix-up, RFC 9700 §4.4.2); it was refused without being used. Use an authorization server that sends iss (RFC 9207), or let the app register itself so that each server gets its own redirect URI.`,
      undefined,
    );
  }
  try {
    return oauth.validateAuthResponse(as, oauthClient(client), callback, flow.state);
  } catch (cause) {
    if (cause instanceof oauth.AuthorizationResponseError) {
      if (cause.error === 'access_denied') {
        return fail('access_denied', `Authorization was denied at ${as.issuer}; nothing was granted. Try again and allow the requested scopes to continue.`, cause);
      }
      return fail(
        'authorization_server_error',
        `The authorization server ${as.issuer} answered "${cause.error}"${cause.error_description ? `: ${cause.error_description}` : ''}.`,
        cause,
      );
    }
    const message = cause instanceof Error ? cause.message : String(cause);
    if (message.includes('"iss"') && message.includes('missing')) {
      return fail('iss_mismatch', `The callback carries no issuer (iss), although ${as.issuer} says it always sends one (RFC 9207), so the response was refused without being used. Start the authorization again.`, cause);
    }
    if (message.includes('"iss"')) {
      // Per RFC 9207 a mismatch means a mix-up attack may be under way: show nothing the response said.
      return fail('iss_mismatch', `The callback's issuer (iss) does not match ${as.issuer}, so the response was refused without being used. Start the authorization again.`, cause);
    }
    return fail('state_mismatch', `The callback could not be matched to the authorization it answers (${message}). Start the authorization again.`, cause);
  }
}

function fail(code: ConstructorParameters<typeof AuthError>[0], message: string, cause: unknown): never {
  throw new AuthError(code, message, { cause });
}

/** Where a token came from and what for: the same for the tokens that refresh it. */
export type TokenOrigin = Pick<TokenSet, 'serverUrl' | 'resource' | 'issuer' | 'clientId' | 'requested'>;

function toTokenSet(
  response: oauth.TokenEndpointResponse,
  as: oauth.AuthorizationServer,
  origin: TokenOrigin,
  fallbackScopes: readonly string[],
  previousRefreshToken?: string,
): NewToken {
  const dpop = response.token_type.toLowerCase() === 'dpop';
  if (!dpop && supportsDpop(as)) {
    // the worker sent a proof; a bearer token in return would be a downgrade someone arranged
    fail('token_request_failed', `The authorization server ${as.issuer} advertises DPoP but issued a bearer token; it was refused. Check the server's DPoP configuration.`, undefined);
  }
  const expiresIn = typeof response.expires_in === 'number' ? response.expires_in : 3600;
  const refreshToken = response.refresh_token ?? previousRefreshToken;
  const now = Date.now();
  return {
    ...origin,
    accessToken: response.access_token,
    issuedAt: now,
    expiresAt: now + expiresIn * 1000,
    // RFC 6749 §5.1: scope may be omitted when it equals what was requested.
    scopes: response.scope !== undefined ? parseScope(response.scope) : [...fallbackScopes],
    dpop,
    ...(refreshToken ? { refreshToken } : {}),
  };
}

function tokenError(cause: unknown, as: oauth.AuthorizationServer, what: string): never {
  if (cause instanceof AuthError) throw cause;
  if (cause instanceof oauth.ResponseBodyError) {
    fail('token_request_failed', `The authorization server ${as.issuer} refused the ${what} (${cause.error}${cause.error_description ? `: ${cause.error_description}` : ''}).`, cause);
  }
  fail('token_request_failed', `The ${what} at ${as.issuer} failed: ${cause instanceof Error ? cause.message : String(cause)}.`, cause);
}

async function tokenRequestOptions(as: oauth.AuthorizationServer, resource: string): Promise<oauth.TokenEndpointRequestOptions> {
  const options: oauth.TokenEndpointRequestOptions = { ...httpOptions(new URL(as.token_endpoint ?? as.issuer)), additionalParameters: { resource } };
  if (supportsDpop(as)) options.DPoP = await dpopHandle();
  return options;
}

export async function exchangeCode(flow: StoredFlow, as: oauth.AuthorizationServer, client: StoredClient, params: URLSearchParams): Promise<NewToken> {
  try {
    const options = await tokenRequestOptions(as, flow.resource);
    const body = await withNonceRetry(async () => {
      const response = await oauth.authorizationCodeGrantRequest(as, oauthClient(client), clientAuthentication(client), params, flow.redirectUri, flow.codeVerifier, options);
      return oauth.processAuthorizationCodeResponse(as, oauthClient(client), response);
    });
    const origin: TokenOrigin = { serverUrl: flow.serverUrl, resource: flow.resource, issuer: as.issuer, clientId: client.clientId, requested: flow.requested };
    return toTokenSet(body, as, origin, flow.requested);
  } catch (cause) {
    return tokenError(cause, as, 'authorization code exchange');
  }
}

/**
 * Whether a failed token request was the authorization server refusing it (the grant is no good:
 * expired, revoked, reused), rather than the server being unreachable or failing (try again later).
 */
export function isRefusal(error: unknown): boolean {
  const cause = error instanceof AuthError ? error.cause : error;
  return cause instanceof oauth.ResponseBodyError && cause.status < 500;
}

/** A refresh asks for no scope: it can never widen what was granted (RFC 6749 §6). */
export async function refreshTokens(current: TokenSet, as: oauth.AuthorizationServer, client: StoredClient): Promise<NewToken> {
  if (!current.refreshToken) throw new AuthError('token_request_failed', 'There is no refresh token to use.');
  const refreshToken = current.refreshToken;
  try {
    const options = await tokenRequestOptions(as, current.resource);
    const body = await withNonceRetry(async () => {
      const response = await oauth.refreshTokenGrantRequest(as, oauthClient(client), clientAuthentication(client), refreshToken, options);
      return oauth.processRefreshTokenResponse(as, oauthClient(client), response);
    });
    const { serverUrl, resource, issuer, clientId, requested } = current;
    return toTokenSet(body, as, { serverUrl, resource, issuer, clientId, requested }, current.scopes, refreshToken);
  } catch (cause) {
    return tokenError(cause, as, 'token refresh');
  }
}

/**
 * RFC 7009: revokes the refresh token (which ends the grant at most servers) and the access token.
 * A server may decline to revoke a token type (`unsupported_token_type`, typically self-contained
 * JWT access tokens, which then simply expire). Returns false when the server has no revocation
 * endpoint.
 */
export async function revokeTokens(token: TokenSet, as: oauth.AuthorizationServer, client: StoredClient): Promise<boolean> {
  if (!as.revocation_endpoint) return false;
  assertSafeEndpoint(as.revocation_endpoint, `revocation_endpoint of ${as.issuer}`);
  const options = httpOptions(new URL(as.revocation_endpoint));
  const revoke = async (value: string, hint: 'refresh_token' | 'access_token') => {
    const response = await oauth.revocationRequest(as, oauthClient(client), clientAuthentication(client), value, { ...options, additionalParameters: { token_type_hint: hint } });
    try {
      await oauth.processRevocationResponse(response);
    } catch (error) {
      if (!(error instanceof oauth.ResponseBodyError && error.error === 'unsupported_token_type')) throw error;
    }
  };
  try {
    if (token.refreshToken) await revoke(token.refreshToken, 'refresh_token');
    await revoke(token.accessToken, 'access_token');
  } catch (cause) {
    fail('token_request_failed', `Revoking the tokens at ${as.issuer} failed: ${cause instanceof Error ? cause.message : String(cause)}. They were forgotten here all the same.`, cause);
  }
  return true;
}
