// Finds where to authorize for an MCP server, in the MCP specification's order: Protected Resource
// Metadata (RFC 9728) from the challenge's `resource_metadata`, else the path-aware and root
// well-known locations; then the authorization server's metadata (RFC 8414 and OpenID Connect
// Discovery, path-aware). oauth4webapi checks `resource` and `issuer`; this module picks the URLs,
// applies MCP's extra rules and explains failures.
//
// What it finds is kept in memory only, for the worker's lifetime: codes, verifiers, refresh tokens
// and secrets only ever go to endpoints this worker discovered and checked from the network itself,
// never to ones read back from storage a page can write.
import * as oauth from 'oauth4webapi';
import { AuthError } from './errors.ts';
import { isLoopback, isSafeEndpoint, parseUrl } from './urls.ts';

export { isLoopback };

export interface DiscoveredMetadata {
  serverUrl: string;
  resource: oauth.ResourceServer;
  authorizationServer: oauth.AuthorizationServer;
  /** Where the protected resource metadata came from; absent for a server that publishes none (2025-03-26). */
  resourceMetadataUrl?: string;
  /** Where the authorization server's metadata came from; absent when that revision's default endpoints were assumed. */
  authorizationServerMetadataUrl?: string;
  fetchedAt: number;
}

interface Found<T> {
  value: T;
  url: URL;
}

const TIMEOUT_MS = 10_000;
const memory = new Map<string, DiscoveredMetadata>();
/** The latest `resource_metadata` each server named in a challenge (memory only, like the rest). */
const hints = new Map<string, string>();

/** Credentials and codes go only to https endpoints, or to plain http on this machine. */
export function assertSafeEndpoint(value: string | undefined, what: string): void {
  const url = parseUrl(value);
  if (!url) throw new AuthError('discovery_failed', `The ${what} is missing or not a URL, so no authorization can start.`);
  if (!isSafeEndpoint(url)) {
    throw new AuthError('discovery_failed', `The ${what} (${url.href}) is not https. Codes and tokens are only sent over https (or to localhost); fix the server's metadata.`);
  }
}

/** oauth4webapi refuses plain http; loopback is the one place it is fine (RFC 8252 §8.3). */
export function httpOptions(url: URL): { [oauth.allowInsecureRequests]: boolean; signal: () => AbortSignal } {
  return { [oauth.allowInsecureRequests]: isLoopback(url), signal: () => AbortSignal.timeout(TIMEOUT_MS) };
}

function getJson(url: URL): Promise<Response> {
  return fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
}

function unreachable(what: string, url: URL, cause: unknown): AuthError {
  return new AuthError(
    'discovery_failed',
    `Could not fetch the ${what} at ${url.href} (${cause instanceof Error ? cause.message : String(cause)}). Check that the server is running and sends CORS headers for this origin.`,
    { cause },
  );
}

function isComparisonError(cause: unknown): boolean {
  return cause instanceof oauth.OperationProcessingError && cause.code === oauth.JSON_ATTRIBUTE_COMPARISON;
}

/** RFC 9728 §3.1: the well-known location with the resource's path inserted. */
function pathAwareLocation(serverUrl: URL): URL {
  const path = serverUrl.pathname === '/' ? '' : serverUrl.pathname.replace(/\/$/, '');
  return new URL(`/.well-known/oauth-protected-resource${path}`, serverUrl);
}

/**
 * The PRM document, or undefined when the server publishes none (a 2025-03-26 server). Metadata
 * from the challenge or the path-aware location must name the MCP server itself; the root
 * location describes the whole origin, so there the origin is accepted too.
 */
