// e2e/growth.spec.ts in Firefox: scope grows one authorization per new scope, each asking for the
// union, counted at the authorization server; a reload needs no new authorization.
import assert from 'node:assert/strict';
import { beforeEach, describe } from 'node:test';
import { authorizationScopes, authorize, byTestId, connect, firefoxTest, mcpLog, openDemo, resetLogs, runTool, watchConsole, world } from './harness.ts';

describe('growth', () => {
  beforeEach(() => resetLogs(world));

  firefoxTest('scope grows one authorization per new scope, each asking for the union, on both servers', async ({ page }) => {
    const consoleProblems = watchConsole(page);
    await openDemo(page, world);
    await byTestId(page, 'status-notes').toHaveText('Not connected');

    // 1. connect: initialize needs notes:read
    const connected = await connect(page, 'notes');
    await byTestId(page, 'prompt-notes').toContainText('notes:read');
    assert.deepEqual(await authorize(page, world, 'notes'), ['notes:read']);
    // back from the authorization server, the interrupted connect is retried by itself
    await byTestId(page, 'tool-notes-add-note').toBeVisible();
    await connected.toHaveText(/tools\/list 4 tools: list-notes, add-note, delete-note, export-notes/);

    // 2. add-note needs notes:write: the authorization asks for read + write
    const added = await runTool(page, 'notes', 'add-note', { text: 'progressive authorization works' });
    await byTestId(page, 'prompt-notes').toContainText('notes:write');
    await authorize(page, world, 'notes');
    await added.toHaveText(/Added note #\d+: progressive authorization works/);
    const id = /#(\d+)/.exec(await added.text())![1]!;

    // 3. delete-note needs notes:delete
    const deleted = await runTool(page, 'notes', 'delete-note', { id });
    await byTestId(page, 'prompt-notes').toContainText('notes:delete');
    await authorize(page, world, 'notes');
    await deleted.toHaveText(new RegExp(`Deleted note #${id}: progressive authorization works`));

    // 4. export-notes needs notes:export
    const exported = await runTool(page, 'notes', 'export-notes');
    await byTestId(page, 'prompt-notes').toContainText('notes:export');
    await authorize(page, world, 'notes');
    await exported.toHaveClass(/ok/);
    await exported.toContainText('# Notes');

    assert.deepEqual(await authorizationScopes(world.notesUrl, world), [
      'notes:read',
      'notes:read notes:write',
      'notes:read notes:write notes:delete',
      'notes:read notes:write notes:delete notes:export',
    ]);
    await byTestId(page, 'auth-count-notes').toHaveText('4');
    // the demo's authorization server binds tokens to the worker's DPoP key
    await byTestId(page, 'binding-notes').toHaveText('DPoP-bound token');
    await byTestId(page, 'granted-notes', '.chip.granted').toHaveText(['notes:read', 'notes:write', 'notes:delete', 'notes:export']);

    // every earlier operation still works after the later grants, with no new authorization
    await (await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
    const again = await runTool(page, 'notes', 'add-note', { text: 'still allowed' });
    await again.toHaveText(/Added note #\d+: still allowed/);
    const second = /#(\d+)/.exec(await again.text())![1]!;
    const deletedAgain = await runTool(page, 'notes', 'delete-note', { id: second });
    await deletedAgain.toHaveText(new RegExp(`Deleted note #${second}: still allowed`));
    await deletedAgain.toHaveClass(/ok/);
    await (await connect(page, 'notes')).toContainText('4 tools');
    assert.equal((await authorizationScopes(world.notesUrl, world)).length, 4);
    await byTestId(page, 'prompt-notes').toHaveCount(0);

    // the calendar grows on its own, from its own first scope
    await connect(page, 'calendar');
    assert.deepEqual(await authorize(page, world, 'calendar'), ['calendar:read']);
    await byTestId(page, 'tool-calendar-create-event').toBeVisible();
    const event = await runTool(page, 'calendar', 'create-event', { title: 'Review scopes', when: '2026-12-01T10:00' });
    await authorize(page, world, 'calendar');
    await event.toHaveClass(/ok/);
    await event.toContainText('Review scopes');
    assert.deepEqual(await authorizationScopes(world.calendarUrl, world), ['calendar:read', 'calendar:read calendar:write']);

    // notes still works after the calendar's grants, and each server only ever saw its own tokens
    await (await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
    for (const [url, other] of [
      [world.notesUrl, world.calendarUrl],
      [world.calendarUrl, world.notesUrl],
    ] as const) {
      const audiences = (await mcpLog(url)).requests.map((r) => r.tokenAudience).filter((a) => a !== undefined);
      assert.ok(audiences.length > 0, `${url} received tokens`);
      for (const audience of audiences) {
        assert.ok([audience].flat().includes(url), `${url} only receives its own tokens`);
        assert.ok(![audience].flat().includes(other), `${url} never receives ${other}'s tokens`);
      }
    }
    await byTestId(page, 'auth-total').toContainText('6');
    assert.deepEqual(consoleProblems, []);
  });

  firefoxTest('a reload needs no new authorization', async ({ page }) => {
    await openDemo(page, world);
    await connect(page, 'notes');
    await authorize(page, world, 'notes', 'bob');
    await byTestId(page, 'tool-notes-list-notes').toBeVisible();
    assert.equal((await authorizationScopes(world.notesUrl, world)).length, 1);

    await page.reload();
    // the app reconnects by itself: the worker still holds the token
    await byTestId(page, 'tool-notes-list-notes').toBeVisible();
    await (await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
    await byTestId(page, 'status-notes').toHaveText('Authorized');
    await byTestId(page, 'prompt-notes').toHaveCount(0);
    assert.equal((await authorizationScopes(world.notesUrl, world)).length, 1);
  });
});
