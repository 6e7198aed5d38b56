// `npm run bench`: the performance benchmark. One run, in Chromium, against the real servers on this
// machine: the worker side and the direct side side by side, then a fixed-width table (each figure
// next to its target) and bench-results/bench.json with every raw figure. Timings are reported,
// never asserted. See e2e/bench/README.md for what each figure measures.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

import { chromium, type Browser, type BrowserContext, type CDPSession, type Page, type Request, type Worker } from '@playwright/test';

import { demoConfig } from '../../servers/config.ts';
import { ledger } from '../world.ts';
import { tokenFromNode } from './oauth-node.ts';
import { buildApp, measureSizes, type SizeFigures } from './sizes.ts';
import { ms, round, summarize, table, type Row, type Summary } from './stats.ts';

// Playwright inspects a service worker's own network traffic over CDP by default, which only the
// worker side would pay for. The page's requests stay inspected on both sides.
process.env.PLAYWRIGHT_DISABLE_SERVICE_WORKER_NETWORK = '1';

const ROOT = join(import.meta.dirname, '..', '..');
const RESULTS = join(ROOT, 'bench-results');
const OUT_DIR = join(RESULTS, 'dist');
const PORT = Number(process.env.MCP_SW_AUTH_BENCH_PORT ?? 4390);
const cfg = demoConfig(PORT);

/** Requests per side for the warm overhead (≥ 500). */
const REQUESTS = Math.max(500, Number(process.env.BENCH_REQUESTS ?? 2000));
const BATCH = 25;
const WARMUP = 60;
const PROFILE_REQUESTS = 200;
const SSE_BYTES = 24_000_000;
const SSE_CHUNK = 16_384;
const SSE_RUNS = 12;
const FIRST_EVENT_RUNS = 40;
const STEP_UP_SAMPLES = 40;
const STEP_UP_PROFILE_SAMPLES = 20;
const GROWTH_ROUNDS = 4;
const BURST = 50;
const RESTART_SAMPLES = 10;

const TARGETS = {
  overheadMedianMs: 1,
  overheadRatio: 1.1,
  sseThroughputRatio: 0.95,
  firstEventDeltaMs: 5,
  challengeToUiMs: 20,
  callbackToRetryMs: 150,
  workerGzipBytes: 15_000,
  clientCoreGzipBytes: 6_000,
};

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });

function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
}

/** Which code was measured: the commit and the files changed on top of it (BENCH_SOURCE overrides). */
function source(): string {
  if (process.env.BENCH_SOURCE) return process.env.BENCH_SOURCE;
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const changed = git('status', '--porcelain', '--', 'sw', 'app', 'servers').split('\n').filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${changed > 0 ? ` + ${changed} changed file(s) in sw/ app/ servers/` : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// --- the world --------------------------------------------------------------------------------

async function startWorld(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'servers.ts'), OUT_DIR], {
    env: { ...process.env, MCP_SW_AUTH_BENCH_PORT: String(PORT) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (process.env.BENCH_VERBOSE) process.stderr.write(chunk);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the bench servers did not start within 60 s\n${stderr}`)), 60_000);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('"ready":true')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the bench servers exited (${code}) before they were ready\n${stderr}`));
    });
  });
  return child;
}

interface AsAuthorization {
  at: string;
  scope?: string;
  resource?: string;
  outcome?: string;
}

async function authorizations(resource: string): Promise<AsAuthorization[]> {
  const response = await fetch(`${cfg.issuer}/__log`);
  const body = (await response.json()) as { authorizations: AsAuthorization[] };
  return body.authorizations.filter((a) => a.resource === resource);
}

// --- the app, driven through its real UI --------------------------------------------------------

const backInApp = (url: URL) => url.origin === cfg.appOrigin && !url.pathname.startsWith('/oauth');

async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await page.getByTestId('status-notes').filter({ hasNotText: 'Starting' }).waitFor();
}

/** Clicks Authorize for a server and goes through the authorization server (login, consent) when it shows a page. Returns the pages shown. */
async function authorizeInUi(page: Page, serverId: string): Promise<number> {
  const nextDocument = page.waitForEvent('load', { timeout: 30_000 });
  await page.getByTestId(`authorize-${serverId}`).click();
  await nextDocument;
  let pages = 0;
  if (new URL(page.url()).origin === cfg.issuer) {
    const login = page.locator('input[name="login"]');
    const allow = page.getByRole('button', { name: 'Allow', exact: true });
    await login.or(allow).first().waitFor();
    if (await login.isVisible()) {
      pages++;
      await login.fill('alice');
      await page.getByRole('button', { name: 'Sign in' }).click();
    }
    await allow.waitFor();
    pages++;
    await allow.click();
    await page.waitForURL(backInApp, { timeout: 30_000 });
  }
  return pages;
}

async function runTool(page: Page, serverId: string, tool: string, args: Record<string, string> = {}): Promise<void> {
  await page.getByTestId(`tool-${serverId}-${tool}`).waitFor();
  for (const [name, value] of Object.entries(args)) await page.getByTestId(`input-${serverId}-${tool}-${name}`).fill(value);
  await page.getByTestId(`run-${serverId}-${tool}`).click();
}

async function outputLine(page: Page, serverId: string, operation: string): Promise<{ text: string; ok: boolean }> {
  const line = page.getByTestId(`output-${serverId}`).locator('li', { hasText: operation }).last();
  await line.waitFor({ timeout: 30_000 });
  return { text: (await line.textContent()) ?? '', ok: /\bok\b/.test((await line.getAttribute('class')) ?? '') };
}

/**
 * Records, in every app page of the context (epoch ms, sub-ms): when each output line appears, when
 * the client's register() resolves, and each request to the worker (posted, answered).
 */
async function installPageProbe(context: BrowserContext): Promise<void> {
  await context.addInitScript((appOrigin: string) => {
    if (location.origin !== appOrigin) return;
    const now = () => performance.timeOrigin + performance.now();
    type WorkerRequestMark = { type: string; post: number; reply: number };
    const state = {
      lines: [] as Array<{ at: number; server: string; text: string; cls: string }>,
      marks: [] as Array<{ what: string; at: number }>,
      requests: [] as WorkerRequestMark[],
    };
    (window as unknown as { __bench: typeof state }).__bench = state;
    const seen = new WeakSet<Element>();
    new MutationObserver(() => {
      for (const li of document.querySelectorAll('[data-testid^="output-"] > li')) {
        if (seen.has(li)) continue;
        seen.add(li);
        const list = li.parentElement?.getAttribute('data-testid') ?? '';
        state.lines.push({ at: now(), server: list.slice('output-'.length), text: li.textContent ?? '', cls: li.className });
      }
    }).observe(document, { childList: true, subtree: true });
    if (!('serviceWorker' in navigator)) return;
    const register = ServiceWorkerContainer.prototype.register;
    ServiceWorkerContainer.prototype.register = function (this: ServiceWorkerContainer, ...args: Parameters<ServiceWorkerContainer['register']>) {
      state.marks.push({ what: 'register:start', at: now() });
      return register.apply(this, args).then((registration) => {
        state.marks.push({ what: 'register:end', at: now() });
        return registration;
      });
    };
    // worker-channel.ts sets port1.onmessage, then posts the request with port2
    const onmessage = Object.getOwnPropertyDescriptor(MessagePort.prototype, 'onmessage')!;
    let last: WorkerRequestMark | undefined;
    Object.defineProperty(MessagePort.prototype, 'onmessage', {
      configurable: true,
      enumerable: onmessage.enumerable ?? true,
      get(this: MessagePort) {
        return onmessage.get!.call(this);
      },
      set(this: MessagePort, handler: ((event: MessageEvent) => unknown) | null) {
        const mark: WorkerRequestMark = { type: '', post: Number.NaN, reply: Number.NaN };
        last = mark;
        onmessage.set!.call(
          this,
          typeof handler === 'function'
            ? function (this: MessagePort, event: MessageEvent) {
                mark.reply = now();
                return handler.call(this, event);
              }
            : handler,
        );
      },
    });
    const post = ServiceWorker.prototype.postMessage as (this: ServiceWorker, message: unknown, transfer: Transferable[]) => void;
    ServiceWorker.prototype.postMessage = function (this: ServiceWorker, message: unknown, transfer: Transferable[]) {
      if (last && !last.type) {
        last.type = String((message as { type?: unknown } | null)?.type ?? '');
        last.post = now();
        state.requests.push(last);
        last = undefined;
      }
      return post.call(this, message, transfer);
    } as ServiceWorker['postMessage'];
  }, cfg.appOrigin);
}

