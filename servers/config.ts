/**
 * Shared configuration for the demo: ports, URLs, the pre-registered OAuth
 * client and the scope catalogue of the two MCP servers.
 *
 * Port layout (base defaults to 4170, override with MCP_SW_AUTH_BASE_PORT):
 *   base     the app (vite preview)            http://localhost:<base>
 *   base + 1 the authorization server (oidc)   http://localhost:<base+1>
 *   base + 2 the Notes MCP server              http://localhost:<base+2>/mcp
 *   base + 3 the Calendar MCP server           http://localhost:<base+3>/mcp
 */

import type { AuthorizationServerConfig } from './authorization-server.ts';

export interface ScopeInfo {
  /** The OAuth scope string, e.g. `notes:write`. */
  scope: string;
  /** One short sentence a person understands, shown on the consent page. */
  description: string;
  /** What the scope unlocks on the MCP server (methods and tool names). */
  unlocks: readonly string[];
}

export interface ServerScopes {
  /** Stable id of the server, also used by the app (`notes`, `calendar`; `tasks` is servers/tasks.ts's own world). */
  id: 'notes' | 'calendar' | 'tasks';
  /** Human-readable name. */
  name: string;
  /** The scope needed to connect at all (initialize, tools/list). */
  connectScope: string;
  /** Every scope of this server, connect scope first. */
  scopes: readonly ScopeInfo[];
}

export const NOTES_SCOPES: ServerScopes = {
  id: 'notes',
  name: 'Notes',
  connectScope: 'notes:read',
  scopes: [
    { scope: 'notes:read', description: 'See your notes', unlocks: ['initialize', 'tools/list', 'list-notes'] },
    { scope: 'notes:write', description: 'Add new notes', unlocks: ['add-note'] },
    { scope: 'notes:delete', description: 'Delete notes', unlocks: ['delete-note'] },
    { scope: 'notes:export', description: 'Export all your notes as Markdown', unlocks: ['export-notes'] },
  ],
};

export const CALENDAR_SCOPES: ServerScopes = {
  id: 'calendar',
  name: 'Calendar',
  connectScope: 'calendar:read',
  scopes: [
    { scope: 'calendar:read', description: 'See your calendar events', unlocks: ['initialize', 'tools/list', 'list-events'] },
    { scope: 'calendar:write', description: 'Create calendar events', unlocks: ['create-event'] },
  ],
};

/** The scope catalogue, keyed by server id. */
export const SCOPE_CATALOGUE = { notes: NOTES_SCOPES, calendar: CALENDAR_SCOPES } as const;

/** Looks up a scope's description in the catalogue (undefined for unknown scopes). */
export function describeScope(scope: string): string | undefined {
  for (const server of Object.values(SCOPE_CATALOGUE)) {
    const found = server.scopes.find((s) => s.scope === scope);
    if (found) return found.description;
  }
  return undefined;
}

export interface DemoConfig {
  basePort: number;
  appPort: number;
  asPort: number;
  notesPort: number;
  calendarPort: number;
  ports: { app: number; as: number; notes: number; calendar: number };
  /** Origin of the app (and of its service worker). */
  appOrigin: string;
  /**
   * Every origin the app may be served from: `appOrigin`, plus MCP_SW_AUTH_APP_ORIGINS (comma
   * separated), e.g. the package's fixture apps. The authorization server accepts their
   * `/oauth/callback` and the MCP servers answer them with CORS.
   */
  appOrigins: string[];
  /** Issuer identifier of the authorization server (no trailing slash). */
  issuer: string;
  /** Resource URL of the Notes MCP server (also its RFC 8707 resource indicator). */
  notesUrl: string;
  /** Resource URL of the Calendar MCP server. */
  calendarUrl: string;
  /** The pre-registered public client. */
  clientId: string;
  redirectUri: string;
  /** Access-token lifetime in seconds. */
  accessTokenTtl: number;
  /** DPoP (RFC 9449) at the authorization server: tokens bound to the client's key. Off with MCP_SW_AUTH_DPOP=0. */
  dpop: boolean;
  /**
   * The MCP servers the app's worker trusts (compiled into the /sw.js it serves). By default none:
   * the demo lets people add MCP servers of their own. MCP_SW_AUTH_TRUSTED=demo serves the locked
   * build a production app with fixed servers should ship: it trusts the demo's two and refuses any other.
   */
  trustedServers: string[] | undefined;
  /**
   * Pushed authorization requests at the authorization server (RFC 9126): advertised and optional by
   * default; MCP_SW_AUTH_PAR=require makes them the only way in, MCP_SW_AUTH_PAR=off turns them off.
   */
  pushedAuthorizationRequests: 'allowed' | 'required' | 'off';
  /**
   * The benchmark's routes (MCP_SW_AUTH_BENCH=1): the MCP servers answer `<mcp>/bench/challenge?n=`
   * with a challenge for `bench:<n>`, and Notes' tokens may then carry `bench:0` to `bench:999`.
   */
  benchRoutes: boolean;
}

