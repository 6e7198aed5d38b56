// The compatibility matrix (README, "Works with"): each popular web MCP client, with no auth provider
// of its own, behind mcp-sw-auth's worker in the compat fixture app (e2e/fixtures/compat/, the packed
// tarball, the client libraries at pinned versions). Each grows from notes:read to notes:write on
// the Notes server, in redirect mode and in popup mode: one authorization per new scope, each asking
// for the union, counted at the authorization server, and a reload needs none. Throughout, the test
// watches for an OAuth flow of the client's own: its requests to the authorization server's /auth,
// /token and /reg, its discovery requests, its popups. The authorization server's metadata is made to
// advertise a registration endpoint (which refuses, and counts, every registration), so that a client
// that would register a client of its own (Dynamic Client Registration) shows it here. A client that
// fights the worker has its fight counted exactly (`own`); where a setting of the client avoids it,
// the same test runs once more without the setting. In popup mode the page's own fetches never see a
// 401/403, and the client keeps its one connection.
import { expect, test, type BrowserContext, type Locator, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { fixtureOrigin, fixtureWorld } from './fixtures/fixtures.ts';
import { allowInPopup, asLog, authorizationScopes, resetLogs } from './world.ts';

const w = fixtureWorld;
const ORIGIN = fixtureOrigin('compat');
const FIXTURE = new URL('./fixtures/compat/', import.meta.url);
const REGISTRATION_ENDPOINT = `${w.issuer}/reg`;

type Mode = 'redirect' | 'popup';
/** What the client's own OAuth did, seen from the page: discovery requests (/.well-known/ documents) and registrations (POSTs to the registration endpoint). */
type Own = { discovery: number; registrations: number };
const NONE: Own = { discovery: 0, registrations: 0 };

interface CompatCase {
  /** The fixture's page. */
  page: string;
  /** The npm package tested, pinned in the fixture's package.json; none for plain fetch. */
  library?: string;
  /** A setting of the page left out (URL parameter), to show what it prevents. */
  variant?: { query: string; title: string };
  modes: Mode[];
  /** How the client opens its connection: `initialize`, or `server/discover` (the 2026-07-28 protocol). */
  handshake?: 'initialize' | 'server/discover';
  /** The client's own OAuth at work (a fight; README, "Works with"); none unless said. */
  own?: Partial<Record<Mode, Own>>;
}

const BOTH: Mode[] = ['redirect', 'popup'];
const CASES: CompatCase[] = [
  { page: 'sdk-v2', library: '@modelcontextprotocol/client', modes: BOTH },
  { page: 'sdk-v1', library: '@modelcontextprotocol/sdk', modes: BOTH },
  { page: 'ai-sdk', library: '@ai-sdk/mcp', modes: BOTH, handshake: 'server/discover' },
  // use-mcp hands SDK v1's transport an OAuth provider of its own, always: every 401/403 it sees
  // (redirect mode) runs the SDK's auth(): discovery, then a registration attempt. No option stops it.
  { page: 'use-mcp', library: 'use-mcp', modes: BOTH, own: { redirect: { discovery: 4, registrations: 2 } } },
  // mcp-use does the same (SDK v1 1.26.0 inside), but with `oauth.clientId` it registers nothing
  { page: 'mcp-use', library: 'mcp-use', modes: BOTH, own: { redirect: { discovery: 4, registrations: 0 } } },
  // ... and without it: twice on the 401 (its fallback to the SSE transport is refused too), once on
  // the 403; in popup mode it needs no setting
  {
    page: 'mcp-use',
    library: 'mcp-use',
    variant: { query: 'oauthClientId=none', title: 'without oauth.clientId' },
    modes: BOTH,
    own: { redirect: { discovery: 6, registrations: 3 } },
  },
  { page: 'fetch', modes: BOTH },
];

const fixtureJson = (path: string) => JSON.parse(readFileSync(new URL(path, FIXTURE), 'utf8')) as Record<string, unknown>;
const pinned = (library: string) => (fixtureJson('package.json')['dependencies'] as Record<string, string>)[library]!;
const label = (c: CompatCase) => `${c.library ? `${c.library} ${pinned(c.library)}` : 'plain fetch (JSON-RPC)'}${c.variant ? ` ${c.variant.title}` : ''}`;

interface Watched {
  /** Every fetch of the page (not the worker's) to the Notes server, across documents: what the client saw. */
  fetches: Array<{ method: string; rpc: string; status: number }>;
  /** Every window.open of the page: the worker's popup is opened blank and named mcp-sw-auth-<server>. */
  opens: Array<{ url: string; target: string }>;
  /** Requests to the authorization server's endpoints and to any /.well-known/ document, and who sent them. */
  oauth: Array<{ path: string; method: string; worker: boolean; navigation: boolean }>;
  /** Requests that would have left this machine (aborted). */
  outside: string[];
  /** Uncaught errors of the page. */
  errors: string[];
}

async function watch(page: Page, context: BrowserContext): Promise<Watched> {
  const watched: Watched = { fetches: [], opens: [], oauth: [], outside: [], errors: [] };
  await page.exposeFunction('compatRecord', (kind: 'fetch' | 'open', entry: never) => {
    (kind === 'fetch' ? watched.fetches : watched.opens).push(entry);
  });
  await page.addInitScript((notesUrl: string) => {
    const record = (window as unknown as { compatRecord: (kind: string, entry: unknown) => void }).compatRecord;
    const fetch = window.fetch.bind(window);
    window.fetch = async (input, init) => {
      const request = new Request(input, init);
      if (!request.url.startsWith(notesUrl)) return fetch(request);
      const body = request.method === 'POST' ? await request.clone().text() : '';
      const response = await fetch(request);
      void record('fetch', { method: request.method, rpc: /"method":"([^"]+)"/.exec(body)?.[1] ?? request.method, status: response.status });
      return response;
    };
    const open = window.open.bind(window);
    window.open = (url, target, features) => {
      void record('open', { url: url === undefined ? '' : String(url), target: target ?? '' });
      return open(url, target, features);
    };
  }, w.notesUrl);
  page.on('pageerror', (error) => watched.errors.push(error.message));

  context.on('request', (request) => {
    const url = new URL(request.url());
    const endpoint = url.origin === w.issuer && /^\/(auth|token|reg)$/.test(url.pathname);
    if (!endpoint && !url.pathname.startsWith('/.well-known/')) return;
    watched.oauth.push({ path: url.origin === w.issuer ? url.pathname : `${url.origin}${url.pathname}`, method: request.method(), worker: request.serviceWorker() !== null, navigation: request.isNavigationRequest() });
  });
  // nothing leaves the machine (e.g. a client's telemetry or hosted proxy)
  await context.route(
    (url) => url.protocol.startsWith('http') && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname),
    (route) => {
      watched.outside.push(route.request().url());
      return route.abort();
    },
  );
  // An authorization server that offers Dynamic Client Registration, and refuses every registration.
  await context.route(`${w.issuer}/.well-known/**`, async (route) => {
    const response = await route.fetch();
    if (!response.ok()) return route.fulfill({ response });
    return route.fulfill({ response, json: { ...((await response.json()) as object), registration_endpoint: REGISTRATION_ENDPOINT } });
  });
  await context.route(REGISTRATION_ENDPOINT, (route) => {
    const cors = { 'access-control-allow-origin': ORIGIN, 'access-control-allow-headers': '*', 'access-control-allow-methods': 'POST' };
    if (route.request().method() === 'OPTIONS') return route.fulfill({ status: 204, headers: cors });
    return route.fulfill({ status: 400, headers: cors, json: { error: 'invalid_client_metadata', error_description: 'this test refuses every registration' } });
  });
  return watched;
}

