// The requests to each MCP server that are still under way, so that an authorization can wait for
// a burst of challenges to reach the ledger first and then ask for all of their scopes at once.

const unsettled = new Map<string, Set<Promise<unknown>>>();

/** Tracks `work` (a request to the server being answered) until it settles. */
export function track<T>(serverId: string, work: Promise<T>): Promise<T> {
  let set = unsettled.get(serverId);
  if (!set) unsettled.set(serverId, (set = new Set()));
  set.add(work);
  const done = () => set.delete(work);
  work.then(done, done);
  return work;
}

/**
 * Resolves once every request to the server that was under way has its answer and any challenge
 * in it has reached the ledger, or after `limitMs`, whichever comes first.
 */
export async function settled(serverId: string, limitMs = 1500): Promise<void> {
  const pending = [...(unsettled.get(serverId) ?? [])];
  if (pending.length === 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([Promise.allSettled(pending), new Promise((resolve) => (timer = setTimeout(resolve, limitMs)))]);
  clearTimeout(timer);
}
