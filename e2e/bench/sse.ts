// SSE through the worker and without it: `GET <mcp>/bench/stream?bytes=24000000&chunk=16384` (a bench
// route of the MCP servers), SSE_RUNS runs per side in rotating order, for the throughput = bytes /
// (fetch → last byte read from the body), and a 4 KB stream (FIRST_EVENT_RUNS runs per side) for the
// first event = fetch → the first `\n\n` read from the body. Timed in the page. The sides: the worker
// in each world and the direct side (the no-op worker is not measured here).
import type { Page } from '@playwright/test';

import { rotation } from './probes.ts';
import { round, summarize, type Summary } from './stats.ts';
import { BINDINGS, type Binding, type SideKey, type Targets } from './world.ts';

export const SSE_BYTES = 24_000_000;
export const SSE_CHUNK = 16_384;
export const SSE_RUNS = 12;
export const FIRST_EVENT_RUNS = 40;

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

/** One side's streams. */
export interface SideSse {
  throughputMBps: Summary;
  totalMs: Summary;
  firstEventBigMs: Summary;
  firstEventMs: Summary;
  raw: { throughputMBps: number[]; firstEventMs: number[] };
}

export interface SseFigures {
  worker: { throughputMBps: Summary; totalMs: Summary; firstEventBigMs: Summary; firstEventMs: Summary };
  throughputRatio: number;
  firstEventDeltaMs: number;
  pairedThroughputRatio: Summary;
  raw: { throughputMBps: number[]; firstEventMs: number[]; pairedThroughputRatio: number[] };
}

/** The streams of the three sides, rotating; the worker sides against direct. */
export async function sse(targets: Targets): Promise<{ direct: SideSse } & Record<Binding, SseFigures>> {
  if (!targets.direct) throw new Error('no direct side');
  const keys: SideKey[] = ['bearer', 'direct', 'dpop'];
  const target = (key: SideKey) => targets[key]!;
  const big = (key: SideKey) => `${target(key).url}/bench/stream?bytes=${SSE_BYTES}&chunk=${SSE_CHUNK}`;
  const small = (key: SideKey) => `${target(key).url}/bench/stream?bytes=${4 * 1024}&chunk=1024`;
  for (const key of keys) await sseRun(target(key).page, big(key), target(key).auth);
  const runs: Record<SideKey, SseRun[]> = { bearer: [], dpop: [], direct: [], noop: [] };
  const firsts: Record<SideKey, SseRun[]> = { bearer: [], dpop: [], direct: [], noop: [] };
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
  const of = (key: SideKey): SideSse => ({
    throughputMBps: summarize(runs[key].map(mbps), SSE_RUNS),
    totalMs: summarize(runs[key].map((r) => r.totalMs), SSE_RUNS),
    firstEventBigMs: summarize(runs[key].map((r) => r.firstEventMs), SSE_RUNS),
    firstEventMs: summarize(firsts[key].map((r) => r.firstEventMs), FIRST_EVENT_RUNS),
    raw: { throughputMBps: runs[key].map((r) => round(mbps(r), 1)), firstEventMs: firsts[key].map((r) => round(r.firstEventMs)) },
  });
  const direct = of('direct');
  const figures = (binding: Binding): SseFigures => {
    const s = of(binding);
    return {
      worker: { throughputMBps: s.throughputMBps, totalMs: s.totalMs, firstEventBigMs: s.firstEventBigMs, firstEventMs: s.firstEventMs },
      throughputRatio: round(s.throughputMBps.median / direct.throughputMBps.median),
      firstEventDeltaMs: round(s.firstEventMs.median - direct.firstEventMs.median),
      pairedThroughputRatio: summarize(pairRatios[binding], SSE_RUNS),
      raw: { ...s.raw, pairedThroughputRatio: pairRatios[binding].map((v) => round(v)) },
    };
  };
  return { direct, bearer: figures('bearer'), dpop: figures('dpop') };
}