// --- callback → first retried call --------------------------------------------------------------

interface RetrySample {
  server: string;
  operation: string;
  /** when the callback was requested (epoch ms) */
  at: number;
  /** pages the authorization server showed (login, consent); their time is excluded */
  asPages: number;
  ok: boolean;
  /** browser requests the callback URL → the retried call's result is in the page */
  totalMs: number;
  /** the worker answers the callback (state check, code exchange, ledger write) with its 303 */
  callbackMs: number;
  /** 303 → the app document's DOMContentLoaded */
  documentMs: number;
  /** DOMContentLoaded → the page's first MCP request (client start: configure, take-result) */
  clientStartMs: number;
  /** first MCP request → the retried call's result rendered (new MCP session + the call) */
  mcpMs: number;
  split: {
    /** 303 → the document's response end */
    documentFetchMs: number;
    /** document response end → DOMContentLoaded (module scripts loaded and run) */
    scriptsMs: number;
    /** DOMContentLoaded → /demo-config.json loaded (the demo's own start) */
    demoConfigMs: number;
    /** → register() resolved */
    registerMs: number;
    registerCallMs: number;
    /** → the worker answered `configure` */
    configureMs: number;
    /** → the worker answered `take-result` */
    takeResultMs: number;
    /** → the first MCP request starts */
    toFirstMcpMs: number;
    /** MCP requests before the result (initialize, initialized, GET probe, the call…) */
    mcpRequests: number;
    /** the sum of their durations; the rest of mcpMs is page work (SDK, React) */
    mcpNetworkMs: number;
  };
}

async function stepUp(page: Page, callbacks: Request[], serverId: string, serverUrl: string, operation: string): Promise<RetrySample> {
  const mark = callbacks.length;
  const asPages = await authorizeInUi(page, serverId);
  const line = await outputLine(page, serverId, operation);
  const callback = callbacks[mark];
  if (!callback) throw new Error(`no callback navigation seen for ${serverId} ${operation}`);
  const timing = callback.timing();
  const t0 = timing.startTime;
  const t303 = timing.responseEnd > 0 ? t0 + timing.responseEnd : Number.NaN;
  const p = await page.evaluate(
    ({ serverId, operation, serverUrl }) => {
      type State = {
        lines: Array<{ at: number; server: string; text: string; cls: string }>;
        marks: Array<{ what: string; at: number }>;
        requests: Array<{ type: string; post: number; reply: number }>;
      };
      const state = (window as unknown as { __bench?: State }).__bench;
      const origin = performance.timeOrigin;
      const line = state?.lines.find((l) => l.server === serverId && l.text.startsWith(operation));
      const lineAt = line?.at ?? Number.NaN;
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      const mcp = resources.filter((e) => e.name.startsWith(serverUrl));
      const before = mcp.filter((e) => origin + e.responseEnd <= lineAt + 0.5);
      const demoConfig = resources.find((e) => e.name.endsWith('/demo-config.json'));
      const reply = (type: string) => state?.requests.find((r) => r.type === type)?.reply ?? Number.NaN;
      return {
        lineAt,
        documentEnd: nav ? origin + nav.responseEnd : Number.NaN,
        dcl: nav ? origin + nav.domContentLoadedEventEnd : Number.NaN,
        demoConfig: demoConfig ? origin + demoConfig.responseEnd : Number.NaN,
        register: state?.marks.find((m) => m.what === 'register:end')?.at ?? Number.NaN,
        registerStart: state?.marks.find((m) => m.what === 'register:start')?.at ?? Number.NaN,
        configure: reply('configure'),
        takeResult: reply('take-result'),
        firstMcp: mcp[0] ? origin + mcp[0].startTime : Number.NaN,
        mcpRequests: before.length,
        mcpNetworkMs: before.reduce((sum, e) => sum + (e.responseEnd - e.startTime), 0),
      };
    },
    { serverId, operation, serverUrl },
  );
  return {
    server: serverId,
    operation,
    at: round(t0, 1),
    asPages,
    ok: line.ok,
    totalMs: round(p.lineAt - t0),
    callbackMs: round(t303 - t0),
    documentMs: round(p.dcl - t303),
    clientStartMs: round(p.firstMcp - p.dcl),
    mcpMs: round(p.lineAt - p.firstMcp),
    split: {
      documentFetchMs: round(p.documentEnd - t303),
      scriptsMs: round(p.dcl - p.documentEnd),
      demoConfigMs: round(p.demoConfig - p.dcl),
      registerMs: round(p.register - p.demoConfig),
      /** register() itself (called once the demo has its config) */
      registerCallMs: round(p.register - p.registerStart),
      configureMs: round(p.configure - p.register),
      takeResultMs: round(p.takeResult - p.configure),
      toFirstMcpMs: round(p.firstMcp - p.takeResult),
      mcpRequests: p.mcpRequests,
      mcpNetworkMs: round(p.mcpNetworkMs),
    },
  };
}

interface GrowthRound {
  round: number;
  requested: string[];
  samples: RetrySample[];
}

async function growthRound(page: Page, callbacks: Request[], round: number): Promise<GrowthRound> {
  const before = (await authorizations(cfg.notesUrl)).length;
  if (round > 1) {
    await page.getByTestId('signout-notes').click();
    await page.getByTestId('status-notes').filter({ hasText: 'Not connected' }).waitFor();
  }
  const samples: RetrySample[] = [];
  const url = cfg.notesUrl;
  await page.getByTestId('connect-notes').click();
  await page.getByTestId('prompt-notes').filter({ hasText: 'notes:read' }).waitFor();
  samples.push(await stepUp(page, callbacks, 'notes', url, 'connect + tools/list'));

  await runTool(page, 'notes', 'add-note', { text: `bench round ${round}` });
  await page.getByTestId('prompt-notes').filter({ hasText: 'notes:write' }).waitFor();
  samples.push(await stepUp(page, callbacks, 'notes', url, 'tools/call add-note'));
  const added = /#(\d+)/.exec((await outputLine(page, 'notes', 'tools/call add-note')).text)?.[1] ?? '1';

  await runTool(page, 'notes', 'delete-note', { id: added });
  await page.getByTestId('prompt-notes').filter({ hasText: 'notes:delete' }).waitFor();
  samples.push(await stepUp(page, callbacks, 'notes', url, 'tools/call delete-note'));

  await runTool(page, 'notes', 'export-notes');
  await page.getByTestId('prompt-notes').filter({ hasText: 'notes:export' }).waitFor();
  samples.push(await stepUp(page, callbacks, 'notes', url, 'tools/call export-notes'));

  const requested = (await authorizations(cfg.notesUrl)).slice(before).map((a) => a.scope ?? '');
  return { round, requested, samples };
}

// --- warm overhead: the same request with and without the worker --------------------------------

async function timedRequests(page: Page, url: string, headers: Record<string, string>, n: number): Promise<{ durations: number[]; statuses: number[] }> {
  return page.evaluate(
    async ({ url, headers, body, n }) => {
      const durations: number[] = [];
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const response = await fetch(url, { method: 'POST', headers, body });
        await response.text();
        durations.push(performance.now() - t0);
        statuses.push(response.status);
      }
      return { durations, statuses };
    },
    { url, headers, body: PING, n },
  );
}

interface ResourceTimes {
  origin: number;
  entries: Array<{ startTime: number; workerStart: number; fetchStart: number; requestStart: number; responseStart: number; responseEnd: number }>;
}

// Page and Worker have the same evaluate(); TypeScript cannot call the union of their overloads.
async function resourceTimes(target: Page | Worker, url: string): Promise<ResourceTimes> {
  return (target as Page).evaluate((url: string) => {
    const entries = (performance.getEntriesByName(url) as PerformanceResourceTiming[]).map((e) => ({
      startTime: e.startTime,
      workerStart: e.workerStart,
      fetchStart: e.fetchStart,
      requestStart: e.requestStart,
      responseStart: e.responseStart,
      responseEnd: e.responseEnd,
    }));
    return { origin: performance.timeOrigin, entries };
  }, url);
}

async function clearResourceTimes(target: Page | Worker): Promise<void> {
  await (target as Page).evaluate(() => {
    performance.clearResourceTimings();
    performance.setResourceTimingBufferSize(5000);
  });
}

