// A strict Content-Security-Policy (README, "Content-Security-Policy"). The demo's pages (/ and
// /chat/) and the fixture apps that install the packed package are served with one as a response
// header (servers/csp.ts, servers/vite-plugin.ts, e2e/fixtures/serve.ts): no inline script or style,
// no eval, connect-src naming the MCP servers, worker-src 'self'; and the service worker's script
// with a policy of its own, which governs the worker's requests. Each page runs a real flow under
// it (an authorization and the retried call; a conversation step; the fixtures' growth), and no
// document of the browser context reports a violation: not the page, not the popup, not the
// authorization server's pages, not the worker's callback page, and the service worker logs none.
// The last tests serve a policy with one origin missing and see each violation reported, so the
// watch is known to see what it watches for.
import { expect, test, type BrowserContext, type ConsoleMessage, type Locator, type Page, type Worker } from '@playwright/test';
import { startTasksWorld } from '../servers/tasks.ts';
import { demoPolicies } from '../servers/csp.ts';
import { CSP_LINE, parsePolicy, recordedViolationsInPage, strictPageDeviations, watchDocumentViolations, type Violation } from './csp-policy.ts';
import { fixtureOrigin, fixturePolicies, fixtureWorld, type FixtureName } from './fixtures/fixtures.ts';
import { allowInPopup, approveAtAuthorizationServer, authorizationScopes, authorize, connect, openDemo, openWorld, resetLogs, runTool, world, type World } from './world.ts';

interface CspWatch {
  /** Every securitypolicyviolation event of every document of the context, as it happened. */
  violations: Violation[];
  /** Every console line about CSP, from any page or worker of the context. */
  consoleLines: string[];
}

const WORKER_VIOLATION = 'csp-violation in the service worker: ';

/**
 * Watches a browser context for CSP violations. In every document (the app's, its popups, the
 * authorization server's pages, the callback page the worker answers), an init script records each
 * `securitypolicyviolation` event into a global of the page and reports it at once (a redirect
 * leaves the document, and its global with it). In each service worker, as it starts, the same
 * listener is added through DevTools (an init script does not reach a worker), and logs each event
 * to the worker's console, which Playwright forwards. Console lines about CSP are collected from
 * every page too (Chromium logs a refused load or eval there); a worker's own such lines are not
 * forwarded, hence its listener.
 */
async function watchCsp(context: BrowserContext): Promise<CspWatch> {
  const watch: CspWatch = { violations: [], consoleLines: [] };
  await context.exposeBinding('cspViolated', (_source, violation: Violation) => void watch.violations.push(violation));
  await context.addInitScript(`(${String(watchDocumentViolations)})((violation) => void window.cspViolated?.(violation));`);
  context.on('console', (message: ConsoleMessage) => {
    const text = message.text();
    if (text.startsWith(WORKER_VIOLATION)) watch.violations.push(JSON.parse(text.slice(WORKER_VIOLATION.length)) as Violation);
    else if (CSP_LINE.test(text)) watch.consoleLines.push(`${message.type()}: ${text}`);
  });
  const inWorker = (worker: Worker) =>
    worker
      .evaluate((prefix) => {
        const scope = self as unknown as { cspWatched?: boolean; location: Location; addEventListener: (type: string, listener: (event: SecurityPolicyViolationEvent) => void) => void };
        if (scope.cspWatched) return;
        scope.cspWatched = true;
        scope.addEventListener('securitypolicyviolation', (event) => {
          const violation = { url: scope.location.href, directive: event.effectiveDirective, blocked: event.blockedURI, source: `${event.sourceFile}:${event.lineNumber}`, sample: event.sample, policy: event.originalPolicy };
          console.error(prefix + JSON.stringify(violation));
        });
      }, WORKER_VIOLATION)
      .catch(() => undefined); // a worker that stopped meanwhile: its successor gets its own
  context.on('serviceworker', (worker) => void inWorker(worker));
  for (const worker of context.serviceWorkers()) await inWorker(worker);
  return watch;
}

