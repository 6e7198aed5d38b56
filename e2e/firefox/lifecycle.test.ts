// e2e/lifecycle.spec.ts (and reliability.spec.ts's worker-stopped-mid-flow test) in Firefox: what
// outlives the worker, and refreshes with tokens that live 12 s.
//
// Stopping the worker: Playwright asks Chromium over CDP (ServiceWorker.stopAllWorkers). Puppeteer
// has no service-worker target in Firefox, so browser.ts's stopWorker terminates it from Firefox's
// chrome context (nsIServiceWorkerInfo.terminateWorker, reached with --remote-allow-system-access),
// which is what Firefox itself does to an idle worker. The other substitute, a low
// dom.serviceWorkers.idle_timeout, would stop the worker at moments the test does not choose (also
// while it waits for a consent), so it is not used.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { launchFirefox, stopWorker } from './browser.ts';
import {
  approveAtAuthorizationServer,
  asLog,
  authorizationScopes,
  authorize,
  authorizeReadWrite,
  bearerWorld,
  buttonNamed,
  byTestId,
  connect,
  ledger,
  loginField,
  mcpLog,
  nextDocument,
  openDemo,
  PAST_REFRESH_MARGIN_MS,
  resetLogs,
  runTool,
  shortLivedWorld,
  sleep,
  firefoxTest,
  workerInstance,
  world,
} from './harness.ts';

