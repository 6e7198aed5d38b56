// Scripts that run in a page of the app, as any script of its origin could: shared by the Chromium
// suite (Playwright) and the Firefox suite (puppeteer-core), which both pass a function and its
// argument to `page.evaluate`. Each function is serialized on its own, so it must not refer to
// anything outside its body.
import type { WorkerReply, WorkerRequest } from '../sw/messages.ts';

/** Sends one request to the worker that controls the page, and resolves with its reply. */
export function askWorkerInPage(message: WorkerRequest): Promise<WorkerReply> {
  return new Promise<WorkerReply>((resolve, reject) => {
    const worker = navigator.serviceWorker.controller;
    if (!worker) return reject(new Error('no service worker controls the page'));
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = (event) => resolve(event.data as WorkerReply);
    worker.postMessage({ 'mcp-sw-auth': message }, [port2]);
  });
}

/** Every record of every store of the worker's database. */
export async function readDatabaseInPage(): Promise<Record<string, unknown[]>> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open('mcp-sw-auth');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const stores: Record<string, unknown[]> = {};
  for (const store of Array.from(db.objectStoreNames)) {
    stores[store] = await new Promise<unknown[]>((resolve, reject) => {
      const request = db.transaction(store).objectStore(store).getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  db.close();
  return stores;
}

/** What page script can see besides IndexedDB: web storage, the URL, plain globals, the DOM. */
export function visibleInPage(): Record<string, string> {
  const globals: Record<string, string> = {};
  for (const name of Object.getOwnPropertyNames(window)) {
    try {
      const value = (window as unknown as Record<string, unknown>)[name];
      if (typeof value === 'string') globals[name] = value;
      else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) globals[name] = JSON.stringify(value);
    } catch {
      // cross-origin or throwing getters hold nothing of ours
    }
  }
  return {
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
    url: location.href,
    globals: JSON.stringify(globals),
    dom: document.documentElement.outerHTML,
  };
}
