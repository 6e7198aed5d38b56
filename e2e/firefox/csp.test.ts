// e2e/csp.spec.ts in Firefox (the demo's part): a strict Content-Security-Policy. The demo's pages
// (/ and /chat/) are served with one as a response header (servers/csp.ts: no inline script or
// style, no eval, connect-src naming the MCP servers, worker-src 'self'), and the service worker's
// script with a policy of its own, which governs the worker's requests. Each page runs a real flow
// under it (authorizations by redirect and in a popup and the retried calls; two conversation
// steps), and no document of the browser context reports a violation, and the worker logs none.
// The last tests serve a policy with one thing missing and see each violation reported, so the
// watch is known to see what it watches for.
//
// Watching, in Firefox:
// - every document of the browser context (the app's pages, their popups, the authorization
//   server's pages, the callback page the worker answers): a WebDriver BiDi preload script for the
//   whole user context (script.addPreloadScript: popups included, which puppeteer's per-page
//   evaluateOnNewDocument would miss) adds a `securitypolicyviolation` listener before any script of
//   the page, keeps each event in a global of the document, and sends it at once over a BiDi channel
//   (a redirect leaves the document, and its global with it);
// - the service worker: Firefox lists its realm (script.getRealms) but evaluates nothing there
//   ("Realm … not found"), so no listener can be added to it from outside, as Playwright does over
//   CDP. Firefox logs each violation in the worker to the browser's console service with the
//   worker's script as its source; the tests read that from the chrome context (Services.console).
//   The worker's own console does not reach the driver otherwise;
// - console lines: every CSP line of the console service (pages and worker alike).
// Every request goes through a proxy (browser.ts's startRecordingProxy), which records them all
// (the worker's too: Firefox raises no BiDi network event for those) and rewrites responses for the
// last tests, the worker's included (BiDi intercepts do not see the worker's requests).
//
// Firefox itself asks each page without an icon link for /favicon.ico, under the page's policy: the
// authorization server's pages (default-src 'none') refuse that request and Firefox reports it (an
// img-src violation of the page, and a console line from its favicon loader). That is the browser's
// request, not the app's: the tests name it and set it apart (FIREFOX_FAVICON). The callback page the
// worker answers has an empty icon of its own, so it reports nothing.
import assert from 'node:assert/strict';
import { after, beforeEach, describe } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { demoPolicies } from '../../servers/csp.ts';
import { CSP_LINE, parsePolicy, recordedViolationsInPage, strictPageDeviations, watchDocumentViolations, type Violation } from '../csp-policy.ts';
import { bidi, chromeEval, startRecordingProxy } from './browser.ts';
import {
  allowInPopup,
  authorizationScopes,
  authorize,
  byTestId,
  connect,
  firefoxTest,
  openDemo,
  poll,
  Probe,
  resetLogs,
  runTool,
  useFirefox,
  world,
  type Session,
  type World,
} from './harness.ts';

const proxy = await startRecordingProxy(() => false);
useFirefox({ prefs: proxy.prefs });
after(() => proxy.close());

interface ConsoleLine {
  text: string;
  /** The script or document it is about (the console service's sourceName). */
  source: string;
  category: string;
}

interface CspWatch {
  /** Every securitypolicyviolation event of every document of the context, as it happened. */
  violations: Violation[];
  /** The violations the service worker logged since the watch started. */
  workerViolations(): Promise<Violation[]>;
  /** Every console line about CSP since the watch started, from any document or worker. */
  consoleLines(): Promise<ConsoleLine[]>;
}

/** Firefox's console line for a refused load: "… blocked the loading of a resource (connect-src) at URL because it violates the following directive: “…”". */
const REFUSED_LOAD = /\(([\w-]+)\) at (\S+) because it violates the following directive: “([^”]*)”/;

/** The console service's messages since `since` (ms since the epoch), read in the browser's chrome context. */
function consoleMessages(browser: Browser, since: number): Promise<ConsoleLine[]> {
  return chromeEval<ConsoleLine[]>(
    browser,
    `JSON.stringify(Services.console.getMessageArray()
      .filter((m) => m.timeStamp >= ${since})
      .map((m) => (m instanceof Ci.nsIScriptError ? { text: m.errorMessage, source: m.sourceName, category: m.category } : { text: m.message, source: '', category: '' })))`,
  );
}

