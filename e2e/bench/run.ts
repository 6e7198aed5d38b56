// `npm run bench`: the performance benchmark. One run, in Chromium, against the real servers on this
// machine. The worker is measured twice in the same run, against two worlds: one whose authorization
// server issues bearer tokens (MCP_SW_AUTH_DPOP=0) and one with DPoP on, as the demo ships. Both are
// compared with the same direct side (no worker, a bearer token the harness got from Node, the bearer
// world). Prints a table (each figure next to its target) and writes bench-results/bench.json with
// every raw figure. `npm run bench -- --readme` also rewrites the table in README.md. Timings are
// reported, never asserted. See e2e/bench/README.md for what each figure measures.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

import { chromium, type Browser, type BrowserContext, type CDPSession, type Page, type Request, type Worker } from '@playwright/test';

import { demoConfig, type DemoConfig } from '../../servers/config.ts';
import { workerScript } from '../../servers/worker-script.ts';
import { ledger } from '../world.ts';
import { tokenFromNode } from './oauth-node.ts';
import { buildApp, measureSizes, type SizeFigures } from './sizes.ts';
import { markdownTable, med, ms, nOf, num, round, summarize, type Cell, type Row, type Summary } from './stats.ts';

// Playwright inspects a service worker's own network traffic over CDP by default, which only the
// worker side would pay for. The page's requests stay inspected on both sides.
process.env.PLAYWRIGHT_DISABLE_SERVICE_WORKER_NETWORK = '1';

const ROOT = join(import.meta.dirname, '..', '..');
const RESULTS = join(ROOT, 'bench-results');
const OUT_DIR = join(RESULTS, 'dist');
const README = join(ROOT, 'README.md');
const WRITE_README = process.argv.includes('--readme');
/** The bearer world on PORT…PORT+3, the DPoP world on PORT+4…PORT+7. */
const PORT = Number(process.env.MCP_SW_AUTH_BENCH_PORT ?? 4390);

type Binding = 'bearer' | 'dpop';
const BINDINGS: readonly Binding[] = ['bearer', 'dpop'];
const LABEL: Record<Binding, string> = { bearer: 'bearer', dpop: 'DPoP' };
const WORLDS: Record<Binding, DemoConfig> = {
  bearer: { ...demoConfig(PORT), dpop: false },
  dpop: { ...demoConfig(PORT + 4), dpop: true },
};
/** The direct side talks to the bearer world: the same server code, a token without a proof. */
const DIRECT_WORLD = WORLDS.bearer;

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
const GROWTH_STEPS = 4;
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

/** Which code was measured: the commit, and whether the checkout differs from it. */
function source(): { commit: string; changes: string[] } {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const changes = git('status', '--porcelain').split('\n').filter(Boolean);
    return { commit: `${git('rev-parse', '--short', 'HEAD').trim()}${changes.length > 0 ? ' + uncommitted changes' : ''}`, changes };
  } catch {
    return { commit: 'unknown (not a git checkout)', changes: [] };
  }
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

const loadAverage = () => os.loadavg().map((v) => round(v, 2));

// --- the worlds -------------------------------------------------------------------------------

