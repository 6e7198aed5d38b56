// The scope ledger of one MCP server as pure state transitions, and the policy that decides what a
// refused request means. The worker applies them inside one IndexedDB transaction (db.ts), so
// concurrent challenges serialize and none is lost.
import type { AuthErrorInfo, PendingAuthorization, SignOutRevocation, TimelineEvent, Trigger } from './messages.ts';
import { coversScopes, nextRequestedScopes, unionScopes, type ScopeStrategy } from './scopes.ts';

export interface LedgerRecord {
  requested: string[];
  granted: string[];
  /** Union of the scopes asked for by every completed authorization since sign-out: the loop guard's memory. */
  everRequested: string[];
  authorizations: number;
  pending?: PendingAuthorization;
  error?: AuthErrorInfo;
  timeline: TimelineEvent[];
}

export const TIMELINE_LIMIT = 60;

export function emptyLedger(): LedgerRecord {
  return { requested: [], granted: [], everRequested: [], authorizations: 0, timeline: [] };
}

function withEvent<T extends LedgerRecord>(record: T, event: TimelineEvent): T {
  const timeline = [...record.timeline, event];
  return { ...record, timeline: timeline.slice(-TIMELINE_LIMIT) };
}

/** A pending authorization survives a step that does not ask for everything it needs. */
function pendingAfter(pending: PendingAuthorization | undefined, covered: readonly string[] | undefined): PendingAuthorization | undefined {
  if (!pending || !covered) return pending;
  return coversScopes(covered, pending.requested) ? undefined : pending;
}

function withPending<T extends LedgerRecord>(record: T, pending: PendingAuthorization | undefined): T {
  const { pending: _dropped, ...rest } = record;
  return (pending ? { ...rest, pending } : rest) as T;
}

function withoutError<T extends LedgerRecord>(record: T): T {
  const { error: _dropped, ...rest } = record;
  return rest as T;
}

export interface ChallengeInput {
  challenged: readonly string[];
  trigger: Trigger;
  strategy: ScopeStrategy;
  /** The window whose request was refused. */
  clientId?: string;
  at: number;
}

/** A challenge that needs an authorization: merge its scopes and mark the authorization as pending. */
export function applyChallenge<T extends LedgerRecord>(record: T, input: ChallengeInput): T {
  const requested = nextRequestedScopes(record.requested, input.challenged, input.strategy);
  const pending = record.pending;
  if (pending && pending.trigger.operation === input.trigger.operation && coversScopes(pending.requested, requested) && coversScopes(requested, pending.requested)) {
    return record; // the same challenge again (parallel requests): already waiting for this authorization
  }
  const next: PendingAuthorization = { challenged: [...input.challenged], requested, trigger: input.trigger, at: input.at };
  if (input.clientId) next.clientId = input.clientId;
  const updated = withoutError(withPending({ ...record, requested }, next));
  const last = record.timeline.at(-1);
  const event: TimelineEvent = { kind: 'challenge', at: input.at, status: input.trigger.status, operation: input.trigger.operation, challenged: [...input.challenged], requested };
  if (last?.kind === 'challenge' && last.status === event.status && last.operation === event.operation && input.at - last.at < BURST_MS) {
    // a burst of the same refusal is one entry, not one per request: each would carry the whole
    // requested set, and the timeline would grow with the square of the burst
    return { ...updated, timeline: [...record.timeline.slice(0, -1), { ...event, at: last.at, challenged: unionScopes(last.challenged, input.challenged) }] };
  }
  return withEvent(updated, event);
}

/** Refusals of one operation closer together than this are one timeline entry. */
const BURST_MS = 2_000;

/** The token a refused request carried, as the worker recorded it at issuance. */
export interface RefusedToken {
  /** Which install of the server's token this was (tokens.ts). */
  generation: number;
  /** The scopes the authorization that issued it asked for. */
  requested: readonly string[];
  /** The scopes it carries. */
  scopes: readonly string[];
  /** A server accepted it before this refusal. */
  accepted: boolean;
}

