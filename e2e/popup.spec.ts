// Step-up without leaving the page: the worker holds the refused request, the user authorizes in a
// popup, and the worker answers the original fetch with the server's reply to the same request,
// sent again with the new token. The page's MCP client never sees a 401/403.
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { allowInPopup, approveAtAuthorizationServer, authorizationScopes, connect, openDemo, resetLogs, runTool, stopWorker, world } from './world.ts';

/** Every response the page's own fetch got from an MCP server, with the session id it sent. */
async function watchPageFetches(page: Page): Promise<void> {
  await page.addInitScript((origins: string[]) => {
    const seen: Array<{ url: string; status: number; session: string | null; rpc: string }> = [];
    (window as unknown as { mcpFetches: typeof seen }).mcpFetches = seen;
    const original = window.fetch.bind(window);
    window.fetch = async (input, init) => {
      const request = new Request(input, init);
      const body = request.method === 'POST' ? await request.clone().text() : '';
      const response = await original(request);
      if (origins.some((o) => request.url.startsWith(o))) {
        const rpc = /"method":"([^"]+)"/.exec(body)?.[1] ?? request.method;
        seen.push({ url: request.url, status: response.status, session: request.headers.get('mcp-session-id'), rpc });
      }
      return response;
    };
  }, [new URL(world.notesUrl).origin, new URL(world.calendarUrl).origin]);
}

function pageFetches(page: Page): Promise<Array<{ url: string; status: number; session: string | null; rpc: string }>> {
  return page.evaluate(() => (window as unknown as { mcpFetches: Array<{ url: string; status: number; session: string | null; rpc: string }> }).mcpFetches);
}

async function popupMode(page: Page): Promise<void> {
  await page.addInitScript(() => localStorage.setItem('mcp-sw-auth-demo:step-up', 'popup'));
}

/** A marker that only survives if the page is never reloaded. */
async function markPage(page: Page): Promise<() => Promise<boolean>> {
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  return () => page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed === true);
}

test.describe('popup step-up', { tag: '@popup' }, () => {
  test.beforeEach(async () => {
    await resetLogs();
  });

  test('growth in a popup: the page stays, its fetches resolve 200, the MCP client never sees a 401/403 and never reconnects', async ({ page }) => {
    await watchPageFetches(page);
    await popupMode(page);
    await openDemo(page);
    const stayed = await markPage(page);

    const connected = await connect(page, 'notes');
    await expect(page.getByTestId('held-notes')).toContainText('The call waits');
    expect(await allowInPopup(page, () => page.getByTestId('authorize-notes').click())).toEqual(['notes:read']);
    await expect(connected).toContainText('4 tools');

    const added = await runTool(page, 'notes', 'add-note', { text: 'held, not refused' });
    await expect(page.getByTestId('prompt-notes')).toContainText('notes:write');
    expect(await allowInPopup(page, () => page.getByTestId('authorize-notes').click())).toEqual(['notes:read', 'notes:write']);
    await expect(added).toHaveText(/Added note #\d+: held, not refused/);

    expect(await stayed()).toBe(true);
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read', 'notes:read notes:write']);
    const fetches = await pageFetches(page);
    expect(fetches.length).toBeGreaterThan(3);
    expect(fetches.filter((f) => f.status === 401 || f.status === 403)).toEqual([]);
    // the MCP connection the page opened before the step-ups is the one it used after them: one
    // initialize in all (the demo's servers are stateless, so there is no session id to compare)
    expect(fetches.filter((f) => f.rpc === 'initialize')).toHaveLength(1);
  });

  test('a popup closed before the consent: the held request is answered with its 403, and the prompt stays', async ({ page }) => {
    await watchPageFetches(page);
    await popupMode(page);
    await openDemo(page);
    const connected = await connect(page, 'notes');
    await allowInPopup(page, () => page.getByTestId('authorize-notes').click());
    await expect(connected).toContainText('4 tools');

    const added = await runTool(page, 'notes', 'add-note', { text: 'never allowed' });
    await expect(page.getByTestId('held-notes')).toBeVisible();
    const opened = page.waitForEvent('popup');
    await page.getByTestId('authorize-notes').click();
    const popup = await opened;
    await popup.waitForLoadState();
    await popup.close();

    await expect(added).toContainText('Waiting for an authorization');
    await expect(page.getByTestId('prompt-notes')).toContainText('notes:write');
    await expect(page.getByTestId('held-notes')).toHaveCount(0);
    const calls = (await pageFetches(page)).filter((f) => f.rpc === 'tools/call');
    expect(calls.map((f) => f.status)).toEqual([403]);
  });

  test('a blocked popup: the window goes to the authorization server itself, and says why when it is back', async ({ page }) => {
    await page.addInitScript(() => {
      window.open = () => null; // as a popup blocker does
    });
    await popupMode(page);
    await openDemo(page);
    await connect(page, 'notes');
    const away = page.waitForEvent('load');
    await page.getByTestId('authorize-notes').click();
    await away;
    expect(new URL(page.url()).origin).toBe(world.issuer);
    await approveAtAuthorizationServer(page, 'bo');
    await expect(page.getByTestId('notice')).toContainText('blocked the authorization popup');
    await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read']);
  });

  test('two tabs, one popup: the second tab waits for the first tab\'s popup, and both carry on', async ({ context }) => {
    const [a, b] = [await context.newPage(), await context.newPage()];
    for (const tab of [a, b]) {
      await popupMode(tab);
      await openDemo(tab);
    }
    const popups: Page[] = [];
    context.on('page', (p) => {
      if (p !== a && p !== b) popups.push(p);
    });
    const fromA = await connect(a, 'notes');
    const fromB = await connect(b, 'notes');
    await expect(b.getByTestId('held-notes')).toBeVisible();

    const opened = a.waitForEvent('popup');
    await a.getByTestId('authorize-notes').click();
    const popup = await opened;
    await expect(popup.locator('input[name="login"]')).toBeVisible();
    await b.getByTestId('authorize-notes').click();
    await expect(b.getByTestId('in-flight-notes')).toBeVisible();

    await popup.locator('input[name="login"]').fill('two');
    await popup.getByRole('button', { name: 'Sign in' }).click();
    const closed = popup.waitForEvent('close');
    await popup.getByRole('button', { name: 'Allow', exact: true }).click();
    await closed;
    await expect(fromA).toContainText('4 tools');
    await expect(fromB).toContainText('4 tools');
    expect(popups).toHaveLength(1);
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read']);
  });

  test('20 concurrent calls held: one authorization, 20 answers', async ({ page }) => {
    await popupMode(page);
    await openDemo(page);
    const statuses = page.evaluate(async (url) => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'burst', version: '1' } } });
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const responses = await Promise.all(Array.from({ length: 20 }, () => fetch(url, { method: 'POST', headers, body })));
      return responses.map((r) => r.status);
    }, world.notesUrl);
    await expect(page.getByTestId('held-notes')).toContainText('20 calls wait');
    await allowInPopup(page, () => page.getByTestId('authorize-notes').click());
    expect(await statuses).toEqual(Array(20).fill(200));
    expect(await authorizationScopes(world.notesUrl)).toEqual(['notes:read']);
  });

  test('the worker stopped while it holds requests: the page\'s fetch is answered with the server\'s 401, never left hanging', async ({ page, context }) => {
    await popupMode(page);
    await openDemo(page);
    const answer = page.evaluate(async (url) => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'held', version: '1' } } });
      const started = Date.now();
      try {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body });
        return { outcome: `HTTP ${response.status}`, ms: Date.now() - started };
      } catch (error) {
        return { outcome: `failed: ${(error as Error).message}`, ms: Date.now() - started };
      }
    }, world.notesUrl);
    await expect(page.getByTestId('held-notes')).toBeVisible();
    await stopWorker(context, page);
    // Chromium sends a request whose worker stopped before answering to the network itself: without
    // the worker, so without a token, and the server's 401 comes back (as in redirect mode)
    const { outcome, ms } = await answer;
    expect(outcome).toBe('HTTP 401');
    expect(ms).toBeLessThan(10_000);
  });
});

