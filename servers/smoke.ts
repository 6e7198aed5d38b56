/**
 * End-to-end smoke test of the servers, from Node with plain fetch (no browser, no OAuth library):
 * starts the authorization server and both MCP servers on a test base port and drives real
 * authorization-code + PKCE flows through the login and consent pages with a manual cookie jar.
 *
 * Then the Tasks world (servers/tasks.ts), an MCP server with its own authorization server, on a
 * free port pair: discovery and Dynamic Client Registration with oauth4webapi, as the worker does
 * them, CORS for the app's origin, and a DPoP-bound authorization code flow through its pages.
 *
 *   node servers/smoke.ts            (base port 4370, or MCP_SW_AUTH_SMOKE_BASE_PORT)
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';

import { startAuthorizationServer } from './authorization-server.ts';
import { startCalendarServer } from './calendar.ts';
import { authorizationServerConfig, demoConfig, type DemoConfig } from './config.ts';
import { CookieJar } from './cookie-jar.ts';
import { startNotesServer } from './notes.ts';
import { startTasksWorld } from './tasks.ts';

const cfg = demoConfig(Number(process.env.MCP_SW_AUTH_SMOKE_BASE_PORT ?? 4370));

let failures = 0;
function check(name: string, ok: boolean, detail?: unknown): void {
  if (ok) {
    console.log(`  ✓ ${name}`);
  } else {
    failures++;
    console.log(`  ✗ ${name}${detail === undefined ? '' : `\n      ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
  }
}
function section(title: string): void {
  console.log(`\n${title}`);
}

/** Parses `Bearer a="b", c="d"` into { a: 'b', c: 'd' }. */
function parseChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^Bearer\b/i.test(header)) return undefined;
  const out: Record<string, string> = {};
  for (const m of header.slice(6).matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/gi)) out[m[1] as string] = (m[2] as string).replace(/\\(.)/g, '$1');
  return out;
}

const jar = new CookieJar();
async function browse(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const target = new URL(url);
  const headers = new Headers(init.headers);
  const cookies = jar.header(target);
  if (cookies) headers.set('cookie', cookies);
  const response = await fetch(target, { ...init, headers, redirect: 'manual' });
  jar.store(response, target);
  return response;
}

// --- the OAuth flow ---------------------------------------------------------------------------
interface AsMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  code_challenge_methods_supported?: string[];
  authorization_response_iss_parameter_supported?: boolean;
  [key: string]: unknown;
}

interface AuthorizeResult {
  /** Query parameters the AS sent back to the redirect URI. */
  callback: URLSearchParams;
  codeVerifier: string;
  state: string;
  /** Which interaction pages were shown, in order. */
  pages: ('login' | 'consent')[];
  /** HTML of the consent page, when one was shown. */
  consentHtml?: string;
}

async function authorize(
  as: AsMetadata,
  scope: string,
  resource: string,
  {
    decision = 'allow',
    username = 'alice',
    pkce = true,
    config = cfg,
    client = config,
  }: {
    decision?: 'allow' | 'deny';
    username?: string;
    pkce?: boolean;
    config?: DemoConfig;
    /** Another client than the demo's pre-registered one (e.g. a dynamically registered one). */
    client?: { clientId: string; redirectUri: string };
  } = {},
): Promise<AuthorizeResult> {
  const codeVerifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    scope,
    resource,
    state,
    ...(pkce && {
      code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
      code_challenge_method: 'S256',
    }),
  }).toString();

  const pages: AuthorizeResult['pages'] = [];
  let consentHtml: string | undefined;
  let response = await browse(url);
  for (let hop = 0; hop < 20; hop++) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, response.url || url);
      if (next.href.startsWith(client.redirectUri)) {
        return { callback: next.searchParams, codeVerifier, state, pages, ...(consentHtml && { consentHtml }) };
      }
      response = await browse(next);
      continue;
    }
    const html = await response.text();
    const current = new URL(response.url);
    if (response.status !== 200) throw new Error(`unexpected ${response.status} at ${current}: ${html.slice(0, 300)}`);
    if (/<input[^>]*name="login"/.test(html)) {
      pages.push('login');
      const action = /<form method="post" action="([^"]+\/login)"/.exec(html)?.[1];
      if (!action || !/<button[^>]*>Sign in<\/button>/.test(html)) throw new Error('login page without form or "Sign in" button');
      response = await browse(new URL(action, current), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ login: username }),
      });
      continue;
    }
    if (/<li class="scope"/.test(html)) {
      pages.push('consent');
      consentHtml = html;
      const action = /<form method="post" action="([^"]+\/(?:confirm|abort))"><button[^>]*>(?:Allow|Deny)<\/button>/g;
      const forms = [...html.matchAll(action)].map((m) => m[1] as string);
      const target = forms.find((f) => f.endsWith(decision === 'allow' ? '/confirm' : '/abort'));
      if (!target) throw new Error('consent page without Allow/Deny forms');
      response = await browse(new URL(target, current), { method: 'POST' });
      continue;
    }
    throw new Error(`unexpected page at ${current}: ${html.slice(0, 300)}`);
  }
  throw new Error('too many redirects');
}

