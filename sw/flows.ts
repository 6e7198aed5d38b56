// Authorizations the user is at the authorization server for. Each is kept in memory and in
// IndexedDB (the worker may be stopped while the user signs in); what comes back from IndexedDB is
// checked like any stored record, and its endpoints are discovered again before anything is sent.
import { loadFlows, saveFlow, takeFlow as takeStoredFlow, type StoredFlow } from './db.ts';

/** A flow left at the authorization server longer than this is refused. */
export const FLOW_LIFETIME_MS = 15 * 60_000;
/**
 * How long a window's authorization counts as under way for other tabs. Past it (an abandoned
 * flow) any tab may start a new one; before it, a tab can still choose to (`force`).
 */
export const IN_FLIGHT_MS = 2 * 60_000;

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

/** Another window's flow for this server that is still recent enough to wait for. */
export async function flowInFlight(serverId: string, requester: string, withinMs: number): Promise<StoredFlow | undefined> {
  await restore();
  const now = Date.now();
  return [...flows.values()].find((flow) => flow.serverId === serverId && flow.startedBy !== requester && now - flow.createdAt < withinMs);
}

/**
 * Ends the server's flows (all of them on sign-out: a consent given after it completes nothing), or
 * only those one window started (its popup was closed: other tabs need not wait for it).
 */
export async function forgetFlows(serverId: string, startedBy?: string): Promise<void> {
  await restore();
  for (const flow of [...flows.values()]) {
    if (flow.serverId !== serverId || (startedBy !== undefined && flow.startedBy !== startedBy)) continue;
    flows.delete(flow.state);
    await takeStoredFlow(flow.state);
  }
}