/** What the page's own global recorded (the current document only), to compare with what was reported. */
function recordedInPage(page: Page): Promise<Violation[]> {
  return page.evaluate(recordedViolationsInPage);
}

/** A violation a page is known to cause and that breaks nothing: the test names it, and says why. */
type Known = (v: Violation) => boolean;

async function expectClean(watch: CspWatch, page: Page, known: Known = () => false): Promise<void> {
  expect((await recordedInPage(page)).filter((v) => !known(v))).toEqual([]);
  expect(watch.violations.filter((v) => !known(v))).toEqual([]);
  expect(watch.consoleLines).toEqual([]);
}

/**
 * mcp-use 1.34.6 depends on @modelcontextprotocol/ext-apps 1.0.1, whose build carries a copy of
 * Zod 4.3.5 with settings of its own (not on globalThis): nothing the page does first reaches them,
 * so that copy asks once, at load, whether eval works (`Function('')` in a try), and the browser
 * reports the refusal. Zod then parses without eval, as it must; the flow completes (README,
 * "Content-Security-Policy"). Exactly that, once per document, from mcp-use's own chunk. (Chromium
 * logs no console line for an eval refused inside a try: only the event shows it.)
 */
const MCP_USE_ZOD_PROBE: Known = (v) => v.directive === 'script-src' && v.blocked === 'eval' && /\/assets\/mcp-use-[\w-]+\.js:\d+$/.test(v.source);

/** The policy of a document's response, parsed: directive → sources. */
/** Opens a page and checks that its document came with exactly `expected`, and its worker's script with `worker`. */
async function openWithPolicy(page: Page, url: string, expected: { page: string; worker: string }): Promise<void> {
  const response = await page.goto(url);
  const header = response?.headers()['content-security-policy'];
  expect(header).toBe(expected.page);
  expect(strictPageDeviations(parsePolicy(header!))).toEqual([]);
  const script = await page.request.get(new URL('/sw.js', url).href);
  expect(script.headers()['content-security-policy']).toBe(expected.worker);
}

/** `world` as its server was started: the locked build (MCP_SW_AUTH_TRUSTED=demo in playwright.config.ts), whose policies follow its trusted list. */
const locked: World = { ...world, trustedServers: [world.notesUrl, world.calendarUrl] };

