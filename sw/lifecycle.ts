// Whether this worker is its registration's active one yet. A new version of the app's worker is
// installed while the previous one still serves the pages, and may wait (both browsers keep it
// waiting while the previous one holds requests for a popup's consent). It must not touch the
// database then: opening it would upgrade the schema under the worker that is completing that
// consent, and close that worker's connection (e2e/update.spec.ts, e2e/firefox/update.test.ts).
//
// Chromium says it directly (`self.serviceWorker.state`). Firefox 153 has no `self.serviceWorker`,
// so there the events say it: only the version being installed gets `install`, only an active one
// gets `activate` and functional events (a page's fetch, a page's message to its controller). A
// worker restarted after activation is started for such an event, so it learns at once.

declare const self: ServiceWorkerGlobalScope;

const scope = typeof ServiceWorkerGlobalScope !== 'undefined' && globalThis instanceof ServiceWorkerGlobalScope ? self : undefined;
const own = scope && 'serviceWorker' in scope ? (scope as { serviceWorker: ServiceWorker }).serviceWorker : undefined;

let open: () => void = () => undefined;
const byEvents = scope && !own ? new Promise<void>((resolve) => (open = resolve)) : undefined;
if (scope && byEvents) for (const type of ['activate', 'fetch', 'message'] as const) scope.addEventListener(type, () => open());

const isActive = (worker: ServiceWorker) => worker.state === 'activating' || worker.state === 'activated';

/** Resolves once this worker is the active one; at once outside a service worker (unit tests). */
export function activated(): Promise<void> {
  if (byEvents) return byEvents;
  if (!own || isActive(own)) return Promise.resolve();
  return new Promise((resolve) => {
    const onChange = () => {
      if (!isActive(own)) return;
      own.removeEventListener('statechange', onChange);
      resolve();
    };
    own.addEventListener('statechange', onChange);
  });
}
