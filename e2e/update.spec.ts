// An app update during a flow (README, "Reliability"): the app is deployed with the worker of the
// previous release (build N, e2e/fixtures/update/previous-sw.js: IndexedDB schema 4), a person starts
// an authorization, and the host deploys this release (build N+1, the packed lib/sw.js: schema 5, a
// migration) before the consent is given. The callback still completes, the ledger and the
// registrations survive, and nothing is asked twice. Served by e2e/fixtures/serve.ts (the update app:
// the no-bundler page, and whichever worker was deployed last).
import { expect, test, type Page } from '@playwright/test';
import { fixtureWorld as w, updateOrigin, type Build } from './fixtures/fixtures.ts';
import { asLog, authorizationScopes, readDatabase, resetLogs } from './world.ts';


async function deploy(build: Build): Promise<void> {
  const response = await fetch(`${updateOrigin}/__deploy?build=${build}`, { method: 'POST' });
  expect(response.status).toBe(204);
}

function open(page: Page, stepUp: 'popup' | 'redirect'): Promise<unknown> {
  return page.goto(`${updateOrigin}/?notes=${encodeURIComponent(w.notesUrl)}&stepUp=${stepUp}`);
}

/** The worker database's schema version, read without opening it (opening could create it). */
function schemaVersion(page: Page): Promise<number | undefined> {
  return page.evaluate(async () => (await indexedDB.databases()).find((d) => d.name === 'mcp-sw-auth')?.version);
}

/** Asks the browser to check for a new worker script now, as it does by itself after navigations. */
function checkForUpdate(page: Page): Promise<unknown> {
  return page.evaluate(async () => {
    await (await navigator.serviceWorker.getRegistration())!.update();
  });
}

/** Each line of the page's output. */
const lines = (page: Page) => page.getByTestId('output').locator('li');

/**
 * Whether build N+1 is still waiting after `ms` with nothing of build N's under way: a build that
 * skipped waiting takes over (controllerchange) within milliseconds once the active one is idle.
 */
