// The OAuth steps of one authorization, each a thin call into oauth4webapi: build the PKCE
// authorization request, validate the callback, exchange the code, refresh. `resource` (RFC 8707)
// goes on every request so tokens are audience-bound to exactly one MCP server.
import * as oauth from 'oauth4webapi';
import type { PendingFlow } from './db.ts';
import { httpOptions } from './discovery.ts';
import { dpopHandle, supportsDpop, withNonceRetry } from './dpop.ts';
import { AuthError } from './errors.ts';
import { clientAuthentication, oauthClient } from './registration.ts';
import { parseScope } from './scopes.ts';
import type { TokenSet } from './tokens.ts';

export interface AuthorizationRequest {
  url: URL;
  state: string;
  codeVerifier: string;
}

export async function buildAuthorizationRequest(
  as: oauth.AuthorizationServer,
  clientId: string,
  redirectUri: string,
  resource: string,
  scopes: readonly string[],
): Promise<AuthorizationRequest> {
  if (!as.authorization_endpoint) {
    throw new AuthError('discovery_failed', `The authorization server ${as.issuer} has no authorization_endpoint in its metadata.`);
  }
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  if (scopes.length > 0) url.searchParams.set('scope', scopes.join(' '));
  url.searchParams.set('resource', resource);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  return { url, state, codeVerifier };
}

/** Checks `iss` (RFC 9207) and `state`, then turns an error response into a typed error. */
export function validateCallback(flow: PendingFlow, callback: URL): URLSearchParams {
  const as = flow.authorizationServer;
  try {
    return oauth.validateAuthResponse(as, oauthClient(flow.client), callback, flow.state);
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

function toTokenSet(
  response: oauth.TokenEndpointResponse,
  origin: Pick<TokenSet, 'authorizationServer' | 'client' | 'resource'>,
  fallbackScopes: readonly string[],
  previousRefreshToken?: string,
): TokenSet {
  const expiresIn = typeof response.expires_in === 'number' ? response.expires_in : 3600;
  const refreshToken = response.refresh_token ?? previousRefreshToken;
  const token: TokenSet = {
    ...origin,
    accessToken: response.access_token,
    expiresAt: Date.now() + expiresIn * 1000,
    // RFC 6749 §5.1: scope may be omitted when it equals what was requested.
    scopes: response.scope !== undefined ? parseScope(response.scope) : [...fallbackScopes],
    accepted: false,
    dpop: response.token_type.toLowerCase() === 'dpop',
  };
  if (refreshToken) token.refreshToken = refreshToken;
  return token;
}

function tokenError(cause: unknown, as: oauth.AuthorizationServer, what: string): never {
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

export async function exchangeCode(flow: PendingFlow, params: URLSearchParams): Promise<TokenSet> {
  const { authorizationServer: as, client, resource } = flow;
  try {
    const options = await tokenRequestOptions(as, resource);
    const body = await withNonceRetry(async () => {
      const response = await oauth.authorizationCodeGrantRequest(as, oauthClient(client), clientAuthentication(client), params, flow.redirectUri, flow.codeVerifier, options);
      return oauth.processAuthorizationCodeResponse(as, oauthClient(client), response);
    });
    return toTokenSet(body, { authorizationServer: as, client, resource }, flow.requested);
  } catch (cause) {
    return tokenError(cause, as, 'authorization code exchange');
  }
}

/** A refresh asks for no scope: it can never widen what was granted (RFC 6749 §6). */
export async function refreshTokens(current: TokenSet): Promise<TokenSet> {
  const { authorizationServer: as, client, resource } = current;
  if (!current.refreshToken) throw new AuthError('token_request_failed', 'There is no refresh token to use.');
  const refreshToken = current.refreshToken;
  try {
    const options = await tokenRequestOptions(as, resource);
    const body = await withNonceRetry(async () => {
      const response = await oauth.refreshTokenGrantRequest(as, oauthClient(client), clientAuthentication(client), refreshToken, options);
      return oauth.processRefreshTokenResponse(as, oauthClient(client), response);
    });
    return toTokenSet(body, { authorizationServer: as, client, resource }, current.scopes, current.refreshToken);
  } catch (cause) {
    return tokenError(cause, as, 'token refresh');
  }
}

