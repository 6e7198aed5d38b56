// The package as a user installs it: three fixture apps, each with the packed tarball installed and
// built by its own tooling (`npm run test:package`), each served from an origin of its own, grow
// scope against the demo's authorization server and Notes MCP server.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { fixtureOrigin, fixtureWorld, type FixtureName } from './fixtures/fixtures.ts';
import { allowInPopup, authorizationScopes, resetLogs } from './world.ts';

const w = fixtureWorld;

/** The fixture's page; the no-bundler page takes the MCP server from its URL (it has no build step). */
function pageUrl(name: FixtureName): string {
  return name === 'no-bundler' ? `${fixtureOrigin(name)}/?notes=${encodeURIComponent(w.notesUrl)}` : `${fixtureOrigin(name)}/`;
}

async function open(page: Page, name: FixtureName): Promise<void> {
  await page.goto(pageUrl(name));
  await expect(page.getByTestId('status')).toHaveText(/signed-out|authorized|authorization-required/);
}

/**
 * One step of growth with the package's default, the popup step-up: the worker holds the refused
 * call, Authorize opens the consent in a popup (sign in, Allow; it closes itself), and the held call
 * completes in place. Returns the scopes the consent page listed and the call's own output line.
 */
async function step(page: Page, button: string, user: string): Promise<{ asked: string[]; line: Locator }> {
  const lines = page.getByTestId('output').locator('li');
  const before = await lines.count();
  await page.getByTestId(button).click();
  const asked = await allowInPopup(page, () => page.getByTestId('authorize').click(), user);
  await expect(lines).toHaveCount(before + 1);
  return { asked, line: lines.nth(before) };
}

/** Two steps of growth, each one authorization asking for the union, then a reload that needs none. */
async function growAndReload(page: Page, name: FixtureName): Promise<void> {
  const connected = await step(page, 'connect', `${name}-user`);
  expect(connected.asked).toEqual(['notes:read']);
  await expect(connected.line).toHaveText('4 tools');
  await expect(connected.line).toHaveClass('ok');

  const added = await step(page, 'add', `${name}-user`);
  expect(added.asked).toEqual(['notes:read', 'notes:write']);
  await expect(added.line).toHaveText(/^Added note #\d+: /);
  await expect(page.getByTestId('granted')).toHaveText('notes:read notes:write');
  expect(await authorizationScopes(w.notesUrl, w)).toEqual(['notes:read', 'notes:read notes:write']);

  await page.reload();
  await expect(page.getByTestId('status')).toHaveText('authorized');
  const lines = page.getByTestId('output').locator('li');
  await page.getByTestId('add').click();
  await expect(lines.first()).toHaveText(/^Added note #\d+: /);
  expect(await authorizationScopes(w.notesUrl, w)).toHaveLength(2);
}

test.describe('the packed package in real apps', { tag: '@package' }, () => {
  test.beforeEach(async () => {
    await resetLogs(w);
  });

  test('a Vite + React app with mcp-sw-auth/vite and useMcpServer grows scope, one authorization per new scope', async ({ page }) => {
    await open(page, 'vite-react');
    // the plugin emitted the worker with the trusted list compiled in
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${fixtureOrigin('vite-react')}/sw.js?callback=%2Foauth%2Fcallback`);
    const script = await (await page.request.get(`${fixtureOrigin('vite-react')}/sw.js`)).text();
    expect(script).toContain(`"trustedServers":["${w.notesUrl}"]`);
    await growAndReload(page, 'vite-react');
  });

  test('a PWA (vite-plugin-pwa, injectManifest) loads offline from its own worker, which also grows scope', async ({ page, context }) => {
    await open(page, 'pwa');
    // first visit: the PWA's worker precached the shell; offline, the app still loads from it
    await context.setOffline(true);
    await page.reload();
    await expect(page.getByTestId('status')).toHaveText('signed-out');
    expect(await page.evaluate(() => fetch(`/not-cached-${Date.now()}`).then(() => 'network', () => 'offline'))).toBe('offline');
    await context.setOffline(false);
    await growAndReload(page, 'pwa');
    // the PWA's own messages still get the PWA's own answer, and only that one
    const answers = await page.evaluate(
      () =>
        new Promise<unknown[]>((resolve) => {
          const { port1, port2 } = new MessageChannel();
          const received: unknown[] = [];
          port1.onmessage = (event) => received.push(event.data);
          navigator.serviceWorker.controller!.postMessage({ type: 'app:version' }, [port2]);
          setTimeout(() => resolve(received), 500);
        }),
    );
    expect(answers).toEqual([{ version: 'pwa-1' }]);
    // one worker for both jobs: the PWA's, with mcp-sw-auth inside
    const registrations = await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).map((r) => r.active?.scriptURL));
    expect(registrations).toEqual([`${fixtureOrigin('pwa')}/sw.js?callback=%2Foauth%2Fcallback`]);
  });

  test('a page with no bundler imports the ESM build, with the prebuilt sw.js at its root, and grows scope', async ({ page }) => {
    await open(page, 'no-bundler');
    await growAndReload(page, 'no-bundler');
  });
});
