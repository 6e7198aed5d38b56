import { expect, test } from '@playwright/test';
import { authorizationScopes, authorize, captureSecrets, lastOutput, mcpLog, openDemo, resetLogs, runTool, watchConsole, world } from './world.ts';

test.beforeEach(async () => {
  await resetLogs();
});

test('scope grows one authorization per new scope, each asking for the union, on both servers', async ({ page, context }) => {
  captureSecrets(context);
  const consoleProblems = watchConsole(page);
  await openDemo(page);
  await expect(page.getByTestId('status-notes')).toHaveText('Not connected');

  // 1. connect: initialize needs notes:read
  await page.getByTestId('connect-notes').click();
  await expect(page.getByTestId('prompt-notes')).toContainText('notes:read');
  expect(await authorize(page, 'notes')).toEqual(['notes:read']);
  // back from the authorization server, the interrupted connect is retried by itself
  await expect(page.getByTestId('tool-notes-add-note')).toBeVisible();
  await expect(lastOutput(page, 'notes')).toContainText('tools');

  // 2. add-note needs notes:write: the authorization asks for read + write
  await runTool(page, 'notes', 'add-note', { text: 'progressive authorization works' });
  await expect(page.getByTestId('prompt-notes')).toContainText('notes:write');
  await authorize(page, 'notes');
  await expect(lastOutput(page, 'notes')).toContainText('Added note');
  const added = /#(\d+)/.exec((await lastOutput(page, 'notes').textContent()) ?? '')?.[1];
  expect(added).toBeTruthy();

  // 3. delete-note needs notes:delete
  await runTool(page, 'notes', 'delete-note', { id: added! });
  await expect(page.getByTestId('prompt-notes')).toContainText('notes:delete');
  await authorize(page, 'notes');
  await expect(lastOutput(page, 'notes')).toContainText(`#${added}`);

  // 4. export-notes needs notes:export
  await runTool(page, 'notes', 'export-notes');
  await expect(page.getByTestId('prompt-notes')).toContainText('notes:export');
  await authorize(page, 'notes');
  await expect(lastOutput(page, 'notes')).toContainText('#');

  expect(await authorizationScopes(world.notesUrl)).toEqual([
    'notes:read',
    'notes:read notes:write',
    'notes:read notes:write notes:delete',
    'notes:read notes:write notes:delete notes:export',
  ]);
  await expect(page.getByTestId('auth-count-notes')).toHaveText('4');
  // the demo's authorization server binds tokens to the worker's DPoP key
  await expect(page.getByTestId('binding-notes')).toHaveText('DPoP-bound token');
  await expect(page.getByTestId('granted-notes').locator('.chip.granted')).toHaveText(['notes:read', 'notes:write', 'notes:delete', 'notes:export']);

  // every earlier operation still works after the later grants, with no new authorization
  await runTool(page, 'notes', 'list-notes');
  await expect(lastOutput(page, 'notes')).toHaveClass(/ok/);
  await runTool(page, 'notes', 'add-note', { text: 'still allowed' });
  await expect(lastOutput(page, 'notes')).toContainText('Added note');
  const second = /#(\d+)/.exec((await lastOutput(page, 'notes').textContent()) ?? '')?.[1];
  await runTool(page, 'notes', 'delete-note', { id: second! });
  await expect(lastOutput(page, 'notes')).toContainText(`#${second}`);
  await expect(lastOutput(page, 'notes')).toHaveClass(/ok/);
  await page.getByTestId('connect-notes').click();
  await expect(lastOutput(page, 'notes')).toContainText('tools');
  expect(await authorizationScopes(world.notesUrl)).toHaveLength(4);
  await expect(page.getByTestId('prompt-notes')).toHaveCount(0);

  // the calendar grows on its own, from its own first scope
  await page.getByTestId('connect-calendar').click();
  expect(await authorize(page, 'calendar')).toEqual(['calendar:read']);
  await expect(page.getByTestId('tool-calendar-create-event')).toBeVisible();
  await runTool(page, 'calendar', 'create-event', { title: 'Review scopes', when: '2026-12-01T10:00' });
  await authorize(page, 'calendar');
  await expect(lastOutput(page, 'calendar')).toHaveClass(/ok/);
  expect(await authorizationScopes(world.calendarUrl)).toEqual(['calendar:read', 'calendar:read calendar:write']);

  // notes still works after the calendar's grants, and each server only ever saw its own tokens
  await runTool(page, 'notes', 'list-notes');
  await expect(lastOutput(page, 'notes')).toHaveClass(/ok/);
  for (const [url, other] of [
    [world.notesUrl, world.calendarUrl],
    [world.calendarUrl, world.notesUrl],
  ] as const) {
    const audiences = (await mcpLog(url)).requests.map((r) => r.tokenAudience).filter((a) => a !== undefined);
    expect(audiences.length).toBeGreaterThan(0);
    for (const audience of audiences) {
      expect([audience].flat()).toContain(url);
      expect([audience].flat()).not.toContain(other);
    }
  }
  await expect(page.getByTestId('auth-total')).toContainText('6');
  expect(consoleProblems).toEqual([]);
});

test('a reload needs no new authorization', async ({ page }) => {
  await openDemo(page);
  await page.getByTestId('connect-notes').click();
  await authorize(page, 'notes', 'bob');
  await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();
  expect(await authorizationScopes(world.notesUrl)).toHaveLength(1);

  await page.reload();
  // the app reconnects by itself: the worker still holds the token
  await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();
  await runTool(page, 'notes', 'list-notes');
  await expect(lastOutput(page, 'notes')).toHaveClass(/ok/);
  await expect(page.getByTestId('status-notes')).toHaveText('Authorized');
  await expect(page.getByTestId('prompt-notes')).toHaveCount(0);
  expect(await authorizationScopes(world.notesUrl)).toHaveLength(1);
});
