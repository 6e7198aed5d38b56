// The `--command` of `conformance client`: runs our browser client against one scenario.
//
//   node e2e/conformance/client.ts <server-url>      (the suite appends <server-url>)
//
// It serves the built app (dist/, `npm run build` first) on a localhost port, adds
// /conformance/config.json from the suite's environment (MCP_CONFORMANCE_SCENARIO,
// MCP_CONFORMANCE_PROTOCOL_VERSION, MCP_CONFORMANCE_CONTEXT), opens /conformance/ in headless
// Chromium and waits for the page's verdict. Exit 0 when the page listed and called the tools,
// 1 otherwise, with the reason on stdout.
//
// The suite's servers send no CORS headers, so this runner, and only this runner, starts Chromium
// with --disable-web-security (which needs its own --user-data-dir: a fresh temporary profile).
import { chromium } from '@playwright/test';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConformanceOutcome } from '../../app/conformance/main.ts';
import { workerScript } from '../../servers/worker-script.ts';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
/** Below the suite's own --timeout, so that the browser is closed and a reason printed first. */
const DEADLINE_MS = Number(process.env.MCP_SW_AUTH_CONFORMANCE_DEADLINE_MS ?? 25_000);
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-web-security',
];

function serve(config: { serverUrl: string }): Promise<Server> {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/conformance/config.json') {
      response.writeHead(200, { 'content-type': TYPES['.json']!, 'cache-control': 'no-store' }).end(JSON.stringify(config));
      return;
    }
    if (path === '/sw.js') {
      // the worker trusts exactly the scenario's MCP server, as an app lists its own
      response.writeHead(200, { 'content-type': TYPES['.js']!, 'cache-control': 'no-store' }).end(workerScript([config.serverUrl]));
      return;
    }
    const file = normalize(join(DIST, path.endsWith('/') ? `${path}index.html` : path));
    try {
      if (!file.startsWith(DIST)) throw new Error('outside dist');
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`Not found: ${path}`);
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function main(): Promise<ConformanceOutcome> {
  const serverUrl = process.argv.at(-1);
  if (!serverUrl?.startsWith('http')) return { ok: false, reason: 'usage: client.ts <server-url> (the conformance suite appends it)' };
  if (!existsSync(join(DIST, 'conformance', 'index.html'))) return { ok: false, reason: 'dist/conformance/index.html is missing: run `npm run build` first' };
  const config = {
    serverUrl,
    scenario: process.env.MCP_CONFORMANCE_SCENARIO ?? '(none)',
    protocolVersion: process.env.MCP_CONFORMANCE_PROTOCOL_VERSION ?? '2025-11-25',
    ...(process.env.MCP_CONFORMANCE_CONTEXT ? { context: JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT) as object } : {}),
  };

  const app = await serve(config);
  const profile = await mkdtemp(join(tmpdir(), 'mcp-sw-auth-conformance-'));
  const executablePath = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  const context = await chromium.launchPersistentContext(profile, { headless: true, args: CHROMIUM_ARGS, ...(executablePath ? { executablePath } : {}) });
  try {
    const verdict = new Promise<ConformanceOutcome>((resolve) => {
      void context.exposeFunction('mcpConformanceDone', (outcome: ConformanceOutcome) => resolve(outcome));
      setTimeout(() => resolve({ ok: false, reason: `no verdict from the page within ${DEADLINE_MS / 1000} s` }), DEADLINE_MS);
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => console.error(`[page ${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) console.error(`[navigated] ${frame.url().replace(/([?&](code|state)=)[^&]+/g, '$1…')}`);
    });
    const { port } = app.address() as AddressInfo;
    await page.goto(`http://localhost:${port}/conformance/`);
    return await verdict;
  } finally {
    await context.close().catch(() => undefined);
    app.close();
    await rm(profile, { recursive: true, force: true });
  }
}

const outcome = await main().catch((error: unknown) => ({ ok: false, reason: `runner error: ${error instanceof Error ? error.message : String(error)}` }));
console.log(`${outcome.ok ? 'PASS' : 'FAIL'}: ${outcome.reason}`);
process.exit(outcome.ok ? 0 : 1);