async function startWorld(binding: Binding): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'servers.ts'), OUT_DIR, binding], {
    env: { ...process.env, MCP_SW_AUTH_BENCH_PORT: String(WORLDS[binding].basePort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (process.env.BENCH_VERBOSE) process.stderr.write(chunk);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${binding} world did not start within 60 s\n${stderr}`)), 60_000);
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
      reject(new Error(`the ${binding} world exited (${code}) before it was ready\n${stderr}`));
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

async function authorizations(cfg: DemoConfig, resource: string): Promise<AsAuthorization[]> {
  const response = await fetch(`${cfg.issuer}/__log`);
  const body = (await response.json()) as { authorizations: AsAuthorization[] };
  return body.authorizations.filter((a) => a.resource === resource);
}

// --- the app, driven through its real UI --------------------------------------------------------

/** One worker side: a browser context on one world's app. */
interface Side {
  binding: Binding;
  cfg: DemoConfig;
  context: BrowserContext;
  page: Page;
  /** every request for the app's /oauth/callback, in order */
  callbacks: Request[];
}

async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await page.getByTestId('status-notes').filter({ hasNotText: 'Starting' }).waitFor();
}

/** Clicks Authorize for a server and goes through the authorization server (login, consent) when it shows a page. Returns the pages shown. */
async function authorizeInUi(side: Side, serverId: string): Promise<number> {
  const { page, cfg } = side;
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
    await page.waitForURL((url) => url.origin === cfg.appOrigin && !url.pathname.startsWith('/oauth'), { timeout: 30_000 });
  }
  return pages;
}

/**
 * Clicks something that starts a demo action and returns the run's id: the demo tags each output
 * line with it (data-call), and the output list names the latest run (data-last-call). An action
 * retried after an authorization keeps its id, across the redirect.
 */
async function startCall(page: Page, serverId: string, click: () => Promise<void>): Promise<string> {
  const list = page.getByTestId(`output-${serverId}`);
  const before = await list.getAttribute('data-last-call');
  await click();
  const handle = await page.waitForFunction(
    ({ serverId, before }) => {
      const call = document.querySelector(`[data-testid="output-${serverId}"]`)?.getAttribute('data-last-call');
      return call && call !== before ? call : undefined;
    },
    { serverId, before },
    { timeout: 30_000 },
  );
  return (await handle.jsonValue()) as string;
}

async function runTool(page: Page, serverId: string, tool: string, args: Record<string, string> = {}): Promise<string> {
  await page.getByTestId(`tool-${serverId}-${tool}`).waitFor();
  for (const [name, value] of Object.entries(args)) await page.getByTestId(`input-${serverId}-${tool}-${name}`).fill(value);
  return startCall(page, serverId, () => page.getByTestId(`run-${serverId}-${tool}`).click());
}

interface OutputLine {
  call: string;
  text: string;
  ok: boolean;
}

/**
 * The result line of one run (not its "waiting for an authorization" line). Without a call id: the
 * result of the latest run, which must be `operation`.
 */
async function resultLine(page: Page, serverId: string, operation: string, call?: string): Promise<OutputLine> {
  const handle = await page.waitForFunction(
    ({ serverId, operation, call }) => {
      const list = document.querySelector(`[data-testid="output-${serverId}"]`);
      const id = call ?? list?.getAttribute('data-last-call');
      if (!list || !id) return undefined;
      const line = [...list.querySelectorAll(':scope > li')].filter((li) => li.getAttribute('data-call') === id && !li.classList.contains('auth')).at(-1);
      if (!line || !(line.textContent ?? '').startsWith(operation)) return undefined;
      return { call: id, text: line.textContent ?? '', ok: line.classList.contains('ok') };
    },
    { serverId, operation, call },
    { timeout: 30_000 },
  );
  return (await handle.jsonValue()) as OutputLine;
}

/**
 * Records, in every app page of the context (epoch ms, sub-ms): when each output line appears, when
 * the client's register() resolves, and each request to the worker (posted, answered).
 */
async function installPageProbe(context: BrowserContext, appOrigin: string): Promise<void> {
  await context.addInitScript((appOrigin: string) => {
    if (location.origin !== appOrigin) return;
    const now = () => performance.timeOrigin + performance.now();
    type WorkerRequestMark = { type: string; post: number; reply: number };
    const state = {
      lines: [] as Array<{ at: number; server: string; call: string; text: string; cls: string }>,
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
        state.lines.push({ at: now(), server: list.slice('output-'.length), call: li.getAttribute('data-call') ?? '', text: li.textContent ?? '', cls: li.className });
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
        // the client core wraps each request: { 'mcp-sw-auth': { type, … } }
        const wrapped = message as Record<string, unknown> | null;
        const request = (wrapped && typeof wrapped === 'object' && 'mcp-sw-auth' in wrapped ? wrapped['mcp-sw-auth'] : wrapped) as { type?: unknown } | null;
        last.type = String(request?.type ?? '');
        last.post = now();
        state.requests.push(last);
        last = undefined;
      }
      return post.call(this, message, transfer);
    } as ServiceWorker['postMessage'];
  }, appOrigin);
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
  /** DOMContentLoaded → the page's first MCP request (client start: register, configure, which also hands over the flow's result) */
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
    /** → the client posts `configure` to the worker (register() is called first, but not awaited when the worker already controls the page) */
    toConfigureMs: number;
    /** `configure` posted → the worker's reply (it carries the result of the flow that just ended) */
    configureMs: number;
    /** register() called → resolved (runs alongside; not part of the sum) */
    registerCallMs: number;
    /** reply → the first MCP request starts */
    toFirstMcpMs: number;
    /** MCP requests before the result (initialize, initialized, GET probe, the call…) */
    mcpRequests: number;
    /** the sum of their durations; the rest of mcpMs is page work (SDK, React) */
    mcpNetworkMs: number;
  };
}

const SPLIT_KEYS = ['documentFetchMs', 'scriptsMs', 'demoConfigMs', 'toConfigureMs', 'configureMs', 'toFirstMcpMs', 'registerCallMs', 'mcpRequests', 'mcpNetworkMs'] as const;

/** Authorizes the pending run `call` through the UI and times the callback → its result in the page. */
async function stepUp(side: Side, serverId: string, serverUrl: string, operation: string, call: string): Promise<RetrySample> {
  const { page, callbacks } = side;
  const mark = callbacks.length;
  const asPages = await authorizeInUi(side, serverId);
  const line = await resultLine(page, serverId, operation, call);
  const callback = callbacks[mark];
  if (!callback) throw new Error(`no callback navigation seen for ${serverId} ${operation}`);
  const timing = callback.timing();
  const t0 = timing.startTime;
  const t303 = timing.responseEnd > 0 ? t0 + timing.responseEnd : Number.NaN;
  const p = await page.evaluate(
    ({ serverId, call, serverUrl }) => {
      type State = {
        lines: Array<{ at: number; server: string; call: string; text: string; cls: string }>;
        marks: Array<{ what: string; at: number }>;
        requests: Array<{ type: string; post: number; reply: number }>;
      };
      const state = (window as unknown as { __bench?: State }).__bench;
      const origin = performance.timeOrigin;
      const line = state?.lines.find((l) => l.server === serverId && l.call === call && !/\bauth\b/.test(l.cls));
      const lineAt = line?.at ?? Number.NaN;
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      const mcp = resources.filter((e) => e.name.startsWith(serverUrl));
      const before = mcp.filter((e) => origin + e.responseEnd <= lineAt + 0.5);
      const demoConfig = resources.find((e) => e.name.endsWith('/demo-config.json'));
      const request = (type: string) => state?.requests.find((r) => r.type === type);
      return {
        lineAt,
        documentEnd: nav ? origin + nav.responseEnd : Number.NaN,
        dcl: nav ? origin + nav.domContentLoadedEventEnd : Number.NaN,
        demoConfig: demoConfig ? origin + demoConfig.responseEnd : Number.NaN,
        register: state?.marks.find((m) => m.what === 'register:end')?.at ?? Number.NaN,
        registerStart: state?.marks.find((m) => m.what === 'register:start')?.at ?? Number.NaN,
        configurePost: request('configure')?.post ?? Number.NaN,
        configure: request('configure')?.reply ?? Number.NaN,
        firstMcp: mcp[0] ? origin + mcp[0].startTime : Number.NaN,
        mcpRequests: before.length,
        mcpNetworkMs: before.reduce((sum, e) => sum + (e.responseEnd - e.startTime), 0),
      };
    },
    { serverId, call, serverUrl },
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
      toConfigureMs: round(p.configurePost - p.demoConfig),
      configureMs: round(p.configure - p.configurePost),
      toFirstMcpMs: round(p.firstMcp - p.configure),
      registerCallMs: round(p.register - p.registerStart),
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

async function growthRound(side: Side, round: number): Promise<GrowthRound> {
  const { page, cfg } = side;
  const before = (await authorizations(cfg, cfg.notesUrl)).length;
  if (round > 1) {
    await page.getByTestId('signout-notes').click();
    await page.getByTestId('status-notes').filter({ hasText: 'Not connected' }).waitFor();
  }
  const samples: RetrySample[] = [];
  const url = cfg.notesUrl;
  const connect = await startCall(page, 'notes', () => page.getByTestId('connect-notes').click());
  await page.getByTestId('prompt-notes').filter({ hasText: 'notes:read' }).waitFor();
  samples.push(await stepUp(side, 'notes', url, 'connect + tools/list', connect));

  const add = await runTool(page, 'notes', 'add-note', { text: `bench round ${round}` });
  await page.getByTestId('prompt-notes').filter({ hasText: 'notes:write' }).waitFor();
  samples.push(await stepUp(side, 'notes', url, 'tools/call add-note', add));
  const added = /#(\d+)/.exec((await resultLine(page, 'notes', 'tools/call add-note', add)).text)?.[1] ?? '1';

  const del = await runTool(page, 'notes', 'delete-note', { id: added });
  await page.getByTestId('prompt-notes').filter({ hasText: 'notes:delete' }).waitFor();
  samples.push(await stepUp(side, 'notes', url, 'tools/call delete-note', del));

  const exp = await runTool(page, 'notes', 'export-notes');
  await page.getByTestId('prompt-notes').filter({ hasText: 'notes:export' }).waitFor();
  samples.push(await stepUp(side, 'notes', url, 'tools/call export-notes', exp));

  const requested = (await authorizations(cfg, cfg.notesUrl)).slice(before).map((a) => a.scope ?? '');
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

async function appWorker(side: Side): Promise<Worker> {
  const found = side.context.serviceWorkers().find((w) => w.url().startsWith(side.cfg.appOrigin));
  if (found) return found;
  return side.context.waitForEvent('serviceworker', { predicate: (w) => w.url().startsWith(side.cfg.appOrigin), timeout: 15_000 });
}

/** The six orders of three sides: each side takes each position equally often. */
function rotation<T>(sides: readonly T[], i: number): T[] {
  const k = sides.length;
  if (k < 2) return [...sides];
  const shift = i % k;
  const rotated = [...sides.slice(shift), ...sides.slice(0, shift)];
  return Math.floor(i / k) % 2 === 0 ? rotated : rotated.reverse();
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

  /** Stops every service worker of the context and waits until Chromium reports them stopped (at most 5 s). */
  async stop(page: Page): Promise<void> {
    await this.#cdp.send('ServiceWorker.stopAllWorkers');
    for (let i = 0; i < 250; i++) {
      if ([...this.#status.values()].every((s) => s === 'stopped')) return;
      await page.waitForTimeout(20);
    }
    throw new Error('the service worker did not stop');
  }

  async detach(): Promise<void> {
    await this.#cdp.detach().catch(() => undefined);
  }
}

// --- the figures ------------------------------------------------------------------------------------

interface OverheadFigures {
  request: string;
  /** the requests per side the bench sent */
  expectedPerSide: number;
  worker: Summary;
  direct: Summary;
  deltaMedianMs: number;
  deltaP95Ms: number;
  ratioMedian: number;
  /** each batch of 25 against the direct batch of the same round: robust to slow drifts in machine load */
  pairedBatchDeltaMs: Summary;
  statuses: number[];
  raw: number[];
  rawBatchDeltas: number[];
}

interface RestartFigures {
  /** the cold request's status, most often (401: the tokens were in the stopped worker's memory) */
  coldStatus: number;
  cold: Summary;
  warm: Summary;
  /** the direct request with the same outcome as the cold one: unauthorized (401) or with its bearer token (200) */
  directSame: Summary;
  direct401: Summary;
  direct200: Summary;
  statuses: string[];
  coldSplit: Record<string, Summary>;
  raw: { cold: number[]; warm: number[]; direct401: number[]; direct200: number[] };
  prompted: boolean;
  promptText: string;
  authorizations: number;
  authorizationScopes: string[];
  callAfterOk: boolean;
}

interface SseFigures {
  worker: { throughputMBps: Summary; totalMs: Summary; firstEventBigMs: Summary; firstEventMs: Summary };
  throughputRatio: number;
  firstEventDeltaMs: number;
  pairedThroughputRatio: Summary;
  raw: { throughputMBps: number[]; firstEventMs: number[]; pairedThroughputRatio: number[] };
}

interface ChallengeFigures {
  expected: number;
  statuses: number[];
  workerToToldMs: Summary;
  workerToHandlerMs: Summary;
  workerToDomMs: Summary;
  pageResponseToToldMs: Summary;
  fetchResolvedToToldMs: Summary;
  workerHoldMs: Summary;
  profile: { expected: number; samples: number } & Record<string, Summary | number>;
  raw: ChallengeSample[];
}

interface CallbackFigures {
  expected: number;
  samples: number;
  totalMs: Summary;
  callbackMs: Summary;
  documentMs: Summary;
  clientStartMs: Summary;
  mcpMs: Summary;
  split: Record<(typeof SPLIT_KEYS)[number], Summary>;
  allOk: boolean;
  raw: RetrySample[];
}

interface BurstFigures {
  statuses: number[];
  burstMs: number;
  broadcasts: number;
  scopesInLedger: number;
  scopesInFirstAuthorization: number;
  authorizations: number;
  authorizationScopes: number[];
  retries: Array<{ statuses: number[]; prompt: boolean }>;
}

interface BindingFigures {
  binding: Binding;
  world: { appOrigin: string; issuer: string; notesUrl: string; calendarUrl: string; dpop: boolean };
  overhead?: OverheadFigures;
  overheadProfile?: Record<string, Summary>;
  /** the profile pass, one row per request (ms) */
  overheadProfileRaw?: Array<Record<string, number>>;
  restart?: RestartFigures;
  sse?: SseFigures;
  challengeToUi?: ChallengeFigures;
  callbackToRetry: CallbackFigures;
  authorizations: {
    growth: Array<{ round: number; authorizations: number; requested: string[] }>;
    growthExpectedRounds: number;
    reload?: { authorizations: number; reconnectOk: boolean; callOk: boolean };
    burst?: BurstFigures;
    restart?: { authorizations: number; scopes: string[]; callAfterOk: boolean };
  };
}

interface DirectFigures {
  world: string;
  tokenScope?: string;
  request: string;
  overhead?: { summary: Summary; statuses: number[]; raw: number[] };
  overheadProfile?: Record<string, Summary>;
  overheadProfileRaw?: Array<Record<string, number>>;
  sse?: { throughputMBps: Summary; totalMs: Summary; firstEventBigMs: Summary; firstEventMs: Summary; raw: { throughputMBps: number[]; firstEventMs: number[] } };
}

interface PhaseError {
  phase: string;
  message: string;
}

// --- the run ----------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const startedAt = new Date();
  const started = Date.now();
  const loadAtStart = loadAverage();
  mkdirSync(RESULTS, { recursive: true });
  const errors: PhaseError[] = [];
  const notes: string[] = [];
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
  /** Why a figure is missing: the phase that should have made it failed (or did not run). */
  const why = (name: string) => (errors.some((e) => e.phase === name) ? `phase "${name}" failed` : `phase "${name}" did not run`);

  log('building the app and the worker into bench-results/dist');
  const build = await buildApp(OUT_DIR);
  const sizes = await phase('sizes', () => measureSizes(OUT_DIR, RESULTS, build, workerScript(WORLDS.bearer.trustedServers)));

  log(`starting the worlds: bearer on ${WORLDS.bearer.basePort}–${WORLDS.bearer.basePort + 3}, DPoP on ${WORLDS.dpop.basePort}–${WORLDS.dpop.basePort + 3}`);
  const worlds: ChildProcess[] = [];
  const stopWorlds = () => {
    for (const world of worlds) if (world.exitCode === null && world.signalCode === null) world.kill('SIGTERM');
  };
  process.once('exit', stopWorlds);
  let browser: Browser | undefined;
  try {
    for (const world of await Promise.allSettled(BINDINGS.map((b) => startWorld(b)))) {
      if (world.status === 'fulfilled') worlds.push(world.value);
      else throw world.reason;
    }

    // BENCH_CHROMIUM_ARGS: extra switches, e.g. for logging while profiling (space-separated)
    const extraArgs = (process.env.BENCH_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);
    browser = await chromium.launch({ executablePath: chromiumPath(), args: [...LAUNCH_ARGS, ...extraArgs] });
    const sides = {} as Record<Binding, Side>;
    for (const binding of BINDINGS) {
      const cfg = WORLDS[binding];
      const context = await browser.newContext({ baseURL: cfg.appOrigin, viewport: { width: 1280, height: 900 } });
      await installPageProbe(context, cfg.appOrigin);
      const callbacks: Request[] = [];
      context.on('request', (r) => {
        if (r.url().startsWith(`${cfg.appOrigin}/oauth/callback`)) callbacks.push(r);
      });
      sides[binding] = { binding, cfg, context, page: await context.newPage(), callbacks };
    }

    // 0. the direct side's token, from Node (bearer world); one request to each MCP server of both
    //    worlds with a Node token, so that their first token verification (JWKS fetch, key import)
    //    is not inside a measured figure
    const nodeToken = await phase('tokens from Node; MCP servers warmed', async () => {
      const token = await tokenFromNode(DIRECT_WORLD, DIRECT_WORLD.notesUrl, 'notes:read');
      for (const binding of BINDINGS) {
        const cfg = WORLDS[binding];
        for (const [url, scope] of [
          [cfg.notesUrl, 'notes:read'],
          [cfg.calendarUrl, 'calendar:read'],
        ] as const) {
          try {
            const { accessToken } = await tokenFromNode(cfg, url, scope);
            const response = await fetch(url, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${accessToken}` }, body: PING });
            await response.text();
            if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
          } catch (error) {
            // the DPoP world may refuse a token without a proof: then its first verification falls in the first growth step
            if (binding === 'bearer') throw new Error(`warming ${url}: ${error instanceof Error ? error.message : String(error)}`);
            notes.push(`${LABEL[binding]} world not warmed at ${url} (${error instanceof Error ? error.message : String(error)}): its first token check is inside the first growth step`);
          }
        }
      }
      return token;
    });

    // 1. per binding: k-step growth through the real UI (each step is also a callback → retried
    //    call sample), a reload, and the calendar's connect (one more sample)
    // BENCH_TRACE=categories (e.g. "ServiceWorker,disabled-by-default-ServiceWorker,navigation") records a
    // Chromium trace of the growth rounds into bench-results/trace.json, for profiling
    const traceCategories = process.env.BENCH_TRACE?.split(',').filter(Boolean);
    const growth = { bearer: [] as GrowthRound[], dpop: [] as GrowthRound[] };
    const reload = {} as Record<Binding, { authorizations: number; reconnectOk: boolean; callOk: boolean } | undefined>;
    const calendarConnect = {} as Record<Binding, RetrySample | undefined>;
    for (const binding of BINDINGS) {
      const side = sides[binding];
      await phase(`${LABEL[binding]}: open the app`, () => openApp(side.page));
      if (traceCategories && binding === 'bearer') await browser.startTracing(side.page, { path: join(RESULTS, 'trace.json'), categories: traceCategories });
      for (let round = 1; round <= GROWTH_ROUNDS; round++) {
        const result = await phase(`${LABEL[binding]}: growth round ${round} (notes, ${GROWTH_STEPS} steps)`, () => growthRound(side, round));
        if (result) growth[binding].push(result);
      }
      if (traceCategories && binding === 'bearer') await browser.stopTracing();

      // a reload needs no authorization
      reload[binding] = await phase(`${LABEL[binding]}: reload`, async () => {
        const { page, cfg } = side;
        const before = (await authorizations(cfg, cfg.notesUrl)).length;
        await page.reload();
        await page.getByTestId('status-notes').filter({ hasNotText: 'Starting' }).waitFor();
        const reconnect = await resultLine(page, 'notes', 'connect + tools/list');
        const list = await resultLine(page, 'notes', 'tools/call list-notes', await runTool(page, 'notes', 'list-notes'));
        return { authorizations: (await authorizations(cfg, cfg.notesUrl)).length - before, reconnectOk: reconnect.ok, callOk: list.ok };
      });

      // the calendar: connect (one more callback sample), then it hosts the 403 and burst runs
      calendarConnect[binding] = await phase(`${LABEL[binding]}: calendar connect`, async () => {
        const call = await startCall(side.page, 'calendar', () => side.page.getByTestId('connect-calendar').click());
        await side.page.getByTestId('prompt-calendar').waitFor();
        return stepUp(side, 'calendar', side.cfg.calendarUrl, 'connect + tools/list', call);
      });
    }

    // 2. the direct side: a context where no worker ever runs, with a token the harness got itself
    const direct = await phase('direct side: a page without a worker', async () => {
      const token = nodeToken ?? (await tokenFromNode(DIRECT_WORLD, DIRECT_WORLD.notesUrl, 'notes:read'));
      const context = await browser!.newContext({ serviceWorkers: 'block' });
      const page = await context.newPage();
      await page.goto(`${DIRECT_WORLD.appOrigin}/favicon.svg`);
      return { page, authorization: `Bearer ${token.accessToken}`, scope: token.scope };
    });
    const pageD = direct?.page;
    const directHeaders = { ...MCP_HEADERS, authorization: direct?.authorization ?? '' };

    type SideKey = Binding | 'direct';
    const target = (key: SideKey) =>
      key === 'direct'
        ? { page: pageD!, url: DIRECT_WORLD.notesUrl, headers: directHeaders, auth: { authorization: direct!.authorization } as Record<string, string> }
        : { page: sides[key].page, url: sides[key].cfg.notesUrl, headers: MCP_HEADERS, auth: {} as Record<string, string> };

    // 3. warm overhead: the same ping from the three sides, in batches whose order rotates
    const OVERHEAD = `overhead: ${REQUESTS} authorized requests per side (bearer, DPoP, direct)`;
    const overhead = await phase(OVERHEAD, async () => {
      if (!pageD) throw new Error('no direct side');
      const keys: SideKey[] = ['bearer', 'direct', 'dpop'];
      const durations: Record<SideKey, number[]> = { bearer: [], dpop: [], direct: [] };
      const statuses: Record<SideKey, Set<number>> = { bearer: new Set(), dpop: new Set(), direct: new Set() };
      const batchDeltas: Record<Binding, number[]> = { bearer: [], dpop: [] };
      for (const key of keys) {
        const t = target(key);
        const warm = await timedRequests(t.page, t.url, t.headers, WARMUP);
        if (warm.statuses.some((s) => s !== 200)) throw new Error(`warm-up statuses on the ${key} side: ${[...new Set(warm.statuses)].join(', ')}`);
      }
      const batches = Math.ceil(REQUESTS / BATCH);
      for (let b = 0; b < batches; b++) {
        const medians: Partial<Record<SideKey, number>> = {};
        for (const key of rotation(keys, b)) {
          const t = target(key);
          const r = await timedRequests(t.page, t.url, t.headers, BATCH);
          durations[key].push(...r.durations);
          medians[key] = summarize(r.durations).median;
          for (const s of r.statuses) statuses[key].add(s);
        }
        for (const binding of BINDINGS) batchDeltas[binding].push((medians[binding] ?? Number.NaN) - (medians.direct ?? Number.NaN));
      }
      return { expectedPerSide: batches * BATCH, durations, statuses, batchDeltas };
    });

    // 3b. where the worker's time goes, from Resource Timing in the page and in the worker, plus
    //     wrappers around FetchEvent.respondWith (to read FetchEvent.timeStamp: when the event was
    //     created in the worker) and around the worker's fetch()
    const PROFILE = 'overhead profile (Resource Timing, page + worker)';
    const overheadProfile = await phase(PROFILE, async () => {
      if (!pageD) throw new Error('no direct side');
      const workers = {} as Record<Binding, Worker>;
      for (const binding of BINDINGS) {
        const worker = await appWorker(sides[binding]);
        workers[binding] = worker;
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
        }, sides[binding].cfg.notesUrl);
      }
      const rows: Record<SideKey, Array<Record<string, number>>> = { bearer: [], dpop: [], direct: [] };
      try {
        for (let pass = 0; pass < 2; pass++) {
          for (const key of rotation<SideKey>(['bearer', 'direct', 'dpop'], pass * 3)) {
            const t = target(key);
            await clearResourceTimes(t.page);
            if (key === 'direct') {
              await timedRequests(t.page, t.url, t.headers, PROFILE_REQUESTS / 2);
              const p = await resourceTimes(t.page, t.url);
              for (const e of p.entries) rows.direct.push({ total: e.responseEnd - e.startTime, toHeaders: e.responseStart - e.startTime, body: e.responseEnd - e.responseStart });
              continue;
            }
            const worker = workers[key];
            await clearResourceTimes(worker);
            await worker.evaluate(() => {
              const marks = (globalThis as unknown as { __benchFetchMarks: { events: number[]; calls: number[] } }).__benchFetchMarks;
              marks.events.length = 0;
              marks.calls.length = 0;
            });
            await timedRequests(t.page, t.url, t.headers, PROFILE_REQUESTS / 2);
            const p = await resourceTimes(t.page, t.url);
            const w = await resourceTimes(worker, t.url);
            const marks = await worker.evaluate(() => (globalThis as unknown as { __benchFetchMarks: { events: number[]; calls: number[] } }).__benchFetchMarks);
            const pageAbs = (x: number) => p.origin + x;
            const workerAbs = (x: number) => w.origin + x;
            // pair by time: what the worker did between the page's fetch() and its response end
            // (with DPoP, a refreshed nonce would add a second worker request to one page request)
            for (const e of p.entries) {
              const within = (x: number) => x >= pageAbs(e.startTime) - 0.2 && x <= pageAbs(e.responseEnd) + 0.2;
              const mine = w.entries.filter((we) => within(workerAbs(we.startTime)));
              const first = mine[0];
              const last = mine.at(-1);
              const event = marks.events.find((t) => within(workerAbs(t)));
              const call = event === undefined ? undefined : marks.calls.find((t) => t >= event && within(workerAbs(t)));
              rows[key].push({
                total: e.responseEnd - e.startTime,
                // page fetch() → the worker calls fetch(): fetch event dispatch + handler work before the network
                toWorkerFetch: first ? workerAbs(first.startTime) - pageAbs(e.startTime) : Number.NaN,
                // … of which: page fetch() → FetchEvent created in the worker
                dispatch: event === undefined ? Number.NaN : workerAbs(event) - pageAbs(e.startTime),
                // … and FetchEvent created → the handler calls fetch() (body read, headers, a DPoP proof, new Request)
                handler: event === undefined || call === undefined ? Number.NaN : call - event,
                // the worker's own network request, to response headers (the direct side's equivalent: toHeaders)
                workerNetwork: first ? first.responseStart - first.startTime : Number.NaN,
                // response headers at the worker → at the page (respondWith → page)
                handBack: last ? pageAbs(e.responseStart) - workerAbs(last.responseStart) : Number.NaN,
                workerRequests: mine.length,
                body: e.responseEnd - e.responseStart,
              });
            }
          }
        }
      } finally {
        for (const worker of Object.values(workers)) await worker.evaluate(() => (globalThis as unknown as { __benchFetchUnprobe?: () => void }).__benchFetchUnprobe?.()).catch(() => undefined);
      }
      const summarizeKey = (list: Array<Record<string, number>>, key: string) => summarize(list.map((r) => r[key] ?? Number.NaN), PROFILE_REQUESTS);
      const workerKeys = ['total', 'toWorkerFetch', 'dispatch', 'handler', 'workerNetwork', 'handBack', 'workerRequests', 'body'];
      const rawOf = (list: Array<Record<string, number>>) => list.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)])));
      return {
        bearer: Object.fromEntries(workerKeys.map((k) => [k, summarizeKey(rows.bearer, k)])),
        dpop: Object.fromEntries(workerKeys.map((k) => [k, summarizeKey(rows.dpop, k)])),
        direct: Object.fromEntries(['total', 'toHeaders', 'body'].map((k) => [k, summarizeKey(rows.direct, k)])),
        raw: { bearer: rawOf(rows.bearer), dpop: rawOf(rows.dpop), direct: rawOf(rows.direct) },
      };
    });

    // 4. SSE: the three sides, rotating
    const SSE = 'SSE: throughput and first event';
    const sse = await phase(SSE, async () => {
      if (!pageD) throw new Error('no direct side');
      const keys: SideKey[] = ['bearer', 'direct', 'dpop'];
      const big = (key: SideKey) => `${target(key).url}/bench/stream?bytes=${SSE_BYTES}&chunk=${SSE_CHUNK}`;
      const small = (key: SideKey) => `${target(key).url}/bench/stream?bytes=${4 * 1024}&chunk=1024`;
      for (const key of keys) await sseRun(target(key).page, big(key), target(key).auth);
      const runs: Record<SideKey, SseRun[]> = { bearer: [], dpop: [], direct: [] };
      const firsts: Record<SideKey, SseRun[]> = { bearer: [], dpop: [], direct: [] };
      const pairRatios: Record<Binding, number[]> = { bearer: [], dpop: [] };
      for (let i = 0; i < SSE_RUNS; i++) {
        const these: Partial<Record<SideKey, SseRun>> = {};
        for (const key of rotation(keys, i)) {
          const run = await sseRun(target(key).page, big(key), target(key).auth);
          these[key] = run;
          runs[key].push(run);
        }
        // throughput ratio of this round's pair: direct time / worker time
        for (const binding of BINDINGS) pairRatios[binding].push(these.direct!.totalMs / these[binding]!.totalMs);
      }
      for (let i = 0; i < FIRST_EVENT_RUNS; i++) {
        for (const key of rotation(keys, i)) firsts[key].push(await sseRun(target(key).page, small(key), target(key).auth));
      }
      const bad = keys.flatMap((k) => runs[k].map((r) => ({ side: k, ...r }))).filter((r) => r.status !== 200 || r.bytes !== SSE_BYTES);
      if (bad.length > 0) throw new Error(`SSE runs with a wrong status or length: ${JSON.stringify(bad[0])}`);
      const mbps = (r: SseRun) => r.bytes / 1e6 / (r.totalMs / 1000);
      const of = (key: SideKey) => ({
        throughputMBps: summarize(runs[key].map(mbps), SSE_RUNS),
        totalMs: summarize(runs[key].map((r) => r.totalMs), SSE_RUNS),
        firstEventBigMs: summarize(runs[key].map((r) => r.firstEventMs), SSE_RUNS),
        firstEventMs: summarize(firsts[key].map((r) => r.firstEventMs), FIRST_EVENT_RUNS),
        raw: { throughputMBps: runs[key].map((r) => round(mbps(r), 1)), firstEventMs: firsts[key].map((r) => round(r.firstEventMs)) },
      });
      return { direct: of('direct'), bearer: of('bearer'), dpop: of('dpop'), pairRatios };
    });

    // 5–6. per binding: 403 arriving → UI told (calendar, bench challenges alternating between two
    //      operations), then a burst of 50 concurrent challenges and one Authorize click
    const challenge = {} as Record<Binding, { plain: ChallengeSample[]; probed: ChallengeSample[] } | undefined>;
    const burstResult = {} as Record<Binding, BurstFigures | undefined>;
    const CHALLENGE = (b: Binding) => `${LABEL[b]}: 403 → UI told`;
    const BURST_PHASE = (b: Binding) => `${LABEL[b]}: burst of ${BURST} challenges`;
    for (const binding of BINDINGS) {
      const side = sides[binding];
      const { page, cfg } = side;
      challenge[binding] = await phase(CHALLENGE(binding), async () => {
        const worker = await appWorker(side);
        const plain: ChallengeSample[] = [];
        const ops = ['bench-a', 'bench-b'];
        for (let i = 0; i < STEP_UP_SAMPLES + 2; i++) {
          const n = i % 2 === 0 ? 'a' : 'b';
          const sample = await challengeSample(page, worker, 'calendar', `${cfg.calendarUrl}/bench/challenge?n=${n}`, ops[i % 2] as string, false);
          if (i >= 2) plain.push(sample); // the first two add bench:a and bench:b to the ledger: warm-up
        }
        await installWorkerProbe(worker);
        const probed: ChallengeSample[] = [];
        for (let i = 0; i < STEP_UP_PROFILE_SAMPLES; i++) {
          const n = i % 2 === 0 ? 'a' : 'b';
          probed.push(await challengeSample(page, worker, 'calendar', `${cfg.calendarUrl}/bench/challenge?n=${n}`, ops[i % 2] as string, true));
        }
        await worker.evaluate(() => (globalThis as unknown as { __benchUnprobe?: () => void }).__benchUnprobe?.());
        return { plain, probed };
      });

      burstResult[binding] = await phase(BURST_PHASE(binding), async () => {
        const before = (await authorizations(cfg, cfg.calendarUrl)).length;
        const first = await burst(page, cfg.calendarUrl, BURST, 'burst');
        const afterBurst = await ledger(page, 'calendar');
        const wanted = Array.from({ length: BURST }, (_, i) => `bench:${i}`);
        const inLedger = wanted.filter((s) => afterBurst?.requested.includes(s)).length;
        await page.getByTestId('prompt-calendar').waitFor({ timeout: 10_000 });
        await authorizeInUi(side, 'calendar');
        await page.getByTestId('status-calendar').filter({ hasNotText: 'Starting' }).waitFor();
        const requests = (await authorizations(cfg, cfg.calendarUrl)).slice(before);
        const inRequest = wanted.filter((s) => (requests[0]?.scope ?? '').split(' ').includes(s)).length;
        // the 50 calls again: the authorization server does not know bench:* and granted none of them,
        // so each is refused again; the worker must not start another authorization for them
        const retries: Array<{ statuses: number[]; prompt: boolean }> = [];
        for (let attempt = 0; attempt < 3; attempt++) {
          const again = await burst(page, cfg.calendarUrl, BURST, `retry${attempt}`);
          const prompt = (await page.getByTestId('prompt-calendar').count()) > 0;
          retries.push({ statuses: [...new Set(again.statuses)], prompt });
          if (!prompt) break;
          await authorizeInUi(side, 'calendar'); // what a user would do: click Authorize again
        }
        const total = (await authorizations(cfg, cfg.calendarUrl)).slice(before);
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
    }

    // 7. per binding, last (stopping the worker ends what it held in memory): the first request after
    //    the worker was stopped, then the authorizations a restart costs
    const RESTART = (b: Binding) => `${LABEL[b]}: worker restart`;
    const restart = {} as Record<Binding, RestartFigures | undefined>;
    for (const binding of BINDINGS) {
      const side = sides[binding];
      const { page, cfg, context } = side;
      restart[binding] = await phase(RESTART(binding), async () => {
        if (!pageD) throw new Error('no direct side');
        const control = await WorkerControl.attach(context, page);
        const before = (await authorizations(cfg, cfg.notesUrl)).length;
        const cold: number[] = [];
        const warm: number[] = [];
        const direct401: number[] = [];
        const direct200: number[] = [];
        const coldStatuses: number[] = [];
        const split: Array<Record<string, number>> = [];
        const statuses = new Set<string>();
        try {
          for (let i = 0; i < RESTART_SAMPLES; i++) {
            await control.stop(page);
            await clearResourceTimes(page);
            const c = await timedRequests(page, cfg.notesUrl, MCP_HEADERS, 1);
            const w = await timedRequests(page, cfg.notesUrl, MCP_HEADERS, 1);
            const d401 = await timedRequests(pageD, DIRECT_WORLD.notesUrl, MCP_HEADERS, 1);
            const d200 = await timedRequests(pageD, DIRECT_WORLD.notesUrl, directHeaders, 1);
            cold.push(...c.durations);
            warm.push(...w.durations);
            direct401.push(...d401.durations);
            direct200.push(...d200.durations);
            coldStatuses.push(c.statuses[0] ?? 0);
            statuses.add(`cold ${c.statuses[0]}, next ${w.statuses[0]}, direct ${d401.statuses[0]} without a token, ${d200.statuses[0]} with it`);
            // Playwright keeps the same Worker across a stop; evaluate() runs in the restarted global
            const started = await appWorker(side).catch(() => undefined);
            if (started) {
              const p = await resourceTimes(page, cfg.notesUrl);
              const wt = await resourceTimes(started, cfg.notesUrl);
              const pe = p.entries[0];
              // the cold request's own worker entries (the next request went through the same worker;
              // with DPoP a nonce refresh adds a worker request)
              const mine = pe ? wt.entries.filter((e) => wt.origin + e.startTime <= p.origin + pe.responseEnd) : [];
              const we = mine[0];
              const last = mine.at(-1);
              split.push({
                // page fetch() → the restarted worker's global scope exists (process/thread, Playwright's attach)
                toWorkerGlobal: pe ? wt.origin - (p.origin + pe.startTime) : Number.NaN,
                // global created → the worker calls fetch(): script evaluation, reading IndexedDB, the handler
                toWorkerFetch: we ? we.startTime : Number.NaN,
                workerNetwork: we ? we.responseStart - we.startTime : Number.NaN,
                // the worker's last response headers → the page's: what the worker did with the answer (ledger, retry…)
                handBack: pe && last ? p.origin + pe.responseStart - (wt.origin + last.responseStart) : Number.NaN,
                workerRequests: mine.length,
              });
            }
          }
        } finally {
          await control.detach();
        }
        const coldStatus = mode(coldStatuses);
        // Bearer tokens live in the worker's memory, so a prompt follows the 401; DPoP-bound ones are kept in IndexedDB.
        const prompt = page.getByTestId('prompt-notes');
        const prompted = coldStatuses.some((s) => s === 401)
          ? await prompt.waitFor({ timeout: 10_000 }).then(
              () => true,
              () => false,
            )
          : (await prompt.count()) > 0;
        const promptText = prompted ? ((await prompt.textContent()) ?? '') : '';
        if (prompted) {
          await authorizeInUi(side, 'notes');
          await resultLine(page, 'notes', 'connect + tools/list');
        }
        const add = await resultLine(page, 'notes', 'tools/call add-note', await runTool(page, 'notes', 'add-note', { text: 'after the restart' }));
        const after = (await authorizations(cfg, cfg.notesUrl)).slice(before);
        const direct401Summary = summarize(direct401, RESTART_SAMPLES);
        const direct200Summary = summarize(direct200, RESTART_SAMPLES);
        return {
          coldStatus,
          cold: summarize(cold, RESTART_SAMPLES),
          warm: summarize(warm, RESTART_SAMPLES),
          directSame: coldStatus === 200 ? direct200Summary : direct401Summary,
          direct401: direct401Summary,
          direct200: direct200Summary,
          coldSplit: Object.fromEntries(['toWorkerGlobal', 'toWorkerFetch', 'workerNetwork', 'handBack', 'workerRequests'].map((k) => [k, summarize(split.map((r) => r[k] ?? Number.NaN), RESTART_SAMPLES)])),
          raw: { cold: cold.map((v) => round(v)), warm: warm.map((v) => round(v)), direct401: direct401.map((v) => round(v)), direct200: direct200.map((v) => round(v)) },
          statuses: [...statuses],
          prompted,
          promptText: promptText.trim(),
          authorizations: after.length,
          authorizationScopes: after.map((a) => a.scope ?? ''),
          callAfterOk: add.ok,
        };
      });
    }

    // --- figures ------------------------------------------------------------------------------
    const pick = <T>(rows: readonly T[], get: (row: T) => number, expected = rows.length) => summarize(rows.map(get), expected);
    const directFigures: DirectFigures = {
      world: `bearer world (${DIRECT_WORLD.appOrigin}), no service worker`,
      tokenScope: direct?.scope,
      request: 'POST /mcp JSON-RPC ping with Authorization: Bearer <token from Node>, fetch + body read, timed in the page',
      overhead: overhead
        ? { summary: summarize(overhead.durations.direct, overhead.expectedPerSide), statuses: [...overhead.statuses.direct], raw: overhead.durations.direct.map((v) => round(v)) }
        : undefined,
      overheadProfile: overheadProfile?.direct,
      overheadProfileRaw: overheadProfile?.raw.direct,
      sse: sse?.direct,
    };
    const bindingFigures = (binding: Binding): BindingFigures => {
      const cfg = WORLDS[binding];
      const samples = [...growth[binding].flatMap((g) => g.samples), ...(calendarConnect[binding] ? [calendarConnect[binding]] : [])];
      const expectedSamples = GROWTH_ROUNDS * GROWTH_STEPS + 1;
      const o = overhead;
      const worker = o ? summarize(o.durations[binding], o.expectedPerSide) : undefined;
      const directSummary = directFigures.overhead?.summary;
      const c = challenge[binding];
      const plain = c?.plain ?? [];
      const probed = c?.probed ?? [];
      const s = sse?.[binding];
      const r = restart[binding];
      return {
        binding,
        world: { appOrigin: cfg.appOrigin, issuer: cfg.issuer, notesUrl: cfg.notesUrl, calendarUrl: cfg.calendarUrl, dpop: cfg.dpop },
        overhead:
          o && worker && directSummary
            ? {
                request: `POST /mcp JSON-RPC ping without an Authorization header (the worker adds ${binding === 'dpop' ? 'DPoP <token> and a DPoP proof' : 'Bearer <token>'}), fetch + body read, timed in the page`,
                expectedPerSide: o.expectedPerSide,
                worker,
                direct: directSummary,
                deltaMedianMs: round(worker.median - directSummary.median),
                deltaP95Ms: round(worker.p95 - directSummary.p95),
                pairedBatchDeltaMs: summarize(o.batchDeltas[binding]),
                ratioMedian: round(worker.median / directSummary.median),
                statuses: [...o.statuses[binding]],
                raw: o.durations[binding].map((v) => round(v)),
                rawBatchDeltas: o.batchDeltas[binding].map((v) => round(v)),
              }
            : undefined,
        overheadProfile: overheadProfile?.[binding],
        overheadProfileRaw: overheadProfile?.raw[binding],
        restart: r,
        sse:
          s && sse
            ? {
                worker: { throughputMBps: s.throughputMBps, totalMs: s.totalMs, firstEventBigMs: s.firstEventBigMs, firstEventMs: s.firstEventMs },
                throughputRatio: round(s.throughputMBps.median / sse.direct.throughputMBps.median),
                firstEventDeltaMs: round(s.firstEventMs.median - sse.direct.firstEventMs.median),
                pairedThroughputRatio: summarize(sse.pairRatios[binding], SSE_RUNS),
                raw: { ...s.raw, pairedThroughputRatio: sse.pairRatios[binding].map((v) => round(v)) },
              }
            : undefined,
        challengeToUi: c
          ? {
              expected: STEP_UP_SAMPLES,
              statuses: [...new Set(plain.map((x) => x.status))],
              workerToToldMs: pick(plain, (x) => x.workerToToldMs, STEP_UP_SAMPLES),
              workerToHandlerMs: pick(plain, (x) => x.workerToHandlerMs, STEP_UP_SAMPLES),
              workerToDomMs: pick(plain, (x) => x.workerToDomMs, STEP_UP_SAMPLES),
              pageResponseToToldMs: pick(plain, (x) => x.pageResponseToToldMs, STEP_UP_SAMPLES),
              fetchResolvedToToldMs: pick(plain, (x) => x.fetchResolvedToToldMs, STEP_UP_SAMPLES),
              workerHoldMs: pick(plain, (x) => x.workerHoldMs, STEP_UP_SAMPLES),
              profile: {
                expected: STEP_UP_PROFILE_SAMPLES,
                samples: probed.filter((x) => x.probe).length,
                workerToToldMs: pick(probed, (x) => x.workerToToldMs, STEP_UP_PROFILE_SAMPLES),
                parseMs: pick(probed, (x) => x.probe?.parseMs ?? Number.NaN, STEP_UP_PROFILE_SAMPLES),
                idbMs: pick(probed, (x) => x.probe?.idbMs ?? Number.NaN, STEP_UP_PROFILE_SAMPLES),
                matchAllMs: pick(probed, (x) => x.probe?.matchAllMs ?? Number.NaN, STEP_UP_PROFILE_SAMPLES),
                idbDoneToPostMs: pick(probed, (x) => x.probe?.postMs ?? Number.NaN, STEP_UP_PROFILE_SAMPLES),
                postToToldMs: pick(probed, (x) => x.probe?.deliveryMs ?? Number.NaN, STEP_UP_PROFILE_SAMPLES),
                idbReadwriteTransactionsPerChallenge: pick(probed, (x) => x.probe?.idbTransactions ?? Number.NaN, STEP_UP_PROFILE_SAMPLES),
              },
              raw: plain,
            }
          : undefined,
        callbackToRetry: {
          expected: expectedSamples,
          samples: samples.length,
          totalMs: pick(samples, (x) => x.totalMs, expectedSamples),
          callbackMs: pick(samples, (x) => x.callbackMs, expectedSamples),
          documentMs: pick(samples, (x) => x.documentMs, expectedSamples),
          clientStartMs: pick(samples, (x) => x.clientStartMs, expectedSamples),
          mcpMs: pick(samples, (x) => x.mcpMs, expectedSamples),
          split: Object.fromEntries(SPLIT_KEYS.map((k) => [k, pick(samples, (x) => x.split[k], expectedSamples)])) as CallbackFigures['split'],
          allOk: samples.every((x) => x.ok),
          raw: samples,
        },
        authorizations: {
          growth: growth[binding].map((g) => ({ round: g.round, authorizations: g.requested.length, requested: g.requested })),
          growthExpectedRounds: GROWTH_ROUNDS,
          reload: reload[binding],
          burst: burstResult[binding],
          restart: r ? { authorizations: r.authorizations, scopes: r.authorizationScopes, callAfterOk: r.callAfterOk } : undefined,
        },
      };
    };
    const figures = { direct: directFigures, bearer: bindingFigures('bearer'), dpop: bindingFigures('dpop'), sizes };

    const phases = {
      overhead: OVERHEAD,
      profile: PROFILE,
      sse: SSE,
      challenge: CHALLENGE,
      burst: BURST_PHASE,
      restart: RESTART,
      growth: (b: Binding) => `${LABEL[b]}: growth round 1 (notes, ${GROWTH_STEPS} steps)`,
      reload: (b: Binding) => `${LABEL[b]}: reload`,
      sizes: 'sizes',
    };
    const rows = buildRows(figures, why, phases);
    const detailLines = details(figures);
    const src = source();
    const cpus = os.cpus();
    const machine = {
      cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
      cpus: cpus.length,
      memoryGB: round(os.totalmem() / 1e9, 1),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      node: process.version,
      chromium: browser.version(),
      playwright: JSON.parse(readFileSync(join(ROOT, 'node_modules', '@playwright', 'test', 'package.json'), 'utf8')).version as string,
      commit: src.commit,
      uncommittedChanges: src.changes,
      // other work on the machine shows here; the figures share its noise
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadAverage(),
    };
    const durationSeconds = round((Date.now() - started) / 1000, 1);
    const header = headerLine(startedAt, machine, durationSeconds);
    const table = markdownTable(rows);
    const text = [header, '', table, '', 'Where the time goes (medians of the same run; KB = 1000 B):', '', ...detailLines.map((l) => `- ${l}`)].join('\n');
    // every missing figure must read "not measured (why)"
    if (/\bNaN\b|\bInfinity\b/.test(text)) errors.push({ phase: 'report', message: 'the report printed NaN or Infinity: a figure bypassed ms()/med()/num()' });
    console.log(text);
    if (notes.length > 0) console.log(`\nNotes:\n${notes.map((n) => `  ${n}`).join('\n')}`);
    const report = {
      when: startedAt.toISOString(),
      durationSeconds,
      machine,
      settings: { requestsPerSide: REQUESTS, batch: BATCH, warmup: WARMUP, profileRequests: PROFILE_REQUESTS, sseBytes: SSE_BYTES, sseChunk: SSE_CHUNK, sseRuns: SSE_RUNS, firstEventRuns: FIRST_EVENT_RUNS, challengeSamples: STEP_UP_SAMPLES, challengeProfileSamples: STEP_UP_PROFILE_SAMPLES, growthRounds: GROWTH_ROUNDS, burst: BURST, restartSamples: RESTART_SAMPLES },
      targets: TARGETS,
      worlds: Object.fromEntries(BINDINGS.map((b) => [b, { appOrigin: WORLDS[b].appOrigin, issuer: WORLDS[b].issuer, dpop: WORLDS[b].dpop }])),
      rows,
      details: detailLines,
      figures,
      notes,
      errors,
    };
    writeFileSync(join(RESULTS, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(RESULTS, 'bench.txt'), `${text}\n`);
    log(`wrote bench-results/bench.json and bench-results/bench.txt (${durationSeconds} s)`);
    if (errors.length > 0) {
      console.log(`\n${errors.length} phase(s) failed:`);
      for (const e of errors) console.log(`  ${e.phase}: ${e.message}`);
      if (WRITE_README) console.log('README.md was left as it was: it shows complete runs only.');
      return 1;
    }
    if (WRITE_README) {
      if (updateReadme(header, table, detailLines)) log('rewrote the performance table in README.md');
      else {
        console.log('README.md has no <!-- bench-table:start --> / <!-- bench-table:end --> markers: not rewritten.');
        return 1;
      }
    }
    return 0;
  } finally {
    await browser?.close().catch(() => undefined);
    stopWorlds();
  }
}

function mode(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
}

function headerLine(startedAt: Date, m: { cpuModel: string; cpus: number; memoryGB: number; platform: string; node: string; chromium: string; commit: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[] }, seconds: number): string {
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' / ');
  return [
    `One run of \`${WRITE_README ? 'npm run bench -- --readme' : 'npm run bench'}\`, ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${seconds.toFixed(0)} s:`,
    '',
    `- commit: ${m.commit}`,
    `- machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGB} GB memory, ${m.platform}`,
    `- Chromium ${m.chromium}, Node ${m.node}`,
    `- load average (1 / 5 / 15 min): ${load(m.loadAverageAtStart)} at the start, ${load(m.loadAverageAtEnd)} at the end`,
    '',
    'Medians (p95 where given) of this run only. n = samples summarized; "missing" = samples that never arrived. ' +
      '"Direct" is the same request without a worker, with a bearer token the harness got from Node, sent to the bearer world: ' +
      'the DPoP column is compared with that same direct baseline.',
  ].join('\n');
}