async function fetchResourceMetadata(serverUrl: URL, resourceMetadataUrl: string | undefined): Promise<Found<oauth.ResourceServer> | undefined> {
  const locations: Array<{ url: URL; origin: boolean }> = [];
  if (resourceMetadataUrl) {
    assertSafeEndpoint(resourceMetadataUrl, `resource_metadata URL in the challenge of ${serverUrl.href}`);
    locations.push({ url: new URL(resourceMetadataUrl), origin: false });
  }
  locations.push({ url: pathAwareLocation(serverUrl), origin: false });
  if (serverUrl.pathname !== '/') locations.push({ url: new URL('/.well-known/oauth-protected-resource', serverUrl), origin: true });

  for (const { url, origin } of locations) {
    let response: Response;
    try {
      response = await getJson(url);
    } catch (cause) {
      throw unreachable('protected resource metadata', url, cause);
    }
    if (response.status === 404) continue;
    if (response.status >= 500) {
      throw new AuthError('discovery_failed', `${serverUrl.href} answered HTTP ${response.status} to its protected resource metadata request. Try again later.`);
    }
    const copy = response.clone();
    try {
      return { value: await oauth.processResourceDiscoveryResponse(serverUrl, response), url };
    } catch (cause) {
      if (origin && isComparisonError(cause)) {
        try {
          return { value: await oauth.processResourceDiscoveryResponse(new URL('/', serverUrl), copy), url };
        } catch {
          // fall through to the mismatch error below
        }
      }
      if (isComparisonError(cause)) {
        throw new AuthError(
          'resource_mismatch',
          `The protected resource metadata for ${serverUrl.href} names a different resource, so it cannot be trusted for this server. Fix the server's "resource" value.`,
          { cause },
        );
      }
      throw new AuthError('discovery_failed', `The protected resource metadata for ${serverUrl.href} is invalid: ${(cause as Error).message}.`, { cause });
    }
  }
  return undefined;
}

/** Where an issuer's metadata may live, in the order MCP prescribes. */
function authorizationServerLocations(issuer: URL): URL[] {
  const path = issuer.pathname === '/' ? '' : issuer.pathname.replace(/\/$/, '');
  if (!path) {
    return [new URL('/.well-known/oauth-authorization-server', issuer), new URL('/.well-known/openid-configuration', issuer)];
  }
  return [
    new URL(`/.well-known/oauth-authorization-server${path}`, issuer),
    new URL(`/.well-known/openid-configuration${path}`, issuer),
    new URL(`${path}/.well-known/openid-configuration`, issuer),
  ];
}

async function fetchAuthorizationServer(issuer: URL): Promise<Found<oauth.AuthorizationServer> | undefined> {
  for (const url of authorizationServerLocations(issuer)) {
    let response: Response;
    try {
      response = await getJson(url);
    } catch (cause) {
      throw unreachable('authorization server metadata', url, cause);
    }
    if (response.status >= 400 && response.status < 500) continue;
    if (response.status >= 500) {
      throw new AuthError('discovery_failed', `The authorization server ${issuer.href} answered HTTP ${response.status} to its metadata request. Try again later.`);
    }
    try {
      return { value: await oauth.processDiscoveryResponse(issuer, response), url };
    } catch (cause) {
      if (isComparisonError(cause)) {
        throw new AuthError(
          'discovery_failed',
          `The authorization server metadata fetched for ${issuer.href} names a different issuer, so it cannot be trusted (RFC 8414 §3.3). Authorization was not started.`,
          { cause },
        );
      }
      throw new AuthError('discovery_failed', `The authorization server metadata of ${issuer.href} is invalid: ${(cause as Error).message}.`, { cause });
    }
  }
  return undefined;
}

function checkAuthorizationServer(as: oauth.AuthorizationServer): oauth.AuthorizationServer {
  for (const name of ['authorization_endpoint', 'token_endpoint'] as const) assertSafeEndpoint(as[name], `${name} of ${as.issuer}`);
  if (!as.code_challenge_methods_supported?.includes('S256')) {
    throw new AuthError(
      'pkce_unsupported',
      `The authorization server ${as.issuer} does not advertise PKCE with S256 (code_challenge_methods_supported), which MCP requires. Authorization was not started.`,
    );
  }
  return as;
}

/**
 * A 2025-03-26 server publishes no PRM: its own origin is the authorization server, with metadata
 * at the RFC 8414 location or, failing that, the default endpoints that revision defined.
 */
