// Everything read back from IndexedDB is input: any script of the origin can write there. Each
// check refuses what a hostile (or merely broken) page might plant, says why, and accepts what the
// worker itself writes.
import { describe, expect, it } from 'vitest';
import { TIMELINE_LIMIT } from './ledger.ts';
import { checkClient, checkConfig, checkFlow, checkNonces, checkServerRecord, checkToken, MAX_NONCE_ORIGINS, type Check } from './stored.ts';

const now = Date.now();
const TWO_DAYS = 2 * 86_400_000;

function refusal<T>(checked: Check<T>): string {
  if (checked.ok) throw new Error(`expected a refusal, got ${JSON.stringify(checked.value)}`);
  return checked.why;
}

function accepted<T>(checked: Check<T>): T {
  if (!checked.ok) throw new Error(`expected the record to pass, got: ${checked.why}`);
  return checked.value;
}

/** An array with a hole: IndexedDB's structured clone keeps holes, and Array.prototype.every skips them. */
function holey(...values: string[]): unknown[] {
  const list: unknown[] = [];
  list[1] = values[0];
  values.slice(1).forEach((v) => list.push(v));
  return list;
}

function serverRecord(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'notes',
    name: 'Notes',
    url: 'http://localhost:4172/mcp',
    requested: ['notes:read', 'notes:write'],
    granted: ['notes:read'],
    everRequested: ['notes:read'],
    authorizations: 1,
    timeline: [
      { kind: 'challenge', at: now - 2000, status: 401, operation: 'initialize', challenged: ['notes:read'], requested: ['notes:read'] },
      { kind: 'grant', at: now - 1000, requested: ['notes:read'], granted: ['notes:read'] },
    ],
    pending: { challenged: ['notes:write'], requested: ['notes:read', 'notes:write'], trigger: { status: 403, operation: 'tools/call add-note' }, at: now, clientId: 'window-1' },
    error: { code: 'scope_not_granted', message: 'Scope not granted', scopes: ['notes:write'] },
    ...over,
  };
}

function token(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    serverId: 'notes',
    serverUrl: 'https://mcp.example/mcp',
    issuer: 'https://as.example',
    resource: 'https://mcp.example/mcp',
    clientId: 'client',
    accessToken: 'at',
    refreshToken: 'rt',
    expiresAt: now + 3_600_000,
    scopes: ['notes:read'],
    requested: ['notes:read'],
    dpop: true,
    ...over,
  };
}

function flow(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    state: 'Zx8_k-3.q~' + 'a'.repeat(30),
    serverId: 'notes',
    serverUrl: 'https://mcp.example/mcp',
    issuer: 'https://as.example',
    clientId: 'client',
    codeVerifier: 'v'.repeat(43),
    requested: ['notes:read'],
    resource: 'https://mcp.example/mcp',
    redirectUri: 'https://app.example/oauth/callback/as.example',
    requireIss: false,
    returnTo: 'https://app.example/',
    display: 'page',
    resumes: [{ tool: 'add-note' }],
    createdAt: now,
    startedBy: 'window-1',
    ...over,
  };
}

function client(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { issuer: 'https://as.example', clientId: 'client', tokenEndpointAuthMethod: 'none', redirectUri: 'https://app.example/oauth/callback/as.example', ...over };
}

