// Which OAuth client the app is at a given authorization server, in MCP's order of preference:
// the pre-registered client from the app's configuration, a Client ID Metadata Document when the
// server supports it, else Dynamic Client Registration (RFC 7591). What a server registers for us
// is kept per issuer, so a resource that moves to another authorization server registers anew.
import * as oauth from 'oauth4webapi';
import { db } from './db.ts';
import { httpOptions, isLoopback } from './discovery.ts';
import { AuthError } from './errors.ts';
import type { ClientConfig } from './messages.ts';

export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

export interface ClientRecord {
  issuer: string;
  clientId: string;
  /** A browser cannot keep a secret from the user; it is stored only because some servers insist on one. */
  clientSecret?: string;
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  source: 'pre-registered' | 'metadata-document' | 'dynamic';
}

function methodFor(as: oauth.AuthorizationServer, secret: string | undefined, registered?: unknown): TokenEndpointAuthMethod {
  if (registered === 'none' || registered === 'client_secret_basic' || registered === 'client_secret_post') return registered;
  if (!secret) return 'none';
  const supported = as.token_endpoint_auth_methods_supported;
  // RFC 8414: when the list is absent, client_secret_basic is the default.
  if (!supported || supported.includes('client_secret_basic')) return 'client_secret_basic';
  return supported.includes('client_secret_post') ? 'client_secret_post' : 'client_secret_basic';
}

async function register(as: oauth.AuthorizationServer, config: ClientConfig, redirectUri: string): Promise<ClientRecord> {
  const redirect = new URL(redirectUri);
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
    const record: ClientRecord = {
      issuer: as.issuer,
      clientId: registered.client_id,
      tokenEndpointAuthMethod: methodFor(as, secret, registered.token_endpoint_auth_method),
      source: 'dynamic',
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

/** The client to use at this authorization server, registering one when needed. */
export async function clientFor(as: oauth.AuthorizationServer, config: ClientConfig, redirectUri: string): Promise<ClientRecord> {
  if (config.clientId) {
    return {
      issuer: as.issuer,
      clientId: config.clientId,
      ...(config.clientSecret ? { clientSecret: config.clientSecret } : {}),
      tokenEndpointAuthMethod: methodFor(as, config.clientSecret),
      source: 'pre-registered',
    };
  }
  if (config.clientMetadataUrl && as.client_id_metadata_document_supported === true) {
    return { issuer: as.issuer, clientId: config.clientMetadataUrl, tokenEndpointAuthMethod: 'none', source: 'metadata-document' };
  }
  const database = await db();
  const stored = await database.get('clients', as.issuer);
  if (stored) return stored;
  if (!as.registration_endpoint) {
    throw new AuthError(
      'not_registered',
      `The authorization server ${as.issuer} offers no way for this app to identify itself: configure a pre-registered client id${config.clientMetadataUrl ? '' : ', or a client metadata document URL'}.`,
    );
  }
  const record = await register(as, config, redirectUri);
  await database.put('clients', record);
  return record;
}

export function oauthClient(record: ClientRecord): oauth.Client {
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

export function clientAuthentication(record: ClientRecord): oauth.ClientAuth {
  switch (record.tokenEndpointAuthMethod) {
    case 'client_secret_basic':
      return clientSecretBasic(record.clientSecret ?? '');
    case 'client_secret_post':
      return oauth.ClientSecretPost(record.clientSecret ?? '');
    case 'none':
      return oauth.None();
  }
}
