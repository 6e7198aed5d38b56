// Firefox over WebDriver BiDi (puppeteer-core), and the substitutes for what Playwright gives the
// Chromium suite through CDP: stopping the service worker (from Firefox's chrome context), rewriting
// one response (a BiDi network intercept), and seeing the worker's own requests (a recording proxy:
// Firefox reports no BiDi network event for a service worker's requests).
import { existsSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export function firefoxPath(): string | undefined {
  if (process.env.FIREFOX_PATH) return process.env.FIREFOX_PATH;
  return ['/usr/bin/firefox-esr', '/usr/bin/firefox'].find((p) => existsSync(p));
}

export interface LaunchOptions {
  /** Extra Firefox preferences (about:config). */
  prefs?: Record<string, string | number | boolean>;
  /** A profile directory that outlives the browser (a browser restart); otherwise a fresh temporary one. */
  userDataDir?: string;
}

/**
 * Launches Firefox headless over WebDriver BiDi. `--remote-allow-system-access` lets the tests
 * evaluate script in the browser's chrome context, where they stop the service worker.
 */
export function launchFirefox(options: LaunchOptions = {}): Promise<Browser> {
  const executablePath = firefoxPath();
  if (!executablePath) throw new Error('No Firefox found: install firefox-esr or set FIREFOX_PATH.');
  return puppeteer.launch({
    browser: 'firefox',
    executablePath,
    headless: true,
    args: ['--remote-allow-system-access'],
    defaultViewport: { width: 1280, height: 800 },
    protocolTimeout: 60_000,
    ...(options.prefs ? { extraPrefsFirefox: options.prefs } : {}),
    ...(options.userDataDir ? { userDataDir: options.userDataDir } : {}),
  });
}

/** puppeteer-core's BiDi connection (internal, but the only way to send commands it has no API for). */
interface BidiConnection {
  send(method: string, params: object): Promise<{ result: Record<string, unknown> }>;
  on(event: string, handler: (params: Record<string, unknown>) => void): void;
  off(event: string, handler: (params: Record<string, unknown>) => void): void;
}

export function bidi(browser: Browser): BidiConnection {
  const connection = (browser as unknown as { connection?: BidiConnection }).connection;
  if (!connection?.send) throw new Error('puppeteer-core did not expose its WebDriver BiDi connection');
  return connection;
}

/** The BiDi browsing-context id of a page. */
export function contextId(page: Page): string {
  return (page.mainFrame() as unknown as { _id: string })._id;
}

/** Evaluates an expression in the browser's chrome (privileged) context; the expression must give JSON text. */
export async function chromeEval<T>(browser: Browser, expression: string): Promise<T> {
  const connection = bidi(browser);
  const tree = (await connection.send('browsingContext.getTree', { 'moz:scope': 'chrome' })).result as { contexts: Array<{ context: string; url: string }> };
  const chrome = tree.contexts.find((c) => c.url.startsWith('chrome://browser/')) ?? tree.contexts[0];
  if (!chrome) throw new Error('no chrome context (is Firefox launched with --remote-allow-system-access?)');
  const { result } = await connection.send('script.evaluate', { expression, target: { context: chrome.context }, awaitPromise: true });
  const outcome = result as { type: string; result?: { value?: unknown }; exceptionDetails?: { text?: string } };
  if (outcome.type !== 'success') throw new Error(`chrome context: ${outcome.exceptionDetails?.text ?? 'exception'}`);
  return JSON.parse(String(outcome.result?.value)) as T;
}

/** The service workers Firefox has registered for an origin, as its ServiceWorkerManager sees them. */
export interface WorkerInfo {
  scope: string;
  userContextId: number;
  /** How many times this worker version was started. */
  launchCount: number;
  /** When Firefox will stop the worker for idleness; 0 when it is not running. */
  lifetimeDeadline: number;
}

const WORKERS = (origin: string, terminate: boolean) => `(() => {
  const manager = Cc['@mozilla.org/serviceworkers/manager;1'].getService(Ci.nsIServiceWorkerManager);
  const registrations = manager.getAllRegistrations();
  const out = [];
  for (let i = 0; i < registrations.length; i++) {
    const registration = registrations.queryElementAt(i, Ci.nsIServiceWorkerRegistrationInfo);
    const worker = registration.activeWorker;
    if (!worker || !registration.scope.startsWith(${JSON.stringify(origin)})) continue;
    if (${terminate}) worker.terminateWorker();
    out.push({ scope: registration.scope, userContextId: registration.principal.originAttributes.userContextId, launchCount: worker.launchCount, lifetimeDeadline: worker.lifetimeDeadline });
  }
  return JSON.stringify(out);
})()`;

export function serviceWorkers(browser: Browser, origin: string): Promise<WorkerInfo[]> {
  return chromeEval<WorkerInfo[]>(browser, WORKERS(origin, false));
}

/**
 * Stops the origin's active service workers, as Firefox does with an idle one (their memory is
 * gone), through the chrome context's ServiceWorkerManager (nsIServiceWorkerInfo.terminateWorker):
 * Puppeteer has no service-worker target in Firefox. Resolves once Firefox reports each of them not
 * running (a lifetime deadline of 0) or started again since (a page's request or message may wake
 * a fresh one at once). The next event (a fetch, a message) starts a fresh one.
 */
export async function stopWorker(browser: Browser, origin: string): Promise<void> {
  const stopped = await chromeEval<WorkerInfo[]>(browser, WORKERS(origin, true));
  if (stopped.length === 0) throw new Error(`no active service worker for ${origin}`);
  const launches = new Map(stopped.map((w) => [`${w.userContextId} ${w.scope}`, w.launchCount]));
  const deadline = Date.now() + 5_000;
  for (;;) {
    const workers = await serviceWorkers(browser, origin);
    if (workers.every((w) => w.lifetimeDeadline === 0 || w.launchCount > (launches.get(`${w.userContextId} ${w.scope}`) ?? Infinity))) return;
    if (Date.now() > deadline) throw new Error(`the worker did not stop: ${JSON.stringify(workers)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Answers one URL for one page with a body of the test's making (Playwright's page.route): a BiDi
 * network intercept limited to that URL and that page, so that no other request passes through the
 * test's hands (Puppeteer's setRequestInterception would intercept every request of the page).
 * Returns a function that removes the intercept.
 */
export async function fulfill(page: Page, url: string, body: () => Promise<{ contentType: string; text: string }>): Promise<() => Promise<void>> {
  const connection = bidi(page.browser());
  const { result } = await connection.send('network.addIntercept', { phases: ['beforeRequestSent'], urlPatterns: [{ type: 'string', pattern: url }], contexts: [contextId(page)] });
  const intercept = result['intercept'] as string;
  const handler = (event: Record<string, unknown>) => {
    const intercepts = event['intercepts'] as string[] | undefined;
    if (!event['isBlocked'] || !intercepts?.includes(intercept)) return;
    const request = (event['request'] as { request: string }).request;
    void body().then(
      ({ contentType, text }) =>
        connection.send('network.provideResponse', {
          request,
          statusCode: 200,
          reasonPhrase: 'OK',
          headers: [{ name: 'content-type', value: { type: 'string', value: contentType } }],
          body: { type: 'string', value: text },
        }),
      () => connection.send('network.failRequest', { request }),
    ).catch(() => undefined);
  };
  connection.on('network.beforeRequestSent', handler);
  return async () => {
    connection.off('network.beforeRequestSent', handler);
    await connection.send('network.removeIntercept', { intercept }).catch(() => undefined);
  };
}

/** One HTTP exchange seen by the recording proxy. */
export interface Exchange {
  method: string;
  url: string;
  requestBody: string;
  status: number;
  location?: string;
  /** Only for the URLs the proxy was asked to keep the bodies of. */
  responseBody?: string;
}

/** A response as the proxy received it, and what a test makes of it (csp.test.ts: a policy header, a page, metadata). */
export interface ProxiedResponse {
  status: number;
  /** Lower-case names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
export type ResponseChange = (response: ProxiedResponse) => { headers?: ProxiedResponse['headers']; body?: string };

export interface RecordingProxy {
  port: number;
  exchanges: Exchange[];
  /**
   * Chooses, per request, a change to its response (Playwright's route.fetch + route.fulfill, for
   * the worker's requests too, which no BiDi intercept sees): the proxy asks the server for an
   * uncompressed answer, reads it whole, and sends on what `change` makes of it. Unset: nothing changes.
   */
  rewrite: ((method: string, url: string) => ResponseChange | undefined) | undefined;
  /** Firefox preferences that send every http request (localhost included) through the proxy. */
  prefs: Record<string, string | number | boolean>;
  close(): Promise<void>;
}

/**
 * A forwarding HTTP proxy that records every request and response that passes through it: page
 * and service worker alike. It stands in for Playwright's context-wide request and response events,
 * which in Chromium include the worker's own requests (its code exchange and refreshes); Firefox's
 * BiDi network events do not. Response bodies are kept for URLs that `keepBody` accepts.
 */
export async function startRecordingProxy(keepBody: (url: string) => boolean): Promise<RecordingProxy> {
  const exchanges: Exchange[] = [];
  let rewrite: RecordingProxy['rewrite'];
  const read = (stream: IncomingMessage) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
      stream.on('error', reject);
    });
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '';
      if (!/^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?\//.test(url)) {
        // nothing but this machine is ever proxied (or reached)
        res.writeHead(502, { 'content-type': 'text/plain' }).end('the test proxy forwards only to localhost');
        return;
      }
      const body = await read(req);
      const headers = { ...req.headers };
      delete headers['proxy-connection'];
      delete headers['proxy-authorization'];
      const exchange: Exchange = { method: req.method ?? 'GET', url, requestBody: body.toString('utf8'), status: 0 };
      exchanges.push(exchange);
      const change = rewrite?.(exchange.method, url);
      if (change) delete headers['accept-encoding'];
      const upstream = httpRequest(url, { method: req.method, headers }, (answer) => {
        exchange.status = answer.statusCode ?? 0;
        if (typeof answer.headers.location === 'string') exchange.location = answer.headers.location;
        if (change) {
          void read(answer).then((received) => {
            const original: ProxiedResponse = { status: exchange.status, headers: { ...answer.headers }, body: received.toString('utf8') };
            const changed = change(original);
            const text = changed.body ?? original.body;
            const sent = { ...original.headers, ...changed.headers };
            delete sent['transfer-encoding'];
            sent['content-length'] = String(Buffer.byteLength(text));
            if (keepBody(url)) exchange.responseBody = text;
            res.writeHead(exchange.status, answer.statusMessage, sent).end(text);
          }, () => res.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        if (keepBody(url)) {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => (exchange.responseBody = Buffer.concat(chunks).toString('utf8')));
        }
        answer.pipe(res);
      });
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      res.on('close', () => upstream.destroy());
      upstream.end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    exchanges,
    get rewrite() {
      return rewrite;
    },
    set rewrite(choose) {
      rewrite = choose;
    },
    prefs: {
      'network.proxy.type': 1,
      'network.proxy.http': '127.0.0.1',
      'network.proxy.http_port': port,
      'network.proxy.share_proxy_settings': false,
      'network.proxy.no_proxies_on': '',
      'network.proxy.allow_hijacking_localhost': true,
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
