// The popup step-up (the client's `stepUp: 'popup'`), per binding, in a browser context of its own
// whose demo page starts in popup mode (the demo's Popup / Redirect switch, kept in localStorage):
// a request refused for scope is held by the worker; Authorize opens the authorization server in a
// popup; when the grant arrives the worker sends the held request again with the new token, and the
// page's own fetch resolves with that answer. The page is never left, and its MCP client never sees
// the 401/403.
//
// - grant → held request answered: each step of POPUP_ROUNDS growth rounds (connect, add-note,
//   delete-note, export-notes on Notes, signed out between rounds). From the browser's request for
//   `/oauth/callback` in the popup (its CDP timestamp, so the authorization server's pages are
//   excluded) to the page's own `fetch` of the held request resolving (a probe around
//   `window.fetch`, in the page). Split with the worker's Resource Timing (the token request, the
//   held request sent again).
// - MCP reconnects per step-up: the page's `initialize` requests during the growth rounds, less the
//   first connect of each round, divided by the step-ups.
// - authorizations, counted at the authorization server: per growth round (target GROWTH_STEPS);
//   and a burst of BURST concurrent requests to the Calendar bench route, each challenged for a
//   scope of its own, all held, then one Allow (target 1 authorization, all BURST answered).
//
// A context of its own: the probe around fetch never runs on the sides the other figures time, and
// the worker here starts with an empty ledger.
import type { Browser, Page } from '@playwright/test';

import { BURST } from './authorizations.ts';
import { GROWTH_STEPS } from './callback.ts';
import { appWorker, clearResourceTimes, installPageProbe } from './probes.ts';
import { round, summarize, type Summary } from './stats.ts';
import { authorizeInPopup, openApp, resultLine, runTool, startCall } from './ui.ts';
import { authorizations, WORLDS, type Binding, type Side } from './world.ts';

export const POPUP_ROUNDS = 3;
export const POPUP_STEP_UPS = POPUP_ROUNDS * GROWTH_STEPS;
/** where the demo keeps its Popup / Redirect choice (app/demo/DemoApp.tsx) */
const STEP_UP_KEY = 'mcp-sw-auth-demo:step-up';

interface PageFetch {
  url: string;
  /** the JSON-RPC method of the body, or the HTTP method */
  rpc: string;
  /** epoch ms, sub-ms */
  start: number;
  /** when the page's fetch resolved (epoch ms; NaN while pending) */
  resolved: number;
  /** 0 while pending, -1 when it rejected */
  status: number;
}

/** The popup mode side: a context on one world's app whose page steps up in a popup, with fetch probed. */
export async function openPopupSide(browser: Browser, binding: Binding): Promise<Side> {
  const cfg = WORLDS[binding];
  const context = await browser.newContext({ baseURL: cfg.appOrigin, viewport: { width: 1280, height: 900 } });
  await installPageProbe(context, cfg.appOrigin);
  await context.addInitScript(
    ({ appOrigin, mcpOrigins, key }) => {
      if (location.origin !== appOrigin) return;
      // the demo reads its choice before it constructs the client: the first configure says popup
      localStorage.setItem(key, 'popup');
      const now = () => performance.timeOrigin + performance.now();
      const fetches: PageFetch[] = [];
      (window as unknown as { __benchFetches: PageFetch[] }).__benchFetches = fetches;
      const original = window.fetch;
      window.fetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
        const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
        if (!mcpOrigins.some((o) => url.startsWith(o))) return original.call(this, input, init);
        const body = typeof init?.body === 'string' ? init.body : '';
        const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
        const entry: PageFetch = { url, rpc: /"method"\s*:\s*"([^"]+)"/.exec(body)?.[1] ?? method, start: now(), resolved: Number.NaN, status: 0 };
        fetches.push(entry);
        const answer = original.call(this, input, init);
        // registered before the caller's own reaction: runs first when the fetch resolves
        answer.then(
          (response) => {
            entry.resolved = now();
            entry.status = response.status;
          },
          () => {
            entry.resolved = now();
            entry.status = -1;
          },
        );
        return answer;
      } as typeof window.fetch;
    },
    { appOrigin: cfg.appOrigin, mcpOrigins: [new URL(cfg.notesUrl).origin, new URL(cfg.calendarUrl).origin], key: STEP_UP_KEY },
  );
  const callbacks: Side['callbacks'] = [];
  context.on('request', (r) => {
    if (r.url().startsWith(`${cfg.appOrigin}/oauth/callback`)) callbacks.push(r);
  });
  const page = await context.newPage();
  const side: Side = { binding, cfg, context, page, callbacks };
  await openApp(page);
  const mode = await page.getByTestId('step-up-popup').getAttribute('aria-checked');
  if (mode !== 'true') throw new Error('the demo did not start in popup mode');
  return side;
}

