// `npm run bench`: the performance benchmark. One run, in Chromium, against the real servers on this
// machine. The worker is measured twice in the same run, against two worlds: one whose authorization
// server issues bearer tokens (MCP_SW_AUTH_DPOP=0) and one with DPoP on, as the demo ships. Both are
// compared with the same direct side (no worker, a bearer token the harness got from Node, the bearer
// world) and with the same request through a no-op service worker (the floor of any worker). The
// popup step-up is measured in each world too, on a side of its own whose page steps up in a popup.
// Prints a table (each figure next to its target) and writes bench-results/bench.json with every
// raw figure. `npm run bench -- --readme` also rewrites the table in README.md. Timings are
// reported, never asserted. See e2e/bench/README.md for what each figure measures.
//
// This file only orchestrates: it builds the app, starts the worlds (world.ts), launches Chromium,
// opens the sides, runs each figure's module in its phase (callback.ts, authorizations.ts,
// overhead.ts, sse.ts, challenge.ts, popup.ts, restart.ts, sizes.ts), puts their figures together
// and hands them to report.ts for the table, bench.json/bench.txt and the README rewrite. A phase
// that fails is reported and the others still run.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

import { chromium, type Browser, type Worker } from '@playwright/test';

import { workerScript } from '../../servers/worker-script.ts';
import { burstAuthorizations, growthAuthorizations, notesAuthorizationCount, reloadAuthorizations, restartAuthorizations, BURST, type BurstFigures, type ReloadFigures } from './authorizations.ts';
import { calendarConnect, callbackToRetry, growthRound, GROWTH_ROUNDS, GROWTH_STEPS, type GrowthRound, type RetrySample } from './callback.ts';
import { challengeToUi, STEP_UP_PROFILE_SAMPLES, STEP_UP_SAMPLES, type ChallengeFigures } from './challenge.ts';
import { openNoopSide, NOOP_SCOPE, type NoopSide } from './noop.ts';
import { tokenFromNode } from './oauth-node.ts';
import { BATCH, overheadSplit, PROFILE_REQUESTS, REQUESTS, WARMUP, warmOverhead } from './overhead.ts';
import { openPopupSide, popupBurst, popupCalendarConnect, popupFigures, popupGrowthRound, POPUP_ROUNDS, type HeldSample, type PopupBurst, type PopupFigures, type PopupRound } from './popup.ts';
import { appWorker, PING, workerOf } from './probes.ts';
import { buildRows, details, headerLine, TARGETS, updateReadme, type BindingFigures, type DirectFigures, type Figures, type NoopFigures, type RestartFigures } from './report.ts';
import { firstRequestAfterStop, RESTART_SAMPLES, type NoopTarget } from './restart.ts';
import { buildApp, measureSizes } from './sizes.ts';
import { FIRST_EVENT_RUNS, sse as measureSse, SSE_BYTES, SSE_CHUNK, SSE_RUNS } from './sse.ts';
import { markdownTable, round } from './stats.ts';
import { openApp } from './ui.ts';
import { BINDINGS, chromiumPath, DIRECT_WORLD, LABEL, LAUNCH_ARGS, log, MCP_HEADERS, openDirectSide, openSide, startWorld, targetsOf, WORLDS, type Binding, type PlainSide, type Side, type SideKey } from './world.ts';

// Playwright inspects a service worker's own network traffic over CDP by default, which only the
// worker sides would pay for. The page's requests stay inspected on every side.
process.env.PLAYWRIGHT_DISABLE_SERVICE_WORKER_NETWORK = '1';

const ROOT = join(import.meta.dirname, '..', '..');
const RESULTS = join(ROOT, 'bench-results');
const OUT_DIR = join(RESULTS, 'dist');
const README = join(ROOT, 'README.md');
const WRITE_README = process.argv.includes('--readme');

interface PhaseError {
  phase: string;
  message: string;
}

/** Which code was measured: the commit, and whether the checkout differs from it. */
function source(): { commit: string; changes: string[] } {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const changes = git('status', '--porcelain').split('\n').filter(Boolean);
    return { commit: `${git('rev-parse', '--short', 'HEAD').trim()}${changes.length > 0 ? ' + uncommitted changes' : ''}`, changes };
  } catch {
    return { commit: 'unknown (not a git checkout)', changes: [] };
  }
}

