// The demo world the browser tests run against (started by playwright.config.ts's webServer),
// and helpers that read what its servers observed.
import { expect, type BrowserContext, type Locator, type Page } from '@playwright/test';
import type { WorkerReply, WorkerRequest } from '../sw/messages.ts';
import { demoConfig } from '../servers/config.ts';
import { askWorkerInPage, readDatabaseInPage } from './page-scripts.ts';

/** The locked build: its worker trusts only the two demo servers (MCP_SW_AUTH_TRUSTED=demo in playwright.config.ts). */
export const world = demoConfig(Number(process.env.MCP_SW_AUTH_E2E_PORT ?? 4270));
/** A second world whose access tokens live 12 s, for refresh tests, and which requires PAR (started by playwright.config.ts). */
export const shortLivedWorld = demoConfig(world.basePort + 10);
/**
 * Long enough for a 12 s token of those worlds to count as expired: the worker refreshes a fifth of
 * a token's lifetime before its end (9.6 s after issuance), so the next call refreshes.
 */
export const PAST_REFRESH_MARGIN_MS = 10_000;
/** A third: 12 s tokens and DPoP off, so tokens are bearer tokens the worker keeps only in memory. */
export const bearerWorld = { ...demoConfig(world.basePort + 20), dpop: false };
/** A fourth: the demo as it ships, whose worker has no trusted-server list (people may add servers). */
export const openWorld = { ...demoConfig(world.basePort + 30), trustedServers: undefined };
export type World = typeof world;

export interface AuthorizationLogEntry {
  scope?: string;
  resource?: string;
  clientId?: string;
  state?: string;
  /** Its parameters were pushed first (RFC 9126): the browser's URL held only a request_uri. */
  pushed?: boolean;
}

export interface AsLog {
  authorizations: AuthorizationLogEntry[];
  tokens: Array<{ grantType?: string; resource?: string; scope?: string; requestedScope?: string; error?: string; detail?: string; status: number }>;
  revocations: Array<{ tokenTypeHint?: string; status: number }>;
}

export interface McpLog {
  requests: Array<{ rpcMethod?: string; tool?: string; status: number; tokenAudience?: string | string[]; tokenScopes?: string }>;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

export const asLog = (w: World = world) => getJson<AsLog>(`${w.issuer}/__log`);
export const mcpLog = (url: string) => getJson<McpLog>(new URL('/__log', url).href);

export async function resetLogs(w: World = world): Promise<void> {
  for (const base of [w.issuer, w.notesUrl, w.calendarUrl]) {
    const response = await fetch(new URL('/__log/reset', base), { method: 'POST' });
    if (!response.ok) throw new Error(`reset ${base}: HTTP ${response.status}`);
  }
}

/** Scopes of each authorization request the authorization server received for one MCP server. */
export async function authorizationScopes(resource: string, w: World = world): Promise<string[]> {
  return (await asLog(w)).authorizations.filter((a) => a.resource === resource).map((a) => a.scope ?? '');
}

/**
 * Everything secret the browser handled, captured from the network (the worker's requests
 * included): codes, verifiers and refresh tokens sent to the token endpoint, tokens it returned.
 */
export function captureSecrets(context: BrowserContext, w: World = world): Set<string> {
  const secrets = new Set<string>();
  context.on('response', async (response) => {
    if (!response.url().startsWith(w.issuer) || !response.url().includes('/token')) return;
    try {
      const body = (await response.json()) as Record<string, unknown>;
      for (const key of ['access_token', 'refresh_token', 'id_token']) {
        if (typeof body[key] === 'string') secrets.add(body[key] as string);
      }
    } catch {
      // not JSON: nothing to capture
    }
  });
  context.on('request', (request) => {
    const url = new URL(request.url());
    const code = url.searchParams.get('code');
    if (code) secrets.add(code);
    if (request.url().startsWith(w.issuer) && request.method() === 'POST') {
      const form = new URLSearchParams(request.postData() ?? '');
      for (const key of ['code', 'code_verifier', 'refresh_token']) {
        const value = form.get(key);
        if (value) secrets.add(value);
      }
    }
  });
  return secrets;
}

/** Opens the demo and waits until the worker controls it and has answered. */
export async function openDemo(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('status-notes')).not.toHaveText('Starting…');
}

/**
 * At the authorization server: sign in when asked, read the scopes the consent lists, and decide.
 * Returns the scopes the consent page listed, or [] when the server needed no consent (everything
 * asked for was granted before) and sent the browser straight back.
 */
