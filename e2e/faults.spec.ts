import { expect, test, type Page } from '@playwright/test';
import { startChallengeServer, type ChallengeServer, type MetadataMode } from './challenge-server.ts';
import { authorize, ledger, openDemo, openWorld, resetLogs, withExtraServer, world } from './world.ts';

let hostile: ChallengeServer;

test.beforeAll(async () => {
  hostile = await startChallengeServer({ appOrigin: openWorld.appOrigin, issuer: openWorld.issuer });
});
test.afterAll(async () => {
  await hostile.close();
});
test.beforeEach(async () => {
  await resetLogs();
});

async function flows(page: Page): Promise<unknown[]> {
  return page.evaluate(
    () =>
      new Promise<unknown[]>((resolve, reject) => {
        const open = indexedDB.open('mcp-sw-auth');
        open.onsuccess = () => {
          const request = open.result.transaction('flows').objectStore('flows').getAll();
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        };
        open.onerror = () => reject(open.error);
      }),
  );
}

const cases: Array<[MetadataMode, RegExp]> = [
  ['resource-mismatch', /names a different resource/],
  ['issuer-mismatch', /names a different issuer/],
  ['insecure-endpoint', /is not https/],
  ['as-error', /answered HTTP 500/],
  ['no-pkce', /does not advertise PKCE/],
  ['as-timeout', /Could not fetch the authorization server metadata/],
];

for (const [mode, message] of cases) {
  test.describe(() => {
  test.use({ baseURL: openWorld.appOrigin });
  test(`broken metadata (${mode}) gives a clear error, stores no flow and keeps the ledger`, async ({ page }) => {
    test.setTimeout(mode === 'as-timeout' ? 60_000 : 30_000);
    hostile.setMode(mode);
    await withExtraServer(page, { id: 'hostile', name: 'Hostile', url: hostile.url });
    await openDemo(page);
    await page.getByTestId('connect-hostile').click();
    await expect(page.getByTestId('prompt-hostile')).toContainText('burst:read');
    await page.getByTestId('authorize-hostile').click();
    await expect(page.getByTestId('error-hostile')).toContainText(message, { timeout: 20_000 });
    expect(new URL(page.url()).origin).toBe(openWorld.appOrigin);
    expect(await flows(page)).toEqual([]);
    expect((await ledger(page, 'hostile'))?.requested).toEqual(['burst:read']);
  });
  });
}

test('a callback with an unknown state is refused and changes nothing', async ({ page }) => {
  await openDemo(page);
  await page.goto(`/oauth/callback?code=forged&state=forged&iss=${encodeURIComponent(world.issuer)}`);
  await expect(page.getByTestId('last-result')).toContainText('matches no authorization');
  expect(page.url()).toBe(`${world.appOrigin}/`);
  await expect(page.getByTestId('status-notes')).toHaveText('Not connected');
});

test('a replayed authorization response is refused, and the grant it belonged to is unharmed', async ({ page, context }) => {
  let callback: string | undefined;
  context.on('request', (request) => {
    if (request.url().startsWith(world.redirectUri)) callback = request.url();
  });
  await openDemo(page);
  await page.getByTestId('connect-notes').click();
  await authorize(page, 'notes', 'judy');
  await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();
  expect(callback).toContain('code=');

  await page.goto(callback!);
  await expect(page.getByTestId('last-result')).toContainText('matches no authorization');
  expect(page.url()).toBe(`${world.appOrigin}/`);
  await expect(page.getByTestId('status-notes')).toHaveText('Authorized');
  expect((await ledger(page, 'notes'))?.granted).toEqual(['notes:read']);
});

test('a callback whose iss is not the authorization server is refused without being used', async ({ page }) => {
  await openDemo(page);
  await page.getByTestId('connect-notes').click();
  const authorizationRequest = page.waitForRequest((r) => r.url().startsWith(`${world.issuer}/auth`));
  await page.getByTestId('authorize-notes').click();
  const flowState = new URL((await authorizationRequest).url()).searchParams.get('state');
  expect(flowState).toBeTruthy();
  await page.waitForURL((url) => url.origin === world.issuer && url.pathname.startsWith('/interaction/'));
  await page.goto(`${world.redirectUri}?code=stolen&state=${flowState}&iss=${encodeURIComponent('https://evil.example')}`);
  await expect(page.getByTestId('last-result')).toContainText('issuer (iss) does not match');
  await expect(page.getByTestId('error-notes')).toContainText('iss');
  expect((await ledger(page, 'notes'))?.granted).toEqual([]);
});
