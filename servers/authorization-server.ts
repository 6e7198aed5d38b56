/**
 * The demo's OAuth 2.1 authorization server: a real oidc-provider (v9)
 * instance with
 *
 *  - one pre-registered public client (PKCE S256 required, no client secret),
 *  - RFC 8707 resource indicators for exactly the configured MCP servers, each with its
 *    own scope list, issuing JWT access tokens whose `aud` is the MCP server URL,
 *  - refresh tokens without `offline_access` (rotated on every use, the
 *    oidc-provider default for public clients),
 *  - RFC 9207 `iss` in every authorization response,
 *  - CORS for the app's origin on the token endpoint (discovery and JWKS are open),
 *  - small custom login and consent pages, consent asked once per new scope,
 *  - `GET /__log` / `POST /__log/reset` to observe authorization and token
 *    requests (never tokens, codes or verifiers),
 *  - optionally (`dynamicRegistration`), open Dynamic Client Registration (RFC 7591) for public
 *    PKCE clients whose redirect URIs are under an app origin's `/oauth/callback`, with CORS for
 *    the app origins on the registration endpoint (the Tasks world, servers/tasks.ts).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair } from 'jose';
import Provider, {
  errors,
  type Adapter,
  type AdapterFactory,
  type AdapterPayload,
  type Configuration,
  type KoaContextWithOIDC,
} from 'oidc-provider';

/** One resource server (MCP server) the authorization server issues tokens for. */
export interface ResourceServerInfo {
  /** Human-readable name, shown on the consent page. */
  name: string;
  /** Every scope of this resource, with the sentence the consent page shows for it. */
  scopes: readonly { scope: string; description: string }[];
}

export interface AuthorizationServerConfig {
  /** Issuer identifier (no trailing slash); its port is where the server listens unless `port` is given. */
  issuer: string;
  /**
   * Every origin the app may be served from: the pre-registered client's redirect URIs are their
   * `/oauth/callback`, and the token, revocation (and registration) endpoints answer them with CORS.
   */
  appOrigins: readonly string[];
  /** The pre-registered public client, if any. */
  clientId?: string;
  /** Access-token lifetime in seconds. */
  accessTokenTtl: number;
  /** DPoP (RFC 9449): tokens bound to the client's key when it sends a proof; nonces required. */
  dpop: boolean;
  /** The resource servers this server issues tokens for, keyed by resource URL (the RFC 8707 indicator). */
  resources: ReadonlyMap<string, ResourceServerInfo>;
  /**
   * Open Dynamic Client Registration (RFC 7591): any app origin's worker may register a public
   * PKCE client (`token_endpoint_auth_method: none`), `web` or `native`, whose redirect URIs are
   * `<app origin>/oauth/callback` or one path segment below it. Off by default.
   */
  dynamicRegistration?: boolean;
  /**
   * Appended to oidc-provider's cookie names (`_session`, `_interaction`, `_interaction_resume`).
   * Cookies are per host, not per port: two authorization servers on localhost with the same names
   * would overwrite each other's sessions (signing in at one signs you out of the other).
   */
  cookieSuffix?: string;
  /**
   * Pushed authorization requests (RFC 9126): `allowed` (oidc-provider's default: advertised,
   * optional), `required` (the only way to authorize), or `off` (not advertised).
   */
  pushedAuthorizationRequests?: 'allowed' | 'required' | 'off';
}

export interface AuthorizationLogEntry {
  /** ISO timestamp. */
  at: string;
  clientId?: string;
  /** The requested scope, as sent. */
  scope?: string;
  /** The requested resource indicator(s), as sent. */
  resource?: string | string[];
  state?: string;
  /** `prompt` parameter, when sent. */
  prompt?: string;
  /** The parameters were pushed first (RFC 9126): the browser brought only a `request_uri`. */
  pushed?: boolean;
  /**
   * What happened, updated as the request progresses:
   * `login` / `consent` (an interaction page was shown), `code` (redirected back
   * with a code), `error` (redirected back or rendered with an error).
   */
  outcome?: 'login' | 'consent' | 'code' | 'error';
  /** OAuth error code when `outcome` is `error`. */
  error?: string;
}

