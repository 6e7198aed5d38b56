// The token slots: compare-and-set installs, generations, and single-flight refresh. Only bearer
// tokens (dpop: false) here: DPoP-bound ones are also written to IndexedDB, which Node lacks.
import { describe, expect, it } from 'vitest';
import { clearToken, currentGeneration, dropToken, getToken, installToken, isExpired, refreshMargin, refreshOnce, type NewToken, type TokenSet } from './tokens.ts';

let servers = 0;
/** The token store is module state: every test gets servers of its own. */
function serverId(): string {
  return `server-${++servers}`;
}

function issued(accessToken: string, refreshToken = `${accessToken}.refresh`): NewToken {
  return {
    accessToken,
    refreshToken,
    expiresAt: Date.now() + 3_600_000,
    scopes: ['notes:read'],
    requested: ['notes:read'],
    serverUrl: 'http://localhost:4172/mcp',
    resource: 'http://localhost:4172/mcp',
    issuer: 'http://localhost:4173',
    clientId: 'client',
    dpop: false,
  };
}

function grant(id: string, accessToken: string): TokenSet {
  const token = installToken(id, issued(accessToken), 'any');
  if (!token) throw new Error('a grant always installs');
  return token;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('installToken: compare-and-set', () => {
  it('installs a refresh result over the token it refreshed, with a newer generation', () => {
    const id = serverId();
    const t1 = grant(id, 'a1');
    const t2 = installToken(id, issued('a2'), t1);
    expect(t2?.accessToken).toBe('a2');
    expect(t2!.generation).toBeGreaterThan(t1.generation);
    expect(getToken(id)).toBe(t2);
    expect(currentGeneration(id)).toBe(t2!.generation);
  });

  it('drops a refresh result that answers after sign-out', () => {
    const id = serverId();
    const t1 = grant(id, 'a1');
    expect(clearToken(id)).toBe(t1);
    expect(installToken(id, issued('late'), t1)).toBeUndefined();
    expect(getToken(id)).toBeUndefined();
    expect(currentGeneration(id)).toBe(0);
  });

  it('drops a refresh result that answers after a newer token was granted', () => {
    const id = serverId();
    const t1 = grant(id, 'a1');
    const t2 = grant(id, 'granted');
    expect(installToken(id, issued('late'), t1)).toBeUndefined();
    expect(getToken(id)).toBe(t2);
  });

  it('gives every install a strictly greater generation, across servers and kinds of install', () => {
    const a = serverId();
    const b = serverId();
    const generations: number[] = [];
    for (let i = 0; i < 10; i++) {
      generations.push(grant(a, `a${i}`).generation);
      generations.push(installToken(a, issued(`a${i}'`), getToken(a))!.generation);
      generations.push(grant(b, `b${i}`).generation);
      clearToken(b);
    }
    for (let i = 1; i < generations.length; i++) expect(generations[i]).toBeGreaterThan(generations[i - 1]!);
  });

  it('dropToken with an older token leaves a newer one in place', () => {
    const id = serverId();
    const t1 = grant(id, 'a1');
    const t2 = installToken(id, issued('a2'), t1)!;
    expect(dropToken(id, t1)).toBe(false);
    expect(getToken(id)).toBe(t2);
    expect(dropToken(id, t2)).toBe(true);
    expect(getToken(id)).toBeUndefined();
  });
});

describe('refreshOnce: single flight and the rotated-refresh guard', () => {
  it('concurrent callers that saw the same token share one refresh run', async () => {
    const id = serverId();
    const t1 = grant(id, 'a1');
    const gate = deferred();
    let runs = 0;
    const refresh = async () => {
      runs++;
      await gate.promise;
      return installToken(id, issued('a2'), t1);
    };
    const callers = Array.from({ length: 20 }, () => refreshOnce(id, t1, refresh));
    gate.resolve();
    const results = await Promise.all(callers);
    expect(runs).toBe(1);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).toBe(getToken(id));
    expect(results[0]?.accessToken).toBe('a2');
  });

  it('a caller that saw an older token than the current one never runs its refresh: it gets the current token', async () => {
    const id = serverId();
    const t1 = grant(id, 'a1');
    const t2 = await refreshOnce(id, t1, async () => installToken(id, issued('a2'), t1));
    expect(t2?.accessToken).toBe('a2');
    let ran = false;
    const late = await refreshOnce(id, t1, async () => {
      ran = true;
      return installToken(id, issued('a3'), t1);
    });
    expect(ran).toBe(false);
    expect(late).toBe(t2);
    // after sign-out, a stale caller gets nothing, and still refreshes nothing
    clearToken(id);
    expect(await refreshOnce(id, t1, async () => ((ran = true), undefined))).toBeUndefined();
    expect(ran).toBe(false);
  });

  it('never spends a refresh token twice, however callers interleave (reuse would revoke the grant)', async () => {
    const id = serverId();
    // an authorization server with refresh token rotation: a spent refresh token is a replay
    const spent = new Map<string, number>();
    let rotation = 0;
    const refreshFor = (seen: TokenSet) => async () => {
      const used = seen.refreshToken!;
      spent.set(used, (spent.get(used) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 1));
      const next = `rt${++rotation}`;
      return installToken(id, issued(`at${rotation}`, next), seen);
    };
    let seen = grant(id, 'at0');
    const everyone: Array<Promise<TokenSet | undefined>> = [];
    for (let round = 0; round < 5; round++) {
      const stale = seen;
      // concurrent callers on the current token, plus stragglers that still hold older ones
      for (let i = 0; i < 10; i++) everyone.push(refreshOnce(id, stale, refreshFor(stale)));
      seen = (await everyone.at(-1))!;
      for (let i = 0; i < 5; i++) everyone.push(refreshOnce(id, stale, refreshFor(stale)));
    }
    await Promise.all(everyone);
    expect(rotation).toBe(5);
    expect([...spent.values()].every((uses) => uses === 1)).toBe(true);
    expect(getToken(id)?.refreshToken).toBe('rt5');
  });
});

describe('refreshing ahead of expiry, in proportion to the lifetime', () => {
  const at = (issuedAt: number, lifetimeMs: number) => ({ ...issued('a'), issuedAt, expiresAt: issuedAt + lifetimeMs, generation: 1, accepted: true }) as TokenSet;

  it('a token that lives 10 s is good for 8 s, not expired on arrival (a fixed 10 s margin refreshed before every request)', () => {
    const token = at(0, 10_000);
    expect(refreshMargin(token)).toBe(2_000);
    expect(isExpired(token, 0)).toBe(false);
    expect(isExpired(token, 7_999)).toBe(false);
    expect(isExpired(token, 8_000)).toBe(true);
  });

  it('a long-lived token is refreshed 10 s before it expires, no earlier', () => {
    const token = at(0, 3_600_000);
    expect(refreshMargin(token)).toBe(10_000);
    expect(isExpired(token, 3_589_999)).toBe(false);
    expect(isExpired(token, 3_590_000)).toBe(true);
  });

  it('a token stored by an older version, without issuedAt, keeps the 10 s margin', () => {
    const { issuedAt: _none, ...old } = at(0, 60_000);
    expect(refreshMargin(old)).toBe(10_000);
  });
});
