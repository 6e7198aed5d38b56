import { defineConfig } from '@playwright/test';
import { existsSync } from 'node:fs';
import { fixtureOrigins, FIXTURES } from './e2e/fixtures/fixtures.ts';

/** Ports for the browser tests, away from the demo's (4170–4173) so both can run at once. */
export const E2E_BASE_PORT = Number(process.env.MCP_SW_AUTH_E2E_PORT ?? 4270);

function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
}

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // One MCP world (authorization server + two MCP servers) serves all tests; each test gets a
  // fresh browser context: a fresh profile with its own service worker and IndexedDB.
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: {
    baseURL: `http://localhost:${E2E_BASE_PORT}`,
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: chromiumPath(),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  webServer: [
    {
      // the demo in its locked build (a trusted-server list: MCP_SW_AUTH_TRUSTED=demo), plus the bench routes (servers/mcp-server.ts) for challenges no demo tool makes
      command: 'node servers/demo.ts',
      // the fixture apps that install the packed package (e2e/fixtures/) are served from origins of their own
      env: { MCP_SW_AUTH_BASE_PORT: String(E2E_BASE_PORT), MCP_SW_AUTH_BENCH: '1', MCP_SW_AUTH_APP_ORIGINS: fixtureOrigins.join(','), MCP_SW_AUTH_TRUSTED: 'demo' },
      url: `http://localhost:${E2E_BASE_PORT}/demo-config.json`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      // the same world with access tokens that expire within seconds, for the refresh tests; its
      // authorization server accepts only pushed authorization requests (RFC 9126)
      command: 'node servers/demo.ts',
      env: { MCP_SW_AUTH_BASE_PORT: String(E2E_BASE_PORT + 10), MCP_SW_AUTH_ACCESS_TOKEN_TTL: '12', MCP_SW_AUTH_TRUSTED: 'demo', MCP_SW_AUTH_PAR: 'require' },
      url: `http://localhost:${E2E_BASE_PORT + 10}/demo-config.json`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      // short-lived bearer tokens (DPoP off): what the worker keeps only in memory
      command: 'node servers/demo.ts',
      env: { MCP_SW_AUTH_BASE_PORT: String(E2E_BASE_PORT + 20), MCP_SW_AUTH_ACCESS_TOKEN_TTL: '12', MCP_SW_AUTH_DPOP: '0', MCP_SW_AUTH_TRUSTED: 'demo' },
      url: `http://localhost:${E2E_BASE_PORT + 20}/demo-config.json`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      // the fixture apps, as built by `npm run test:package`
      command: 'node e2e/fixtures/serve.ts',
      // answers 404s with a hint until the fixtures are built, so readiness has a path of its own
      url: `http://localhost:${FIXTURES[0].port}/.serve-ready`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      // the demo as it ships: a worker without a trusted-server list, so people may add MCP servers of their own
      command: 'node servers/demo.ts',
      env: { MCP_SW_AUTH_BASE_PORT: String(E2E_BASE_PORT + 30), MCP_SW_AUTH_TRUSTED: 'off' },
      url: `http://localhost:${E2E_BASE_PORT + 30}/demo-config.json`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],
});
