// What became of each refused request, and of each authorization, for the window that made it.
// Kept in the worker's memory only: a window asks right after its call failed (or right after it
// came back from the authorization server), so nothing here needs to outlive the worker, and
// nothing a page could plant in storage is handed back as an outcome.
import type { ChallengeOutcome, FlowResult } from './messages.ts';

const OUTCOME_LIMIT = 500;
const RESULT_LIFETIME_MS = 60_000;

const outcomes: Array<ChallengeOutcome & { clientId: string }> = [];

export function recordOutcome(clientId: string, outcome: ChallengeOutcome): void {
  outcomes.push({ ...outcome, clientId });
  if (outcomes.length > OUTCOME_LIMIT) outcomes.splice(0, outcomes.length - OUTCOME_LIMIT);
}

/** The refused requests one window made to one server since `since`. */
export function outcomesFor(clientId: string, serverId: string, since: number): ChallengeOutcome[] {
  return outcomes
    .filter((o) => o.clientId === clientId && o.serverId === serverId && o.at >= since)
    .map(({ clientId: _window, ...outcome }) => outcome);
}

interface Delivery {
  result: FlowResult;
  /** The window the callback's redirect lands in, when the browser told us (FetchEvent.resultingClientId). */
  clientId: string;
  /** Otherwise, the first window at this URL to ask. */
  returnTo: string;
}

const results: Delivery[] = [];

/** Holds a flow's result for the window that the callback sends back to the app. */
export function holdResult(result: FlowResult, returnTo: string, clientId: string): void {
  results.push({ result, returnTo, clientId });
}

/** The result meant for this window, handed out once. */
export function takeResult(clientId: string, url: string): FlowResult | undefined {
  const now = Date.now();
  for (let i = results.length - 1; i >= 0; i--) if (now - results[i]!.result.at > RESULT_LIFETIME_MS) results.splice(i, 1);
  let index = results.findIndex((d) => d.clientId !== '' && d.clientId === clientId);
  if (index === -1) index = results.findIndex((d) => d.returnTo === url);
  if (index === -1) return undefined;
  return results.splice(index, 1)[0]!.result;
}