/** The document listener, run before any script of each document (as a BiDi preload script, with a channel to report on). */
const WATCHER = `(send) => (${String(watchDocumentViolations)})((violation) => send(JSON.stringify(violation)))`;

let channels = 0;

/** Watches the test's browser context for CSP violations: its documents, its service worker, the console. */
async function watchCsp(session: Session, w: World = world): Promise<CspWatch> {
  const since = Date.now();
  const connection = bidi(session.browser);
  const channel = `csp-watch-${process.pid}-${++channels}`;
  const violations: Violation[] = [];
  const onMessage = (event: Record<string, unknown>) => {
    if (event['channel'] !== channel) return;
    const data = event['data'] as { type: string; value?: unknown };
    if (data.type === 'string') violations.push(JSON.parse(String(data.value)) as Violation);
  };
  connection.on('script.message', onMessage);
  const { result } = await connection.send('script.addPreloadScript', {
    functionDeclaration: WATCHER,
    arguments: [{ type: 'channel', value: { channel } }],
    userContexts: [session.context.id],
  });
  session.onClose(async () => {
    connection.off('script.message', onMessage);
    await connection.send('script.removePreloadScript', { script: result['script'] }).catch(() => undefined);
  });
  const consoleLines = async () => (await consoleMessages(session.browser, since)).filter((m) => CSP_LINE.test(m.text));
  const worker = `${w.appOrigin}/sw.js`;
  return {
    violations,
    consoleLines,
    async workerViolations() {
      return (await consoleLines())
        .filter((m) => m.source === worker || m.source.startsWith(`${worker}?`))
        .map((m) => {
          const [, directive = '', blocked = '', policy = ''] = REFUSED_LOAD.exec(m.text) ?? [];
          return { url: m.source, directive, blocked, source: m.source, sample: '', policy };
        });
    },
  };
}

/** What the page's own global recorded (the current document only), to compare with what was reported. */
function recordedInPage(page: Page): Promise<Violation[]> {
  return page.evaluate(recordedViolationsInPage);
}

/**
 * Firefox's own request for /favicon.ico, refused by the policy of a page that has no icon link and
 * no img-src (the authorization server's pages): the event of that document, and the favicon
 * loader's console line.
 */
const FIREFOX_FAVICON = {
  violation: (v: Violation) => v.directive === 'img-src' && v.blocked === new URL('/favicon.ico', v.url).href,
  line: (l: ConsoleLine) => l.source === 'resource:///modules/FaviconLoader.sys.mjs' && /\(img-src\) at \S+\/favicon\.ico /.test(l.text),
};

/**
 * No violation in any document, in the worker, or on the console, but Firefox's own favicon
 * requests, and those only on the authorization server's pages (the callback page has an icon).
 */
async function expectClean(watch: CspWatch, page: Page, w: World = world): Promise<void> {
  assert.deepEqual((await recordedInPage(page)).filter((v) => !FIREFOX_FAVICON.violation(v)), []);
  assert.deepEqual(watch.violations.filter((v) => !FIREFOX_FAVICON.violation(v)), []);
  assert.deepEqual(await watch.workerViolations(), []);
  assert.deepEqual((await watch.consoleLines()).filter((l) => !FIREFOX_FAVICON.line(l)), []);
  const where = watch.violations.filter(FIREFOX_FAVICON.violation).map((v) => new URL(v.url));
  assert.deepEqual(
    where.filter((url) => url.origin !== w.issuer).map(String),
    [],
    "Firefox's favicon request refused only on the authorization server's pages",
  );
}

/** The policy of a document's response, parsed: directive → sources. */
/** Opens a page and checks that its document came with exactly `expected.page`, and its worker's script with `expected.worker`. */
async function openWithPolicy(page: Page, url: string, expected: { page: string; worker: string }): Promise<void> {
  const response = await page.goto(url);
  const header = response?.headers()['content-security-policy'];
  assert.equal(header, expected.page);
  assert.deepEqual(strictPageDeviations(parsePolicy(header)), []);
  const script = await fetch(new URL('/sw.js', url));
  assert.equal(script.headers.get('content-security-policy'), expected.worker);
}

/** `world` as its server was started: the locked build (MCP_SW_AUTH_TRUSTED=demo in worlds.ts), whose policies follow its trusted list. */
const locked: World = { ...world, trustedServers: [world.notesUrl, world.calendarUrl] };