async function appWorker(context: BrowserContext): Promise<Worker> {
  const found = context.serviceWorkers().find((w) => w.url().startsWith(cfg.appOrigin));
  if (found) return found;
  return context.waitForEvent('serviceworker', { predicate: (w) => w.url().startsWith(cfg.appOrigin), timeout: 15_000 });
}

// --- SSE --------------------------------------------------------------------------------------

interface SseRun {
  status: number;
  bytes: number;
  firstEventMs: number;
  totalMs: number;
}

async function sseRun(page: Page, url: string, headers: Record<string, string>): Promise<SseRun> {
  return page.evaluate(
    async ({ url, headers }) => {
      const t0 = performance.now();
      const response = await fetch(url, { headers, cache: 'no-store' });
      const reader = response.body!.getReader();
      let bytes = 0;
      let first = Number.NaN;
      let previous = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (Number.isNaN(first)) {
          for (let i = 0; i < value.length; i++) {
            if (value[i] === 10 && (i > 0 ? value[i - 1] : previous) === 10) {
              first = performance.now() - t0;
              break;
            }
          }
          previous = value[value.length - 1] ?? 0;
        }
        bytes += value.length;
      }
      return { status: response.status, bytes, firstEventMs: first, totalMs: performance.now() - t0 };
    },
    { url, headers },
  );
}

// --- 403 → UI told --------------------------------------------------------------------------------

interface ChallengeSample {
  status: number;
  /** the 403's response headers reach the worker → the state message is dispatched in the page (MessageEvent.timeStamp; the figure) */
  workerToToldMs: number;
  /** … → a message listener added by the bench runs (after the client core's listener and the React update it triggers) */
  workerToHandlerMs: number;
  /** the 403's response headers reach the worker → the prompt's text shows the operation (React commit) */
  workerToDomMs: number;
  /** the page sees the 403's response start (after the worker handed it over) → message handler */
  pageResponseToToldMs: number;
  /** the page's fetch resolves → message handler (negative: the page was told first) */
  fetchResolvedToToldMs: number;
  /** the worker: 403 headers → response handed to the page */
  workerHoldMs: number;
  probe?: {
    parseMs: number;
    idbMs: number;
    matchAllMs: number;
    postMs: number;
    deliveryMs: number;
    idbTransactions: number;
  };
}

async function installWorkerProbe(worker: Worker): Promise<void> {
  await worker.evaluate(() => {
    // Wraps the three things the worker does between a 403 and the page's message: the ledger's
    // IndexedDB transaction, clients.matchAll and postMessage. Removed again by __benchUnprobe.
    const g = globalThis as unknown as Record<string, any>;
    if (g.__benchProbe) return;
    const probe = { tx: [] as Array<{ stores: string; mode: string; t0: number; done: number }>, matchAll: [] as Array<{ t0: number; done: number }>, post: [] as number[] };
    g.__benchProbe = probe;
    const IDB = g.IDBDatabase.prototype;
    const ClientsProto = g.Clients.prototype;
    const ClientProto = g.Client.prototype;
    const tx0 = IDB.transaction;
    const matchAll0 = ClientsProto.matchAll;
    const post0 = ClientProto.postMessage;
    IDB.transaction = function (this: IDBDatabase, ...args: unknown[]) {
      const record = { stores: String(args[0]), mode: String(args[1] ?? 'readonly'), t0: performance.now(), done: Number.NaN };
      const tx = tx0.apply(this, args);
      probe.tx.push(record);
      tx.addEventListener('complete', () => (record.done = performance.now()));
      return tx;
    };
    ClientsProto.matchAll = function (this: unknown, ...args: unknown[]) {
      const record = { t0: performance.now(), done: Number.NaN };
      probe.matchAll.push(record);
      return matchAll0.apply(this, args).then((result: unknown) => {
        record.done = performance.now();
        return result;
      });
    };
    ClientProto.postMessage = function (this: unknown, ...args: unknown[]) {
      probe.post.push(performance.now());
      return post0.apply(this, args);
    };
    g.__benchUnprobe = () => {
      IDB.transaction = tx0;
      ClientsProto.matchAll = matchAll0;
      ClientProto.postMessage = post0;
      delete g.__benchProbe;
    };
  });
}

async function challengeSample(page: Page, worker: Worker, serverId: string, url: string, op: string, probed: boolean): Promise<ChallengeSample> {
  await worker.evaluate(() => {
    performance.clearResourceTimings();
    performance.setResourceTimingBufferSize(5000);
    const probe = (globalThis as unknown as { __benchProbe?: { tx: unknown[]; matchAll: unknown[]; post: unknown[] } }).__benchProbe;
    if (probe) {
      probe.tx.length = 0;
      probe.matchAll.length = 0;
      probe.post.length = 0;
    }
  });
  const inPage = await page.evaluate(
    async ({ serverId, url, op }) => {
      performance.clearResourceTimings();
      const operation = `tools/call ${op}`;
      const out = { status: 0, start: 0, resolved: 0, told: Number.NaN, handled: Number.NaN, dom: Number.NaN, pageResponseStart: Number.NaN, origin: performance.timeOrigin };
      let toldDone = () => {};
      let domDone = () => {};
      const told = new Promise<void>((resolve) => (toldDone = resolve));
      const dom = new Promise<void>((resolve) => (domDone = resolve));
      const onMessage = (event: MessageEvent) => {
        const data = event.data as { type?: string; server?: { id?: string; pending?: { trigger?: { operation?: string } } } } | null;
        if (data?.type === 'mcp-sw-auth:state' && data.server?.id === serverId && data.server.pending?.trigger?.operation === operation && Number.isNaN(out.told)) {
          out.told = event.timeStamp;
          out.handled = performance.now();
          toldDone();
        }
      };
      navigator.serviceWorker.addEventListener('message', onMessage);
      const observer = new MutationObserver(() => {
        if (Number.isNaN(out.dom) && document.querySelector(`[data-testid="prompt-${serverId}"]`)?.textContent?.includes(operation)) {
          out.dom = performance.now();
          domDone();
        }
      });
      observer.observe(document.body, { childList: true, subtree: true, characterData: true });
      out.start = performance.now();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: op, arguments: {} } }),
      });
      out.resolved = performance.now();
      out.status = response.status;
      await response.text();
      await Promise.race([Promise.all([told, dom]), new Promise((resolve) => setTimeout(resolve, 3000))]);
      navigator.serviceWorker.removeEventListener('message', onMessage);
      observer.disconnect();
      const entry = (performance.getEntriesByName(url) as PerformanceResourceTiming[]).at(-1);
      out.pageResponseStart = entry && entry.responseStart > 0 ? entry.responseStart : Number.NaN;
      return out;
    },
    { serverId, url, op },
  );
  const inWorker = await worker.evaluate((url: string) => {
    const entry = (performance.getEntriesByName(url) as PerformanceResourceTiming[]).at(-1);
    const probe = (globalThis as unknown as { __benchProbe?: { tx: Array<{ stores: string; mode: string; t0: number; done: number }>; matchAll: Array<{ t0: number; done: number }>; post: number[] } }).__benchProbe;
    return {
      origin: performance.timeOrigin,
      responseStart: entry && entry.responseStart > 0 ? entry.responseStart : Number.NaN,
      probe: probe ? { tx: probe.tx.filter((t) => t.mode === 'readwrite'), matchAll: [...probe.matchAll], post: [...probe.post] } : undefined,
    };
  }, url);
  const at403 = inWorker.origin + inWorker.responseStart;
  const told = inPage.origin + inPage.told;
  const sample: ChallengeSample = {
    status: inPage.status,
    workerToToldMs: round(told - at403),
    workerToHandlerMs: round(inPage.origin + inPage.handled - at403),
    workerToDomMs: round(inPage.origin + inPage.dom - at403),
    pageResponseToToldMs: round(inPage.told - inPage.pageResponseStart),
    fetchResolvedToToldMs: round(inPage.told - inPage.resolved),
    workerHoldMs: round(inPage.origin + inPage.pageResponseStart - at403),
  };
  const p = inWorker.probe;
  const tx = p?.tx[0];
  const matchAll = p?.matchAll[0];
  const post = p?.post[0];
  if (probed && tx && matchAll && post !== undefined) {
    sample.probe = {
      parseMs: round(tx.t0 - inWorker.responseStart),
      idbMs: round(tx.done - tx.t0),
      matchAllMs: round(matchAll.done - matchAll.t0),
      postMs: round(post - tx.done),
      deliveryMs: round(told - (inWorker.origin + post)),
      idbTransactions: p.tx.length,
    };
  }
  return sample;
}

