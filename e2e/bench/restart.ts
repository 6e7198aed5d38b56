// First request after the worker was stopped. RESTART_SAMPLES times per binding:
// `ServiceWorker.stopAllWorkers` over CDP (the side's own context, probes.ts's WorkerControl), wait
// for "stopped", then one request (ping, timed in the page as the warm overhead is); then the next
// one (worker running); then the direct side without a token (401) and with it (200). Then the
// no-op worker (noop.ts), in its own context, the same way: stopped, one request without a token
// (401) and the next; stopped, one with the direct side's token (200) and the next (the two in
// alternating order). Each figure is compared with the request of the same outcome: bearer tokens
// lived in the stopped worker's memory, so that side gets a 401; DPoP-bound tokens are kept in
// IndexedDB, so that side gets a 200. The cold request is split with Resource Timing in the page and
// in the restarted worker. Under Playwright every restarted worker (the no-op one too) also waits
// for the debugger to attach. What the restart costs in authorizations is authorizations.ts's.
import type { BrowserContext, Page, Worker } from '@playwright/test';

import { appWorker, clearResourceTimes, mode, resourceTimes, timedRequests, WorkerControl, workerOf } from './probes.ts';
import { round, summarize, type Summary } from './stats.ts';
import { MCP_HEADERS, type Side, type Target } from './world.ts';

export const RESTART_SAMPLES = 10;

const SPLIT_KEYS = ['toWorkerGlobal', 'toWorkerFetch', 'workerNetwork', 'handBack', 'workerRequests'] as const;

/** The no-op worker after a stop, both outcomes. */
export interface NoopRestartFigures {
  /** the cold request of the same outcome as our worker's (its coldStatus) */
  same: Summary;
  /** the request after it */
  sameNext: Summary;
  /** our worker's cold median − the no-op worker's of the same outcome: what our worker adds to any worker's restart */
  deltaMedianMs: number;
  cold401: Summary;
  next401: Summary;
  cold200: Summary;
  next200: Summary;
  coldSplit401: Record<string, Summary>;
  coldSplit200: Record<string, Summary>;
  statuses: string[];
  raw: { cold401: number[]; next401: number[]; cold200: number[]; next200: number[] };
}

export interface RestartTiming {
  /** the cold request's status, most often (401: the tokens were in the stopped worker's memory) */
  coldStatus: number;
  coldStatuses: number[];
  cold: Summary;
  warm: Summary;
  /** the direct request with the same outcome as the cold one: unauthorized (401) or with its bearer token (200) */
  directSame: Summary;
  direct401: Summary;
  direct200: Summary;
  coldSplit: Record<string, Summary>;
  raw: { cold: number[]; warm: number[]; direct401: number[]; direct200: number[] };
  statuses: string[];
  noop?: NoopRestartFigures;
}

/** The no-op worker side, as restart needs it. */
export interface NoopTarget extends Target {
  context: BrowserContext;
  /** the no-op worker's script URL */
  script: string;
}

/** The cold request (the first entry in the page's Resource Timing) split by the worker's own entries. */
async function coldSplit(page: Page, worker: Worker | undefined, url: string): Promise<Record<string, number> | undefined> {
  if (!worker) return undefined;
  const p = await resourceTimes(page, url);
  const wt = await resourceTimes(worker, url);
  const pe = p.entries[0];
  // the cold request's own worker entries (the next request went through the same worker;
  // with DPoP a nonce refresh adds a worker request)
  const mine = pe ? wt.entries.filter((e) => wt.origin + e.startTime <= p.origin + pe.responseEnd) : [];
  const we = mine[0];
  const last = mine.at(-1);
  return {
    // page fetch() → the restarted worker's global scope exists (process/thread, Playwright's attach)
    toWorkerGlobal: pe ? wt.origin - (p.origin + pe.startTime) : Number.NaN,
    // global created → the worker calls fetch(): script evaluation, reading IndexedDB, the handler
    toWorkerFetch: we ? we.startTime : Number.NaN,
    workerNetwork: we ? we.responseStart - we.startTime : Number.NaN,
    // the worker's last response headers → the page's: what the worker did with the answer (ledger, retry…)
    handBack: pe && last ? p.origin + pe.responseStart - (wt.origin + last.responseStart) : Number.NaN,
    workerRequests: mine.length,
  };
}

const splitSummary = (rows: ReadonlyArray<Record<string, number>>) => Object.fromEntries(SPLIT_KEYS.map((k) => [k, summarize(rows.map((r) => r[k] ?? Number.NaN), RESTART_SAMPLES)]));
const rounded = (values: readonly number[]) => values.map((v) => round(v));

