import { describe, expect, it } from 'vitest';
import {
  applyChallenge,
  applyDiscovery,
  applyError,
  applyGrant,
  applyRedirect,
  applySignOut,
  decideChallenge,
  emptyLedger,
  scopeNotGranted,
  type ChallengeFacts,
  type LedgerRecord,
  type RefusedToken,
} from './ledger.ts';
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

// --- the challenge policy ------------------------------------------------------------------------

type Server = LedgerRecord & { name: string; url: string };

/** A server after one completed authorization that asked for `asked` and got `got`. */
function authorized(asked: string[], got: string[] = asked): Server {
  const r = applyGrant(challenge(emptyLedger(), asked, 'initialize', 'union', 401), asked, got, Date.now());
  return { ...r, ...server };
}

function token(generation: number, requested: string[], scopes: string[] = requested, accepted = true): RefusedToken {
  return { generation, requested, scopes, accepted };
}

function facts(over: Partial<ChallengeFacts> & Pick<ChallengeFacts, 'status'>): ChallengeFacts {
  return { challenged: [], operation: 'tools/call add-note', currentGeneration: 0, strategy: 'union', at: Date.now(), clientId: 'window-1', ...over };
}

describe('decideChallenge: answers to an older token', () => {
  it('a 403 for an older token generation is resent with the current token, without asking for consent again', () => {
    const record = authorized(['read', 'write']);
    const plan = decideChallenge(record, facts({ status: 403, error: 'insufficient_scope', challenged: ['write'], refused: token(1, ['read']), currentGeneration: 2 }));
    expect(plan.decision).toBe('resend');
    expect(plan.record).toBe(record);
    expect(plan.record.pending).toBeUndefined();
    expect(plan.dropRefusedToken).toBe(false);
    expect(plan.rediscover).toBe(false);
  });

  it('a 401 for an older token generation is resent and does not drop the current token', () => {
    const record = authorized(['read']);
    const plan = decideChallenge(record, facts({ status: 401, error: 'invalid_token', refused: token(1, ['read']), currentGeneration: 2 }));
    expect(plan.decision).toBe('resend');
    expect(plan.record).toBe(record);
    expect(plan.dropRefusedToken).toBe(false);
    expect(plan.rediscover).toBe(false);
  });
});

describe('decideChallenge: 401', () => {
  it('a 401 for a token that had been accepted drops it, rediscovers, and asks to authorize again', () => {
    const record = authorized(['read']);
    const plan = decideChallenge(record, facts({ status: 401, error: 'invalid_token', challenged: ['read'], refused: token(3, ['read']), currentGeneration: 3 }));
    expect(plan.decision).toBe('authorize');
    expect(plan.dropRefusedToken).toBe(true);
    expect(plan.rediscover).toBe(true);
    expect(plan.record.pending).toMatchObject({ requested: ['read'], trigger: { status: 401, operation: 'tools/call add-note' }, clientId: 'window-1' });
    expect(plan.record.error).toBeUndefined();
  });

  it('a 401 for a fresh token (never accepted) is refused as token_rejected, and the token is dropped', () => {
    const record = authorized(['read']);
    const plan = decideChallenge(record, facts({ status: 401, error: 'invalid_token', refused: token(3, ['read'], ['read'], false), currentGeneration: 3 }));
    expect(plan.decision).toBe('refuse');
    expect(plan.record.error?.code).toBe('token_rejected');
    expect(plan.record.error?.message).toContain(server.url);
    expect(plan.record.pending).toBeUndefined();
    expect(plan.dropRefusedToken).toBe(true);
    expect(plan.rediscover).toBe(false);
  });
});

