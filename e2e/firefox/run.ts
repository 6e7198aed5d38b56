// `npm run test:firefox`: the browser tests that matter most, in Firefox (Debian's firefox-esr),
// driven over WebDriver BiDi by puppeteer-core, under Node's own test runner.
//
//   npm run test:firefox                                   every area (e2e/firefox/*.test.ts)
//   npm run test:firefox -- e2e/firefox/popup.test.ts      one area (growth, confinement, multitab, faults, popup, lifecycle, abandoned, update, csp)
//   npm run test:firefox -- --test-name-pattern=reload     the tests whose name matches
//
// Starts the four demo worlds the way playwright.config.ts's webServer does (e2e/firefox/worlds.ts,
// base port MCP_SW_AUTH_FIREFOX_PORT, default 4770), and the fixture server (e2e/fixtures/serve.ts,
// with the fixture apps at 4840–4844; update.test.ts needs them prepared by `npm run test:package`,
// which `npm test` runs, and fails here at once when they are not), runs `node --test` over the test files one at a
// time (each file launches one Firefox; each test gets a fresh browser context: its own service
// worker and IndexedDB), then stops the worlds. Arguments are passed on to `node --test`; a
// `*.test.ts` argument replaces the file list. The browser is FIREFOX_PATH, else /usr/bin/firefox-esr,
// else /usr/bin/firefox. The app must be built (`npm run test:firefox` builds it first).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firefoxPath } from './browser.ts';
import { FIREFOX_BASE_PORT, FIXTURE_READY_URL, fixtureOrigins, WORLD_ENVIRONMENTS } from './worlds.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));
const READY_TIMEOUT_MS = 120_000;

const executable = firefoxPath();
if (!executable) {
  console.error('No Firefox found: install Debian\'s firefox-esr (`apt-get install -y firefox-esr`) or set FIREFOX_PATH.');
  process.exit(1);
}
if (!existsSync(join(ROOT, 'dist', 'index.html'))) {
  console.error('dist/index.html is missing: run `npm run build` first (`npm run test:firefox` does).');
  process.exit(1);
}

// a `--` (as `node servers/with-node24.cjs test:firefox:run -- …` passes on) would end node --test's options
const args = process.argv.slice(2).filter((a) => a !== '--');
const chosen = args.filter((a) => a.endsWith('.test.ts'));
const files = chosen.length > 0 ? chosen : readdirSync(HERE).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('e2e', 'firefox', f));
const flags = args.filter((a) => !a.endsWith('.test.ts'));

// The update app serves the no-bundler fixture's page and the packed package's worker: what `npm run
// test:package` installs and copies there. Not prepared here (that packs and installs into the
// fixture apps, which the Chromium suite may be using at the same time).
const FIXTURE_FILES = ['e2e/fixtures/no-bundler/sw.js', 'e2e/fixtures/no-bundler/node_modules/mcp-sw-auth/lib/index.js', 'e2e/fixtures/update/previous-sw.js'];
const missing = FIXTURE_FILES.filter((f) => !existsSync(join(ROOT, f)));
if (files.some((f) => f.endsWith('update.test.ts')) && missing.length > 0) {
  console.error(`update.test.ts needs the fixture apps prepared, and ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing: run \`npm run test:package\` first (\`npm test\` runs it), or leave update.test.ts out (\`npm run test:firefox -- e2e/firefox/growth.test.ts …\`).`);
  process.exit(1);
}

const worlds: Array<{ name: string; child: ChildProcess; stderr: string[] }> = [];
let stopping = false;

function stopWorlds(): void {
  stopping = true;
  for (const { child } of worlds) if (child.exitCode === null && child.pid) child.kill('SIGTERM');
}

async function ready(url: string, child: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer within ${READY_TIMEOUT_MS / 1000} s`);
}

process.on('SIGINT', () => {
  stopWorlds();
  process.exit(130);
});
process.on('SIGTERM', () => {
  stopWorlds();
  process.exit(143);
});

const started = Date.now();
try {
  for (const { name, env } of WORLD_ENVIRONMENTS) {
    const child = spawn(process.execPath, ['servers/demo.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: string[] = [];
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    child.on('exit', (code) => {
      if (!stopping) console.error(`the ${name} world exited (code ${code}):\n${stderr.join('')}`);
    });
    worlds.push({ name, child, stderr });
  }
  // the fixture apps, for the locked world (MCP_SW_AUTH_E2E_PORT, set by worlds.ts, places them)
  {
    const child = spawn(process.execPath, ['e2e/fixtures/serve.ts'], { cwd: ROOT, env: process.env, stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: string[] = [];
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    child.on('exit', (code) => {
      if (!stopping) console.error(`the fixture server exited (code ${code}):\n${stderr.join('')}`);
    });
    worlds.push({ name: 'fixtures', child, stderr });
  }
  const checks = [...WORLD_ENVIRONMENTS.map(({ name, port }) => ({ name: `the ${name} world (port ${port})`, url: `http://localhost:${port}/demo-config.json` })), { name: 'the fixture server', url: FIXTURE_READY_URL }];
  await Promise.all(
    checks.map(({ name, url }, i) =>
      ready(url, worlds[i]!.child, Date.now() + READY_TIMEOUT_MS).catch((error: Error) => {
        throw new Error(`${name}: ${error.message}\n${worlds[i]!.stderr.join('')}`);
      }),
    ),
  );
} catch (error) {
  console.error(`Could not start the demo worlds: ${(error as Error).message}`);
  stopWorlds();
  process.exit(1);
}
console.log(`Firefox suite: ${executable}, worlds at ${WORLD_ENVIRONMENTS.map((w) => w.port).join(', ')}, fixture apps at ${fixtureOrigins.map((o) => new URL(o).port).join(', ')} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);

const tests = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...flags, ...files], {
  cwd: ROOT,
  env: { ...process.env, MCP_SW_AUTH_FIREFOX_PORT: String(FIREFOX_BASE_PORT), FIREFOX_PATH: executable },
  stdio: 'inherit',
});
const code = await new Promise<number>((resolve) => tests.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
stopWorlds();
console.log(`Firefox suite: ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
process.exit(code);
