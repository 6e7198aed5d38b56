import { expect, test } from '@playwright/test';
import { authorizationScopes, authorize, lastOutput, openDemo, resetLogs, runTool, world } from './world.ts';

test.beforeEach(async () => {
  await resetLogs();
});

test('the "replace" strategy (the v1 SDK bug) ends at the loop guard, not in an endless loop', async ({ page }) => {
  await openDemo(page);
  await page.getByTestId('strategy-replace').click();
  await expect(page.getByTestId('strategy-replace')).toHaveAttribute('aria-checked', 'true');

  await page.getByTestId('connect-notes').click();
  await authorize(page, 'notes', 'erin');
  await expect(page.getByTestId('tool-notes-add-note')).toBeVisible();

  // replace asks only for the latest challenge's scope, dropping notes:read
  await runTool(page, 'notes', 'add-note', { text: 'replace loses read' });
  await expect(page.getByTestId('prompt-notes')).toContainText('will ask for notes:write');
  await authorize(page, 'notes', 'erin');

  // the retried call reconnects, initialize needs notes:read again: the guard stops the cycle
  await expect(page.getByTestId('error-notes')).toContainText('Scope not granted');
  await expect(page.getByTestId('error-notes')).toContainText('notes:read');
  await expect(page.getByTestId('prompt-notes')).toHaveCount(0);
  expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read', 'notes:write']);

  // trying again does not start a third authorization either
  await page.getByTestId('connect-notes').click();
  await expect(lastOutput(page, 'notes')).toContainText('Scope not granted');
  expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read', 'notes:write']);

  // the union strategy recovers with one authorization for everything
  await page.getByTestId('strategy-union').click();
  await page.getByTestId('signout-notes').click();
  await page.getByTestId('connect-notes').click();
  await authorize(page, 'notes', 'erin');
  await expect(lastOutput(page, 'notes')).toContainText('tools');
  await runTool(page, 'notes', 'add-note', { text: 'union keeps read' });
  await authorize(page, 'notes', 'erin');
  await expect(lastOutput(page, 'notes')).toContainText('Added note');
  expect((await authorizationScopes(world.notesUrl)).slice(2)).toEqual(['notes:read', 'notes:read notes:write']);
  await expect(page.getByTestId('error-notes')).toHaveCount(0);
});
