// "Add a server" in the demo, against a third MCP server the test starts itself (servers/tasks.ts:
// its own authorization server, with dynamic client registration), and against servers an author
// might get wrong. Both builds of the worker: without a trusted-server list (people may add their
// own servers) and with one (it refuses them, and the form says so).
import { expect, test, type Page } from '@playwright/test';
import { startTasksWorld } from '../servers/tasks.ts';
import { startCorslessServer, startUnprotectedServer, type RunningServer } from './broken-servers.ts';
import { approveAtAuthorizationServer, connect, openDemo, openWorld, readDatabase, runTool, watchConsole, world } from './world.ts';

const TASKS_PORT = world.basePort + 80;
let tasks: Awaited<ReturnType<typeof startTasksWorld>>;
let unprotected: RunningServer;
let corsless: RunningServer;

test.beforeAll(async () => {
  tasks = await startTasksWorld({ port: TASKS_PORT, appOrigins: [world.appOrigin, openWorld.appOrigin] });
  unprotected = await startUnprotectedServer(TASKS_PORT + 2);
  corsless = await startCorslessServer(TASKS_PORT + 3);
});

test.afterAll(async () => {
  await Promise.all([tasks?.close(), unprotected?.close(), corsless?.close()]);
});

/** What a new user does: types the URL into the form and adds it. */
async function addServer(page: Page, url: string): Promise<void> {
  await page.getByTestId('add-server-url').fill(url);
  await page.getByTestId('add-server-submit').click();
}

async function authorizeAt(page: Page, serverId: string): Promise<string[]> {
  const nextDocument = page.waitForEvent('load');
  await page.getByTestId(`authorize-${serverId}`).click();
  await nextDocument;
  return approveAtAuthorizationServer(page, 'alice', 'Allow', openWorld);
}

