// The scope ledger of one MCP server as pure state transitions: what was requested, what was
// granted, and what happened. The worker applies them inside one IndexedDB transaction (db.ts).
import type { AuthErrorInfo, ServerState, TimelineEvent, Trigger } from './messages.ts';
import { coversScopes, nextRequestedScopes, unionScopes, type ScopeStrategy } from './scopes.ts';

export interface LedgerRecord {
  requested: string[];
  granted: string[];
  /** Union of the scopes asked for by every completed authorization since sign-out: the loop guard's memory. */
  everRequested: string[];
  authorizations: number;
  pending?: ServerState['pending'];
  error?: AuthErrorInfo;
  timeline: TimelineEvent[];
  resourceMetadataUrl?: string;
}

const TIMELINE_LIMIT = 60;

export function emptyLedger(): LedgerRecord {
  return { requested: [], granted: [], everRequested: [], authorizations: 0, timeline: [] };
}

function withEvent<T extends LedgerRecord>(record: T, event: TimelineEvent): T {
  const timeline = [...record.timeline, event];
  return { ...record, timeline: timeline.slice(-TIMELINE_LIMIT) };
}

export interface ChallengeInput {
  challenged: readonly string[];
  trigger: Trigger;
  strategy: ScopeStrategy;
  resourceMetadataUrl?: string;
  at: number;
}

/** A challenge that needs an authorization: merge its scopes and mark the authorization as pending. */
export function applyChallenge<T extends LedgerRecord>(record: T, input: ChallengeInput): T {
  const requested = nextRequestedScopes(record.requested, input.challenged, input.strategy);
  const pending = record.pending;
  if (pending && pending.trigger.operation === input.trigger.operation && coversScopes(pending.requested, requested) && coversScopes(requested, pending.requested)) {
    return record; // the same challenge again (parallel requests): already waiting for this authorization
  }
  const next: T = {
    ...record,
    requested,
    pending: { challenged: [...input.challenged], requested, trigger: input.trigger, at: input.at },
    error: undefined,
  };
  if (input.resourceMetadataUrl) next.resourceMetadataUrl = input.resourceMetadataUrl;
  return withEvent(next, {
    kind: 'challenge',
    at: input.at,
    status: input.trigger.status,
    operation: input.trigger.operation,
    challenged: [...input.challenged],
    requested,
  });
}

/**
 * The loop guard. A 403 for scopes that an earlier, completed authorization already asked for
 * means asking again cannot help: either the authorization server withheld them, or they were
 * dropped from a later request (the `replace` strategy). Returns the error to report, or
 * undefined when a new authorization is the right answer.
 */
export function scopeNotGranted(
  record: LedgerRecord & { name: string; url: string },
  challenged: readonly string[],
  tokenScopes: readonly string[],
  operation: string,
): AuthErrorInfo | undefined {
  if (challenged.length === 0 || !coversScopes(record.everRequested, challenged)) return undefined;
  const list = challenged.join(' ');
  const where = `${record.name} (${record.url})`;
  let why: string;
  if (coversScopes(tokenScopes, challenged)) {
    why = `The token sent already carries ${list}, yet the server refused "${operation}" for it: the server and the authorization server disagree about this scope.`;
  } else if (!coversScopes(record.requested, challenged)) {
    why = `It was requested and granted in an earlier authorization, then dropped when a later authorization asked only for ${record.requested.join(' ') || 'other scopes'} (the "replace" strategy). Asking again would start the same cycle.`;
  } else {
    why = `The last authorization asked for it, but the authorization server granted only ${tokenScopes.join(' ') || 'no scope'}.`;
  }
  return {
    code: 'scope_not_granted',
    scopes: [...challenged],
    message: `Scope not granted: ${where} needs ${list} for "${operation}". ${why} No new authorization was started; check the consent given or the server's scope configuration.`,
  };
}

export function applyError<T extends LedgerRecord>(record: T, error: AuthErrorInfo, at: number): T {
  return withEvent({ ...record, error, pending: undefined }, { kind: 'error', at, code: error.code, message: error.message });
}

export function applyRedirect<T extends LedgerRecord>(record: T, requested: readonly string[], at: number): T {
  return withEvent({ ...record, pending: undefined, error: undefined }, { kind: 'redirect', at, requested: [...requested] });
}

export function applyGrant<T extends LedgerRecord>(record: T, requested: readonly string[], granted: readonly string[], at: number): T {
  return withEvent(
    {
      ...record,
      // A grant never shrinks what we ask for next time: what was requested stays requested.
      requested: unionScopes(record.requested, requested),
      granted: [...granted],
      everRequested: unionScopes(record.everRequested, requested),
      authorizations: record.authorizations + 1,
      pending: undefined,
      error: undefined,
    },
    { kind: 'grant', at, requested: [...requested], granted: [...granted] },
  );
}

export function applyRefresh<T extends LedgerRecord>(record: T, granted: readonly string[], at: number): T {
  return withEvent({ ...record, granted: [...granted] }, { kind: 'refresh', at, granted: [...granted] });
}

export function applyRetry<T extends LedgerRecord>(record: T, operation: string, ok: boolean, at: number, detail?: string): T {
  const event: TimelineEvent = detail === undefined ? { kind: 'retry', at, operation, ok } : { kind: 'retry', at, operation, ok, detail };
  return withEvent(record, event);
}

export function applySignOut<T extends LedgerRecord>(record: T, at: number): T {
  return withEvent({ ...record, ...emptyLedger(), timeline: record.timeline }, { kind: 'sign-out', at });
}
