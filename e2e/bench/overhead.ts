// Warm overhead: `POST /mcp` JSON-RPC ping, timed in the page around `fetch` + reading the body, from
// each side in turn: the worker with bearer tokens, the worker with DPoP-bound tokens, the direct
// side (no worker, a bearer token from Node) and the no-op worker (noop.ts: the direct side's request
// routed through a worker that only calls `event.respondWith(fetch(event.request))`, the floor of
// any worker). A warm-up of WARMUP per side, then batches of BATCH, the sides in rotating order so
// that drifts in the machine's load fall on all of them. Median Δ and ratio against direct; median Δ
// against the no-op worker; and per binding the median of (worker batch median − the other side's
// batch median of the same round).
//
// Its split: a second pass of PROFILE_REQUESTS per side read from Resource Timing in the page and in
// the worker (`Timing-Allow-Origin` is sent in bench mode), plus wrappers the bench installs in the
// running worker around `FetchEvent.respondWith` (for `FetchEvent.timeStamp`) and `fetch()`. Worker
// entries are paired with page entries by time. The no-op worker is split the same way.
import type { Worker } from '@playwright/test';

import { clearResourceTimes, resourceTimes, rotation, timedRequests } from './probes.ts';
import { round, summarize, type Summary } from './stats.ts';
import { type Binding, type SideKey, type Targets } from './world.ts';

/** Requests per side for the warm overhead (≥ 500). */
export const REQUESTS = Math.max(500, Number(process.env.BENCH_REQUESTS ?? 2000));
export const BATCH = 25;
export const WARMUP = 60;
export const PROFILE_REQUESTS = 200;

/** The order the sides start in (then rotated); the no-op worker joins when it could be opened. */
const ORDER: readonly SideKey[] = ['bearer', 'direct', 'dpop', 'noop'];

export interface OverheadFigures {
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
  /** against the no-op worker (the floor of any worker), measured in the same rounds */
  vsNoop?: {
    noop: Summary;
    /** worker median − no-op median */
    deltaMedianMs: number;
    deltaP95Ms: number;
    /** each batch against the no-op batch of the same round */
    pairedBatchDeltaMs: Summary;
    rawBatchDeltas: number[];
  };
}

/** A side that sends the request itself (direct, no-op). */
export interface PlainOverhead {
  summary: Summary;
  statuses: number[];
  raw: number[];
}

export interface WarmOverheadFigures {
  expectedPerSide: number;
  direct: PlainOverhead;
  /** the no-op worker; with `vsDirect`, what routing through any worker costs */
  noop?: PlainOverhead & { vsDirect: { deltaMedianMs: number; pairedBatchDeltaMs: Summary; rawBatchDeltas: number[] } };
  bearer: OverheadFigures;
  dpop: OverheadFigures;
}

const batchMedianDeltas = (medians: Array<Partial<Record<SideKey, number>>>, a: SideKey, b: SideKey) => medians.map((m) => (m[a] ?? Number.NaN) - (m[b] ?? Number.NaN));

