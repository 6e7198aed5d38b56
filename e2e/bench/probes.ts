// The probes the figure modules share: what the bench installs in the app's pages (output lines,
// register(), the requests to the worker, timed with sub-ms epoch timestamps), the timed request
// every latency figure sends (`fetch` + reading the body, timed in the page with performance.now()),
// Resource Timing read from a page or a worker, the order the sides take turns in, and the control
// that stops a context's service workers over CDP (ServiceWorker.stopAllWorkers).
import type { BrowserContext, CDPSession, Page, Worker } from '@playwright/test';

import type { Side } from './world.ts';

/** The request every timing figure sends: a JSON-RPC ping. */
export const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });

/**
 * Records, in every app page of the context (epoch ms, sub-ms): when each output line appears, when
 * the client's register() resolves, and each request to the worker (posted, answered).
 */
export async function installPageProbe(context: BrowserContext, appOrigin: string): Promise<void> {
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

/** `n` POSTs of PING to `url`, one after the other, each timed in the page around fetch + reading the body. */
export async function timedRequests(page: Page, url: string, headers: Record<string, string>, n: number): Promise<{ durations: number[]; statuses: number[] }> {
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

export interface ResourceTimes {
  origin: number;
  entries: Array<{ startTime: number; workerStart: number; fetchStart: number; requestStart: number; responseStart: number; responseEnd: number }>;
}

// Page and Worker have the same evaluate(); TypeScript cannot call the union of their overloads.
export async function resourceTimes(target: Page | Worker, url: string): Promise<ResourceTimes> {
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

export async function clearResourceTimes(target: Page | Worker): Promise<void> {
  await (target as Page).evaluate(() => {
    performance.clearResourceTimings();
    performance.setResourceTimingBufferSize(5000);
  });
}

/** The Playwright handle of the context's service worker whose script URL starts with `prefix` (it stays the same across a stop). */
export async function workerOf(context: BrowserContext, prefix: string): Promise<Worker> {
  const found = context.serviceWorkers().find((w) => w.url().startsWith(prefix));
  if (found) return found;
  return context.waitForEvent('serviceworker', { predicate: (w) => w.url().startsWith(prefix), timeout: 15_000 });
}

/** The app's worker of a worker side. */
export async function appWorker(side: Side): Promise<Worker> {
  return workerOf(side.context, side.cfg.appOrigin);
}

/**
 * The order of the sides in round i: the rotations, forwards then backwards (for three sides, all
 * six orders), so that each side takes each position equally often.
 */
export function rotation<T>(sides: readonly T[], i: number): T[] {
  const k = sides.length;
  if (k < 2) return [...sides];
  const shift = i % k;
  const rotated = [...sides.slice(shift), ...sides.slice(0, shift)];
  return Math.floor(i / k) % 2 === 0 ? rotated : rotated.reverse();
}

/** Stops the service workers of one context, over its own CDP session. */
export class WorkerControl {
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

/** The most frequent value (0 for none). */
export function mode(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
}
