// Callback → retried call, in the redirect flow: each step of the growth rounds (connect, add-note,
// delete-note, export-notes on Notes; each asks for one more scope, the authorization server's login
// and consent pages are gone through in the real UI) and the Calendar connect, GROWTH_ROUNDS ×
// GROWTH_STEPS + 1 samples per binding. From the browser's request for `/oauth/callback` (its CDP
// timestamp, so the authorization server's pages are excluded) to the retried call's result line
// (the line with that run's `data-call`) appearing in the page's output list (the page probe of
// probes.ts). Split with Navigation/Resource Timing and the page probe's marks (register(), the
// worker's reply to `configure`, which carries the flow's result). The growth rounds also give the
// authorizations each round asked for (authorizations.ts counts them).
import { authorizations, type Side } from './world.ts';
import { authorizeInUi, resultLine, runTool, startCall } from './ui.ts';
import { round, summarize, type Summary } from './stats.ts';

export const GROWTH_ROUNDS = 4;
export const GROWTH_STEPS = 4;
/** the growth steps and the calendar connect */
export const CALLBACK_SAMPLES = GROWTH_ROUNDS * GROWTH_STEPS + 1;

export interface RetrySample {
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

export const SPLIT_KEYS = ['documentFetchMs', 'scriptsMs', 'demoConfigMs', 'toConfigureMs', 'configureMs', 'toFirstMcpMs', 'registerCallMs', 'mcpRequests', 'mcpNetworkMs'] as const;

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

export interface GrowthRound {
  round: number;
  requested: string[];
  samples: RetrySample[];
}

/** One growth round on Notes (signed out first, from the second round on): four authorizations, four samples. */
export async function growthRound(side: Side, round: number): Promise<GrowthRound> {
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

/** Calendar's connect through the UI: one more sample (the calendar then hosts the 403 and burst runs). */
export async function calendarConnect(side: Side): Promise<RetrySample> {
  const call = await startCall(side.page, 'calendar', () => side.page.getByTestId('connect-calendar').click());
  await side.page.getByTestId('prompt-calendar').waitFor();
  return stepUp(side, 'calendar', side.cfg.calendarUrl, 'connect + tools/list', call);
}

export interface CallbackFigures {
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

/** The callback → retried call figures of one binding, from its growth rounds and its calendar connect. */
export function callbackToRetry(growth: readonly GrowthRound[], calendar: RetrySample | undefined): CallbackFigures {
  const samples = [...growth.flatMap((g) => g.samples), ...(calendar ? [calendar] : [])];
  const pick = (get: (row: RetrySample) => number) => summarize(samples.map(get), CALLBACK_SAMPLES);
  return {
    expected: CALLBACK_SAMPLES,
    samples: samples.length,
    totalMs: pick((x) => x.totalMs),
    callbackMs: pick((x) => x.callbackMs),
    documentMs: pick((x) => x.documentMs),
    clientStartMs: pick((x) => x.clientStartMs),
    mcpMs: pick((x) => x.mcpMs),
    split: Object.fromEntries(SPLIT_KEYS.map((k) => [k, pick((x) => x.split[k])])) as CallbackFigures['split'],
    allOk: samples.every((x) => x.ok),
    raw: samples,
  };
}
