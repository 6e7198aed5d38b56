import { expect, test } from '@playwright/test';
import { authorizationScopes, authorize, captureSecrets, connect, mcpLog, openDemo, resetLogs, runTool, watchConsole, world } from './world.ts';

test.beforeEach(async () => {
  await resetLogs();
});

test('scope grows one authorization per new scope, each asking for the union, on both servers', { tag: '@growth' }, async ({ page, context }) => {
  captureSecrets(context);
  const consoleProblems = watchConsole(page);
  await openDemo(page);
  await expect(page.getByTestId('status-notes')).toHaveText('Not connected');

  // 1. connect: initialize needs notes:read
  const connected = await connect(page, 'notes');
  await expect(page.getByTestId('prompt-notes')).toContainText('notes:read');
  expect(await authorize(page, 'notes')).toEqual(['notes:read']);
  // back from the authorization server, the interrupted connect is retried by itself
  await expect(page.getByTestId('tool-notes-add-note')).toBeVisible();
  await expect(connected).toHaveText(/tools\/list 4 tools: list-notes, add-note, delete-note, export-notes/);

  // 2. add-note needs notes:write: the authorization asks for read + write
  const added = await runTool(page, 'notes', 'add-note', { text: 'progressive authorization works' });
  await expect(page.getByTestId('prompt-notes')).toContainText('notes:write');
  await authorize(page, 'notes');
  await expect(added).toHaveText(/Added note #\d+: progressive authorization works/);
  const id = /#(\d+)/.exec((await added.textContent()) ?? '')![1]!;

  // 3. delete-note needs notes:delete
  const deleted = await runTool(page, 'notes', 'delete-note', { id });
  await expect(page.getByTestId('prompt-notes')).toContainText('notes:delete');
  await authorize(page, 'notes');
  await expect(deleted).toHaveText(new RegExp(`Deleted note #${id}: progressive authorization works`));

  // 4. export-notes needs notes:export
  const exported = await runTool(page, 'notes', 'export-notes');
  await expect(page.getByTestId('prompt-notes')).toContainText('notes:export');
  await authorize(page, 'notes');
  await expect(exported).toHaveClass(/ok/);
  await expect(exported).toContainText('# Notes');

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
  await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
  const again = await runTool(page, 'notes', 'add-note', { text: 'still allowed' });
  await expect(again).toHaveText(/Added note #\d+: still allowed/);
  const second = /#(\d+)/.exec((await again.textContent()) ?? '')![1]!;
  const deletedAgain = await runTool(page, 'notes', 'delete-note', { id: second });
  await expect(deletedAgain).toHaveText(new RegExp(`Deleted note #${second}: still allowed`));
  await expect(deletedAgain).toHaveClass(/ok/);
  await expect(await connect(page, 'notes')).toContainText('4 tools');
  expect(await authorizationScopes(world.notesUrl)).toHaveLength(4);
  await expect(page.getByTestId('prompt-notes')).toHaveCount(0);

  // the calendar grows on its own, from its own first scope
  await connect(page, 'calendar');
  expect(await authorize(page, 'calendar')).toEqual(['calendar:read']);
  await expect(page.getByTestId('tool-calendar-create-event')).toBeVisible();
  const event = await runTool(page, 'calendar', 'create-event', { title: 'Review scopes', when: '2026-12-01T10:00' });
  await authorize(page, 'calendar');
  await expect(event).toHaveClass(/ok/);
  await expect(event).toContainText('Review scopes');
  expect(await authorizationScopes(world.calendarUrl)).toEqual(['calendar:read', 'calendar:read calendar:write']);

  // notes still works after the calendar's grants, and each server only ever saw its own tokens
  await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
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

test('a reload needs no new authorization', { tag: '@growth' }, async ({ page }) => {
  await openDemo(page);
  await connect(page, 'notes');
  await authorize(page, 'notes', 'bob');
  await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();
  expect(await authorizationScopes(world.notesUrl)).toHaveLength(1);

  await page.reload();
  // the app reconnects by itself: the worker still holds the token
  await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();
  await expect(await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
  await expect(page.getByTestId('status-notes')).toHaveText('Authorized');
  await expect(page.getByTestId('prompt-notes')).toHaveCount(0);
  expect(await authorizationScopes(world.notesUrl)).toHaveLength(1);
});
