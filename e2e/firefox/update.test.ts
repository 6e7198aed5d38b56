// e2e/update.spec.ts in Firefox: an app update during a flow. The app is deployed with the worker of
// the previous release (build N, e2e/fixtures/update/previous-sw.js: IndexedDB schema 4), a person
// starts an authorization, and the host deploys this release (build N+1, the packed lib/sw.js:
// schema 5, a migration) before the consent is given. The callback still completes, the ledger and
// the registrations survive, and nothing is asked twice. Served by e2e/fixtures/serve.ts (the update
// app: the no-bundler page, and whichever worker was deployed last), which run.ts starts for the
// Firefox suite's locked world; the fixtures must be prepared (`npm run test:package`).
//
// What Firefox 153 ESR does differently: it has no `self.serviceWorker` in a service worker, so
// sw/lifecycle.ts learns that the worker is active from its events (before, the waiting N+1
// upgraded the database under N, and N could not complete the consent). And a new version that took
// over an open page (skipWaiting) let the page's next request, sent during the handover, past both
// workers without its token (a 401); so a new version now never takes over open pages, in either
// browser (sw/worker.ts, `takeControl`), and these tests show it waiting until the page has left.
import assert from 'node:assert/strict';
import { beforeEach, describe } from 'node:test';
import type { Page } from 'puppeteer-core';
import {
  asLog,
  authorizationScopes,
  byTestId,
  firefoxTest,
  loginField,
  nextDocument,
  openPopup,
  poll,
  Probe,
  readDatabase,
  resetLogs,
  signInAndAllow,
  waitForUrl,
  withTimeout,
  world as w,
} from './harness.ts';
import { updateOrigin } from './worlds.ts';

type Build = 'previous' | 'current';

async function deploy(build: Build): Promise<void> {
  const response = await fetch(`${updateOrigin}/__deploy?build=${build}`, { method: 'POST' });
  assert.equal(response.status, 204, `deploy ${build}`);
}

async function open(page: Page, stepUp: 'popup' | 'redirect'): Promise<void> {
  await page.goto(`${updateOrigin}/?notes=${encodeURIComponent(w.notesUrl)}&stepUp=${stepUp}`);
}

/** The worker database's schema version, read without opening it (opening could create it). */
function schemaVersion(page: Page): Promise<number | undefined> {
  return page.evaluate(async () => (await indexedDB.databases()).find((d) => d.name === 'mcp-sw-auth')?.version);
}

/** Asks the browser to check for a new worker script now, as it does by itself after navigations. */
async function checkForUpdate(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await (await navigator.serviceWorker.getRegistration())!.update();
  });
}

/** The registration's workers, by state. */
function registration(page: Page): Promise<{ waiting: boolean; installing: boolean; active: boolean }> {
  return page.evaluate(async () => {
    const r = await navigator.serviceWorker.getRegistration();
    return { waiting: !!r?.waiting, installing: !!r?.installing, active: !!r?.active };
  });
}

/** Each line of the page's output. */
const lines = (page: Page) => new Probe(page, '[data-testid="output"] li');

async function codesExchanged(): Promise<number> {
  return (await asLog(w)).tokens.filter((t) => t.grantType === 'authorization_code' && t.status === 200).length;
}

/**
 * Records the status of every response the page's own fetches to the MCP server got (what its MCP
 * client saw), in each document of the page, before any script of the page runs: what the page's
 * fetch resolved with, whoever answered it (Playwright reads these off the page's response events;
 * popup.test.ts reads them in the page the same way). Each document keeps its own list: read it
 * before the page leaves.
 */
async function watchMcpStatuses(page: Page): Promise<() => Promise<number[]>> {
  await page.evaluateOnNewDocument((url: string) => {
    const statuses: number[] = [];
    (window as unknown as { mcpStatuses: number[] }).mcpStatuses = statuses;
    const original = window.fetch.bind(window);
    window.fetch = async (input, init) => {
      const request = new Request(input, init);
      const response = await original(request);
      if (request.url === url && request.method === 'POST') statuses.push(response.status);
      return response;
    };
  }, w.notesUrl);
  return () => page.evaluate(() => (window as unknown as { mcpStatuses?: number[] }).mcpStatuses ?? []);
}