async function legacyAuthorizationServer(serverUrl: URL): Promise<{ value: oauth.AuthorizationServer; url?: URL }> {
  const issuer = new URL(serverUrl.origin);
  const found = await fetchAuthorizationServer(issuer);
  if (found) return { value: checkAuthorizationServer(found.value), url: found.url };
  return {
    value: {
      issuer: serverUrl.origin,
      authorization_endpoint: new URL('/authorize', issuer).href,
      token_endpoint: new URL('/token', issuer).href,
      registration_endpoint: new URL('/register', issuer).href,
      code_challenge_methods_supported: ['S256'],
    },
  };
}

async function discoverFromNetwork(serverUrl: string, resourceMetadataUrl: string | undefined): Promise<DiscoveredMetadata> {
  const url = new URL(serverUrl);
  const found = await fetchResourceMetadata(url, resourceMetadataUrl);
  if (!found) {
    const legacy = await legacyAuthorizationServer(url);
    return {
      serverUrl,
      resource: { resource: serverUrl },
      authorizationServer: legacy.value,
      ...(legacy.url ? { authorizationServerMetadataUrl: legacy.url.href } : {}),
      fetchedAt: Date.now(),
    };
  }
  const resource = found.value;
  const issuer = resource.authorization_servers?.[0];
  if (!issuer) throw new AuthError('discovery_failed', `The protected resource metadata of ${serverUrl} lists no authorization server.`);
  assertSafeEndpoint(issuer, `authorization server named by ${serverUrl}`);
  const authorizationServer = await fetchAuthorizationServer(new URL(issuer));
  if (!authorizationServer) {
    throw new AuthError('discovery_failed', `The authorization server ${issuer} publishes no metadata (neither RFC 8414 nor OpenID Connect Discovery).`);
  }
  return {
    serverUrl,
    resource,
    authorizationServer: checkAuthorizationServer(authorizationServer.value),
    resourceMetadataUrl: found.url.href,
    authorizationServerMetadataUrl: authorizationServer.url.href,
    fetchedAt: Date.now(),
  };
}

/** Remembers the `resource_metadata` URL a server's challenge named, for its next discovery. */
export function hintResourceMetadata(serverUrl: string, resourceMetadataUrl: string): void {
  if (hints.get(serverUrl) === resourceMetadataUrl) return;
  hints.set(serverUrl, resourceMetadataUrl);
  memory.delete(serverUrl); // the server points somewhere new: look again
}

/** Metadata for one MCP server, from this worker's memory, else the network. */
export async function discover(serverUrl: string): Promise<DiscoveredMetadata> {
  const cached = memory.get(serverUrl);
  if (cached) return cached;
  const found = await discoverFromNetwork(serverUrl, hints.get(serverUrl));
  memory.set(serverUrl, found);
  return found;
}

/**
 * The authorization server of an MCP server, discovered in this worker's lifetime, which must still
 * be the one `issuer` names: a flow or a token from one authorization server never goes to another.
 */
export async function authorizationServerFor(serverUrl: string, issuer: string): Promise<DiscoveredMetadata> {
  const metadata = await discover(serverUrl);
  if (metadata.authorizationServer.issuer !== issuer) {
    throw new AuthError(
      'discovery_failed',
      `${serverUrl} now names the authorization server ${metadata.authorizationServer.issuer}, not ${issuer}, which this authorization came from. Nothing was sent to either; authorize again.`,
    );
  }
  return metadata;
}

/** What this worker has discovered about a server so far, without asking the network. */
export function known(serverUrl: string): DiscoveredMetadata | undefined {
  return memory.get(serverUrl);
}

/** Drops what is known about a server's authorization, e.g. when it moved to another authorization server. */
export function forget(serverUrl: string): void {
  memory.delete(serverUrl);
}

/** Drops everything about a server that is no longer registered, the hint its challenges gave included. */
export function forgetServer(serverUrl: string): void {
  memory.delete(serverUrl);
  hints.delete(serverUrl);
}

/** The `resource` parameter (RFC 8707): the PRM's resource exactly as published. */
export function resourceIndicator(metadata: DiscoveredMetadata): string {
  return metadata.resource.resource;
}