test.describe('a worker without a trusted-server list', { tag: ['@compat', '@add-server'] }, () => {
  test.use({ baseURL: openWorld.appOrigin });

  test('adds a server by its URL: discovery, registration, scope growth, kept across reloads, and removal forgets it', async ({ page }) => {
    const problems = watchConsole(page);
    tasks.as.resetLog();
    await openDemo(page);
    await addServer(page, tasks.mcpUrl);

    const id = `localhost-${TASKS_PORT + 1}-mcp`;
    const card = page.getByTestId(`server-${id}`);
    await expect(card).toBeVisible();
    await expect(card.getByRole('heading', { level: 2 })).toHaveText('Tasksadded by you');
    // what discovery found: the metadata that answered, the authorization server, the registration
    const discovery = page.getByTestId(`timeline-${id}`).getByTestId('discovery');
    await expect(discovery.getByTestId('discovery-metadata')).toHaveText(`http://localhost:${TASKS_PORT + 1}/.well-known/oauth-protected-resource/mcp`);
    await expect(discovery.getByTestId('discovery-issuer')).toHaveText(tasks.issuer);
    await expect(discovery).toContainText('registered dynamically (RFC 7591)');
    const clientId = await discovery.getByTestId('discovery-client').textContent();
    expect(clientId).not.toBe(world.clientId);

    // the card connects at once, and the server's first challenge shows
    await expect(page.getByTestId(`prompt-${id}`)).toContainText('tasks:read');
    expect(await authorizeAt(page, id)).toEqual(['tasks:read']);
    await expect(page.getByTestId(`tool-${id}-add-task`)).toBeVisible();

    // scope grows as for the demo's own servers: one consent per new scope, each asking for the union
    const added = await runTool(page, id, 'add-task', { title: 'try my own server' });
    await expect(page.getByTestId(`prompt-${id}`)).toContainText('tasks:write');
    expect(await authorizeAt(page, id)).toEqual(['tasks:read', 'tasks:write']);
    await expect(added).toHaveClass(/ok/);
    await expect(added).toContainText('try my own server');
    expect(tasks.as.log.authorizations.map((a) => a.scope)).toEqual(['tasks:read', 'tasks:read tasks:write']);
    expect(new Set(tasks.as.log.authorizations.map((a) => a.clientId))).toEqual(new Set([clientId]));
    await expect(page.getByTestId(`granted-${id}`).locator('.chip.granted')).toHaveText(['tasks:read', 'tasks:write']);

    // kept across a reload, with its grant: no new authorization
    await page.reload();
    await expect(page.getByTestId(`auth-count-${id}`)).toHaveText('2');
    await expect(await connect(page, id)).toHaveClass(/ok/);
    expect(tasks.as.log.authorizations).toHaveLength(2);

    // removing it forgets its ledger, its token (revoked) and its registration
    const revocationsBefore = tasks.as.log.revocations.length;
    await page.getByTestId(`remove-${id}`).click();
    await expect(card).toHaveCount(0);
    await expect.poll(() => tasks.as.log.revocations.length).toBeGreaterThan(revocationsBefore);
    await expect
      .poll(async () => {
        const db = await readDatabase(page);
        return {
          servers: (db['servers'] as Array<{ id: string }>).map((s) => s.id).filter((s) => s === id),
          tokens: (db['tokens'] as Array<{ serverId: string }>).filter((t) => t.serverId === id).length,
          clients: (db['clients'] as Array<{ issuer: string }>).filter((c) => c.issuer === tasks.issuer).length,
        };
      })
      .toEqual({ servers: [], tokens: 0, clients: 0 });
    await page.reload();
    await expect(page.getByTestId('status-notes')).not.toHaveText('Starting…');
    await expect(card).toHaveCount(0);
    expect(problems).toEqual([]);
  });

  test('a server added with a client id registered there in advance authorizes as that client', async ({ page }) => {
    // what a person would have done at the authorization server beforehand
    const registration = await fetch(new URL('/reg', tasks.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [`${openWorld.appOrigin}/oauth/callback`], token_endpoint_auth_method: 'none', client_name: 'registered by hand' }),
    });
    expect(registration.status).toBe(201);
    const { client_id: clientId } = (await registration.json()) as { client_id: string };
    tasks.as.resetLog();

    await openDemo(page);
    await page.getByTestId('add-server-name').fill('My tasks');
    await page.getByTestId('add-server-client-id').fill(clientId);
    await addServer(page, tasks.mcpUrl);
    const id = `localhost-${TASKS_PORT + 1}-mcp`;
    await expect(page.getByTestId(`server-${id}`).getByRole('heading', { level: 2 })).toHaveText('My tasksadded by you');
    const discovery = page.getByTestId(`timeline-${id}`).getByTestId('discovery');
    await expect(discovery).toContainText('as the pre-registered client');
    await expect(discovery.getByTestId('discovery-client')).toHaveText(clientId);
    expect(await authorizeAt(page, id)).toEqual(['tasks:read']);
    await expect(page.getByTestId(`tool-${id}-list-tasks`)).toBeVisible();
    expect(tasks.as.log.authorizations.map((a) => a.clientId)).toEqual([clientId]);
    // no registration of its own was made
    expect((tasks.as.log as { registrations?: unknown[] }).registrations ?? []).toHaveLength(0);
  });

  test('a bad URL, a server without OAuth and a server without CORS each get a message saying what to change', async ({ page }) => {
    await openDemo(page);
    const error = page.getByTestId('add-server-error');
    const cases: Array<[string, string, RegExp]> = [
      ['localhost:4181', 'invalid_server_url', /not a web address/],
      ['http://mcp.example.com/mcp', 'invalid_server_url', /tokens are only sent over https/],
      [unprotected.url, 'not_protected', /does not use OAuth[\s\S]*answer requests without a token with 401/],
      [corsless.url, 'cors_blocked', /without the CORS headers[\s\S]*Access-Control-Allow-Origin/],
      [`http://localhost:${TASKS_PORT + 9}/mcp`, 'server_unreachable', /Nothing answered/],
    ];
    for (const [url, code, message] of cases) {
      await addServer(page, url);
      await expect(error).toHaveAttribute('data-code', code);
      await expect(error).toContainText(message);
    }
    await expect(page.locator('[data-testid^="server-"]')).toHaveCount(2); // notes and calendar only
    const db = await readDatabase(page);
    expect((db['servers'] as Array<{ id: string }>).map((s) => s.id).sort()).toEqual(['calendar', 'notes']);
  });
});

test.describe('a worker built with a trusted-server list', { tag: ['@compat', '@add-server'] }, () => {
  test('refuses a server outside it, and the form says so plainly', async ({ page }) => {
    const requestsBefore = tasks.mcp.log.requests.length;
    await openDemo(page);
    await expect(page.getByTestId('add-server-trusted')).toContainText(world.notesUrl);
    await addServer(page, tasks.mcpUrl);
    const error = page.getByTestId('add-server-error');
    await expect(error).toHaveAttribute('data-code', 'untrusted_server');
    await expect(error).toContainText("Not on this app's trusted list");
    await expect(error).toContainText(`will not add ${tasks.mcpUrl}`);
    await expect(page.locator('[data-testid^="server-"]')).toHaveCount(2);
    // refused before anything was sent
    expect(tasks.mcp.log.requests.length).toBe(requestsBefore);
  });
});
