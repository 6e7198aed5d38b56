// Pushed authorization requests (RFC 9126) against the demo's oidc-provider, which advertises them:
// the worker sends each authorization request there first, and the browser goes to the
// authorization endpoint with only a request_uri. An accumulated scope set of any size stays out of
// the URL, and an authorization server that requires PAR works.
import { expect, test, type BrowserContext } from '@playwright/test';
import { asLog, authorizationScopes, authorize, authorizeRead, connect, ledger, openDemo, resetLogs, runTool, shortLivedWorld, world } from './world.ts';

/** Every URL the browser opened at the authorization endpoint. */
function authorizationUrls(context: BrowserContext, issuer: string): URL[] {
  const urls: URL[] = [];
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === issuer && url.pathname === '/auth' && request.isNavigationRequest()) urls.push(url);
  });
  return urls;
}

test.describe('pushed authorization requests', { tag: '@lifecycle' }, () => {
  test('growth with PAR: every authorization is pushed, and the browser carries only client_id and request_uri', async ({ page, context }) => {
    await resetLogs();
    const urls = authorizationUrls(context, world.issuer);
    await openDemo(page);
    await connect(page, 'notes');
    await authorize(page, 'notes');
    const added = await runTool(page, 'notes', 'add-note', { text: 'pushed' });
    await authorize(page, 'notes');
    await expect(added).toContainText('Added note');

    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read', 'notes:read notes:write']);
    expect((await asLog()).authorizations.map((a) => a.pushed)).toEqual([true, true]);
    expect(urls).toHaveLength(2);
    for (const url of urls) expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
  });

  test('a burst of 500 distinct scopes: one pushed authorization asks for all 501, through a short URL, and all are granted', async ({ page, context }) => {
    test.setTimeout(120_000);
    await resetLogs();
    await authorizeRead(page, 'pat');
    const urls = authorizationUrls(context, world.issuer);
    // the Notes bench route answers each with 403 insufficient_scope scope="bench:<n>"
    const statuses = await page.evaluate(async (base) => {
      const answers = await Promise.all(Array.from({ length: 500 }, (_, n) => fetch(`${base}/bench/challenge?n=${n}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })));
      return [...new Set(answers.map((a) => a.status))];
    }, world.notesUrl);
    expect(statuses).toEqual([403]);
    await expect.poll(async () => (await ledger(page, 'notes'))?.requested.length).toBe(501);
    const wanted = ['notes:read', ...Array.from({ length: 500 }, (_, n) => `bench:${n}`)];

    const consented = await authorize(page, 'notes', 'pat');
    expect(consented).toHaveLength(501);
    const last = (await asLog()).authorizations.at(-1)!;
    expect(last.pushed).toBe(true);
    expect(new Set(last.scope?.split(' '))).toEqual(new Set(wanted));
    // in the URL, the scope alone would have taken this many characters
    expect(encodeURIComponent(wanted.join(' ')).length).toBeGreaterThan(6_000);
    expect(urls.at(-1)!.href.length).toBeLessThan(300);
    await expect.poll(async () => new Set((await ledger(page, 'notes'))?.granted)).toEqual(new Set(wanted));
    await expect(page.getByTestId('auth-count-notes')).toHaveText('2');
  });

  test.describe('an authorization server that requires PAR', () => {
    const w = shortLivedWorld; // started with MCP_SW_AUTH_PAR=require
    test.use({ baseURL: w.appOrigin });

    test('refuses an authorization request in the URL, and the worker grows scope there all the same', async ({ page }) => {
      const metadata = (await (await fetch(`${w.issuer}/.well-known/oauth-authorization-server`)).json()) as { require_pushed_authorization_requests?: boolean };
      expect(metadata.require_pushed_authorization_requests).toBe(true);
      const direct = new URL(`${w.issuer}/auth`);
      for (const [name, value] of Object.entries({ response_type: 'code', client_id: w.clientId, redirect_uri: `${w.appOrigin}/oauth/callback`, scope: 'notes:read', resource: w.notesUrl, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', state: 'direct' })) {
        direct.searchParams.set(name, value);
      }
      const refused = await fetch(direct, { redirect: 'manual' });
      const answer = new URL(refused.headers.get('location') ?? '', w.appOrigin);
      expect(answer.searchParams.get('error')).toBe('invalid_request');
      expect(answer.searchParams.get('error_description')).toMatch(/Pushed Authorization Request must be used/);

      await resetLogs(w);
      await openDemo(page);
      await connect(page, 'notes');
      await authorize(page, 'notes', 'quinn', 'Allow', w);
      const added = await runTool(page, 'notes', 'add-note', { text: 'required' });
      await authorize(page, 'notes', 'quinn', 'Allow', w);
      await expect(added).toContainText('Added note');
      expect(await authorizationScopes(w.notesUrl, w)).toEqual(['notes:read', 'notes:read notes:write']);
      expect((await asLog(w)).authorizations.every((a) => a.pushed)).toBe(true);
    });
  });
});