/** One authorization request with the browser's cookies, answer not followed (to see refusals). */
async function authorizeRaw(as: oauth.AuthorizationServer, clientId: string, redirectUri: string): Promise<Response> {
  const url = new URL(as.authorization_endpoint ?? '');
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'tasks:read',
    state: 'x',
    code_challenge: createHash('sha256').update('v'.repeat(43)).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  return browse(url);
}

interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

async function tokenRequest(as: AsMetadata, params: Record<string, string>, origin: string | undefined = cfg.appOrigin) {
  const response = await fetch(as.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin && { origin }) },
    body: new URLSearchParams({ client_id: cfg.clientId, ...params }),
  });
  return { response, body: (await response.json()) as TokenResponse };
}

async function exchange(as: AsMetadata, result: AuthorizeResult, resource: string, config: DemoConfig = cfg) {
  const code = result.callback.get('code');
  if (!code) throw new Error(`no code in callback: ${result.callback}`);
  return tokenRequest(as, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: config.redirectUri,
    code_verifier: result.codeVerifier,
    resource,
  }, config.appOrigin);
}

/** Scopes listed on a consent page: scope -> 'new' | 'granted'. */
function consentScopes(html: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (html ?? '').matchAll(/<li class="scope" data-state="(new|granted)"[^>]*>([^<]+)<\/li>/g)) out[m[2] as string] = m[1] as string;
  return out;
}

// --- MCP helpers ------------------------------------------------------------------------------
async function mcpClient(url: string, token: string, mode: 'legacy' | 'auto' = 'legacy'): Promise<Client> {
  const client = new Client({ name: 'smoke', version: '1.0.0' }, { versionNegotiation: { mode } });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    },
  });
  await client.connect(transport);
  return client;
}

/** A raw 2025-era JSON-RPC POST (what a stateless legacy client sends). */
async function rpc(url: string, method: string, params: unknown, token?: string, extraHeaders: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token && { authorization: `Bearer ${token}` }),
      ...extraHeaders,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
}
const initializeParams = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'smoke', version: '1.0.0' } };

function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('\n');
}

/** A port p such that p and p + 1 are both free (the Tasks world takes two), chosen by the OS. */
async function freePortPair(): Promise<number> {
  const listen = (port: number) =>
    new Promise<ReturnType<typeof createServer> | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, 'localhost', () => resolve(server));
    });
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await listen(0);
    if (!first) continue;
    const port = (first.address() as { port: number }).port;
    const second = port < 65535 ? await listen(port + 1) : undefined;
    await Promise.all([first, second].map((server) => server && new Promise((resolve) => server.close(resolve))));
    if (second) return port;
  }
  throw new Error('no free port pair');
}

/** The JSON-RPC result of an MCP answer, plain JSON or one SSE message. */
async function rpcResult(response: Response): Promise<{ result?: unknown; error?: unknown }> {
  const body = await response.text();
  const data = (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
    ? body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('')
    : body;
  return JSON.parse(data) as { result?: unknown; error?: unknown };
}

/** Runs an oauth4webapi request once more when the server asked for a (new) DPoP nonce. */
async function withDpopNonce<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (oauth.isDPoPNonceError(error)) return attempt();
    throw error;
  }
}

// --- the test ---------------------------------------------------------------------------------
const as = await startAuthorizationServer(authorizationServerConfig(cfg));
const notes = await startNotesServer(cfg);
const calendar = await startCalendarServer(cfg);
console.log(`AS ${as.url}  notes ${notes.url}  calendar ${calendar.url}`);

