import { expect, test, type Page } from '@playwright/test';
import { INSECURE_METADATA, startChallengeServer, type ChallengeServer, type MetadataMode } from './challenge-server.ts';
import { asLog, authorizationScopes, authorizeRead, ledger, openDemo, openWorld, resetLogs, runTool, withExtraServer, world } from './world.ts';

let hostile: ChallengeServer;

test.beforeAll(async () => {
  hostile = await startChallengeServer({ appOrigin: openWorld.appOrigin, issuer: openWorld.issuer });
});
test.afterAll(async () => {
  await hostile.close();
});
test.beforeEach(async () => {
  await resetLogs();
  await resetLogs(openWorld);
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
  test.describe('broken metadata', { tag: '@hardening' }, () => {
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

test.describe('sloppy and hostile challenges', { tag: '@lifecycle' }, () => {
  test.use({ baseURL: openWorld.appOrigin });

  test('an unquoted scope, as servers send it, is read and asked for', async ({ page }) => {
    hostile.setMode('bare-scope');
    await withExtraServer(page, { id: 'hostile', name: 'Hostile', url: hostile.url });
    await openDemo(page);
    await page.getByTestId('connect-hostile').click();
    await expect(page.getByTestId('prompt-hostile')).toContainText('burst:read');
    await expect(page.getByTestId('error-hostile')).toHaveCount(0);
    expect((await ledger(page, 'hostile'))?.requested).toEqual(['burst:read']);
  });

  test('a resource_metadata URL that is plain http on another machine is refused by name and never fetched', async ({ page, context }) => {
    hostile.setMode('insecure-metadata');
    const fetched: string[] = [];
    context.on('request', (request) => {
      if (request.url().startsWith('http://203.0.113.9')) fetched.push(request.url());
    });
    await withExtraServer(page, { id: 'hostile', name: 'Hostile', url: hostile.url });
    await openDemo(page);
    await page.getByTestId('connect-hostile').click();
    await expect(page.getByTestId('prompt-hostile')).toContainText('burst:read');
    await page.getByTestId('authorize-hostile').click();
    await expect(page.getByTestId('error-hostile')).toContainText(`(${INSECURE_METADATA}) is not https`);
    expect(fetched).toEqual([]);
    expect(await flows(page)).toEqual([]);
  });
});

/** The earlier grant still works: its token is used, nothing was asked again, nothing changed. */
async function earlierGrantStillWorks(page: Page): Promise<void> {
  const listed = await runTool(page, 'notes', 'list-notes');
  await expect(listed).toHaveClass(/ok/);
  expect((await ledger(page, 'notes'))?.granted).toEqual(['notes:read']);
  expect(await authorizationScopes(world.notesUrl)).toEqual(expect.arrayContaining(['notes:read']));
}

/** Starts the step-up authorization for notes:write and returns its state, with the browser at the login page. */
async function flowAtAuthorizationServer(page: Page): Promise<string> {
  await runTool(page, 'notes', 'add-note', { text: 'step-up' });
  await expect(page.getByTestId('prompt-notes')).toContainText('notes:write');
  await page.getByTestId('authorize-notes').click();
  await page.waitForURL((url) => url.origin === world.issuer && url.pathname.startsWith('/interaction/'));
  // the request was pushed (RFC 9126): its state is in what the authorization server received, not in the URL
  const state = (await asLog()).authorizations.at(-1)?.state;
  expect(state).toBeTruthy();
  return state!;
}

test.describe('refused callbacks', { tag: '@hardening' }, () => {
  test('a callback with an unknown state is refused, and the earlier grant keeps working', async ({ page }) => {
    await authorizeRead(page, 'judy');
    await page.goto(`/oauth/callback?code=forged&state=forged&iss=${encodeURIComponent(world.issuer)}`);
    await expect(page.getByTestId('last-result')).toContainText('matches no authorization');
    expect(page.url()).toBe(`${world.appOrigin}/`);
    await earlierGrantStillWorks(page);
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read']);
  });

  test('a replayed authorization response is refused, and the grant it belonged to keeps working', async ({ page, context }) => {
    let callback: string | undefined;
    context.on('request', (request) => {
      if (request.url().startsWith(world.redirectUri)) callback = request.url();
    });
    await authorizeRead(page, 'judy');
    expect(callback).toContain('code=');

    await page.goto(callback!);
    await expect(page.getByTestId('last-result')).toContainText('matches no authorization');
    expect(page.url()).toBe(`${world.appOrigin}/`);
    await earlierGrantStillWorks(page);
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read']);
  });

  test('a callback whose iss is not the authorization server is refused without being used, and the earlier grant keeps working', async ({ page }) => {
    await authorizeRead(page, 'judy');
    const state = await flowAtAuthorizationServer(page);
    await page.goto(`${world.redirectUri}?code=stolen&state=${state}&iss=${encodeURIComponent('https://evil.example')}`);
    await expect(page.getByTestId('last-result')).toContainText('issuer (iss) does not match');
    await expect(page.getByTestId('error-notes')).toContainText('iss');
    await earlierGrantStillWorks(page);
  });

  test("a callback at another authorization server's redirect URI is refused (mix-up), and the earlier grant keeps working", async ({ page }) => {
    await authorizeRead(page, 'judy');
    const state = await flowAtAuthorizationServer(page);
    // the right state and the right iss, but the redirect URI of another authorization server
    await page.goto(`${world.redirectUri}/evil.example?code=stolen&state=${state}&iss=${encodeURIComponent(world.issuer)}`);
    await expect(page.getByTestId('last-result')).toContainText('redirect URI of another authorization server');
    await earlierGrantStillWorks(page);
  });
});
