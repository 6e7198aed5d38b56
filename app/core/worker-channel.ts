// Request/reply with the service worker over MessageChannel, and its state broadcasts.
import type { WorkerBroadcast, WorkerReply, WorkerRequest } from '../../sw/messages.ts';

export class WorkerUnavailableError extends Error {
  override readonly name = 'WorkerUnavailableError';
}

export interface WorkerChannel {
  request(message: WorkerRequest): Promise<WorkerReply>;
  onBroadcast(listener: (message: WorkerBroadcast) => void): () => void;
}

const REPLY_TIMEOUT_MS = 15_000;

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
    await container.ready;
    if (!container.controller) {
      await new Promise<void>((resolve) => container.addEventListener('controllerchange', () => resolve(), { once: true }));
    }
  }

  return {
    request(message) {
      const target = container.controller;
      if (!target) return Promise.reject(new WorkerUnavailableError('The service worker does not control this page (was it opened with a hard reload?). Reload the page.'));
      return new Promise<WorkerReply>((resolve, reject) => {
        const { port1, port2 } = new MessageChannel();
        const timer = setTimeout(() => reject(new WorkerUnavailableError(`The service worker did not answer "${message.type}".`)), REPLY_TIMEOUT_MS);
        port1.onmessage = (event: MessageEvent<WorkerReply>) => {
          clearTimeout(timer);
          port1.close();
          resolve(event.data);
        };
        target.postMessage(message, [port2]);
      });
    },
    onBroadcast(listener) {
      const handler = (event: MessageEvent) => {
        const data = event.data as Partial<WorkerBroadcast> | null;
        if (data?.type === 'mcp-sw-auth:state') listener(data as WorkerBroadcast);
      };
      container.addEventListener('message', handler);
      return () => container.removeEventListener('message', handler);
    },
  };
}
