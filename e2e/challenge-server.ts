// A deliberately minimal protected resource for the browser tests: it challenges every request for
// the scope named in its query (so a burst of distinct challenges is easy to make), after `delay`
// milliseconds when asked, and it can serve broken or hostile metadata. The demo's real MCP servers
// cover the ordinary path.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type MetadataMode =
  | 'ok'
  | 'resource-mismatch'
  | 'issuer-mismatch'
  | 'insecure-endpoint'
  | 'as-error'
  | 'as-timeout'
  | 'no-pkce'
  /** The 401's scope unquoted (`scope=burst:read`), as some servers send it. */
  | 'bare-scope'
  /** The 401's resource_metadata is plain http on another machine. */
  | 'insecure-metadata';

/** An address no browser test may reach (TEST-NET-3, RFC 5737). */
export const INSECURE_METADATA = 'http://203.0.113.9/.well-known/oauth-protected-resource/mcp';

export interface ChallengeServer {
  url: string;
  origin: string;
  setMode(mode: MetadataMode): void;
  /** Every request received, with the Authorization header it carried. */
  received: Array<{ path: string; authorization?: string }>;
  close(): Promise<void>;
}

/**
 * `issuer`: the authorization server its metadata names; without one, the server is its own (with
 * no pushed authorization requests, so the scope is in the authorization URL a test can hold).
 */
export async function startChallengeServer(options: { appOrigin: string; issuer?: string }): Promise<ChallengeServer> {
  let mode: MetadataMode = 'ok';
  const received: ChallengeServer['received'] = [];
  let origin = '';
  // Lets the app's origin send anything (an attacker's server would): a token that reached the
  // browser's network stack for this origin is really sent, and shows up in `received`.
  const cors = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Access-Control-Allow-Origin', options.appOrigin);
    res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'Authorization, DPoP, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id');
    res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate, DPoP-Nonce');
    res.setHeader('Access-Control-Max-Age', '600');
  };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' });
    res.end(JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', origin);
    received.push({ path: url.pathname + url.search, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    if (url.pathname === '/.well-known/oauth-protected-resource/mcp' || url.pathname === '/.well-known/oauth-protected-resource') {
      const resource = mode === 'resource-mismatch' ? 'https://elsewhere.example/mcp' : `${origin}/mcp`;
      const issuer = mode === 'issuer-mismatch' || mode === 'insecure-endpoint' || mode === 'as-error' || mode === 'as-timeout' || mode === 'no-pkce' ? origin : (options.issuer ?? origin);
      return json(res, 200, { resource, authorization_servers: [issuer], scopes_supported: ['burst:read'] });
    }
    if (url.pathname === '/.well-known/oauth-authorization-server' || url.pathname === '/.well-known/openid-configuration') {
      if (mode === 'as-timeout') return; // never answers
      if (mode === 'as-error') return json(res, 500, { error: 'server_error' });
      const base = {
        issuer: mode === 'issuer-mismatch' ? 'https://evil.example' : origin,
        authorization_endpoint: mode === 'insecure-endpoint' ? 'http://evil.example/authorize' : `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        response_types_supported: ['code'],
      };
      return json(res, 200, mode === 'no-pkce' ? base : { ...base, code_challenge_methods_supported: ['S256'] });
    }
    if (url.pathname.startsWith('/mcp')) {
      cors(req, res);
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS' });
        return res.end();
      }
      const scope = url.searchParams.get('scope') ?? 'burst:read';
      const answer = () => {
        res.writeHead(401, {
          'Content-Type': 'application/json',
          'WWW-Authenticate':
            mode === 'bare-scope'
              ? `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp", scope=${scope}, error="invalid_token"`
              : mode === 'insecure-metadata'
                ? `Bearer resource_metadata="${INSECURE_METADATA}", scope="${scope}"`
                : `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp", scope="${scope}"`,
        });
        res.end(JSON.stringify({ error: 'invalid_token' }));
      };
      const delay = Number(url.searchParams.get('delay') ?? 0);
      if (delay > 0) setTimeout(answer, Math.min(delay, 10_000));
      else answer();
      return;
    }
    res.writeHead(404).end();
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/mcp`,
    origin,
    received,
    setMode: (next) => {
      mode = next;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
