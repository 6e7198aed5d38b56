// Finds where to authorize for an MCP server: Protected Resource Metadata (RFC 9728), then the
// authorization server's metadata (RFC 8414, then OpenID Connect Discovery). oauth4webapi does the
// requests and the `resource`/`issuer` checks; this module picks the URLs and explains failures.
import * as oauth from 'oauth4webapi';
import { db, type DiscoveredMetadata } from './db.ts';
import { AuthError } from './errors.ts';

const TIMEOUT_MS = 10_000;
const memory = new Map<string, DiscoveredMetadata>();

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/** Credentials and codes go only to https endpoints, or to plain http on this machine. */
function assertSafeEndpoint(value: string | undefined, what: string): void {
  let url: URL | undefined;
  try {
    url = value ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url) throw new AuthError('discovery_failed', `The ${what} is missing or not a URL, so no authorization can start.`);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
    throw new AuthError('discovery_failed', `The ${what} (${url.href}) is not https. Codes and tokens are only sent over https (or to localhost); fix the server's metadata.`);
  }
}

/** oauth4webapi refuses plain http; loopback is the one place it is fine (RFC 8252 §8.3). */
export function httpOptions(url: URL): { [oauth.allowInsecureRequests]: boolean; signal: () => AbortSignal } {
  return { [oauth.allowInsecureRequests]: isLoopback(url), signal: () => AbortSignal.timeout(TIMEOUT_MS) };
}

function unreachable(what: string, url: URL, cause: unknown): AuthError {
  return new AuthError(
    'discovery_failed',
    `Could not fetch the ${what} at ${url.href} (${cause instanceof Error ? cause.message : String(cause)}). Check that the server is running and sends CORS headers for this origin.`,
    { cause },
  );
}

async function fetchResourceMetadata(serverUrl: URL, resourceMetadataUrl: string | undefined): Promise<oauth.ResourceServer> {
  const candidates: Array<() => Promise<Response>> = [];
  if (resourceMetadataUrl) {
    const url = new URL(resourceMetadataUrl);
    candidates.push(() => fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) }));
  }
  candidates.push(() => oauth.resourceDiscoveryRequest(serverUrl, httpOptions(serverUrl)));
  const root = new URL('/.well-known/oauth-protected-resource', serverUrl);
  if (serverUrl.pathname !== '/') {
    candidates.push(() => fetch(root, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) }));
  }
  let lastStatus = 0;
  for (const request of candidates) {
    let response: Response;
    try {
      response = await request();
    } catch (cause) {
      throw unreachable('protected resource metadata', resourceMetadataUrl ? new URL(resourceMetadataUrl) : serverUrl, cause);
    }
    if (response.status === 404) {
      lastStatus = 404;
      continue;
    }
    if (response.status >= 500) {
      throw new AuthError('discovery_failed', `${serverUrl.href} answered HTTP ${response.status} to its protected resource metadata request. Try again later.`);
    }
    try {
      return await oauth.processResourceDiscoveryResponse(serverUrl, response);
    } catch (cause) {
      if (cause instanceof oauth.OperationProcessingError && cause.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
        throw new AuthError(
          'resource_mismatch',
          `The protected resource metadata for ${serverUrl.href} names a different resource, so it cannot be trusted for this server. Fix the server's "resource" value.`,
          { cause },
        );
      }
      throw new AuthError('discovery_failed', `The protected resource metadata for ${serverUrl.href} is invalid: ${(cause as Error).message}.`, { cause });
    }
  }
  throw new AuthError(
    'discovery_failed',
    `${serverUrl.href} publishes no protected resource metadata (HTTP ${lastStatus}). An MCP server must serve it (RFC 9728) for clients to find its authorization server.`,
  );
}

async function fetchAuthorizationServer(issuer: URL): Promise<oauth.AuthorizationServer> {
  for (const algorithm of ['oauth2', 'oidc'] as const) {
    let response: Response;
    try {
      response = await oauth.discoveryRequest(issuer, { ...httpOptions(issuer), algorithm });
    } catch (cause) {
      throw unreachable('authorization server metadata', issuer, cause);
    }
    if (response.status === 404) continue;
    if (response.status >= 500) {
      throw new AuthError('discovery_failed', `The authorization server ${issuer.href} answered HTTP ${response.status} to its metadata request. Try again later.`);
    }
    let as: oauth.AuthorizationServer;
    try {
      as = await oauth.processDiscoveryResponse(issuer, response);
    } catch (cause) {
      if (cause instanceof oauth.OperationProcessingError && cause.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
        throw new AuthError(
          'discovery_failed',
          `The authorization server metadata fetched for ${issuer.href} names a different issuer, so it cannot be trusted (RFC 8414 §3.3). Authorization was not started.`,
          { cause },
        );
      }
      throw new AuthError('discovery_failed', `The authorization server metadata of ${issuer.href} is invalid: ${(cause as Error).message}.`, { cause });
    }
    for (const name of ['authorization_endpoint', 'token_endpoint'] as const) {
      assertSafeEndpoint(as[name], `${name} of ${issuer.href}`);
    }
    if (!as.code_challenge_methods_supported?.includes('S256')) {
      throw new AuthError(
        'pkce_unsupported',
        `The authorization server ${issuer.href} does not advertise PKCE with S256 (code_challenge_methods_supported), which MCP requires. Authorization was not started.`,
      );
    }
    return as;
  }
  throw new AuthError('discovery_failed', `The authorization server ${issuer.href} publishes no metadata (neither RFC 8414 nor OpenID Connect Discovery).`);
}

/** Metadata for one MCP server, from memory, else IndexedDB, else the network. */
export async function discover(serverUrl: string, resourceMetadataUrl: string | undefined): Promise<DiscoveredMetadata> {
  const cached = memory.get(serverUrl) ?? (await (await db()).get('metadata', serverUrl));
  if (cached) {
    memory.set(serverUrl, cached);
    return cached;
  }
  const url = new URL(serverUrl);
  const resource = await fetchResourceMetadata(url, resourceMetadataUrl);
  const issuer = resource.authorization_servers?.[0];
  if (!issuer) {
    throw new AuthError('discovery_failed', `The protected resource metadata of ${serverUrl} lists no authorization server.`);
  }
  assertSafeEndpoint(issuer, `authorization server named by ${serverUrl}`);
  const authorizationServer = await fetchAuthorizationServer(new URL(issuer));
  const found: DiscoveredMetadata = { serverUrl, resource, authorizationServer, fetchedAt: Date.now() };
  memory.set(serverUrl, found);
  await (await db()).put('metadata', found);
  return found;
}