type Phases = {
  overhead: string;
  profile: string;
  sse: string;
  challenge: (b: Binding) => string;
  burst: (b: Binding) => string;
  restart: (b: Binding) => string;
  growth: (b: Binding) => string;
  reload: (b: Binding) => string;
  sizes: string;
};

function buildRows(f: { direct: DirectFigures; bearer: BindingFigures; dpop: BindingFigures; sizes: SizeFigures | undefined }, why: (phase: string) => string, phases: Phases): Row[] {
  const rows: Row[] = [];
  const none = (reason: string): Cell => ({ text: `not measured (${reason})` });
  const perBinding = (figure: string, target: string, cell: (b: BindingFigures) => Cell) => rows.push({ figure, target, bearer: cell(f.bearer), dpop: cell(f.dpop) });
  const vs = (b: BindingFigures) => (b.binding === 'dpop' ? 'direct bearer' : 'direct');
  const directN = (s: Summary) => `direct ${nOf(s)}`;

  perBinding('Warm overhead: median Δ vs direct (ping, fetch + body)', '≤ 1 ms', (b) => {
    const o = b.overhead;
    if (!o || o.worker.n === 0 || o.direct.n === 0) return none(why(phases.overhead));
    return { text: `${ms(o.deltaMedianMs)} (${ms(o.worker.median)} vs ${ms(o.direct.median)} ${vs(b)}; ${nOf(o.worker)}, ${directN(o.direct)})`, met: o.deltaMedianMs <= TARGETS.overheadMedianMs };
  });
  perBinding('Warm overhead: ratio of medians', '≤ 1.10', (b) => {
    const o = b.overhead;
    if (!o || o.worker.n === 0 || o.direct.n === 0) return none(why(phases.overhead));
    return { text: `× ${o.ratioMedian.toFixed(3)} (vs ${vs(b)}; ${nOf(o.worker)}, ${directN(o.direct)})`, met: o.ratioMedian <= TARGETS.overheadRatio };
  });
  perBinding('Warm overhead: p95, worker vs direct', '', (b) => {
    const o = b.overhead;
    if (!o || o.worker.n === 0 || o.direct.n === 0) return none(why(phases.overhead));
    return { text: `${ms(o.worker.p95)} vs ${ms(o.direct.p95)} ${vs(b)} (${nOf(o.worker)}, ${directN(o.direct)})` };
  });
  perBinding('First request after the worker was stopped', '', (b) => {
    const r = b.restart;
    if (!r || r.cold.n === 0) return none(why(phases.restart(b.binding)));
    const directWhat = r.coldStatus === 200 ? `${vs(b)} with its token` : 'direct without a token';
    const others = [r.warm, r.directSame].some((x) => x.n !== r.cold.n || x.missing > 0) ? `, the next ${nOf(r.warm)}, direct ${nOf(r.directSame)}` : ' each';
    return { text: `${med(r.cold)}, HTTP ${r.coldStatus} (the next one ${med(r.warm)}; ${directWhat} ${med(r.directSame)}; ${nOf(r.cold)}${others})` };
  });
  perBinding(`SSE, ${SSE_BYTES / 1e6} MB: throughput ratio worker / direct`, '≥ 0.95', (b) => {
    const s = b.sse;
    const d = f.direct.sse;
    if (!s || !d || s.worker.throughputMBps.n === 0 || d.throughputMBps.n === 0) return none(why(phases.sse));
    return {
      text: `× ${s.throughputRatio.toFixed(3)} (${s.worker.throughputMBps.median.toFixed(0)} vs ${d.throughputMBps.median.toFixed(0)} MB/s ${vs(b)}; ${nOf(s.worker.throughputMBps)}, ${directN(d.throughputMBps)})`,
      met: s.throughputRatio >= TARGETS.sseThroughputRatio,
    };
  });
  perBinding('SSE first event: median Δ vs direct', '≤ 5 ms', (b) => {
    const s = b.sse;
    const d = f.direct.sse;
    if (!s || !d || s.worker.firstEventMs.n === 0 || d.firstEventMs.n === 0) return none(why(phases.sse));
    return { text: `${ms(s.firstEventDeltaMs)} (${ms(s.worker.firstEventMs.median)} vs ${ms(d.firstEventMs.median)} ${vs(b)}; ${nOf(s.worker.firstEventMs)}, ${directN(d.firstEventMs)})`, met: s.firstEventDeltaMs <= TARGETS.firstEventDeltaMs };
  });
  perBinding('403 at the worker → page told (state message)', '≤ 20 ms', (b) => {
    const c = b.challengeToUi;
    if (!c || c.workerToToldMs.n === 0) return none(c ? 'no state message arrived' : why(phases.challenge(b.binding)));
    return { text: `${ms(c.workerToToldMs.median)} (p95 ${ms(c.workerToToldMs.p95)}; ${nOf(c.workerToToldMs)})`, met: c.workerToToldMs.median <= TARGETS.challengeToUiMs };
  });
  perBinding('403 at the worker → prompt rendered', '', (b) => {
    const c = b.challengeToUi;
    if (!c || c.workerToDomMs.n === 0) return none(c ? 'the prompt never showed the operation' : why(phases.challenge(b.binding)));
    return { text: `${ms(c.workerToDomMs.median)} (p95 ${ms(c.workerToDomMs.p95)}; ${nOf(c.workerToDomMs)})` };
  });
  perBinding('Callback → retried call done (redirect flow)', '≤ 150 ms', (b) => {
    const cb = b.callbackToRetry;
    if (cb.totalMs.n === 0) return none(cb.samples === 0 ? why(phases.growth(b.binding)) : 'no sample completed');
    return { text: `${ms(cb.totalMs.median)} (p95 ${ms(cb.totalMs.p95)}; ${nOf(cb.totalMs)}${cb.allOk ? '' : '; some retried calls failed'})`, met: cb.totalMs.median <= TARGETS.callbackToRetryMs };
  });
  perBinding(`Authorizations: ${GROWTH_STEPS}-step growth`, `${GROWTH_STEPS} per round`, (b) => {
    const g = b.authorizations.growth;
    if (g.length === 0) return none(why(phases.growth(b.binding)));
    const missing = b.authorizations.growthExpectedRounds - g.length;
    return {
      text: `${g.map((x) => x.authorizations).join(', ')} (n=${g.length} rounds${missing > 0 ? ` (${missing} missing)` : ''})`,
      met: missing === 0 && g.every((x) => x.authorizations === GROWTH_STEPS),
    };
  });
  perBinding(`Authorizations: burst of ${BURST} challenges`, '1', (b) => {
    const x = b.authorizations.burst;
    if (!x) return none(why(phases.burst(b.binding)));
    return { text: `${x.authorizations} (ledger ${x.scopesInLedger}/${BURST}, asked ${x.scopesInFirstAuthorization}/${BURST}; n=1 burst)`, met: x.authorizations === 1 };
  });
  perBinding('Authorizations: reload', '0', (b) => {
    const x = b.authorizations.reload;
    if (!x) return none(why(phases.reload(b.binding)));
    return { text: `${x.authorizations} (n=1 reload)`, met: x.authorizations === 0 };
  });
  perBinding('Authorizations: worker restart', '≤ 1', (b) => {
    const x = b.authorizations.restart;
    if (!x) return none(why(phases.restart(b.binding)));
    return { text: `${x.authorizations} (n=1 restart${x.callAfterOk ? '' : '; the call after it failed'})`, met: x.authorizations <= 1 };
  });
  const sizes = f.sizes;
  const sameBuild: Cell = { text: 'the same build' };
  if (sizes) {
    const w = sizes.worker;
    rows.push({
      figure: `Worker: sw.js + the ${w.files.length - 1} chunk(s) it imports, gzip -9`,
      target: '≤ 15 KB',
      bearer: { text: `${(w.gzip / 1000).toFixed(1)} KB (${w.gzip} B; raw ${w.bytes} B; n=1 build)`, met: w.gzip <= TARGETS.workerGzipBytes },
      dpop: sameBuild,
    });
    const c = sizes.clientCore;
    rows.push({
      figure: 'Client core (auth-client + worker-channel), min + gzip -9',
      target: '≤ 6 KB',
      bearer: { text: `${(c.gzip / 1000).toFixed(1)} KB (${c.gzip} B; min ${c.bytes} B; n=1 build)`, met: c.gzip <= TARGETS.clientCoreGzipBytes },
      dpop: sameBuild,
    });
  } else {
    rows.push({ figure: 'Worker: sw.js + the chunks it imports, gzip -9', target: '≤ 15 KB', bearer: none(why(phases.sizes)), dpop: sameBuild });
    rows.push({ figure: 'Client core (auth-client + worker-channel), min + gzip -9', target: '≤ 6 KB', bearer: none(why(phases.sizes)), dpop: sameBuild });
  }
  return rows;
}