export async function approveAtAuthorizationServer(page: Page, user = 'alice', decision: 'Allow' | 'Deny' = 'Allow', w: World = world): Promise<string[]> {
  const backInApp = (url: URL) => url.origin === w.appOrigin && !url.pathname.startsWith('/oauth');
  if (backInApp(new URL(page.url()))) return [];
  const login = page.locator('input[name="login"]');
  const button = page.getByRole('button', { name: decision, exact: true });
  await expect(login.or(button)).toBeVisible();
  if (await login.isVisible()) {
    await login.fill(user);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await expect(button).toBeVisible();
  const scopes = await page.locator('li.scope').allTextContents();
  await button.click();
  await page.waitForURL(backInApp);
  return scopes.map((s) => s.trim());
}

/** Clicks what opens the popup, signs in and allows there, and waits for the popup to close itself. */
export async function allowInPopup(page: Page, click: () => Promise<void>, user = 'pia'): Promise<string[]> {
  const opened = page.waitForEvent('popup');
  await click();
  const popup = await opened;
  const login = popup.locator('input[name="login"]');
  const allow = popup.getByRole('button', { name: 'Allow', exact: true });
  await expect(login.or(allow)).toBeVisible();
  if (await login.isVisible()) {
    await login.fill(user);
    await popup.getByRole('button', { name: 'Sign in' }).click();
  }
  await expect(allow).toBeVisible();
  const scopes = (await popup.locator('li.scope').allTextContents()).map((s) => s.trim());
  const closed = popup.waitForEvent('close');
  await allow.click();
  await closed;
  return scopes;
}

/** Clicks a server's Authorize button (shown when the worker asks for an authorization) and consents. */
export async function authorize(page: Page, serverId: string, user = 'alice', decision: 'Allow' | 'Deny' = 'Allow', w: World = world): Promise<string[]> {
  // The next document is either the authorization server's page or, when it needs no consent,
  // the app again after the worker handled the callback.
  const nextDocument = page.waitForEvent('load');
  await page.getByTestId(`authorize-${serverId}`).click();
  await nextDocument;
  return approveAtAuthorizationServer(page, user, decision, w);
}

/**
 * The console line of one run of a demo action: the demo tags each line with the run's id, and an
 * action repeated after an authorization keeps its id, even across the redirect.
 */
export function callOutput(page: Page, serverId: string, call: string): Locator {
  return page.getByTestId(`output-${serverId}`).locator(`li[data-call="${call}"]`).last();
}

/** Clicks something that starts a demo action and returns that run's own output line. */
async function startCall(page: Page, serverId: string, click: () => Promise<void>): Promise<Locator> {
  const list = page.getByTestId(`output-${serverId}`);
  const before = await list.getAttribute('data-last-call');
  await click();
  await expect.poll(() => list.getAttribute('data-last-call')).not.toBe(before);
  return callOutput(page, serverId, (await list.getAttribute('data-last-call'))!);
}

/** Runs a tool from its form; returns the locator of that call's own output line. */
export async function runTool(page: Page, serverId: string, tool: string, args: Record<string, string> = {}): Promise<Locator> {
  for (const [name, value] of Object.entries(args)) await page.getByTestId(`input-${serverId}-${tool}-${name}`).fill(value);
  return startCall(page, serverId, () => page.getByTestId(`run-${serverId}-${tool}`).click());
}

/** Clicks Connect (connect + tools/list); returns the locator of that call's own output line. */
export function connect(page: Page, serverId: string): Promise<Locator> {
  return startCall(page, serverId, () => page.getByTestId(`connect-${serverId}`).click());
}

/**
 * Collects what would alarm a developer in the console: uncaught errors and console.error calls.
 * The browser's own "Failed to load resource" lines for the MCP servers' 401/403 challenges (and
 * the SDK's probe for a server-sent-event stream, 405) are the protocol working, not errors.
 */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (/^Failed to load resource: the server responded with a status of (401|403|405)\b/.test(message.text())) return;
    problems.push(message.text());
  });
  return problems;
}

/** Makes the demo page register one more MCP server (e.g. a test's challenge server). */
export async function withExtraServer(page: Page, server: { id: string; name: string; url: string }): Promise<void> {
  await page.route('**/demo-config.json', async (route) => {
    const response = await route.fetch();
    const config = (await response.json()) as { servers: unknown[] };
    await route.fulfill({ response, json: { ...config, servers: [...config.servers, server] } });
  });
}