test.describe('the chat demo', { tag: '@popup' }, () => {
  test.beforeEach(async () => {
    await resetLogs();
  });

  test('grows scope through a conversation, four steps, with no reload and one MCP connection', async ({ page }) => {
    await watchPageFetches(page);
    await page.goto('/chat/');
    const stayed = await markPage(page);
    const say = async (text: string) => {
      await page.getByTestId('chat-input').fill(text);
      await page.getByTestId('chat-send').click();
      return page.getByTestId('transcript').locator('li[data-role="assistant"]').last();
    };
    const steps: Array<[string, RegExp, string[]]> = [
      ['list my notes', /No notes yet|#\d+/, ['notes:read']],
      ['add a note: buy milk', /Added note #\d+: buy milk/, ['notes:read', 'notes:write']],
      ['delete note 999', /There is no note #999/, ['notes:read', 'notes:write', 'notes:delete']],
      ['export my notes', /# Notes/, ['notes:read', 'notes:write', 'notes:delete', 'notes:export']],
    ];
    for (const [request, result, asked] of steps) {
      const message = await say(request);
      const allow = message.getByTestId('step-up-allow-notes');
      await expect(allow).toBeVisible();
      expect(await allowInPopup(page, () => allow.click(), 'chatter')).toEqual(asked);
      await expect(message.locator('pre')).toHaveText(result);
    }
    expect(await stayed()).toBe(true);
    await expect(page.getByTestId('connections-notes')).toHaveText('1');
    await expect(page.getByTestId('granted-notes')).toHaveText('notes:read notes:write notes:delete notes:export');
    expect(await authorizationScopes(world.notesUrl)).toEqual([
      'notes:read',
      'notes:read notes:write',
      'notes:read notes:write notes:delete',
      'notes:read notes:write notes:delete notes:export',
    ]);
    const fetches = await pageFetches(page);
    expect(fetches.filter((f) => f.status === 401 || f.status === 403)).toEqual([]);
    expect(fetches.filter((f) => f.rpc === 'initialize')).toHaveLength(1);
    // the conversation is all there: 1 greeting + 4 requests and their answers
    await expect(page.getByTestId('transcript').locator('li[data-role]')).toHaveCount(9);
  });
});
