// The mutations `npm run test:mutations` applies, one at a time, each with the test that must then
// fail. Each breaks one promise the README makes, the way the audits of issues 7 and 8 broke them
// (issue 8's audit named its mutations; issue 7's findings are each undone in the code that fixed them).

export interface Edit {
  /** Path from the repository root. */
  file: string;
  /** Text that must occur exactly once in the file. */
  find: string;
  replace: string;
}

export interface Mutation {
  id: string;
  /** The issue finding it reproduces. */
  finding: string;
  what: string;
  edits: Edit[];
  /** The test that must fail under the mutation (and pass without it). */
  test: { kind: 'unit'; file: string; name: string } | { kind: 'browser'; file: string; grep: string; env?: Record<string, string>; worker?: 'packed' };
}

export const mutations: Mutation[] = [
  // --- issue 8: the audit's own mutations ----------------------------------------------------------
  {
    id: 'restore-nothing',
    finding: '8.1',
    what: 'restoring stored DPoP-bound tokens restores nothing',
    edits: [{ file: 'sw/tokens.ts', find: '  if (tokens.has(stored.serverId) || stored.serverUrl !== serverUrl) return false;', replace: '  return false;' }],
    test: { kind: 'browser', file: 'e2e/lifecycle.spec.ts', grep: 'survive a worker restart' },
  },
  {
    id: 'refresh-failure-drops-token',
    finding: '8.2',
    what: 'a refresh that never reached the authorization server (worker stopped, network down) drops the token',
    edits: [{ file: 'sw/refresh.ts', find: '      if (!isRefusal(error)) {', replace: '      if (false) {' }],
    test: { kind: 'browser', file: 'e2e/reliability.spec.ts', grep: 'before the refresh reached' },
  },
  {
    id: 'settled-at-once',
    finding: '8.3',
    what: 'settled() returns at once instead of waiting for the burst',
    edits: [{ file: 'sw/in-flight.ts', find: '  if (pending.length === 0) return;', replace: '  return;' }],
    test: { kind: 'browser', file: 'e2e/multitab.spec.ts', grep: 'auto-redirect on, a burst' },
  },
  {
    id: 'rotated-refresh-guard',
    finding: '8.4',
    what: 'the rotated-refresh guard is deleted: a request that saw an older token refreshes again',
    edits: [{ file: 'sw/tokens.ts', find: '  if (current !== seen) return Promise.resolve(current);\n', replace: '' }],
    test: { kind: 'unit', file: 'sw/tokens.test.ts', name: 'never runs its refresh' },
  },
  {
    id: 'bearer-token-stored',
    finding: '8.5',
    what: 'bearer tokens are written to IndexedDB too',
    edits: [{ file: 'sw/tokens.ts', find: '  if (token?.dpop) void saveToken(', replace: '  if (token) void saveToken(' }],
    test: { kind: 'browser', file: 'e2e/confinement.spec.ts', grep: 'no bearer token' },
  },
  {
    id: 'refresh-token-unbound',
    finding: '8.6',
    what: 'the worker never uses DPoP, so its refresh tokens are not bound to its key',
    edits: [{ file: 'sw/dpop.ts', find: '  return Array.isArray(as.dpop_signing_alg_values_supported) &&', replace: '  return false && Array.isArray(as.dpop_signing_alg_values_supported) &&' }],
    test: { kind: 'browser', file: 'e2e/reliability.spec.ts', grep: 'stolen refresh token' },
  },
  {
    id: 'refused-callback-signs-out',
    finding: '8.7',
    what: 'a refused callback (wrong iss) also forgets the token of the earlier grant',
    edits: [
      {
        file: 'sw/strategies/callback.ts',
        find: '    await change(flow.serverId, (r) => applyError(r, info, Date.now(), flow.requested));',
        replace: '    clearToken(flow.serverId);\n    await change(flow.serverId, (r) => applyError(r, info, Date.now(), flow.requested));',
      },
      { file: 'sw/strategies/callback.ts', find: "import { installToken } from '../tokens.ts';", replace: "import { clearToken, installToken } from '../tokens.ts';" },
    ],
    test: { kind: 'browser', file: 'e2e/faults.spec.ts', grep: 'iss is not the authorization server' },
  },
  {
    id: 'unknown-state-signs-out',
    finding: '8.7',
    what: 'a callback matching no flow (forged or replayed) forgets the tokens of every server',
    edits: [
      {
        file: 'sw/strategies/callback.ts',
        find: '  if (!flow) {\n',
        replace: "  if (!flow) {\n    for (const id of ['notes', 'calendar']) clearToken(id);\n",
      },
      { file: 'sw/strategies/callback.ts', find: "import { installToken } from '../tokens.ts';", replace: "import { clearToken, installToken } from '../tokens.ts';" },
    ],
    test: { kind: 'browser', file: 'e2e/faults.spec.ts', grep: 'replayed authorization response' },
  },
  {
    id: 'no-retry-after-redirect',
    finding: '8.8',
    what: 'the refused call is not run again after the redirect (a last-line assertion matched the previous call)',
    edits: [{ file: 'app/core/auth-client.ts', find: 'for (const resume of result.resumes) this.#options.onResume?.(resume, server);', replace: 'void result.resumes;' }],
    test: { kind: 'browser', file: 'e2e/growth.spec.ts', grep: 'scope grows one authorization' },
  },
  {
    id: 'scopes-unchecked',
    finding: '8.9',
    what: 'scope tokens of a challenge are not checked',
    edits: [{ file: 'sw/challenge.ts', find: '  const bad = scope.find((t) => !isScopeToken(t));', replace: '  const bad = scope.find(() => false);' }],
    test: { kind: 'unit', file: 'sw/challenge.fuzz.test.ts', name: 'on headers built from the grammar' },
  },
  {
    id: 'size-bound-doubled',
    finding: '8.9',
    what: 'the header size bound is twice what it says',
    edits: [{ file: 'sw/challenge.ts', find: '  if (header.length > MAX_HEADER_LENGTH) return fail(', replace: '  if (header.length > MAX_HEADER_LENGTH * 2) return fail(' }],
    test: { kind: 'unit', file: 'sw/challenge.fuzz.test.ts', name: 'because of the bound' },
  },
  {
    id: 'refresh-widens-scope',
    finding: '8.10',
    what: 'a refresh asks for scope of its own',
    edits: [
      {
        file: 'sw/oauth.ts',
        find: '    const options = await tokenRequestOptions(as, current.resource);',
        replace: "    const options = await tokenRequestOptions(as, current.resource);\n    options.additionalParameters = { resource: current.resource, scope: [...current.requested].join(' ') };",
      },
    ],
    test: { kind: 'browser', file: 'e2e/lifecycle.spec.ts', grep: 'without widening scope' },
  },
  {
    id: 'stop-does-nothing',
    finding: '8.11',
    what: "stopWorker does not stop the worker (the test must notice, and that the callback's worker is a fresh one)",
    edits: [{ file: 'e2e/world.ts', find: "  await cdp.send('ServiceWorker.stopAllWorkers');", replace: '' }],
    test: { kind: 'browser', file: 'e2e/reliability.spec.ts', grep: 'stopped after the challenge' },
  },
  {
    id: 'only-on-ci',
    finding: '8.13',
    what: 'a test.only left behind, on CI',
    edits: [{ file: 'e2e/growth.spec.ts', find: "test('a reload needs no new authorization'", replace: "test.only('a reload needs no new authorization'" }],
    test: { kind: 'browser', file: 'e2e/growth.spec.ts', grep: 'a reload needs', env: { CI: '1' } },
  },

  // --- issue 7: each finding's fix, undone ---------------------------------------------------------
  {
    id: 'stored-url-wins',
    finding: '7.1',
    what: 'the URL read back from IndexedDB moves the server in memory, and a token goes to whatever URL its server has',
    edits: [
      { file: 'sw/db.ts', find: '    stored.ok && stored.value.url === registration.url ? { ...stored.value, ...registration } : { ...fresh(), ...registration };', replace: '    stored.ok ? { ...registration, ...stored.value } : { ...fresh(), ...registration };' },
      { file: 'sw/registry.ts', find: '  if (entries.get(id)?.record.url === url) entries.set(id, { record: result.record, url: entry.url });', replace: '  entries.set(id, { record: result.record, url: new URL(result.record.url) });' },
      { file: 'sw/strategies/mcp-request.ts', find: '  return token.serverUrl === server.url && isWithin(url, new URL(token.serverUrl));', replace: '  return !!server && !!url;' },
      { file: 'sw/strategies/mcp-request.ts', find: "import { isLoopback, isWithin } from '../urls.ts';", replace: "import { isLoopback } from '../urls.ts';" },
    ],
    test: { kind: 'browser', file: 'e2e/hardening-storage.spec.ts', grep: 'rewriting a server URL in IndexedDB' },
  },
  {
    id: 'token-follows-url',
    finding: '7.1',
    what: 'a token is attached whatever the request URL, and a server that moved keeps its token',
    edits: [
      { file: 'sw/strategies/mcp-request.ts', find: '  return token.serverUrl === server.url && isWithin(url, new URL(token.serverUrl));', replace: '  return !!server && !!url;' },
      { file: 'sw/strategies/mcp-request.ts', find: "import { isLoopback, isWithin } from '../urls.ts';", replace: "import { isLoopback } from '../urls.ts';" },
      { file: 'sw/registry.ts', find: '    if (known) clearToken(registration.id);', replace: '' },
    ],
    test: { kind: 'browser', file: 'e2e/hardening-storage.spec.ts', grep: 'configuring it again at another URL' },
  },
  {
    id: 'flow-issuer-trusted',
    finding: '7.2',
    what: "a stored flow's authorization server is taken as it is: its issuer is not checked against discovery",
    edits: [{ file: 'sw/discovery.ts', find: '  if (metadata.authorizationServer.issuer !== issuer) {', replace: '  if (false) {' }],
    test: { kind: 'browser', file: 'e2e/hardening-storage.spec.ts', grep: 'planted authorization flow' },
  },
  {
    id: 'dpop-downgrade',
    finding: '7.2',
    what: 'a bearer token is accepted from an authorization server that advertises DPoP',
    edits: [{ file: 'sw/oauth.ts', find: '  if (!dpop && supportsDpop(as)) {', replace: '  if (false) {' }],
    test: { kind: 'browser', file: 'e2e/hardening-storage.spec.ts', grep: 'no downgrade' },
  },
  {
    id: 'extractable-key',
    finding: '7.3',
    what: 'an extractable stored DPoP key is used',
    edits: [{ file: 'sw/dpop.ts', find: "  if (privateKey.extractable) return 'its private key can be exported';\n", replace: '' }],
    test: { kind: 'browser', file: 'e2e/hardening-storage.spec.ts', grep: 'can be exported is replaced' },
  },
  {
    id: 'bad-record-bricks',
    finding: '7.4',
    what: 'one bad stored record stops the worker from starting',
    edits: [{ file: 'sw/db.ts', find: '    else out.skipped.push(checked.why);', replace: '    else throw new Error(checked.why);' }],
    test: { kind: 'browser', file: 'e2e/hardening-storage.spec.ts', grep: 'never stops the worker' },
  },
  {
    id: 'any-callback-path',
    finding: '7.5',
    what: 'callbackPath may be any string (//host, an absolute URL)',
    edits: [{ file: 'sw/settings.ts', find: "  if (!isSameOriginPath(path, origin) || path === '/') {", replace: "  if (path === '/') {" }],
    test: { kind: 'browser', file: 'e2e/hardening-storage.spec.ts', grep: 'callback path comes from the worker script' },
  },
  {
    id: 'no-allow-list',
    finding: '7.5',
    what: 'configure ignores the trusted-server list',
    edits: [{ file: 'sw/registry.ts', find: '    if (!isTrusted(url)) {', replace: '    if (false) {' }],
    test: { kind: 'browser', file: 'e2e/hardening-storage.spec.ts', grep: 'outside the trusted list' },
  },
  {
    id: 'late-refresh-installed',
    finding: '7.6',
    what: 'installing a token is not compare-and-set: a late refresh overwrites sign-out',
    edits: [{ file: 'sw/tokens.ts', find: "  if (expected !== 'any' && previous !== expected) return undefined;\n", replace: '' }],
    test: { kind: 'browser', file: 'e2e/hardening-policy.spec.ts', grep: 'answers after sign-out' },
  },
  {
    id: 'older-token-challenges',
    finding: '7.7',
    what: 'an answer to an older token is handled as a challenge to the current one',
    edits: [{ file: 'sw/ledger.ts', find: "  if (refused && facts.currentGeneration !== 0 && refused.generation !== facts.currentGeneration) return keep('resend');\n", replace: '' }],
    test: { kind: 'browser', file: 'e2e/hardening-policy.spec.ts', grep: 'answers an older token' },
  },
  {
    id: 'unscoped-403-loops',
    finding: '7.8',
    what: 'a 403 insufficient_scope without a scope is never stopped',
    edits: [{ file: 'sw/ledger.ts', find: '  if (challenged.length === 0) {\n', replace: '  if (challenged.length === 0) {\n    return undefined;\n' }],
    test: { kind: 'browser', file: 'e2e/hardening-policy.spec.ts', grep: 'names no scope' },
  },
  {
    id: 'no-token-refused',
    finding: '7.8',
    what: 'a 403 to a request that carried no token is refused by the loop guard',
    edits: [
      {
        file: 'sw/ledger.ts',
        find: '  if (!refused) return authorize(false, false);\n',
        // the old guard: no token counted as a token that carries nothing
        replace:
          "  if (!refused) {\n    const guard = status === 403 ? scopeNotGranted(record, facts.challenged, { requested: [], scopes: [] }, facts.operation) : undefined;\n    return guard ? refuse(guard, false) : authorize(false, false);\n  }\n",
      },
    ],
    test: { kind: 'unit', file: 'sw/ledger.test.ts', name: 'carried no token' },
  },
  {
    id: 'sign-out-keeps-pending',
    finding: '7.9',
    what: 'sign-out keeps the pending authorization and the error',
    edits: [{ file: 'sw/ledger.ts', find: '  const cleared = withoutError(withPending({ ...record, ...emptyLedger(), timeline: record.timeline }, undefined));', replace: '  const cleared = { ...record, ...emptyLedger(), timeline: record.timeline };' }],
    test: { kind: 'unit', file: 'sw/ledger.test.ts', name: 'sign-out clears the pending authorization' },
  },
  {
    id: 'no-claim',
    finding: '7.10',
    what: 'start() waits for a controller that never comes after a hard reload',
    edits: [{ file: 'app/core/worker-channel.ts', find: '    await takeControl(container, await container.ready);', replace: "    await container.ready;\n    if (!container.controller) await new Promise((resolve) => container.addEventListener('controllerchange', resolve, { once: true }));\n    void takeControl;" }],
    test: { kind: 'browser', file: 'e2e/hardening-policy.spec.ts', grep: 'hard reload' },
  },
  {
    id: 'no-blocking-handler',
    finding: '7.10',
    what: 'the worker keeps its database connection open when another asks to delete or upgrade it',
    edits: [{ file: 'sw/db.ts', find: '      void connection.then((database) => database.close());\n', replace: '' }],
    test: { kind: 'browser', file: 'e2e/hardening-policy.spec.ts', grep: 'deleting the database' },
  },
  {
    id: 'guard-any-pending',
    finding: '7.11',
    what: 'guard treats any failure as an authorization request while any authorization is pending',
    edits: [{ file: 'app/core/auth-client.ts', find: "      if (challenges.some((c) => c.outcome === 'authorization-needed')) {", replace: '      if (server.pending) {' }],
    test: { kind: 'browser', file: 'e2e/hardening-policy.spec.ts', grep: 'network failure is reported' },
  },
  {
    id: 'first-prefix',
    finding: '7.12',
    what: 'routing takes the first matching prefix, not the longest',
    edits: [{ file: 'sw/urls.ts', find: '    if (isWithin(url, candidate.url) && (!best || basePath(candidate.url).length > basePath(best.url).length)) best = candidate;', replace: '    if (isWithin(url, candidate.url) && !best) best = candidate;' }],
    test: { kind: 'unit', file: 'sw/urls.test.ts', name: 'in whatever order they were registered' },
  },
  {
    id: 'one-redirect-uri',
    finding: '7.13',
    what: "a callback at another authorization server's redirect URI is accepted",
    edits: [{ file: 'sw/strategies/callback.ts', find: '  if (new URL(flow.redirectUri).pathname !== callback.pathname) {', replace: '  if (false) {' }],
    test: { kind: 'browser', file: 'e2e/faults.spec.ts', grep: "another authorization server's redirect URI" },
  },
  {
    id: 'shared-uri-without-iss',
    finding: '7.13',
    what: 'a shared redirect URI does not require iss',
    edits: [{ file: 'sw/oauth.ts', find: '  if (flow.requireIss && !callback.searchParams.has', replace: '  if (false && !callback.searchParams.has' }],
    test: { kind: 'unit', file: 'sw/oauth.test.ts', name: 'refuses a callback without iss' },
  },
  {
    id: 'sign-out-no-revoke',
    finding: '7 (sign-out revokes)',
    what: 'sign-out forgets the tokens but does not revoke them',
    edits: [{ file: 'sw/sign-out.ts', find: "  const revocation = token && server ? await revoke(token, server) : 'nothing-to-revoke';", replace: "  const revocation = token && server && false ? await revoke(token, server) : 'nothing-to-revoke';" }],
    test: { kind: 'browser', file: 'e2e/hardening-policy.spec.ts', grep: 'revokes the tokens' },
  },

  // --- issue 10: the popup step-up ------------------------------------------------------------------
  {
    id: 'held-not-resent',
    finding: '10.1',
    what: 'after the grant, held requests get their challenge instead of being sent again',
    edits: [{ file: 'sw/holds.ts', find: "      if (reason !== 'granted') return held.resolve(held.challenge);", replace: '      return held.resolve(held.challenge);' }],
    test: { kind: 'browser', file: 'e2e/popup.spec.ts', grep: 'growth in a popup' },
  },
  {
    id: 'popup-in-every-tab',
    finding: '10.2',
    what: 'a second tab opens its own popup while another tab is at the authorization server',
    edits: [{ file: 'app/core/auth-client.ts', find: "    const wantsPopup = this.#stepUp() === 'popup' && !this.#snapshot.autoRedirect && !waitForOther;", replace: "    const wantsPopup = this.#stepUp() === 'popup' && !this.#snapshot.autoRedirect && !!waitForOther === waitForOther;" }],
    test: { kind: 'browser', file: 'e2e/popup.spec.ts', grep: 'two tabs, one popup' },
  },
  {
    id: 'closed-popup-ignored',
    finding: '10.1',
    what: 'a closed popup leaves the held request waiting (until the timeout)',
    edits: [{ file: 'app/core/auth-client.ts', find: "      void this.#request({ type: 'release', serverId, reason: 'popup-closed' }).catch(() => undefined);", replace: '' }],
    test: { kind: 'browser', file: 'e2e/popup.spec.ts', grep: 'popup closed before the consent' },
  },

  // --- issue 11: servers people add -----------------------------------------------------------------
  {
    id: 'added-uses-app-client',
    finding: '11.2',
    what: "a server a person added uses the app's pre-registered client id, which its authorization server never issued",
    edits: [{ file: 'sw/registration.ts', find: '  return server.added ? shared : config;', replace: '  return config;' }],
    test: { kind: 'browser', file: 'e2e/add-server.spec.ts', grep: 'adds a server by its URL' },
  },
  {
    id: 'remove-keeps-registration',
    finding: '11.2',
    what: 'removing a server keeps the registration made for it',
    edits: [{ file: 'sw/remove-server.ts', find: '  if (issuer && !server.clientId && !sharedIssuer) await deleteClient(issuer);', replace: '' }],
    test: { kind: 'browser', file: 'e2e/add-server.spec.ts', grep: 'adds a server by its URL' },
  },
  {
    id: 'cors-reported-unreachable',
    finding: '11.2',
    what: 'a server that sends no CORS headers is reported as unreachable, which sends its author looking in the wrong place',
    edits: [{ file: 'sw/probe.ts', find: '    if (await reachableWithoutCors(url)) {', replace: '    if (!url) {' }],
    test: { kind: 'browser', file: 'e2e/add-server.spec.ts', grep: 'without CORS each get a message' },
  },
  {
    id: 'add-ignores-trusted-list',
    finding: '11.2',
    what: "adding a server skips the worker's trusted-server list",
    edits: [{ file: 'sw/add-server.ts', find: '  if (!isTrusted(url)) {', replace: '  if (!url) {' }],
    test: { kind: 'browser', file: 'e2e/add-server.spec.ts', grep: 'refuses a server outside it' },
  },

  // --- issue 12: sloppy servers, short-lived tokens ---------------------------------------------------
  {
    id: 'bare-scope-malformed',
    finding: '12.4',
    what: 'an unquoted scope (scope=notes:read) is refused as malformed',
    edits: [{ file: 'sw/challenge.ts', find: "            value = readToken(name.toLowerCase() === 'scope' ? BARE_SCOPE_CHAR : TCHAR);", replace: '            value = readToken(TCHAR);' }],
    test: { kind: 'browser', file: 'e2e/faults.spec.ts', grep: 'an unquoted scope' },
  },
  {
    id: 'insecure-metadata-fetched',
    finding: '12.4',
    what: "a challenge's resource_metadata is fetched whatever its scheme and host",
    edits: [{ file: 'sw/discovery.ts', find: '    assertSafeEndpoint(resourceMetadataUrl, `resource_metadata URL in the challenge of ${serverUrl.href}`);', replace: '' }],
    test: { kind: 'browser', file: 'e2e/faults.spec.ts', grep: 'plain http on another machine' },
  },
  {
    id: 'fixed-refresh-margin',
    finding: '12.4',
    what: 'every token is refreshed 10 s before expiry, whatever its lifetime',
    edits: [{ file: 'sw/tokens.ts', find: '  if (token.issuedAt === undefined) return MAX_MARGIN_MS;', replace: '  return MAX_MARGIN_MS;' }],
    test: { kind: 'browser', file: 'e2e/lifecycle.spec.ts', grep: 'in proportion to its life' },
  },
  {
    id: 'popup-opener-gone-still-waited-for',
    finding: '12.3',
    what: 'a popup flow counts as under way although the window that opened it is gone',
    edits: [{ file: 'sw/flows.ts', find: "  return flow.display === 'popup' && (await self.clients.get(flow.startedBy)) === undefined;", replace: '  return false;' }],
    test: { kind: 'browser', file: 'e2e/abandoned.spec.ts', grep: 'the opener is closed' },
  },
  {
    id: 'returned-tab-flow-kept',
    finding: '12.3',
    what: 'a tab back in the app without its result does not end the redirect it left for',
    edits: [{ file: 'sw/commands.ts', find: '      if (tab) for (const serverId of await endFlowsOfTab(tab)) rebroadcast(serverId);', replace: '' }],
    test: { kind: 'browser', file: 'e2e/abandoned.spec.ts', grep: 'comes back from the authorization server' },
  },
  {
    id: 'zod-eval-probe',
    finding: '12.2',
    what: "the chat page loads without zod-jitless.js, so the SDK's Zod probes eval under the strict CSP",
    edits: [{ file: 'app/chat/index.html', find: '<script src="/zod-jitless.js"></script>', replace: '' }],
    test: { kind: 'browser', file: 'e2e/csp.spec.ts', grep: '/chat/: two conversation steps' },
  },
  {
    id: 'waiting-worker-upgrades-schema',
    finding: '12.1',
    what: 'a new version of the worker opens (and upgrades) the database while it waits, under the worker still completing a consent',
    edits: [{ file: 'sw/lifecycle.ts', find: '  if (byEvents) return byEvents;\n  if (!own || isActive(own)) return Promise.resolve();', replace: '  return Promise.resolve();' }],
    test: { kind: 'browser', file: 'e2e/update.spec.ts', grep: 'popup, with a request held', worker: 'packed' },
  },
  {
    id: 'migration-drops-flows',
    finding: '12.1',
    what: 'the schema 5 migration clears the flows the previous version stored',
    edits: [{ file: 'sw/db.ts', find: "      if (oldVersion < 5) tx.objectStore('flows').createIndex('byServer', 'serverId');", replace: "      if (oldVersion < 5) {\n        tx.objectStore('flows').createIndex('byServer', 'serverId');\n        void tx.objectStore('flows').clear();\n      }" }],
    test: { kind: 'browser', file: 'e2e/update.spec.ts', grep: 'redirect: build N+1 activates', worker: 'packed' },
  },
  {
    id: 'skip-waiting',
    finding: '12.1',
    what: 'a new version calls skipWaiting and takes over the open page once nothing is held',
    edits: [{ file: 'sw/worker.ts', find: "    self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));", replace: "    self.addEventListener('install', (event) => event.waitUntil(self.skipWaiting()));\n    self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));" }],
    test: { kind: 'browser', file: 'e2e/update.spec.ts', grep: 'popup, with a request held', worker: 'packed' },
  },
  {
    id: 'running-call-lost',
    finding: '11.1',
    what: 'a redirect started while a refused call still runs (use-mcp in its own OAuth) does not take the call along (the CI failure of 2026-11-30)',
    edits: [{ file: 'app/core/auth-client.ts', find: '      if (!popup) await this.#rememberRefusedRunningCalls(serverId);\n', replace: '' }],
    test: { kind: 'unit', file: 'app/core/auth-client.test.ts', name: 'a redirect started while refused calls still run' },
  },
  {
    id: 'running-call-twice',
    finding: '11.1',
    what: 'a running call remembered when the redirect starts is remembered again when it fails after the grant resumed it',
    edits: [{ file: 'app/core/auth-client.ts', find: '        if (!this.#running.get(id)?.remembered) this.#rememberCall(serverId, id, resume);', replace: '        this.#rememberCall(serverId, id, resume);' }],
    test: { kind: 'unit', file: 'app/core/auth-client.test.ts', name: 'is resumed once, even when it fails only after the grant' },
  },
  {
    id: 'nonce-not-kept',
    finding: '10.7',
    what: "a restarted worker's first DPoP proof carries no nonce though one was kept (a round trip for use_dpop_nonce after every stop)",
    edits: [{ file: 'sw/dpop.ts', find: '  return oauth.DPoP({}, keys, { [oauth.modifyAssertion]: fillNonce });', replace: '  return oauth.DPoP({}, keys);\n  void fillNonce;' }],
    test: { kind: 'unit', file: 'sw/dpop.test.ts', name: 'first proof carries the kept nonce' },
  },
  {
    id: 'planted-nonce-list',
    finding: '10.7',
    what: 'a stored nonce list is not checked: a planted key that is no origin, or a nonce with a quote, is restored',
    edits: [{ file: 'sw/stored.ts', find: "    if (parseUrl(origin)?.origin !== origin) fail", replace: "    if (false) fail" }],
    test: { kind: 'unit', file: 'sw/stored.test.ts', name: 'refuses a key that is' },
  },
];
