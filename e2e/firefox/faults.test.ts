// Key faults of e2e/faults.spec.ts, confinement.spec.ts's denied consent and hardening-policy.spec.ts's
// scope-less 403, in Firefox: an authorization server that is down or failing, a denied consent, and
// malformed or hostile challenges. Each ends in a message a person can act on, with the ledger kept,
// no flow left behind and no authorization started.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe } from 'node:test';
import { INSECURE_METADATA, startChallengeServer, type ChallengeServer } from '../challenge-server.ts';
import {
  authorizationScopes,
  authorize,
  authorizeRead,
  byTestId,
  connect,
  firefoxTest,
  ledger,
  openDemo,
  openWorld,
  readDatabase,
  resetLogs,
  runTool,
  sleep,
  waitForUrl,
  withExtraServer,
  world,
} from './harness.ts';

/** A localhost port nothing listens on: an authorization server that is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const flows = async (page: Parameters<typeof readDatabase>[0]) => (await readDatabase(page))['flows'] ?? [];

describe('faults', () => {
  let hostile: ChallengeServer;
  let orphan: ChallengeServer;

  before(async () => {
    hostile = await startChallengeServer({ appOrigin: openWorld.appOrigin, issuer: openWorld.issuer });
    // a protected resource whose authorization server does not answer at all
    orphan = await startChallengeServer({ appOrigin: openWorld.appOrigin, issuer: `http://localhost:${await closedPort()}` });
  });
  after(async () => {
    await hostile?.close();
    await orphan?.close();
  });
  beforeEach(async () => {
    hostile.setMode('ok');
    await resetLogs(world);
    await resetLogs(openWorld);
  });

  firefoxTest('the authorization server is down: a clear error, no flow stored, the ledger kept, the page stays', async (session) => {
    const { page } = session;
    await withExtraServer(session, page, openWorld, { id: 'orphan', name: 'Orphan', url: orphan.url });
    await openDemo(page, openWorld);
    await byTestId(page, 'connect-orphan').click();
    await byTestId(page, 'prompt-orphan').toContainText('burst:read');
    await byTestId(page, 'authorize-orphan').click();
    await byTestId(page, 'error-orphan').toContainText(/Could not fetch the authorization server metadata/, 20_000);
    assert.equal(new URL(page.url()).origin, openWorld.appOrigin);
    assert.deepEqual(await flows(page), []);
    assert.deepEqual((await ledger(page, 'orphan'))?.requested, ['burst:read']);
  });

  firefoxTest('the authorization server answers HTTP 500: a clear error, no flow stored, the ledger kept', async (session) => {
    const { page } = session;
    hostile.setMode('as-error');
    await withExtraServer(session, page, openWorld, { id: 'hostile', name: 'Hostile', url: hostile.url });
    await openDemo(page, openWorld);
    await byTestId(page, 'connect-hostile').click();
    await byTestId(page, 'prompt-hostile').toContainText('burst:read');
    await byTestId(page, 'authorize-hostile').click();
    await byTestId(page, 'error-hostile').toContainText(/answered HTTP 500/, 20_000);
    assert.equal(new URL(page.url()).origin, openWorld.appOrigin);
    assert.deepEqual(await flows(page), []);
    assert.deepEqual((await ledger(page, 'hostile'))?.requested, ['burst:read']);
  });

  firefoxTest('a denied consent reports a clear error and keeps what was granted before', async ({ page }) => {
    await openDemo(page, world);
    await connect(page, 'notes');
    await authorize(page, world, 'notes', 'dave');
    await byTestId(page, 'tool-notes-add-note').toBeVisible();

    await runTool(page, 'notes', 'add-note', { text: 'will be denied' });
    await authorize(page, world, 'notes', 'dave', 'Deny');
    await byTestId(page, 'last-result').toContainText('denied');
    await byTestId(page, 'error-notes').toContainText('denied');
    assert.doesNotMatch(page.url(), /error=|state=|code=/);

    // the earlier grant still works, and the denied scope stays requested for next time
    await byTestId(page, 'granted-notes', '.chip.granted').toHaveText(['notes:read']);
    await byTestId(page, 'granted-notes', '.chip.requested').toHaveText(['notes:write']);
    await (await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
    assert.deepEqual(await authorizationScopes(world.notesUrl, world), ['notes:read', 'notes:read notes:write']);

    // the user can change their mind: one click asks again
    await byTestId(page, 'ask-again-notes').click();
    await waitForUrl(page, (url) => url.origin === world.issuer, 'at the authorization server again');
    const asked = await page.$$eval('li.scope', (items) => items.map((li) => (li.textContent ?? '').trim()));
    assert.deepEqual(asked, ['notes:read', 'notes:write']);
  });

  firefoxTest('a 403 insufficient_scope that names no scope stops at once, even with auto-redirect on', async ({ page }) => {
    await resetLogs(world);
    await authorizeRead(page, world, 'pat');
    await byTestId(page, 'auto-redirect').click();
    await byTestId(page, 'auto-redirect').toBeChecked();
    const status = await page.evaluate(async (url) => (await fetch(`${url}/bench/challenge?unscoped`, { method: 'POST' })).status, world.notesUrl);
    assert.equal(status, 403);
    await byTestId(page, 'error-notes').toContainText('without saying which scope it needs');
    await sleep(1_000); // time enough for a redirect, had one started
    assert.equal(new URL(page.url()).origin, world.appOrigin);
    assert.deepEqual(await authorizationScopes(world.notesUrl, world), ['notes:read']);
  });

  firefoxTest('an unquoted scope, as servers send it, is read and asked for', async (session) => {
    const { page } = session;
    hostile.setMode('bare-scope');
    await withExtraServer(session, page, openWorld, { id: 'hostile', name: 'Hostile', url: hostile.url });
    await openDemo(page, openWorld);
    await byTestId(page, 'connect-hostile').click();
    await byTestId(page, 'prompt-hostile').toContainText('burst:read');
    await byTestId(page, 'error-hostile').toHaveCount(0);
    assert.deepEqual((await ledger(page, 'hostile'))?.requested, ['burst:read']);
  });

  firefoxTest('a resource_metadata URL that is plain http on another machine is refused by name', async (session) => {
    // (Playwright also checks that the URL is never fetched, from the context's request events; in
    // Firefox the worker's own requests raise no WebDriver BiDi network event. 203.0.113.9 is
    // TEST-NET-3, which no test machine reaches anyway.)
    const { page } = session;
    hostile.setMode('insecure-metadata');
    await withExtraServer(session, page, openWorld, { id: 'hostile', name: 'Hostile', url: hostile.url });
    await openDemo(page, openWorld);
    await byTestId(page, 'connect-hostile').click();
    await byTestId(page, 'prompt-hostile').toContainText('burst:read');
    await byTestId(page, 'authorize-hostile').click();
    await byTestId(page, 'error-hostile').toContainText(`(${INSECURE_METADATA}) is not https`);
    assert.deepEqual(await flows(page), []);
  });

  firefoxTest('a callback with an unknown state is refused, and the earlier grant keeps working', async ({ page }) => {
    await resetLogs(world);
    await authorizeRead(page, world, 'judy');
    await page.goto(`${world.redirectUri}?code=forged&state=forged&iss=${encodeURIComponent(world.issuer)}`);
    await byTestId(page, 'last-result').toContainText('matches no authorization');
    assert.equal(page.url(), `${world.appOrigin}/`);
    await (await runTool(page, 'notes', 'list-notes')).toHaveClass(/ok/);
    assert.deepEqual((await ledger(page, 'notes'))?.granted, ['notes:read']);
    assert.deepEqual(await authorizationScopes(world.notesUrl, world), ['notes:read']);
  });
});
