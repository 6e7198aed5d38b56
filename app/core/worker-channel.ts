// Request/reply with the service worker over MessageChannel, and its state broadcasts.
import { MESSAGE_KEY, type WorkerBroadcast, type WorkerReply, type WorkerRequest } from '../../sw/messages.ts';

export class WorkerUnavailableError extends Error {
  override readonly name = 'WorkerUnavailableError';
}

export interface WorkerChannel {
  request(message: WorkerRequest): Promise<WorkerReply>;
  onBroadcast(listener: (message: WorkerBroadcast) => void): () => void;
  /** Another worker took control of the page (a new version of the app's worker activated). */
  onControllerChange(listener: () => void): () => void;
}

const REPLY_TIMEOUT_MS = 15_000;
const CLAIM_TIMEOUT_MS = 3_000;

function ask(target: ServiceWorker, message: WorkerRequest, timeoutMs = REPLY_TIMEOUT_MS): Promise<WorkerReply> {
  return new Promise<WorkerReply>((resolve, reject) => {
    const { port1, port2 } = new MessageChannel();
    const timer = setTimeout(() => {
      port1.close();
      reject(new WorkerUnavailableError(`The service worker did not answer "${message.type}" within ${timeoutMs / 1000} s.`));
    }, timeoutMs);
    port1.onmessage = (event: MessageEvent<WorkerReply>) => {
      clearTimeout(timer);
      port1.close();
      resolve(event.data);
    };
    target.postMessage({ [MESSAGE_KEY]: message }, [port2]);
  });
}

/**
 * An active worker that does not control this page: after a hard reload (Shift+Reload) the browser
 * bypasses it, and a worker that does not claim pages on activation leaves the first one alone.
 * The worker is asked to claim the page; if it cannot, the page says so.
 */
async function takeControl(container: ServiceWorkerContainer, registration: ServiceWorkerRegistration): Promise<void> {
  if (container.controller) return;
  const active = registration.active;
  if (!active) throw new WorkerUnavailableError('The service worker did not activate. Check the browser console for an error in the worker script.');
  const changed = new Promise<void>((resolve) => container.addEventListener('controllerchange', () => resolve(), { once: true }));
  await Promise.race([
    Promise.all([ask(active, { type: 'claim' }, CLAIM_TIMEOUT_MS).catch(() => undefined), changed]),
    new Promise((resolve) => setTimeout(resolve, CLAIM_TIMEOUT_MS)),
  ]);
  if (!container.controller) {
    throw new WorkerUnavailableError(
      'This page is not controlled by the service worker, so requests to MCP servers would go out without their tokens. This happens after a hard reload (Shift+Reload): reload the page normally.',
    );
  }
}

/**
 * Registers the worker and resolves once it controls this page: only then do the page's requests
 * to MCP servers pass through it.
 */
export async function connectWorker(scriptUrl: string, callbackPath: string): Promise<WorkerChannel> {
  if (!('serviceWorker' in navigator)) {
    throw new WorkerUnavailableError('This browser has no service workers (or the page is not served from a secure context such as https or localhost).');
  }
  const url = new URL(scriptUrl, location.href);
  url.searchParams.set('callback', callbackPath);
  const container = navigator.serviceWorker;
  const registering = container.register(url.href, { type: 'module', scope: '/' });
  if (container.controller?.scriptURL === url.href) {
    // Already in control (every load after the first): the page need not wait for the browser's
    // update check, which now and then stalls for seconds.
    registering.catch(() => undefined);
  } else {
    await registering;
    await takeControl(container, await container.ready);
  }

  return {
    request(message) {
      const target = container.controller;
      if (!target) return Promise.reject(new WorkerUnavailableError('The service worker no longer controls this page. Reload the page.'));
      return ask(target, message);
    },
    onBroadcast(listener) {
      const handler = (event: MessageEvent) => {
        const data = event.data as Partial<WorkerBroadcast> | null;
        if (data?.type === 'mcp-sw-auth:state' || data?.type === 'mcp-sw-auth:removed' || data?.type === 'mcp-sw-auth:result') listener(data as WorkerBroadcast);
      };
      container.addEventListener('message', handler);
      return () => container.removeEventListener('message', handler);
    },
    onControllerChange(listener) {
      container.addEventListener('controllerchange', listener);
      return () => container.removeEventListener('controllerchange', listener);
    },
  };
}