async function burst(page: Page, base: string, n: number, label: string): Promise<{ statuses: number[]; ms: number; broadcasts: number }> {
  const result = await page.evaluate(
    async ({ base, n, label }) => {
      const w = window as unknown as { __benchBroadcasts?: number; __benchCounting?: boolean };
      if (!w.__benchCounting) {
        w.__benchCounting = true;
        navigator.serviceWorker.addEventListener('message', (event) => {
          const data = event.data as { type?: string; server?: { id?: string } } | null;
          if (data?.type === 'mcp-sw-auth:state' && data.server?.id === 'calendar') w.__benchBroadcasts = (w.__benchBroadcasts ?? 0) + 1;
        });
      }
      w.__benchBroadcasts = 0;
      const t0 = performance.now();
      const statuses = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          fetch(`${base}/bench/challenge?n=${i}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: `${label}-${i}`, arguments: {} } }),
          }).then((r) => r.status),
        ),
      );
      return { statuses, ms: performance.now() - t0 };
    },
    { base, n, label },
  );
  // let the last broadcasts land: quiet for 300 ms (at most 5 s)
  let last = -1;
  for (let i = 0; i < 17; i++) {
    const now = await page.evaluate(() => (window as unknown as { __benchBroadcasts?: number }).__benchBroadcasts ?? 0);
    if (now === last) break;
    last = now;
    await page.waitForTimeout(300);
  }
  return { statuses: result.statuses, ms: round(result.ms), broadcasts: Math.max(last, 0) };
}

// --- worker restart -------------------------------------------------------------------------------

class WorkerControl {
  #cdp: CDPSession;
  #status = new Map<string, string>();

  private constructor(cdp: CDPSession) {
    this.#cdp = cdp;
    cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
      for (const v of versions) this.#status.set(v.versionId, v.runningStatus);
    });
  }

  static async attach(context: BrowserContext, page: Page): Promise<WorkerControl> {
    const cdp = await context.newCDPSession(page);
    const control = new WorkerControl(cdp);
    await cdp.send('ServiceWorker.enable');
    return control;
  }

  /** Stops every service worker and waits until Chromium reports them stopped (at most 5 s). */
  async stop(page: Page): Promise<void> {
    await this.#cdp.send('ServiceWorker.stopAllWorkers');
    for (let i = 0; i < 250; i++) {
      if ([...this.#status.values()].every((s) => s === 'stopped')) return;
      await page.waitForTimeout(20);
    }
    throw new Error('the service worker did not stop');
  }
}

// --- the run ----------------------------------------------------------------------------------------

interface PhaseError {
  phase: string;
  message: string;
}

async function main(): Promise<number> {
  mkdirSync(RESULTS, { recursive: true });
  const errors: PhaseError[] = [];
  const phase = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    log(name);
    try {
      return await run();
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      errors.push({ phase: name, message: message.split('\n').slice(0, 6).join('\n') });
      log(`${name} FAILED: ${message.split('\n')[0]}`);
      return undefined;
    }
  };

  log('building the app and the worker into bench-results/dist');
  const composition = await buildApp(OUT_DIR);
  const sizes = await phase('sizes', () => measureSizes(OUT_DIR, RESULTS, composition));

  log(`starting the servers on ${PORT}–${PORT + 3}`);
  const world = await startWorld();
  const stopWorld = () => {
    if (world.exitCode === null) world.kill('SIGTERM');
  };
  process.once('exit', stopWorld);

  let browser: Browser | undefined;
  const started = Date.now();
  const loadAtStart = os.loadavg().map((v) => round(v, 2));
  try {
    // BENCH_CHROMIUM_ARGS: extra switches, e.g. for logging while profiling (space-separated)
    const extraArgs = (process.env.BENCH_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);
    browser = await chromium.launch({ executablePath: chromiumPath(), args: [...LAUNCH_ARGS, ...extraArgs] });
    const withWorker = await browser.newContext({ baseURL: cfg.appOrigin, viewport: { width: 1280, height: 900 } });
    await installPageProbe(withWorker);
    const callbacks: Request[] = [];
    withWorker.on('request', (r) => {
      if (r.url().startsWith(`${cfg.appOrigin}/oauth/callback`)) callbacks.push(r);
    });
    const pageW = await withWorker.newPage();

    // 0. the direct side's token, from Node; one request to each MCP server with a Node token so that
    //    their first token verification (JWKS fetch, key import) is not inside a measured figure
    const nodeToken = await phase('tokens from Node; MCP servers warmed', async () => {
      const notes = await tokenFromNode(cfg, cfg.notesUrl, 'notes:read');
      const calendar = await tokenFromNode(cfg, cfg.calendarUrl, 'calendar:read');
      for (const [url, token] of [
        [cfg.notesUrl, notes],
        [cfg.calendarUrl, calendar],
      ] as const) {
        const response = await fetch(url, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${token.accessToken}` }, body: PING });
        if (response.status !== 200) throw new Error(`warming ${url}: HTTP ${response.status}`);
        await response.text();
      }
      return notes;
    });
    await openApp(pageW);

    // 1. k-step growth through the real UI; each step is also a callback → retried call sample
    // BENCH_TRACE=categories (e.g. "ServiceWorker,disabled-by-default-ServiceWorker,navigation") records a
    // Chromium trace of the growth rounds into bench-results/trace.json, for profiling
    const traceCategories = process.env.BENCH_TRACE?.split(',').filter(Boolean);
    if (traceCategories) await browser.startTracing(pageW, { path: join(RESULTS, 'trace.json'), categories: traceCategories });
    const growth: GrowthRound[] = [];
    for (let round = 1; round <= GROWTH_ROUNDS; round++) {
      const result = await phase(`growth round ${round} (notes, 4 steps)`, () => growthRound(pageW, callbacks, round));
      if (result) growth.push(result);
    }
    if (traceCategories) await browser.stopTracing();

    // 2. a reload needs no authorization
    const reload = await phase('reload', async () => {
      const before = (await authorizations(cfg.notesUrl)).length;
      await pageW.reload();
      await pageW.getByTestId('status-notes').filter({ hasNotText: 'Starting' }).waitFor();
      const reconnect = await outputLine(pageW, 'notes', 'connect + tools/list');
      await runTool(pageW, 'notes', 'list-notes');
      const list = await outputLine(pageW, 'notes', 'tools/call list-notes');
      return { authorizations: (await authorizations(cfg.notesUrl)).length - before, reconnectOk: reconnect.ok, callOk: list.ok };
    });

    // 3. the calendar: connect (one more callback sample), then it hosts the 403 and burst runs
    const calendarConnect = await phase('calendar connect', async () => {
      await pageW.getByTestId('connect-calendar').click();
      await pageW.getByTestId('prompt-calendar').waitFor();
      return stepUp(pageW, callbacks, 'calendar', cfg.calendarUrl, 'connect + tools/list');
    });

    // 4. the direct side: a context where no worker ever runs, with a token the harness got itself
    const direct = await phase('direct side: a page without a worker', async () => {
      const token = nodeToken ?? (await tokenFromNode(cfg, cfg.notesUrl, 'notes:read'));
      const context = await browser!.newContext({ serviceWorkers: 'block' });
      const page = await context.newPage();
      await page.goto(`${cfg.appOrigin}/favicon.svg`);
      return { page, authorization: `Bearer ${token.accessToken}`, scope: token.scope };
    });
    const pageD = direct?.page;
    const directHeaders = { ...MCP_HEADERS, authorization: direct?.authorization ?? '' };

    // 5. warm overhead, interleaved in batches (ABBA), the same ping on both sides
    const overhead = await phase(`overhead: ${REQUESTS} authorized requests per side`, async () => {
      if (!pageD) throw new Error('no direct side');
      await pageW.bringToFront();
      const warmW = await timedRequests(pageW, cfg.notesUrl, MCP_HEADERS, WARMUP);
      const warmD = await timedRequests(pageD, cfg.notesUrl, directHeaders, WARMUP);
      if (warmW.statuses.some((s) => s !== 200) || warmD.statuses.some((s) => s !== 200)) {
        throw new Error(`warm-up statuses: worker ${[...new Set(warmW.statuses)]}, direct ${[...new Set(warmD.statuses)]}`);
      }
      const worker: number[] = [];
      const directDurations: number[] = [];
      const batchDeltas: number[] = [];
      const statuses = new Set<number>();
      for (let b = 0; b < Math.ceil(REQUESTS / BATCH); b++) {
        const order = b % 4 === 0 || b % 4 === 3 ? (['w', 'd'] as const) : (['d', 'w'] as const);
        const medians = { w: 0, d: 0 };
        for (const side of order) {
          const r = side === 'w' ? await timedRequests(pageW, cfg.notesUrl, MCP_HEADERS, BATCH) : await timedRequests(pageD, cfg.notesUrl, directHeaders, BATCH);
          (side === 'w' ? worker : directDurations).push(...r.durations);
          medians[side] = summarize(r.durations).median;
          for (const s of r.statuses) statuses.add(s);
        }
        batchDeltas.push(medians.w - medians.d);
      }
      return { worker, direct: directDurations, batchDeltas, statuses: [...statuses] };
    });

    // 5b. where the worker's time goes, from Resource Timing in the page and in the worker, plus
    //     wrappers around FetchEvent.respondWith (to read FetchEvent.timeStamp: when the event was
    //     created in the worker) and around the worker's fetch()
    const overheadProfile = await phase('overhead profile (Resource Timing, page + worker)', async () => {
      if (!pageD) throw new Error('no direct side');
      const worker = await appWorker(withWorker);
      await worker.evaluate((url: string) => {
        const g = globalThis as unknown as Record<string, any>;
        const marks = { events: [] as number[], calls: [] as number[] };
        g.__benchFetchMarks = marks;
        // a fetch listener added now would never run (listeners count only from the script's first
        // evaluation), but the worker's own listener calls respondWith synchronously
        const proto = g.FetchEvent.prototype;
        const respondWith0 = proto.respondWith;
        proto.respondWith = function (this: { request: { url: string }; timeStamp: number }, ...args: unknown[]) {
          if (this.request.url === url) marks.events.push(this.timeStamp);
          return respondWith0.apply(this, args);
        };
        const fetch0 = g.fetch;
        g.fetch = function (this: unknown, ...args: unknown[]) {
          if ((args[0] as { url?: string } | undefined)?.url === url) marks.calls.push(performance.now());
          return fetch0.apply(this, args);
        };
        g.__benchFetchUnprobe = () => {
          proto.respondWith = respondWith0;
          g.fetch = fetch0;
          delete g.__benchFetchMarks;
        };
      }, cfg.notesUrl);
      const rows = { w: [] as Array<Record<string, number>>, d: [] as Array<Record<string, number>> };
      try {
        for (let round = 0; round < 2; round++) {
          for (const side of round === 0 ? (['w', 'd'] as const) : (['d', 'w'] as const)) {
            const page = side === 'w' ? pageW : pageD;
            await clearResourceTimes(page);
            if (side === 'w') {
              await clearResourceTimes(worker);
              await worker.evaluate(() => {
                const marks = (globalThis as unknown as { __benchFetchMarks: { events: number[]; calls: number[] } }).__benchFetchMarks;
                marks.events.length = 0;
                marks.calls.length = 0;
              });
            }
            await timedRequests(page, cfg.notesUrl, side === 'w' ? MCP_HEADERS : directHeaders, PROFILE_REQUESTS / 2);
            const p = await resourceTimes(page, cfg.notesUrl);
            if (side === 'd') {
              for (const e of p.entries) rows.d.push({ total: e.responseEnd - e.startTime, toHeaders: e.responseStart - e.startTime, body: e.responseEnd - e.responseStart });
              continue;
            }
            const w = await resourceTimes(worker, cfg.notesUrl);
            const marks = await worker.evaluate(() => (globalThis as unknown as { __benchFetchMarks: { events: number[]; calls: number[] } }).__benchFetchMarks);
            const pageAbs = (t: number) => p.origin + t;
            const workerAbs = (t: number) => w.origin + t;
            p.entries.forEach((e, i) => {
              const we = w.entries[i];
              if (!we) return;
              const event = marks.events.length === p.entries.length ? (marks.events[i] ?? Number.NaN) : Number.NaN;
              const call = marks.calls.length === p.entries.length ? (marks.calls[i] ?? Number.NaN) : Number.NaN;
              rows.w.push({
                total: e.responseEnd - e.startTime,
                // page fetch() → the worker calls fetch(): fetch event dispatch + handler work before the network
                toWorkerFetch: workerAbs(we.startTime) - pageAbs(e.startTime),
                // … of which: page fetch() → FetchEvent created in the worker
                dispatch: workerAbs(event) - pageAbs(e.startTime),
                // … and FetchEvent created → the handler calls fetch() (body read, headers, new Request)
                handler: call - event,
                // the worker's own network request, to response headers (the direct side's equivalent: toHeaders)
                workerNetwork: workerAbs(we.responseStart) - workerAbs(we.startTime),
                // response headers at the worker → at the page (respondWith → page)
                handBack: pageAbs(e.responseStart) - workerAbs(we.responseStart),
                body: e.responseEnd - e.responseStart,
              });
            });
          }
        }
      } finally {
        await worker.evaluate(() => (globalThis as unknown as { __benchFetchUnprobe?: () => void }).__benchFetchUnprobe?.());
      }
      const summarizeKey = (list: Array<Record<string, number>>, key: string) => summarize(list.map((r) => r[key] ?? Number.NaN));
      return {
        worker: Object.fromEntries(['total', 'toWorkerFetch', 'dispatch', 'handler', 'workerNetwork', 'handBack', 'body'].map((k) => [k, summarizeKey(rows.w, k)])),
        direct: Object.fromEntries(['total', 'toHeaders', 'body'].map((k) => [k, summarizeKey(rows.d, k)])),
      };
    });

    // 6. SSE through the worker against direct
    const sse = await phase('SSE: throughput and first event', async () => {
      if (!pageD) throw new Error('no direct side');
      const big = `${cfg.notesUrl}/bench/stream?bytes=${SSE_BYTES}&chunk=${SSE_CHUNK}`;
      const small = `${cfg.notesUrl}/bench/stream?bytes=${4 * 1024}&chunk=1024`;
      const auth = { authorization: direct!.authorization };
      await sseRun(pageW, big, {});
      await sseRun(pageD, big, auth);
      const runs = { w: [] as SseRun[], d: [] as SseRun[], wFirst: [] as SseRun[], dFirst: [] as SseRun[] };
      const pairRatios: number[] = [];
      for (let i = 0; i < SSE_RUNS; i++) {
        for (const side of i % 2 === 0 ? (['w', 'd'] as const) : (['d', 'w'] as const)) runs[side].push(await sseRun(side === 'w' ? pageW : pageD, big, side === 'w' ? {} : auth));
        const [w, d] = [runs.w.at(-1), runs.d.at(-1)];
        if (w && d) pairRatios.push(d.totalMs / w.totalMs); // throughput ratio of this adjacent pair
      }
      for (let i = 0; i < FIRST_EVENT_RUNS; i++) {
        for (const side of i % 2 === 0 ? (['w', 'd'] as const) : (['d', 'w'] as const)) {
          const run = await sseRun(side === 'w' ? pageW : pageD, small, side === 'w' ? {} : auth);
          (side === 'w' ? runs.wFirst : runs.dFirst).push(run);
        }
      }
      const bad = [...runs.w, ...runs.d].filter((r) => r.status !== 200 || r.bytes !== SSE_BYTES);
      if (bad.length > 0) throw new Error(`SSE runs with a wrong status or length: ${JSON.stringify(bad[0])}`);
      const mbps = (r: SseRun) => r.bytes / 1e6 / (r.totalMs / 1000);
      return {
        bytes: SSE_BYTES,
        chunk: SSE_CHUNK,
        pairedThroughputRatio: summarize(pairRatios),
        raw: {
          workerMBps: runs.w.map((r) => round(mbps(r), 1)),
          directMBps: runs.d.map((r) => round(mbps(r), 1)),
          workerFirstEventMs: runs.wFirst.map((r) => round(r.firstEventMs)),
          directFirstEventMs: runs.dFirst.map((r) => round(r.firstEventMs)),
        },
        worker: { throughputMBps: summarize(runs.w.map(mbps)), totalMs: summarize(runs.w.map((r) => r.totalMs)), firstEventBigMs: summarize(runs.w.map((r) => r.firstEventMs)), firstEventMs: summarize(runs.wFirst.map((r) => r.firstEventMs)) },
        direct: { throughputMBps: summarize(runs.d.map(mbps)), totalMs: summarize(runs.d.map((r) => r.totalMs)), firstEventBigMs: summarize(runs.d.map((r) => r.firstEventMs)), firstEventMs: summarize(runs.dFirst.map((r) => r.firstEventMs)) },
      };
    });

    // 7. 403 arriving → UI told (calendar, bench challenges alternating between two operations)
    const challenge = await phase('403 → UI told', async () => {
      const worker = await appWorker(withWorker);
      const plain: ChallengeSample[] = [];
      const ops = ['bench-a', 'bench-b'];
      for (let i = 0; i < STEP_UP_SAMPLES + 2; i++) {
        const n = i % 2 === 0 ? 'a' : 'b';
        const sample = await challengeSample(pageW, worker, 'calendar', `${cfg.calendarUrl}/bench/challenge?n=${n}`, ops[i % 2] as string, false);
        if (i >= 2) plain.push(sample); // the first two add bench:a and bench:b to the ledger: warm-up
      }
      await installWorkerProbe(worker);
      const probed: ChallengeSample[] = [];
      for (let i = 0; i < STEP_UP_PROFILE_SAMPLES; i++) {
        const n = i % 2 === 0 ? 'a' : 'b';
        probed.push(await challengeSample(pageW, worker, 'calendar', `${cfg.calendarUrl}/bench/challenge?n=${n}`, ops[i % 2] as string, true));
      }
      await worker.evaluate(() => (globalThis as unknown as { __benchUnprobe?: () => void }).__benchUnprobe?.());
      return { plain, probed };
    });

    // 8. a burst of 50 concurrent challenges for 50 different scopes, then one Authorize click
    const burstResult = await phase(`burst of ${BURST} challenges`, async () => {
      const before = (await authorizations(cfg.calendarUrl)).length;
      const first = await burst(pageW, cfg.calendarUrl, BURST, 'burst');
      const afterBurst = await ledger(pageW, 'calendar');
      const wanted = Array.from({ length: BURST }, (_, i) => `bench:${i}`);
      const inLedger = wanted.filter((s) => afterBurst?.requested.includes(s)).length;
      await pageW.getByTestId('prompt-calendar').waitFor({ timeout: 10_000 });
      await authorizeInUi(pageW, 'calendar');
      await pageW.getByTestId('status-calendar').filter({ hasNotText: 'Starting' }).waitFor();
      const requests = (await authorizations(cfg.calendarUrl)).slice(before);
      const inRequest = wanted.filter((s) => (requests[0]?.scope ?? '').split(' ').includes(s)).length;
      // the 50 calls again: the authorization server does not know bench:* and granted none of them,
      // so each is refused again; the worker must not start another authorization for them
      const retries: Array<{ statuses: number[]; prompt: boolean }> = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const again = await burst(pageW, cfg.calendarUrl, BURST, `retry${attempt}`);
        const prompt = (await pageW.getByTestId('prompt-calendar').count()) > 0;
        retries.push({ statuses: [...new Set(again.statuses)], prompt });
        if (!prompt) break;
        await authorizeInUi(pageW, 'calendar'); // what a user would do: click Authorize again
      }
      const total = (await authorizations(cfg.calendarUrl)).slice(before);
      return {
        statuses: [...new Set(first.statuses)],
        burstMs: first.ms,
        broadcasts: first.broadcasts,
        scopesInLedger: inLedger,
        scopesInFirstAuthorization: inRequest,
        authorizations: total.length,
        authorizationScopes: total.map((a) => (a.scope ?? '').split(' ').length),
        retries,
      };
    });

    // 9. the first request after the worker was stopped, then the authorizations a restart costs
    const restart = await phase('worker restart', async () => {
      if (!pageD) throw new Error('no direct side');
      const control = await WorkerControl.attach(withWorker, pageW);
      const before = (await authorizations(cfg.notesUrl)).length;
      const noAuth = MCP_HEADERS;
      const cold: number[] = [];
      const warm401: number[] = [];
      const direct401: number[] = [];
      const split: Array<Record<string, number>> = [];
      const statuses = new Set<string>();
      for (let i = 0; i < RESTART_SAMPLES; i++) {
        await control.stop(pageW);
        await clearResourceTimes(pageW);
        const c = await timedRequests(pageW, cfg.notesUrl, noAuth, 1);
        const w = await timedRequests(pageW, cfg.notesUrl, noAuth, 1);
        const d = await timedRequests(pageD, cfg.notesUrl, noAuth, 1);
        cold.push(...c.durations);
        warm401.push(...w.durations);
        direct401.push(...d.durations);
        statuses.add(`cold ${c.statuses[0]}, warm ${w.statuses[0]}, direct ${d.statuses[0]}`);
        // Playwright keeps the same Worker across a stop; evaluate() runs in the restarted global
        const started = await appWorker(withWorker).catch(() => undefined);
        if (started) {
          const p = await resourceTimes(pageW, cfg.notesUrl);
          const wt = await resourceTimes(started, cfg.notesUrl);
          const pe = p.entries[0];
          const we = wt.entries[0];
          if (pe && we) {
            split.push({
              // page fetch() → the restarted worker's global scope exists (process/thread, Playwright's attach)
              toWorkerGlobal: wt.origin - (p.origin + pe.startTime),
              // global created → the worker calls fetch(): script evaluation, ready() reading IndexedDB, the handler
              toWorkerFetch: we.startTime,
              workerNetwork: we.responseStart - we.startTime,
              // 401 headers at the worker → at the page: the challenge goes to the ledger first (IndexedDB)
              handBack: p.origin + pe.responseStart - (wt.origin + we.responseStart),
            });
          }
        }
      }
      // Bearer tokens die with the worker, so a prompt follows; DPoP-bound ones (BENCH_DPOP=1) survive it.
      const prompt = pageW.getByTestId('prompt-notes');
      const prompted = await prompt.waitFor({ timeout: 10_000 }).then(() => true, () => false);
      const promptText = prompted ? ((await prompt.textContent()) ?? '') : '';
      if (prompted) {
        await authorizeInUi(pageW, 'notes');
        await outputLine(pageW, 'notes', 'connect + tools/list');
      }
      await runTool(pageW, 'notes', 'add-note', { text: 'after the restart' });
      const add = await outputLine(pageW, 'notes', 'tools/call add-note');
      const after = (await authorizations(cfg.notesUrl)).slice(before);
      return {
        cold: summarize(cold),
        warm401: summarize(warm401),
        direct401: summarize(direct401),
        coldSplit: Object.fromEntries(['toWorkerGlobal', 'toWorkerFetch', 'workerNetwork', 'handBack'].map((k) => [k, summarize(split.map((r) => r[k] ?? Number.NaN))])),
        raw: { cold: cold.map((v) => round(v)), warm401: warm401.map((v) => round(v)), direct401: direct401.map((v) => round(v)) },
        statuses: [...statuses],
        promptText: promptText.trim(),
        authorizations: after.length,
        authorizationScopes: after.map((a) => a.scope ?? ''),
        callAfterOk: add.ok,
      };
    });

    // --- figures ------------------------------------------------------------------------------
    const retrySamples = [...growth.flatMap((g) => g.samples), ...(calendarConnect ? [calendarConnect] : [])];
    const ow = overhead ? summarize(overhead.worker) : undefined;
    const od = overhead ? summarize(overhead.direct) : undefined;
    const plain = challenge?.plain ?? [];
    const probed = challenge?.probed ?? [];
    const pick = <T>(rows: readonly T[], get: (row: T) => number) => summarize(rows.map(get));
    const figures = {
      overhead:
        ow && od
          ? {
              requestsPerSide: ow.n,
              request: 'POST /mcp JSON-RPC ping, fetch + body read, timed in the page',
              worker: ow,
              direct: od,
              deltaMedianMs: round(ow.median - od.median),
              deltaP95Ms: round(ow.p95 - od.p95),
              // each batch of 25 against the other side's adjacent batch: robust to slow drifts in machine load
              pairedBatchDeltaMs: summarize(overhead!.batchDeltas),
              ratioMedian: round(ow.median / od.median),
              statuses: overhead?.statuses,
              profile: overheadProfile,
              raw: { worker: overhead!.worker.map((v) => round(v)), direct: overhead!.direct.map((v) => round(v)) },
            }
          : undefined,
      restart,
      sse: sse
        ? {
            ...sse,
            throughputRatio: round(sse.worker.throughputMBps.median / sse.direct.throughputMBps.median),
            firstEventDeltaMs: round(sse.worker.firstEventMs.median - sse.direct.firstEventMs.median),
          }
        : undefined,
      challengeToUi: challenge
        ? {
            statuses: [...new Set(plain.map((s) => s.status))],
            workerToToldMs: pick(plain, (s) => s.workerToToldMs),
            workerToHandlerMs: pick(plain, (s) => s.workerToHandlerMs),
            workerToDomMs: pick(plain, (s) => s.workerToDomMs),
            pageResponseToToldMs: pick(plain, (s) => s.pageResponseToToldMs),
            fetchResolvedToToldMs: pick(plain, (s) => s.fetchResolvedToToldMs),
            workerHoldMs: pick(plain, (s) => s.workerHoldMs),
            profile: {
              samples: probed.length,
              workerToToldMs: pick(probed, (s) => s.workerToToldMs),
              parseMs: pick(probed, (s) => s.probe?.parseMs ?? Number.NaN),
              idbMs: pick(probed, (s) => s.probe?.idbMs ?? Number.NaN),
              matchAllMs: pick(probed, (s) => s.probe?.matchAllMs ?? Number.NaN),
              idbDoneToPostMs: pick(probed, (s) => s.probe?.postMs ?? Number.NaN),
              postToToldMs: pick(probed, (s) => s.probe?.deliveryMs ?? Number.NaN),
              idbReadwriteTransactionsPerChallenge: pick(probed, (s) => s.probe?.idbTransactions ?? Number.NaN),
            },
            raw: plain,
          }
        : undefined,
      callbackToRetry: {
        samples: retrySamples.length,
        totalMs: pick(retrySamples, (s) => s.totalMs),
        callbackMs: pick(retrySamples, (s) => s.callbackMs),
        documentMs: pick(retrySamples, (s) => s.documentMs),
        clientStartMs: pick(retrySamples, (s) => s.clientStartMs),
        mcpMs: pick(retrySamples, (s) => s.mcpMs),
        split: Object.fromEntries(
          (['documentFetchMs', 'scriptsMs', 'demoConfigMs', 'registerMs', 'registerCallMs', 'configureMs', 'takeResultMs', 'toFirstMcpMs', 'mcpRequests', 'mcpNetworkMs'] as const).map((k) => [
            k,
            pick(retrySamples, (s) => s.split[k]),
          ]),
        ),
        allOk: retrySamples.every((s) => s.ok),
        raw: retrySamples,
      },
      authorizations: {
        growth: growth.map((g) => ({ round: g.round, authorizations: g.requested.length, requested: g.requested })),
        reload,
        burst: burstResult,
        restart: restart ? { authorizations: restart.authorizations, scopes: restart.authorizationScopes, callAfterOk: restart.callAfterOk } : undefined,
      },
      sizes,
    };

    const rows = buildRows(figures, sizes);
    const machine = {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? '',
      memoryGB: round(os.totalmem() / 2 ** 30, 1),
      platform: `${os.platform()} ${os.release()}`,
      node: process.version,
      chromium: browser.version(),
      playwright: JSON.parse(readFileSync(join(ROOT, 'node_modules', '@playwright', 'test', 'package.json'), 'utf8')).version as string,
      source: source(),
      // other work on the machine shows here; the figures share its noise
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: os.loadavg().map((v) => round(v, 2)),
    };
    const text = [
      table(
        `mcp-sw-auth bench — ${new Date().toISOString()} — ${machine.source} — ${machine.cpus} CPU, node ${machine.node}, Chromium ${machine.chromium}, load average ${machine.loadAverageAtStart[0]} → ${machine.loadAverageAtEnd[0]}`,
        rows,
      ),
      '',
      ...details(figures),
    ].join('\n');
    console.log(text);
    const report = { when: new Date().toISOString(), durationSeconds: round((Date.now() - started) / 1000, 1), machine, targets: TARGETS, rows, figures, errors };
    writeFileSync(join(RESULTS, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(RESULTS, 'bench.txt'), `${text}\n`);
    log(`wrote bench-results/bench.json and bench-results/bench.txt (${report.durationSeconds} s)`);
    if (errors.length > 0) {
      console.log(`\n${errors.length} phase(s) failed:`);
      for (const e of errors) console.log(`  ${e.phase}: ${e.message}`);
    }
    return errors.length > 0 ? 1 : 0;
  } finally {
    await browser?.close().catch(() => undefined);
    stopWorld();
  }
}

