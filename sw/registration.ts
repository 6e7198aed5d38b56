// Which OAuth client the app is at a given authorization server, in MCP's order of preference:
// the pre-registered client from the app's configuration, a Client ID Metadata Document when the
// server supports it, else Dynamic Client Registration (RFC 7591). What a server registers for us
// is kept per issuer, so a resource that moves to another authorization server registers anew.
//
// Redirect URIs: a client the worker registers (or describes by metadata document) gets a redirect
// URI of its own per authorization server, so a response can never be taken for another server's
// (mix-up, RFC 9700 §4.4.2). A pre-registered client shares the one it was registered with, and
// its callbacks must then carry `iss` (RFC 9207).
import * as oauth from 'oauth4webapi';
import { loadClient, saveClient, type StoredClient, type TokenEndpointAuthMethod } from './db.ts';
import { assertSafeEndpoint, httpOptions, isLoopback, type DiscoveredMetadata } from './discovery.ts';
import { AuthError } from './errors.ts';
import type { DiscoveryFacts } from './ledger.ts';
import type { ClientConfig, RegistrationKind, ServerRegistration } from './messages.ts';
import { redirectUriFor } from './settings.ts';

export interface ClientRecord extends StoredClient {
  source: RegistrationKind;
  /** The redirect URI is shared by every authorization server: callbacks must carry `iss`. */
  requireIss: boolean;
}

function methodFor(as: oauth.AuthorizationServer, secret: string | undefined, registered?: unknown): TokenEndpointAuthMethod {
  if (registered === 'none' || registered === 'client_secret_basic' || registered === 'client_secret_post') return registered;
  if (!secret) return 'none';
  const supported = as.token_endpoint_auth_methods_supported;
  // RFC 8414: when the list is absent, client_secret_basic is the default.
  if (!supported || supported.includes('client_secret_basic')) return 'client_secret_basic';
  return supported.includes('client_secret_post') ? 'client_secret_post' : 'client_secret_basic';
}

async function register(as: oauth.AuthorizationServer, config: ClientConfig, redirectUri: string): Promise<StoredClient> {
  const redirect = new URL(redirectUri);
  assertSafeEndpoint(as.registration_endpoint, `registration_endpoint of ${as.issuer}`);
  let response: Response;
  try {
    response = await oauth.dynamicClientRegistrationRequest(
      as,
      {
        redirect_uris: [redirectUri],
        client_name: config.clientName ?? 'MCP client',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        // MCP 2026-07-28: "native" for an app served from this machine, "web" otherwise.
        application_type: isLoopback(redirect) ? 'native' : 'web',
      },
      httpOptions(new URL(as.registration_endpoint!)),
    );
  } catch (cause) {
    throw new AuthError('not_registered', `Dynamic client registration at ${as.issuer} failed: ${(cause as Error).message}.`, { cause });
  }
  const copy = response.clone();
  try {
    const registered = await processRegistration(response, copy);
    const secret = typeof registered.client_secret === 'string' ? registered.client_secret : undefined;
    const record: StoredClient = {
      issuer: as.issuer,
      clientId: registered.client_id,
      tokenEndpointAuthMethod: methodFor(as, secret, registered.token_endpoint_auth_method),
      redirectUri,
    };
    if (secret) record.clientSecret = secret;
    return record;
  } catch (cause) {
    const detail = cause instanceof oauth.ResponseBodyError ? `${cause.error}${cause.error_description ? `: ${cause.error_description}` : ''}` : (cause as Error).message;
    throw new AuthError('not_registered', `The authorization server ${as.issuer} refused to register this app (${detail}). Configure a pre-registered client id instead.`, { cause });
  }
}

/**
 * RFC 7591 requires `client_secret_expires_at` with a secret, and oauth4webapi enforces it. Some
 * servers omit it; their registration is still usable, so only that omission is forgiven.
 */
async function processRegistration(response: Response, copy: Response): Promise<{ client_id: string; client_secret?: unknown; token_endpoint_auth_method?: unknown }> {
  try {
    return await oauth.processDynamicClientRegistrationResponse(response);
  } catch (cause) {
    if (!(cause instanceof oauth.OperationProcessingError) || !cause.message.includes('client_secret_expires_at')) throw cause;
    const body = (await copy.json()) as { client_id?: unknown; client_secret?: unknown; token_endpoint_auth_method?: unknown };
    if (typeof body.client_id !== 'string') throw cause;
    return { ...body, client_id: body.client_id };
  }
}

