// What the worker does with a refused request (401/403): read the challenge, let the ledger's
// policy decide inside one transaction, carry out the decision, and remember the outcome for the
// window that made the request.
import { parseBearerChallenge } from './challenge.ts';
import type { ServerRecord } from './db.ts';
import { forget, hintResourceMetadata } from './discovery.ts';
import { applyError, decideChallenge, type ChallengeDecision, type ChallengePlan } from './ledger.ts';
import type { ChallengeOutcome } from './messages.ts';
import { recordOutcome } from './outcomes.ts';
import { change, strategy } from './registry.ts';
import { currentGeneration, dropToken, type TokenSet } from './tokens.ts';

const OUTCOME: Record<ChallengeDecision, ChallengeOutcome['outcome']> = {
  resend: 'authorization-needed', // never recorded: see below
  authorize: 'authorization-needed',
  refuse: 'refused',
  'not-a-scope-problem': 'not-a-scope-problem',
};

export async function onRefused(server: ServerRecord, response: Response, sent: TokenSet | undefined, operation: string, clientId: string): Promise<ChallengeDecision> {
  const status = response.status as 401 | 403;
  const at = Date.now();
  const parsed = parseBearerChallenge(response.headers.get('WWW-Authenticate'));
  if (!parsed.ok) {
    const message = `${server.name} answered ${status} to "${operation}" with a challenge the worker cannot read: ${parsed.error.message} If the server is cross-origin, it must list WWW-Authenticate in Access-Control-Expose-Headers.`;
    await change(server.id, (r) => applyError(r, { code: 'challenge_malformed', message }, at));
    recordOutcome(clientId, { serverId: server.id, at, status, operation, outcome: 'refused', scopes: [] });
    return 'refuse';
  }
  const challenge = parsed.value;
  if (challenge.resourceMetadata) hintResourceMetadata(server.url, challenge.resourceMetadata);

  let plan: ChallengePlan<ServerRecord> | undefined;
  await change(server.id, (record) => {
    plan = decideChallenge(record, {
      status,
      ...(challenge.error !== undefined ? { error: challenge.error } : {}),
      ...(challenge.errorDescription !== undefined ? { errorDescription: challenge.errorDescription } : {}),
      challenged: challenge.scope,
      operation,
      clientId,
      ...(sent ? { refused: { generation: sent.generation, requested: sent.requested, scopes: sent.scopes, accepted: sent.accepted } } : {}),
      currentGeneration: currentGeneration(server.id),
      strategy: strategy(),
      at,
    });
    return plan.record;
  });
  if (!plan) return 'not-a-scope-problem'; // the server is no longer registered
  if (plan.dropRefusedToken && sent) dropToken(server.id, sent);
  // A token that worked and is now refused may mean the server moved to another authorization server.
  if (plan.rediscover) forget(server.url);
  // a resent request is answered anew; only the answer that reaches the page is its outcome
  if (plan.decision !== 'resend') recordOutcome(clientId, { serverId: server.id, at, status, operation, outcome: OUTCOME[plan.decision], scopes: [...challenge.scope] });
  return plan.decision;
}