type Figures = {
  overhead?: { worker: Summary; direct: Summary; deltaMedianMs: number; ratioMedian: number; profile?: unknown } | undefined;
  restart?: { cold: Summary; warm401: Summary; direct401: Summary; statuses: string[]; coldSplit: Record<string, Summary> } | undefined;
  sse?: { throughputRatio: number; firstEventDeltaMs: number; worker: { throughputMBps: Summary; firstEventMs: Summary }; direct: { throughputMBps: Summary; firstEventMs: Summary } } | undefined;
  challengeToUi?:
    | {
        workerToToldMs: Summary;
        workerToHandlerMs: Summary;
        workerToDomMs: Summary;
        pageResponseToToldMs: Summary;
        fetchResolvedToToldMs: Summary;
        workerHoldMs: Summary;
        profile: Record<string, Summary | number>;
      }
    | undefined;
  callbackToRetry: { samples: number; totalMs: Summary; callbackMs: Summary; documentMs: Summary; clientStartMs: Summary; mcpMs: Summary; split: Record<string, Summary> };
  authorizations: {
    growth: Array<{ round: number; authorizations: number }>;
    reload?: { authorizations: number } | undefined;
    burst?: { authorizations: number; scopesInLedger: number; scopesInFirstAuthorization: number; broadcasts: number } | undefined;
    restart?: { authorizations: number } | undefined;
  };
};