/**
 * The client configuration for one server: its own pre-registered client id first; the app's for
 * a server the app configured; none for a server added at run time, whose authorization server the
 * app's client was never registered with (it identifies itself by metadata document, or registers).
 */
export function clientConfigFor(server: Pick<ServerRegistration, 'clientId'> & { added?: boolean }, config: ClientConfig): ClientConfig {
  const { clientId: _id, clientSecret: _secret, ...shared } = config;
  if (server.clientId) return { ...shared, clientId: server.clientId };
  return server.added ? shared : config;
}

/** What the timeline shows about where a server sends the app to authorize, and who the app is there. */
export function discoveryFacts(metadata: DiscoveredMetadata, client: ClientRecord): DiscoveryFacts {
  const facts: DiscoveryFacts = { authorizationServer: metadata.authorizationServer.issuer, registration: client.source, clientId: client.clientId };
  if (metadata.resourceMetadataUrl) facts.resourceMetadataUrl = metadata.resourceMetadataUrl;
  if (metadata.authorizationServerMetadataUrl) facts.authorizationServerMetadataUrl = metadata.authorizationServerMetadataUrl;
  const supported = metadata.resource.scopes_supported;
  if (Array.isArray(supported) && supported.every((s) => typeof s === 'string')) facts.scopesSupported = supported.slice(0, 50);
  return facts;
}

/** The client to use at this authorization server, registering one when needed. */
export async function clientFor(as: oauth.AuthorizationServer, config: ClientConfig): Promise<ClientRecord> {
  if (config.clientId) {
    return {
      issuer: as.issuer,
      clientId: config.clientId,
      ...(config.clientSecret ? { clientSecret: config.clientSecret } : {}),
      tokenEndpointAuthMethod: methodFor(as, config.clientSecret),
      redirectUri: redirectUriFor(),
      source: 'pre-registered',
      requireIss: true,
    };
  }
  const redirectUri = redirectUriFor(as.issuer);
  if (config.clientMetadataUrl && as.client_id_metadata_document_supported === true) {
    return { issuer: as.issuer, clientId: config.clientMetadataUrl, tokenEndpointAuthMethod: 'none', redirectUri, source: 'metadata-document', requireIss: false };
  }
  const stored = await loadClient(as.issuer, redirectUri);
  if (stored) return { ...stored, source: 'dynamic', requireIss: false };
  if (!as.registration_endpoint) {
    throw new AuthError(
      'not_registered',
      `The authorization server ${as.issuer} offers no way for this app to identify itself: configure a pre-registered client id${config.clientMetadataUrl ? '' : ', or a client metadata document URL'}.`,
    );
  }
  const registered = await register(as, config, redirectUri);
  await saveClient(registered);
  return { ...registered, source: 'dynamic', requireIss: false };
}

export function oauthClient(record: StoredClient): oauth.Client {
  return { client_id: record.clientId, token_endpoint_auth_method: record.tokenEndpointAuthMethod };
}

/** application/x-www-form-urlencoded as browsers serialise it (RFC 6749 §2.3.1). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/**
 * HTTP Basic client authentication. oauth4webapi's own also percent-encodes "-", "_", "." and "~",
 * which some servers (the MCP conformance suite's among them) compare without decoding; the
 * browser's form encoding leaves those characters as they are, and every server decodes it alike.
 */
function clientSecretBasic(secret: string): oauth.ClientAuth {
  return (_as, client, _body, headers) => {
    headers.set('authorization', `Basic ${btoa(`${formEncode(client.client_id)}:${formEncode(secret)}`)}`);
  };
}

export function clientAuthentication(record: StoredClient): oauth.ClientAuth {
  switch (record.tokenEndpointAuthMethod) {
    case 'client_secret_basic':
      return clientSecretBasic(record.clientSecret ?? '');
    case 'client_secret_post':
      return oauth.ClientSecretPost(record.clientSecret ?? '');
    case 'none':
      return oauth.None();
  }
}