const loadAverage = () => os.loadavg().map((v) => round(v, 2));

async function main(): Promise<number> {
  const startedAt = new Date();
  const started = Date.now();
  const loadAtStart = loadAverage();
  mkdirSync(RESULTS, { recursive: true });
  const errors: PhaseError[] = [];
  const notes: string[] = [];
  const phase = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    log(name);
    try {
      return await run();
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      errors.push({ phase: name, message: message.split('\n').slice(0, 6).join('\n') });
      log(`${name} FAILED: ${message.split('\n')[0]}`);
      return undefined;
    }
  };
  /** Why a figure is missing: the phase that should have made it failed (or did not run). */
  const why = (name: string) => (errors.some((e) => e.phase === name) ? `phase "${name}" failed` : `phase "${name}" did not run`);

  log('building the app and the worker into bench-results/dist');
  const build = await buildApp(OUT_DIR);
  const sizes = await phase('sizes', () => measureSizes(OUT_DIR, RESULTS, build, workerScript(WORLDS.bearer.trustedServers)));

  log(`starting the worlds: bearer on ${WORLDS.bearer.basePort}–${WORLDS.bearer.basePort + 3}, DPoP on ${WORLDS.dpop.basePort}–${WORLDS.dpop.basePort + 3}`);
  const worlds: ChildProcess[] = [];
  const stopWorlds = () => {
    for (const world of worlds) if (world.exitCode === null && world.signalCode === null) world.kill('SIGTERM');
  };
  process.once('exit', stopWorlds);
  let browser: Browser | undefined;
  try {
    for (const world of await Promise.allSettled(BINDINGS.map((b) => startWorld(b, OUT_DIR)))) {
      if (world.status === 'fulfilled') worlds.push(world.value);
      else throw world.reason;
    }

    // BENCH_CHROMIUM_ARGS: extra switches, e.g. for logging while profiling (space-separated)
    const extraArgs = (process.env.BENCH_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);
    browser = await chromium.launch({ executablePath: chromiumPath(), args: [...LAUNCH_ARGS, ...extraArgs] });
    const sides = {} as Record<Binding, Side>;
    for (const binding of BINDINGS) sides[binding] = await openSide(browser, binding);

    // 0. the direct side's token, from Node (bearer world); one request to each MCP server of both
    //    worlds with a Node token, so that their first token verification (JWKS fetch, key import)
    //    is not inside a measured figure
    const nodeToken = await phase('tokens from Node; MCP servers warmed', async () => {
      const token = await tokenFromNode(DIRECT_WORLD, DIRECT_WORLD.notesUrl, 'notes:read');
      for (const binding of BINDINGS) {
        const cfg = WORLDS[binding];
        for (const [url, scope] of [
          [cfg.notesUrl, 'notes:read'],
          [cfg.calendarUrl, 'calendar:read'],
        ] as const) {
          try {
            const { accessToken } = await tokenFromNode(cfg, url, scope);
            const response = await fetch(url, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${accessToken}` }, body: PING });
            await response.text();
            if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
          } catch (error) {
            // the DPoP world may refuse a token without a proof: then its first verification falls in the first growth step
            if (binding === 'bearer') throw new Error(`warming ${url}: ${error instanceof Error ? error.message : String(error)}`);
            notes.push(`${LABEL[binding]} world not warmed at ${url} (${error instanceof Error ? error.message : String(error)}): its first token check is inside the first growth step`);
          }
        }
      }
      return token;
    });

    // 1. per binding: k-step growth through the real UI (each step is also a callback → retried
    //    call sample), a reload, and the calendar's connect (one more sample)
    // BENCH_TRACE=categories (e.g. "ServiceWorker,disabled-by-default-ServiceWorker,navigation") records a
    // Chromium trace of the growth rounds into bench-results/trace.json, for profiling
    const traceCategories = process.env.BENCH_TRACE?.split(',').filter(Boolean);
    const growth = { bearer: [] as GrowthRound[], dpop: [] as GrowthRound[] };
    const reload = {} as Record<Binding, ReloadFigures | undefined>;
    const calendar = {} as Record<Binding, RetrySample | undefined>;
    for (const binding of BINDINGS) {
      const side = sides[binding];
      await phase(`${LABEL[binding]}: open the app`, () => openApp(side.page));
      if (traceCategories && binding === 'bearer') await browser.startTracing(side.page, { path: join(RESULTS, 'trace.json'), categories: traceCategories });
      for (let round = 1; round <= GROWTH_ROUNDS; round++) {
        const result = await phase(`${LABEL[binding]}: growth round ${round} (notes, ${GROWTH_STEPS} steps)`, () => growthRound(side, round));
        if (result) growth[binding].push(result);
      }
      if (traceCategories && binding === 'bearer') await browser.stopTracing();
      reload[binding] = await phase(`${LABEL[binding]}: reload`, () => reloadAuthorizations(side));
      // the calendar: connect (one more callback sample), then it hosts the 403 and burst runs
      calendar[binding] = await phase(`${LABEL[binding]}: calendar connect`, () => calendarConnect(side));
    }

    // 2. the direct side: a context where no worker ever runs, with a token the harness got itself;
    //    and the no-op worker side: the same request through a worker that does nothing else
    const direct: PlainSide | undefined = await phase('direct side: a page without a worker', async () =>
      openDirectSide(browser!, nodeToken ?? (await tokenFromNode(DIRECT_WORLD, DIRECT_WORLD.notesUrl, 'notes:read'))),
    );
    const NOOP_SIDE = `no-op worker side: a page under ${NOOP_SCOPE}`;
    const noop: NoopSide | undefined = direct ? await phase(NOOP_SIDE, () => openNoopSide(browser!, DIRECT_WORLD.appOrigin)) : undefined;
    const targets = targetsOf(sides, direct, noop);
    const noopTarget: NoopTarget | undefined = noop && targets.noop ? { ...targets.noop, context: noop.context, script: noop.script } : undefined;

    // 3. warm overhead: the same ping from every side, in batches whose order rotates; then its split
    const OVERHEAD = `overhead: ${REQUESTS} authorized requests per side (bearer, DPoP, direct${targets.noop ? ', no-op worker' : ''})`;
    const overhead = await phase(OVERHEAD, () => warmOverhead(targets));
    const PROFILE = 'overhead profile (Resource Timing, page + worker)';
    const profile = await phase(PROFILE, async () => {
      const workers: Partial<Record<SideKey, Worker>> = {};
      for (const binding of BINDINGS) workers[binding] = await appWorker(sides[binding]);
      if (noop) workers.noop = await workerOf(noop.context, noop.script);
      return overheadSplit(targets, workers);
    });

    // 4. SSE: the worker sides and direct, rotating
    const SSE = 'SSE: throughput and first event';
    const sse = await phase(SSE, () => measureSse(targets));

    // 5–6. per binding: 403 arriving → UI told (calendar, bench challenges alternating between two
    //      operations), then a burst of 50 concurrent challenges and one Authorize click
    const challenge = {} as Record<Binding, ChallengeFigures | undefined>;
    const burst = {} as Record<Binding, BurstFigures | undefined>;
    const CHALLENGE = (b: Binding) => `${LABEL[b]}: 403 → UI told`;
    const BURST_PHASE = (b: Binding) => `${LABEL[b]}: burst of ${BURST} challenges`;
    for (const binding of BINDINGS) {
      challenge[binding] = await phase(CHALLENGE(binding), () => challengeToUi(sides[binding]));
      burst[binding] = await phase(BURST_PHASE(binding), () => burstAuthorizations(sides[binding]));
    }

    // 7. per binding, the popup step-up, in a context of its own whose page starts in popup mode: growth
    //    rounds whose calls are held and answered in the page, the calendar's connect, then a burst
    //    of held challenges and one Allow
    const popup = {} as Record<Binding, PopupFigures | undefined>;
    const POPUP_SIDE = (b: Binding) => `${LABEL[b]}: popup mode, open the app`;
    const POPUP_ROUND = (b: Binding, round: number) => `${LABEL[b]}: popup growth round ${round} (notes, ${GROWTH_STEPS} steps)`;
    const POPUP_CALENDAR = (b: Binding) => `${LABEL[b]}: popup calendar connect`;
    const POPUP_BURST = (b: Binding) => `${LABEL[b]}: popup burst of ${BURST} held challenges`;
    for (const binding of BINDINGS) {
      const side = await phase(POPUP_SIDE(binding), () => openPopupSide(browser!, binding));
      if (!side) continue;
      const rounds: PopupRound[] = [];
      for (let round = 1; round <= POPUP_ROUNDS; round++) {
        const result = await phase(POPUP_ROUND(binding, round), () => popupGrowthRound(side, round));
        if (result) rounds.push(result);
      }
      const connected: HeldSample | undefined = await phase(POPUP_CALENDAR(binding), () => popupCalendarConnect(side));
      const held: PopupBurst | undefined = connected ? await phase(POPUP_BURST(binding), () => popupBurst(side)) : undefined;
      popup[binding] = popupFigures(rounds, connected, held);
      await side.context.close().catch(() => undefined);
    }

    // 8. per binding, last (stopping the worker ends what it held in memory): the first request after
    //    the worker was stopped (against direct and the no-op worker), then the authorizations a restart costs
    const RESTART = (b: Binding) => `${LABEL[b]}: worker restart`;
    const restart = {} as Record<Binding, RestartFigures | undefined>;
    for (const binding of BINDINGS) {
      const side = sides[binding];
      restart[binding] = await phase(RESTART(binding), async () => {
        const before = await notesAuthorizationCount(side);
        const timing = await firstRequestAfterStop(side, targets.direct, noopTarget);
        return { ...timing, ...(await restartAuthorizations(side, before, timing.coldStatuses)) };
      });
    }

    // --- figures ------------------------------------------------------------------------------
    const directFigures: DirectFigures = {
      world: `bearer world (${DIRECT_WORLD.appOrigin}), no service worker`,
      tokenScope: direct?.scope,
      request: 'POST /mcp JSON-RPC ping with Authorization: Bearer <token from Node>, fetch + body read, timed in the page',
      overhead: overhead?.direct,
      overheadProfile: profile?.direct,
      overheadProfileRaw: profile?.raw.direct,
      sse: sse?.direct,
    };
    const noopFigures: NoopFigures = {
      world: `bearer world (${DIRECT_WORLD.appOrigin}${NOOP_SCOPE}), a service worker of scope ${NOOP_SCOPE} whose fetch handler is event.respondWith(fetch(event.request))`,
      worker: noop?.script ?? `not opened (${why(NOOP_SIDE)})`,
      request: "the direct side's request (Authorization: Bearer <token from Node>) through the no-op worker, fetch + body read, timed in the page",
      overhead: overhead?.noop,
      overheadProfile: profile?.noop,
      overheadProfileRaw: profile?.raw.noop,
    };
    const bindingFigures = (binding: Binding): BindingFigures => {
      const cfg = WORLDS[binding];
      const r = restart[binding];
      return {
        binding,
        world: { appOrigin: cfg.appOrigin, issuer: cfg.issuer, notesUrl: cfg.notesUrl, calendarUrl: cfg.calendarUrl, dpop: cfg.dpop },
        overhead: overhead?.[binding],
        overheadProfile: profile?.[binding],
        overheadProfileRaw: profile?.raw[binding],
        restart: r,
        sse: sse?.[binding],
        challengeToUi: challenge[binding],
        callbackToRetry: callbackToRetry(growth[binding], calendar[binding]),
        authorizations: {
          ...growthAuthorizations(growth[binding]),
          reload: reload[binding],
          burst: burst[binding],
          restart: r ? { authorizations: r.authorizations, scopes: r.authorizationScopes, callAfterOk: r.callAfterOk } : undefined,
        },
      };
    };
    const figures: Figures = { direct: directFigures, noop: noopFigures, bearer: bindingFigures('bearer'), dpop: bindingFigures('dpop'), popup, sizes };

    const rows = buildRows(figures, why, {
      noopSide: NOOP_SIDE,
      overhead: OVERHEAD,
      profile: PROFILE,
      sse: SSE,
      challenge: CHALLENGE,
      burst: BURST_PHASE,
      restart: RESTART,
      growth: (b: Binding) => `${LABEL[b]}: growth round 1 (notes, ${GROWTH_STEPS} steps)`,
      reload: (b: Binding) => `${LABEL[b]}: reload`,
      popupSide: POPUP_SIDE,
      popupGrowth: (b: Binding) => POPUP_ROUND(b, 1),
      popupCalendar: POPUP_CALENDAR,
      popupBurst: POPUP_BURST,
      sizes: 'sizes',
    });
    const detailLines = details(figures);
    const src = source();
    const cpus = os.cpus();
    const machine = {
      cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
      cpus: cpus.length,
      memoryGB: round(os.totalmem() / 1e9, 1),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      node: process.version,
      chromium: browser.version(),
      playwright: JSON.parse(readFileSync(join(ROOT, 'node_modules', '@playwright', 'test', 'package.json'), 'utf8')).version as string,
      commit: src.commit,
      uncommittedChanges: src.changes,
      // other work on the machine shows here; the figures share its noise
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadAverage(),
    };
    const durationSeconds = round((Date.now() - started) / 1000, 1);
    const header = headerLine(WRITE_README ? 'npm run bench -- --readme' : 'npm run bench', startedAt, machine, durationSeconds);
    const table = markdownTable(rows);
    const text = [header, '', table, '', 'Where the time goes (medians of the same run; KB = 1000 B):', '', ...detailLines.map((l) => `- ${l}`)].join('\n');
    // every missing figure must read "not measured (why)"
    if (/\bNaN\b|\bInfinity\b/.test(text)) errors.push({ phase: 'report', message: 'the report printed NaN or Infinity: a figure bypassed ms()/med()/num()' });
    console.log(text);
    if (notes.length > 0) console.log(`\nNotes:\n${notes.map((n) => `  ${n}`).join('\n')}`);
    const report = {
      when: startedAt.toISOString(),
      durationSeconds,
      machine,
      settings: {
        requestsPerSide: REQUESTS,
        batch: BATCH,
        warmup: WARMUP,
        profileRequests: PROFILE_REQUESTS,
        sseBytes: SSE_BYTES,
        sseChunk: SSE_CHUNK,
        sseRuns: SSE_RUNS,
        firstEventRuns: FIRST_EVENT_RUNS,
        challengeSamples: STEP_UP_SAMPLES,
        challengeProfileSamples: STEP_UP_PROFILE_SAMPLES,
        growthRounds: GROWTH_ROUNDS,
        burst: BURST,
        popupGrowthRounds: POPUP_ROUNDS,
        restartSamples: RESTART_SAMPLES,
      },
      targets: TARGETS,
      worlds: Object.fromEntries(BINDINGS.map((b) => [b, { appOrigin: WORLDS[b].appOrigin, issuer: WORLDS[b].issuer, dpop: WORLDS[b].dpop }])),
      rows,
      details: detailLines,
      figures,
      notes,
      errors,
    };
    writeFileSync(join(RESULTS, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(RESULTS, 'bench.txt'), `${text}\n`);
    log(`wrote bench-results/bench.json and bench-results/bench.txt (${durationSeconds} s)`);
    if (errors.length > 0) {
      console.log(`\n${errors.length} phase(s) failed:`);
      for (const e of errors) console.log(`  ${e.phase}: ${e.message}`);
      if (WRITE_README) console.log('README.md was left as it was: it shows complete runs only.');
      return 1;
    }
    if (WRITE_README) {
      if (updateReadme(README, header, table, detailLines)) log('rewrote the performance table in README.md');
      else {
        console.log('README.md has no <!-- bench-table:start --> / <!-- bench-table:end --> markers: not rewritten.');
        return 1;
      }
    }
    return 0;
  } finally {
    await browser?.close().catch(() => undefined);
    stopWorlds();
  }
}

process.exitCode = await main();
