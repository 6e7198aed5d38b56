import { describe, expect, it } from 'vitest';
import { MAX_HEADER_LENGTH, parseBearerChallenge, parseWwwAuthenticate } from './challenge.ts';

function bearer(header: string) {
  const result = parseBearerChallenge(header);
  if (!result.ok) throw new Error(`expected a challenge, got: ${result.error.message}`);
  return result.value;
}

function refused(header: string | null): string {
  const result = parseBearerChallenge(header);
  if (result.ok) throw new Error(`expected an error for ${header}`);
  expect(result.error.code).toBe('challenge_malformed');
  return result.error.message;
}

describe('parseBearerChallenge', () => {
  it('reads the MCP 401 challenge: resource_metadata and scope', () => {
    const c = bearer('Bearer resource_metadata="http://localhost:4172/.well-known/oauth-protected-resource/mcp", scope="notes:read"');
    expect(c.resourceMetadata).toBe('http://localhost:4172/.well-known/oauth-protected-resource/mcp');
    expect(c.scope).toEqual(['notes:read']);
    expect(c.error).toBeUndefined();
  });

  it('reads the 403 insufficient_scope step-up challenge', () => {
    const c = bearer('Bearer error="insufficient_scope", scope="notes:write", error_description="add-note needs notes:write"');
    expect(c.error).toBe('insufficient_scope');
    expect(c.scope).toEqual(['notes:write']);
    expect(c.errorDescription).toBe('add-note needs notes:write');
  });

  it('splits a multi-scope value and drops duplicates and extra spaces', () => {
    expect(bearer('Bearer scope="a  b a c"').scope).toEqual(['a', 'b', 'c']);
  });

  it('treats scheme and parameter names case-insensitively', () => {
    const c = bearer('bEaReR SCOPE="x", Error=insufficient_scope');
    expect(c.scope).toEqual(['x']);
    expect(c.error).toBe('insufficient_scope');
  });

  it('accepts token (unquoted) values and spaces around "="', () => {
    expect(bearer('Bearer error = invalid_token , scope=read').scope).toEqual(['read']);
  });

  it('accepts an unquoted scope of scope-token characters up to the next comma, as servers send it', () => {
    expect(bearer('Bearer scope=notes:read').scope).toEqual(['notes:read']);
    expect(bearer('Bearer error="insufficient_scope", scope=notes:write, resource_metadata="https://mcp.example/.well-known/oauth-protected-resource"')).toEqual({
      error: 'insufficient_scope',
      scope: ['notes:write'],
      resourceMetadata: 'https://mcp.example/.well-known/oauth-protected-resource',
    });
    expect(bearer('Bearer scope=https://mcp.example/scopes/read,error=insufficient_scope').scope).toEqual(['https://mcp.example/scopes/read']);
    // only scope gets this leniency; a bare value that is no token elsewhere is still malformed
    expect(parseBearerChallenge('Bearer error=insufficient:scope').ok).toBe(false);
    // a quote or a backslash is never part of a scope
    expect(parseBearerChallenge('Bearer scope=notes"read').ok).toBe(false);
  });

  it('unescapes quoted-pairs, including escaped quotes', () => {
    const c = bearer('Bearer error_description="the \\"write\\" scope, see \\\\docs", scope="w"');
    expect(c.errorDescription).toBe('the "write" scope, see \\docs');
    expect(c.scope).toEqual(['w']);
  });

  it('keeps commas inside quoted strings', () => {
    expect(bearer('Bearer realm="a, b", scope="s"').realm).toBe('a, b');
  });

  it('finds Bearer among several challenges in one header', () => {
    const c = bearer('Basic realm="legacy", Bearer realm="mcp", scope="notes:read", Negotiate abc==');
    expect(c.realm).toBe('mcp');
    expect(c.scope).toEqual(['notes:read']);
  });

  it('finds Bearer after a token68 challenge', () => {
    expect(bearer('Negotiate YIIB3gYJKoZIhvcSAQICAQBuggHNMIIByaADAgEF==, Bearer scope="x"').scope).toEqual(['x']);
  });

  it('accepts a Bearer challenge with no parameters (no scope to add)', () => {
    expect(bearer('Bearer').scope).toEqual([]);
  });

  it('reads "Bearer scope" as a token68 credential, not as a scope', () => {
    expect(bearer('Bearer scope').scope).toEqual([]);
  });

  it('falls back to a DPoP challenge when there is no Bearer one', () => {
    expect(bearer('DPoP algs="ES256", scope="x"').scope).toEqual(['x']);
  });

  it('does not let a parameter named __proto__ reach the prototype', () => {
    const parsed = parseWwwAuthenticate('Bearer __proto__="x", scope="s"');
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(Object.getPrototypeOf(parsed.value[0]!.params)).toBeNull();
  });

  it.each([
    ['an unterminated quoted string', 'Bearer scope="notes:read'],
    ['a missing value', 'Bearer realm="x", scope='],
    ['a missing value before the next parameter', 'Bearer scope=, realm="x"'],
    ['a duplicated parameter', 'Bearer scope="a", scope="b"'],
    ['garbage after a value', 'Bearer scope="a" junk="b"'],
    ['a control character in a quoted string', 'Bearer scope="a\u0001"'],
    ['a scope token outside NQCHAR', 'Bearer scope="caf\u00e9"'],
    ['a backslash inside a scope token', 'Bearer scope="a\\\\b"'],
    ['no scheme at all', '=scope'],
    ['only commas', ' , ,'],
    ['no Bearer challenge', 'Basic realm="x"'],
  ])('refuses %s with a typed error', (_what, header) => {
    expect(refused(header)).toMatch(/WWW-Authenticate/);
  });

  it('refuses a missing header with a message that names it', () => {
    expect(refused(null)).toMatch(/no WWW-Authenticate header/);
  });

  it('refuses an oversized header without scanning it', () => {
    expect(refused(`Bearer scope="${'a'.repeat(MAX_HEADER_LENGTH)}"`)).toMatch(/longer than/);
  });
});
