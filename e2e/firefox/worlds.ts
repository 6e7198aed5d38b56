// The demo worlds the Firefox suite runs against: the same four as playwright.config.ts's
// webServer, and the fixture server (e2e/fixtures/serve.ts: the update app), on ports of their own
// so that both suites can run at once. run.ts starts them; the tests read their URLs from here.
import { demoConfig } from '../../servers/config.ts';

/** Base port of the Firefox suite's worlds (the Playwright suite's are at 4270…). */
export const FIREFOX_BASE_PORT = Number(process.env.MCP_SW_AUTH_FIREFOX_PORT ?? 4770);

// e2e/fixtures/fixtures.ts places the fixture apps next to the world of MCP_SW_AUTH_E2E_PORT (the
// Playwright suite's, 4270, by default): here it is the Firefox suite's locked world, so the fixture
// apps are at FIREFOX_BASE_PORT + 70…74 (4840–4844) and talk to its servers. Set before fixtures.ts
// is first loaded (hence the dynamic import), and inherited by what run.ts starts (serve.ts, the tests).
process.env.MCP_SW_AUTH_E2E_PORT = String(FIREFOX_BASE_PORT);
const fixtures = await import('../fixtures/fixtures.ts');
if (fixtures.fixtureWorld.basePort !== FIREFOX_BASE_PORT) {
  throw new Error(`e2e/fixtures/fixtures.ts was loaded before e2e/firefox/worlds.ts set MCP_SW_AUTH_E2E_PORT: its apps talk to port ${fixtures.fixtureWorld.basePort}, not ${FIREFOX_BASE_PORT}`);
}
/** The update app (e2e/update.spec.ts's): the no-bundler page, and the worker build last deployed with `POST /__deploy`. */
export const updateOrigin = fixtures.updateOrigin;
/** The fixture apps' origins (serve.ts), which the locked world's servers answer too. */
export const fixtureOrigins = fixtures.fixtureOrigins;
/** Where run.ts asks whether serve.ts is listening. */
export const FIXTURE_READY_URL = `http://localhost:${fixtures.FIXTURES[0].port}/.serve-ready`;

/** The locked build: its worker trusts only the two demo servers. */
export const world = demoConfig(FIREFOX_BASE_PORT);
/** Access tokens that live 12 s, for the refresh tests; its authorization server accepts only pushed authorization requests (RFC 9126). */
export const shortLivedWorld = demoConfig(FIREFOX_BASE_PORT + 10);
/** 12 s tokens and DPoP off: bearer tokens, which the worker keeps only in memory. */
export const bearerWorld = { ...demoConfig(FIREFOX_BASE_PORT + 20), dpop: false };
/** The demo as it ships: no trusted-server list, so a test may add servers of its own. */
export const openWorld = { ...demoConfig(FIREFOX_BASE_PORT + 30), trustedServers: undefined };

/** How run.ts starts each world (`node servers/demo.ts` with these variables), as playwright.config.ts does. */
export const WORLD_ENVIRONMENTS: Array<{ name: string; port: number; env: Record<string, string> }> = [
  {
    name: 'locked',
    port: world.basePort,
    // its authorization server and MCP servers also answer the fixture apps' origins (as playwright.config.ts's first world)
    env: { MCP_SW_AUTH_BASE_PORT: String(world.basePort), MCP_SW_AUTH_BENCH: '1', MCP_SW_AUTH_APP_ORIGINS: fixtureOrigins.join(','), MCP_SW_AUTH_TRUSTED: 'demo' },
  },
  { name: 'short-lived', port: shortLivedWorld.basePort, env: { MCP_SW_AUTH_BASE_PORT: String(shortLivedWorld.basePort), MCP_SW_AUTH_ACCESS_TOKEN_TTL: '12', MCP_SW_AUTH_TRUSTED: 'demo', MCP_SW_AUTH_PAR: 'require' } },
  {
    name: 'bearer',
    port: bearerWorld.basePort,
    env: { MCP_SW_AUTH_BASE_PORT: String(bearerWorld.basePort), MCP_SW_AUTH_ACCESS_TOKEN_TTL: '12', MCP_SW_AUTH_DPOP: '0', MCP_SW_AUTH_TRUSTED: 'demo' },
  },
  { name: 'open', port: openWorld.basePort, env: { MCP_SW_AUTH_BASE_PORT: String(openWorld.basePort), MCP_SW_AUTH_TRUSTED: 'off' } },
];