/** The worker's IndexedDB record for one server, read from the page (same origin). */
export async function ledger(page: Page, serverId: string): Promise<{ requested: string[]; granted: string[] } | undefined> {
  return page.evaluate(
    (id) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('mcp-sw-auth');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction('servers').objectStore('servers').get(id);
          request.onsuccess = () => {
            open.result.close();
            resolve(request.result);
          };
          request.onerror = () => reject(request.error);
        };
      }),
    serverId,
  );
}

/**
 * Chromium stops the app's service worker, as it does with an idle one: its memory is gone.
 * Resolves once Chromium reports every worker version stopped. `whileStopping` runs right after
 * the stop was ordered (Chromium does not finish stopping a worker whose request is held by the
 * test's route: release it there).
 */
export async function stopWorker(context: BrowserContext, page: Page, whileStopping?: () => void): Promise<void> {
  const cdp = await context.newCDPSession(page);
  const latest = new Map<string, string>();
  const stopped = new Set<string>();
  let ordered = false;
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
    for (const v of versions) {
      latest.set(v.versionId, v.runningStatus);
      // a worker may be started again at once (a request waiting for it): seeing it stop is what counts
      if (ordered && v.runningStatus === 'stopped') stopped.add(v.versionId);
    }
  });
  await cdp.send('ServiceWorker.enable');
  await expect.poll(() => latest.size, { message: 'Chromium reports the worker' }).toBeGreaterThan(0);
  // a worker nothing has woken since it was last stopped is stopped already
  const live = [...latest].filter(([, status]) => status !== 'stopped').map(([id]) => id);
  ordered = true;
  await cdp.send('ServiceWorker.stopAllWorkers');
  whileStopping?.();
  await expect.poll(() => live.every((id) => stopped.has(id)), { message: 'the worker stopped', timeout: 5_000 }).toBe(true);
  await cdp.detach();
}

/** Sends one request to the worker from the page, as any script of the origin can. */
export function askWorker(page: Page, request: WorkerRequest): Promise<WorkerReply> {
  return page.evaluate(askWorkerInPage, request);
}

/** The id of the running worker instance: a new one after the browser stopped and restarted it. */
export async function workerInstance(page: Page): Promise<string> {
  const reply = await askWorker(page, { type: 'ping' });
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.instance;
}

/** Every record of every store of the worker's database, read by page script (as any script of the origin can). */
export function readDatabase(page: Page): Promise<Record<string, unknown[]>> {
  return page.evaluate(readDatabaseInPage);
}

/** Writes a record into the worker's database from the page: what a hostile script of the origin could do. */
export function plant(page: Page, store: string, value: unknown, key?: string): Promise<void> {
  return page.evaluate(
    ({ store, value, key }) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('mcp-sw-auth');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction(store, 'readwrite');
          if (key === undefined) tx.objectStore(store).put(value);
          else tx.objectStore(store).put(value, key);
          tx.oncomplete = () => {
            open.result.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    { store, value, key },
  );
}

/** Opens the demo and authorizes notes:read through the UI (one authorization). */
export async function authorizeRead(page: Page, user: string, w: World = world): Promise<void> {
  await openDemo(page);
  await connect(page, 'notes');
  await authorize(page, 'notes', user, 'Allow', w);
  await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();
}

/** Every refresh token the worker obtained, read off the network. */
export function captureRefreshTokens(context: BrowserContext, w: World = world): string[] {
  const refreshTokens: string[] = [];
  context.on('response', async (response) => {
    if (response.url() !== `${w.issuer}/token`) return;
    const body = (await response.json().catch(() => ({}))) as { refresh_token?: string };
    if (body.refresh_token) refreshTokens.push(body.refresh_token);
  });
  return refreshTokens;
}

/** A fresh page authorized for notes:read, then notes:write (two authorizations). */
export async function authorizeReadWrite(page: Page, user: string, w: World = world): Promise<void> {
  await resetLogs(w);
  await openDemo(page);
  await page.getByTestId('connect-notes').click();
  await authorize(page, 'notes', user, 'Allow', w);
  await expect(page.getByTestId('tool-notes-add-note')).toBeVisible();
  const added = await runTool(page, 'notes', 'add-note', { text: 'two scopes' });
  await authorize(page, 'notes', user, 'Allow', w);
  await expect(added).toContainText('Added note');
  // the retried call also fetches the tool list again; let it finish before the test goes on
  await expect(page.getByTestId('tool-notes-list-notes')).toBeVisible();
  await expect(page.getByTestId('connect-notes')).toBeEnabled();
}