export interface TokenLogEntry {
  at: string;
  grantType?: string;
  /** The resource the issued token is for (requested `resource`, else the token's `aud`). */
  resource?: string;
  /** The granted scope (token response `scope`), or the requested one when the request failed. */
  scope?: string;
  /** The `scope` parameter of the request itself (a refresh that sends none cannot widen the grant). */
  requestedScope?: string;
  status: number;
  error?: string;
  /** Whether the response carried a refresh token. */
  refreshToken?: boolean;
  /** The server's own reason for refusing a grant (oidc-provider's error_detail, not sent to the client). */
  detail?: string;
}

export interface RevocationLogEntry {
  at: string;
  tokenTypeHint?: string;
  status: number;
}

/** One Dynamic Client Registration request (only with `dynamicRegistration`). */
export interface RegistrationLogEntry {
  at: string;
  /** The `Origin` header of the request, when sent (a browser's worker sends its app's origin). */
  origin?: string;
  status: number;
  /** The issued client_id, when registered. */
  clientId?: string;
  clientName?: string;
  applicationType?: string;
  redirectUris?: string[];
  /** OAuth error code when refused. */
  error?: string;
  errorDescription?: string;
}

export interface AuthorizationServerLog {
  authorizations: AuthorizationLogEntry[];
  tokens: TokenLogEntry[];
  revocations: RevocationLogEntry[];
  /** Present only when `dynamicRegistration` is on. */
  registrations?: RegistrationLogEntry[];
}

export type AuthorizationServerEvent =
  | ({ kind: 'authorization' } & AuthorizationLogEntry)
  | ({ kind: 'token' } & TokenLogEntry)
  | ({ kind: 'registration' } & RegistrationLogEntry);

export interface AuthorizationServerOptions {
  /**
   * Called once per authorization request, once per token request and once per registration request
   * (no secrets in it).
   */
  onEvent?: (event: AuthorizationServerEvent) => void;
  /** Listen on this port instead of the one in `cfg.issuer`. */
  port?: number;
}

export interface RunningAuthorizationServer {
  url: string;
  issuer: string;
  provider: Provider;
  httpServer: Server;
  /** The in-memory log served at `/__log`. */
  log: AuthorizationServerLog;
  resetLog(): void;
  close(): Promise<void>;
}