async function pageFetches(page: Page, from = 0): Promise<PageFetch[]> {
  return page.evaluate((from) => ((window as unknown as { __benchFetches?: PageFetch[] }).__benchFetches ?? []).slice(from), from);
}

/** Waits until the server's prompt names `scope` and says that a call waits (the worker holds it). */
async function held(page: Page, serverId: string, scope: string): Promise<void> {
  await page.getByTestId(`prompt-${serverId}`).filter({ hasText: scope }).waitFor({ timeout: 15_000 });
  await page.getByTestId(`held-${serverId}`).waitFor({ timeout: 15_000 });
}

export const HELD_SPLIT_KEYS = ['toTokenRequestMs', 'tokenMs', 'toResendMs', 'resendMs', 'handBackMs', 'pageStallMs', 'workerRequestsBeforeToken', 'resends'] as const;

export interface HeldSample {
  server: string;
  operation: string;
  /** when the popup requested the callback (epoch ms) */
  at: number;
  /** pages the authorization server showed in the popup (login, consent); their time is excluded */
  asPages: number;
  /** the call's result line says it succeeded */
  ok: boolean;
  /** the held fetch's status as the page got it */
  status: number;
  /** callback requested in the popup → the page's fetch of the held request resolved */
  totalMs: number;
  /** callback requested → the call's result line rendered (the rest of the MCP exchange, the SDK, React) */
  toLineMs: number;
  /** callback requested → the popup's callback answered (the page that closes the popup) */
  popupPageMs: number;
  split: {
    /** callback requested → the worker's token request starts (the flow taken by state, discovery, checks) */
    toTokenRequestMs: number;
    /** the token request (with a DPoP nonce retry, if any) */
    tokenMs: number;
    /** token received → the held request sent again (token installed, grant written to the ledger, release) */
    toResendMs: number;
    /** the held request sent again → its response headers (the MCP server; with a DPoP nonce retry, if any) */
    resendMs: number;
    /** response headers in the worker → the page's fetch resolved */
    handBackMs: number;
    /**
     * the longest stretch, between the callback and the held answer, in which the page's main thread
     * ran none of the ticks of a 4 ms timer the bench runs there during the step (the page busy
     * elsewhere: state messages and their renders; the popup, same-site, shares its renderer)
     */
    pageStallMs: number;
    /** the worker's requests between the callback and the token request (discovery) */
    workerRequestsBeforeToken: number;
    /** the held request's sends after the grant (2 with a DPoP nonce retry) */
    resends: number;
  };
}

/** A 4 ms timer in the page (nested timeouts are clamped to 4 ms) whose ticks say when its main thread was free. */
async function startTicker(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __benchTicks?: number[]; __benchTicking?: boolean };
    const ticks: number[] = [];
    w.__benchTicks = ticks;
    w.__benchTicking = true;
    const tick = () => {
      ticks.push(performance.timeOrigin + performance.now());
      if (w.__benchTicking) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
  });
}

async function stopTicker(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __benchTicks?: number[]; __benchTicking?: boolean };
    w.__benchTicking = false;
    return w.__benchTicks ?? [];
  });
}

interface WorkerEntry {
  name: string;
  start: number;
  responseStart: number;
  responseEnd: number;
}