/** The demo started (its worker answered). */
const started = (page: Page) => poll(() => byTestId(page, 'status-notes').text(), (t) => t !== '' && t !== 'Starting…', 'the demo started');

describe('a strict Content-Security-Policy', () => {
  beforeEach(async () => {
    proxy.rewrite = undefined;
    proxy.exchanges.length = 0;
    await resetLogs(world);
  });

  describe('the demo', () => {
    firefoxTest('/ (the locked build): connect and add-note authorize by redirect and are retried, then delete-note in a popup, with no violation', async (session) => {
      const { page } = session;
      const watch = await watchCsp(session);
      await openWithPolicy(page, `${world.appOrigin}/`, demoPolicies(locked));
      const policy = parsePolicy(demoPolicies(locked).page);
      // the page may fetch exactly the two MCP servers (and itself); the authorization server is the worker's
      assert.deepEqual(policy['connect-src'], ["'self'", new URL(world.notesUrl).origin, new URL(world.calendarUrl).origin]);
      const workerPolicy = parsePolicy(demoPolicies(locked).worker);
      assert.deepEqual(workerPolicy['connect-src'], ["'self'", world.issuer, new URL(world.notesUrl).origin, new URL(world.calendarUrl).origin]);
      await started(page);

      const connected = await connect(page, 'notes');
      assert.deepEqual(await authorize(page, world, 'notes'), ['notes:read']);
      await connected.toContainText('4 tools');
      const added = await runTool(page, 'notes', 'add-note', { text: 'under a strict CSP' });
      assert.deepEqual(await authorize(page, world, 'notes'), ['notes:read', 'notes:write']);
      await added.toHaveText(/Added note #\d+: under a strict CSP/);
      const id = /#(\d+)/.exec(await added.text())![1]!;

      // the popup: opened blank by the page (it inherits the page's policy), the authorization
      // server's pages, and the callback page the worker answers with (a policy of its own)
      await byTestId(page, 'step-up-popup').click();
      const deleted = await runTool(page, 'notes', 'delete-note', { id });
      await byTestId(page, 'prompt-notes').toContainText('notes:delete');
      assert.deepEqual(await allowInPopup(page, () => byTestId(page, 'authorize-notes').click(), 'alice'), ['notes:read', 'notes:write', 'notes:delete']);
      await deleted.toHaveText(new RegExp(`Deleted note #${id}: under a strict CSP`));
      assert.equal((await authorizationScopes(world.notesUrl, world)).length, 3);
      await expectClean(watch, page);
    });

    firefoxTest('/chat/: two conversation steps, each needing a new permission allowed in the popup, with no violation', async (session) => {
      const { page } = session;
      const watch = await watchCsp(session);
      await openWithPolicy(page, `${world.appOrigin}/chat/`, demoPolicies(locked));
      for (const [request, result, asked] of [
        ['list my notes', /No notes yet|#\d+/, ['notes:read']],
        ['add a note: strict CSP', /Added note #\d+: strict CSP/, ['notes:read', 'notes:write']],
      ] as const) {
        const before = await page.$$eval('[data-testid="transcript"] li[data-role="assistant"]', (items) => items.length);
        await new Probe(page, '[data-testid="chat-send"]').toBeEnabled();
        await byTestId(page, 'chat-input').fill(request);
        await byTestId(page, 'chat-send').click();
        // the assistant's answer to this request: its message, by its own testid
        const message = await poll(
          () => page.$$eval('[data-testid="transcript"] li[data-role="assistant"]', (items) => items.map((li) => li.getAttribute('data-testid'))),
          (ids) => ids.length > before,
          'the assistant answers',
        );
        const answer = `[data-testid="${message.at(-1)}"]`;
        const allow = new Probe(page, `${answer} [data-testid="step-up-allow-notes"]`);
        await allow.toBeVisible();
        assert.deepEqual(await allowInPopup(page, () => allow.click(), 'chatter'), [...asked]);
        await new Probe(page, `${answer} pre`).toHaveText(result);
      }
      await byTestId(page, 'connections-notes').toHaveText('1');
      await expectClean(watch, page);
    });
  });

  describe('the watch sees a violation', () => {
    // Each test serves a policy with one thing missing, and expects the violation it causes.

    firefoxTest("an MCP server missing from the page's connect-src: the page's fetch is refused, though the worker would have answered it", async (session) => {
      const { page } = session;
      const watch = await watchCsp(session);
      const notes = new URL(world.notesUrl).origin;
      proxy.rewrite = (method, url) =>
        method === 'GET' && url === `${world.appOrigin}/`
          ? (response) => ({ headers: { 'content-security-policy': String(response.headers['content-security-policy']).replace(` ${notes}`, '') } })
          : undefined;
      await openDemo(page, world);
      await byTestId(page, 'connect-notes').click();
      await poll(async () => watch.violations.map((v) => [v.directive, v.blocked]), (seen) => seen.some(([d, b]) => d === 'connect-src' && b === world.notesUrl), 'the page reports the refused fetch');
      assert.ok((await recordedInPage(page)).some((v) => v.directive === 'connect-src' && v.blocked === world.notesUrl));
      assert.match((await watch.consoleLines()).map((l) => l.text).join('\n'), /\(connect-src\) at http:\/\/localhost:\d+\/mcp/);
      // the refused request went nowhere: not to the server, which would have answered 401
      assert.deepEqual(
        proxy.exchanges.filter((e) => e.url === world.notesUrl),
        [],
      );
    });

    firefoxTest('an inline script in the page: refused and reported', async (session) => {
      const { page } = session;
      const watch = await watchCsp(session);
      proxy.rewrite = (method, url) =>
        method === 'GET' && url === `${world.appOrigin}/` ? (response) => ({ body: response.body.replace('</body>', '<script>document.title = "inline ran"</script></body>') }) : undefined;
      await openDemo(page, world);
      await poll(async () => watch.violations.map((v) => v.directive), (directives) => directives.includes('script-src-elem'), 'the page reports the inline script');
      assert.notEqual(await page.title(), 'inline ran');
      assert.equal(watch.violations.find((v) => v.directive === 'script-src-elem')?.blocked, 'inline');
    });

    firefoxTest("an endpoint outside the worker's connect-src: the worker's own request is refused under the policy of its script's response, not the page's", async (session) => {
      const { page } = session;
      const watch = await watchCsp(session);
      // The authorization server's metadata (the worker reads it) names endpoints on 127.0.0.1: the
      // same server, but an origin the worker's policy does not list. (The proxy could change the
      // worker script's policy instead; moving the request keeps the policy as the app serves it.)
      const elsewhere = world.issuer.replace('localhost', '127.0.0.1');
      proxy.rewrite = (method, url) =>
        method === 'GET' && url.startsWith(`${world.issuer}/.well-known/`)
          ? (response) => {
              const metadata = JSON.parse(response.body) as Record<string, unknown>;
              const moved = Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, key.endsWith('_endpoint') && typeof value === 'string' ? value.replace(world.issuer, elsewhere) : value]));
              return { body: JSON.stringify(moved) };
            }
          : undefined;
      await openDemo(page, world);
      await connect(page, 'notes');
      await byTestId(page, 'authorize-notes').click();
      const [violation] = await poll(() => watch.workerViolations(), (seen) => seen.some((v) => v.directive === 'connect-src'), "the worker's console reports the refused request");
      assert.equal(violation!.url, `${world.appOrigin}/sw.js?callback=%2Foauth%2Fcallback`);
      assert.ok(violation!.blocked.startsWith(elsewhere), violation!.blocked);
      // the directive the worker enforced is its script's, which names the authorization server (the page's does not)
      assert.equal(violation!.policy, `connect-src ${parsePolicy(demoPolicies(locked).worker)['connect-src']!.join(' ')}`);
      assert.notEqual(violation!.policy, `connect-src ${parsePolicy(demoPolicies(locked).page)['connect-src']!.join(' ')}`);
      // no document saw it: it is the worker's
      assert.deepEqual(
        watch.violations.filter((v) => v.directive === 'connect-src'),
        [],
      );
      // the refused request never left the browser, and the worker says why the authorization did not start
      assert.ok(proxy.exchanges.some((e) => e.url.startsWith(`${world.issuer}/.well-known/`)), 'the worker read the metadata through the proxy');
      assert.deepEqual(
        proxy.exchanges.filter((e) => e.url.startsWith(elsewhere)),
        [],
      );
      await byTestId(page, 'timeline-notes').toContainText('NetworkError when attempting to fetch resource');
      assert.deepEqual(await authorizationScopes(world.notesUrl, world), []);
    });
  });
});