export function demoConfig(basePort = Number(process.env.MCP_SW_AUTH_BASE_PORT ?? 4170)): DemoConfig {
  if (!Number.isInteger(basePort) || basePort <= 0 || basePort > 65532) {
    throw new Error(`Invalid base port: ${basePort}`);
  }
  const appPort = basePort;
  const asPort = basePort + 1;
  const notesPort = basePort + 2;
  const calendarPort = basePort + 3;
  const appOrigin = `http://localhost:${appPort}`;
  const accessTokenTtl = Number(process.env.MCP_SW_AUTH_ACCESS_TOKEN_TTL ?? 600);
  if (!Number.isInteger(accessTokenTtl) || accessTokenTtl <= 0) {
    throw new Error(`Invalid MCP_SW_AUTH_ACCESS_TOKEN_TTL: ${process.env.MCP_SW_AUTH_ACCESS_TOKEN_TTL}`);
  }
  return {
    basePort,
    appPort,
    asPort,
    notesPort,
    calendarPort,
    ports: { app: appPort, as: asPort, notes: notesPort, calendar: calendarPort },
    appOrigin,
    appOrigins: [appOrigin, ...(process.env.MCP_SW_AUTH_APP_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean)],
    issuer: `http://localhost:${asPort}`,
    notesUrl: `http://localhost:${notesPort}/mcp`,
    calendarUrl: `http://localhost:${calendarPort}/mcp`,
    clientId: 'mcp-sw-auth-demo',
    redirectUri: `${appOrigin}/oauth/callback`,
    accessTokenTtl,
    dpop: process.env.MCP_SW_AUTH_DPOP !== '0',
    pushedAuthorizationRequests: process.env.MCP_SW_AUTH_PAR === 'require' ? 'required' : process.env.MCP_SW_AUTH_PAR === 'off' ? 'off' : 'allowed',
    benchRoutes: process.env.MCP_SW_AUTH_BENCH === '1',
    trustedServers: process.env.MCP_SW_AUTH_TRUSTED === 'demo' ? [`http://localhost:${notesPort}/mcp`, `http://localhost:${calendarPort}/mcp`] : undefined,
  };
}

/** The resource servers (MCP servers) the authorization server knows, keyed by resource URL. */
export function resourceServers(cfg: DemoConfig): Map<string, ServerScopes> {
  const bench = Array.from({ length: 1000 }, (_, n) => ({ scope: `bench:${n}`, description: `Benchmark scope ${n}`, unlocks: [`bench/challenge?n=${n}`] }));
  return new Map([
    [cfg.notesUrl, cfg.benchRoutes ? { ...NOTES_SCOPES, scopes: [...NOTES_SCOPES.scopes, ...bench] } : NOTES_SCOPES],
    [cfg.calendarUrl, CALENDAR_SCOPES],
  ]);
}

/** The demo's authorization server: the pre-registered client, Notes and Calendar, no dynamic registration. */
export function authorizationServerConfig(cfg: DemoConfig): AuthorizationServerConfig {
  return {
    issuer: cfg.issuer,
    appOrigins: cfg.appOrigins,
    clientId: cfg.clientId,
    accessTokenTtl: cfg.accessTokenTtl,
    dpop: cfg.dpop,
    resources: resourceServers(cfg),
    dynamicRegistration: false,
    pushedAuthorizationRequests: cfg.pushedAuthorizationRequests,
  };
}

/** The document the app fetches at `GET /demo-config.json` to learn where everything is. */
export function demoConfigDocument(cfg: DemoConfig) {
  return {
    issuer: cfg.issuer,
    clientId: cfg.clientId,
    servers: [
      { id: NOTES_SCOPES.id, name: NOTES_SCOPES.name, url: cfg.notesUrl },
      { id: CALENDAR_SCOPES.id, name: CALENDAR_SCOPES.name, url: cfg.calendarUrl },
    ],
  };
}
