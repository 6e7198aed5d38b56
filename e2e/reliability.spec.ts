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
  bearerWorld,
  stopWorker,
  authorizeReadWrite,
  world,
  type World,
} from './world.ts';

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
      sentWithToken = /^(Bearer|DPoP) /.test(route.request().headers()['authorization'] ?? '');
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

/** Every refresh token the worker obtained, read off the network. */
function captureRefreshTokens(context: BrowserContext, w: World): string[] {
  const refreshTokens: string[] = [];
  context.on('response', async (response) => {
    if (!response.url().startsWith(`${w.issuer}/token`)) return;
    const body = (await response.json().catch(() => ({}))) as { refresh_token?: string };
    if (body.refresh_token) refreshTokens.push(body.refresh_token);
  });
  return refreshTokens;
}

function refreshElsewhere(w: World, refreshToken: string): Promise<Response> {
  return fetch(`${w.issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: w.clientId, resource: w.notesUrl }),
  });
}

test.describe('DPoP-bound tokens that expire within seconds', () => {
  const w = shortLivedWorld;
  test.use({ baseURL: w.appOrigin });

  test('20 concurrent requests on an expired access token make exactly one refresh request', async ({ page }) => {
    await authorizeReadWrite(page, 'mia', w);
    await page.waitForTimeout(2_500); // past the worker's expiry margin
    await resetLogs(w);
    const statuses = await concurrentListNotes(page, 20, w);
    expect(statuses).toEqual(Array(20).fill(200));
    const refreshes = (await asLog(w)).tokens.filter((t) => t.grantType === 'refresh_token');
    expect(refreshes).toHaveLength(1);
  });

  test('a stolen refresh token is useless without the worker\'s key, and the worker carries on', async ({ page, context }) => {
    const refreshTokens = captureRefreshTokens(context, w);
    await authorizeReadWrite(page, 'nina', w);
    const stolen = await refreshElsewhere(w, refreshTokens.at(-1)!);
    expect(stolen.status).toBe(400);
    await page.waitForTimeout(2_500);
    await resetLogs(w);
    await runTool(page, 'notes', 'list-notes');
    await expect(lastOutput(page, 'notes')).toHaveClass(/ok/);
    expect((await asLog(w)).authorizations).toHaveLength(0);
    expect((await asLog(w)).tokens.filter((t) => t.grantType === 'refresh_token' && !t.error)).toHaveLength(1);
  });

  test('the worker stopped during a refresh: nothing is lost, and at most one authorization follows', async ({ page, context }) => {
    await authorizeReadWrite(page, 'olga', w);
    await page.waitForTimeout(2_500);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    await context.route(`${w.issuer}/token`, async (route) => {
      await held;
      await route.continue().catch(() => undefined);
    });
    await resetLogs(w);
    const pending = concurrentListNotes(page, 1, w).catch(() => []);
    await expect.poll(async () => (await asLog(w)).tokens.length, { timeout: 2_000 }).toBe(0);
    await stopWorker(context, page);
    release();
    await pending;
    await context.unroute(`${w.issuer}/token`);

    // The restarted worker still has its DPoP-bound token and refresh token. If the interrupted
    // refresh reached the server, that refresh token was rotated away and the server revokes the
    // grant: then one authorization for the whole set follows. Either way nothing is lost.
    await runTool(page, 'notes', 'list-notes');
    const prompt = page.getByTestId('prompt-notes');
    await expect(prompt.or(lastOutput(page, 'notes').and(page.locator('.ok')))).toBeVisible();
    if (await prompt.isVisible()) {
      await expect(prompt).toContainText('will ask for notes:read notes:write');
      await authorize(page, 'notes', 'olga', 'Allow', w);
    }
    await expect(lastOutput(page, 'notes')).toHaveClass(/ok/);
    expect((await ledger(page, 'notes'))?.requested).toEqual(['notes:read', 'notes:write']);
    expect((await authorizationScopes(w.notesUrl, w)).length).toBeLessThanOrEqual(1);
  });
});

test.describe('bearer tokens (DPoP off) that expire within seconds', () => {
  const w = bearerWorld;
  test.use({ baseURL: w.appOrigin });

  test('a refresh token spent elsewhere (grant revoked) ends in one re-authorization for the whole set', async ({ page, context }) => {
    const refreshTokens = captureRefreshTokens(context, w);
    await authorizeReadWrite(page, 'noah', w);
    // someone else spends the worker's refresh token first: oidc-provider rotates it, and the
    // worker's later use is a reuse, for which the whole grant is revoked
    expect((await refreshElsewhere(w, refreshTokens.at(-1)!)).status).toBe(200);
    await page.waitForTimeout(2_500);
    await resetLogs(w);

    await runTool(page, 'notes', 'list-notes');
    await expect(page.getByTestId('prompt-notes')).toContainText('will ask for notes:read notes:write');
    await authorize(page, 'notes', 'noah', 'Allow', w);
    await expect(lastOutput(page, 'notes')).toHaveClass(/ok/);
    expect(await authorizationScopes(w.notesUrl, w)).toEqual(['notes:read notes:write']);
    // one failed refresh (the reuse), no retry of it; later refreshes belong to the new grant
    const refreshes = (await asLog(w)).tokens.filter((t) => t.grantType === 'refresh_token');
    expect(refreshes[0]?.error).toBe('invalid_grant');
    expect(refreshes.filter((t) => t.error)).toHaveLength(1);
  });
});
