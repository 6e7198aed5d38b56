// Authorizations the user is at the authorization server for. Each is kept in memory and in
// IndexedDB (the worker may be stopped while the user signs in); what comes back from IndexedDB is
// checked like any stored record, and its endpoints are discovered again before anything is sent.
import { deleteFlowsOf, loadFlows, saveFlow, takeFlow as takeStoredFlow, type StoredFlow } from './db.ts';

/** A flow left at the authorization server longer than this is refused. */
export const FLOW_LIFETIME_MS = 15 * 60_000;
/**
 * How long a window's authorization counts as under way for other tabs, at most. Past it any tab may
 * start a new one; before it, a tab can still choose to (`force`). A flow whose window is known to be
 * gone stops counting at once (`flowInFlight`); this bounds the rest: a tab closed while it is at the
 * authorization server cannot be told from one whose user is still reading the consent page.
 */
export const IN_FLIGHT_MS = 2 * 60_000;

declare const self: ServiceWorkerGlobalScope;

const flows = new Map<string, StoredFlow>();
let restored: Promise<void> | undefined;

function isLive(flow: StoredFlow, now = Date.now()): boolean {
  return now - flow.createdAt < FLOW_LIFETIME_MS;
}

/** After a restart, the flows started by the worker's previous life (once). */
function restore(): Promise<void> {
  restored ??= loadFlows((flow) => isLive(flow)).then(
    (stored) => {
      for (const flow of stored) if (!flows.has(flow.state)) flows.set(flow.state, flow);
    },
    (error: unknown) => {
      restored = undefined;
      throw error;
    },
  );
  return restored;
}

/** The latest flow for the server this worker started and that is still recent enough to wait for (memory only). */
export function flowUnderWay(serverId: string, withinMs: number): StoredFlow | undefined {
  const now = Date.now();
  let latest: StoredFlow | undefined;
  for (const flow of flows.values()) {
    if (flow.serverId === serverId && now - flow.createdAt < withinMs && (!latest || flow.createdAt > latest.createdAt)) latest = flow;
  }
  return latest;
}

export async function rememberFlow(flow: StoredFlow): Promise<void> {
  flows.set(flow.state, flow);
  await saveFlow(flow);
}

/** The flow for `state`, single use: removed from memory and IndexedDB. */
export async function takeFlow(state: string): Promise<StoredFlow | undefined> {
  const inMemory = flows.get(state);
  flows.delete(state);
  const stored = await takeStoredFlow(state);
  // the worker's own record wins over whatever the database holds under the same state
  return inMemory ?? stored;
}

/**
 * Whether nobody can finish the flow any more. A popup's flow needs the window that opened it (the
 * callback reports there, and its held requests are there): closed, or navigated to another page,
 * that window is no longer a client of the worker. A redirect's window is meant to be gone (it is at
 * the authorization server), so only its tab coming back without a result ends it (`endFlowsOfTab`).
 */
async function abandoned(flow: StoredFlow): Promise<boolean> {
  return flow.display === 'popup' && (await self.clients.get(flow.startedBy)) === undefined;
}

/**
 * Another window's flow for this server that is still recent enough to wait for, and whose window can
 * still finish it. Flows found abandoned are ended; `onEnded` learns which servers lost one.
 */
export async function flowInFlight(serverId: string, requester: string, withinMs: number, onEnded: (serverId: string) => void = () => undefined): Promise<StoredFlow | undefined> {
  await restore();
  const now = Date.now();
  for (const flow of [...flows.values()]) {
    if (flow.serverId !== serverId || flow.startedBy === requester || now - flow.createdAt >= withinMs) continue;
    if (!(await abandoned(flow))) return flow;
    await endFlow(flow);
    onEnded(serverId);
  }
  return undefined;
}

async function endFlow(flow: StoredFlow): Promise<void> {
  flows.delete(flow.state);
  await takeStoredFlow(flow.state);
}

/**
 * A tab is back in the app (loaded, or restored from the back/forward cache) without the result of
 * the redirect it left for: the user came back from the authorization server some other way (Back,
 * a bookmark), so that authorization will not complete and other tabs need not wait for it. A
 * redirect that completes has taken its flow before the tab loads (strategies/callback.ts). Returns
 * the servers whose flow ended.
 */
export async function endFlowsOfTab(tab: string): Promise<string[]> {
  await restore();
  const ended: string[] = [];
  for (const flow of [...flows.values()]) {
    if (flow.display !== 'page' || flow.tab !== tab) continue;
    await endFlow(flow);
    ended.push(flow.serverId);
  }
  return ended;
}

/**
 * Ends the server's flows (all of them on sign-out: a consent given after it completes nothing), or
 * only those one window started (its popup was closed: other tabs need not wait for it).
 */
export async function forgetFlows(serverId: string, startedBy?: string): Promise<void> {
  await restore();
  for (const flow of [...flows.values()]) {
    if (flow.serverId !== serverId || (startedBy !== undefined && flow.startedBy !== startedBy)) continue;
    if (startedBy === undefined) flows.delete(flow.state);
    else await endFlow(flow);
  }
  // all of them: one transaction, which also takes any stored under the server that this worker never restored
  if (startedBy === undefined) await deleteFlowsOf(serverId);
}
