/**
 * `npm run demo` — starts the authorization server, the Notes and Calendar MCP servers and the app.
 *
 *   node servers/demo.ts               everything
 *   node servers/demo.ts --no-app      servers only (e.g. while running `vite` yourself)
 *   node servers/demo.ts --verbose     also print one line per MCP request
 *
 * Ports: MCP_SW_AUTH_BASE_PORT (default 4170) = app, +1 authorization server, +2 notes, +3 calendar.
 * Access-token lifetime: MCP_SW_AUTH_ACCESS_TOKEN_TTL seconds (default 600).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import type { PreviewServer } from 'vite';

import { startAuthorizationServer, type AuthorizationServerEvent } from './authorization-server.ts';
import { startCalendarServer } from './calendar.ts';
import { authorizationServerConfig, CALENDAR_SCOPES, demoConfig, NOTES_SCOPES } from './config.ts';
import type { McpRequestLogEntry } from './mcp-server.ts';
import { startNotesServer } from './notes.ts';
import { demoConfigPlugin } from './vite-plugin.ts';

const USAGE = 'Usage: node servers/demo.ts [--no-app] [--verbose]';
let flags: { 'no-app': boolean; verbose: boolean; help: boolean };
try {
  flags = parseArgs({
    options: {
      'no-app': { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cfg = demoConfig();

const serverName = (url: string | undefined) =>
  url === cfg.notesUrl ? NOTES_SCOPES.name : url === cfg.calendarUrl ? CALENDAR_SCOPES.name : (url ?? '(no resource)');

function logAuthorizationServer(event: AuthorizationServerEvent): void {
  const time = event.at.slice(11, 19);
  if (event.kind === 'registration') return; // the demo's server has no dynamic registration
  if (event.kind === 'authorization') {
    const resource = Array.isArray(event.resource) ? event.resource.map(serverName).join(', ') : serverName(event.resource);
    const outcome = event.outcome === 'error' ? `error ${event.error ?? ''}`.trim() : event.outcome === 'code' ? 'no page needed' : `${event.outcome} page`;
    console.log(`${time} [auth]  authorize ${resource}: ${event.scope ?? '(no scope)'} → ${outcome}`);
  } else {
    const result = event.status === 200 ? `${event.scope ?? ''}${event.refreshToken ? ' (+ refresh token)' : ''}` : `error ${event.error ?? event.status}`;
    console.log(`${time} [auth]  token ${event.grantType ?? '?'} for ${serverName(event.resource)} → ${result}`);
  }
}

function logMcp(name: string) {
  return (entry: McpRequestLogEntry) => {
    if (!flags.verbose) return;
    const what = entry.tool ? `${entry.rpcMethod} ${entry.tool}` : (entry.rpcMethod ?? entry.httpMethod);
    console.log(`${entry.at.slice(11, 19)} [${name}] ${what} → ${entry.status}${entry.tokenScopes ? ` (token: ${entry.tokenScopes})` : ''}`);
  };
}

/** Use the project's vite.config.ts (it sets root, outDir, inputs) when there is one. */
function viteBase(): { configFile: string } | { root: string; configFile: false } {
  const configFile = join(root, 'vite.config.ts');
  return existsSync(configFile) ? { configFile } : { root, configFile: false };
}

async function startApp(): Promise<PreviewServer | undefined> {
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch (error) {
    console.warn(`Skipping the app: cannot load vite (${(error as Error).message}).`);
    return undefined;
  }
  if (!existsSync(join(root, 'dist', 'index.html'))) {
    console.log('dist/index.html is missing: building the app with vite…');
    try {
      await vite.build({ ...viteBase(), logLevel: 'warn' });
    } catch (error) {
      const message = (error as Error).message.split('\n').filter(Boolean).slice(0, 6).join('\n    ');
      console.warn(`\nSkipping the app: the vite build failed:\n    ${message}`);
      console.warn('The servers keep running; fix the build and restart, or run `npm run build` yourself.\n');
      return undefined;
    }
    if (!existsSync(join(root, 'dist', 'index.html'))) {
      console.warn('Skipping the app: the vite build produced no dist/index.html.');
      return undefined;
    }
  }
  return vite.preview({
    ...viteBase(),
    logLevel: 'warn',
    plugins: [demoConfigPlugin(cfg)],
    preview: { port: cfg.appPort, strictPort: true, host: 'localhost', open: false },
  });
}

const closers: (() => Promise<void>)[] = [];
let shuttingDown = false;
async function shutdown(code: number): Promise<never> {
  if (shuttingDown) process.exit(code);
  shuttingDown = true;
  const forced = setTimeout(() => process.exit(code), 3000);
  forced.unref();
  await Promise.allSettled(closers.reverse().map((close) => close()));
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  const as = await startAuthorizationServer(authorizationServerConfig(cfg), { onEvent: logAuthorizationServer });
  closers.push(as.close);
  const notes = await startNotesServer(cfg, { onRequest: logMcp('notes') });
  closers.push(notes.close);
  const calendar = await startCalendarServer(cfg, { onRequest: logMcp('calendar') });
  closers.push(calendar.close);

  let app: PreviewServer | undefined;
  if (!flags['no-app']) {
    app = await startApp();
    if (app) closers.push(() => app!.close());
  }

  console.log(`
  Authorization server  ${cfg.issuer}   (log: ${cfg.issuer}/__log)
  Notes MCP server      ${cfg.notesUrl}
  Calendar MCP server   ${cfg.calendarUrl}
  Access tokens live ${cfg.accessTokenTtl}s; DPoP ${cfg.dpop ? "on: tokens are bound to the worker's key" : "off: bearer tokens"}.`);
  if (app) {
    console.log(`
  ➜  Open the app:  ${cfg.appOrigin}/
`);
  } else {
    console.log(`
  The app is not running${flags['no-app'] ? ' (--no-app)' : ''}; it is expected at ${cfg.appOrigin}/ (it must serve /demo-config.json).
`);
  }
  console.log('  Press Ctrl+C to stop.\n');
} catch (error) {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') {
    console.error(`Port already in use (${e.message}). Stop the other process or set MCP_SW_AUTH_BASE_PORT.`);
  } else {
    console.error(error);
  }
  await shutdown(1);
}
