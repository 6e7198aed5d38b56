import { expect, test } from '@playwright/test';
import { authorizationScopes, authorize, captureSecrets, lastOutput, openDemo, resetLogs, runTool, world } from './world.ts';

test.beforeEach(async () => {
  await resetLogs();
});

test('no token, code or verifier in web storage, the URL, page globals, the DOM or IndexedDB', async ({ page, context }) => {
  const secrets = captureSecrets(context);
  await openDemo(page);
  await page.getByTestId('connect-notes').click();
  await authorize(page, 'notes', 'carol');
  await expect(page.getByTestId('tool-notes-add-note')).toBeVisible();
  await runTool(page, 'notes', 'add-note', { text: 'secret-free' });
  await authorize(page, 'notes', 'carol');
  await expect(lastOutput(page, 'notes')).toContainText('Added note');

  // two flows: two codes, two verifiers, two access tokens, two refresh tokens at least
  expect(secrets.size).toBeGreaterThanOrEqual(8);
  expect(page.url()).toBe(`${world.appOrigin}/`);

  const visible = await page.evaluate(async () => {
    const globals: Record<string, string> = {};
    for (const name of Object.getOwnPropertyNames(window)) {
      try {
        const value = (window as unknown as Record<string, unknown>)[name];
        if (typeof value === 'string') globals[name] = value;
        else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) globals[name] = JSON.stringify(value);
      } catch {
        // cross-origin or throwing getters hold nothing of ours
      }
    }
    const databases: Record<string, Record<string, unknown[]>> = {};
    for (const info of await indexedDB.databases()) {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(info.name!);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const stores: Record<string, unknown[]> = {};
      for (const store of Array.from(db.objectStoreNames)) {
        stores[store] = await new Promise<unknown[]>((resolve, reject) => {
          const request = db.transaction(store).objectStore(store).getAll();
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
      }
      databases[info.name!] = stores;
      db.close();
    }
    return {
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      url: location.href,
      globals: JSON.stringify(globals),
      dom: document.documentElement.outerHTML,
      indexedDB: JSON.stringify(databases),
    };
  });
  // The worker keeps DPoP-bound tokens in IndexedDB on purpose: they are useless without its
  // non-extractable key. Everything else there, and every other place, holds no secret at all.
  const db = JSON.parse(visible.indexedDB) as Record<string, Record<string, Array<Record<string, unknown>>>>;
  const stores = db['mcp-sw-auth'] ?? {};
  for (const token of stores['tokens'] ?? []) expect(token['dpop'], 'only DPoP-bound tokens are stored').toBe(true);
  const { tokens: _bound, ...rest } = stores;
  const places = { ...visible, indexedDB: JSON.stringify(rest) };
  for (const [where, text] of Object.entries(places)) {
    for (const secret of secrets) expect(text.includes(secret), `a secret appeared in ${where}`).toBe(false);
    expect(text, `a JWT appeared in ${where}`).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);
  }
  // completed flows (with their verifiers) are gone
  expect(Object.keys(stores)).toContain('servers');
  expect(stores['flows']).toEqual([]);
  expect(places.indexedDB).not.toMatch(/"(access_?token|refresh_?token)"\s*:/i);
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
            const exported = await crypto.subtle.exportKey('jwk', pair.privateKey).then(() => true, () => false);
            resolve(pair.privateKey.extractable === false && !exported);
          };
        };
      }),
  );
  expect(keyIsSealed).toBe(true);
});

test('a denied consent reports a clear error and keeps what was granted before', async ({ page }) => {
  await openDemo(page);
  await page.getByTestId('connect-notes').click();
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
  await runTool(page, 'notes', 'list-notes');
  await expect(lastOutput(page, 'notes')).toHaveClass(/ok/);
  expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read', 'notes:read notes:write']);
});
