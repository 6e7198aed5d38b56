// e2e/abandoned.spec.ts in Firefox: a tab that waits for another tab's authorization learns within a
// few seconds that the window which started it is gone, and may authorize itself, instead of
// waiting out the 2-minute bound. Popup flows: the opener closed, or navigated away from the app.
// Redirect flows: the tab came back to the app without the result (Back). A tab whose window is
// still at the authorization server keeps others waiting.
//
// Back: Firefox's back/forward cache may restore the app's page instead of loading it again. The
// client core then gets no new start() but a `pageshow` with `persisted`, on which it names its tab
// to the worker again. The redirect test records which of the two happened (a pageshow listener
// installed before the page's own script) and asserts it, so that this path is known to be tried.
//
// The user looks at one tab at a time: each tab is brought to the front before it is used (in
// Firefox a background tab gets no animation frames, which puppeteer's click waits for).
import assert from 'node:assert/strict';
import { beforeEach, describe } from 'node:test';
import type { Page } from 'puppeteer-core';
import { bidi, contextId } from './browser.ts';
import {
  allowInPopup,
  approveAtAuthorizationServer,
  asLog,
  byTestId,
  connect,
  firefoxTest,
  nextDocument,
  openDemo,
  popupWaitedOnByOtherTab,
  resetLogs,
  sleep,
  poll,
  world,
} from './harness.ts';

/** What the page polls at (IN_FLIGHT_CHECK_MS, 2 s) plus the worker's answer: "a few seconds", far below 2 minutes. */
const LEARNS_WITHIN_MS = 8_000;

/** The demo's step-up choice, set before the page starts: popup. */
async function popupMode(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => localStorage.setItem('mcp-sw-auth-demo:step-up', 'popup'));
}

/** Authorization codes exchanged for tokens: the authorizations that completed. */
async function codesExchanged(): Promise<number> {
  return (await asLog(world)).tokens.filter((t) => t.grantType === 'authorization_code' && t.status === 200).length;
}

/**
 * Records each `pageshow` of the page's documents (its `persisted` flag) in a global of the document,
 * before the page's own script runs: a document restored from the back/forward cache keeps its
 * globals and shows [false, true]; a document loaded again starts over with [false].
 */
async function recordPageShows(page: Page): Promise<() => Promise<boolean[]>> {
  await page.evaluateOnNewDocument(() => {
    const shows: boolean[] = [];
    (window as unknown as { pageShows: boolean[] }).pageShows = shows;
    window.addEventListener('pageshow', (event) => shows.push(event.persisted));
  });
  return () => page.evaluate(() => (window as unknown as { pageShows: boolean[] }).pageShows);
}

/**
 * The browser's Back button: a WebDriver BiDi history traversal. (puppeteer's goBack waits for a
 * navigation event that Firefox does not send for a document restored from the back/forward cache,
 * and times out.)
 */
async function goBack(page: Page): Promise<void> {
  await bidi(page.browser()).send('browsingContext.traverseHistory', { context: contextId(page), delta: -1 });
  // page.url() stays at the authorization server's page after such a restore: ask the document
  await poll(() => page.evaluate(() => location.href), (href) => new URL(href).origin === world.appOrigin, 'back in the app');
}

describe('abandoned flows', () => {
  beforeEach(() => resetLogs(world));

  for (const [how, leave] of [
    ['closed', (a: Page) => a.close()],
    ['navigated away from the app', async (a: Page) => void (await a.goto('about:blank'))],
  ] as const) {
    firefoxTest(`popup: the opener is ${how} while its popup is at the authorization server; the waiting tab learns it in seconds and authorizes itself`, async ({ context, page: a }) => {
      const b = await context.newPage();
      for (const tab of [a, b]) {
        await tab.bringToFront();
        await popupMode(tab);
        await openDemo(tab, world);
      }
      await a.bringToFront();
      await connect(a, 'notes');
      await b.bringToFront();
      const fromB = await connect(b, 'notes');
      await byTestId(b, 'held-notes').toBeVisible();

      const abandonedPopup = await popupWaitedOnByOtherTab(a, b);

      const left = Date.now();
      await leave(a);
      // the popup is still open at the authorization server, but nobody can finish its flow
      assert.equal(abandonedPopup.isClosed(), false, 'the abandoned popup is still open');
      await byTestId(b, 'in-flight-notes').toBeHidden(LEARNS_WITHIN_MS);
      const learnedAfter = Date.now() - left;
      await byTestId(b, 'prompt-notes').toContainText('notes:read');

      // b's own popup: its held connect is answered, one code exchanged in all
      assert.deepEqual(await allowInPopup(b, () => byTestId(b, 'authorize-notes').click(), 'left-behind'), ['notes:read']);
      await fromB.toContainText('4 tools');
      assert.equal(await codesExchanged(), 1);
      assert.ok(learnedAfter < LEARNS_WITHIN_MS, `learned after ${learnedAfter} ms`);
    });
  }

  firefoxTest(
    'redirect: a tab that comes back from the authorization server without consenting (Back) ends its flow; the waiting tab authorizes itself',
    async ({ context, page: a }) => {
      const pageShows = await recordPageShows(a);
      const b = await context.newPage();
      for (const tab of [a, b]) {
        await tab.bringToFront();
        await openDemo(tab, world);
      }
      await a.bringToFront();
      await connect(a, 'notes');
      await nextDocument(a, () => byTestId(a, 'authorize-notes').click());
      assert.equal(new URL(a.url()).origin, world.issuer);

      await b.bringToFront();
      await connect(b, 'notes');
      await byTestId(b, 'authorize-notes').click();
      await byTestId(b, 'in-flight-notes').toBeVisible();
      // a is at the authorization server: b keeps waiting through several checks (a user reading the consent page)
      await sleep(5_000);
      await byTestId(b, 'in-flight-notes').toBeVisible();

      await a.bringToFront();
      const back = Date.now();
      await goBack(a);
      await byTestId(a, 'prompt-notes').toContainText('notes:read');
      // Firefox restored the app's document from the back/forward cache (its globals survived: a
      // second pageshow, persisted): the client core named its tab again on that pageshow, not in start()
      assert.deepEqual(await pageShows(), [false, true], 'the app came back from the back/forward cache');
      await byTestId(b, 'in-flight-notes').toBeHidden(LEARNS_WITHIN_MS);
      const learnedAfter = Date.now() - back;
      await b.bringToFront();
      await nextDocument(b, () => byTestId(b, 'authorize-notes').click());
      assert.deepEqual(await approveAtAuthorizationServer(b, world, 'came-back'), ['notes:read']);
      await byTestId(b, 'status-notes').toHaveText('Authorized');
      await byTestId(a, 'status-notes').toHaveText('Authorized');
      assert.equal(await codesExchanged(), 1);
      assert.ok(learnedAfter < LEARNS_WITHIN_MS, `learned after ${learnedAfter} ms`);
    },
  );
});
