// validateCallback: the worker's own iss rule for a shared redirect URI, in front of oauth4webapi's
// checks, and the mapping of what oauth4webapi refuses onto the worker's error codes.
import type * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import type { StoredClient, StoredFlow } from './db.ts';
import { AuthError } from './errors.ts';
import { validateCallback } from './oauth.ts';

const ISSUER = 'https://as.example';
const STATE = 'state-0123456789abcdef';
const REDIRECT = 'http://localhost:4170/oauth/callback';

function authorizationServer(over: Partial<oauth.AuthorizationServer> = {}): oauth.AuthorizationServer {
  return { issuer: ISSUER, authorization_endpoint: `${ISSUER}/authorize`, token_endpoint: `${ISSUER}/token`, ...over };
}

const client: StoredClient = { issuer: ISSUER, clientId: 'pre-registered', tokenEndpointAuthMethod: 'none', redirectUri: REDIRECT };

function flow(requireIss: boolean): StoredFlow {
  return {
    state: STATE,
    serverId: 'notes',
    serverUrl: 'https://mcp.example/mcp',
    issuer: ISSUER,
    clientId: client.clientId,
    codeVerifier: 'v'.repeat(43),
    requested: ['notes:read'],
    resource: 'https://mcp.example/mcp',
    redirectUri: REDIRECT,
    requireIss,
    display: 'page',
    returnTo: 'http://localhost:4170/',
    resumes: [],
    createdAt: Date.now(),
    startedBy: 'window-1',
  };
}

function callback(params: Record<string, string>): URL {
  const url = new URL(REDIRECT);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url;
}

function refusal(run: () => unknown): AuthError {
  try {
    run();
  } catch (error) {
    if (error instanceof AuthError) return error;
    throw error;
  }
  throw new Error('expected the callback to be refused');
}

describe('validateCallback: iss for a shared redirect URI (RFC 9207, RFC 9700 §4.4.2)', () => {
  it('refuses a callback without iss when the redirect URI is shared and the server does not advertise iss', () => {
    const error = refusal(() => validateCallback(flow(true), authorizationServer(), client, callback({ code: 'c0de', state: STATE })));
    expect(error.code).toBe('iss_mismatch');
    expect(error.message).toMatch(/carries no issuer/);
  });

  it('accepts the same callback when the redirect URI is the server\'s own (requireIss false)', () => {
    const params = validateCallback(flow(false), authorizationServer(), client, callback({ code: 'c0de', state: STATE }));
    expect(params.get('code')).toBe('c0de');
  });

  it('accepts a callback with the right iss when the redirect URI is shared', () => {
    const as = authorizationServer({ authorization_response_iss_parameter_supported: true });
    for (const server of [as, authorizationServer()]) {
      const params = validateCallback(flow(true), server, client, callback({ code: 'c0de', state: STATE, iss: ISSUER }));
      expect(params.get('code')).toBe('c0de');
    }
  });

  it('refuses an iss of another authorization server, shared redirect URI or not', () => {
    for (const requireIss of [true, false]) {
      const as = authorizationServer({ authorization_response_iss_parameter_supported: true });
      const error = refusal(() => validateCallback(flow(requireIss), as, client, callback({ code: 'c0de', state: STATE, iss: 'https://evil.example' })));
      expect(error.code).toBe('iss_mismatch');
      expect(error.message).toMatch(/does not match/);
      expect(error.message).not.toContain('evil.example');
    }
  });

  it('refuses a callback without iss from a server that says it always sends one', () => {
    const as = authorizationServer({ authorization_response_iss_parameter_supported: true });
    const error = refusal(() => validateCallback(flow(false), as, client, callback({ code: 'c0de', state: STATE })));
    expect(error.code).toBe('iss_mismatch');
    expect(error.message).toMatch(/carries no issuer/);
  });
});

describe('validateCallback: state and error responses', () => {
  it('refuses a callback whose state is not the flow\'s', () => {
    const error = refusal(() => validateCallback(flow(false), authorizationServer(), client, callback({ code: 'c0de', state: 'another-state-0123456789' })));
    expect(error.code).toBe('state_mismatch');
  });

  it('maps access_denied and other error responses onto their codes', () => {
    const denied = refusal(() => validateCallback(flow(false), authorizationServer(), client, callback({ error: 'access_denied', state: STATE })));
    expect(denied.code).toBe('access_denied');
    const other = refusal(() => validateCallback(flow(false), authorizationServer(), client, callback({ error: 'server_error', error_description: 'down', state: STATE })));
    expect(other.code).toBe('authorization_server_error');
    expect(other.message).toContain('"server_error": down');
  });
});
