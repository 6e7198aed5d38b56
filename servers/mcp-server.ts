/**
 * A small OAuth-protected MCP server (Streamable HTTP, @modelcontextprotocol/server v2).
 *
 * Every request to `/mcp` needs a bearer JWT issued by `issuer` for this
 * server's URL (`aud`). The server
 *
 *  - answers `401` + `WWW-Authenticate: Bearer resource_metadata=…, scope="<connectScope>"`
 *    without a (valid) token (`error="invalid_token"` only when a token was sent),
 *  - answers `403 insufficient_scope` naming the connect scope when the token lacks it,
 *  - answers `403 insufficient_scope` naming ONLY the tool's own scope when a tool
 *    is called without it (the SDK's per-tool `scopeChallenge: requireScopes(…)`,
 *    which answers at the HTTP layer before the tool runs),
 *  - publishes RFC 9728 protected resource metadata (path-aware and root form),
 *  - allows CORS from the app's origin, and streams responses (SSE) untouched,
 *  - records every `/mcp` request at `GET /__log` (`POST /__log/reset` empties it),
 *  - with `benchRoutes` (or MCP_SW_AUTH_BENCH=1), serves the benchmark's routes under the MCP
 *    path, behind the same bearer check: `GET <mcp>/bench/stream?bytes=&chunk=` (a fast SSE
 *    stream), `<mcp>/bench/challenge?n=` (always `403 insufficient_scope scope="bench:<n>"`) and
 *    `<mcp>/bench/challenge?unscoped` (`403 insufficient_scope` naming no scope, a sloppy server).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  McpServer,
  requireScopes,
  type AuthInfo,
  type CallToolResult,
  type ToolAnnotations,
} from '@modelcontextprotocol/server';
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';

import { dpopNonces, DpopNonceError, verifyDpopProof } from './dpop-proof.ts';
import type { z } from 'zod';

/** One tool of a server: the scope it needs, its input schema and what it does. */
export interface ToolSpec<S extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  /** The OAuth scope a token must carry to call this tool. */
  scope: string;
  inputSchema?: S;
  annotations?: ToolAnnotations;
  handler: (args: z.output<S>, auth: AuthInfo | undefined) => CallToolResult | Promise<CallToolResult>;
}

/** Type helper: infers the handler's argument type from the input schema. */
export function defineTool<S extends z.ZodObject>(spec: ToolSpec<S>): ToolSpec {
  return spec as unknown as ToolSpec;
}

export interface McpServerOptions {
  /** Short machine name, e.g. `notes`. */
  name: string;
  /** Human-readable name for the protected resource metadata (`resource_name`) and serverInfo title. */
  title?: string;
  /** The server's resource URL, e.g. `http://localhost:4172/mcp`; its port is where it listens. */
  url: string;
  /** The authorization server's issuer identifier. */
  issuer: string;
  /** The origins the app is served from, allowed by CORS. */
  appOrigins: readonly string[];
  /** The scope needed to talk to this server at all (initialize, tools/list, …). */
  connectScope: string;
  tools: readonly ToolSpec[];
  /** Every scope of this server (for `scopes_supported`); defaults to connectScope + the tools' scopes. */
  scopes?: readonly string[];
  /** Server instructions sent in the initialize result. */
  instructions?: string;
  /** Called after every `/mcp` request with its log entry (e.g. for console output). */
  onRequest?: (entry: McpRequestLogEntry) => void;
  /**
   * Serve the benchmark's routes under the MCP path (`npm run bench`, see e2e/bench/). Off by
   * default; `MCP_SW_AUTH_BENCH=1` turns them on for servers started without this option.
   */
  benchRoutes?: boolean;
}

export interface McpRequestLogEntry {
  at: string;
  httpMethod: string;
  /** JSON-RPC method (comma-separated for a batch); absent for GET/DELETE. */
  rpcMethod?: string;
  /** Tool name for `tools/call`. */
  tool?: string;
  status: number;
  /** `aud` of the bearer token that was sent (decoded, not verified). */
  tokenAudience?: string | string[];
  /** `scope` of the bearer token that was sent (decoded, not verified), space-separated as in the token. */
  tokenScopes?: string;
}