test.describe('a strict Content-Security-Policy', { tag: '@lifecycle' }, () => {
  test.describe('the demo', () => {
    test.beforeEach(async () => {
      await resetLogs();
    });

    test('/ (the locked build): connect and add-note authorize by redirect and are retried, then delete-note in a popup, with no violation', async ({ page, context }) => {
      const watch = await watchCsp(context);
      await openWithPolicy(page, `${world.appOrigin}/`, demoPolicies(locked));
      const policy = parsePolicy(demoPolicies(locked).page);
      // the page may fetch exactly the two MCP servers (and itself); the authorization server is the worker's
      expect(policy['connect-src']).toEqual(["'self'", new URL(world.notesUrl).origin, new URL(world.calendarUrl).origin]);
      const workerPolicy = parsePolicy(demoPolicies(locked).worker);
      expect(workerPolicy['connect-src']).toEqual(["'self'", world.issuer, new URL(world.notesUrl).origin, new URL(world.calendarUrl).origin]);
      await expect(page.getByTestId('status-notes')).not.toHaveText('Starting…');

      const connected = await connect(page, 'notes');
      expect(await authorize(page, 'notes')).toEqual(['notes:read']);
      await expect(connected).toContainText('4 tools');
      const added = await runTool(page, 'notes', 'add-note', { text: 'under a strict CSP' });
      expect(await authorize(page, 'notes')).toEqual(['notes:read', 'notes:write']);
      await expect(added).toHaveText(/Added note #\d+: under a strict CSP/);
      const id = /#(\d+)/.exec((await added.textContent()) ?? '')![1]!;

      // the popup: opened blank by the page (it inherits the page's policy), the authorization
      // server's pages, and the callback page the worker answers with (a policy of its own)
      await page.getByTestId('step-up-popup').click();
      const deleted = await runTool(page, 'notes', 'delete-note', { id });
      await expect(page.getByTestId('prompt-notes')).toContainText('notes:delete');
      expect(await allowInPopup(page, () => page.getByTestId('authorize-notes').click(), 'alice')).toEqual(['notes:read', 'notes:write', 'notes:delete']);
      await expect(deleted).toHaveText(new RegExp(`Deleted note #${id}: under a strict CSP`));
      expect(await authorizationScopes(world.notesUrl)).toHaveLength(3);
      await expectClean(watch, page);
    });

    test.describe('the demo as it ships (no trusted-server list)', () => {
      const TASKS_PORT = world.basePort + 84;
      let tasks: Awaited<ReturnType<typeof startTasksWorld>>;
      test.beforeAll(async () => {
        tasks = await startTasksWorld({ port: TASKS_PORT, appOrigins: [openWorld.appOrigin] });
      });
      test.afterAll(async () => {
        await tasks?.close();
      });

      test('/: a server added by its URL (another origin, its own authorization server) is discovered, authorized and its call retried, with no violation', async ({ page, context }) => {
        const watch = await watchCsp(context);
        await openWithPolicy(page, `${openWorld.appOrigin}/`, demoPolicies(openWorld));
        // any server a person may add: loopback on any port, https anywhere
        expect(parsePolicy(demoPolicies(openWorld).page)['connect-src']).toEqual(expect.arrayContaining(['http://localhost:*', 'http://127.0.0.1:*', 'https:']));
        await expect(page.getByTestId('status-notes')).not.toHaveText('Starting…');
        await page.getByTestId('add-server-url').fill(tasks.mcpUrl);
        await page.getByTestId('add-server-submit').click();
        const id = `localhost-${TASKS_PORT + 1}-mcp`;
        await expect(page.getByTestId(`prompt-${id}`)).toContainText('tasks:read');
        const nextDocument = page.waitForEvent('load');
        await page.getByTestId(`authorize-${id}`).click();
        await nextDocument;
        expect(await approveAtAuthorizationServer(page, 'alice', 'Allow', openWorld)).toEqual(['tasks:read']);
        await expect(page.getByTestId(`tool-${id}-add-task`)).toBeVisible();
        const added = await runTool(page, id, 'add-task', { title: 'strict CSP' });
        const again = page.waitForEvent('load');
        await page.getByTestId(`authorize-${id}`).click();
        await again;
        expect(await approveAtAuthorizationServer(page, 'alice', 'Allow', openWorld)).toEqual(['tasks:read', 'tasks:write']);
        await expect(added).toHaveClass(/ok/);
        await expect(added).toContainText('strict CSP');
        await page.getByTestId(`remove-${id}`).click();
        await expect(page.getByTestId(`server-${id}`)).toHaveCount(0);
        await expectClean(watch, page);
      });
    });

    test('/chat/: two conversation steps, each needing a new permission allowed in the popup, with no violation', async ({ page, context }) => {
      const watch = await watchCsp(context);
      await openWithPolicy(page, `${world.appOrigin}/chat/`, demoPolicies(locked));
      for (const [request, result, asked] of [
        ['list my notes', /No notes yet|#\d+/, ['notes:read']],
        ['add a note: strict CSP', /Added note #\d+: strict CSP/, ['notes:read', 'notes:write']],
      ] as const) {
        await page.getByTestId('chat-input').fill(request);
        await page.getByTestId('chat-send').click();
        const message = page.getByTestId('transcript').locator('li[data-role="assistant"]').last();
        const allow = message.getByTestId('step-up-allow-notes');
        await expect(allow).toBeVisible();
        expect(await allowInPopup(page, () => allow.click(), 'chatter')).toEqual([...asked]);
        await expect(message.locator('pre')).toHaveText(result);
      }
      await expect(page.getByTestId('connections-notes')).toHaveText('1');
      await expectClean(watch, page);
    });
  });

  test.describe('the fixture apps (the packed package)', { tag: '@package' }, () => {
    const w: World = fixtureWorld;
    test.beforeEach(async () => {
      await resetLogs(w);
    });

    /** One popup step of a fixture page: the held call completes in place. */
    async function step(page: Page, button: string, user: string, output: Locator): Promise<{ asked: string[]; line: Locator }> {
      const lines = output.locator('li');
      const before = await lines.count();
      await page.getByTestId(button).click();
      const asked = await allowInPopup(page, () => page.getByTestId('authorize').click(), user);
      await expect(lines).toHaveCount(before + 1);
      return { asked, line: lines.nth(before) };
    }

    for (const name of ['vite-react', 'pwa', 'no-bundler'] as const satisfies readonly FixtureName[]) {
      test(`${name}: grows from notes:read to notes:write, with no violation`, async ({ page, context }) => {
        const watch = await watchCsp(context);
        const origin = fixtureOrigin(name);
        await openWithPolicy(page, name === 'no-bundler' ? `${origin}/?notes=${encodeURIComponent(w.notesUrl)}` : `${origin}/`, fixturePolicies(name));
        await expect(page.getByTestId('status')).toHaveText('signed-out');
        const output = page.getByTestId('output');
        const connected = await step(page, 'connect', `${name}-csp`, output);
        expect(connected.asked).toEqual(['notes:read']);
        await expect(connected.line).toHaveText('4 tools');
        const added = await step(page, 'add', `${name}-csp`, output);
        expect(added.asked).toEqual(['notes:read', 'notes:write']);
        await expect(added.line).toHaveText(/^Added note #\d+: /);
        expect(await authorizationScopes(w.notesUrl, w)).toEqual(['notes:read', 'notes:read notes:write']);
        await expectClean(watch, page);
      });
    }

    // the compat pages: each client grows in popup mode; use-mcp and mcp-use also in redirect mode,
    // where their own OAuth reads the metadata from the page (so the page policy names the authorization server)
    const COMPAT: Array<[string, 'popup' | 'redirect']> = [
      ['sdk-v2', 'popup'],
      ['sdk-v1', 'popup'],
      ['ai-sdk', 'popup'],
      ['use-mcp', 'popup'],
      ['use-mcp', 'redirect'],
      ['mcp-use', 'popup'],
      ['mcp-use', 'redirect'],
      ['fetch', 'popup'],
    ];
    for (const [client, mode] of COMPAT) {
      const outcome = client === 'mcp-use' ? "with no violation but its bundled Zod's eval probe" : 'with no violation';
      test(`compat, ${client} (${mode}): grows from notes:read to notes:write, ${outcome}`, async ({ page, context }) => {
        const watch = await watchCsp(context);
        const origin = fixtureOrigin('compat');
        await openWithPolicy(page, `${origin}/${client}/?stepUp=${mode}`, fixturePolicies('compat'));
        await expect(page.getByTestId('status')).toHaveText('signed-out');
        await expect(page.getByTestId('connect')).toBeEnabled();
        const output = page.getByTestId('output');
        const user = `${client}-${mode}-csp`;
        for (const [button, asked, text] of [
          ['connect', ['notes:read'], '4 tools'],
          ['add', ['notes:read', 'notes:write'], /^Added note #\d+: from /],
        ] as const) {
          const before = await output.getAttribute('data-last-call');
          await page.getByTestId(button).click();
          await expect.poll(() => output.getAttribute('data-last-call')).not.toBe(before);
          const line = output.locator(`li[data-call="${await output.getAttribute('data-last-call')}"]`).last();
          const authorizeButton = page.getByTestId('authorize');
          await expect(authorizeButton).toBeVisible();
          if (mode === 'popup') {
            expect(await allowInPopup(page, () => authorizeButton.click(), user)).toEqual([...asked]);
          } else {
            await authorizeButton.click();
            await page.waitForURL((url) => url.origin === w.issuer);
            expect(await approveAtAuthorizationServer(page, user, 'Allow', { ...w, appOrigin: origin })).toEqual([...asked]);
          }
          await expect(line).toHaveText(text);
        }
        expect(await authorizationScopes(w.notesUrl, w)).toEqual(['notes:read', 'notes:read notes:write']);
        if (client === 'mcp-use') {
          // the one known violation, once per document that loaded mcp-use: once, or three times in redirect mode (two returns)
          expect(watch.violations.filter(MCP_USE_ZOD_PROBE)).toHaveLength(mode === 'popup' ? 1 : 3);
        }
        await expectClean(watch, page, client === 'mcp-use' ? MCP_USE_ZOD_PROBE : undefined);
      });
    }
  });

  test.describe('the watch sees a violation', () => {
    // Each test serves a policy with one thing missing, and expects the violation it causes.
    test.beforeEach(async () => {
      await resetLogs();
    });

    test("an MCP server missing from the page's connect-src: the page's fetch is refused, though the worker would have answered it", async ({ page, context }) => {
      const watch = await watchCsp(context);
      const notes = new URL(world.notesUrl).origin;
      await context.route(`${world.appOrigin}/`, async (route) => {
        const response = await route.fetch();
        const csp = response.headers()['content-security-policy']!.replace(` ${notes}`, '');
        await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': csp } });
      });
      await openDemo(page);
      await page.getByTestId('connect-notes').click();
      await expect.poll(() => watch.violations.map((v) => [v.directive, v.blocked])).toContainEqual(['connect-src', world.notesUrl]);
      expect(await recordedInPage(page)).toContainEqual(expect.objectContaining({ directive: 'connect-src', blocked: world.notesUrl }));
      expect(watch.consoleLines.join('\n')).toContain('connect-src');
    });

    test("an inline script in the page: refused and reported", async ({ page, context }) => {
      const watch = await watchCsp(context);
      await context.route(`${world.appOrigin}/`, async (route) => {
        const response = await route.fetch();
        const html = (await response.text()).replace('</body>', '<script>document.title = "inline ran"</script></body>');
        await route.fulfill({ response, body: html });
      });
      await openDemo(page);
      await expect.poll(() => watch.violations.map((v) => v.directive)).toContain('script-src-elem');
      await expect(page).not.toHaveTitle('inline ran');
    });

    test("an endpoint outside the worker's connect-src: the worker's own request is refused under the policy of its script's response, not the page's", async ({ page, context }) => {
      const watch = await watchCsp(context);
      // The authorization server's metadata (the worker reads it) names endpoints on 127.0.0.1: the
      // same server, but an origin the worker's policy does not list (Playwright cannot rewrite the
      // worker script's own response, so the policy stays and the request moves).
      const elsewhere = world.issuer.replace('localhost', '127.0.0.1');
      await context.route(`${world.issuer}/.well-known/**`, async (route) => {
        const response = await route.fetch();
        const metadata = (await response.json()) as Record<string, unknown>;
        const moved = Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, key.endsWith('_endpoint') && typeof value === 'string' ? value.replace(world.issuer, elsewhere) : value]));
        await route.fulfill({ response, json: moved });
      });
      const sent: string[] = [];
      context.on('request', (request) => {
        if (request.url().startsWith(elsewhere)) sent.push(request.url());
      });
      await openDemo(page);
      await connect(page, 'notes');
      await page.getByTestId('authorize-notes').click();
      await expect.poll(() => watch.violations.map((v) => v.directive)).toContain('connect-src');
      const violation = watch.violations.find((v) => v.directive === 'connect-src')!;
      expect(violation.url).toBe(`${world.appOrigin}/sw.js?callback=%2Foauth%2Fcallback`);
      expect(violation.blocked.startsWith(elsewhere)).toBe(true);
      // the policy the worker enforced is the one its script came with
      expect(violation.policy).toBe(demoPolicies(locked).worker);
      expect(sent).toEqual([]);
      await expect(page.getByTestId('timeline-notes')).toContainText('Failed to fetch');
      expect(await authorizationScopes(world.notesUrl)).toEqual([]);
    });
  });
});
