import { expect, test } from '@playwright/test';
import {
  asLog,
  authorizationScopes,
  authorize,
  authorizeReadWrite,
  bearerWorld,
  connect,
  mcpLog,
  openDemo,
  resetLogs,
  runTool,
  PAST_REFRESH_MARGIN_MS,
  shortLivedWorld,
  stopWorker,
  workerInstance,
  world,
} from './world.ts';

test.describe('lifecycle', { tag: '@lifecycle' }, () => {
  test('DPoP-bound tokens survive a worker restart: no new authorization', async ({ page, context }) => {
    await authorizeReadWrite(page, 'frank', world);
    // A lost token would show as a redirect to the authorization server, not as a prompt that waits.
    await page.getByTestId('auto-redirect').check();
    const before = await workerInstance(page);
    await stopWorker(context, page);
    await resetLogs();

    const added = await runTool(page, 'notes', 'add-note', { text: 'after the restart' });
    await expect(added).toHaveText(/Added note #\d+: after the restart/);
    expect(await workerInstance(page)).not.toBe(before); // a fresh worker answered
    expect(new URL(page.url()).origin).toBe(world.appOrigin);
    expect((await asLog()).authorizations).toEqual([]);
    // the restarted worker sent the stored token: the server accepted add-note from it
    const calls = (await mcpLog(world.notesUrl)).requests.filter((r) => r.tool === 'add-note');
    expect(calls.map((r) => r.status)).toContain(200);
    expect(calls.filter((r) => r.status === 200).every((r) => r.tokenScopes === 'notes:read notes:write')).toBe(true);
  });

  test('DPoP-bound tokens survive a browser restart: no new authorization', async ({ playwright, launchOptions }, testInfo) => {
    // a real profile on disk, closed and opened again, as when the user quits and restarts the browser
    const profile = testInfo.outputPath('profile');
    const open = async () => {
      const context = await playwright.chromium.launchPersistentContext(profile, { ...launchOptions, baseURL: world.appOrigin, viewport: { width: 1280, height: 800 } });
      return { context, page: context.pages()[0] ?? (await context.newPage()) };
    };
    let { context, page } = await open();
    await authorizeReadWrite(page, 'quinn');
    await page.getByTestId('auto-redirect').check();
    await context.close();

    ({ context, page } = await open());
    try {
      await resetLogs();
      await openDemo(page);
      await expect(page.getByTestId('tool-notes-add-note')).toBeVisible(); // reconnected with the stored token
      const added = await runTool(page, 'notes', 'add-note', { text: 'after a browser restart' });
      await expect(added).toHaveText(/Added note #\d+: after a browser restart/);
      await expect(page.getByTestId('binding-notes')).toHaveText('DPoP-bound token');
      expect((await asLog()).authorizations).toEqual([]);
    } finally {
      await context.close();
    }
  });

  test.describe('bearer tokens (DPoP off)', () => {
    test.use({ baseURL: bearerWorld.appOrigin });

    test('a worker that lost its tokens re-authorizes the whole accumulated set in one go', async ({ page, context }) => {
      await authorizeReadWrite(page, 'frank', bearerWorld);
      // Chromium stops the worker: its memory, and with it every bearer token, is gone
      await stopWorker(context, page);

      const listed = await runTool(page, 'notes', 'list-notes');
      await expect(page.getByTestId('prompt-notes')).toContainText('will ask for notes:read notes:write');
      await authorize(page, 'notes', 'frank', 'Allow', bearerWorld);
      await expect(listed).toHaveClass(/ok/);
      expect(await authorizationScopes(bearerWorld.notesUrl, bearerWorld)).toEqual(['notes:read', 'notes:read notes:write', 'notes:read notes:write']);

      // and both earlier operations work again without another authorization
      const added = await runTool(page, 'notes', 'add-note', { text: 'after the restart' });
      await expect(added).toHaveText(/Added note #\d+: after the restart/);
      expect(await authorizationScopes(bearerWorld.notesUrl, bearerWorld)).toHaveLength(3);
    });
  });

  test('with "Redirect without asking" on, a challenge goes straight to the authorization server', async ({ page }) => {
    await resetLogs();
    await openDemo(page);
    await page.getByTestId('auto-redirect').check();
    const nextDocument = page.waitForEvent('load');
    await page.getByTestId('connect-notes').click();
    await nextDocument;
    expect(new URL(page.url()).origin).toBe(world.issuer);
    await page.locator('input[name="login"]').fill('grace');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read']);
    // the choice outlives the redirect: the worker keeps it
    await expect(page.getByTestId('auto-redirect')).toBeChecked();
  });

  test.describe('with access tokens that expire within seconds', () => {
    test.use({ baseURL: shortLivedWorld.appOrigin });

    test('an expired access token is refreshed with the refresh token, without a new authorization and without widening scope', async ({ page }) => {
      await resetLogs(shortLivedWorld);
      await openDemo(page);
      await connect(page, 'notes');
      await authorize(page, 'notes', 'heidi', 'Allow', shortLivedWorld);
      await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();

      await page.waitForTimeout(PAST_REFRESH_MARGIN_MS);
      await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
      await expect(page.getByTestId('timeline-notes')).toContainText('Refreshed the access token');

      const log = await asLog(shortLivedWorld);
      expect(log.authorizations).toHaveLength(1);
      const refreshes = log.tokens.filter((t) => t.grantType === 'refresh_token' && t.status === 200);
      expect(refreshes.length).toBeGreaterThanOrEqual(1);
      for (const refresh of refreshes) {
        expect(refresh.resource).toBe(shortLivedWorld.notesUrl);
        // a refresh asks for no scope of its own, and gets exactly the scope granted before
        expect(refresh.requestedScope).toBeUndefined();
        expect(refresh.scope).toBe('notes:read');
      }
      await expect(page.getByTestId('granted-notes').locator('.chip.granted')).toHaveText(['notes:read']);
    });

    test('a short-lived token is refreshed ahead of expiry in proportion to its life, not before every request', async ({ page }) => {
      await resetLogs(shortLivedWorld);
      await openDemo(page);
      await connect(page, 'notes');
      await authorize(page, 'notes', 'ivan', 'Allow', shortLivedWorld);
      await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();
      const refreshes = async () => (await asLog(shortLivedWorld)).tokens.filter((t) => t.grantType === 'refresh_token').length;
      // a fixed 10 s margin made this 12 s token stale after 2 s, and every call from then on refreshed
      const grantedAt = Date.now();
      while (Date.now() - grantedAt < 5_000) await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
      expect(await refreshes()).toBe(0);
      await page.waitForTimeout(PAST_REFRESH_MARGIN_MS - (Date.now() - grantedAt));
      await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
      expect(await refreshes()).toBe(1);
    });
  });
});
