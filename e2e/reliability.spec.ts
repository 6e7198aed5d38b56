import { expect, test, type BrowserContext, type Page, type Route } from '@playwright/test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startChallengeServer } from './challenge-server.ts';
import {
  approveAtAuthorizationServer,
  asLog,
  authorizationScopes,
  authorize,
  authorizeReadWrite,
  bearerWorld,
  captureRefreshTokens,
  captureSecrets,
  connect,
  ledger,
  openDemo,
  resetLogs,
  runTool,
  PAST_REFRESH_MARGIN_MS,
  shortLivedWorld,
  stopWorker,
  workerInstance,
  openWorld,
  world,
  type World,
} from './world.ts';

test.describe('reliability', { tag: '@reliability' }, () => {
  test('the worker stopped after the challenge, at the login page and at the consent page: the flow still completes', async ({ page, context }) => {
    await resetLogs();
    await openDemo(page);
    const connected = await connect(page, 'notes');
    await expect(page.getByTestId('prompt-notes')).toBeVisible();
    const first = await workerInstance(page);
    await stopWorker(context, page); // after the challenge: the pending authorization is in IndexedDB

    const atLogin = page.waitForEvent('load');
    await page.getByTestId('authorize-notes').click();
    await atLogin;
    await stopWorker(context, page); // while the user is at the authorization server
    await page.locator('input[name="login"]').fill('kim');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('button', { name: 'Allow' })).toBeVisible();
    await stopWorker(context, page); // right before the callback: a fresh worker must complete it
    await approveAtAuthorizationServer(page, 'kim');

    await expect(connected).toContainText('4 tools');
    expect(await workerInstance(page)).not.toBe(first);
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read']);
    expect((await ledger(page, 'notes'))?.granted).toEqual(['notes:read']);
    await expect(page.getByTestId('last-result')).toContainText('granted notes:read');
  });
});

