import { expect, test, type Page } from '@playwright/test';
import { visibleInPage } from './page-scripts.ts';
import { authorizationScopes, authorize, bearerWorld, captureSecrets, connect, openDemo, readDatabase, resetLogs, runTool, world, type World } from './world.ts';

/** What page script can see: web storage, the URL, plain globals, the DOM, and every IndexedDB database in full. */
async function visibleToPage(page: Page): Promise<Record<string, string>> {
  const visible = await page.evaluate(visibleInPage);
  const databases = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  expect(databases).toEqual(['mcp-sw-auth']);
  return { ...visible, indexedDB: JSON.stringify(await readDatabase(page)) };
}

for (const w of [world, bearerWorld] as World[]) {
  const binding = w.dpop ? 'DPoP-bound' : 'bearer';
  test.describe(`confinement with ${binding} tokens`, { tag: '@hardening' }, () => {
    test.use({ baseURL: w.appOrigin });
    test.beforeEach(async () => {
      await resetLogs(w);
    });

    test(`no ${binding} token, code or verifier where page script can read it${w.dpop ? ', except the DPoP-bound tokens, which are useless without the sealed key' : ''}`, async ({ page, context }) => {
      const secrets = captureSecrets(context, w);
      await openDemo(page);
      await connect(page, 'notes');
      await authorize(page, 'notes', 'carol', 'Allow', w);
      await expect(page.getByTestId('tool-notes-add-note')).toBeVisible();
      const added = await runTool(page, 'notes', 'add-note', { text: 'secret-free' });
      await authorize(page, 'notes', 'carol', 'Allow', w);
      await expect(added).toHaveText(/Added note #\d+: secret-free/);

      // two flows: two codes, two verifiers, two access tokens, two refresh tokens at least
      expect(secrets.size).toBeGreaterThanOrEqual(8);
      expect(page.url()).toBe(`${w.appOrigin}/`);

      const places = await visibleToPage(page);
      const stores = JSON.parse(places['indexedDB']!) as Record<string, Array<Record<string, unknown>>>;
      // The worker keeps DPoP-bound tokens in IndexedDB on purpose: they are useless without its
      // non-extractable key. Only those values, and only in that store, may appear.
      const bound = new Set<string>();
      for (const token of stores['tokens'] ?? []) {
        expect(token['dpop'], 'only DPoP-bound tokens are stored').toBe(true);
        for (const key of ['accessToken', 'refreshToken']) if (typeof token[key] === 'string') bound.add(token[key] as string);
      }
      if (w.dpop) expect(bound.size, 'the DPoP-bound access and refresh tokens are stored').toBe(2);
      else expect(stores['tokens']).toEqual([]);
      for (const [where, text] of Object.entries(places)) {
        for (const secret of secrets) {
          if (where === 'indexedDB' && bound.has(secret)) continue;
          expect(text.includes(secret), `a secret appeared in ${where}`).toBe(false);
        }
        if (where !== 'indexedDB') expect(text, `a JWT appeared in ${where}`).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);
      }
      const { tokens: _bound, ...others } = stores;
      expect(JSON.stringify(others), 'a JWT outside the token store').not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);
      // completed flows (with their verifiers) are gone
      expect(stores['flows']).toEqual([]);

      if (!w.dpop) return;
      // and the key the stored tokens are bound to cannot be read out by page script
      const keyIsSealed = await page.evaluate(
        () =>
          new Promise<boolean>((resolve) => {
            const open = indexedDB.open('mcp-sw-auth');
            open.onsuccess = () => {
              const request = open.result.transaction('keys').objectStore('keys').get('dpop');
              request.onsuccess = async () => {
                const pair = request.result as CryptoKeyPair | undefined;
                if (!pair) return resolve(false);
                const exported = await crypto.subtle.exportKey('jwk', pair.privateKey).then(
                  () => true,
                  () => false,
                );
                resolve(pair.privateKey.extractable === false && !exported);
              };
            };
          }),
      );
      expect(keyIsSealed).toBe(true);
    });
  });
}

test.describe('consent', { tag: '@hardening' }, () => {
  test.beforeEach(async () => {
    await resetLogs();
  });

  test('a denied consent reports a clear error and keeps what was granted before', async ({ page }) => {
    await openDemo(page);
    await connect(page, 'notes');
    await authorize(page, 'notes', 'dave');
    await expect(page.getByTestId('tool-notes-add-note')).toBeVisible();

    await runTool(page, 'notes', 'add-note', { text: 'will be denied' });
    await authorize(page, 'notes', 'dave', 'Deny');
    await expect(page.getByTestId('last-result')).toContainText('denied');
    await expect(page.getByTestId('error-notes')).toContainText('denied');
    expect(page.url()).not.toMatch(/error=|state=|code=/);

    // the earlier grant still works, and the denied scope stays requested for next time
    await expect(page.getByTestId('granted-notes').locator('.chip.granted')).toHaveText(['notes:read']);
    await expect(page.getByTestId('granted-notes').locator('.chip.requested')).toHaveText(['notes:write']);
    await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read', 'notes:read notes:write']);

    // the user can change their mind: one click asks again
    await page.getByTestId('ask-again-notes').click();
    await page.waitForURL((url) => url.origin === world.issuer);
    const asked = await page.locator('li.scope').allTextContents();
    expect(asked.map((s) => s.trim())).toEqual(['notes:read', 'notes:write']);
  });
});