export interface ChallengeFacts {
  status: 401 | 403;
  /** The challenge's `error` (RFC 6750 §3.1). */
  error?: string;
  errorDescription?: string;
  challenged: readonly string[];
  operation: string;
  clientId?: string;
  refused?: RefusedToken;
  /** The generation of the token the worker holds for the server now; 0 when it holds none. */
  currentGeneration: number;
  strategy: ScopeStrategy;
  at: number;
}

export type ChallengeDecision =
  /** The answer is about an older token than the one held now: send the request again with the current one. */
  | 'resend'
  /** A 403 for a reason more scope cannot fix: hand the answer to the page as it is. */
  | 'not-a-scope-problem'
  /** Recorded as pending: the page is asked to authorize. */
  | 'authorize'
  /** Reported as an error: authorizing again would not help. */
  | 'refuse';

export interface ChallengePlan<T extends LedgerRecord> {
  record: T;
  decision: ChallengeDecision;
  /** The refused token is no good any more (a 401): drop it, if it is still the current one. */
  dropRefusedToken: boolean;
  /** A token that worked is now refused: the server may have moved to another authorization server. */
  rediscover: boolean;
}

/**
 * What a 401 or 403 means, decided from the ledger and the token the request carried. The loop
 * guard lives here: a 403 for scopes that an earlier, completed authorization already asked for
 * cannot be fixed by asking again (the authorization server withheld them, or a later request
 * dropped them under the `replace` strategy). A request that carried no token is always worth an
 * authorization, and an answer to an older token is no challenge to the current one.
 */
export function decideChallenge<T extends LedgerRecord & { name: string; url: string }>(record: T, facts: ChallengeFacts): ChallengePlan<T> {
  const keep = (decision: ChallengeDecision): ChallengePlan<T> => ({ record, decision, dropRefusedToken: false, rediscover: false });
  const { refused, status } = facts;
  if (refused && facts.currentGeneration !== 0 && refused.generation !== facts.currentGeneration) return keep('resend');
  if (status === 403 && facts.error !== 'insufficient_scope') return keep('not-a-scope-problem');

  const trigger: Trigger = { status, operation: facts.operation };
  const authorize = (dropRefusedToken: boolean, rediscover: boolean): ChallengePlan<T> => {
    const input: ChallengeInput = { challenged: facts.challenged, trigger, strategy: facts.strategy, at: facts.at };
    if (facts.clientId) input.clientId = facts.clientId;
    return { record: applyChallenge(record, input), decision: 'authorize', dropRefusedToken, rediscover };
  };
  const refuse = (error: AuthErrorInfo, dropRefusedToken: boolean): ChallengePlan<T> => ({
    record: applyError(record, error, facts.at),
    decision: 'refuse',
    dropRefusedToken,
    rediscover: false,
  });

  if (!refused) return authorize(false, false);
  if (status === 401) {
    if (refused.accepted) return authorize(true, true);
    const why = `${facts.error ?? 'invalid_token'}${facts.errorDescription ? `: ${facts.errorDescription}` : ''}`;
    return refuse(
      {
        code: 'token_rejected',
        message: `${record.name} refused a token the authorization server has just issued for it (${why}). Authorizing again would loop; check that the server accepts tokens with audience ${record.url} from its authorization server.`,
      },
      true,
    );
  }
  const guard = scopeNotGranted(record, facts.challenged, refused, facts.operation);
  return guard ? refuse(guard, false) : authorize(false, false);
}