/** The first request after the worker of `side` was stopped, against direct and against the no-op worker stopped the same way. */
export async function firstRequestAfterStop(side: Side, direct: Target | undefined, noop: NoopTarget | undefined): Promise<RestartTiming> {
  if (!direct) throw new Error('no direct side');
  const { page, cfg, context } = side;
  const control = await WorkerControl.attach(context, page);
  const noopControl = noop ? await WorkerControl.attach(noop.context, noop.page) : undefined;
  const cold: number[] = [];
  const warm: number[] = [];
  const direct401: number[] = [];
  const direct200: number[] = [];
  const coldStatuses: number[] = [];
  const split: Array<Record<string, number>> = [];
  const statuses = new Set<string>();
  const n = { cold401: [] as number[], next401: [] as number[], cold200: [] as number[], next200: [] as number[] };
  const nSplit = { 401: [] as Array<Record<string, number>>, 200: [] as Array<Record<string, number>> };
  const nStatuses = new Set<string>();
  try {
    for (let i = 0; i < RESTART_SAMPLES; i++) {
      await control.stop(page);
      await clearResourceTimes(page);
      const c = await timedRequests(page, cfg.notesUrl, MCP_HEADERS, 1);
      const w = await timedRequests(page, cfg.notesUrl, MCP_HEADERS, 1);
      const d401 = await timedRequests(direct.page, direct.url, MCP_HEADERS, 1);
      const d200 = await timedRequests(direct.page, direct.url, direct.headers, 1);
      cold.push(...c.durations);
      warm.push(...w.durations);
      direct401.push(...d401.durations);
      direct200.push(...d200.durations);
      coldStatuses.push(c.statuses[0] ?? 0);
      statuses.add(`cold ${c.statuses[0]}, next ${w.statuses[0]}, direct ${d401.statuses[0]} without a token, ${d200.statuses[0]} with it`);
      // Playwright keeps the same Worker across a stop; evaluate() runs in the restarted global
      const s = await coldSplit(page, await appWorker(side).catch(() => undefined), cfg.notesUrl);
      if (s) split.push(s);

      if (noop && noopControl) {
        for (const outcome of i % 2 === 0 ? ([401, 200] as const) : ([200, 401] as const)) {
          const headers = outcome === 200 ? noop.headers : MCP_HEADERS;
          await noopControl.stop(noop.page);
          await clearResourceTimes(noop.page);
          const nc = await timedRequests(noop.page, noop.url, headers, 1);
          const nw = await timedRequests(noop.page, noop.url, headers, 1);
          n[`cold${outcome}`].push(...nc.durations);
          n[`next${outcome}`].push(...nw.durations);
          nStatuses.add(`cold ${nc.statuses[0]}, next ${nw.statuses[0]} ${outcome === 200 ? 'with the token' : 'without a token'}`);
          const ns = await coldSplit(noop.page, await workerOf(noop.context, noop.script).catch(() => undefined), noop.url);
          if (ns) nSplit[outcome].push(ns);
        }
      }
    }
  } finally {
    await control.detach();
    await noopControl?.detach();
  }
  const coldStatus = mode(coldStatuses);
  const coldSummary = summarize(cold, RESTART_SAMPLES);
  const direct401Summary = summarize(direct401, RESTART_SAMPLES);
  const direct200Summary = summarize(direct200, RESTART_SAMPLES);
  let noopFigures: NoopRestartFigures | undefined;
  if (noop) {
    const s = Object.fromEntries(Object.entries(n).map(([k, v]) => [k, summarize(v, RESTART_SAMPLES)])) as Record<keyof typeof n, Summary>;
    const same = coldStatus === 200 ? s.cold200 : s.cold401;
    noopFigures = {
      same,
      sameNext: coldStatus === 200 ? s.next200 : s.next401,
      deltaMedianMs: round(coldSummary.median - same.median),
      ...s,
      coldSplit401: splitSummary(nSplit[401]),
      coldSplit200: splitSummary(nSplit[200]),
      statuses: [...nStatuses],
      raw: { cold401: rounded(n.cold401), next401: rounded(n.next401), cold200: rounded(n.cold200), next200: rounded(n.next200) },
    };
  }
  return {
    coldStatus,
    coldStatuses,
    cold: coldSummary,
    warm: summarize(warm, RESTART_SAMPLES),
    directSame: coldStatus === 200 ? direct200Summary : direct401Summary,
    direct401: direct401Summary,
    direct200: direct200Summary,
    coldSplit: splitSummary(split),
    raw: { cold: rounded(cold), warm: rounded(warm), direct401: rounded(direct401), direct200: rounded(direct200) },
    statuses: [...statuses],
    ...(noopFigures ? { noop: noopFigures } : {}),
  };
}
