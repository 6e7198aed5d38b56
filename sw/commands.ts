// Requests from the app's pages, each answered on the MessagePort that came with it. Only windows
// of this origin are answered; every request is checked before the worker acts on it.
import { addServer } from './add-server.ts';
import { authorize } from './authorize.ts';
import { AuthError, toErrorInfo } from './errors.ts';
import { applyRetry } from './ledger.ts';
import { MESSAGE_KEY, type WorkerEnvelope, type WorkerReply, type WorkerRequest } from './messages.ts';
import { outcomesFor, takeResult } from './outcomes.ts';
import { endFlowsOfTab, flowInFlight, forgetFlows, IN_FLIGHT_MS } from './flows.ts';
import { release, setStepUpMode } from './holds.ts';
import { allServers, autoRedirect, change, configure, ready, rebroadcast, setPreferences, strategy, toState, workerWarnings } from './registry.ts';
import { trustedServers } from './settings.ts';
import { removeServer } from './remove-server.ts';
import { signOut } from './sign-out.ts';

declare const self: ServiceWorkerGlobalScope;

/** Changes whenever the browser starts the worker anew (it stops idle workers). */
const instance = crypto.randomUUID();

interface Requester {
  id: string;
  url: string;
}

function snapshot(requester: Requester, extra: Partial<Extract<WorkerReply, { ok: true }>> = {}): WorkerReply {
  const trusted = trustedServers();
  return {
    ok: true,
    servers: allServers().map(toState),
    strategy: strategy(),
    autoRedirect: autoRedirect(),
    clientId: requester.id,
    instance,
    warnings: workerWarnings(),
    ...(trusted ? { trustedServers: [...trusted] } : {}),
    ...extra,
  };
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) throw new AuthError('invalid_config', `${what} must be a non-empty string.`);
  return value;
}

/** The page's name for its tab, when it gives one. */
function tabOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 100 ? value : undefined;
}

async function run(request: WorkerRequest, requester: Requester): Promise<WorkerReply> {
  if (request.type === 'claim') {
    await self.clients.claim();
    return snapshot(requester);
  }
  await ready();
  switch (request.type) {
    case 'configure': {
      await configure(request.config ?? {}, request.servers);
      setStepUpMode(requester.id, request.stepUp === 'popup' ? 'popup' : 'redirect');
      const result = takeResult(requester.id, requester.url);
      const tab = tabOf(request.tab);
      // back in the app: a redirect this tab left for and that did not complete will not (flows.ts)
      if (tab) for (const serverId of await endFlowsOfTab(tab)) rebroadcast(serverId);
      return snapshot(requester, result ? { result } : {});
    }
    case 'in-flight': {
      const flow = await flowInFlight(text(request.serverId, 'serverId'), requester.id, IN_FLIGHT_MS, rebroadcast);
      return snapshot(requester, flow ? { inFlight: { startedAt: flow.createdAt } } : {});
    }
    case 'state':
    case 'ping':
      return snapshot(requester);
    case 'challenges':
      return snapshot(requester, { challenges: outcomesFor(requester.id, text(request.serverId, 'serverId'), Number(request.since) || 0) });
    case 'authorize': {
      const { url, inFlight } = await authorize({
        serverId: text(request.serverId, 'serverId'),
        returnTo: text(request.returnTo, 'returnTo'),
        resumes: Array.isArray(request.resumes) ? request.resumes : [],
        force: request.force === true,
        popup: request.popup === true,
        popupBlocked: request.popupBlocked === true,
        requester: requester.id,
        tab: tabOf(request.tab),
      });
      return snapshot(requester, url ? { authorizationUrl: url } : inFlight ? { inFlight } : {});
    }
    case 'release': {
      const serverId = text(request.serverId, 'serverId');
      // a closed popup abandons its flow: nobody should wait for it
      if (request.reason === 'popup-closed') await forgetFlows(serverId, requester.id);
      await release(serverId, request.reason === 'cancelled' ? 'cancelled' : 'popup-closed', () => undefined);
      rebroadcast(serverId);
      return snapshot(requester);
    }
    case 'sign-out':
      await signOut(text(request.serverId, 'serverId'));
      return snapshot(requester);
    case 'add-server': {
      const record = await addServer(request.server);
      return snapshot(requester, { added: toState(record) });
    }
    case 'remove-server':
      await removeServer(text(request.serverId, 'serverId'));
      return snapshot(requester);
    case 'set-preferences':
      await setPreferences(request.preferences ?? {});
      return snapshot(requester);
    case 'log-retry':
      await change(text(request.serverId, 'serverId'), (r) =>
        applyRetry(r, text(request.operation, 'operation').slice(0, 400), request.ok === true, Date.now(), typeof request.detail === 'string' ? request.detail.slice(0, 1000) : undefined),
      );
      return snapshot(requester);
    default:
      throw new AuthError('invalid_config', `Unknown request ${JSON.stringify((request as { type?: unknown }).type)}.`);
  }
}

/** Whether a message is ours: anything else is left to the host worker's own handlers. */
export function isOurs(data: unknown): data is WorkerEnvelope {
  const request = (data as Partial<WorkerEnvelope> | null)?.[MESSAGE_KEY];
  return typeof request === 'object' && request !== null && typeof request.type === 'string';
}

export async function handleMessage(event: ExtendableMessageEvent): Promise<void> {
  const port = event.ports[0];
  const source = event.source;
  if (!port || event.origin !== self.location.origin || !(source instanceof WindowClient) || !isOurs(event.data)) return;
  let reply: WorkerReply;
  try {
    reply = await run(event.data[MESSAGE_KEY], { id: source.id, url: source.url });
  } catch (error) {
    reply = { ok: false, error: toErrorInfo(error, 'worker_unavailable', 'The worker could not handle the request') };
  }
  port.postMessage(reply);
}