/** At the authorization server, in the page itself: sign in if asked, read the consent, allow, and wait until the page is back. */
async function consentInPage(page: Page, user: string): Promise<string[]> {
  await page.waitForURL((url) => url.origin === w.issuer);
  const login = page.locator('input[name="login"]');
  const allow = page.getByRole('button', { name: 'Allow', exact: true });
  await expect(login.or(allow)).toBeVisible();
  if (await login.isVisible()) {
    await login.fill(user);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await expect(allow).toBeVisible();
  const scopes = (await page.locator('li.scope').allTextContents()).map((s) => s.trim());
  await allow.click();
  await page.waitForURL((url) => url.origin === ORIGIN && !url.pathname.startsWith('/oauth'));
  return scopes;
}

/**
 * One step of growth: clicks the button, authorizes what the server asked for, and returns the
 * scopes the consent listed and the call's own output line. Redirect: the call fails with "waiting
 * for …", the page goes to the authorization server and back, and the call is repeated there.
 * Popup: the worker holds the call (no line yet), the consent opens in a popup, and the same call
 * completes in place.
 */
async function grow(page: Page, mode: Mode, button: 'connect' | 'add', user: string): Promise<{ asked: string[]; line: Locator }> {
  const output = page.getByTestId('output');
  const before = await output.getAttribute('data-last-call');
  await page.getByTestId(button).click();
  await expect.poll(() => output.getAttribute('data-last-call')).not.toBe(before);
  const line = output.locator(`li[data-call="${await output.getAttribute('data-last-call')}"]`).last();
  const authorize = page.getByTestId('authorize');
  await expect(authorize).toBeVisible();
  if (mode === 'popup') {
    await expect(line).toHaveCount(0); // held, not refused
    return { asked: await allowInPopup(page, () => authorize.click(), user), line };
  }
  await expect(line).toHaveText(/^waiting for notes:read/);
  await authorize.click();
  return { asked: await consentInPage(page, user), line };
}

test.describe('works with: popular web MCP clients behind the worker, with no auth provider', { tag: '@compat' }, () => {
  test.beforeEach(async () => {
    await resetLogs(w);
  });

  for (const client of CASES) {
    for (const mode of client.modes) {
      const own = client.own?.[mode] ?? NONE;
      const outcome = own.registrations > 0 ? `and its own OAuth tries to register a client ${own.registrations} times` : 'and never runs an OAuth flow of its own';
      test(`${label(client)}, ${mode} step-up: grows from notes:read to notes:write, ${outcome}`, async ({ page, context }) => {
        if (client.library) {
          // the version tested is the version pinned
          expect(pinned(client.library)).toMatch(/^\d+\.\d+\.\d+$/);
          expect(fixtureJson(`node_modules/${client.library}/package.json`)['version']).toBe(pinned(client.library));
        }
        const watched = await watch(page, context);
        const user = `${client.page}-${mode}`;
        await page.goto(`${ORIGIN}/${client.page}/?stepUp=${mode}${client.variant ? `&${client.variant.query}` : ''}`);
        await expect(page.getByTestId('mode')).toHaveText(mode);
        await expect(page.getByTestId('status')).toHaveText('signed-out');
        await expect(page.getByTestId('connect')).toBeEnabled();

        const connected = await grow(page, mode, 'connect', user);
        expect(connected.asked).toEqual(['notes:read']);
        await expect(connected.line).toHaveText('4 tools');
        await expect(connected.line).toHaveClass('ok');

        const added = await grow(page, mode, 'add', user);
        expect(added.asked).toEqual(['notes:read', 'notes:write']);
        await expect(added.line).toHaveText(/^Added note #\d+: from /);
        await expect(page.getByTestId('granted')).toHaveText('notes:read notes:write');
        expect(await authorizationScopes(w.notesUrl, w)).toEqual(['notes:read', 'notes:read notes:write']);

        const statuses = watched.fetches.map((f) => f.status);
        if (mode === 'redirect') {
          // the client saw each challenge: the 401 on connect, the 403 on add-note
          expect(statuses).toContain(401);
          expect(statuses).toContain(403);
        } else {
          // the client never saw a challenge, and kept the connection it opened before the step-ups:
          // one handshake in all
          expect(watched.fetches.length).toBeGreaterThan(2);
          expect(statuses.filter((s) => s === 401 || s === 403)).toEqual([]);
          const handshakes = watched.fetches.filter((f) => f.rpc === 'initialize' || f.rpc === 'server/discover').map((f) => f.rpc);
          expect(handshakes).toEqual([client.handshake ?? 'initialize']);
        }

        // a reload needs no authorization
        await page.reload();
        await expect(page.getByTestId('status')).toHaveText('authorized');
        const lines = page.getByTestId('output').locator('li');
        await page.getByTestId('add').click();
        await expect(lines.first()).toHaveText(/^Added note #\d+: from /);
        expect(await authorizationScopes(w.notesUrl, w)).toHaveLength(2);

        // The client's own OAuth: every authorization request the authorization server received is
        // the worker's (our client id, for the Notes server, the two scope sets), the page opened no
        // window but the worker's blank, named popup, no page or window of it sent a token request
        // (the worker's come from the service worker), and its discovery and registration requests
        // are exactly those of `own`: none, unless the client fights.
        const { authorizations } = await asLog(w);
        expect(authorizations.map((a) => [a.clientId, a.resource, a.scope])).toEqual([
          [w.clientId, w.notesUrl, 'notes:read'],
          [w.clientId, w.notesUrl, 'notes:read notes:write'],
        ]);
        expect(watched.opens).toEqual(mode === 'popup' ? [{ url: '', target: 'mcp-sw-auth-notes' }, { url: '', target: 'mcp-sw-auth-notes' }] : []);
        const byPage = watched.oauth.filter((r) => !r.worker);
        expect(byPage.filter((r) => r.path === '/token')).toEqual([]);
        expect({
          discovery: byPage.filter((r) => r.path.includes('/.well-known/')).length,
          registrations: byPage.filter((r) => r.path === '/reg' && r.method === 'POST').length,
        }).toEqual(own);
        // authorization navigations: the worker's two, in the page (redirect) or in its popups
        expect(byPage.filter((r) => r.path === '/auth' && r.navigation)).toHaveLength(2);
        expect(watched.outside).toEqual([]);
        expect(watched.errors).toEqual([]);
      });
    }
  }
});