function buildRows(f: Figures, sizes: SizeFigures | undefined): Row[] {
  const rows: Row[] = [];
  const missing = (figure: string, target: string) => rows.push({ figure, measured: 'not measured (error)', target, met: false });
  const o = f.overhead;
  if (o) {
    rows.push({ figure: `Overhead, warm: median Δ (n=${o.worker.n}/side)`, measured: `${ms(o.deltaMedianMs)} (${ms(o.worker.median)} vs ${ms(o.direct.median)})`, target: '≤ 1 ms', met: o.deltaMedianMs <= TARGETS.overheadMedianMs });
    rows.push({ figure: 'Overhead, warm: ratio of medians', measured: `× ${o.ratioMedian.toFixed(3)}`, target: '≤ 1.10', met: o.ratioMedian <= TARGETS.overheadRatio });
    rows.push({ figure: 'Overhead, warm: p95 worker vs direct', measured: `${ms(o.worker.p95)} vs ${ms(o.direct.p95)}`, target: '' });
  } else {
    missing('Overhead, warm: median Δ', '≤ 1 ms');
    missing('Overhead, warm: ratio of medians', '≤ 1.10');
  }
  const r = f.restart;
  if (r) {
    rows.push({ figure: `First request after stopAllWorkers (n=${r.cold.n})`, measured: `${ms(r.cold.median)} (direct ${ms(r.direct401.median)})`, target: '' });
  }
  const s = f.sse;
  if (s) {
    rows.push({ figure: `SSE throughput ratio (${SSE_BYTES / 1e6} MB, n=${s.worker.throughputMBps.n}/side)`, measured: `× ${s.throughputRatio.toFixed(3)} (${s.worker.throughputMBps.median.toFixed(0)} vs ${s.direct.throughputMBps.median.toFixed(0)} MB/s)`, target: '≥ 0.95', met: s.throughputRatio >= TARGETS.sseThroughputRatio });
    rows.push({ figure: `SSE first event: median Δ (n=${s.worker.firstEventMs.n}/side)`, measured: `${ms(s.firstEventDeltaMs)} (${ms(s.worker.firstEventMs.median)} vs ${ms(s.direct.firstEventMs.median)})`, target: '≤ 5 ms', met: s.firstEventDeltaMs <= TARGETS.firstEventDeltaMs });
  } else {
    missing('SSE throughput ratio', '≥ 0.95');
    missing('SSE first event Δ', '≤ 5 ms');
  }
  const c = f.challengeToUi;
  if (c) {
    rows.push({ figure: `403 at worker → page told: median (n=${c.workerToToldMs.n})`, measured: `${ms(c.workerToToldMs.median)} (p95 ${ms(c.workerToToldMs.p95)})`, target: '≤ 20 ms', met: c.workerToToldMs.median <= TARGETS.challengeToUiMs });
    rows.push({ figure: '403 at worker → prompt rendered: median', measured: ms(c.workerToDomMs.median), target: '' });
  } else {
    missing('403 → UI told', '≤ 20 ms');
  }
  const cb = f.callbackToRetry;
  if (cb.samples > 0) {
    rows.push({ figure: `Callback → retried call done: median (n=${cb.samples})`, measured: `${ms(cb.totalMs.median)} (p95 ${ms(cb.totalMs.p95)})`, target: '≤ 150 ms', met: cb.totalMs.median <= TARGETS.callbackToRetryMs });
  } else {
    missing('Callback → retried call done', '≤ 150 ms');
  }
  const a = f.authorizations;
  const firstGrowth = a.growth[0];
  if (firstGrowth) {
    const all = a.growth.map((g) => g.authorizations).join(', ');
    rows.push({ figure: `Authorizations: 4-step growth (${a.growth.length} rounds)`, measured: `${firstGrowth.authorizations}${a.growth.length > 1 ? ` (rounds: ${all})` : ''}`, target: '4', met: a.growth.every((g) => g.authorizations === 4) });
  } else missing('Authorizations: 4-step growth', '4');
  if (a.burst) {
    rows.push({ figure: `Authorizations: burst of ${BURST} challenges`, measured: `${a.burst.authorizations} (ledger ${a.burst.scopesInLedger}/${BURST}, asked ${a.burst.scopesInFirstAuthorization}/${BURST})`, target: '1', met: a.burst.authorizations === 1 });
  } else missing(`Authorizations: burst of ${BURST}`, '1');
  if (a.reload) rows.push({ figure: 'Authorizations: reload', measured: String(a.reload.authorizations), target: '0', met: a.reload.authorizations === 0 });
  else missing('Authorizations: reload', '0');
  if (a.restart) rows.push({ figure: 'Authorizations: worker restart', measured: String(a.restart.authorizations), target: '≤ 1', met: a.restart.authorizations <= 1 });
  else missing('Authorizations: worker restart', '≤ 1');
  if (sizes) {
    rows.push({ figure: 'Worker dist/sw.js, gzip -9', measured: `${sizes.worker.gzip} B (${(sizes.worker.gzip / 1000).toFixed(1)} KB; raw ${sizes.worker.bytes} B)`, target: '≤ 15 KB', met: sizes.worker.gzip <= TARGETS.workerGzipBytes });
    rows.push({ figure: 'Client core (auth-client + worker-channel)', measured: `${sizes.clientCore.gzip} B (${(sizes.clientCore.gzip / 1000).toFixed(1)} KB; min ${sizes.clientCore.bytes} B)`, target: '≤ 6 KB', met: sizes.clientCore.gzip <= TARGETS.clientCoreGzipBytes });
  } else {
    missing('Worker gzip', '≤ 15 KB');
    missing('Client core gzip', '≤ 6 KB');
  }
  return rows;
}