describe('decideChallenge: 403', () => {
  it('insufficient_scope without a scope is refused when the token asked for everything the ledger holds', () => {
    const record = authorized(['read', 'write']);
    const plan = decideChallenge(record, facts({ status: 403, error: 'insufficient_scope', refused: token(2, ['read', 'write']), currentGeneration: 2 }));
    expect(plan.decision).toBe('refuse');
    expect(plan.record.error).toMatchObject({ code: 'scope_not_granted', scopes: [] });
    expect(plan.record.pending).toBeUndefined();
    expect(plan.dropRefusedToken).toBe(false);
  });

  it('insufficient_scope without a scope asks to authorize when the ledger holds scopes the token did not ask for', () => {
    // write was challenged (by another call) after the token for read was issued
    const record = { ...challenge(authorized(['read']), ['write'], 'tools/call add-note'), ...server };
    const plan = decideChallenge(record, facts({ status: 403, error: 'insufficient_scope', refused: token(2, ['read']), currentGeneration: 2 }));
    expect(plan.decision).toBe('authorize');
    expect(plan.record.pending?.requested).toEqual(['read', 'write']);
    expect(plan.record.error).toBeUndefined();
  });

  it('insufficient_scope for a scope asked for before is worth an authorization when the request carried no token', () => {
    // the AS withheld export once; then the worker restarted and lost its bearer token
    const record = authorized(['read', 'export'], ['read']);
    expect(record.everRequested).toContain('export');
    const plan = decideChallenge(record, facts({ status: 403, error: 'insufficient_scope', challenged: ['export'], currentGeneration: 0 }));
    expect(plan.decision).toBe('authorize');
    expect(plan.record.pending?.requested).toEqual(['read', 'export']);
    expect(plan.record.error).toBeUndefined();
    expect(plan.dropRefusedToken).toBe(false);
  });

  it('a 403 with another error than insufficient_scope is not a scope problem and changes nothing', () => {
    const record = authorized(['read']);
    for (const error of [undefined, 'invalid_request', 'forbidden']) {
      const plan = decideChallenge(record, facts({ status: 403, ...(error ? { error } : {}), challenged: ['admin'], refused: token(2, ['read']), currentGeneration: 2 }));
      expect(plan.decision).toBe('not-a-scope-problem');
      expect(plan.record).toBe(record);
      expect(plan.dropRefusedToken).toBe(false);
    }
  });
});

