// The worker's policy at the edges, where a person would notice it: a late refresh, an answer to an
// older token, a server that names no scope, a hard reload, a database deleted under the worker, a
// network failure next to a pending authorization, and sign-out.
import { expect, test } from '@playwright/test';
import {
  asLog,
  authorizationScopes,
  authorize,
  authorizeRead,
  authorizeReadWrite,
  bearerWorld,
  captureRefreshTokens,
  connect,
  ledger,
  openDemo,
  resetLogs,
  runTool,
  PAST_REFRESH_MARGIN_MS,
  shortLivedWorld,
  world,
} from './world.ts';

test.describe('policy at the edges', { tag: '@hardening' }, () => {
  test.beforeEach(async () => {
    await resetLogs();
  });

  test('a 403 that answers an older token is sent again with the newer one, not asked for again', async ({ context }) => {
    const a = await context.newPage();
    await authorizeRead(a, 'sam');
    const b = await context.newPage();
    await openDemo(b);
    await expect(b.getByTestId('tool-notes-add-note')).toBeVisible();

    // Tab A's add-note reaches the server with the notes:read token; its 403 is held on the way back.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let answered: () => void = () => undefined;
    const heldAnswer = new Promise<void>((resolve) => (answered = resolve));
    let held = false;
    await context.route(world.notesUrl, async (route) => {
      // only the first try of A's call is held; the worker's second try goes straight through
      if (held || !(route.request().postData() ?? '').includes('"held in A"')) return route.continue();
      held = true;
      const response = await route.fetch();
      expect(response.status()).toBe(403);
      answered();
      await released;
      await route.fulfill({ response });
    });
    const fromA = await runTool(a, 'notes', 'add-note', { text: 'held in A' });
    await heldAnswer;

    // Meanwhile tab B steps up to notes:read notes:write.
    const fromB = await runTool(b, 'notes', 'add-note', { text: 'from B' });
    await authorize(b, 'notes', 'sam');
    await expect(fromB).toHaveText(/Added note #\d+: from B/);

    // A's old 403 arrives now: it was about the old token, so the worker sends A's call again with the new one.
    release();
    await expect(fromA).toHaveText(/Added note #\d+: held in A/);
    await expect(a.getByTestId('prompt-notes')).toHaveCount(0);
    await expect(a.getByTestId('error-notes')).toHaveCount(0);
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read', 'notes:read notes:write']);
  });

  test('a 403 insufficient_scope that names no scope stops at once, even with auto-redirect on', async ({ page }) => {
    await authorizeRead(page, 'pat');
    await page.getByTestId('auto-redirect').check();
    const status = await page.evaluate(async (url) => (await fetch(`${url}/bench/challenge?unscoped`, { method: 'POST' })).status, world.notesUrl);
    expect(status).toBe(403);
    await expect(page.getByTestId('error-notes')).toContainText('without saying which scope it needs');
    await page.waitForTimeout(1_000); // time enough for a redirect, had one started
    expect(new URL(page.url()).origin).toBe(world.appOrigin);
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read']);
  });

  test('after a hard reload (Shift+Reload), the page is taken back under the worker and its calls carry tokens', async ({ page, context }) => {
    await authorizeRead(page, 'pat');
    await context.addInitScript(() => {
      (window as unknown as { controlledAtStart: boolean }).controlledAtStart = navigator.serviceWorker?.controller !== null;
    });
    const cdp = await context.newCDPSession(page);
    const reloaded = page.waitForEvent('load');
    await cdp.send('Page.reload', { ignoreCache: true });
    await reloaded;
    // the browser bypassed the worker for this load, and the client core asked it to claim the page
    expect(await page.evaluate(() => (window as unknown as { controlledAtStart: boolean }).controlledAtStart)).toBe(false);
    await expect(page.getByTestId('status-notes')).toHaveText('Authorized');
    await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read']);
  });

  test('deleting the database under a running worker is not blocked, and the worker carries on', async ({ page }) => {
    await authorizeRead(page, 'pat');
    const outcome = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const request = indexedDB.deleteDatabase('mcp-sw-auth');
          request.onsuccess = () => resolve('deleted');
          request.onerror = () => resolve('error');
          request.onblocked = () => setTimeout(() => resolve('blocked'), 3_000);
        }),
    );
    expect(outcome).toBe('deleted');
    // the worker opens the database again when it next needs it, and records the next challenge
    await connect(page, 'calendar');
    await expect(page.getByTestId('prompt-calendar')).toContainText('calendar:read');
    expect((await ledger(page, 'calendar'))?.requested).toEqual(['calendar:read']);
  });

  test('a network failure is reported as such, even while an authorization is pending for the same server', async ({ page, context }) => {
    await authorizeRead(page, 'pat');
    await runTool(page, 'notes', 'add-note', { text: 'needs write' });
    await expect(page.getByTestId('prompt-notes')).toContainText('notes:write'); // pending
    await context.route(world.notesUrl, (route) => ((route.request().postData() ?? '').includes('list-notes') ? route.abort() : route.continue()));
    const listed = await runTool(page, 'notes', 'list-notes');
    await expect(listed).toHaveClass(/error/);
    await expect(listed).not.toContainText('Waiting for an authorization');
    await expect(listed).toContainText(/fetch/i);
  });
});

