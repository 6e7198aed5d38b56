// The report: the figures of one run put together (what bench.json's `figures` holds), the table
// (each figure next to its target, met or missed, with the number of samples behind it), the lines
// under it that say where the time goes, the header naming the run (commit, machine, load), and the
// rewrite of README.md's table between its markers. Every figure goes through ms()/med()/num(), so
// a missing one reads "not measured (why)", never NaN.
import { readFileSync, writeFileSync } from 'node:fs';

import type { BurstFigures, GrowthCounts, ReloadFigures, AfterRestart } from './authorizations.ts';
import { BURST } from './authorizations.ts';
import { GROWTH_STEPS, type CallbackFigures } from './callback.ts';
import type { ChallengeFigures } from './challenge.ts';
import type { PopupFigures } from './popup.ts';
import { BATCH, type OverheadFigures, type WarmOverheadFigures } from './overhead.ts';
import type { RestartTiming } from './restart.ts';
import type { SizeFigures } from './sizes.ts';
import { SSE_BYTES, type SideSse, type SseFigures } from './sse.ts';
import { med, ms, nOf, num, type Cell, type Row, type Summary } from './stats.ts';
import { LABEL, type Binding } from './world.ts';

export const TARGETS = {
  overheadMedianMs: 1,
  overheadRatio: 1.1,
  /** warm median Δ against the no-op worker: ≤ floor + 0.2 ms */
  overheadOverFloorMs: 0.2,
  /** first request after a stop, Δ against the no-op worker stopped the same way */
  restartOverFloorMs: 2,
  sseThroughputRatio: 0.95,
  firstEventDeltaMs: 5,
  challengeToUiMs: 20,
  callbackToRetryMs: 150,
  /** popup step-up: the consent allowed in the popup → the held request answered in the page */
  grantToHeldAnsweredMs: 20,
  popupReconnectsPerStepUp: 0,
  workerGzipBytes: 15_000,
  clientCoreGzipBytes: 6_000,
};

export type RestartFigures = RestartTiming & AfterRestart;

export interface BindingFigures {
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
  authorizations: GrowthCounts & {
    reload?: ReloadFigures;
    burst?: BurstFigures;
    restart?: { authorizations: number; scopes: string[]; callAfterOk: boolean };
  };
}

export interface DirectFigures {
  world: string;
  tokenScope?: string;
  request: string;
  overhead?: WarmOverheadFigures['direct'];
  overheadProfile?: Record<string, Summary>;
  overheadProfileRaw?: Array<Record<string, number>>;
  sse?: SideSse;
}

/** The no-op worker (noop.ts); its restart figures are per binding, in `restart.noop`. */
export interface NoopFigures {
  world: string;
  worker: string;
  request: string;
  overhead?: WarmOverheadFigures['noop'];
  overheadProfile?: Record<string, Summary>;
  overheadProfileRaw?: Array<Record<string, number>>;
}

export interface Figures {
  direct: DirectFigures;
  noop: NoopFigures;
  bearer: BindingFigures;
  dpop: BindingFigures;
  /** the popup step-up, per binding, in a context of its own (popup.ts) */
  popup: Record<Binding, PopupFigures | undefined>;
  sizes: SizeFigures | undefined;
}

/** The phase names a missing figure points at. */
export type Phases = {
  noopSide: string;
  overhead: string;
  profile: string;
  sse: string;
  challenge: (b: Binding) => string;
  burst: (b: Binding) => string;
  restart: (b: Binding) => string;
  growth: (b: Binding) => string;
  reload: (b: Binding) => string;
  popupSide: (b: Binding) => string;
  popupGrowth: (b: Binding) => string;
  popupCalendar: (b: Binding) => string;
  popupBurst: (b: Binding) => string;
  sizes: string;
};

export interface Machine {
  cpuModel: string;
  cpus: number;
  memoryGB: number;
  platform: string;
  node: string;
  chromium: string;
  commit: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
}