/** The splits behind the table, one line each; every figure through ms()/med(), so never NaN. */
function details(f: { direct: DirectFigures; bearer: BindingFigures; dpop: BindingFigures; sizes: SizeFigures | undefined }): string[] {
  const out: string[] = [];
  const m = (s: Summary | undefined, why?: string) => med(s, why);
  const each = (render: (b: BindingFigures) => string | undefined) => {
    for (const b of [f.bearer, f.dpop]) {
      const line = render(b);
      if (line) out.push(`${LABEL[b.binding]}: ${line}`);
    }
  };
  each((b) => {
    const p = b.overheadProfile;
    if (!p) return undefined;
    const aligned = 'worker and page entries did not pair up';
    return (
      `warm overhead split (Resource Timing, ${nOf(p.total)}): with the worker ${m(p.total)} = page fetch() → worker fetch() ${m(p.toWorkerFetch, aligned)}` +
      ` [event dispatch ${m(p.dispatch, 'FetchEvent marks did not pair up')} + handler ${m(p.handler, 'FetchEvent marks did not pair up')}] + the worker's request to headers ${m(p.workerNetwork, aligned)}` +
      ` + headers worker → page ${m(p.handBack, aligned)} + body ${m(p.body)}; paired batches of ${BATCH} (worker batch median − the direct batch of the same round) ${m(b.overhead?.pairedBatchDeltaMs)}`
    );
  });
  const dp = f.direct.overheadProfile;
  if (dp) out.push(`direct: ${m(dp.total)} = to headers ${m(dp.toHeaders)} + body ${m(dp.body)} (${nOf(dp.total)})`);
  each((b) => {
    const r = b.restart;
    if (!r) return undefined;
    return (
      `after a stop, ${r.statuses.join('; ')}: first request ${m(r.cold)} (p95 ${ms(r.cold.p95)}) = to the new worker's global ${m(r.coldSplit.toWorkerGlobal)}` +
      ` + to its fetch() (script, IndexedDB, handler) ${m(r.coldSplit.toWorkerFetch)} + its request ${m(r.coldSplit.workerNetwork)} + its last answer → the page ${m(r.coldSplit.handBack)}` +
      ` (${num(r.coldSplit.workerRequests?.median, 0)} worker request(s)); ${r.prompted ? 'a prompt followed' : 'no prompt followed'}`
    );
  });
  each((b) => {
    const s = b.sse;
    const d = f.direct.sse;
    if (!s || !d) return undefined;
    return `SSE: throughput ratio of the worker/direct pairs of each round: median × ${num(s.pairedThroughputRatio.median, 3)} (min ${num(s.pairedThroughputRatio.min, 2)}, max ${num(s.pairedThroughputRatio.max, 2)}, ${nOf(s.pairedThroughputRatio)}); first event p95 ${ms(s.worker.firstEventMs.p95)} vs ${ms(d.firstEventMs.p95)} direct`;
  });
  each((b) => {
    const c = b.challengeToUi;
    if (!c) return undefined;
    const p = c.profile as Record<string, Summary>;
    return (
      `403: the page is told ${m(c.workerToToldMs)} after the worker has the 403; a later listener runs at ${m(c.workerToHandlerMs)}, the prompt shows the operation at ${m(c.workerToDomMs)};` +
      ` the worker holds the 403 ${m(c.workerHoldMs)} (ledger, broadcast, then respondWith). Instrumented (${nOf(p.workerToToldMs)}): ${m(p.workerToToldMs)} = parse + ledger prep ${m(p.parseMs)} + IndexedDB readwrite ${m(p.idbMs)}` +
      ` + to postMessage ${m(p.idbDoneToPostMs)} (clients.matchAll ${m(p.matchAllMs)}) + postMessage → page ${m(p.postToToldMs)}; readwrite transactions per 403: ${num(p.idbReadwriteTransactionsPerChallenge?.median, 0)}`
    );
  });
  each((b) => {
    const cb = b.callbackToRetry;
    if (cb.samples === 0) return undefined;
    const sp = cb.split;
    return (
      `callback → retried call (${nOf(cb.totalMs)}, the authorization server's pages excluded): the worker answers the callback ${m(cb.callbackMs)}` +
      ` + app document ${m(cb.documentMs)} [fetch ${m(sp.documentFetchMs)}, scripts ${m(sp.scriptsMs)}] + client start ${m(cb.clientStartMs)}` +
      ` [demo-config ${m(sp.demoConfigMs)}, to configure posted ${m(sp.toConfigureMs, 'no configure request seen')}, the worker's configure reply ${m(sp.configureMs, 'no configure reply seen')}, to the first MCP request ${m(sp.toFirstMcpMs)}; register() resolved after ${m(sp.registerCallMs)}, alongside]` +
      ` + MCP session and the call ${m(cb.mcpMs)} [${num(sp.mcpRequests?.median, 0)} requests, ${m(sp.mcpNetworkMs)} of them on the wire]`
    );
  });
  each((b) => {
    const x = b.authorizations.burst;
    if (!x) return undefined;
    return `burst: ${x.broadcasts} state broadcasts for ${BURST} challenges; the ledger held ${x.scopesInLedger}/${BURST} scopes; the one authorization asked for ${x.scopesInFirstAuthorization}/${BURST}`;
  });
  const s = f.sizes;
  if (s) {
    const files = (w: SizeFigures['demoWorker']) => w.files.map((x) => `${x.file} ${x.bytes} B`).join(' + ');
    out.push(`worker files: ${files(s.worker)}; gzipped one by one they add up to ${s.worker.gzipPerFileSum} B`);
    out.push(`the demo's worker (what the bench world serves): ${files(s.demoWorker)} = ${(s.demoWorker.gzip / 1000).toFixed(1)} KB gzip -9`);
    if (s.worker.composition.length)
      out.push(`worker composition (rendered bytes before minification): ${s.worker.composition.slice(0, 8).map((c) => `${c.part} ${c.share}%`).join(', ')}`);
  }
  return out;
}

/** Rewrites README.md between the bench-table markers; false when the markers are missing. */
function updateReadme(header: string, table: string, detailLines: readonly string[]): boolean {
  const text = readFileSync(README, 'utf8');
  const start = '<!-- bench-table:start -->';
  const end = '<!-- bench-table:end -->';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) return false;
  const block = [
    '<!-- generated by `npm run bench -- --readme` (e2e/bench/run.ts) from one run: do not edit by hand -->',
    '',
    header,
    '',
    table,
    '',
    'Where the time goes, from the same run:',
    '',
    ...detailLines.map((l) => `- ${l}`),
    '',
  ].join('\n');
  writeFileSync(README, `${text.slice(0, from + start.length)}\n${block}${text.slice(to)}`);
  return true;
}

process.exitCode = await main();