async function stillWaitingAfter(page: Page, ms: number): Promise<boolean> {
  return page.evaluate(async (ms) => {
    const tookOver = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      navigator.serviceWorker.addEventListener('controllerchange', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    return !tookOver && !!(await navigator.serviceWorker.getRegistration())?.waiting;
  }, ms);
}

async function codesExchanged(): Promise<number> {
  return (await asLog(w)).tokens.filter((t) => t.grantType === 'authorization_code' && t.status === 200).length;
}

/** Every status the page's own fetches to the MCP server came back with (what its MCP client saw). */
function watchMcpStatuses(page: Page): number[] {
  const statuses: number[] = [];
  page.on('response', (response) => {
    if (response.url() === w.notesUrl && response.request().method() === 'POST') statuses.push(response.status());
  });
  return statuses;
}

async function signInAndAllow(popupOrPage: Page, user: string): Promise<string[]> {
  const login = popupOrPage.locator('input[name="login"]');
  const allow = popupOrPage.getByRole('button', { name: 'Allow', exact: true });
  await expect(login.or(allow)).toBeVisible();
  if (await login.isVisible()) {
    await login.fill(user);
    await popupOrPage.getByRole('button', { name: 'Sign in' }).click();
  }
  await expect(allow).toBeVisible();
  const scopes = (await popupOrPage.locator('li.scope').allTextContents()).map((s) => s.trim());
  await allow.click();
  return scopes;
}

test.describe('an update of the app during a flow', { tag: '@lifecycle' }, () => {
  test.beforeEach(async () => {
    await resetLogs(w);
  });

  test('popup, with a request held: build N+1 arrives while the consent page is open; the held call is answered after the consent, then N+1 takes over with the ledger migrated', async ({ page }) => {
    await deploy('previous');
    const statuses = watchMcpStatuses(page);
    await open(page, 'popup');
    await expect(page.getByTestId('status')).toHaveText('signed-out');
    expect(await schemaVersion(page)).toBe(4);

    await page.getByTestId('connect').click(); // held by build N
    await expect(page.getByTestId('authorize')).toBeVisible();
    const opened = page.waitForEvent('popup');
    await page.getByTestId('authorize').click();
    const popup = await opened;
    await expect(popup.locator('input[name="login"]')).toBeVisible();

    // the host deploys N+1; the browser installs it, and it waits: N controls the page
    await deploy('current');
    await checkForUpdate(page);
    await expect.poll(() => page.evaluate(async () => !!(await navigator.serviceWorker.getRegistration())?.waiting)).toBe(true);
    // the waiting build has not touched the database under the active one
    expect(await schemaVersion(page)).toBe(4);

    const closed = popup.waitForEvent('close');
    expect(await signInAndAllow(popup, 'updated')).toEqual(['notes:read']);
    await closed;
    // the held connect is answered in place, and never as a refusal
    await expect(lines(page)).toHaveText(['4 tools']);
    // the held call and the popup's callback are over, so build N is idle: N+1 still waits
    expect(await stillWaitingAfter(page, 1_500)).toBe(true);
    // N+1 waits while the app's page is open (it never takes over open pages); it takes over when the
    // page has left the app and comes back, as a person coming back to the app later, and migrates
    await page.goto('about:blank');
    await open(page, 'popup');
    await expect.poll(() => schemaVersion(page)).toBe(5);
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting)).toBeNull();
    await expect(page.getByTestId('status')).toHaveText('authorized');

    // N+1 carries on from what N kept: its token (no consent for notes:read again), its ledger
    await page.getByTestId('add').click(); // held by N+1
    await expect(page.getByTestId('authorize')).toBeVisible();
    const next = page.waitForEvent('popup');
    await page.getByTestId('authorize').click();
    const second = await next;
    const secondClosed = second.waitForEvent('close');
    expect(await signInAndAllow(second, 'updated')).toEqual(['notes:read', 'notes:write']);
    await secondClosed;
    await expect(lines(page)).toHaveText([/^Added note #\d+: without a bundler$/]);
    expect(statuses.filter((s) => s === 401 || s === 403)).toEqual([]);
    expect(await authorizationScopes(w.notesUrl, w)).toEqual(['notes:read', 'notes:read notes:write']);
    expect(await codesExchanged()).toBe(2);
    const servers = (await readDatabase(page))['servers'] as Array<{ id: string; granted: string[]; authorizations: number }>;
    expect(servers.map((s) => [s.id, s.granted, s.authorizations])).toEqual([['notes', ['notes:read', 'notes:write'], 2]]);
  });

  test('redirect: build N+1 activates while the user is at the authorization server; it completes the flow build N started, from the migrated database', async ({ page, context }) => {
    await deploy('previous');
    await open(page, 'redirect');
    await expect(page.getByTestId('status')).toHaveText('signed-out');
    await page.getByTestId('connect').click();
    await expect(page.getByTestId('authorize')).toBeVisible();
    await expect(lines(page)).toHaveText(['waiting for notes:read']);
    const atAuthorizationServer = page.waitForURL((url) => url.origin === w.issuer);
    await page.getByTestId('authorize').click();
    await atAuthorizationServer; // build N stored the flow (schema 4)

    // another tab of the app picks up the deploy: N+1 installs and waits while that tab is open (it
    // never takes over open pages), then activates and migrates once it is closed
    await deploy('current');
    const other = await context.newPage();
    await open(other, 'redirect');
    await checkForUpdate(other);
    await expect.poll(() => other.evaluate(async () => !!(await navigator.serviceWorker.getRegistration())?.waiting)).toBe(true);
    expect(await schemaVersion(other)).toBe(4);
    await other.close();
    const later = await context.newPage();
    await open(later, 'redirect');
    await expect.poll(() => schemaVersion(later)).toBe(5);
    // the registration and the ledger came through the migration: what N asked for is there
    const migrated = (await readDatabase(later))['servers'] as Array<{ id: string; requested: string[]; granted: string[] }>;
    expect(migrated.map((s) => [s.id, s.requested, s.granted])).toEqual([['notes', ['notes:read'], []]]);

    expect(await signInAndAllow(page, 'redirected')).toEqual(['notes:read']);
    await page.waitForURL((url) => url.origin === updateOrigin && !url.pathname.startsWith('/oauth'));
    // N+1 completed N's flow: the interrupted connect was resumed after the redirect
    await expect(lines(page)).toHaveText(['4 tools']);
    await expect(page.getByTestId('status')).toHaveText('authorized');
    await expect(later.getByTestId('status')).toHaveText('authorized');
    expect(await authorizationScopes(w.notesUrl, w)).toEqual(['notes:read']);
    expect(await codesExchanged()).toBe(1);
  });
});