export function headerLine(command: string, startedAt: Date, m: Machine, seconds: number): string {
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' / ');
  return [
    `One run of \`${command}\`, ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${seconds.toFixed(0)} s:`,
    '',
    `- commit: ${m.commit}`,
    `- machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGB} GB memory, ${m.platform}`,
    `- Chromium ${m.chromium}, Node ${m.node}`,
    `- load average (1 / 5 / 15 min): ${load(m.loadAverageAtStart)} at the start, ${load(m.loadAverageAtEnd)} at the end`,
    '',
    'Medians (p95 where given) of this run only. n = samples summarized; "missing" = samples that never arrived. ' +
      '"Direct" is the same request without a worker, with a bearer token the harness got from Node, sent to the bearer world: ' +
      'the DPoP column is compared with that same direct baseline. ' +
      '"No-op" is that same request through a service worker that does nothing but `event.respondWith(fetch(event.request))`: the floor of any worker.',
  ].join('\n');
}

export function buildRows(f: Figures, why: (phase: string) => string, phases: Phases): Row[] {
  const rows: Row[] = [];
  const none = (reason: string): Cell => ({ text: `not measured (${reason})` });
  const perBinding = (figure: string, target: string, cell: (b: BindingFigures) => Cell) => rows.push({ figure, target, bearer: cell(f.bearer), dpop: cell(f.dpop) });
  const vs = (b: BindingFigures) => (b.binding === 'dpop' ? 'direct bearer' : 'direct');
  const vsNoop = (b: BindingFigures) => (b.binding === 'dpop' ? 'no-op bearer' : 'no-op');
  const directN = (s: Summary) => `direct ${nOf(s)}`;
  /** why a no-op figure is missing: its own phase failed, or the no-op side could not be opened */
  const whyNoop = (phase: string) => (why(phase).includes('failed') ? why(phase) : why(phases.noopSide));

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
  perBinding('Warm overhead: median Δ vs a no-op worker (the floor)', `≤ floor + ${TARGETS.overheadOverFloorMs} ms`, (b) => {
    const o = b.overhead;
    const v = o?.vsNoop;
    if (!o || !v || o.worker.n === 0 || v.noop.n === 0) return none(o ? whyNoop(phases.overhead) : why(phases.overhead));
    return { text: `${ms(v.deltaMedianMs)} (${ms(o.worker.median)} vs ${ms(v.noop.median)} ${vsNoop(b)}; ${nOf(o.worker)}, no-op ${nOf(v.noop)})`, met: v.deltaMedianMs <= TARGETS.overheadOverFloorMs };
  });
  perBinding('First request after the worker was stopped', '', (b) => {
    const r = b.restart;
    if (!r || r.cold.n === 0) return none(why(phases.restart(b.binding)));
    const directWhat = r.coldStatus === 200 ? `${vs(b)} with its token` : 'direct without a token';
    const others = [r.warm, r.directSame].some((x) => x.n !== r.cold.n || x.missing > 0) ? `, the next ${nOf(r.warm)}, direct ${nOf(r.directSame)}` : ' each';
    return { text: `${med(r.cold)}, HTTP ${r.coldStatus} (the next one ${med(r.warm)}; ${directWhat} ${med(r.directSame)}; ${nOf(r.cold)}${others})` };
  });
  perBinding('First request after a stop: Δ vs a no-op worker stopped', `≤ ${TARGETS.restartOverFloorMs} ms`, (b) => {
    const r = b.restart;
    const nr = r?.noop;
    if (!r || !nr || r.cold.n === 0 || nr.same.n === 0) return none(r ? whyNoop(phases.restart(b.binding)) : why(phases.restart(b.binding)));
    const noopWhat = r.coldStatus === 200 ? `${vsNoop(b)} with its token` : 'no-op without a token';
    return {
      text: `${ms(nr.deltaMedianMs)} (${med(r.cold)} vs ${med(nr.same)} ${noopWhat}, HTTP ${r.coldStatus}; ${nOf(r.cold)}, no-op ${nOf(nr.same)})`,
      met: nr.deltaMedianMs <= TARGETS.restartOverFloorMs,
    };
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
  /** the popup figures of a binding, or why there are none: the popup side did not open, or `phase` failed */
  const popupOf = (b: BindingFigures) => f.popup[b.binding];
  const whyPopup = (b: BindingFigures, phase: string) => (why(phases.popupSide(b.binding)).includes('failed') ? why(phases.popupSide(b.binding)) : why(phase));
  perBinding('Popup step-up: consent allowed → held request answered in the page', `≤ ${TARGETS.grantToHeldAnsweredMs} ms`, (b) => {
    const p = popupOf(b);
    const t = p?.grantToHeldAnsweredMs;
    if (!p || !t || t.n === 0) return none(p && p.raw.length > 0 ? 'no held request was seen answered' : whyPopup(b, phases.popupGrowth(b.binding)));
    return { text: `${ms(t.median)} (p95 ${ms(t.p95)}; ${nOf(t)}${p.allOk ? '' : '; some held calls failed'})`, met: t.median <= TARGETS.grantToHeldAnsweredMs };
  });
  perBinding('Popup step-up: MCP reconnects per step-up', `${TARGETS.popupReconnectsPerStepUp}`, (b) => {
    const p = popupOf(b);
    const r = p?.reconnects;
    if (!p || !r || r.n === 0) return none(whyPopup(b, phases.popupGrowth(b.binding)));
    return {
      text: `${num(p.reconnectsPerStepUp, 2)} (${r.initializes} initialize for ${r.firstConnects} first connects, ${r.stepUps} step-ups; n=${r.n} rounds${r.missing > 0 ? ` (${r.missing} missing)` : ''})`,
      met: r.missing === 0 && p.reconnectsPerStepUp <= TARGETS.popupReconnectsPerStepUp,
    };
  });
  perBinding(`Popup step-up: authorizations, ${GROWTH_STEPS}-step growth`, `${GROWTH_STEPS} per round`, (b) => {
    const p = popupOf(b);
    const g = p?.authorizations.growth ?? [];
    if (!p || g.length === 0) return none(whyPopup(b, phases.popupGrowth(b.binding)));
    const missing = p.authorizations.growthExpectedRounds - g.length;
    return {
      text: `${g.map((x) => x.authorizations).join(', ')} (n=${g.length} rounds${missing > 0 ? ` (${missing} missing)` : ''})`,
      met: missing === 0 && g.every((x) => x.authorizations === GROWTH_STEPS),
    };
  });
  perBinding(`Popup step-up: authorizations, burst of ${BURST} held challenges`, `1, ${BURST} answered`, (b) => {
    const p = popupOf(b);
    const x = p?.authorizations.burst;
    if (!p || !x) return none(p && !p.calendarConnect ? whyPopup(b, phases.popupCalendar(b.binding)) : whyPopup(b, phases.popupBurst(b.binding)));
    return {
      text: `${x.authorizations} (held ${x.held}/${BURST}, answered ${x.answered}/${BURST}, asked ${x.scopesAsked}/${BURST}; n=1 burst)`,
      met: x.authorizations === 1 && x.held === BURST && x.answered === BURST,
    };
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
export function details(f: Figures): string[] {
  const out: string[] = [];
  const m = (s: Summary | undefined, why?: string) => med(s, why);
  const each = (render: (b: BindingFigures) => string | undefined) => {
    for (const b of [f.bearer, f.dpop]) {
      const line = render(b);
      if (line) out.push(`${LABEL[b.binding]}: ${line}`);
    }
  };
  const aligned = 'worker and page entries did not pair up';
  const workerSplit = (p: Record<string, Summary>) =>
    `${m(p.total)} = page fetch() → worker fetch() ${m(p.toWorkerFetch, aligned)}` +
    ` [event dispatch ${m(p.dispatch, 'FetchEvent marks did not pair up')} + handler ${m(p.handler, 'FetchEvent marks did not pair up')}] + the worker's request to headers ${m(p.workerNetwork, aligned)}` +
    ` + headers worker → page ${m(p.handBack, aligned)} + body ${m(p.body)}`;
  each((b) => {
    const p = b.overheadProfile;
    if (!p) return undefined;
    const floor = b.overhead?.vsNoop ? `; against the no-op worker's batches ${m(b.overhead.vsNoop.pairedBatchDeltaMs)}` : '';
    return (
      `warm overhead split (Resource Timing, ${nOf(p.total)}): with the worker ${workerSplit(p)}; paired batches of ${BATCH} (worker batch median − the direct batch of the same round) ${m(b.overhead?.pairedBatchDeltaMs)}${floor}`
    );
  });
  const dp = f.direct.overheadProfile;
  if (dp) out.push(`direct: ${m(dp.total)} = to headers ${m(dp.toHeaders)} + body ${m(dp.body)} (${nOf(dp.total)})`);
  const np = f.noop.overheadProfile;
  const no = f.noop.overhead;
  if (np || no) {
    const split = np ? `warm overhead split (Resource Timing, ${nOf(np.total)}): with the no-op worker ${workerSplit(np)}` : 'warm overhead split not measured';
    const warm = no ? `; its median ${m(no.summary)} vs ${m(f.direct.overhead?.summary)} direct (Δ ${ms(no.vsDirect.deltaMedianMs)}; paired batches ${m(no.vsDirect.pairedBatchDeltaMs)}; ${nOf(no.summary)}): what routing a fetch through any worker costs` : '';
    out.push(`no-op worker (the floor): ${split}${warm}`);
  }
  const coldSplit = (s: Record<string, Summary>, what = 'script, IndexedDB, handler') =>
    `to the new worker's global ${m(s.toWorkerGlobal)} + to its fetch() (${what}) ${m(s.toWorkerFetch)} + its request ${m(s.workerNetwork)} + its last answer → the page ${m(s.handBack)}` +
    ` (${num(s.workerRequests?.median, 0)} worker request(s))`;
  each((b) => {
    const r = b.restart;
    if (!r) return undefined;
    const nr = r.noop;
    // the no-op worker's statuses are expected to be 401 without a token, 200 with it: named only when not
    const expected = ['cold 401, next 401 without a token', 'cold 200, next 200 with the token'];
    const odd = nr && nr.statuses.some((x) => !expected.includes(x)) ? ` (${nr.statuses.join('; ')})` : '';
    const noop = nr
      ? `; the no-op worker stopped in the same loop${odd}, HTTP ${r.coldStatus}: ${m(nr.same)} (p95 ${ms(nr.same.p95)}) = ${coldSplit(r.coldStatus === 200 ? nr.coldSplit200 : nr.coldSplit401, 'script, handler')}, the next one ${m(nr.sameNext)}`
      : '';
    return `after a stop, ${r.statuses.join('; ')}: first request ${m(r.cold)} (p95 ${ms(r.cold.p95)}) = ${coldSplit(r.coldSplit)}; ${r.prompted ? 'a prompt followed' : 'no prompt followed'}${noop}`;
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
    const p = f.popup[b.binding];
    if (!p) return undefined;
    const sp = p.split;
    const t = p.grantToHeldAnsweredMs;
    const x = p.authorizations.burst;
    const burst = x
      ? `; the burst: ${x.answered}/${BURST} held calls answered (HTTP ${x.statuses.join(', ')}) ${ms(x.grantToFirstAnsweredMs)} to ${ms(x.grantToLastAnsweredMs)} after the callback`
      : '';
    const cal = p.calendarConnect ? `; the calendar's connect ${ms(p.calendarConnect.totalMs)}` : '';
    return (
      `popup step-up (${nOf(t)}, the authorization server's pages excluded): callback in the popup → held request answered in the page ${m(t)}` +
      ` = to the worker's token request ${m(sp.toTokenRequestMs)} [${num(sp.workerRequestsBeforeToken?.median, 0)} worker request(s) before it] + the token request ${m(sp.tokenMs)}` +
      ` + to the held request sent again ${m(sp.toResendMs)} (token installed, grant in the ledger) + its response headers ${m(sp.resendMs)} [${num(sp.resends?.median, 0)} send(s)] + back to the page ${m(sp.handBackMs)} (the longest stretch without a tick of a 4 ms timer on the page's main thread, which the popup shares: ${m(sp.pageStallMs)});` +
      ` the call's result line at ${m(p.grantToResultLineMs)}, the popup's own callback page answered at ${m(p.popupPageMs)}; 401/403 seen by the page's fetches: ${p.refusalsSeen}${cal}${burst}`
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

/** Rewrites `readme` between the bench-table markers; false when the markers are missing. */
export function updateReadme(readme: string, header: string, table: string, detailLines: readonly string[]): boolean {
  const text = readFileSync(readme, 'utf8');
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
  writeFileSync(readme, `${text.slice(0, from + start.length)}\n${block}${text.slice(to)}`);
  return true;
}