try {
  section('1. discovery from a 401');
  const unauth = await rpc(cfg.notesUrl, 'initialize', initializeParams);
  const unauthChallenge = parseChallenge(unauth.headers.get('www-authenticate'));
  check('initialize without a token → 401', unauth.status === 401, unauth.status);
  check('challenge has resource_metadata', unauthChallenge?.resource_metadata === `http://localhost:${cfg.notesPort}/.well-known/oauth-protected-resource/mcp`, unauthChallenge);
  check('challenge scope = connect scope (notes:read)', unauthChallenge?.scope === 'notes:read', unauthChallenge);
  check('no error= without a token (RFC 6750 §3.1)', unauthChallenge !== undefined && !('error' in unauthChallenge), unauthChallenge);

  const prm = (await (await fetch(unauthChallenge?.resource_metadata ?? '')).json()) as Record<string, unknown>;
  check('PRM resource = notes URL', prm.resource === cfg.notesUrl, prm);
  check('PRM authorization_servers = [issuer]', JSON.stringify(prm.authorization_servers) === JSON.stringify([cfg.issuer]), prm);
  check('PRM scopes_supported', JSON.stringify(prm.scopes_supported) === JSON.stringify(['notes:read', 'notes:write', 'notes:delete', 'notes:export']), prm);
  check('PRM bearer_methods_supported = [header]', JSON.stringify(prm.bearer_methods_supported) === '["header"]', prm);
  const prmRootResponse = await fetch(`http://localhost:${cfg.notesPort}/.well-known/oauth-protected-resource`, { headers: { origin: cfg.appOrigin } });
  const prmRoot = (await prmRootResponse.json()) as Record<string, unknown>;
  check('PRM root form served too', prmRoot.resource === cfg.notesUrl);
  check('PRM is public (ACAO *)', prmRootResponse.headers.get('access-control-allow-origin') === '*');

  const asMeta = (await (await fetch(`${cfg.issuer}/.well-known/openid-configuration`)).json()) as AsMetadata;
  const asMeta8414 = (await (await fetch(`${cfg.issuer}/.well-known/oauth-authorization-server`)).json()) as AsMetadata;
  check('AS issuer', asMeta.issuer === cfg.issuer, asMeta.issuer);
  check('RFC 8414 metadata served too', asMeta8414.issuer === cfg.issuer);
  check('code_challenge_methods_supported includes S256', asMeta.code_challenge_methods_supported?.includes('S256') === true, asMeta.code_challenge_methods_supported);
  check('authorization_response_iss_parameter_supported', asMeta.authorization_response_iss_parameter_supported === true);

  const preflight = await fetch(cfg.notesUrl, {
    method: 'OPTIONS',
    headers: { origin: cfg.appOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, mcp-protocol-version' },
  });
  check('MCP preflight from the app origin', preflight.status === 204 && preflight.headers.get('access-control-allow-origin') === cfg.appOrigin && /Mcp-Protocol-Version/.test(preflight.headers.get('access-control-allow-headers') ?? ''));
  const corsUnauth = await rpc(cfg.notesUrl, 'initialize', initializeParams, undefined, { origin: cfg.appOrigin });
  check('401 readable cross-origin (ACAO + exposes WWW-Authenticate)', corsUnauth.headers.get('access-control-allow-origin') === cfg.appOrigin && /WWW-Authenticate/.test(corsUnauth.headers.get('access-control-expose-headers') ?? ''));
  const tokenPreflight = await fetch(asMeta.token_endpoint, { method: 'OPTIONS', headers: { origin: cfg.appOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  check('token endpoint preflight', tokenPreflight.status === 204 && tokenPreflight.headers.get('access-control-allow-origin') === cfg.appOrigin, tokenPreflight.status);

  section('2. authorization code + PKCE for notes:read');
  const first = await authorize(asMeta, 'notes:read', cfg.notesUrl);
  check('login page then consent page', JSON.stringify(first.pages) === '["login","consent"]', first.pages);
  check('consent lists notes:read as new', JSON.stringify(consentScopes(first.consentHtml)) === '{"notes:read":"new"}', consentScopes(first.consentHtml));
  check('callback has code', first.callback.has('code'));
  check('callback iss = issuer (RFC 9207)', first.callback.get('iss') === cfg.issuer, first.callback.get('iss'));
  check('callback state round-trips', first.callback.get('state') === first.state);
  const t1 = await exchange(asMeta, first, cfg.notesUrl);
  check('token response 200', t1.response.status === 200, t1.body);
  check('token endpoint CORS for the app origin', t1.response.headers.get('access-control-allow-origin') === cfg.appOrigin);
  check('token response scope = notes:read', t1.body.scope === 'notes:read', t1.body.scope);
  check('refresh token returned', typeof t1.body.refresh_token === 'string');
  check('expires_in = configured TTL', t1.body.expires_in === cfg.accessTokenTtl, t1.body.expires_in);
  const at1 = decodeJwt(t1.body.access_token ?? '');
  check('access token aud = notes URL', at1.aud === cfg.notesUrl, at1.aud);
  check('access token scope = notes:read', at1.scope === 'notes:read', at1.scope);
  check('access token iss = issuer', at1.iss === cfg.issuer);
  check('access token typ at+jwt, ES256', decodeProtectedHeader(t1.body.access_token ?? '').typ === 'at+jwt' && decodeProtectedHeader(t1.body.access_token ?? '').alg === 'ES256');

  const r1 = await tokenRequest(asMeta, { grant_type: 'refresh_token', refresh_token: t1.body.refresh_token ?? '', resource: cfg.notesUrl });
  check('refresh → 200', r1.response.status === 200, r1.body);
  check('refresh token rotated', typeof r1.body.refresh_token === 'string' && r1.body.refresh_token !== t1.body.refresh_token);
  check('refreshed token aud/scope', decodeJwt(r1.body.access_token ?? '').aud === cfg.notesUrl && r1.body.scope === 'notes:read', r1.body.scope);
  const evil = await tokenRequest(asMeta, { grant_type: 'refresh_token', refresh_token: r1.body.refresh_token ?? '' }, 'http://evil.localhost:1');
  check('token endpoint refuses a foreign origin', evil.response.status === 400 && !evil.response.headers.get('access-control-allow-origin'), { status: evil.response.status, body: evil.body });

  section('3. using the notes:read token');
  const readToken = r1.body.access_token ?? '';
  const client = await mcpClient(cfg.notesUrl, readToken);
  check('initialize via SDK Client', client.getServerVersion()?.name === 'notes', client.getServerVersion());
  const toolList = await client.listTools();
  check('tools/list', JSON.stringify(toolList.tools.map((t) => t.name)) === '["list-notes","add-note","delete-note","export-notes"]', toolList.tools.map((t) => t.name));
  const listed = await client.callTool({ name: 'list-notes', arguments: {} });
  check('list-notes works', textOf(listed).includes('#1'), textOf(listed));
  let sdkError: unknown;
  try {
    await client.callTool({ name: 'add-note', arguments: { text: 'should fail' } });
  } catch (error) {
    sdkError = error;
  }
  check('add-note through the SDK client fails', sdkError !== undefined, String(sdkError));
  console.log(`      (SDK client error: ${String(sdkError).slice(0, 160)})`);
  await client.close();

  const modern = await mcpClient(cfg.notesUrl, readToken, 'auto');
  console.log(`      (negotiated protocol: ${modern.getNegotiatedProtocolVersion()})`);
  check('modern (2026-07-28) client: connect + tools/list', (await modern.listTools()).tools.length === 4, modern.getNegotiatedProtocolVersion());
  let modernError: unknown;
  try {
    await modern.callTool({ name: 'add-note', arguments: { text: 'should fail' } });
  } catch (error) {
    modernError = error;
  }
  check('modern client: add-note refused with insufficient scope', /notes:write/.test(String(modernError)), String(modernError));
  await modern.close();

  const addRaw = await rpc(cfg.notesUrl, 'tools/call', { name: 'add-note', arguments: { text: 'x' } }, readToken);
  const addChallenge = parseChallenge(addRaw.headers.get('www-authenticate'));
  check('add-note (raw) → HTTP 403', addRaw.status === 403, addRaw.status);
  check('challenge error=insufficient_scope', addChallenge?.error === 'insufficient_scope', addChallenge);
  check('challenge scope="notes:write" only', addChallenge?.scope === 'notes:write', addChallenge?.scope);
  check('challenge resource_metadata', addChallenge?.resource_metadata === notes.resourceMetadataUrl, addChallenge?.resource_metadata);
  console.log(`      (WWW-Authenticate: ${addRaw.headers.get('www-authenticate')})`);
  const listRaw = await rpc(cfg.notesUrl, 'tools/call', { name: 'list-notes', arguments: {} }, readToken, { origin: cfg.appOrigin });
  const listRawType = listRaw.headers.get('content-type') ?? '';
  const listRawBody = await listRaw.text();
  check('raw legacy tools/call answers as an SSE stream, passed through', listRaw.status === 200 && listRawType.startsWith('text/event-stream') && /^event: message$/m.test(listRawBody), { listRawType, listRawBody: listRawBody.slice(0, 120) });
  check('CORS headers on the streamed answer', listRaw.headers.get('access-control-allow-origin') === cfg.appOrigin);
  const exportRaw = await rpc(cfg.notesUrl, 'tools/call', { name: 'export-notes', arguments: {} }, readToken);
  check('export-notes → 403 scope="notes:export" only', exportRaw.status === 403 && parseChallenge(exportRaw.headers.get('www-authenticate'))?.scope === 'notes:export');

  const toCalendar = await rpc(cfg.calendarUrl, 'initialize', initializeParams, readToken);
  const calendarChallenge = parseChallenge(toCalendar.headers.get('www-authenticate'));
  check('notes token at calendar → 401 invalid_token', toCalendar.status === 401 && calendarChallenge?.error === 'invalid_token', { status: toCalendar.status, calendarChallenge });
  check('calendar challenge scope = calendar:read', calendarChallenge?.scope === 'calendar:read');
  const garbage = await rpc(cfg.notesUrl, 'initialize', initializeParams, 'not-a-jwt');
  check('garbage token → 401 invalid_token', garbage.status === 401 && parseChallenge(garbage.headers.get('www-authenticate'))?.error === 'invalid_token');

  section('4. step-up to notes:read notes:write');
  const second = await authorize(asMeta, 'notes:read notes:write', cfg.notesUrl);
  check('no login page (session), one consent page', JSON.stringify(second.pages) === '["consent"]', second.pages);
  check('consent: notes:read already granted, notes:write new', JSON.stringify(consentScopes(second.consentHtml)) === '{"notes:read":"granted","notes:write":"new"}', consentScopes(second.consentHtml));
  check('callback iss', second.callback.get('iss') === cfg.issuer);
  const t2 = await exchange(asMeta, second, cfg.notesUrl);
  check('token scope = notes:read notes:write', t2.body.scope === 'notes:read notes:write', t2.body.scope);
  const writer = await mcpClient(cfg.notesUrl, t2.body.access_token ?? '', 'auto');
  const added = await writer.callTool({ name: 'add-note', arguments: { text: 'Written by the smoke test' } });
  check('add-note works with the new token', /Added note #3/.test(textOf(added)), textOf(added));
  const after = await writer.callTool({ name: 'list-notes', arguments: {} });
  check('the new note is listed', textOf(after).includes('Written by the smoke test'));
  await writer.close();

  const third = await authorize(asMeta, 'notes:read notes:write', cfg.notesUrl);
  check('nothing new requested → no consent page', third.pages.length === 0 && third.callback.has('code'), third.pages);

  const denied = await authorize(asMeta, 'notes:read notes:write notes:delete', cfg.notesUrl, { decision: 'deny' });
  check('consent for notes:delete shown, Deny → error=access_denied with iss', denied.pages.join() === 'consent' && denied.callback.get('error') === 'access_denied' && denied.callback.get('iss') === cfg.issuer, Object.fromEntries(denied.callback));
  check('consent: only notes:delete new', JSON.stringify(consentScopes(denied.consentHtml)) === '{"notes:read":"granted","notes:write":"granted","notes:delete":"new"}', consentScopes(denied.consentHtml));

  const writeOnly = await authorize(asMeta, 'notes:write', cfg.notesUrl);
  const t3 = await exchange(asMeta, writeOnly, cfg.notesUrl);
  const noConnect = await rpc(cfg.notesUrl, 'initialize', initializeParams, t3.body.access_token);
  const noConnectChallenge = parseChallenge(noConnect.headers.get('www-authenticate'));
  check('token without notes:read → 403 insufficient_scope scope="notes:read"', noConnect.status === 403 && noConnectChallenge?.error === 'insufficient_scope' && noConnectChallenge.scope === 'notes:read', { status: noConnect.status, noConnectChallenge });

  const calendarAuth = await authorize(asMeta, 'calendar:read calendar:write', cfg.calendarUrl);
  check('calendar: consent lists both calendar scopes as new', JSON.stringify(consentScopes(calendarAuth.consentHtml)) === '{"calendar:read":"new","calendar:write":"new"}', consentScopes(calendarAuth.consentHtml));
  const t4 = await exchange(asMeta, calendarAuth, cfg.calendarUrl);
  check('calendar token aud', decodeJwt(t4.body.access_token ?? '').aud === cfg.calendarUrl);
  const cal = await mcpClient(cfg.calendarUrl, t4.body.access_token ?? '');
  const created = await cal.callTool({ name: 'create-event', arguments: { title: 'Smoke test', when: '2030-01-01T09:00' } });
  check('create-event works', /Created event #2/.test(textOf(created)), textOf(created));
  await cal.close();
  const mixed = await tokenRequest(asMeta, { grant_type: 'refresh_token', refresh_token: t4.body.refresh_token ?? '', resource: cfg.notesUrl });
  check('calendar refresh token cannot mint a notes token', mixed.response.status === 400 && mixed.body.error === 'invalid_target', mixed.body);

  const unknown = await authorize(asMeta, 'notes:read', 'http://localhost:1/mcp');
  check('unknown resource → error=invalid_target', unknown.callback.get('error') === 'invalid_target', Object.fromEntries(unknown.callback));
  const noPkce = await authorize(asMeta, 'notes:read', cfg.notesUrl, { pkce: false });
  check('no PKCE → error=invalid_request', noPkce.callback.get('error') === 'invalid_request', Object.fromEntries(noPkce.callback));

  section('5. logs');
  const asLog = (await (await fetch(`${cfg.issuer}/__log`)).json()) as { authorizations: { scope?: string; resource?: string; outcome?: string }[]; tokens: { grantType?: string; scope?: string }[] };
  const scopes = asLog.authorizations.map((a) => a.scope);
  check('AS log has the two notes authorizations with their scopes', scopes[0] === 'notes:read' && scopes[1] === 'notes:read notes:write', scopes);
  check('AS log outcomes', JSON.stringify(asLog.authorizations.map((a) => a.outcome)) === '["code","code","code","error","code","code","error","error"]', asLog.authorizations.map((a) => a.outcome));
  check('AS log has token requests', asLog.tokens.some((t) => t.grantType === 'refresh_token') && asLog.tokens.some((t) => t.grantType === 'authorization_code'), asLog.tokens);
  const logText = JSON.stringify(asLog);
  const secrets = [first.callback.get('code'), first.codeVerifier, t1.body.access_token, t1.body.refresh_token, r1.body.refresh_token].filter((s): s is string => !!s);
  check('AS log contains no code, verifier or token', secrets.every((s) => !logText.includes(s)));
  const notesLog = (await (await fetch(`http://localhost:${cfg.notesPort}/__log`)).json()) as { requests: { rpcMethod?: string; tool?: string; status: number; tokenAudience?: string }[] };
  check('notes log records the 403 add-note', notesLog.requests.some((r) => r.tool === 'add-note' && r.status === 403));
  check('no calendar token ever reached notes', notesLog.requests.every((r) => r.tokenAudience === undefined || r.tokenAudience === cfg.notesUrl));
  const calendarLog = (await (await fetch(`http://localhost:${cfg.calendarPort}/__log`)).json()) as { requests: { tokenAudience?: string; status: number }[] };
  check('calendar log shows the misdirected notes token (401)', calendarLog.requests.some((r) => r.tokenAudience === cfg.notesUrl && r.status === 401));
  if (process.env.SMOKE_DUMP) console.log(JSON.stringify(notesLog.requests.slice(0, 12), null, 1));
  await fetch(`${cfg.issuer}/__log/reset`, { method: 'POST' });
  const resetLog = (await (await fetch(`${cfg.issuer}/__log`)).json()) as { authorizations: unknown[] };
  check('POST /__log/reset empties it', resetLog.authorizations.length === 0);

  section('6. refresh token reuse');
  const reuse = await tokenRequest(asMeta, { grant_type: 'refresh_token', refresh_token: t1.body.refresh_token ?? '' });
  check('a rotated-out refresh token is refused (invalid_grant)', reuse.response.status === 400 && reuse.body.error === 'invalid_grant', reuse.body);
  check('token error responses are readable cross-origin', reuse.response.headers.get('access-control-allow-origin') === cfg.appOrigin);
  const afterReuse = await tokenRequest(asMeta, { grant_type: 'refresh_token', refresh_token: r1.body.refresh_token ?? '' });
  check('reuse revoked the grant: the newest refresh token is refused too', afterReuse.body.error === 'invalid_grant', afterReuse.body);

  section('7. access-token expiry (second world, token TTL 1s)');
  const shortCfg = { ...demoConfig(cfg.basePort + 10), accessTokenTtl: 1 };
  const shortAs = await startAuthorizationServer(authorizationServerConfig(shortCfg));
  const shortNotes = await startNotesServer(shortCfg);
  try {
    const shortMeta = (await (await fetch(`${shortCfg.issuer}/.well-known/oauth-authorization-server`)).json()) as AsMetadata;
    const shortAuth = await authorize(shortMeta, 'notes:read', shortCfg.notesUrl, { config: shortCfg });
    const shortToken = await exchange(shortMeta, shortAuth, shortCfg.notesUrl, shortCfg);
    check('expires_in = 1', shortToken.body.expires_in === 1, shortToken.body.expires_in);
    const fresh = await rpc(shortCfg.notesUrl, 'initialize', initializeParams, shortToken.body.access_token);
    check('fresh token works', fresh.status === 200, fresh.status);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const stale = await rpc(shortCfg.notesUrl, 'initialize', initializeParams, shortToken.body.access_token);
    const staleChallenge = parseChallenge(stale.headers.get('www-authenticate'));
    check('expired token → 401 invalid_token', stale.status === 401 && staleChallenge?.error === 'invalid_token', { status: stale.status, staleChallenge });
    const renewed = await tokenRequest(shortMeta, { grant_type: 'refresh_token', refresh_token: shortToken.body.refresh_token ?? '' }, shortCfg.appOrigin);
    const again = await rpc(shortCfg.notesUrl, 'initialize', initializeParams, renewed.body.access_token);
    check('refreshing gives a working token', again.status === 200, again.status);
    const otherIssuer = await rpc(cfg.notesUrl, 'initialize', initializeParams, renewed.body.access_token);
    check("another AS's token → 401 at the first world's notes", otherIssuer.status === 401, otherIssuer.status);
  } finally {
    await Promise.all([shortAs.close(), shortNotes.close()]);
  }

  section('8. the Tasks world: its own authorization server, dynamic client registration (oauth4webapi)');
  const tasksPort = await freePortPair();
  const appOrigin = cfg.appOrigin;
  const otherAppOrigin = `http://localhost:${cfg.basePort + 9}`;
  // a fresh session at the demo AS (section 7's second demo AS, with the same cookie names, replaced it)
  await authorize(asMeta, 'notes:read', cfg.notesUrl);
  const tasks = await startTasksWorld({ port: tasksPort, appOrigins: [appOrigin, otherAppOrigin], dpop: true });
  try {
    const insecure = { [oauth.allowInsecureRequests]: true } as const;
    check('issuer and MCP URL on the port pair', tasks.issuer === `http://localhost:${tasksPort}` && tasks.mcpUrl === `http://localhost:${tasksPort + 1}/mcp`, { issuer: tasks.issuer, mcpUrl: tasks.mcpUrl });

    const unauthTasks = await rpc(tasks.mcpUrl, 'initialize', initializeParams, undefined, { origin: appOrigin });
    const tasksChallenge = parseChallenge(unauthTasks.headers.get('www-authenticate'));
    check('initialize without a token → 401 scope="tasks:read"', unauthTasks.status === 401 && tasksChallenge?.scope === 'tasks:read', { status: unauthTasks.status, tasksChallenge });
    check('401 readable from the app origin', unauthTasks.headers.get('access-control-allow-origin') === appOrigin);
    check('resource_metadata points at the Tasks PRM', tasksChallenge?.resource_metadata === `http://localhost:${tasksPort + 1}/.well-known/oauth-protected-resource/mcp`, tasksChallenge?.resource_metadata);

    const rs = await oauth.processResourceDiscoveryResponse(new URL(tasks.mcpUrl), await fetch(tasksChallenge?.resource_metadata ?? ''));
    check('PRM resource = Tasks MCP URL, authorization_servers = [Tasks issuer]', rs.resource === tasks.mcpUrl && JSON.stringify(rs.authorization_servers) === JSON.stringify([tasks.issuer]), rs);
    check('PRM scopes_supported', JSON.stringify(rs.scopes_supported) === '["tasks:read","tasks:write","tasks:delete"]', rs.scopes_supported);
    const issuerUrl = new URL(rs.authorization_servers?.[0] ?? '');
    const tasksAs = await oauth.processDiscoveryResponse(issuerUrl, await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', ...insecure }));
    check('AS metadata: issuer, registration_endpoint', tasksAs.issuer === tasks.issuer && tasksAs.registration_endpoint === `${tasks.issuer}/reg`, { issuer: tasksAs.issuer, registration_endpoint: tasksAs.registration_endpoint });
    check('AS metadata: only public clients (token_endpoint_auth_methods_supported = [none])', JSON.stringify(tasksAs.token_endpoint_auth_methods_supported) === '["none"]', tasksAs.token_endpoint_auth_methods_supported);
    check('AS metadata: PKCE S256, RFC 9207 iss, DPoP', tasksAs.code_challenge_methods_supported?.includes('S256') === true && tasksAs.authorization_response_iss_parameter_supported === true && (tasksAs.dpop_signing_alg_values_supported?.length ?? 0) > 0);

    const registrationEndpoint = tasksAs.registration_endpoint ?? '';
    const regPreflight = await fetch(registrationEndpoint, { method: 'OPTIONS', headers: { origin: appOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    check('registration preflight from the app origin → 204 + CORS', regPreflight.status === 204 && regPreflight.headers.get('access-control-allow-origin') === appOrigin && /POST/.test(regPreflight.headers.get('access-control-allow-methods') ?? '') && /content-type/i.test(regPreflight.headers.get('access-control-allow-headers') ?? ''), { status: regPreflight.status, headers: Object.fromEntries(regPreflight.headers) });
    const foreignPreflight = await fetch(registrationEndpoint, { method: 'OPTIONS', headers: { origin: 'http://evil.localhost:1', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    check('registration preflight from a foreign origin gets no CORS', foreignPreflight.headers.get('access-control-allow-origin') === null);

    // exactly what sw/registration.ts register() sends, for a worker at appOrigin
    const redirectUri = `${appOrigin}/oauth/callback/${encodeURIComponent(issuerUrl.host)}`;
    const registration = await oauth.dynamicClientRegistrationRequest(
      tasksAs,
      {
        redirect_uris: [redirectUri],
        client_name: 'Smoke test',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        application_type: 'native',
      },
      { ...insecure, headers: { origin: appOrigin } },
    );
    check('registration answer readable from the app origin (CORS)', registration.headers.get('access-control-allow-origin') === appOrigin, Object.fromEntries(registration.headers));
    const registered = await oauth.processDynamicClientRegistrationResponse(registration);
    console.log(`      (registered: ${JSON.stringify(registered)})`);
    check('registered: 201, a client_id, public native client, our redirect URI', registration.status === 201 && typeof registered.client_id === 'string' && registered.token_endpoint_auth_method === 'none' && registered.application_type === 'native' && JSON.stringify(registered.redirect_uris) === JSON.stringify([redirectUri]), registered);
    check('no client secret, no registration access token', !('client_secret' in registered) && !('registration_access_token' in registered));
    const webClient = await oauth.processDynamicClientRegistrationResponse(
      await oauth.dynamicClientRegistrationRequest(tasksAs, { redirect_uris: [`${otherAppOrigin}/oauth/callback`], application_type: 'web' }, insecure),
    );
    check('a minimal web registration gets public-client defaults', webClient.token_endpoint_auth_method === 'none' && JSON.stringify(webClient.grant_types) === '["authorization_code","refresh_token"]', webClient);

    const refused: [string, Record<string, unknown>, string][] = [
      ['a foreign origin', { redirect_uris: ['https://evil.example/oauth/callback'] }, 'invalid_redirect_uri'],
      ['another loopback port', { redirect_uris: ['http://localhost:1/oauth/callback'], application_type: 'native' }, 'invalid_redirect_uri'],
      ['another path of the app origin', { redirect_uris: [`${appOrigin}/somewhere/else`] }, 'invalid_redirect_uri'],
      ['two segments below /oauth/callback', { redirect_uris: [`${appOrigin}/oauth/callback/a/b`] }, 'invalid_redirect_uri'],
      ['a query', { redirect_uris: [`${appOrigin}/oauth/callback?next=https://evil.example`] }, 'invalid_redirect_uri'],
      ['a post-logout redirect elsewhere', { redirect_uris: [redirectUri], post_logout_redirect_uris: ['https://evil.example/'] }, 'invalid_client_metadata'],
      ['a confidential client', { redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic' }, 'invalid_client_metadata'],
    ];
    for (const [what, metadata, error] of refused) {
      const response = await fetch(registrationEndpoint, { method: 'POST', headers: { 'content-type': 'application/json', origin: appOrigin }, body: JSON.stringify(metadata) });
      const body = (await response.json()) as { error?: string; error_description?: string };
      check(`registration with ${what} → 400 ${error}`, response.status === 400 && body.error === error && response.headers.get('access-control-allow-origin') === appOrigin, { status: response.status, body });
      if (what === 'a foreign origin') console.log(`      (${body.error}: ${body.error_description})`);
    }

    const tasksClient = { clientId: registered.client_id, redirectUri };
    const otherPort = await authorizeRaw(tasksAs, registered.client_id, `http://localhost:${cfg.basePort + 8}/oauth/callback/${encodeURIComponent(issuerUrl.host)}`);
    check('native client, same path on another loopback port → 400 page, no redirect', otherPort.status === 400 && otherPort.headers.get('location') === null, otherPort.status);

    const client: oauth.Client = { client_id: registered.client_id, token_endpoint_auth_method: 'none' };
    const dpop = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const codeGrant = async (result: AuthorizeResult) => {
      const params = oauth.validateAuthResponse(tasksAs, client, result.callback, result.state);
      return withDpopNonce(async () => {
        const response = await oauth.authorizationCodeGrantRequest(tasksAs, client, oauth.None(), params, redirectUri, result.codeVerifier, {
          ...insecure,
          DPoP: dpop,
          headers: { origin: appOrigin },
          additionalParameters: { resource: tasks.mcpUrl },
        });
        const cors = response.headers.get('access-control-allow-origin');
        return { cors, ...(await oauth.processAuthorizationCodeResponse(tasksAs, client, response)) };
      });
    };
    const mcpCall = (token: string, method: string, params: unknown) =>
      withDpopNonce(() =>
        oauth.protectedResourceRequest(
          token,
          'POST',
          new URL(tasks.mcpUrl),
          new Headers({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', origin: appOrigin }),
          JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
          { ...insecure, DPoP: dpop },
        ),
      );

    const tasksRead = await authorize(tasksAs as AsMetadata, 'tasks:read', tasks.mcpUrl, { client: tasksClient });
    check('Tasks AS: login page then consent page', JSON.stringify(tasksRead.pages) === '["login","consent"]', tasksRead.pages);
    check('consent lists tasks:read as new', JSON.stringify(consentScopes(tasksRead.consentHtml)) === '{"tasks:read":"new"}', consentScopes(tasksRead.consentHtml));
    check('consent names the registered client', tasksRead.consentHtml?.includes('<strong>Smoke test</strong>') === true);
    const readGrant = await codeGrant(tasksRead);
    check('code → DPoP-bound token for the Tasks MCP server', readGrant.token_type === 'dpop' && decodeJwt(readGrant.access_token).aud === tasks.mcpUrl && readGrant.scope === 'tasks:read' && typeof (decodeJwt(readGrant.access_token).cnf as { jkt?: unknown } | undefined)?.jkt === 'string', { token_type: readGrant.token_type, scope: readGrant.scope });
    check('token endpoint CORS for the registered app origin', readGrant.cors === appOrigin, readGrant.cors);
    check('refresh token issued', typeof readGrant.refresh_token === 'string');
    const foreignToken = await fetch(tasksAs.token_endpoint ?? '', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: otherAppOrigin },
      body: new URLSearchParams({ client_id: registered.client_id, grant_type: 'refresh_token', refresh_token: readGrant.refresh_token ?? '' }),
    });
    check("another app origin cannot use this client at the token endpoint", foreignToken.status === 400 && foreignToken.headers.get('access-control-allow-origin') === null, foreignToken.status);

    const listed = await rpcResult(await mcpCall(readGrant.access_token, 'tools/call', { name: 'list-tasks', arguments: {} }));
    check('list-tasks with the DPoP-bound token', textOf(listed.result).includes('#2 Add a task of your own'), listed);
    const toolNames = ((await rpcResult(await mcpCall(readGrant.access_token, 'tools/list', {}))).result as { tools?: { name: string }[] } | undefined)?.tools?.map((t) => t.name);
    check('tools/list', JSON.stringify(toolNames) === '["list-tasks","add-task","complete-task","clear-done"]', toolNames);
    let stepUp: unknown;
    try {
      await mcpCall(readGrant.access_token, 'tools/call', { name: 'add-task', arguments: { title: '' } });
    } catch (error) {
      stepUp = error;
    }
    const stepUpChallenge = stepUp instanceof oauth.WWWAuthenticateChallengeError ? stepUp.cause[0] : undefined;
    check('add-task → 403 insufficient_scope scope="tasks:write"', stepUpChallenge?.parameters.error === 'insufficient_scope' && stepUpChallenge.parameters.scope === 'tasks:write', stepUpChallenge ?? String(stepUp));

    const tasksWrite = await authorize(tasksAs as AsMetadata, 'tasks:read tasks:write', tasks.mcpUrl, { client: tasksClient });
    check('step-up: one consent, tasks:write new', JSON.stringify(tasksWrite.pages) === '["consent"]' && JSON.stringify(consentScopes(tasksWrite.consentHtml)) === '{"tasks:read":"granted","tasks:write":"new"}', { pages: tasksWrite.pages, scopes: consentScopes(tasksWrite.consentHtml) });
    const writeGrant = await codeGrant(tasksWrite);
    const added = await rpcResult(await mcpCall(writeGrant.access_token, 'tools/call', { name: 'add-task', arguments: { title: '' } }));
    check("add-task with an empty title (the generic form's '') → Untitled task", textOf(added.result) === 'Added task #3: Untitled task', added);
    const completed = await rpcResult(await mcpCall(writeGrant.access_token, 'tools/call', { name: 'complete-task', arguments: { id: '' } }));
    check('complete-task with an empty id completes the oldest open task', textOf(completed.result) === 'Completed task #2: Add a task of your own', completed);
    const refreshed = await withDpopNonce(async () =>
      oauth.processRefreshTokenResponse(tasksAs, client, await oauth.refreshTokenGrantRequest(tasksAs, client, oauth.None(), writeGrant.refresh_token ?? '', { ...insecure, DPoP: dpop, headers: { origin: appOrigin } })),
    );
    check('refresh with DPoP → tasks:read tasks:write', refreshed.scope === 'tasks:read tasks:write' && refreshed.token_type === 'dpop', refreshed.scope);

    const registrations = tasks.as.log.registrations ?? [];
    check('AS log: registrations with origin and outcome', registrations[0]?.status === 201 && registrations[0].origin === appOrigin && registrations[0].clientId === registered.client_id && registrations.some((r) => r.error === 'invalid_redirect_uri'), registrations.slice(0, 2));

    const demoAgain = await authorize(asMeta, 'notes:read', cfg.notesUrl);
    check("the demo AS's session survives the Tasks AS (own cookie names on the same host): no login page", !demoAgain.pages.includes('login') && demoAgain.callback.has('code'), demoAgain.pages);
  } finally {
    await tasks.close();
  }
} finally {
  await Promise.all([as.close(), notes.close(), calendar.close()]);
}

console.log(failures === 0 ? '\nsmoke: all checks passed' : `\nsmoke: ${failures} check(s) FAILED`);
process.exitCode = failures === 0 ? 0 : 1;
