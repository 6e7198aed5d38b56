import { expect, test } from '@playwright/test';
import { approveAtAuthorizationServer, authorizationScopes, authorize, connect, openDemo, resetLogs, runTool, world } from './world.ts';

test.beforeEach(async () => {
  await resetLogs();
});

test.describe('the loop guard', { tag: '@hardening' }, () => {
  test('the "replace" strategy (the v1 SDK bug) ends at the loop guard, not in an endless loop; "Ask again" recovers', async ({ page }) => {
    await openDemo(page);
    await page.getByTestId('strategy-replace').click();
    await expect(page.getByTestId('strategy-replace')).toHaveAttribute('aria-checked', 'true');

    await connect(page, 'notes');
    await authorize(page, 'notes', 'erin');
    await expect(page.getByTestId('tool-notes-add-note')).toBeVisible();

    // replace asks only for the latest challenge's scope, dropping notes:read
    const added = await runTool(page, 'notes', 'add-note', { text: 'replace loses read' });
    await expect(page.getByTestId('prompt-notes')).toContainText('will ask for notes:write');
    await authorize(page, 'notes', 'erin');

    // the retried call reconnects, initialize needs notes:read again: the guard stops the cycle
    await expect(page.getByTestId('error-notes')).toContainText('Scope not granted');
    await expect(page.getByTestId('error-notes')).toContainText('notes:read');
    await expect(added).toHaveClass(/error/);
    await expect(added).toContainText('Scope not granted');
    await expect(page.getByTestId('prompt-notes')).toHaveCount(0);
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read', 'notes:write']);

    // trying again does not start a third authorization either
    const again = await connect(page, 'notes');
    await expect(again).toContainText('Scope not granted');
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read', 'notes:write']);

    // the user, not a loop, asks again: one authorization, which asks for the refused scope too (the
    // authorization server granted both before, so it answers without a consent page)
    const away = page.waitForEvent('load');
    await page.getByTestId('ask-again-notes').click();
    await away;
    await approveAtAuthorizationServer(page, 'erin');
    await expect(page.getByTestId('error-notes')).toHaveCount(0);
    await expect(await connect(page, 'notes')).toContainText('4 tools');
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read', 'notes:write', 'notes:write notes:read']);

    // the union strategy recovers with one authorization for everything
    await page.getByTestId('strategy-union').click();
    await page.getByTestId('signout-notes').click();
    await expect(page.getByTestId('status-notes')).toHaveText('Not connected');
    const reconnected = await connect(page, 'notes');
    await authorize(page, 'notes', 'erin');
    await expect(reconnected).toContainText('4 tools');
    const kept = await runTool(page, 'notes', 'add-note', { text: 'union keeps read' });
    await authorize(page, 'notes', 'erin');
    await expect(kept).toHaveText(/Added note #\d+: union keeps read/);
    expect((await authorizationScopes(world.notesUrl)).slice(3)).toEqual(['notes:read', 'notes:read notes:write']);
    await expect(page.getByTestId('error-notes')).toHaveCount(0);
  });
});
