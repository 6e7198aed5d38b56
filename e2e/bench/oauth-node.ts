// An access token obtained by the harness itself, from Node, for the "without the worker" side:
// the authorization server's login and consent pages driven with fetch and a small cookie jar, then
// the code + PKCE exchange (the same flow as servers/smoke.ts). Nothing here runs in the browser.
import { createHash, randomBytes } from 'node:crypto';

import type { DemoConfig } from '../../servers/config.ts';
import { CookieJar } from '../../servers/cookie-jar.ts';

export interface NodeToken {
  accessToken: string;
  scope: string;
  expiresIn: number;
}

/** Signs in as `user`, allows `scope` for `resource`, and exchanges the code. */
export async function tokenFromNode(cfg: DemoConfig, resource: string, scope: string, user = 'bench-direct'): Promise<NodeToken> {
  const jar = new CookieJar();
  const browse = async (url: URL, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    const cookies = jar.header(url);
    if (cookies) headers.set('cookie', cookies);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    jar.store(response, url);
    return response;
  };
  const metadata = (await (await fetch(`${cfg.issuer}/.well-known/oauth-authorization-server`)).json()) as {
    authorization_endpoint: string;
    token_endpoint: string;
  };
  const codeVerifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const start = new URL(metadata.authorization_endpoint);
  start.search = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.clientId,
    redirect_uri: cfg.redirectUri,
    scope,
    resource,
    state,
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();

  let current = start;
  let response = await browse(current);
  let code: string | undefined;
  for (let hop = 0; hop < 20 && !code; hop++) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, current);
      if (next.href.startsWith(cfg.redirectUri)) {
        if (next.searchParams.get('state') !== state) throw new Error('state mismatch');
        code = next.searchParams.get('code') ?? undefined;
        if (!code) throw new Error(`authorization failed: ${next.search}`);
        break;
      }
      current = next;
      response = await browse(current);
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`unexpected ${response.status} at ${current}: ${html.slice(0, 200)}`);
    const login = /<form method="post" action="([^"]+\/login)"/.exec(html)?.[1];
    const confirm = /<form method="post" action="([^"]+\/confirm)"/.exec(html)?.[1];
    const action = login ?? confirm;
    if (!action) throw new Error(`unexpected page at ${current}: ${html.slice(0, 200)}`);
    current = new URL(action, current);
    response = await browse(current, {
      method: 'POST',
      ...(login ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ login: user }) } : {}),
    });
  }
  if (!code) throw new Error('no authorization code after 20 hops');
  const token = await fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: cfg.appOrigin },
    body: new URLSearchParams({
      client_id: cfg.clientId,
      grant_type: 'authorization_code',
      code,
      redirect_uri: cfg.redirectUri,
      code_verifier: codeVerifier,
      resource,
    }),
  });
  const body = (await token.json()) as { access_token?: string; scope?: string; expires_in?: number; error?: string };
  if (!body.access_token) throw new Error(`token request failed: ${JSON.stringify(body)}`);
  return { accessToken: body.access_token, scope: body.scope ?? '', expiresIn: body.expires_in ?? 0 };
}