/** Authorizes in the popup while the page's call `call` is held, and times the grant → the held fetch resolved. */
async function heldStep(side: Side, serverId: string, serverUrl: string, operation: string, call: string): Promise<HeldSample> {
  const { page, cfg, callbacks } = side;
  const worker = await appWorker(side);
  await clearResourceTimes(worker);
  await startTicker(page);
  const mark = callbacks.length;
  const asPages = await authorizeInPopup(side, serverId);
  const line = await resultLine(page, serverId, operation, call);
  const ticks = await stopTicker(page);
  const callback = callbacks[mark];
  if (!callback) throw new Error(`no callback request seen in the popup for ${serverId} ${operation}`);
  const timing = callback.timing();
  const t0 = timing.startTime;
  const fetches = await pageFetches(page);
  // the held request: the page's fetch to this server sent before the grant and answered after it
  const heldFetches = fetches.filter((f) => f.url.startsWith(serverUrl) && f.start < t0 && !(f.resolved < t0));
  const answered = heldFetches.reduce((last, f) => (f.resolved > last || Number.isNaN(last) ? f.resolved : last), Number.NaN);
  const status = heldFetches.at(-1)?.status ?? 0;
  const lineAt = await page.evaluate(
    ({ serverId, call }) => {
      const state = (window as unknown as { __bench?: { lines: Array<{ at: number; server: string; call: string; cls: string }> } }).__bench;
      return state?.lines.find((l) => l.server === serverId && l.call === call && !/\bauth\b/.test(l.cls))?.at ?? Number.NaN;
    },
    { serverId, call },
  );
  // the worker's requests after the callback: the token request, then the held request sent again
  const entries: WorkerEntry[] = await (worker as unknown as Page).evaluate(() => {
    const origin = performance.timeOrigin;
    return (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((e) => ({
      name: e.name,
      start: origin + e.startTime,
      responseStart: e.responseStart > 0 ? origin + e.responseStart : Number.NaN,
      responseEnd: origin + e.responseEnd,
    }));
  });
  const after = entries.filter((e) => e.start >= t0 - 1).sort((a, b) => a.start - b.start);
  const isToken = (e: WorkerEntry) => e.name.startsWith(cfg.issuer) && /\/token(\?|$)/.test(e.name);
  const firstToken = after.find(isToken);
  const resends = firstToken ? after.filter((e) => e.name.startsWith(serverUrl) && e.start >= firstToken.start && !(e.start > answered)) : [];
  const firstResend = resends[0];
  const lastResend = resends.at(-1);
  const tokens = after.filter((e) => isToken(e) && (!firstResend || e.start < firstResend.start));
  const tokenEnd = tokens.length > 0 ? Math.max(...tokens.map((e) => e.responseEnd)) : Number.NaN;
  const resendHeaders = lastResend ? (Number.isFinite(lastResend.responseStart) ? lastResend.responseStart : lastResend.responseEnd) : Number.NaN;
  const nan = Number.NaN;
  let stall = Number.NaN;
  for (let i = 1; i < ticks.length; i++) {
    const from = Math.max(ticks[i - 1]!, t0);
    const to = Math.min(ticks[i]!, answered);
    if (to > from && !(to - from < stall)) stall = to - from;
  }
  return {
    server: serverId,
    operation,
    at: round(t0, 1),
    asPages,
    ok: line.ok,
    status,
    totalMs: round(answered - t0),
    toLineMs: round(lineAt - t0),
    popupPageMs: timing.responseEnd > 0 ? round(timing.responseEnd) : nan,
    split: {
      toTokenRequestMs: firstToken ? round(firstToken.start - t0) : nan,
      tokenMs: firstToken ? round(tokenEnd - firstToken.start) : nan,
      toResendMs: firstResend ? round(firstResend.start - tokenEnd) : nan,
      resendMs: firstResend ? round(resendHeaders - firstResend.start) : nan,
      handBackMs: round(answered - resendHeaders),
      pageStallMs: round(stall),
      workerRequestsBeforeToken: firstToken ? after.filter((e) => e.start < firstToken.start).length : nan,
      resends: firstToken ? resends.length : nan,
    },
  };
}

export interface PopupRound {
  round: number;
  /** the authorization requests the round caused, their scopes */
  requested: string[];
  samples: HeldSample[];
  /** the page's initialize requests in the round (the first connect is one) */
  initializes: number;
  /** 401/403 answers the page's own fetches got in the round (none expected: the worker holds them) */
  refusalsSeen: number;
  /** the page's MCP requests in the round, by JSON-RPC method */
  requests: Record<string, number>;
}

/** One growth round on Notes in popup mode (signed out first, from the second round on): four held step-ups. */
export async function popupGrowthRound(side: Side, n: number): Promise<PopupRound> {
  const { page, cfg } = side;
  const url = cfg.notesUrl;
  const before = (await authorizations(cfg, url)).length;
  if (n > 1) {
    await page.getByTestId('signout-notes').click();
    await page.getByTestId('status-notes').filter({ hasText: 'Not connected' }).waitFor();
  }
  const from = (await pageFetches(page)).length;
  const samples: HeldSample[] = [];
  const connect = await startCall(page, 'notes', () => page.getByTestId('connect-notes').click());
  await held(page, 'notes', 'notes:read');
  samples.push(await heldStep(side, 'notes', url, 'connect + tools/list', connect));

  const add = await runTool(page, 'notes', 'add-note', { text: `bench popup round ${n}` });
  await held(page, 'notes', 'notes:write');
  samples.push(await heldStep(side, 'notes', url, 'tools/call add-note', add));
  const added = /#(\d+)/.exec((await resultLine(page, 'notes', 'tools/call add-note', add)).text)?.[1] ?? '1';

  const del = await runTool(page, 'notes', 'delete-note', { id: added });
  await held(page, 'notes', 'notes:delete');
  samples.push(await heldStep(side, 'notes', url, 'tools/call delete-note', del));

  const exp = await runTool(page, 'notes', 'export-notes');
  await held(page, 'notes', 'notes:export');
  samples.push(await heldStep(side, 'notes', url, 'tools/call export-notes', exp));

  const fetches = (await pageFetches(page, from)).filter((f) => f.url.startsWith(url));
  const requests: Record<string, number> = {};
  for (const f of fetches) requests[f.rpc] = (requests[f.rpc] ?? 0) + 1;
  const requested = (await authorizations(cfg, url)).slice(before).map((a) => a.scope ?? '');
  return {
    round: n,
    requested,
    samples,
    initializes: requests.initialize ?? 0,
    refusalsSeen: fetches.filter((f) => f.status === 401 || f.status === 403).length,
    requests,
  };
}

/** Calendar's connect in popup mode (one more held step-up; the calendar then hosts the burst). */
export async function popupCalendarConnect(side: Side): Promise<HeldSample> {
  const { page, cfg } = side;
  const call = await startCall(page, 'calendar', () => page.getByTestId('connect-calendar').click());
  await held(page, 'calendar', 'calendar:read');
  return heldStep(side, 'calendar', cfg.calendarUrl, 'connect + tools/list', call);
}

export interface PopupBurst {
  /** the calls the server card said wait, before Authorize */
  held: number;
  /** the page's fetches that resolved (with any HTTP status) after the one Allow */
  answered: number;
  /** their statuses (the bench route refuses every call: the one sent again after the grant gets its 403) */
  statuses: number[];
  /** authorization requests for Calendar from the burst on */
  authorizations: number;
  /** bench:* scopes the first of them asked for */
  scopesAsked: number;
  asPages: number;
  /** callback requested in the popup → the first and the last held fetch resolved */
  grantToFirstAnsweredMs: number;
  grantToLastAnsweredMs: number;
}

/** BURST concurrent requests to the Calendar bench route, each challenged for a scope of its own, all held; then one Allow in the popup. */
export async function popupBurst(side: Side): Promise<PopupBurst> {
  const { page, cfg, callbacks } = side;
  const before = (await authorizations(cfg, cfg.calendarUrl)).length;
  await page.evaluate(
    ({ base, n }) => {
      const w = window as unknown as { __benchBurst?: Array<{ status: number; resolved: number }> };
      const results: Array<{ status: number; resolved: number }> = Array.from({ length: n }, () => ({ status: 0, resolved: Number.NaN }));
      w.__benchBurst = results;
      for (let i = 0; i < n; i++) {
        fetch(`${base}/bench/challenge?n=popup-${i}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: `popup-burst-${i}`, arguments: {} } }),
        }).then(
          (r) => Object.assign(results[i]!, { status: r.status, resolved: performance.timeOrigin + performance.now() }),
          () => Object.assign(results[i]!, { status: -1, resolved: performance.timeOrigin + performance.now() }),
        );
      }
    },
    { base: cfg.calendarUrl, n: BURST },
  );
  const card = page.getByTestId('held-calendar');
  // all of them held: the card says so (if some were answered at once, go on with those that are held)
  const all = await card
    .filter({ hasText: `${BURST} calls wait` })
    .waitFor({ timeout: 10_000 })
    .then(
      () => true,
      () => false,
    );
  const heldText = (await card.textContent().catch(() => '')) ?? '';
  const heldCount = all ? BURST : Number(/(\d+) calls wait/.exec(heldText)?.[1] ?? (/The call waits/.test(heldText) ? 1 : 0));
  const mark = callbacks.length;
  const asPages = await authorizeInPopup(side, 'calendar');
  const callback = callbacks[mark];
  if (!callback) throw new Error('no callback request seen in the popup for the burst');
  const t0 = callback.timing().startTime;
  const results = await page
    .waitForFunction(
      (n) => {
        const results = (window as unknown as { __benchBurst?: Array<{ status: number; resolved: number }> }).__benchBurst ?? [];
        return results.filter((r) => r.status !== 0).length >= n ? results : undefined;
      },
      BURST,
      { timeout: 15_000 },
    )
    .then(
      (h) => h.jsonValue() as Promise<Array<{ status: number; resolved: number }>>,
      () => page.evaluate(() => (window as unknown as { __benchBurst: Array<{ status: number; resolved: number }> }).__benchBurst),
    );
  const done = results.filter((r) => r.status !== 0);
  const times = done.map((r) => r.resolved).filter((t) => t >= t0);
  const requests = (await authorizations(cfg, cfg.calendarUrl)).slice(before);
  return {
    held: heldCount,
    answered: done.length,
    statuses: [...new Set(done.map((r) => r.status))],
    authorizations: requests.length,
    scopesAsked: (requests[0]?.scope ?? '').split(' ').filter((s) => s.startsWith('bench:popup-')).length,
    asPages,
    grantToFirstAnsweredMs: times.length ? round(Math.min(...times) - t0) : Number.NaN,
    grantToLastAnsweredMs: times.length ? round(Math.max(...times) - t0) : Number.NaN,
  };
}

export interface PopupFigures {
  growthRounds: number;
  stepsPerRound: number;
  /** the page's fetch of the held request resolved, from the callback in the popup: the growth steps */
  grantToHeldAnsweredMs: Summary;
  /** … and to the call's result line in the page */
  grantToResultLineMs: Summary;
  /** … and to the popup's own callback answered */
  popupPageMs: Summary;
  split: Record<(typeof HELD_SPLIT_KEYS)[number], Summary>;
  /** (initialize requests − one first connect per round) / step-ups; null when no round completed */
  reconnectsPerStepUp: number;
  reconnects: { initializes: number; firstConnects: number; reconnects: number; stepUps: number; n: number; missing: number };
  /** 401/403 answers the page's fetches got during the growth rounds */
  refusalsSeen: number;
  allOk: boolean;
  calendarConnect?: HeldSample;
  authorizations: {
    growth: Array<{ round: number; authorizations: number; requested: string[] }>;
    growthExpectedRounds: number;
    burst?: PopupBurst;
  };
  raw: PopupRound[];
}

/** The popup figures of one binding, from its growth rounds, its calendar connect and its burst. */
export function popupFigures(rounds: readonly PopupRound[], calendar: HeldSample | undefined, burst: PopupBurst | undefined): PopupFigures {
  const samples = rounds.flatMap((r) => r.samples);
  const pick = (get: (s: HeldSample) => number) => summarize(samples.map(get), POPUP_STEP_UPS);
  const initializes = rounds.reduce((sum, r) => sum + r.initializes, 0);
  const reconnects = rounds.reduce((sum, r) => sum + Math.max(0, r.initializes - 1), 0);
  const stepUps = rounds.length * GROWTH_STEPS;
  return {
    growthRounds: POPUP_ROUNDS,
    stepsPerRound: GROWTH_STEPS,
    grantToHeldAnsweredMs: pick((s) => s.totalMs),
    grantToResultLineMs: pick((s) => s.toLineMs),
    popupPageMs: pick((s) => s.popupPageMs),
    split: Object.fromEntries(HELD_SPLIT_KEYS.map((k) => [k, pick((s) => s.split[k])])) as PopupFigures['split'],
    reconnectsPerStepUp: stepUps > 0 ? round(reconnects / stepUps) : Number.NaN,
    reconnects: { initializes, firstConnects: rounds.length, reconnects, stepUps, n: rounds.length, missing: POPUP_ROUNDS - rounds.length },
    refusalsSeen: rounds.reduce((sum, r) => sum + r.refusalsSeen, 0),
    allOk: samples.every((s) => s.ok && s.status === 200),
    calendarConnect: calendar,
    authorizations: {
      growth: rounds.map((r) => ({ round: r.round, authorizations: r.requested.length, requested: r.requested })),
      growthExpectedRounds: POPUP_ROUNDS,
      burst,
    },
    raw: [...rounds],
  };
}