describe('checkServerRecord', () => {
  it('accepts a record the worker wrote, pending and error included', () => {
    const record = accepted(checkServerRecord(serverRecord()));
    expect(record).toEqual(serverRecord());
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a relative url (an honest typo)', { url: '/mcp' }, /url is not an https/],
    ['a javascript: url', { url: 'javascript:alert(1)' }, /url is not an https/],
    ['plain http off loopback', { url: 'http://203.0.113.9/mcp' }, /url is not an https/],
    ['a url with user info', { url: 'https://user:pw@mcp.example/mcp' }, /url is not an https/],
    ['a scope with a space', { requested: ['notes:read notes:admin'] }, /requested is not a list of OAuth scope tokens/],
    ['a scope with a quote', { granted: ['notes:"read'] }, /granted is not a list of OAuth scope tokens/],
    ['a scope that is not a string', { everRequested: ['notes:read', 42] }, /everRequested is not a list of OAuth scope tokens/],
    ['a scope list with a hole', { requested: holey('notes:read') }, /requested is not a list of OAuth scope tokens/],
    ['scopes as a string', { requested: 'notes:read' }, /requested is not a list/],
    ['a negative count', { authorizations: -1 }, /authorizations is not a count/],
    ['a pending authorization from the future', { pending: { ...(serverRecord()['pending'] as object), at: now + TWO_DAYS } }, /pending\.at is not a time/],
    ['a pending authorization that is not a record', { pending: 'yes' }, /pending is malformed/],
    ['a pending trigger with another status', { pending: { ...(serverRecord()['pending'] as object), trigger: { status: 500, operation: 'x' } } }, /pending\.trigger is malformed/],
    ['a pending authorization with a bad scope', { pending: { ...(serverRecord()['pending'] as object), requested: ['a b'] } }, /pending\.requested/],
    ['an error with an unknown code', { error: { code: 'pwned', message: 'click here' } }, /error is malformed/],
    ['an error without a message', { error: { code: 'access_denied' } }, /error\.message/],
    ['a timeline that is not a list', { timeline: {} }, /timeline is not a list/],
  ])('refuses %s, and says why', (_what, over, why) => {
    const reason = refusal(checkServerRecord(serverRecord(over)));
    expect(reason).toMatch(/^a stored server record "notes" was ignored: /);
    expect(reason).toMatch(why);
  });

  it('refuses what is not a record at all', () => {
    for (const value of [null, undefined, 'notes', 42, [serverRecord()]]) expect(refusal(checkServerRecord(value))).toMatch(/it is not a record/);
  });

  it('keeps the marks of a server a person added: its own client id, and that it was added', () => {
    expect(accepted(checkServerRecord(serverRecord({ added: true, clientId: 'pre-registered-1' })))).toEqual(serverRecord({ added: true, clientId: 'pre-registered-1' }));
    expect(refusal(checkServerRecord(serverRecord({ added: 'yes' })))).toMatch(/added/);
    expect(refusal(checkServerRecord(serverRecord({ clientId: '' })))).toMatch(/clientId/);
  });

  it('drops malformed timeline entries without refusing the record', () => {
    const circular: Record<string, unknown> = { kind: 'grant', at: now };
    circular['self'] = circular;
    const good = serverRecord()['timeline'] as unknown[];
    const timeline = [
      null,
      'grant',
      { kind: 'steal-tokens', at: now },
      { kind: 'grant' },
      { kind: 'grant', at: 'yesterday' },
      { kind: 'error', at: now, code: 'x', message: 'x'.repeat(10_000) },
      circular, // structured clone stores cycles; JSON.stringify throws on them
      { kind: 'retry', at: now, operation: 'x', ok: true, detail: 10n }, // and on BigInt
      ...good,
    ];
    const record = accepted(checkServerRecord(serverRecord({ timeline })));
    expect(record.timeline).toEqual(good);
  });

  it('keeps at most the last TIMELINE_LIMIT timeline entries', () => {
    const timeline = Array.from({ length: TIMELINE_LIMIT + 25 }, (_, i) => ({ kind: 'refresh', at: i, granted: [] }));
    const record = accepted(checkServerRecord(serverRecord({ timeline })));
    expect(record.timeline).toHaveLength(TIMELINE_LIMIT);
    expect(record.timeline[0]?.at).toBe(25);
  });
});

describe('checkToken', () => {
  it('accepts a DPoP-bound token', () => {
    expect(accepted(checkToken(token()))).toEqual(token());
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a bearer token (dpop: false): bearer tokens are never read from storage', { dpop: false }, /not DPoP-bound/],
    ['a token without dpop', { dpop: undefined }, /not DPoP-bound/],
    ['a token for a plain-http server off loopback', { serverUrl: 'http://203.0.113.9/mcp' }, /serverUrl is not an https/],
    ['a token for a javascript: issuer', { issuer: 'javascript:alert(1)' }, /issuer is not an https/],
    ['a token whose scopes have a space', { scopes: ['a b'] }, /scopes is not a list/],
    ['a token without an expiry', { expiresAt: 'never' }, /expiresAt is not a time/],
  ])('refuses %s', (_what, over, why) => {
    const reason = refusal(checkToken(token(over)));
    expect(reason).toMatch(/^a stored DPoP-bound token was ignored: /);
    expect(reason).toMatch(why);
  });
});

