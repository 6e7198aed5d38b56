// Requests held while the user authorizes in a popup. A request refused for scope the ledger can
// grow to, from a window that steps up in a popup, is not answered yet: it joins its server's hold,
// with every request refused while the hold is open, so one authorization serves them all. When
// the grant arrives each is sent again with the new token and its original fetch resolves with that
// answer; on a decline, a closed popup, a cancel or the timeout, each gets the server's original
// challenge, as in redirect mode. Replaying is safe: the server refused each before acting on it.
// Held bodies stay in memory, bounded per server.

export type StepUpMode = 'popup' | 'redirect';
export type ReleaseReason = 'granted' | 'declined' | 'popup-closed' | 'cancelled' | 'timeout';

/** At most this many requests, and this many bytes of bodies, are held per server; the rest are answered at once. */
export const HOLD_LIMIT = { requests: 50, bytes: 1_000_000 };
/** Below Chromium's limit for one pending fetch event (about 5 minutes). */
export const MAX_HOLD_MS = 4 * 60_000;

interface Held {
  challenge: Response;
  bytes: number;
  /** Sends the request again with whatever token the server has now. */
  resend: () => Promise<Response>;
  resolve: (response: Response) => void;
}

interface Hold {
  held: Held[];
  bytes: number;
  timer: ReturnType<typeof setTimeout>;
}

const holds = new Map<string, Hold>();
const modes = new Map<string, StepUpMode>();
let timeoutMs = 2 * 60_000;

export function setHoldTimeout(ms: number): void {
  timeoutMs = Math.min(Math.max(ms, 1_000), MAX_HOLD_MS);
}

/** How a window steps up, as it said when it configured the worker (unknown windows: redirect). */
export function setStepUpMode(clientId: string, mode: StepUpMode): void {
  modes.set(clientId, mode);
}

export function stepUpMode(clientId: string): StepUpMode {
  return modes.get(clientId) ?? 'redirect';
}

export function heldCount(serverId: string): number {
  return holds.get(serverId)?.held.length ?? 0;
}

/**
 * Holds a refused request until the server's hold is released. Returns undefined when the hold is
 * full: the caller answers with the challenge at once.
 */
export function hold(serverId: string, challenge: Response, bytes: number, resend: () => Promise<Response>, onChange: () => void): Promise<Response> | undefined {
  let current = holds.get(serverId);
  if (current && (current.held.length >= HOLD_LIMIT.requests || current.bytes + bytes > HOLD_LIMIT.bytes)) return undefined;
  if (!current) {
    current = { held: [], bytes: 0, timer: setTimeout(() => void release(serverId, 'timeout', onChange), timeoutMs) };
    holds.set(serverId, current);
  }
  const entry = current;
  return new Promise<Response>((resolve) => {
    entry.held.push({ challenge, bytes, resend, resolve });
    entry.bytes += bytes;
    onChange();
  });
}

/** Answers every request held for the server: sent again after a grant, else with its challenge. */
export async function release(serverId: string, reason: ReleaseReason, onChange: () => void): Promise<void> {
  const current = holds.get(serverId);
  if (!current) return;
  holds.delete(serverId);
  clearTimeout(current.timer);
  onChange();
  await Promise.all(
    current.held.map(async (held) => {
      if (reason !== 'granted') return held.resolve(held.challenge);
      try {
        held.resolve(await held.resend());
      } catch {
        held.resolve(held.challenge);
      }
    }),
  );
}