describe('ledger transitions and pending authorizations', () => {
  /** read granted, then a challenge for write landed while an authorization for read alone was being prepared. */
  function pendingWrite(): LedgerRecord {
    return challenge(authorized(['read']), ['write'], 'tools/call add-note');
  }

  it('a redirect keeps a pending authorization it does not cover, and clears one it covers', () => {
    const r = pendingWrite();
    expect(r.pending?.requested).toEqual(['read', 'write']);
    expect(applyRedirect(r, ['read'], Date.now()).pending).toEqual(r.pending);
    expect(applyRedirect(r, ['read', 'write'], Date.now()).pending).toBeUndefined();
  });

  it('a grant keeps a pending authorization it does not cover, and clears one it covers', () => {
    const r = pendingWrite();
    expect(applyGrant(r, ['read'], ['read'], Date.now()).pending).toEqual(r.pending);
    const covered = applyGrant(r, ['read', 'write'], ['read', 'write'], Date.now());
    expect(covered.pending).toBeUndefined();
    expect(covered.authorizations).toBe(2);
  });

  it('an error keeps the pending authorization unless it ends one that covered it', () => {
    const r = pendingWrite();
    const error = { code: 'access_denied' as const, message: 'denied' };
    expect(applyError(r, error, Date.now()).pending).toEqual(r.pending);
    expect(applyError(r, error, Date.now(), ['read']).pending).toEqual(r.pending);
    const closed = applyError(r, error, Date.now(), ['read', 'write']);
    expect(closed.pending).toBeUndefined();
    expect(closed.error).toEqual(error);
  });

  it('sign-out clears the pending authorization, the error, every scope and the count, and keeps the timeline', () => {
    let r = applyError(pendingWrite(), { code: 'access_denied', message: 'denied' }, Date.now());
    r = challenge(r, ['delete'], 'tools/call delete-note');
    r = applyError(r, { code: 'token_request_failed', message: 'x' }, Date.now());
    expect(r.pending).toBeDefined();
    expect(r.error).toBeDefined();
    const before = r.timeline;
    const out = applySignOut(r, Date.now(), 'revoked');
    expect(out.pending).toBeUndefined();
    expect(out.error).toBeUndefined();
    expect('pending' in out).toBe(false);
    expect('error' in out).toBe(false);
    expect(out.requested).toEqual([]);
    expect(out.granted).toEqual([]);
    expect(out.everRequested).toEqual([]);
    expect(out.authorizations).toBe(0);
    expect(out.timeline.slice(0, -1)).toEqual(before);
    expect(out.timeline.at(-1)).toMatchObject({ kind: 'sign-out', revocation: 'revoked' });
  });

  it('"Ask again": after a scope_not_granted refusal, a new redirect and grant clear the error', () => {
    const record = authorized(['read', 'export'], ['read']);
    const plan = decideChallenge(record, facts({ status: 403, error: 'insufficient_scope', challenged: ['export'], refused: token(2, ['read', 'export'], ['read']), currentGeneration: 2 }));
    expect(plan.decision).toBe('refuse');
    expect(plan.record.error?.code).toBe('scope_not_granted');
    expect(plan.record.pending).toBeUndefined();
    const redirected = applyRedirect(plan.record, plan.record.requested, Date.now());
    expect(redirected.error).toBeUndefined();
    const granted = applyGrant(plan.record, plan.record.requested, ['read', 'export'], Date.now());
    expect(granted.error).toBeUndefined();
    expect(granted.granted).toEqual(['read', 'export']);
  });
});

describe('discovery in the timeline', () => {
  const facts = { resourceMetadataUrl: 'http://localhost:4181/.well-known/oauth-protected-resource/mcp', authorizationServer: 'http://localhost:4180', registration: 'dynamic' as const, clientId: 'abc' };

  it('is shown once, and again only when where or as whom the app authorizes changes', () => {
    const once = applyDiscovery(emptyLedger(), facts, 1);
    expect(once.timeline).toEqual([{ kind: 'discovery', at: 1, ...facts }]);
    expect(applyDiscovery(once, facts, 2)).toBe(once);
    const moved = applyDiscovery(once, { ...facts, authorizationServer: 'http://localhost:4190' }, 3);
    expect(moved.timeline.map((e) => e.at)).toEqual([1, 3]);
    expect(applyDiscovery(moved, { ...facts, authorizationServer: 'http://localhost:4190', clientId: 'def' }, 4).timeline).toHaveLength(3);
  });
});

describe('a burst in the timeline', () => {
  const at = (record: LedgerRecord, scope: string, when: number, operation = 'tools/call x') =>
    applyChallenge(record, { challenged: [scope], trigger: { status: 403, operation }, strategy: 'union', at: when });

  it('refusals of one operation within 2 s are one entry naming every scope; the ledger keeps them all', () => {
    let r = emptyLedger();
    for (let n = 0; n < 500; n++) r = at(r, `bench:${n}`, 1_000 + n);
    expect(r.requested).toHaveLength(500);
    expect(r.timeline).toHaveLength(1);
    expect(r.timeline[0]).toMatchObject({ kind: 'challenge', at: 1_000, challenged: Array.from({ length: 500 }, (_, n) => `bench:${n}`) });
  });

  it('another operation, or a refusal later than that, is an entry of its own', () => {
    let r = at(emptyLedger(), 'a', 0);
    r = at(r, 'b', 10, 'tools/call y');
    r = at(r, 'c', 5_000, 'tools/call y');
    expect(r.timeline.map((e) => (e.kind === 'challenge' ? e.challenged : []))).toEqual([['a'], ['b'], ['c']]);
  });
});