/** The warm overhead, all sides interleaved. */
export async function warmOverhead(targets: Targets): Promise<WarmOverheadFigures> {
  if (!targets.direct) throw new Error('no direct side');
  const keys = ORDER.filter((k) => targets[k]);
  const durations: Record<SideKey, number[]> = { bearer: [], dpop: [], direct: [], noop: [] };
  const statuses: Record<SideKey, Set<number>> = { bearer: new Set(), dpop: new Set(), direct: new Set(), noop: new Set() };
  const medians: Array<Partial<Record<SideKey, number>>> = [];
  for (const key of keys) {
    const t = targets[key]!;
    const warm = await timedRequests(t.page, t.url, t.headers, WARMUP);
    if (warm.statuses.some((s) => s !== 200)) throw new Error(`warm-up statuses on the ${key} side: ${[...new Set(warm.statuses)].join(', ')}`);
  }
  const batches = Math.ceil(REQUESTS / BATCH);
  for (let b = 0; b < batches; b++) {
    const round: Partial<Record<SideKey, number>> = {};
    for (const key of rotation(keys, b)) {
      const t = targets[key]!;
      const r = await timedRequests(t.page, t.url, t.headers, BATCH);
      durations[key].push(...r.durations);
      round[key] = summarize(r.durations).median;
      for (const s of r.statuses) statuses[key].add(s);
    }
    medians.push(round);
  }
  const expectedPerSide = batches * BATCH;
  const plain = (key: SideKey): PlainOverhead => ({ summary: summarize(durations[key], expectedPerSide), statuses: [...statuses[key]], raw: durations[key].map((v) => round(v)) });
  const direct = plain('direct');
  const noopSide = keys.includes('noop') ? plain('noop') : undefined;
  const noop = noopSide && {
    ...noopSide,
    vsDirect: {
      deltaMedianMs: round(noopSide.summary.median - direct.summary.median),
      pairedBatchDeltaMs: summarize(batchMedianDeltas(medians, 'noop', 'direct')),
      rawBatchDeltas: batchMedianDeltas(medians, 'noop', 'direct').map((v) => round(v)),
    },
  };
  const figures = (binding: Binding): OverheadFigures => {
    const worker = summarize(durations[binding], expectedPerSide);
    const batchDeltas = batchMedianDeltas(medians, binding, 'direct');
    const noopDeltas = batchMedianDeltas(medians, binding, 'noop');
    return {
      request: `POST /mcp JSON-RPC ping without an Authorization header (the worker adds ${binding === 'dpop' ? 'DPoP <token> and a DPoP proof' : 'Bearer <token>'}), fetch + body read, timed in the page`,
      expectedPerSide,
      worker,
      direct: direct.summary,
      deltaMedianMs: round(worker.median - direct.summary.median),
      deltaP95Ms: round(worker.p95 - direct.summary.p95),
      pairedBatchDeltaMs: summarize(batchDeltas),
      ratioMedian: round(worker.median / direct.summary.median),
      statuses: [...statuses[binding]],
      raw: durations[binding].map((v) => round(v)),
      rawBatchDeltas: batchDeltas.map((v) => round(v)),
      ...(noop
        ? {
            vsNoop: {
              noop: noop.summary,
              deltaMedianMs: round(worker.median - noop.summary.median),
              deltaP95Ms: round(worker.p95 - noop.summary.p95),
              pairedBatchDeltaMs: summarize(noopDeltas),
              rawBatchDeltas: noopDeltas.map((v) => round(v)),
            },
          }
        : {}),
    };
  };
  return { expectedPerSide, direct, ...(noop ? { noop } : {}), bearer: figures('bearer'), dpop: figures('dpop') };
}

export interface OverheadSplitFigures {
  bearer: Record<string, Summary>;
  dpop: Record<string, Summary>;
  direct: Record<string, Summary>;
  noop?: Record<string, Summary>;
  raw: Partial<Record<SideKey, Array<Record<string, number>>>>;
}

/** Where the time goes in a warm request: Resource Timing in the page and in the worker, and the worker's FetchEvent and fetch() marks. */
export async function overheadSplit(targets: Targets, workers: Partial<Record<SideKey, Worker>>): Promise<OverheadSplitFigures> {
  if (!targets.direct) throw new Error('no direct side');
  const keys = ORDER.filter((k) => targets[k] && (k === 'direct' || workers[k]));
  for (const key of keys) {
    const worker = workers[key];
    if (!worker) continue;
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
    }, targets[key]!.url);
  }
  const rows: Record<SideKey, Array<Record<string, number>>> = { bearer: [], dpop: [], direct: [], noop: [] };
  try {
    for (let pass = 0; pass < 2; pass++) {
      for (const key of rotation(keys, pass * keys.length)) {
        const t = targets[key]!;
        await clearResourceTimes(t.page);
        if (key === 'direct') {
          await timedRequests(t.page, t.url, t.headers, PROFILE_REQUESTS / 2);
          const p = await resourceTimes(t.page, t.url);
          for (const e of p.entries) rows.direct.push({ total: e.responseEnd - e.startTime, toHeaders: e.responseStart - e.startTime, body: e.responseEnd - e.responseStart });
          continue;
        }
        const worker = workers[key]!;
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
    for (const key of keys) await workers[key]?.evaluate(() => (globalThis as unknown as { __benchFetchUnprobe?: () => void }).__benchFetchUnprobe?.()).catch(() => undefined);
  }
  const summarizeKey = (list: Array<Record<string, number>>, key: string) => summarize(list.map((r) => r[key] ?? Number.NaN), PROFILE_REQUESTS);
  const workerKeys = ['total', 'toWorkerFetch', 'dispatch', 'handler', 'workerNetwork', 'handBack', 'workerRequests', 'body'];
  const rawOf = (list: Array<Record<string, number>>) => list.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)])));
  const split = (key: SideKey) => Object.fromEntries(workerKeys.map((k) => [k, summarizeKey(rows[key], k)]));
  const withNoop = keys.includes('noop');
  return {
    bearer: split('bearer'),
    dpop: split('dpop'),
    direct: Object.fromEntries(['total', 'toHeaders', 'body'].map((k) => [k, summarizeKey(rows.direct, k)])),
    ...(withNoop ? { noop: split('noop') } : {}),
    raw: { bearer: rawOf(rows.bearer), dpop: rawOf(rows.dpop), direct: rawOf(rows.direct), ...(withNoop ? { noop: rawOf(rows.noop) } : {}) },
  };
}