/** The loop guard for a 403 `insufficient_scope` to a request that carried `refused`; undefined when asking again can help. */
export function scopeNotGranted(
  record: LedgerRecord & { name: string; url: string },
  challenged: readonly string[],
  refused: Pick<RefusedToken, 'requested' | 'scopes'>,
  operation: string,
): AuthErrorInfo | undefined {
  const where = `${record.name} (${record.url})`;
  const advice = 'No new authorization was started; check the consent given or the server\'s scope configuration, then use "Ask again".';
  if (challenged.length === 0) {
    // Without a scope to add, another authorization would ask for what the refused token already asked for.
    if (!coversScopes(refused.requested, record.requested)) return undefined;
    return {
      code: 'scope_not_granted',
      scopes: [],
      message: `Scope not granted: ${where} refused "${operation}" for insufficient scope without saying which scope it needs, and the token already carries everything asked for so far (${refused.scopes.join(' ') || 'no scope'}). The server must name the scope in its challenge (RFC 6750 §3.1). ${advice}`,
    };
  }
  if (!coversScopes(record.everRequested, challenged)) return undefined;
  const list = challenged.join(' ');
  let why: string;
  if (coversScopes(refused.scopes, challenged)) {
    why = `The token sent already carries ${list}, yet the server refused "${operation}" for it: the server and the authorization server disagree about this scope.`;
  } else if (!coversScopes(record.requested, challenged)) {
    why = `It was requested and granted in an earlier authorization, then dropped when a later authorization asked only for ${record.requested.join(' ') || 'other scopes'} (the "replace" strategy). Asking again would start the same cycle.`;
  } else {
    why = `The last authorization asked for it, but the authorization server granted only ${refused.scopes.join(' ') || 'no scope'}.`;
  }
  return {
    code: 'scope_not_granted',
    scopes: [...challenged],
    message: `Scope not granted: ${where} needs ${list} for "${operation}". ${why} ${advice}`,
  };
}

/** An error, shown until the next step. `covered`: the scopes of the authorization it ended, whose pending it closes. */
export function applyError<T extends LedgerRecord>(record: T, error: AuthErrorInfo, at: number, covered?: readonly string[]): T {
  return withEvent(withPending({ ...record, error }, pendingAfter(record.pending, covered)), { kind: 'error', at, code: error.code, message: error.message });
}

export type DiscoveryFacts = Omit<Extract<TimelineEvent, { kind: 'discovery' }>, 'kind' | 'at'>;

function sameDiscovery(event: TimelineEvent, facts: DiscoveryFacts): boolean {
  return (
    event.kind === 'discovery' &&
    event.resourceMetadataUrl === facts.resourceMetadataUrl &&
    event.authorizationServer === facts.authorizationServer &&
    event.registration === facts.registration &&
    event.clientId === facts.clientId
  );
}

/** Where the server sends the app to authorize, and who the app is there: shown once, and again when it changes. */
export function applyDiscovery<T extends LedgerRecord>(record: T, facts: DiscoveryFacts, at: number): T {
  const last = record.timeline.findLast((e) => e.kind === 'discovery');
  if (last && sameDiscovery(last, facts)) return record;
  return withEvent(record, { kind: 'discovery', at, ...facts });
}

/** `inPopup`: the page stays, and so does its prompt, until the popup's authorization ends (a closed popup leaves it). */
export function applyRedirect<T extends LedgerRecord>(record: T, requested: readonly string[], at: number, inPopup = false): T {
  const pending = inPopup ? record.pending : pendingAfter(record.pending, requested);
  return withEvent(withoutError(withPending(record, pending)), { kind: 'redirect', at, requested: [...requested] });
}

export function applyGrant<T extends LedgerRecord>(record: T, requested: readonly string[], granted: readonly string[], at: number): T {
  const next = {
    ...record,
    // A grant never shrinks what we ask for next time: what was requested stays requested.
    requested: unionScopes(record.requested, requested),
    granted: [...granted],
    everRequested: unionScopes(record.everRequested, requested),
    authorizations: record.authorizations + 1,
  };
  return withEvent(withoutError(withPending(next, pendingAfter(record.pending, requested))), { kind: 'grant', at, requested: [...requested], granted: [...granted] });
}

export function applyRefresh<T extends LedgerRecord>(record: T, granted: readonly string[], at: number): T {
  return withEvent({ ...record, granted: [...granted] }, { kind: 'refresh', at, granted: [...granted] });
}

export function applyRetry<T extends LedgerRecord>(record: T, operation: string, ok: boolean, at: number, detail?: string): T {
  const event: TimelineEvent = detail === undefined ? { kind: 'retry', at, operation, ok } : { kind: 'retry', at, operation, ok, detail };
  return withEvent(record, event);
}

/** Forgets every scope, the pending authorization and the error; keeps the timeline. */
export function applySignOut<T extends LedgerRecord>(record: T, at: number, revocation?: SignOutRevocation): T {
  const cleared = withoutError(withPending({ ...record, ...emptyLedger(), timeline: record.timeline }, undefined));
  return withEvent(cleared, revocation ? { kind: 'sign-out', at, revocation } : { kind: 'sign-out', at });
}