export async function startAuthorizationServer(
  cfg: AuthorizationServerConfig,
  options: AuthorizationServerOptions = {},
): Promise<RunningAuthorizationServer> {
  const servers = cfg.resources;
  const dynamicRegistration = cfg.dynamicRegistration === true;
  // Interaction pages: no scripts, no framing; forms may only post here (and the redirect chain
  // after a form post may only end at the client's redirect URI).
  const HTML_HEADERS = {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${cfg.appOrigins.join(' ')}; frame-ancestors 'none'`,
  };
  const log: AuthorizationServerLog = { authorizations: [], tokens: [], revocations: [], ...(dynamicRegistration && { registrations: [] }) };
  /** interaction uid -> the authorization log entry that started it (to record the final outcome). */
  const entriesByInteraction = new Map<string, AuthorizationLogEntry>();

  const jwks = { keys: [await signingKey('ES256'), await signingKey('RS256')] };

  const configuration: Configuration = {
    clients: cfg.clientId === undefined
      ? []
      : [
          {
            client_id: cfg.clientId,
            client_name: 'MCP service worker demo',
            application_type: 'web',
            token_endpoint_auth_method: 'none',
            redirect_uris: cfg.appOrigins.map((origin) => `${origin}/oauth/callback`),
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
          },
        ],
    adapter: memoryAdapter(),
    jwks,
    cookies: {
      keys: [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')],
      ...(cfg.cookieSuffix && {
        names: { session: `_session${cfg.cookieSuffix}`, interaction: `_interaction${cfg.cookieSuffix}`, resume: `_interaction_resume${cfg.cookieSuffix}` },
      }),
    },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    interactions: {
      url: async (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    pkce: { required: () => true },
    features: {
      pushedAuthorizationRequests: {
        enabled: cfg.pushedAuthorizationRequests !== 'off',
        requirePushedAuthorizationRequests: cfg.pushedAuthorizationRequests === 'required',
      },
      devInteractions: { enabled: false },
      // a client may revoke only the tokens it was issued
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      // Sender-constrained tokens: a client that sends a DPoP proof gets tokens bound to its key, and
      // every proof must carry a nonce this server issued recently, so none can be signed in advance.
      dPoP: { enabled: cfg.dpop, nonceSecret: randomBytes(32), requireNonce: () => true },
      resourceIndicators: {
        enabled: true,
        // No resource requested -> no resource (the MCP servers would refuse such a token).
        defaultResource: async () => undefined,
        // A token request without `resource` gets the code's / refresh token's resource.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator, client) => {
          const server = servers.get(resourceIndicator);
          // Every client is either the pre-registered one or, with dynamicRegistration, one that
          // registered itself under an app origin's /oauth/callback.
          if (!server || (client.clientId !== cfg.clientId && !dynamicRegistration)) {
            throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          }
          return {
            scope: server.scopes.map((s) => s.scope).join(' '),
            audience: resourceIndicator,
            accessTokenFormat: 'jwt',
            accessTokenTTL: cfg.accessTokenTtl,
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
      ...(dynamicRegistration && {
        // Open registration (no initial access token); no registration access token either, as the
        // worker never reads or updates its registration (RFC 7592 management stays off).
        registration: { enabled: true, initialAccessToken: false, issueRegistrationAccessToken: false },
      }),
    },
    // The service worker (origin = the app's origin) calls the token and revocation endpoints with
    // fetch. A dynamically registered client is answered only on the app origin it registered for
    // (the origin of its redirect URIs).
    clientBasedCORS: (_ctx, origin, client) =>
      cfg.appOrigins.includes(origin) &&
      (client.clientId === cfg.clientId || (dynamicRegistration && client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) === true)),
    ...(dynamicRegistration && {
      // Every client is public: PKCE and no secret (also what the discovery document advertises).
      clientAuthMethods: ['none'],
      // What a registration that leaves these out gets (RFC 7591 §2 defaults would be a confidential
      // client without refresh tokens).
      clientDefaults: {
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      // The only hook oidc-provider offers to validate standard metadata of a registration: listed
      // properties go through `validator` (with a `ctx` for registration requests only).
      extraClientMetadata: {
        properties: ['redirect_uris', 'post_logout_redirect_uris', 'jwks_uri', 'sector_identifier_uri'],
        validator: (ctx, key, value) => {
          if (ctx) checkRegisteredUris(key, value, cfg.appOrigins);
        },
      },
    }),
    // Refresh tokens for this client without requiring `offline_access`.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AuthorizationCode: 60,
      Interaction: 60 * 60,
      Grant: 14 * 24 * 60 * 60,
      Session: 14 * 24 * 60 * 60,
      // oidc-provider's default: a rotated refresh token of a public web client keeps the remaining
      // lifetime of the one it replaces (rotation does not extend the 14 days).
      RefreshToken: (ctx, token, client) => {
        const rotated = ctx?.oidc?.entities.RotatedRefreshToken;
        if (rotated && client.applicationType === 'web' && client.clientAuthMethod === 'none' && !token.isSenderConstrained()) {
          return rotated.remainingTTL;
        }
        return 14 * 24 * 60 * 60;
      },
      AccessToken: cfg.accessTokenTtl,
      IdToken: 60 * 60,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page(
        'Something went wrong',
        `<h1>Something went wrong</h1>
         <p class="error"><code>${esc(String(out.error))}</code></p>
         ${out.error_description ? `<p>${esc(String(out.error_description))}</p>` : ''}`,
      );
    },
  };

  const provider = new Provider(cfg.issuer, configuration);
  const authorizationPath = new URL(provider.urlFor('authorization')).pathname;
  const tokenPath = new URL(provider.urlFor('token')).pathname;
  const revocationPath = new URL(provider.urlFor('revocation')).pathname;
  const registrationPath = dynamicRegistration ? new URL(provider.urlFor('registration')).pathname : undefined;

  if (dynamicRegistration) {
    // oidc-provider follows RFC 8252 §7.3: a native client's loopback redirect URI matches on any
    // port. A client registered for one app origin must not be sent to another local port, so here a
    // redirect URI must equal a registered one exactly (what web clients, the demo's among them, get).
    const client = provider.Client.prototype;
    client.redirectUriAllowed = function (this: typeof client, value: string) {
      return this.redirectUris?.includes(value) === true;
    };
    client.postLogoutRedirectUriAllowed = function (this: typeof client, value: string) {
      return this.postLogoutRedirectUris?.includes(value) === true;
    };
  }

  provider.on('grant.error', (ctx: KoaContextWithOIDC, error: { error_detail?: string }) => {
    (ctx.state as { grantError?: string }).grantError = error.error_detail;
  });

  provider.on('interaction.started', (ctx: KoaContextWithOIDC, prompt: { name: string }) => {
    const entry = (ctx.state as { authLogEntry?: AuthorizationLogEntry }).authLogEntry;
    const uid = ctx.oidc.entities.Interaction?.uid;
    if (entry && (prompt.name === 'login' || prompt.name === 'consent')) entry.outcome = prompt.name;
    if (entry && uid) entriesByInteraction.set(uid, entry);
  });

  // Observability: record authorization and token requests (never codes, tokens or verifiers).
  provider.use(async (ctx, next) => {
    const method = ctx.method.toUpperCase();
    if (registrationPath !== undefined && ctx.path === registrationPath) {
      // oidc-provider gives the registration endpoint no CORS at all; the worker registers from its
      // app's origin with fetch (a JSON POST, so the browser sends a preflight first).
      const origin = ctx.get('origin');
      const allowed = origin !== '' && cfg.appOrigins.includes(origin);
      ctx.vary('Origin');
      if (method === 'OPTIONS') {
        if (allowed) {
          ctx.set({
            'access-control-allow-origin': origin,
            'access-control-allow-methods': 'POST',
            'access-control-allow-headers': 'Content-Type, Authorization',
            'access-control-max-age': '600',
          });
        }
        ctx.status = 204;
        return;
      }
      if (method !== 'POST') return next();
      const entry: RegistrationLogEntry = { at: new Date().toISOString(), status: 0 };
      try {
        await next();
      } finally {
        if (allowed) ctx.set({ 'access-control-allow-origin': origin, 'access-control-expose-headers': 'WWW-Authenticate' });
        const body = (ctx.body ?? {}) as Record<string, unknown>;
        entry.status = ctx.status;
        assignDefined(entry, {
          origin: origin || undefined,
          clientId: str(body.client_id),
          clientName: str(body.client_name),
          applicationType: str(body.application_type),
          redirectUris: Array.isArray(body.redirect_uris) ? body.redirect_uris.map(String) : undefined,
          error: str(body.error),
          errorDescription: str(body.error_description),
        });
        log.registrations?.push(entry);
        options.onEvent?.({ kind: 'registration', ...entry });
      }
      return;
    }
    if (ctx.path === authorizationPath && (method === 'GET' || method === 'POST')) {
      const q = ctx.query;
      const entry: AuthorizationLogEntry = { at: new Date().toISOString() };
      (ctx.state as { authLogEntry?: AuthorizationLogEntry }).authLogEntry = entry;
      try {
        await next();
      } finally {
        // what the request asked for, pushed (RFC 9126) or not: oidc-provider resolves a request_uri into its params
        const params = ((ctx as KoaContextWithOIDC).oidc?.params ?? (method === 'GET' ? q : {})) as Record<string, unknown>;
        const sent = (method === 'GET' ? q : params) as Record<string, unknown>;
        assignDefined(entry, {
          clientId: str(params.client_id),
          scope: str(params.scope),
          resource: strOrList(params.resource),
          state: str(params.state),
          prompt: str(params.prompt),
          pushed: sent.request_uri !== undefined ? true : undefined,
        });
        settleOutcome(entry, ctx.response.get('location'), ctx.status);
        log.authorizations.push(entry);
        options.onEvent?.({ kind: 'authorization', ...entry });
      }
      return;
    }
    if (ctx.path.startsWith(`${authorizationPath}/`) && method === 'GET') {
      // Resume after an interaction: record the final outcome on the original entry.
      const uid = ctx.path.slice(authorizationPath.length + 1);
      const entry = entriesByInteraction.get(uid);
      // Lets 'interaction.started' link a follow-up interaction (login -> consent) to the same entry.
      if (entry) (ctx.state as { authLogEntry?: AuthorizationLogEntry }).authLogEntry = entry;
      await next();
      if (entry) {
        entriesByInteraction.delete(uid);
        settleOutcome(entry, ctx.response.get('location'), ctx.status);
      }
      return;
    }
    if (ctx.path === tokenPath && method === 'POST') {
      const at = new Date().toISOString();
      try {
        await next();
      } finally {
        const params = ((ctx as KoaContextWithOIDC).oidc?.params ?? {}) as Record<string, unknown>;
        const body = (ctx.body ?? {}) as Record<string, unknown>;
        const entry: TokenLogEntry = { at, status: ctx.status };
        assignDefined(entry, {
          grantType: str(params.grant_type),
          resource: str(params.resource) ?? audienceOf(body.access_token),
          scope: str(body.scope) ?? str(params.scope),
          requestedScope: str(params.scope),
          error: str(body.error),
          detail: (ctx.state as { grantError?: string }).grantError,
          refreshToken: ctx.status === 200 ? typeof body.refresh_token === 'string' : undefined,
        });
        log.tokens.push(entry);
        options.onEvent?.({ kind: 'token', ...entry });
      }
      return;
    }
    if (ctx.path === revocationPath && method === 'POST') {
      const at = new Date().toISOString();
      try {
        await next();
      } finally {
        const params = ((ctx as KoaContextWithOIDC).oidc?.params ?? {}) as Record<string, unknown>;
        const entry: RevocationLogEntry = { at, status: ctx.status };
        assignDefined(entry, { tokenTypeHint: str(params.token_type_hint) });
        log.revocations.push(entry);
      }
      return;
    }
    await next();
  });

  const oidcCallback = provider.callback();

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('[authorization-server]', error);
      if (!res.headersSent) {
        res.writeHead(500, HTML_HEADERS);
        res.end(page('Error', '<h1>Internal error</h1>'));
      } else {
        res.destroy();
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', cfg.issuer);
    const method = (req.method ?? 'GET').toUpperCase();

    if (url.pathname === '/__log' || url.pathname === '/__log/reset') {
      const cors = { 'access-control-allow-origin': '*', 'cache-control': 'no-store' };
      if (method === 'OPTIONS') {
        res.writeHead(204, { ...cors, 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'content-type' });
        res.end();
      } else if (url.pathname === '/__log' && method === 'GET') {
        res.writeHead(200, { ...cors, 'content-type': 'application/json' });
        res.end(JSON.stringify(log));
      } else if (url.pathname === '/__log/reset' && method === 'POST') {
        resetLog();
        res.writeHead(204, cors);
        res.end();
      } else {
        res.writeHead(405, cors);
        res.end();
      }
      return;
    }

    const interaction = /^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?$/.exec(url.pathname);
    if (interaction) {
      await handleInteraction(req, res, interaction[2], method);
      return;
    }

    oidcCallback(req, res);
  }

  async function handleInteraction(
    req: IncomingMessage,
    res: ServerResponse,
    action: string | undefined,
    method: string,
  ): Promise<void> {
    let details: Awaited<ReturnType<Provider['interactionDetails']>>;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      res.writeHead(400, HTML_HEADERS);
      res.end(
        page(
          'Sign-in expired',
          '<h1>This sign-in link has expired</h1><p>Go back to the app and try again.</p>',
        ),
      );
      return;
    }
    const { uid, prompt, params, session, grantId } = details;
    const client = await provider.Client.find(String(params.client_id));
    const clientName = client?.clientName ?? String(params.client_id);

    if (action === undefined && method === 'GET') {
      res.writeHead(200, HTML_HEADERS);
      if (prompt.name === 'login') {
        res.end(loginPage(uid, clientName));
      } else {
        const existing = grantId ? await provider.Grant.find(grantId) : undefined;
        res.end(consentPage(uid, clientName, session?.accountId, requestedResources(params, existing)));
      }
      return;
    }

    if (method !== 'POST') {
      res.writeHead(405, { allow: 'POST' });
      res.end();
      return;
    }

    if (action === 'abort') {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The user denied the request' },
        { mergeWithLastSubmission: false },
      );
      return;
    }

    if (action === 'login') {
      if (prompt.name !== 'login') {
        res.writeHead(400, HTML_HEADERS);
        res.end(page('Error', '<h1>Unexpected sign-in</h1>'));
        return;
      }
      const form = await readForm(req);
      const login = form.get('login')?.trim();
      if (!login) {
        res.writeHead(400, HTML_HEADERS);
        res.end(loginPage(uid, clientName, 'Please enter a username.'));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
      return;
    }

    // action === 'confirm'
    if (prompt.name !== 'consent' || !session) {
      res.writeHead(400, HTML_HEADERS);
      res.end(page('Error', '<h1>Nothing to allow</h1>'));
      return;
    }
    const grant =
      (grantId ? await provider.Grant.find(grantId) : undefined) ??
      new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
    const missingOIDCScope = prompt.details.missingOIDCScope;
    if (Array.isArray(missingOIDCScope)) grant.addOIDCScope(missingOIDCScope.map(String));
    const missingOIDCClaims = prompt.details.missingOIDCClaims;
    if (Array.isArray(missingOIDCClaims)) grant.addOIDCClaims(missingOIDCClaims.map(String));
    for (const { resource, requested } of requestedResources(params, undefined)) {
      if (requested.length > 0) grant.addResourceScope(resource, requested.map((s) => s.scope));
    }
    const savedGrantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId: savedGrantId } }, { mergeWithLastSubmission: true });
  }

  interface RequestedResource {
    resource: string;
    name: string;
    requested: { scope: string; description: string; isNew: boolean }[];
  }

  /** For each requested resource: the requested scopes it knows, each marked new or already granted. */
  function requestedResources(
    params: Record<string, unknown>,
    existing: InstanceType<Provider['Grant']> | undefined,
  ): RequestedResource[] {
    const scopes = new Set(String(params.scope ?? '').split(' ').filter(Boolean));
    const resources = strOrList(params.resource);
    const list = resources === undefined ? [] : Array.isArray(resources) ? resources : [resources];
    return list.map((resource) => {
      const server = servers.get(resource);
      const granted = new Set((existing?.getResourceScope(resource) ?? '').split(' ').filter(Boolean));
      const requested = (server?.scopes ?? [])
        .filter((s) => scopes.has(s.scope))
        .map(({ scope, description }) => ({ scope, description, isNew: !granted.has(scope) }));
      return { resource, name: server?.name ?? resource, requested };
    });
  }

  function loginPage(uid: string, clientName: string, error?: string): string {
    return page(
      'Sign in',
      `<h1>Sign in</h1>
       <p><strong>${esc(clientName)}</strong> wants to use your account.</p>
       <form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
         <label for="login">Username <small>(any name works in this demo)</small></label>
         <input id="login" name="login" required autofocus placeholder="alice">
         ${error ? `<p class="error">${esc(error)}</p>` : ''}
         <button type="submit" class="primary">Sign in</button>
       </form>`,
    );
  }

  function consentPage(uid: string, clientName: string, accountId: string | undefined, resources: RequestedResource[]): string {
    const sections = resources
      .map(
        (r) => `<section class="resource">
          <h2>${esc(r.name)} <small>${esc(r.resource)}</small></h2>
          <ul class="scopes">
            ${r.requested
              .map(
                (s) =>
                  `<li class="scope" data-state="${s.isNew ? 'new' : 'granted'}" data-note="${esc(
                    `${s.description} · ${s.isNew ? 'new' : 'already granted'}`,
                  )}">${esc(s.scope)}</li>`,
              )
              .join('')}
          </ul>
        </section>`,
      )
      .join('');
    return page(
      'Allow access?',
      `<h1>Allow access?</h1>
       <p><strong>${esc(clientName)}</strong> is asking for the permissions below${
         accountId ? ` on behalf of <strong>${esc(accountId)}</strong>` : ''
       }. Permissions marked <span class="tag new">new</span> have not been granted before.</p>
       ${sections || '<p>No permissions are requested.</p>'}
       <div class="actions">
         <form method="post" action="/interaction/${esc(uid)}/abort"><button type="submit">Deny</button></form>
         <form method="post" action="/interaction/${esc(uid)}/confirm"><button type="submit" class="primary" autofocus>Allow</button></form>
       </div>`,
    );
  }

  function resetLog(): void {
    log.authorizations.length = 0;
    log.tokens.length = 0;
    log.revocations.length = 0;
    if (log.registrations) log.registrations.length = 0;
    entriesByInteraction.clear();
  }

  const port = options.port ?? Number(new URL(cfg.issuer).port);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, 'localhost', () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const actualPort = (httpServer.address() as AddressInfo).port;

  return {
    url: `http://localhost:${actualPort}`,
    issuer: cfg.issuer,
    provider,
    httpServer,
    log,
    resetLog,
    close: () =>
      new Promise<void>((resolve, reject) => {
        httpServer.close((error) => (error ? reject(error) : resolve()));
        httpServer.closeAllConnections();
      }),
  };
}