test.describe('late refreshes', { tag: '@hardening' }, () => {
  const w = shortLivedWorld;
  test.use({ baseURL: w.appOrigin });

  test('a refresh that answers after sign-out is dropped: the user stays signed out', async ({ page, context }) => {
    await resetLogs(w);
    await authorizeRead(page, 'ruth', w);
    await page.waitForTimeout(PAST_REFRESH_MARGIN_MS); // the next call refreshes
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let answered: () => void = () => undefined;
    const heldAnswer = new Promise<void>((resolve) => (answered = resolve));
    let delivered: () => void = () => undefined;
    const lateAnswerDelivered = new Promise<void>((resolve) => (delivered = resolve));
    await context.route(`${w.issuer}/token`, async (route) => {
      if (!(route.request().postData() ?? '').includes('grant_type=refresh_token')) return route.continue();
      const response = await route.fetch(); // the server issues new tokens...
      if (response.status() === 200) answered();
      await released; // ...which reach the worker only after the user signed out
      await route.fulfill({ response });
      delivered();
    });
    await runTool(page, 'notes', 'list-notes');
    await heldAnswer;
    await page.getByTestId('signout-notes').click();
    await expect(page.getByTestId('status-notes')).toHaveText('Not connected');
    release();
    await lateAnswerDelivered;
    await page.waitForTimeout(500); // time enough for the worker to install it, were it to

    // the late tokens were not installed: the call that waited for them went out without a token
    // and now needs an authorization, like any call after sign-out
    await expect(page.getByTestId('binding-notes')).toHaveCount(0);
    await expect(page.getByTestId('status-notes')).toHaveText(/Not connected|Needs authorization/);
    expect((await ledger(page, 'notes'))?.granted).toEqual([]);
    expect((await asLog(w)).tokens.filter((t) => t.grantType === 'refresh_token' && t.status === 200)).toHaveLength(1);
    await connect(page, 'notes');
    await expect(page.getByTestId('prompt-notes')).toContainText('notes:read');
  });
});

test.describe('sign-out', { tag: '@hardening' }, () => {
  const w = bearerWorld;
  test.use({ baseURL: w.appOrigin });

  test('sign-out revokes the tokens at the authorization server: a copy of the refresh token stops working', async ({ page, context }) => {
    const refreshTokens = captureRefreshTokens(context, w);
    await resetLogs(w);
    await authorizeReadWrite(page, 'uma', w);
    const copy = refreshTokens.at(-1);
    expect(copy, 'the refresh token was captured').toMatch(/^[\w-]{20,}$/);

    await page.getByTestId('signout-notes').click();
    await expect(page.getByTestId('timeline-notes')).toContainText('tokens revoked at the authorization server');
    const revocations = (await asLog(w)).revocations;
    // the refresh token is revoked; oidc-provider declines to revoke a JWT access token (it expires by itself)
    expect(revocations.map((r) => [r.tokenTypeHint, r.status])).toEqual([
      ['refresh_token', 200],
      ['access_token', 400],
    ]);
    const reuse = await fetch(`${w.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: copy!, client_id: w.clientId, resource: w.notesUrl }),
    });
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error?: string }).error).toBe('invalid_grant');
  });
});
