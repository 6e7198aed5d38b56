import { describe, expect, it } from 'vitest';
import { applyChallenge, applyGrant, applySignOut, emptyLedger, scopeNotGranted, type LedgerRecord } from './ledger.ts';
import type { ScopeStrategy } from './scopes.ts';
import { nextRequestedScopes, unionScopes } from './scopes.ts';

const server = { name: 'Notes', url: 'http://localhost:4172/mcp' };

function challenge(record: LedgerRecord, scopes: string[], operation: string, strategy: ScopeStrategy = 'union', status: 401 | 403 = 403) {
  return applyChallenge(record, { challenged: scopes, trigger: { status, operation }, strategy, at: Date.now() });
}

/** Challenge → authorization for the requested set → the AS grants what it was asked. */
function authorizeFor(record: LedgerRecord): { record: LedgerRecord; asked: string[] } {
  const asked = record.pending?.requested ?? record.requested;
  return { record: applyGrant(record, asked, asked, Date.now()), asked };
}

describe('scope accumulation', () => {
  it("the seed's case: after challenges for read then write, the second authorization asks for read write", () => {
    let r = challenge(emptyLedger(), ['read'], 'initialize', 'union', 401);
    const first = authorizeFor(r);
    expect(first.asked).toEqual(['read']);
    r = challenge(first.record, ['write'], 'tools/call add-note');
    const second = authorizeFor(r);
    expect(second.asked).toEqual(['read', 'write']);
    expect(second.record.granted).toEqual(['read', 'write']);
  });

  it('grows through four steps, one authorization each, never losing a scope', () => {
    let r = emptyLedger();
    const asked: string[][] = [];
    for (const scope of ['notes:read', 'notes:write', 'notes:delete', 'notes:export']) {
      r = challenge(r, [scope], `op ${scope}`);
      const step = authorizeFor(r);
      asked.push(step.asked);
      r = step.record;
    }
    expect(asked).toEqual([
      ['notes:read'],
      ['notes:read', 'notes:write'],
      ['notes:read', 'notes:write', 'notes:delete'],
      ['notes:read', 'notes:write', 'notes:delete', 'notes:export'],
    ]);
    expect(r.authorizations).toBe(4);
  });

  it('union keeps order of first appearance; replace keeps only the challenge (the v1 bug)', () => {
    expect(unionScopes(['a', 'b'], ['c', 'a'])).toEqual(['a', 'b', 'c']);
    expect(nextRequestedScopes(['a', 'b'], ['c'], 'union')).toEqual(['a', 'b', 'c']);
    expect(nextRequestedScopes(['a', 'b'], ['c'], 'replace')).toEqual(['c']);
  });

  it('a repeated identical challenge while one is pending changes nothing', () => {
    const once = challenge(emptyLedger(), ['read'], 'initialize');
    expect(challenge(once, ['read'], 'initialize')).toBe(once);
  });

  it('a grant never removes a scope from what is requested next', () => {
    let r = challenge(emptyLedger(), ['a', 'b'], 'x');
    r = applyGrant(r, ['a', 'b'], ['a'], Date.now()); // the AS withheld b
    expect(r.requested).toEqual(['a', 'b']);
    expect(r.granted).toEqual(['a']);
  });

  it('sign-out forgets scopes but keeps the timeline', () => {
    const r = applySignOut(authorizeFor(challenge(emptyLedger(), ['a'], 'x')).record, Date.now());
    expect(r.requested).toEqual([]);
    expect(r.everRequested).toEqual([]);
    expect(r.timeline.at(-1)?.kind).toBe('sign-out');
  });
});

describe('loop guard', () => {
  it('does not stop a challenge for a scope never asked for', () => {
    const r = authorizeFor(challenge(emptyLedger(), ['read'], 'initialize')).record;
    expect(scopeNotGranted({ ...r, ...server }, ['write'], { requested: ['read'], scopes: ['read'] }, 'tools/call add-note')).toBeUndefined();
  });

  it('stops when the authorization server withheld a scope that was asked for', () => {
    let r = challenge(emptyLedger(), ['read', 'export'], 'x');
    r = applyGrant(r, ['read', 'export'], ['read'], Date.now());
    const error = scopeNotGranted({ ...r, ...server }, ['export'], { requested: ['read', 'export'], scopes: ['read'] }, 'tools/call export-notes');
    expect(error?.code).toBe('scope_not_granted');
    expect(error?.message).toContain('export');
    expect(error?.message).toContain('http://localhost:4172/mcp');
    expect(error?.message).toMatch(/granted only read/);
  });

  it('stops the replace strategy when it comes back for a scope it dropped', () => {
    let r = authorizeFor(challenge(emptyLedger(), ['read'], 'initialize', 'replace', 401)).record;
    r = authorizeFor(challenge(r, ['write'], 'tools/call add-note', 'replace')).record;
    expect(r.granted).toEqual(['write']);
    const error = scopeNotGranted({ ...r, ...server }, ['read'], { requested: ['write'], scopes: ['write'] }, 'initialize');
    expect(error?.message).toMatch(/replace/);
    expect(r.authorizations).toBe(2);
  });

  it('stops when the token already carries the scope the server asks for', () => {
    const r = authorizeFor(challenge(emptyLedger(), ['read'], 'initialize')).record;
    expect(scopeNotGranted({ ...r, ...server }, ['read'], { requested: ['read'], scopes: ['read'] }, 'initialize')?.message).toMatch(/already carries/);
  });
});