// In the demo as it ships (no trusted list), whose worker's Content-Security-Policy lets it reach any
// server on this machine: the locked build's policy would refuse the third origin before any request
// (csp.spec.ts), and this test proves the worker's own guarantee without that layer.
test.describe('reliability, without a trusted-server list', { tag: '@reliability' }, () => {
  test.use({ baseURL: openWorld.appOrigin });

  test('a token goes only to its own server: not to a third origin, not across a cross-origin redirect, not in a URL', async ({ page, context }) => {
    const other = await startChallengeServer({ appOrigin: openWorld.appOrigin, issuer: openWorld.issuer });
    try {
      const secrets = captureSecrets(context, openWorld);
      const urls: string[] = [];
      context.on('request', (request) => urls.push(request.url()));
      await resetLogs(openWorld);
      await openDemo(page);
      await connect(page, 'notes');
      await authorize(page, 'notes', 'lee', 'Allow', openWorld);
      await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();

      // a request to an origin the app never registered goes out untouched
      await page.evaluate(async (url) => {
        await fetch(`${url}?scope=x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      }, other.url);
      expect(other.received.filter((r) => r.path.startsWith('/mcp'))).not.toEqual([]);
      expect(other.received.filter((r) => r.authorization)).toEqual([]);

      // a registered server that redirects to another origin: the token does not follow
      let sentWithToken = false;
      await context.route(`${openWorld.notesUrl}/moved`, (route) => {
        sentWithToken = /^(Bearer|DPoP) /.test(route.request().headers()['authorization'] ?? '');
        return route.fulfill({ status: 307, headers: { location: `${other.url}/landing` } });
      });
      await page.evaluate(async (url) => {
        await fetch(`${url}/moved`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
      }, openWorld.notesUrl);
      await expect.poll(() => other.received.some((r) => r.path.startsWith('/mcp/landing'))).toBe(true);
      expect(sentWithToken).toBe(true); // the worker did attach it for the registered server
      expect(other.received.filter((r) => r.authorization)).toEqual([]);

      // The authorization response carries its code in the callback URL (that is OAuth); the worker
      // answers that navigation itself. No other URL carries a code, a verifier or a token.
      expect(secrets.size).toBeGreaterThan(0);
      for (const url of urls.filter((u) => !u.startsWith(openWorld.redirectUri))) {
        for (const secret of secrets) expect(url.includes(secret), `a secret in ${url.slice(0, 80)}`).toBe(false);
      }
      for (const url of urls) expect(url).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);
    } finally {
      await other.close();
    }
  });
});

async function concurrentListNotes(page: Page, count: number, w: World): Promise<number[]> {
  return page.evaluate(
    async ({ url, count }) => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
      const responses = await Promise.all(Array.from({ length: count }, () => fetch(url, { method: 'POST', headers, body })));
      return responses.map((r) => r.status);
    },
    { url: w.notesUrl, count },
  );
}

function refreshElsewhere(w: World, refreshToken: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${w.issuer}/token`, {
    method: 'POST',
    headers,
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: w.clientId, resource: w.notesUrl }),
  });
}

/** A thief's own DPoP key: proofs for the token endpoint, with the server's nonce once it asks for one. */
async function thiefRefresh(w: World, refreshToken: string): Promise<{ status: number; body: { error?: string } }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const proof = (nonce?: string) =>
    new SignJWT({ htm: 'POST', htu: `${w.issuer}/token`, jti: crypto.randomUUID(), ...(nonce ? { nonce } : {}) })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
      .setIssuedAt()
      .sign(privateKey);
  let response = await refreshElsewhere(w, refreshToken, { dpop: await proof() });
  const nonce = response.headers.get('dpop-nonce');
  if (response.status === 400 && nonce) response = await refreshElsewhere(w, refreshToken, { dpop: await proof(nonce) });
  return { status: response.status, body: (await response.json()) as { error?: string } };
}

test.describe('DPoP-bound tokens that expire within seconds', { tag: '@reliability' }, () => {
  const w = shortLivedWorld;
  test.use({ baseURL: w.appOrigin });

  test('20 concurrent requests on an expired access token make exactly one refresh request', async ({ page }) => {
    await authorizeReadWrite(page, 'mia', w);
    await page.waitForTimeout(PAST_REFRESH_MARGIN_MS);
    await resetLogs(w);
    const statuses = await concurrentListNotes(page, 20, w);
    expect(statuses).toEqual(Array(20).fill(200));
    const refreshes = (await asLog(w)).tokens.filter((t) => t.grantType === 'refresh_token');
    expect(refreshes.map((r) => r.status)).toEqual([200]);
  });

  test("a stolen refresh token is useless without the worker's key, and the worker carries on with it", async ({ page, context }) => {
    const refreshTokens = captureRefreshTokens(context, w);
    await authorizeReadWrite(page, 'nina', w);
    const stolen = refreshTokens.at(-1);
    expect(stolen, 'the refresh token was captured').toMatch(/^[\w-]{20,}$/);
    await resetLogs(w);

    // without a proof, and with a proof of the thief's own key: refused, for the binding
    expect((await refreshElsewhere(w, stolen!)).status).toBe(400);
    const withOwnKey = await thiefRefresh(w, stolen!);
    expect(withOwnKey.status).toBe(400);
    expect(withOwnKey.body.error).toBe('invalid_grant');
    // and a string that is no refresh token at all is refused for another reason
    await refreshElsewhere(w, 'not-a-refresh-token');
    const refused = (await asLog(w)).tokens.filter((t) => t.grantType === 'refresh_token' && t.error === 'invalid_grant');
    expect(refused.map((t) => t.detail)).toEqual(['failed jkt verification', 'failed jkt verification', 'refresh token not found']);

    // the same refresh token, with the worker's key, still works: it was a live one
    await page.waitForTimeout(PAST_REFRESH_MARGIN_MS);
    await resetLogs(w);
    await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
    const log = await asLog(w);
    expect(log.authorizations).toHaveLength(0);
    expect(log.tokens.filter((t) => t.grantType === 'refresh_token').map((t) => t.status)).toEqual([200]);
  });

  /**
   * Holds the worker's refresh request at the network. `reachServer`: the authorization server gets
   * it and only its answer is held; otherwise the request itself is, then fails.
   */
  async function holdRefresh(context: BrowserContext, reachServer: boolean): Promise<{ held: Promise<void>; release: () => void }> {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let reached: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (reached = resolve));
    await context.route(`${w.issuer}/token`, async (route: Route) => {
      if (!(route.request().postData() ?? '').includes('grant_type=refresh_token')) return route.continue();
      if (reachServer) {
        const response = await route.fetch();
        reached();
        await released;
        await route.fulfill({ response }).catch(() => undefined);
      } else {
        reached();
        await released;
        await route.abort().catch(() => undefined);
      }
    });
    return { held, release };
  }

  for (const reachServer of [false, true]) {
    const when = reachServer ? 'after the authorization server answered' : 'before the refresh reached the authorization server';
    test(`the worker stopped during a refresh, ${when}: nothing is lost and no authorization follows`, async ({ page, context }) => {
      await authorizeReadWrite(page, 'olga', w);
      await page.waitForTimeout(PAST_REFRESH_MARGIN_MS);
      const { held, release } = await holdRefresh(context, reachServer);
      await resetLogs(w);
      const pending = concurrentListNotes(page, 1, w).catch(() => []);
      await held; // the worker's refresh is on its way
      await stopWorker(context, page, release);
      await pending;
      await context.unroute(`${w.issuer}/token`);
      const interrupted = (await asLog(w)).tokens.filter((t) => t.grantType === 'refresh_token' && t.status === 200);
      if (!reachServer) expect(interrupted).toEqual([]);
      else expect(interrupted.length).toBeGreaterThanOrEqual(1);

      // The restarted worker still has its DPoP-bound token and refresh token in IndexedDB: a
      // refresh that never reached the server changed nothing, and a DPoP-bound refresh token is
      // not rotated (it is useless without the key), so an answer that was lost costs nothing.
      // A network failure must not have made the worker drop the token.
      const listed = await runTool(page, 'notes', 'list-notes');
      await expect(listed).toHaveClass(/ok/);
      expect(await authorizationScopes(w.notesUrl, w)).toEqual([]);
      await expect(page.getByTestId('prompt-notes')).toHaveCount(0);
      expect((await ledger(page, 'notes'))?.requested).toEqual(['notes:read', 'notes:write']);
    });
  }
});

test.describe('bearer tokens (DPoP off) that expire within seconds', { tag: '@reliability' }, () => {
  const w = bearerWorld;
  test.use({ baseURL: w.appOrigin });

  test('a refresh token spent elsewhere (grant revoked) ends in one re-authorization for the whole set', async ({ page, context }) => {
    const refreshTokens = captureRefreshTokens(context, w);
    await authorizeReadWrite(page, 'noah', w);
    // someone else spends the worker's refresh token first: oidc-provider rotates it, and the
    // worker's later use is a reuse, for which the whole grant is revoked
    expect((await refreshElsewhere(w, refreshTokens.at(-1)!)).status).toBe(200);
    await page.waitForTimeout(PAST_REFRESH_MARGIN_MS);
    await resetLogs(w);

    const listed = await runTool(page, 'notes', 'list-notes');
    await expect(page.getByTestId('prompt-notes')).toContainText('will ask for notes:read notes:write');
    await authorize(page, 'notes', 'noah', 'Allow', w);
    await expect(listed).toHaveClass(/ok/);
    expect(await authorizationScopes(w.notesUrl, w)).toEqual(['notes:read notes:write']);
    // one failed refresh (the reuse), no retry of it; later refreshes belong to the new grant
    const refreshes = (await asLog(w)).tokens.filter((t) => t.grantType === 'refresh_token');
    expect(refreshes[0]?.error).toBe('invalid_grant');
    expect(refreshes.filter((t) => t.error)).toHaveLength(1);
  });
});