export interface RunningMcpServer {
  name: string;
  url: string;
  /** URL of the path-aware protected resource metadata document. */
  resourceMetadataUrl: string;
  httpServer: Server;
  log: { requests: McpRequestLogEntry[] };
  resetLog(): void;
  close(): Promise<void>;
}

// Mcp-Method / Mcp-Name: the standard request headers a 2026-07-28 (modern) client sends (SEP-2243).
const CORS_ALLOW_HEADERS =
  'Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, DPoP, Mcp-Method, Mcp-Name';
const CORS_ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';
const CORS_EXPOSE_HEADERS = 'WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version, DPoP-Nonce';

export async function startMcpServer(options: McpServerOptions): Promise<RunningMcpServer> {
  const { name, url, issuer, appOrigins, connectScope, tools } = options;
  const resourceUrl = new URL(url);
  const mcpPath = resourceUrl.pathname;
  const prmPath = `/.well-known/oauth-protected-resource${mcpPath === '/' ? '' : mcpPath.replace(/\/$/, '')}`;
  const resourceMetadataUrl = new URL(prmPath, resourceUrl).href;
  const scopes = [...new Set(options.scopes ?? [connectScope, ...tools.map((t) => t.scope)])];
  const protectedResourceMetadata = {
    resource: url,
    authorization_servers: [issuer],
    scopes_supported: scopes,
    bearer_methods_supported: ['header'],
    // RFC 9449 §5.1: DPoP-bound tokens are accepted (and checked) too
    dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
    resource_name: options.title ?? name,
  };
  const log: { requests: McpRequestLogEntry[] } = { requests: [] };
  const nonces = dpopNonces();

  // --- token verification -------------------------------------------------------------------
  let jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  function getJwks() {
    jwks ??= (async () => {
      const metadataUrl = new URL('/.well-known/oauth-authorization-server', issuer);
      const response = await fetch(metadataUrl);
      if (!response.ok) throw new Error(`cannot read ${metadataUrl}: HTTP ${response.status}`);
      const metadata = (await response.json()) as { jwks_uri?: string; issuer?: string };
      if (metadata.issuer !== issuer || !metadata.jwks_uri) throw new Error(`unexpected metadata at ${metadataUrl}`);
      return createRemoteJWKSet(new URL(metadata.jwks_uri));
    })();
    jwks.catch(() => (jwks = undefined));
    return jwks;
  }

  async function verify(token: string): Promise<{ info: AuthInfo; payload: JWTPayload }> {
    const { payload } = await jwtVerify(token, await getJwks(), {
      issuer,
      audience: url,
      typ: 'at+jwt',
      algorithms: ['ES256', 'RS256'],
      requiredClaims: ['exp'],
    });
    return { info: authInfoFrom(token, payload), payload };
  }

  /**
   * The token check every protected route shares: `Bearer <jwt>`, or `DPoP <jwt>` with a proof
   * signed by the key the token is bound to (RFC 9449). A DPoP-bound token sent as a bearer token
   * is refused: whoever holds only the token must not be able to use it.
   */
  async function authenticate(request: Request): Promise<AuthInfo | Response> {
    const authorization = request.headers.get('authorization');
    if (!authorization) return challenge(401, undefined, undefined);
    const match = /^(Bearer|DPoP)\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authorization);
    if (!match?.[1] || !match[2]) return challenge(401, 'invalid_token', 'Malformed Authorization header, expected "Bearer <token>" or "DPoP <token>"');
    const scheme = match[1].toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    const token = match[2];
    let verified: Awaited<ReturnType<typeof verify>>;
    try {
      verified = await verify(token);
    } catch (error) {
      if (error instanceof joseErrors.JOSEError && !(error instanceof joseErrors.JWKSTimeout)) {
        return challenge(401, 'invalid_token', tokenErrorDescription(error), scheme);
      }
      // The authorization server (its JWKS) is unreachable: not the client's fault, do not ask for a new token.
      console.error(`[${name}] cannot verify tokens:`, error instanceof Error ? error.message : error);
      return Response.json(
        { error: 'temporarily_unavailable', error_description: 'Cannot reach the authorization server to verify the token' },
        { status: 503, headers: { 'retry-after': '1' } },
      );
    }
    const boundTo = (verified.payload.cnf as { jkt?: unknown } | undefined)?.jkt;
    if (scheme === 'Bearer') {
      if (boundTo !== undefined) return challenge(401, 'invalid_token', 'This access token is DPoP-bound: present it with the DPoP scheme and a proof', 'DPoP');
      return verified.info;
    }
    const proof = request.headers.get('dpop');
    if (!proof) return challenge(401, 'invalid_dpop_proof', 'A DPoP proof is required with a DPoP-bound token', 'DPoP');
    try {
      const thumbprint = await verifyDpopProof(proof, request.method, new URL(request.url), token, nonces);
      if (thumbprint !== boundTo) return challenge(401, 'invalid_token', 'The DPoP proof was signed by a key the token is not bound to', 'DPoP');
    } catch (error) {
      if (error instanceof DpopNonceError) return challenge(401, 'use_dpop_nonce', error.message, 'DPoP');
      return challenge(401, 'invalid_dpop_proof', error instanceof Error ? error.message : 'Invalid DPoP proof', 'DPoP');
    }
    return verified.info;
  }

  function authInfoFrom(token: string, payload: JWTPayload): AuthInfo {
    const scope = typeof payload.scope === 'string' ? payload.scope : '';
    return {
      token,
      clientId: typeof payload.client_id === 'string' ? payload.client_id : '',
      scopes: scope.split(' ').filter(Boolean),
      ...(payload.exp !== undefined && { expiresAt: payload.exp }),
      resource: resourceUrl,
      resourceMetadataUrl,
      extra: { sub: payload.sub },
    };
  }

  // --- MCP ----------------------------------------------------------------------------------
  const buildServer = (authInfo: AuthInfo | undefined) => {
    const server = new McpServer(
      { name, title: options.title ?? name, version: '1.0.0' },
      { capabilities: { tools: {} }, ...(options.instructions !== undefined && { instructions: options.instructions }) },
    );
    for (const tool of tools) {
      const config = {
        title: tool.title,
        description: tool.description,
        ...(tool.annotations && { annotations: tool.annotations }),
        // Answers 403 insufficient_scope with scope="<tool.scope>" at the HTTP layer before the tool runs.
        scopeChallenge: requireScopes(tool.scope),
      };
      if (tool.inputSchema) {
        server.registerTool(tool.name, { ...config, inputSchema: tool.inputSchema }, async (args) =>
          tool.handler(args, authInfo),
        );
      } else {
        server.registerTool(tool.name, config, async () => tool.handler({}, authInfo));
      }
    }
    return server;
  };
  const mcp = createMcpHandler((ctx) => buildServer(ctx.authInfo), {
    onerror: (error) => {
      if (process.env.MCP_SW_AUTH_DEBUG) console.error(`[${name}]`, error.message);
    },
  });

  // --- HTTP ---------------------------------------------------------------------------------
  const benchRoutes = options.benchRoutes ?? process.env.MCP_SW_AUTH_BENCH === '1';
  const benchPrefix = `${mcpPath.replace(/\/$/, '')}/bench/`;

  function corsHeaders(request: Request): Record<string, string> {
    const origin = request.headers.get('origin');
    if (!origin || !appOrigins.includes(origin)) return { vary: 'Origin' };
    return {
      'access-control-allow-origin': origin,
      'access-control-expose-headers': CORS_EXPOSE_HEADERS,
      vary: 'Origin',
      // bench only: lets the page and the worker read the full Resource Timing of their MCP requests
      ...(benchRoutes && { 'timing-allow-origin': origin }),
    };
  }

  /** CORS preflight for the app's origin; the browser caches it for 10 minutes. */
  function preflight(request: Request): Response {
    const headers: Record<string, string> = { ...corsHeaders(request) };
    if (headers['access-control-allow-origin']) {
      headers['access-control-allow-methods'] = CORS_ALLOW_METHODS;
      headers['access-control-allow-headers'] = CORS_ALLOW_HEADERS;
      headers['access-control-max-age'] = '600';
      headers.vary = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
    }
    return new Response(null, { status: 204, headers });
  }

  function challenge(
    status: 401 | 403,
    error: 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof' | 'use_dpop_nonce' | undefined,
    description: string | undefined,
    scheme: 'Bearer' | 'DPoP' = 'Bearer',
  ): Response {
    const params: string[] = [];
    if (error) params.push(`error="${error}"`);
    if (error && description) params.push(`error_description="${description.replace(/["\\]/g, "'")}"`);
    params.push(`scope="${connectScope}"`, `resource_metadata="${resourceMetadataUrl}"`);
    const body = error
      ? { error, ...(description && { error_description: description }) }
      : { error: 'unauthorized', error_description: 'This MCP server needs a bearer access token' };
    const dpop = scheme === 'DPoP' ? 'algs="ES256 EdDSA", ' : '';
    const headers: Record<string, string> = { 'www-authenticate': `${scheme} ${dpop}${params.join(', ')}` };
    if (scheme === 'DPoP') headers['dpop-nonce'] = nonces.current();
    return Response.json(body, { status, headers });
  }

  async function serveMcp(request: Request): Promise<Response> {
    const authInfo = await authenticate(request);
    if (authInfo instanceof Response) return authInfo;
    if (!authInfo.scopes.includes(connectScope)) {
      const scheme = request.headers.get('authorization')?.toLowerCase().startsWith('dpop ') ? 'DPoP' : 'Bearer';
      return challenge(403, 'insufficient_scope', `This server needs the ${connectScope} scope`, scheme);
    }
    return mcp.fetch(request, { authInfo });
  }

  // --- bench-only routes (npm run bench) -------------------------------------------------------
  /** The bearer check of /mcp without the connect-scope requirement: any valid token for this server. */
  async function serveBench(request: Request, route: string, query: URLSearchParams): Promise<Response> {
    const auth = await authenticate(request);
    if (auth instanceof Response) return auth;
    if (route === 'stream' && request.method.toUpperCase() === 'GET') {
      // `bytes` of SSE in events of `chunk` bytes each ("data: xxx…\n\n"), as fast as the socket takes them.
      const total = Math.min(Math.max(Number(query.get('bytes') ?? 4_000_000) || 0, 1), 64_000_000);
      const chunk = Math.min(Math.max(Number(query.get('chunk') ?? 16_384) || 0, 16), 1_048_576);
      const encoder = new TextEncoder();
      const full = encoder.encode(`data: ${'x'.repeat(chunk - 8)}\n\n`);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= total) return controller.close();
          const size = Math.min(chunk, total - sent);
          controller.enqueue(size === chunk ? full : encoder.encode(`data: ${'x'.repeat(Math.max(size - 8, 0))}\n\n`));
          sent += size;
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' } });
    }
    if (route === 'challenge' && query.has('unscoped')) {
      // a server that says "insufficient scope" without naming the scope it needs (RFC 6750 says it should)
      const header = `Bearer error="insufficient_scope", resource_metadata="${resourceMetadataUrl}"`;
      return Response.json({ error: 'insufficient_scope' }, { status: 403, headers: { 'www-authenticate': header } });
    }
    if (route === 'challenge') {
      const n = query.get('n') ?? '';
      if (!/^[A-Za-z0-9_-]{1,40}$/.test(n)) return Response.json({ error: 'invalid_request' }, { status: 400 });
      const header = `Bearer error="insufficient_scope", scope="bench:${n}", resource_metadata="${resourceMetadataUrl}"`;
      return Response.json({ error: 'insufficient_scope' }, { status: 403, headers: { 'www-authenticate': header } });
    }
    return new Response('Not found', { status: 404, headers: { 'content-type': 'text/plain' } });
  }

  async function handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const method = request.method.toUpperCase();

    if (path === prmPath || path === '/.well-known/oauth-protected-resource') {
      const cors = { 'access-control-allow-origin': '*' };
      if (method === 'OPTIONS') {
        return new Response(null, {
          status: 204,
          headers: { ...cors, 'access-control-allow-methods': 'GET, OPTIONS', 'access-control-allow-headers': request.headers.get('access-control-request-headers') ?? '*', 'access-control-max-age': '600' },
        });
      }
      if (method !== 'GET' && method !== 'HEAD') return new Response(null, { status: 405, headers: { ...cors, allow: 'GET, OPTIONS' } });
      return Response.json(protectedResourceMetadata, { headers: { ...cors, 'cache-control': 'no-store' } });
    }

    if (path === '/__log' || path === '/__log/reset') {
      const cors = { 'access-control-allow-origin': '*', 'cache-control': 'no-store' };
      if (path === '/__log' && method === 'GET') return Response.json(log, { headers: cors });
      if (path === '/__log/reset' && method === 'POST') {
        resetLog();
        return new Response(null, { status: 204, headers: cors });
      }
      if (method === 'OPTIONS') return new Response(null, { status: 204, headers: { ...cors, 'access-control-allow-methods': 'GET, POST' } });
      return new Response(null, { status: 405, headers: cors });
    }

    if (benchRoutes && path.startsWith(benchPrefix)) {
      if (method === 'OPTIONS') return preflight(request);
      const headers: Record<string, string> = { ...corsHeaders(request) };
      const response = await serveBench(request, path.slice(benchPrefix.length), new URL(request.url).searchParams);
      const out = new Headers(response.headers);
      for (const [key, value] of Object.entries(headers)) out.set(key, value);
      if (request.headers.has('dpop')) out.set('dpop-nonce', nonces.current());
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers: out });
    }

    if (path === mcpPath || path === `${mcpPath}/`) {
      if (method === 'OPTIONS') return preflight(request);
      const entry = await describeRequest(request);
      const response = await serveMcp(request);
      entry.status = response.status;
      log.requests.push(entry);
      options.onRequest?.(entry);
      // Re-wrap only to add CORS headers; the body stream is passed through untouched (SSE keeps streaming).
      const headers = new Headers(response.headers);
      for (const [key, value] of Object.entries(corsHeaders(request))) headers.set(key, value);
      // RFC 9449 §8.2: a fresh nonce on every answer to a DPoP request keeps the client's current
      if (request.headers.has('dpop')) headers.set('dpop-nonce', nonces.current());
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }

    return new Response('Not found', { status: 404, headers: { 'content-type': 'text/plain' } });
  }

  const nodeHandler = toNodeHandler({ fetch: handle }, { onerror: (error) => console.error(`[${name}]`, error) });
  const httpServer = createServer((req, res) => void nodeHandler(req, res));

  function resetLog(): void {
    log.requests.length = 0;
  }

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(Number(resourceUrl.port), 'localhost', () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  if (String(port) !== resourceUrl.port) throw new Error(`${name} listens on ${port}, expected ${resourceUrl.port}`);

  return {
    name,
    url,
    resourceMetadataUrl,
    httpServer,
    log,
    resetLog,
    close: async () => {
      await mcp.close();
      await new Promise<void>((resolve, reject) => {
        httpServer.close((error) => (error ? reject(error) : resolve()));
        httpServer.closeAllConnections();
      });
    },
  };
}

