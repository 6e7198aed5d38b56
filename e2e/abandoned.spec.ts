// Abandoned flows (README, "Reliability"): a tab that waits for another tab's authorization learns
// within a few seconds that the window which started it is gone, and may authorize itself, instead
// of waiting out the 2-minute bound. Popup flows: the opener closed, or navigated away from the app.
// Redirect flows: the tab came back to the app without the result (Back). A tab whose window is
// still at the authorization server keeps others waiting.
import { expect, test, type Page } from '@playwright/test';
import { allowInPopup, approveAtAuthorizationServer, asLog, connect, openDemo, resetLogs, world } from './world.ts';

/** What the page polls at (IN_FLIGHT_CHECK_MS) plus the worker's answer: "a few seconds", far below 2 minutes. */
const LEARNS_WITHIN_MS = 8_000;

async function popupMode(page: Page): Promise<void> {
  await page.addInitScript(() => localStorage.setItem('mcp-sw-auth-demo:step-up', 'popup'));
}

/** Authorization codes exchanged for tokens: the authorizations that completed. */
async function codesExchanged(): Promise<number> {
  return (await asLog()).tokens.filter((t) => t.grantType === 'authorization_code' && t.status === 200).length;
}

test.describe('abandoned flows', { tag: '@lifecycle' }, () => {
  test.beforeEach(async () => {
    await resetLogs();
  });

  for (const [how, leave] of [
    ['closed', (a: Page) => a.close()],
    ['navigated away from the app', async (a: Page) => void (await a.goto('about:blank'))],
  ] as const) {
    test(`popup: the opener is ${how} while its popup is at the authorization server; the waiting tab learns it in seconds and authorizes itself`, async ({ context }) => {
      const [a, b] = [await context.newPage(), await context.newPage()];
      for (const tab of [a, b]) {
        await popupMode(tab);
        await openDemo(tab);
      }
      await connect(a, 'notes');
      const fromB = await connect(b, 'notes');
      await expect(b.getByTestId('held-notes')).toBeVisible();

      const opened = a.waitForEvent('popup');
      await a.getByTestId('authorize-notes').click();
      const abandonedPopup = await opened;
      await expect(abandonedPopup.locator('input[name="login"]')).toBeVisible();
      await b.getByTestId('authorize-notes').click();
      await expect(b.getByTestId('in-flight-notes')).toBeVisible();

      await leave(a);
      // the popup is still open at the authorization server, but nobody can finish its flow
      expect(abandonedPopup.isClosed()).toBe(false);
      await expect(b.getByTestId('in-flight-notes')).toBeHidden({ timeout: LEARNS_WITHIN_MS });
      await expect(b.getByTestId('prompt-notes')).toContainText('notes:read');

      // b's own popup: its held connect is answered, one code exchanged in all
      expect(await allowInPopup(b, () => b.getByTestId('authorize-notes').click(), 'left-behind')).toEqual(['notes:read']);
      await expect(fromB).toContainText('4 tools');
      expect(await codesExchanged()).toBe(1);
    });
  }

  test('redirect: a tab that comes back from the authorization server without consenting (Back) ends its flow; the waiting tab authorizes itself', async ({ context }) => {
    const [a, b] = [await context.newPage(), await context.newPage()];
    for (const tab of [a, b]) await openDemo(tab);
    await connect(a, 'notes');
    const atAuthorizationServer = a.waitForEvent('load');
    await a.getByTestId('authorize-notes').click();
    await atAuthorizationServer;
    expect(new URL(a.url()).origin).toBe(world.issuer);

    await connect(b, 'notes');
    await b.getByTestId('authorize-notes').click();
    await expect(b.getByTestId('in-flight-notes')).toBeVisible();
    // a is at the authorization server: b keeps waiting through several checks (a user reading the consent page)
    await b.waitForTimeout(5_000);
    await expect(b.getByTestId('in-flight-notes')).toBeVisible();

    await a.goBack();
    await expect(a.getByTestId('prompt-notes')).toContainText('notes:read');
    await expect(b.getByTestId('in-flight-notes')).toBeHidden({ timeout: LEARNS_WITHIN_MS });
    const back = b.waitForEvent('load');
    await b.getByTestId('authorize-notes').click();
    await back;
    expect(await approveAtAuthorizationServer(b, 'came-back')).toEqual(['notes:read']);
    await expect(b.getByTestId('status-notes')).toHaveText('Authorized');
    await expect(a.getByTestId('status-notes')).toHaveText('Authorized');
    expect(await codesExchanged()).toBe(1);
  });
});
