// e2e/confinement.spec.ts in Firefox: no token, code or verifier where page script can read it,
// with DPoP-bound tokens (only those, stored on purpose, useless without the sealed key) and with
// bearer tokens (nothing stored).
//
// Seeing the secrets: Playwright reads them off the browser context's request and response events,
// which in Chromium include the service worker's own requests (its code exchange, its refreshes).
// Firefox raises no WebDriver BiDi network event for a service worker's requests, so this file's
// Firefox sends all its HTTP through a recording proxy (browser.ts's startRecordingProxy), which
// sees page and worker alike.
import assert from 'node:assert/strict';
import { after, beforeEach, describe } from 'node:test';
import type { Page } from 'puppeteer-core';
import { visibleInPage } from '../page-scripts.ts';
import { startRecordingProxy, type Exchange } from './browser.ts';
import { authorize, bearerWorld, byTestId, connect, firefoxTest, openDemo, readDatabase, resetLogs, runTool, useFirefox, world, type World } from './harness.ts';

const proxy = await startRecordingProxy((url) => /\/token$/.test(new URL(url).pathname));
useFirefox({ prefs: proxy.prefs });
after(() => proxy.close());

/** Codes, verifiers and tokens in the exchanges with one authorization server, from `from` on. */
function secretsIn(exchanges: Exchange[], w: World): Set<string> {
  const secrets = new Set<string>();
  for (const exchange of exchanges) {
    for (const url of [exchange.url, exchange.location ?? '']) {
      const code = url ? new URL(url, w.issuer).searchParams.get('code') : null;
      if (code) secrets.add(code);
    }
    if (!exchange.url.startsWith(w.issuer)) continue;
    if (exchange.method === 'POST') {
      const form = new URLSearchParams(exchange.requestBody);
      for (const key of ['code', 'code_verifier', 'refresh_token']) {
        const value = form.get(key);
        if (value) secrets.add(value);
      }
    }
    if (exchange.responseBody) {
      try {
        const body = JSON.parse(exchange.responseBody) as Record<string, unknown>;
        for (const key of ['access_token', 'refresh_token', 'id_token']) if (typeof body[key] === 'string') secrets.add(body[key] as string);
      } catch {
        // not JSON: nothing to capture
      }
    }
  }
  return secrets;
}

/** What page script can see: web storage, the URL, plain globals, the DOM, and every IndexedDB database in full. */
async function visibleToPage(page: Page): Promise<Record<string, string>> {
  const visible = await page.evaluate(visibleInPage);
  const databases = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  assert.deepEqual(databases, ['mcp-sw-auth']);
  return { ...visible, indexedDB: JSON.stringify(await readDatabase(page)) };
}

for (const w of [world, bearerWorld] as World[]) {
  const binding = w.dpop ? 'DPoP-bound' : 'bearer';
  describe(`confinement with ${binding} tokens`, () => {
    beforeEach(() => resetLogs(w));

    firefoxTest(`no ${binding} token, code or verifier where page script can read it${w.dpop ? ', except the DPoP-bound tokens, which are useless without the sealed key' : ''}`, async ({ page }) => {
      const from = proxy.exchanges.length;
      await openDemo(page, w);
      await connect(page, 'notes');
      await authorize(page, w, 'notes', 'carol');
      await byTestId(page, 'tool-notes-add-note').toBeVisible();
      const added = await runTool(page, 'notes', 'add-note', { text: 'secret-free' });
      await authorize(page, w, 'notes', 'carol');
      await added.toHaveText(/Added note #\d+: secret-free/);

      // two flows: two codes, two verifiers, two access tokens, two refresh tokens at least, the
      // worker's own token requests included (the proxy saw them)
      const secrets = secretsIn(proxy.exchanges.slice(from), w);
      const tokenRequests = proxy.exchanges.slice(from).filter((e) => e.url === `${w.issuer}/token`);
      assert.ok(tokenRequests.length >= 2, `the worker's token requests went through the proxy: ${tokenRequests.length}`);
      assert.ok(secrets.size >= 8, `${secrets.size} secrets seen`);
      assert.equal(page.url(), `${w.appOrigin}/`);

      const places = await visibleToPage(page);
      const stores = JSON.parse(places['indexedDB']!) as Record<string, Array<Record<string, unknown>>>;
      // The worker keeps DPoP-bound tokens in IndexedDB on purpose: they are useless without its
      // non-extractable key. Only those values, and only in that store, may appear.
      const bound = new Set<string>();
      for (const token of stores['tokens'] ?? []) {
        assert.equal(token['dpop'], true, 'only DPoP-bound tokens are stored');
        for (const key of ['accessToken', 'refreshToken']) if (typeof token[key] === 'string') bound.add(token[key] as string);
      }
      if (w.dpop) assert.equal(bound.size, 2, 'the DPoP-bound access and refresh tokens are stored');
      else assert.deepEqual(stores['tokens'], []);
      for (const [where, text] of Object.entries(places)) {
        for (const secret of secrets) {
          if (where === 'indexedDB' && bound.has(secret)) continue;
          assert.equal(text.includes(secret), false, `a secret appeared in ${where}`);
        }
        if (where !== 'indexedDB') assert.doesNotMatch(text, /eyJ[\w-]+\.eyJ[\w-]+\./, `a JWT appeared in ${where}`);
      }
      const { tokens: _bound, ...others } = stores;
      assert.doesNotMatch(JSON.stringify(others), /eyJ[\w-]+\.eyJ[\w-]+\./, 'a JWT outside the token store');
      // completed flows (with their verifiers) are gone
      assert.deepEqual(stores['flows'], []);

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
                open.result.close();
                resolve(pair.privateKey.extractable === false && !exported);
              };
            };
          }),
      );
      assert.equal(keyIsSealed, true);
    });
  });
}