/**
 * Client metadata a dynamic registration may carry (oidc-provider validates the rest): each redirect
 * URI is `<app origin>/oauth/callback` or one path segment below it (the worker registers
 * `/oauth/callback/<authorization server>`), without query, fragment or user info, so that this
 * server never sends a code or an error anywhere but to an app it serves. Post-logout redirect URIs
 * must be on an app origin. URIs this server would fetch (jwks_uri, sector_identifier_uri) are refused.
 */
function checkRegisteredUris(key: string, value: unknown, appOrigins: readonly string[]): void {
  if (value === undefined) return;
  if (key === 'jwks_uri' || key === 'sector_identifier_uri') {
    throw new errors.InvalidClientMetadata(`${key} is not supported by this server`);
  }
  // Not an array: oidc-provider's own checks refuse it.
  if (!Array.isArray(value)) return;
  for (const uri of value) {
    const url = typeof uri === 'string' ? URL.parse(uri) : null;
    const onAppOrigin = url !== null && appOrigins.includes(url.origin) && url.username === '' && url.password === '';
    if (key === 'redirect_uris') {
      if (!onAppOrigin || url.search !== '' || url.hash !== '' || !/^\/oauth\/callback(?:\/[^/]+)?$/.test(url.pathname)) {
        throw new errors.InvalidClientMetadata(
          `redirect_uris must be ${appOrigins.map((o) => `${o}/oauth/callback`).join(' or ')}, or one path segment below it; ${JSON.stringify(uri)} is not`,
        );
      }
    } else if (!onAppOrigin) {
      throw new errors.InvalidClientMetadata(`${key} must be on ${appOrigins.join(' or ')}; ${JSON.stringify(uri)} is not`);
    }
  }
}

