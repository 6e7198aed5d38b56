// Authorizations, counted at each world's authorization server (`GET /__log`), per MCP server:
// - growth: GROWTH_ROUNDS rounds of connect, add-note, delete-note, export-notes on Notes, signed out
//   between rounds (the rounds themselves run in callback.ts): GROWTH_STEPS per round;
// - reload: the page reloaded, the client reconnects and calls a tool: none;
// - burst: BURST concurrent `403`s for BURST different scopes (the Calendar bench route), then one
//   Authorize click, then the same BURST calls again (the authorization server does not know
//   `bench:*` and grants none, so they are refused again; the worker must not start another
//   authorization for them): one, asking for all of them;
// - restart: after the worker was stopped (restart.ts), a call, and Authorize if a prompt shows: at
//   most one.
import type { Page } from '@playwright/test';

import { ledger } from '../world.ts';
import { GROWTH_ROUNDS, type GrowthRound } from './callback.ts';
import { round } from './stats.ts';
import { authorizeInUi, resultLine, runTool } from './ui.ts';
import { authorizations, type Side } from './world.ts';

export const BURST = 50;

/** BURST concurrent 403s from the page and the state broadcasts they caused. */
async function burst(page: Page, base: string, n: number, label: string): Promise<{ statuses: number[]; ms: number; broadcasts: number }> {
  const result = await page.evaluate(
    async ({ base, n, label }) => {
      const w = window as unknown as { __benchBroadcasts?: number; __benchCounting?: boolean };
      if (!w.__benchCounting) {
        w.__benchCounting = true;
        navigator.serviceWorker.addEventListener('message', (event) => {
          const data = event.data as { type?: string; server?: { id?: string } } | null;
          if (data?.type === 'mcp-sw-auth:state' && data.server?.id === 'calendar') w.__benchBroadcasts = (w.__benchBroadcasts ?? 0) + 1;
        });
      }
      w.__benchBroadcasts = 0;
      const t0 = performance.now();
      const statuses = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          fetch(`${base}/bench/challenge?n=${i}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: `${label}-${i}`, arguments: {} } }),
          }).then((r) => r.status),
        ),
      );
      return { statuses, ms: performance.now() - t0 };
    },
    { base, n, label },
  );
  // let the last broadcasts land: quiet for 300 ms (at most 5 s)
  let last = -1;
  for (let i = 0; i < 17; i++) {
    const now = await page.evaluate(() => (window as unknown as { __benchBroadcasts?: number }).__benchBroadcasts ?? 0);
    if (now === last) break;
    last = now;
    await page.waitForTimeout(300);
  }
  return { statuses: result.statuses, ms: round(result.ms), broadcasts: Math.max(last, 0) };
}

export interface GrowthCounts {
  growth: Array<{ round: number; authorizations: number; requested: string[] }>;
  growthExpectedRounds: number;
}

/** The authorizations each growth round asked for. */
export function growthAuthorizations(rounds: readonly GrowthRound[]): GrowthCounts {
  return { growth: rounds.map((g) => ({ round: g.round, authorizations: g.requested.length, requested: g.requested })), growthExpectedRounds: GROWTH_ROUNDS };
}

export interface ReloadFigures {
  authorizations: number;
  reconnectOk: boolean;
  callOk: boolean;
}

/** A reload needs no authorization: the page reloads, the client reconnects to Notes and lists the notes. */
export async function reloadAuthorizations(side: Side): Promise<ReloadFigures> {
  const { page, cfg } = side;
  const before = (await authorizations(cfg, cfg.notesUrl)).length;
  await page.reload();
  await page.getByTestId('status-notes').filter({ hasNotText: 'Starting' }).waitFor();
  const reconnect = await resultLine(page, 'notes', 'connect + tools/list');
  const list = await resultLine(page, 'notes', 'tools/call list-notes', await runTool(page, 'notes', 'list-notes'));
  return { authorizations: (await authorizations(cfg, cfg.notesUrl)).length - before, reconnectOk: reconnect.ok, callOk: list.ok };
}

export interface BurstFigures {
  statuses: number[];
  burstMs: number;
  broadcasts: number;
  scopesInLedger: number;
  scopesInFirstAuthorization: number;
  authorizations: number;
  authorizationScopes: number[];
  retries: Array<{ statuses: number[]; prompt: boolean }>;
}

/** BURST concurrent challenges on Calendar, one Authorize click, the same calls again. */
export async function burstAuthorizations(side: Side): Promise<BurstFigures> {
  const { page, cfg } = side;
  const before = (await authorizations(cfg, cfg.calendarUrl)).length;
  const first = await burst(page, cfg.calendarUrl, BURST, 'burst');
  const afterBurst = await ledger(page, 'calendar');
  const wanted = Array.from({ length: BURST }, (_, i) => `bench:${i}`);
  const inLedger = wanted.filter((s) => afterBurst?.requested.includes(s)).length;
  await page.getByTestId('prompt-calendar').waitFor({ timeout: 10_000 });
  await authorizeInUi(side, 'calendar');
  await page.getByTestId('status-calendar').filter({ hasNotText: 'Starting' }).waitFor();
  const requests = (await authorizations(cfg, cfg.calendarUrl)).slice(before);
  const inRequest = wanted.filter((s) => (requests[0]?.scope ?? '').split(' ').includes(s)).length;
  // the 50 calls again: the authorization server does not know bench:* and granted none of them,
  // so each is refused again; the worker must not start another authorization for them
  const retries: Array<{ statuses: number[]; prompt: boolean }> = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const again = await burst(page, cfg.calendarUrl, BURST, `retry${attempt}`);
    const prompt = (await page.getByTestId('prompt-calendar').count()) > 0;
    retries.push({ statuses: [...new Set(again.statuses)], prompt });
    if (!prompt) break;
    await authorizeInUi(side, 'calendar'); // what a user would do: click Authorize again
  }
  const total = (await authorizations(cfg, cfg.calendarUrl)).slice(before);
  return {
    statuses: [...new Set(first.statuses)],
    burstMs: first.ms,
    broadcasts: first.broadcasts,
    scopesInLedger: inLedger,
    scopesInFirstAuthorization: inRequest,
    authorizations: total.length,
    authorizationScopes: total.map((a) => (a.scope ?? '').split(' ').length),
    retries,
  };
}

export interface AfterRestart {
  prompted: boolean;
  promptText: string;
  /** authorization requests for Notes since `before` */
  authorizations: number;
  authorizationScopes: string[];
  callAfterOk: boolean;
}

/**
 * What the worker restarts (restart.ts) cost in authorizations: a prompt if the cold requests got a
 * 401 (bearer tokens lived in the stopped worker's memory; DPoP-bound ones are kept in IndexedDB),
 * Authorize through the UI then, and one call. `before`: the Notes authorizations before the stops.
 */
export async function restartAuthorizations(side: Side, before: number, coldStatuses: readonly number[]): Promise<AfterRestart> {
  const { page, cfg } = side;
  const prompt = page.getByTestId('prompt-notes');
  const prompted = coldStatuses.some((s) => s === 401)
    ? await prompt.waitFor({ timeout: 10_000 }).then(
        () => true,
        () => false,
      )
    : (await prompt.count()) > 0;
  const promptText = prompted ? ((await prompt.textContent()) ?? '') : '';
  if (prompted) {
    await authorizeInUi(side, 'notes');
    await resultLine(page, 'notes', 'connect + tools/list');
  }
  const add = await resultLine(page, 'notes', 'tools/call add-note', await runTool(page, 'notes', 'add-note', { text: 'after the restart' }));
  const after = (await authorizations(cfg, cfg.notesUrl)).slice(before);
  return { prompted, promptText: promptText.trim(), authorizations: after.length, authorizationScopes: after.map((a) => a.scope ?? ''), callAfterOk: add.ok };
}

/** The Notes authorizations a world's authorization server has seen so far (restartAuthorizations' `before`). */
export async function notesAuthorizationCount(side: Side): Promise<number> {
  return (await authorizations(side.cfg, side.cfg.notesUrl)).length;
}
