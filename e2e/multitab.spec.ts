import { expect, test } from '@playwright/test';
import { startChallengeServer } from './challenge-server.ts';
import { approveAtAuthorizationServer, authorizationScopes, ledger, openDemo, openWorld, resetLogs, withExtraServer, world } from './world.ts';

test.beforeEach(async () => {
  await resetLogs();
});

test('one authorization across tabs: a second tab waits for the first tab\'s grant and carries on without a redirect', { tag: '@multitab' }, async ({ page: first, context }) => {
  const second = await context.newPage();
  await openDemo(first);
  await openDemo(second);

  await first.getByTestId('connect-notes').click();
  const atAuthorizationServer = first.waitForEvent('load');
  await first.getByTestId('authorize-notes').click();
  await atAuthorizationServer;
  expect(new URL(first.url()).origin).toBe(world.issuer);

  // the second tab is challenged too, but the worker keeps it from starting its own authorization
  await second.getByTestId('connect-notes').click();
  await second.getByTestId('authorize-notes').click();
  await expect(second.getByTestId('in-flight-notes')).toBeVisible();
  expect(new URL(second.url()).origin).toBe(world.appOrigin);

  await approveAtAuthorizationServer(first, 'ivan');
  await expect(first.getByTestId('tool-notes-list-notes')).toBeVisible();
  // the grant reaches the second tab, which retries its connect by itself
  await expect(second.getByTestId('tool-notes-list-notes')).toBeVisible();
  await expect(second.getByTestId('status-notes')).toHaveText('Authorized');
  expect(second.url()).toBe(`${world.appOrigin}/`);
  expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read']);
});

test.describe('bursts', { tag: '@multitab' }, () => {
test.use({ baseURL: openWorld.appOrigin });
test('4 tabs × 50 concurrent distinct challenges: the ledger keeps all 200 scopes and one authorization starts', async ({ context }) => {
  const burst = await startChallengeServer({ appOrigin: openWorld.appOrigin });
  try {
    const tabs = await Promise.all([0, 1, 2, 3].map(() => context.newPage()));
    for (const tab of tabs) {
      await withExtraServer(tab, { id: 'burst', name: 'Burst', url: burst.url });
      await openDemo(tab);
    }
    await Promise.all(
      tabs.map((tab, t) =>
        tab.evaluate(
          async ({ url, t }) => {
            const requests = Array.from({ length: 50 }, (_, i) =>
              fetch(`${url}?scope=burst:${t}-${i}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
            );
            const statuses = (await Promise.all(requests)).map((r) => r.status);
            if (statuses.some((s) => s !== 401)) throw new Error(`unexpected statuses ${statuses.join(',')}`);
          },
          { url: burst.url, t },
        ),
      ),
    );
    const expected = [0, 1, 2, 3].flatMap((t) => Array.from({ length: 50 }, (_, i) => `burst:${t}-${i}`));
    const record = await ledger(tabs[0]!, 'burst');
    expect(new Set(record?.requested)).toEqual(new Set(expected));

    // Every tab is asked, and all four ask the worker at once. The authorization request is held
    // at the network, so the winning tab stays "at the authorization server" while the others ask.
    const started: string[] = [];
    await context.route(`${burst.origin}/authorize**`, (route) => {
      started.push(route.request().url());
    });
    for (const tab of tabs) await expect(tab.getByTestId('authorize-burst')).toBeVisible();
    await Promise.all(tabs.map((tab) => tab.evaluate(() => (document.querySelector('[data-testid="authorize-burst"]') as HTMLElement).click())));
    // the winning tab is mid-navigation (its request is held), so it is asked with a short deadline
    const waiting = (tab: (typeof tabs)[number]) =>
      Promise.race([tab.getByTestId('in-flight-burst').isVisible(), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500))]);
    await expect.poll(async () => (await Promise.all(tabs.map(waiting))).filter(Boolean).length).toBe(3);
    expect(started).toHaveLength(1);
    expect(new Set(new URL(started[0]!).searchParams.get('scope')?.split(' '))).toEqual(new Set(expected));
  } finally {
    await burst.close();
  }
});

test('with auto-redirect on, a burst of challenges that answer late still makes one authorization that asks for every scope', async ({ page, context }) => {
  const burst = await startChallengeServer({ appOrigin: openWorld.appOrigin });
  try {
    await withExtraServer(page, { id: 'burst', name: 'Burst', url: burst.url });
    await openDemo(page);
    await page.getByTestId('auto-redirect').check();
    const started: string[] = [];
    await context.route(`${burst.origin}/authorize**`, (route) => {
      started.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>At the authorization server</p>' });
    });
    // The first challenge answers at once and sends the page to the authorization server; the other
    // five answer 400 ms later (six, the browser's connections per origin over HTTP/1.1, all go out
    // at once). The worker waits for them before it asks.
    await page.evaluate((url) => {
      for (let i = 0; i < 6; i++) {
        void fetch(`${url}?scope=burst:${i}&delay=${i === 0 ? 0 : 400}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
      }
    }, burst.url);
    await expect.poll(() => started.length).toBe(1);
    await page.waitForTimeout(1_000);
    expect(started).toHaveLength(1);
    const asked = new URL(started[0]!).searchParams.get('scope')?.split(' ');
    expect(new Set(asked)).toEqual(new Set(Array.from({ length: 6 }, (_, i) => `burst:${i}`)));
  } finally {
    await burst.close();
  }
});
});
