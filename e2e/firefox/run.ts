// `npm run test:firefox`: the browser tests that matter most, in Firefox (Debian's firefox-esr),
// driven over WebDriver BiDi by puppeteer-core, under Node's own test runner.
//
//   npm run test:firefox                                   every area (e2e/firefox/*.test.ts)
//   npm run test:firefox -- e2e/firefox/popup.test.ts      one area (growth, confinement, multitab, faults, popup, lifecycle)
//   npm run test:firefox -- --test-name-pattern=reload     the tests whose name matches
//
// Starts the four demo worlds the way playwright.config.ts's webServer does (e2e/firefox/worlds.ts,
// base port MCP_SW_AUTH_FIREFOX_PORT, default 4770), runs `node --test` over the test files one at a
// time (each file launches one Firefox; each test gets a fresh browser context: its own service
// worker and IndexedDB), then stops the worlds. Arguments are passed on to `node --test`; a
// `*.test.ts` argument replaces the file list. The browser is FIREFOX_PATH, else /usr/bin/firefox-esr,
// else /usr/bin/firefox. The app must be built (`npm run test:firefox` builds it first).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firefoxPath } from './browser.ts';
import { FIREFOX_BASE_PORT, WORLD_ENVIRONMENTS } from './worlds.ts';

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
  await Promise.all(
    WORLD_ENVIRONMENTS.map(({ name, port }, i) =>
      ready(`http://localhost:${port}/demo-config.json`, worlds[i]!.child, Date.now() + READY_TIMEOUT_MS).catch((error: Error) => {
        throw new Error(`the ${name} world (port ${port}): ${error.message}\n${worlds[i]!.stderr.join('')}`);
      }),
    ),
  );
} catch (error) {
  console.error(`Could not start the demo worlds: ${(error as Error).message}`);
  stopWorlds();
  process.exit(1);
}
console.log(`Firefox suite: ${executable}, worlds at ${WORLD_ENVIRONMENTS.map((w) => w.port).join(', ')} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);

const tests = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...flags, ...files], {
  cwd: ROOT,
  env: { ...process.env, MCP_SW_AUTH_FIREFOX_PORT: String(FIREFOX_BASE_PORT), FIREFOX_PATH: executable },
  stdio: 'inherit',
});
const code = await new Promise<number>((resolve) => tests.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
stopWorlds();
console.log(`Firefox suite: ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
process.exit(code);
