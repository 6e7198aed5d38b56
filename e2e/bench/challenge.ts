// 403 at the worker → page told, → prompt rendered. `POST <calendar>/bench/challenge?n=a` and `n=b`
// (a bench route: always 403 insufficient_scope for `bench:<n>`), alternating so that each 403
// changes the ledger; STEP_UP_SAMPLES samples after 2 warm-up. From the 403's response start in the
// worker (its own Resource Timing) to the state message's `MessageEvent.timeStamp` in the page
// ("told"), to a listener the bench adds (it runs after the client core's listener and the React
// update it triggers), and to the prompt's text showing the operation ("prompt rendered", a
// MutationObserver). Then a profile pass of STEP_UP_PROFILE_SAMPLES with the worker's IndexedDB
// transaction, `clients.matchAll` and `postMessage` wrapped (installWorkerProbe), removed after.
import type { Page, Worker } from '@playwright/test';

import { appWorker } from './probes.ts';
import { round, summarize, type Summary } from './stats.ts';
import type { Side } from './world.ts';

export const STEP_UP_SAMPLES = 40;
export const STEP_UP_PROFILE_SAMPLES = 20;

export interface ChallengeSample {
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

export interface ChallengeFigures {
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

/** The 403 → UI figures of one worker side, on its Calendar server (connected before). */
export async function challengeToUi(side: Side): Promise<ChallengeFigures> {
  const { page, cfg } = side;
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

  const pick = <T>(rows: readonly T[], get: (row: T) => number, expected = rows.length) => summarize(rows.map(get), expected);
  return {
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
  };
}