describe('lifecycle', () => {
  firefoxTest('DPoP-bound tokens survive a worker restart: no new authorization', async ({ page, browser }) => {
    await authorizeReadWrite(page, world, 'frank');
    // a lost token would show as a redirect to the authorization server, not as a prompt that waits
    await byTestId(page, 'auto-redirect').click();
    await byTestId(page, 'auto-redirect').toBeChecked();
    const before = await workerInstance(page);
    await stopWorker(browser, world.appOrigin);
    await resetLogs(world);

    const added = await runTool(page, 'notes', 'add-note', { text: 'after the restart' });
    await added.toHaveText(/Added note #\d+: after the restart/);
    assert.notEqual(await workerInstance(page), before, 'a fresh worker answered');
    assert.equal(new URL(page.url()).origin, world.appOrigin);
    assert.deepEqual((await asLog(world)).authorizations, []);
    // the restarted worker sent the stored token: the server accepted add-note from it
    const calls = (await mcpLog(world.notesUrl)).requests.filter((r) => r.tool === 'add-note');
    assert.ok(calls.some((r) => r.status === 200), `add-note accepted: ${JSON.stringify(calls)}`);
    assert.ok(calls.filter((r) => r.status === 200).every((r) => r.tokenScopes === 'notes:read notes:write'));
  });

  firefoxTest('the worker stopped after the challenge, at the login page and at the consent page: the flow still completes', async ({ page, browser }) => {
    await resetLogs(world);
    await openDemo(page, world);
    const connected = await connect(page, 'notes');
    await byTestId(page, 'prompt-notes').toBeVisible();
    const first = await workerInstance(page);
    await stopWorker(browser, world.appOrigin); // after the challenge: the pending authorization is in IndexedDB

    await nextDocument(page, () => byTestId(page, 'authorize-notes').click());
    await stopWorker(browser, world.appOrigin); // while the user is at the authorization server
    await loginField(page).fill('kim');
    await nextDocument(page, () => buttonNamed(page, 'Sign in').click());
    await buttonNamed(page, 'Allow').toBeVisible();
    await stopWorker(browser, world.appOrigin); // right before the callback: a fresh worker must complete it
    await approveAtAuthorizationServer(page, world, 'kim');

    await connected.toContainText('4 tools');
    assert.notEqual(await workerInstance(page), first);
    assert.deepEqual(await authorizationScopes(world.notesUrl, world), ['notes:read']);
    assert.deepEqual((await ledger(page, 'notes'))?.granted, ['notes:read']);
    await byTestId(page, 'last-result').toContainText('granted notes:read');
  });

  firefoxTest('bearer tokens (DPoP off): a worker that lost its tokens re-authorizes the whole accumulated set in one go', async ({ page, browser }) => {
    await authorizeReadWrite(page, bearerWorld, 'frank');
    // the worker stops: its memory, and with it every bearer token, is gone
    await stopWorker(browser, bearerWorld.appOrigin);

    const listed = await runTool(page, 'notes', 'list-notes');
    await byTestId(page, 'prompt-notes').toContainText('will ask for notes:read notes:write');
    await authorize(page, bearerWorld, 'notes', 'frank');
    await listed.toHaveClass(/ok/);
    assert.deepEqual(await authorizationScopes(bearerWorld.notesUrl, bearerWorld), ['notes:read', 'notes:read notes:write', 'notes:read notes:write']);

    // and both earlier operations work again without another authorization
    const added = await runTool(page, 'notes', 'add-note', { text: 'after the restart' });
    await added.toHaveText(/Added note #\d+: after the restart/);
    assert.equal((await authorizationScopes(bearerWorld.notesUrl, bearerWorld)).length, 3);
  });

  firefoxTest('with "Redirect without asking" on, a challenge goes straight to the authorization server, and the choice outlives the redirect', async ({ page }) => {
    await resetLogs(world);
    await openDemo(page, world);
    await byTestId(page, 'auto-redirect').click();
    await byTestId(page, 'auto-redirect').toBeChecked();
    await nextDocument(page, () => byTestId(page, 'connect-notes').click());
    assert.equal(new URL(page.url()).origin, world.issuer);
    await approveAtAuthorizationServer(page, world, 'grace');
    await byTestId(page, 'tool-notes-list-notes').toBeVisible();
    assert.deepEqual(await authorizationScopes(world.notesUrl, world), ['notes:read']);
    await byTestId(page, 'auto-redirect').toBeChecked();
  });

  describe('with access tokens that expire within seconds', () => {
    const w = shortLivedWorld;

    firefoxTest('an expired access token is refreshed with the refresh token, without a new authorization and without widening scope', async ({ page }) => {
      await resetLogs(w);
      await openDemo(page, w);
      await connect(page, 'notes');
      await authorize(page, w, 'notes', 'heidi');
      await byTestId(page, 'tool-notes-list-notes').toBeVisible();

      await sleep(PAST_REFRESH_MARGIN_MS); // time passing, not an assertion: the token is now due
      await (await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
      await byTestId(page, 'timeline-notes').toContainText('Refreshed the access token');

      const log = await asLog(w);
      assert.equal(log.authorizations.length, 1);
      assert.equal(log.authorizations[0]?.pushed, true, 'this world takes pushed authorization requests only');
      const refreshes = log.tokens.filter((t) => t.grantType === 'refresh_token' && t.status === 200);
      assert.ok(refreshes.length >= 1);
      for (const refresh of refreshes) {
        assert.equal(refresh.resource, w.notesUrl);
        // a refresh asks for no scope of its own, and gets exactly the scope granted before
        assert.equal(refresh.requestedScope, undefined);
        assert.equal(refresh.scope, 'notes:read');
      }
      await byTestId(page, 'granted-notes', '.chip.granted').toHaveText(['notes:read']);
    });

    firefoxTest('a short-lived token is refreshed ahead of expiry in proportion to its life, not before every request', async ({ page }) => {
      await resetLogs(w);
      await openDemo(page, w);
      await connect(page, 'notes');
      await authorize(page, w, 'notes', 'ivan');
      await byTestId(page, 'tool-notes-list-notes').toBeVisible();
      const refreshes = async () => (await asLog(w)).tokens.filter((t) => t.grantType === 'refresh_token').length;
      // a fixed 10 s margin made this 12 s token stale after 2 s, and every call from then on refreshed
      const grantedAt = Date.now();
      let calls = 0;
      while (Date.now() - grantedAt < 5_000) {
        await (await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
        calls++;
      }
      assert.ok(calls >= 2, `${calls} calls in the first 5 s`);
      assert.equal(await refreshes(), 0);
      await sleep(PAST_REFRESH_MARGIN_MS - (Date.now() - grantedAt)); // time passing: the token is now due
      await (await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
      assert.equal(await refreshes(), 1);
    });
  });

  test('DPoP-bound tokens survive a browser restart (a profile on disk): no new authorization', { timeout: 120_000 }, async () => {
    // as when the user quits Firefox and starts it again: the same profile directory, a new process
    const profile = mkdtempSync(join(tmpdir(), 'mcp-sw-auth-firefox-profile-'));
    try {
      let browser = await launchFirefox({ userDataDir: profile });
      try {
        const page = (await browser.pages())[0] ?? (await browser.newPage());
        await authorizeReadWrite(page, world, 'quinn');
        await byTestId(page, 'auto-redirect').click();
        await byTestId(page, 'auto-redirect').toBeChecked();
      } finally {
        await browser.close();
      }

      browser = await launchFirefox({ userDataDir: profile });
      try {
        const page = (await browser.pages())[0] ?? (await browser.newPage());
        await resetLogs(world);
        await openDemo(page, world);
        await byTestId(page, 'tool-notes-add-note').toBeVisible(); // reconnected with the stored token
        const added = await runTool(page, 'notes', 'add-note', { text: 'after a browser restart' });
        await added.toHaveText(/Added note #\d+: after a browser restart/);
        await byTestId(page, 'binding-notes').toHaveText('DPoP-bound token');
        assert.deepEqual((await asLog(world)).authorizations, []);
      } finally {
        await browser.close();
      }
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
