import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { startChallengeServer } from './challenge-server.ts';
import {
  approveAtAuthorizationServer,
  asLog,
  authorizationScopes,
  authorize,
  captureSecrets,
  lastOutput,
  ledger,
  openDemo,
  resetLogs,
  runTool,
  shortLivedWorld,
  world,
} from './world.ts';

async function stopWorker(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await cdp.detach();
}

test('the worker stopped after the challenge, at the login page and at the consent page: the flow still completes', async ({ page, context }) => {
  await resetLogs();
  await openDemo(page);
  await page.getByTestId('connect-notes').click();
  await expect(page.getByTestId('prompt-notes')).toBeVisible();
  await stopWorker(context, page); // after the challenge: the pending authorization is in IndexedDB

  const atLogin = page.waitForEvent('load');
  await page.getByTestId('authorize-notes').click();
  await atLogin;
  await stopWorker(context, page); // while the user is at the authorization server
  await page.locator('input[name="login"]').fill('kim');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Allow' })).toBeVisible();
  await stopWorker(context, page); // right before the callback
  await approveAtAuthorizationServer(page, 'kim');

  await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();
  expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read']);
  expect((await ledger(page, 'notes'))?.granted).toEqual(['notes:read']);
});

test('a token goes only to its own server: not to a third origin, not across a cross-origin redirect, not in a URL', async ({ page, context }) => {
  const other = await startChallengeServer({ appOrigin: world.appOrigin, issuer: world.issuer });
  try {
    const secrets = captureSecrets(context);
    const urls: string[] = [];
    context.on('request', (request) => urls.push(request.url()));
    await resetLogs();
    await openDemo(page);
    await page.getByTestId('connect-notes').click();
    await authorize(page, 'notes', 'lee');
    await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();

    // a request to an origin the app never registered goes out untouched
    await page.evaluate(async (url) => {
      await fetch(`${url}?scope=x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    }, other.url);
    expect(other.received.filter((r) => r.path.startsWith('/mcp'))).not.toEqual([]);
    expect(other.received.filter((r) => r.authorization)).toEqual([]);

    // a registered server that redirects to another origin: the token does not follow
    let sentWithToken = false;
    await context.route(`${world.notesUrl}/moved`, (route) => {
      sentWithToken = route.request().headers()['authorization']?.startsWith('Bearer ') ?? false;
      return route.fulfill({ status: 307, headers: { location: `${other.url}/landing` } });
    });
    await page.evaluate(async (url) => {
      await fetch(`${url}/moved`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
    }, world.notesUrl);
    await expect.poll(() => other.received.some((r) => r.path.startsWith('/mcp/landing'))).toBe(true);
    expect(sentWithToken).toBe(true); // the worker did attach it for the registered server
    expect(other.received.filter((r) => r.authorization)).toEqual([]);

    // The authorization response carries its code in the callback URL (that is OAuth); the worker
    // answers that navigation itself. No other URL carries a code, a verifier or a token.
    for (const url of urls.filter((u) => !u.startsWith(world.redirectUri))) {
      for (const secret of secrets) expect(url.includes(secret), `a secret in ${url.slice(0, 80)}`).toBe(false);
    }
    for (const url of urls) expect(url).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);
  } finally {
    await other.close();
  }
});

test.describe('with access tokens that expire within seconds', () => {
  test.use({ baseURL: shortLivedWorld.appOrigin });

  async function authorizedNotes(page: Page, user: string): Promise<void> {
    await resetLogs(shortLivedWorld);
    await openDemo(page);
    await page.getByTestId('connect-notes').click();
    await authorize(page, 'notes', user, 'Allow', shortLivedWorld);
    await expect(page.getByTestId('tool-notes-add-note')).toBeVisible();
    await runTool(page, 'notes', 'add-note', { text: 'two scopes' });
    await authorize(page, 'notes', user, 'Allow', shortLivedWorld);
    await expect(lastOutput(page, 'notes')).toContainText('Added note');
  }

  async function concurrentListNotes(page: Page, count: number): Promise<number[]> {
    return page.evaluate(
      async ({ url, count }) => {
        const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
        const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
        const responses = await Promise.all(Array.from({ length: count }, () => fetch(url, { method: 'POST', headers, body })));
        return responses.map((r) => r.status);
      },
      { url: shortLivedWorld.notesUrl, count },
    );
  }

  test('20 concurrent requests on an expired access token make exactly one refresh request', async ({ page }) => {
    await authorizedNotes(page, 'mia');
    await page.waitForTimeout(2_500); // past the worker's expiry margin
    await resetLogs(shortLivedWorld);
    const statuses = await concurrentListNotes(page, 20);
    expect(statuses).toEqual(Array(20).fill(200));
    const refreshes = (await asLog(shortLivedWorld)).tokens.filter((t) => t.grantType === 'refresh_token');
    expect(refreshes).toHaveLength(1);
  });

  test('a refresh token spent elsewhere (grant revoked) ends in one re-authorization for the whole set', async ({ page, context }) => {
    const refreshTokens: string[] = [];
    context.on('response', async (response) => {
      if (!response.url().startsWith(`${shortLivedWorld.issuer}/token`)) return;
      const body = (await response.json().catch(() => ({}))) as { refresh_token?: string };
      if (body.refresh_token) refreshTokens.push(body.refresh_token);
    });
    await authorizedNotes(page, 'noah');
    // someone else spends the worker's refresh token first: oidc-provider rotates it, and the
    // worker's later use is a reuse, for which the whole grant is revoked
    const stolen = refreshTokens.at(-1)!;
    const spent = await fetch(`${shortLivedWorld.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: stolen, client_id: shortLivedWorld.clientId, resource: shortLivedWorld.notesUrl }),
    });
    expect(spent.status).toBe(200);
    await page.waitForTimeout(2_500);
    await resetLogs(shortLivedWorld);

    await runTool(page, 'notes', 'list-notes');
    await expect(page.getByTestId('prompt-notes')).toContainText('will ask for notes:read notes:write');
    await authorize(page, 'notes', 'noah', 'Allow', shortLivedWorld);
    await expect(lastOutput(page, 'notes')).toHaveClass(/ok/);
    expect(await authorizationScopes(shortLivedWorld.notesUrl, shortLivedWorld)).toEqual(['notes:read notes:write']);
    // one failed refresh (the reuse), no retry of it; later refreshes belong to the new grant
    const refreshes = (await asLog(shortLivedWorld)).tokens.filter((t) => t.grantType === 'refresh_token');
    expect(refreshes[0]?.error).toBe('invalid_grant');
    expect(refreshes.filter((t) => t.error)).toHaveLength(1);
  });

  test('the worker stopped during a refresh: nothing is lost, the next request re-authorizes the whole set once', async ({ page, context }) => {
    await authorizedNotes(page, 'olga');
    await page.waitForTimeout(2_500);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    await context.route(`${shortLivedWorld.issuer}/token`, async (route) => {
      await held;
      await route.continue().catch(() => undefined);
    });
    await resetLogs(shortLivedWorld);
    const pending = concurrentListNotes(page, 1).catch(() => []);
    await expect.poll(async () => (await asLog(shortLivedWorld)).tokens.length, { timeout: 2_000 }).toBe(0);
    await stopWorker(context, page);
    release();
    await pending;
    await context.unroute(`${shortLivedWorld.issuer}/token`);

    await runTool(page, 'notes', 'list-notes');
    await expect(page.getByTestId('prompt-notes')).toContainText('will ask for notes:read notes:write');
    await authorize(page, 'notes', 'olga', 'Allow', shortLivedWorld);
    await expect(lastOutput(page, 'notes')).toHaveClass(/ok/);
    expect((await ledger(page, 'notes'))?.requested).toEqual(['notes:read', 'notes:write']);
    expect(await authorizationScopes(shortLivedWorld.notesUrl, shortLivedWorld)).toEqual(['notes:read notes:write']);
  });
});
