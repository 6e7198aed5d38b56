// e2e/multitab.spec.ts in Firefox: one authorization across tabs, and bursts of challenges from
// four tabs at once kept whole in the ledger (IndexedDB transactions in Firefox's worker).
//
// The user looks at one tab at a time: each tab is brought to the front before it is used (in
// Firefox a background tab gets no animation frames, which puppeteer's click waits for).
import assert from 'node:assert/strict';
import { beforeEach, describe } from 'node:test';
import type { Page } from 'puppeteer-core';
import { startChallengeServer } from '../challenge-server.ts';
import { approveAtAuthorizationServer, authorizationScopes, byTestId, connect, firefoxTest, ledger, nextDocument, openDemo, openWorld, poll, resetLogs, sleep, withExtraServer, world } from './harness.ts';

describe('multitab', () => {
  beforeEach(() => resetLogs(world));

  firefoxTest("one authorization across tabs: a second tab waits for the first tab's grant and carries on without a redirect", async ({ page: first, context }) => {
    const second = await context.newPage();
    for (const tab of [first, second]) {
      await tab.bringToFront();
      await openDemo(tab, world);
    }

    await first.bringToFront();
    await byTestId(first, 'connect-notes').click();
    await nextDocument(first, () => byTestId(first, 'authorize-notes').click());
    assert.equal(new URL(first.url()).origin, world.issuer);

    // the second tab is challenged too, but the worker keeps it from starting its own authorization
    await second.bringToFront();
    const fromSecond = await connect(second, 'notes');
    await byTestId(second, 'authorize-notes').click();
    await byTestId(second, 'in-flight-notes').toBeVisible();
    assert.equal(new URL(second.url()).origin, world.appOrigin);

    await first.bringToFront();
    await approveAtAuthorizationServer(first, world, 'ivan');
    await byTestId(first, 'tool-notes-list-notes').toBeVisible();
    // the grant reaches the second tab, which retries its connect by itself
    await byTestId(second, 'tool-notes-list-notes').toBeVisible();
    await byTestId(second, 'status-notes').toHaveText('Authorized');
    await fromSecond.toContainText('4 tools');
    assert.equal(second.url(), `${world.appOrigin}/`);
    assert.deepEqual(await authorizationScopes(world.notesUrl, world), ['notes:read']);
  });

  firefoxTest('4 tabs × 50 concurrent distinct challenges: the ledger keeps all 200 scopes and one authorization starts', async (session) => {
    const { context } = session;
    // the challenge server is its own authorization server, without pushed requests: the scope
    // asked for is in the /authorize URL it receives (it answers 404 there: no consent page is needed)
    const burst = await startChallengeServer({ appOrigin: openWorld.appOrigin });
    session.onClose(() => burst.close());
    const tabs: Page[] = [];
    for (let i = 0; i < 4; i++) {
      const tab = i === 0 ? session.page : await context.newPage();
      await tab.bringToFront();
      await withExtraServer(session, tab, openWorld, { id: 'burst', name: 'Burst', url: burst.url });
      await openDemo(tab, openWorld);
      tabs.push(tab);
    }
    await Promise.all(
      tabs.map((tab, t) =>
        tab.evaluate(
          async (url, t) => {
            const requests = Array.from({ length: 50 }, (_, i) =>
              fetch(`${url}?scope=burst:${t}-${i}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
            );
            const statuses = (await Promise.all(requests)).map((r) => r.status);
            if (statuses.some((s) => s !== 401)) throw new Error(`unexpected statuses ${statuses.join(',')}`);
          },
          burst.url,
          t,
        ),
      ),
    );
    const expected = [0, 1, 2, 3].flatMap((t) => Array.from({ length: 50 }, (_, i) => `burst:${t}-${i}`));
    const record = await ledger(tabs[0]!, 'burst');
    assert.deepEqual(new Set(record?.requested), new Set(expected));

    // every tab is asked, and all four ask the worker at once: one authorization starts, for every scope
    for (const tab of tabs) await byTestId(tab, 'authorize-burst').toBeVisible();
    await Promise.all(tabs.map((tab) => tab.evaluate(() => (document.querySelector('[data-testid="authorize-burst"]') as HTMLElement).click()).catch(() => undefined)));
    const authorizations = () => burst.received.filter((r) => r.path.startsWith('/authorize'));
    await poll(async () => authorizations().length, (n) => n >= 1, 'an authorization reached the server');
    // the others wait for it (the winning tab has left for the authorization server)
    const waiting = async (tab: Page) => new URL(tab.url()).origin === openWorld.appOrigin && (await byTestId(tab, 'in-flight-burst').isVisible().catch(() => false));
    await poll(async () => (await Promise.all(tabs.map(waiting))).filter(Boolean).length, (n) => n === 3, 'three tabs wait for the fourth');
    await sleep(500); // a second authorization, had one started, would have reached the server by now
    assert.equal(authorizations().length, 1);
    const asked = new URL(authorizations()[0]!.path, burst.origin).searchParams.get('scope')?.split(' ');
    assert.deepEqual(new Set(asked), new Set(expected));
  });
});