describe('an update of the app during a flow', () => {
  beforeEach(() => resetLogs(w));

  firefoxTest(
    'popup, with a request held: build N+1 arrives while the consent page is open; the held call is answered after the consent, then N+1 takes over with the ledger migrated',
    async ({ page, context }) => {
      await deploy('previous');
      const statuses = await watchMcpStatuses(page);
      const seen: number[] = [];
      await open(page, 'popup');
      await byTestId(page, 'status').toHaveText('signed-out');
      assert.equal(await schemaVersion(page), 4);

      await byTestId(page, 'connect').click(); // held by build N
      await byTestId(page, 'authorize').toBeVisible();
      const popup = await openPopup(page, () => byTestId(page, 'authorize').click());
      await loginField(popup).toBeVisible();

      // the host deploys N+1; the browser installs it, and it waits: N still holds the page's request
      await deploy('current');
      await checkForUpdate(page);
      await poll(() => registration(page), (r) => r.waiting, 'N+1 is installed and waiting');
      // the waiting build has not touched the database under the active one
      assert.equal(await schemaVersion(page), 4, 'the database is still at schema 4 while N+1 waits');

      const closed = new Promise<void>((resolve) => popup.once('close', () => resolve()));
      assert.deepEqual(await signInAndAllow(popup, 'updated'), ['notes:read']);
      await withTimeout(closed, 'the popup closes itself');
      // the held connect is answered in place, and never as a refusal
      await lines(page).toHaveText(['4 tools']);
      seen.push(...(await statuses()));
      assert.equal((await registration(page)).waiting, true, 'N+1 does not take over the open page');
      // N+1 takes over once the app's tab is closed (Firefox counts a later it keeps in its back/forward
      // cache as open, so leaving the page in the same tab is not enough): a person coming back later
      const later = await context.newPage();
      await page.close();
      await later.bringToFront();
      const laterStatuses = await watchMcpStatuses(later);
      await open(later, 'popup');
      await poll(() => schemaVersion(later), (v) => v === 5, 'N+1 migrated the database to schema 5');
      assert.equal((await registration(later)).waiting, false);
      await byTestId(later, 'status').toHaveText('authorized');

      // N+1 carries on from what N kept: its token (no consent for notes:read again), its ledger
      await byTestId(later, 'add').click(); // held by N+1
      await byTestId(later, 'authorize').toBeVisible();
      const second = await openPopup(later, () => byTestId(later, 'authorize').click());
      const secondClosed = new Promise<void>((resolve) => second.once('close', () => resolve()));
      assert.deepEqual(await signInAndAllow(second, 'updated'), ['notes:read', 'notes:write']);
      await withTimeout(secondClosed, 'the popup closes itself');
      await lines(later).toHaveCount(1);
      await lines(later).toHaveText(/^Added note #\d+: without a bundler$/);
      seen.push(...(await laterStatuses()));
      assert.deepEqual(
        seen.filter((s) => s === 401 || s === 403),
        [],
      );
      assert.ok(seen.length >= 3, `the page's MCP fetches were watched: ${JSON.stringify(seen)}`);
      assert.deepEqual(await authorizationScopes(w.notesUrl, w), ['notes:read', 'notes:read notes:write']);
      assert.equal(await codesExchanged(), 2);
      const servers = (await readDatabase(later))['servers'] as Array<{ id: string; granted: string[]; authorizations: number }>;
      assert.deepEqual(
        servers.map((s) => [s.id, s.granted, s.authorizations]),
        [['notes', ['notes:read', 'notes:write'], 2]],
      );
    },
  );

  firefoxTest(
    'redirect: build N+1 arrives while the user is at the authorization server; build N completes its flow (Firefox keeps the app page in its back/forward cache, so N+1 waits), then N+1 takes over with the token and ledger migrated',
    async ({ page, context }) => {
      await deploy('previous');
      await open(page, 'redirect');
      await byTestId(page, 'status').toHaveText('signed-out');
      await byTestId(page, 'connect').click();
      await byTestId(page, 'authorize').toBeVisible();
      await lines(page).toHaveText(['waiting for notes:read']);
      await nextDocument(page, () => byTestId(page, 'authorize').click());
      await waitForUrl(page, (url) => url.origin === w.issuer, 'at the authorization server'); // build N stored the flow (schema 4)

      // another tab of the app picks up the deploy: N+1 installs and waits; closing that tab is not
      // enough here, since the first tab's app page is kept in Firefox's back/forward cache
      await deploy('current');
      const other = await context.newPage();
      await other.bringToFront();
      await open(other, 'redirect');
      await checkForUpdate(other);
      await poll(() => registration(other), (r) => r.waiting, 'N+1 is installed and waiting');
      await other.close();

      await page.bringToFront();
      assert.deepEqual(await signInAndAllow(page, 'redirected'), ['notes:read']);
      await waitForUrl(page, (url) => url.origin === updateOrigin && !url.pathname.startsWith('/oauth'), 'back in the app');
      // the flow completed (by N, which still controls the app): the interrupted connect was resumed
      await lines(page).toHaveText(['4 tools']);
      await byTestId(page, 'status').toHaveText('authorized');
      assert.equal(await schemaVersion(page), 4, 'N+1 has not touched the database while N controls the app');

      // the person closes the app and comes back later: N+1 takes over, migrates, and carries on with N's token
      const later = await context.newPage();
      await page.close();
      await later.bringToFront();
      await open(later, 'redirect');
      await poll(() => schemaVersion(later), (v) => v === 5, 'N+1 migrated the database to schema 5');
      await byTestId(later, 'status').toHaveText('authorized');
      await byTestId(later, 'connect').click();
      await lines(later).toHaveText(['4 tools']);
      const migrated = (await readDatabase(later))['servers'] as Array<{ id: string; requested: string[]; granted: string[] }>;
      assert.deepEqual(
        migrated.map((s) => [s.id, s.requested, s.granted]),
        [['notes', ['notes:read'], ['notes:read']]],
      );
      assert.deepEqual(await authorizationScopes(w.notesUrl, w), ['notes:read']);
      assert.equal(await codesExchanged(), 1);
    },
  );
});