function details(f: Figures): string[] {
  const out: string[] = ['Details (medians; KB = 1000 B; performance.now() is coarsened to 0.1 ms in these pages)'];
  const m = (summary: Summary | undefined) => ms(summary?.median ?? Number.NaN);
  const paired = (f.overhead as { pairedBatchDeltaMs?: Summary } | undefined)?.pairedBatchDeltaMs;
  if (paired) out.push(`  overhead, paired batches of ${BATCH} (worker batch median − adjacent direct batch median, n=${paired.n}): median ${m(paired)}, p95 ${ms(paired.p95)}`);
  const profile = f.overhead?.profile as { worker: Record<string, Summary>; direct: Record<string, Summary> } | undefined;
  if (profile) {
    const w = profile.worker;
    const d = profile.direct;
    out.push(
      `  overhead split (Resource Timing, n=${w.total?.n}/side): with the worker ${m(w.total)} = page fetch() → worker fetch() ${m(w.toWorkerFetch)}` +
        ` [event dispatch ${m(w.dispatch)} + handler ${m(w.handler)}] + worker's request to headers ${m(w.workerNetwork)} + headers worker → page ${m(w.handBack)} + body ${m(w.body)};`,
      `    direct ${m(d.total)} = to headers ${m(d.toHeaders)} + body ${m(d.body)}`,
    );
  }
  const r = f.restart;
  if (r) {
    out.push(
      `  after stopAllWorkers: first request ${m(r.cold)} (p95 ${ms(r.cold.p95)}), the next one ${m(r.warm401)}, direct ${m(r.direct401)}; all 401 (${r.statuses.join('; ')}): the tokens were in the stopped worker's memory`,
      `    first request split: to the new worker's global ${m(r.coldSplit.toWorkerGlobal)} + to its fetch() (script, ready() reading IndexedDB, handler) ${m(r.coldSplit.toWorkerFetch)} + its request ${m(r.coldSplit.workerNetwork)} + 401 to the ledger and back to the page ${m(r.coldSplit.handBack)}`,
    );
  }
  const sse = f.sse as (Figures['sse'] & { pairedThroughputRatio?: Summary }) | undefined;
  if (sse?.pairedThroughputRatio)
    out.push(
      `  SSE: throughput ratio of adjacent worker/direct pairs: median × ${sse.pairedThroughputRatio.median.toFixed(3)} (min ${sse.pairedThroughputRatio.min.toFixed(2)}, max ${sse.pairedThroughputRatio.max.toFixed(2)}); first event p95 ${ms(sse.worker.firstEventMs.p95)} vs ${ms(sse.direct.firstEventMs.p95)}`,
    );
  const c = f.challengeToUi;
  if (c) {
    out.push(
      `  403: message dispatched in the page ${m(c.workerToToldMs)} after the worker had the 403; a later listener ran at ${m(c.workerToHandlerMs)}, the prompt showed the operation at ${m(c.workerToDomMs)};` +
        ` the worker holds the 403 ${m(c.workerHoldMs)} (ledger, broadcast, then respondWith); page response start → told ${m(c.pageResponseToToldMs)}, fetch resolved → told ${m(c.fetchResolvedToToldMs)}`,
    );
    const p = c.profile as Record<string, Summary>;
    out.push(
      `    profile (worker instrumented, n=${p.workerToToldMs?.n}): ${m(p.workerToToldMs)} = challenge parse + ledger prep ${m(p.parseMs)} + IndexedDB readwrite ${m(p.idbMs)}` +
        ` + to postMessage ${m(p.idbDoneToPostMs)} (clients.matchAll ${m(p.matchAllMs)}) + postMessage → page ${m(p.postToToldMs)}; readwrite transactions per challenge: ${p.idbReadwriteTransactionsPerChallenge?.median}`,
    );
  }
  const cb = f.callbackToRetry;
  if (cb.samples > 0) {
    const sp = cb.split;
    out.push(
      `  callback → retried call (n=${cb.samples}, AS pages excluded): worker answers the callback ${m(cb.callbackMs)} + app document ${m(cb.documentMs)} [fetch ${m(sp.documentFetchMs)}, scripts ${m(sp.scriptsMs)}]` +
        ` + client start ${m(cb.clientStartMs)} [demo-config ${m(sp.demoConfigMs)}, register ${m(sp.registerMs)}, configure ${m(sp.configureMs)}, take-result ${m(sp.takeResultMs)}, to first MCP request ${m(sp.toFirstMcpMs)}]` +
        ` + MCP session and the call ${m(cb.mcpMs)} [${sp.mcpRequests?.median} requests, ${m(sp.mcpNetworkMs)} of them on the wire]`,
    );
  }
  const worker = (f as { sizes?: SizeFigures }).sizes?.worker;
  if (worker?.composition.length)
    out.push(`  worker composition (rendered bytes before minification): ${worker.composition.slice(0, 8).map((c) => `${c.part} ${c.share}%`).join(', ')}`);
  const b = f.authorizations.burst;
  if (b) out.push(`  burst: ${b.broadcasts} state broadcasts for ${BURST} challenges; the ledger held ${b.scopesInLedger}/${BURST} scopes; the one authorization asked for ${b.scopesInFirstAuthorization}/${BURST}`);
  return out;
}

process.exitCode = await main();