async function signingKey(alg: 'ES256' | 'RS256') {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(6).toString('base64url')}` };
}

/**
 * A per-instance in-memory store for oidc-provider (sessions, grants, codes, tokens, interactions).
 * State is lost on restart, which is what a demo wants; unlike oidc-provider's built-in dev adapter
 * it is not shared between instances in one process and never evicts live entries.
 */
function memoryAdapter(): AdapterFactory {
  const store = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const index = new Map<string, string>(); // "uid:<uid>" / "userCode:<code>" -> key
  const grants = new Map<string, Set<string>>(); // grantId -> keys
  const live = (key: string) => {
    const entry = store.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry;
  };
  const sweep = setInterval(() => {
    for (const key of store.keys()) live(key);
  }, 60_000);
  sweep.unref();

  return (model: string): Adapter => {
    const keyFor = (id: string) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyFor(id);
        store.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
        if (typeof payload.uid === 'string' && model === 'Session') index.set(`uid:${payload.uid}`, key);
        if (typeof payload.userCode === 'string') index.set(`userCode:${payload.userCode}`, key);
        if (typeof payload.grantId === 'string') {
          const members = grants.get(payload.grantId) ?? new Set<string>();
          members.add(key);
          grants.set(payload.grantId, members);
        }
      },
      async find(id) {
        return live(keyFor(id))?.payload;
      },
      async findByUid(uid) {
        const key = index.get(`uid:${uid}`);
        return key ? live(key)?.payload : undefined;
      },
      async findByUserCode(userCode) {
        const key = index.get(`userCode:${userCode}`);
        return key ? live(key)?.payload : undefined;
      },
      async consume(id) {
        const entry = live(keyFor(id));
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        store.delete(keyFor(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of grants.get(grantId) ?? []) store.delete(key);
        grants.delete(grantId);
      },
    };
  };
}

function settleOutcome(entry: AuthorizationLogEntry, location: string, status: number): void {
  if (location) {
    if (location.includes('/interaction/')) {
      entry.outcome ??= 'login';
      return;
    }
    const url = URL.parse(location);
    const error = url?.searchParams.get('error') ?? new URLSearchParams(url?.hash.slice(1) ?? '').get('error');
    if (error) {
      entry.outcome = 'error';
      entry.error = error;
    } else if (url?.searchParams.has('code')) {
      entry.outcome = 'code';
    }
    return;
  }
  if (status >= 400) entry.outcome = 'error';
}

function audienceOf(token: unknown): string | undefined {
  if (typeof token !== 'string') return undefined;
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud?: unknown };
    return typeof payload.aud === 'string' ? payload.aud : Array.isArray(payload.aud) ? payload.aud.join(' ') : undefined;
  } catch {
    return undefined;
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function strOrList(value: unknown): string | string[] | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

function assignDefined<T extends object>(target: T, values: Partial<T>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) (target as Record<string, unknown>)[key] = value;
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(buf);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Demo authorization server</title>
<style>
  :root { color-scheme: light dark; --accent: #2563eb; --muted: #6b7280; --border: #d1d5db; --new: #b45309; --ok: #15803d; }
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; font: 16px/1.5 system-ui, sans-serif; background: Canvas; color: CanvasText; }
  main { width: min(30rem, 100% - 2rem); padding: 2rem; border: 1px solid var(--border); border-radius: 12px; }
  h1 { margin: 0 0 .5rem; font-size: 1.5rem; }
  h2 { margin: 1.25rem 0 .25rem; font-size: 1.05rem; }
  h2 small { display: block; font-weight: normal; color: var(--muted); font-size: .8rem; }
  label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
  label small { font-weight: normal; color: var(--muted); }
  input { width: 100%; padding: .6rem .75rem; font: inherit; border: 1px solid var(--border); border-radius: 8px; }
  button { padding: .6rem 1.2rem; font: inherit; border: 1px solid var(--border); border-radius: 8px; background: transparent; color: inherit; cursor: pointer; }
  button.primary { background: var(--accent); border-color: var(--accent); color: white; }
  form > button { margin-top: 1rem; }
  .actions { display: flex; justify-content: flex-end; gap: .75rem; margin-top: 1.5rem; }
  .actions form > button { margin: 0; }
  ul.scopes { list-style: none; padding: 0; margin: 0; }
  li.scope { font-family: ui-monospace, monospace; padding: .4rem .6rem; margin: .25rem 0; border: 1px solid var(--border); border-radius: 6px; }
  li.scope::after { content: attr(data-note); display: block; font-family: system-ui, sans-serif; font-size: .85rem; color: var(--muted); }
  li.scope[data-state="new"] { border-color: var(--new); border-left-width: 4px; }
  li.scope[data-state="granted"] { opacity: .75; }
  .tag.new { color: var(--new); font-weight: 600; }
  .error { color: #b91c1c; }
  footer { margin-top: 1.5rem; font-size: .8rem; color: var(--muted); }
</style>
</head>
<body>
<main>
${body}
<footer>Demo authorization server (oidc-provider). No real accounts.</footer>
</main>
</body>
</html>`;
}