/** Builds a log entry from the request without consuming its body. */
async function describeRequest(request: Request): Promise<McpRequestLogEntry> {
  const entry: McpRequestLogEntry = { at: new Date().toISOString(), httpMethod: request.method.toUpperCase(), status: 0 };
  if (entry.httpMethod === 'POST') {
    try {
      const body: unknown = JSON.parse(await request.clone().text());
      const messages = (Array.isArray(body) ? body : [body]) as { method?: unknown; params?: { name?: unknown } }[];
      const methods = messages.map((m) => (typeof m?.method === 'string' ? m.method : 'response'));
      entry.rpcMethod = methods.join(',');
      const call = messages.find((m) => m?.method === 'tools/call');
      if (typeof call?.params?.name === 'string') entry.tool = call.params.name;
    } catch {
      entry.rpcMethod = 'invalid';
    }
  }
  const authorization = request.headers.get('authorization');
  const token = authorization?.replace(/^(Bearer|DPoP)\s+/i, '').trim();
  if (token) {
    try {
      const payload = decodeJwt(token);
      if (payload.aud !== undefined) entry.tokenAudience = payload.aud;
      if (typeof payload.scope === 'string') entry.tokenScopes = payload.scope;
    } catch {
      // not a JWT: nothing to record
    }
  }
  return entry;
}

function tokenErrorDescription(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The access token expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'The access token was issued for another resource';
    if (error.claim === 'iss') return 'The access token was issued by another authorization server';
    return `The access token has an invalid ${error.claim} claim`;
  }
  return 'The access token is invalid';
}

/** A plain text tool result. */
export function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

/** A tool error result (the tool ran but could not do what was asked). */
export function toolError(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }], isError: true };
}
