// The requests to each MCP server that are still under way, so that an authorization can wait for
// a burst of challenges to reach the ledger first and then ask for all of their scopes at once. A
// request counts until it has its answer, or until it is held for a popup step-up (its challenge
// is in the ledger by then).

const unsettled = new Map<string, Set<Promise<void>>>();

/** Marks a request to the server as under way; call the returned function (once or more) when it has settled. */
export function begin(serverId: string): () => void {
  let set = unsettled.get(serverId);
  if (!set) unsettled.set(serverId, (set = new Set()));
  let end: () => void = () => undefined;
  const settledPromise = new Promise<void>((resolve) => (end = resolve));
  set.add(settledPromise);
  const own = set;
  return () => {
    end();
    own.delete(settledPromise);
  };
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