describe('checkFlow', () => {
  it('accepts a flow the worker stored', () => {
    expect(accepted(checkFlow(flow()))).toEqual(flow());
    expect(accepted(checkFlow(flow({ tab: crypto.randomUUID() })))).toHaveProperty('tab');
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a code verifier that is too short', { codeVerifier: 'short' }, /codeVerifier is malformed/],
    ['a code verifier that is too long', { codeVerifier: 'v'.repeat(129) }, /codeVerifier is malformed/],
    ['a code verifier with characters PKCE does not allow', { codeVerifier: `${'v'.repeat(43)}+/=` }, /codeVerifier is malformed/],
    ['a state with markup', { state: '<script>alert(1)</script>' }, /state is malformed/],
    ['a state that is too short', { state: 'abc' }, /state is malformed/],
    ['a state that is not a string', { state: 1234567890123456789 }, /state is malformed/],
    ['a flow created in the future', { createdAt: now + TWO_DAYS }, /createdAt is not a time/],
    ['a redirect URI on plain http off loopback', { redirectUri: 'http://evil.example/cb' }, /redirectUri is not an https/],
    ['a returnTo with a javascript: URL', { returnTo: 'javascript:alert(1)' }, /returnTo is not an https/],
    ['requireIss that is not a boolean', { requireIss: 'no' }, /requireIss is not true or false/],
    ['resumes that are not a list', { resumes: 'x' }, /resumes is not a list/],
    ['a tab name that is not a string', { tab: 42 }, /tab/],
    ['a tab name that is too long', { tab: 't'.repeat(101) }, /tab/],
  ])('refuses %s', (_what, over, why) => {
    const reason = refusal(checkFlow(flow(over)));
    expect(reason).toMatch(/^a stored authorization flow was ignored: /);
    expect(reason).toMatch(why);
  });
});

describe('checkClient', () => {
  it('accepts each token endpoint auth method the worker uses', () => {
    for (const method of ['none', 'client_secret_basic', 'client_secret_post']) {
      expect(accepted(checkClient(client({ tokenEndpointAuthMethod: method, clientSecret: 's' }))).tokenEndpointAuthMethod).toBe(method);
    }
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown token endpoint auth method', { tokenEndpointAuthMethod: 'private_key_jwt' }, /tokenEndpointAuthMethod is not one the worker uses/],
    ['a missing token endpoint auth method', { tokenEndpointAuthMethod: undefined }, /tokenEndpointAuthMethod/],
    ['an issuer on plain http off loopback', { issuer: 'http://203.0.113.9' }, /issuer is not an https/],
    ['an empty client id', { clientId: '' }, /clientId is not a string/],
  ])('refuses %s', (_what, over, why) => {
    const reason = refusal(checkClient(client(over)));
    expect(reason).toMatch(/^a stored client registration was ignored: /);
    expect(reason).toMatch(why);
  });
});

describe('checkConfig', () => {
  it('accepts a configuration the worker stored', () => {
    const config = { strategy: 'replace', clientId: 'c', clientMetadataUrl: 'https://app.example/client.json', clientName: 'Demo', offlineAccess: true, autoRedirect: false };
    expect(accepted(checkConfig(config))).toEqual(config);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['strategy "loop"', { strategy: 'loop' }, /strategy is neither "union" nor "replace"/],
    ['no strategy', {}, /strategy is neither/],
    ['a client metadata URL on http', { strategy: 'union', clientMetadataUrl: 'http://app.example/client.json' }, /clientMetadataUrl is not an https URL/],
    ['autoRedirect that is not a boolean', { strategy: 'union', autoRedirect: 'yes' }, /autoRedirect is not true or false/],
  ])('refuses %s', (_what, config, why) => {
    const reason = refusal(checkConfig(config));
    expect(reason).toMatch(/^a stored configuration was ignored: /);
    expect(reason).toMatch(why);
  });
});

describe('checkNonces', () => {
  it('accepts the nonces the worker kept, by origin', () => {
    const nonces = { 'http://localhost:4172': 'eyJ.abc_-~', 'https://mcp.example': 'n' };
    expect(accepted(checkNonces(nonces))).toEqual(nonces);
  });

  it.each<[string, unknown, RegExp]>([
    ['a key that is a URL with a path', { 'http://localhost:4172/mcp': 'n' }, /is not an origin/],
    ['a key that is no URL', { notes: 'n' }, /is not an origin/],
    ['a nonce with a quote', { 'http://localhost:4172': 'a"b' }, /is not a DPoP nonce/],
    ['an empty nonce', { 'http://localhost:4172': '' }, /is not a DPoP nonce/],
    ['a nonce that is not text', { 'http://localhost:4172': 42 }, /is not a DPoP nonce/],
    ['too many origins', Object.fromEntries(Array.from({ length: MAX_NONCE_ORIGINS + 1 }, (_, i) => [`http://h${i}.example`, 'n'])), /more than/],
    ['a list', ['n'], /not a record/],
  ])('refuses %s', (_what, nonces, why) => {
    const reason = refusal(checkNonces(nonces));
    expect(reason).toMatch(/^a stored DPoP nonce list was ignored: /);
    expect(reason).toMatch(why);
  });
});
