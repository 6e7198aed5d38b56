// The page that e2e/conformance/client.ts opens for one scenario of the official MCP conformance
// suite (@modelcontextprotocol/conformance). It does what an app would: registers the suite's MCP
// server with the worker (autoRedirect on), lists the tools and calls each one. All authorization
// (discovery, PKCE redirect, token exchange, step-up) is the service worker's. After every
// return from the authorization server the page loads again and starts over; the worker holds the
// grant, so each pass gets further. The outcome goes to the runner through `mcpConformanceDone`.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { AuthorizationRequiredError, McpAuthClient, McpAuthError, type ServerState } from '../core/auth-client.ts';
import { McpSession, type ToolInfo, type ToolOutcome } from '../core/mcp-session.ts';

/** Served by e2e/conformance/client.ts at /conformance/config.json, one file per scenario run. */
interface ConformanceConfig {
  serverUrl: string;
  scenario: string;
  /** MCP_CONFORMANCE_PROTOCOL_VERSION: 2025-11-25 and earlier are stateful, 2026-07-28 is stateless. */
  protocolVersion: string;
  /** MCP_CONFORMANCE_CONTEXT, e.g. { client_id, client_secret } for auth/pre-registration. */
  context?: { client_id?: string; client_secret?: string } & Record<string, unknown>;
}

export interface ConformanceOutcome {
  ok: boolean;
  reason: string;
}

declare global {
  interface Window {
    /** Exposed by the runner (Playwright's exposeFunction). */
    mcpConformanceDone?: (outcome: ConformanceOutcome) => void;
  }
}

type Session = Pick<McpSession, 'listTools' | 'callTool' | 'close'>;

const SERVER_ID = 'conformance';
/** The Client ID Metadata Document URL the suite expects (auth/basic-cimd). */
const CLIENT_METADATA_URL = 'https://conformance-test.local/client-metadata.json';
/** Returns from the authorization server before the page gives up; the suite allows 3 per server. */
const MAX_RETURNS = 6;
/** How long to wait for the worker's redirect (or its refusal) after a challenge. */
const REDIRECT_WAIT_MS = 10_000;

function log(line: string): void {
  document.getElementById('log')!.textContent += `${line}\n`;
  console.info(`[conformance] ${line}`);
}

function finish(outcome: ConformanceOutcome): void {
  log(`${outcome.ok ? 'PASS' : 'FAIL'}: ${outcome.reason}`);
  window.mcpConformanceDone?.(outcome);
}

/**
 * McpSession speaks the stateful (initialize) lifecycle only. A 2026-07-28 server is stateless
 * (server/discover, per-request _meta), so for it the page pins the SDK client to that revision.
 */
function openSession(config: ConformanceConfig): Session {
  if (config.protocolVersion < '2026-07-28') return new McpSession(config.serverUrl);
  let client: Promise<Client> | undefined;
  const connect = () =>
    (client ??= (async () => {
      const c = new Client(
        { name: 'mcp-sw-auth-conformance', version: '0.1.0' },
        { versionNegotiation: { mode: { pin: config.protocolVersion } } },
      );
      await c.connect(new StreamableHTTPClientTransport(new URL(config.serverUrl)));
      return c;
    })());
  return {
    async listTools() {
      return (await (await connect()).listTools()).tools as ToolInfo[];
    },
    async callTool(name, args): Promise<ToolOutcome> {
      const result = await (await connect()).callTool({ name, arguments: args });
      const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
      return { text: content.map((c) => c.text ?? `[${c.type}]`).join('\n'), isError: result.isError === true };
    },
    close() {
      void client?.then((c) => c.close()).catch(() => undefined);
      client = undefined;
    },
  };
}

/** After a challenge the worker either redirects (this page unloads) or records why it will not. */
function waitForRefusal(auth: McpAuthClient, since: number): Promise<ConformanceOutcome> {
  return new Promise((resolve) => {
    const check = (server: ServerState | undefined) => {
      const last = server?.timeline.at(-1);
      if (server?.error && last?.kind === 'error' && last.at >= since) {
        resolve({ ok: false, reason: `the worker did not authorize: ${server.error.code}: ${server.error.message}` });
        return true;
      }
      return false;
    };
    if (check(auth.getSnapshot().servers[SERVER_ID])) return;
    const stop = auth.subscribe(() => {
      if (check(auth.getSnapshot().servers[SERVER_ID])) stop();
    });
    setTimeout(() => {
      stop();
      resolve({ ok: false, reason: `a challenge was recorded but no redirect started within ${REDIRECT_WAIT_MS / 1000} s` });
    }, REDIRECT_WAIT_MS);
  });
}

async function run(): Promise<ConformanceOutcome> {
  const response = await fetch('/conformance/config.json', { cache: 'no-store' });
  if (!response.ok) return { ok: false, reason: `/conformance/config.json: HTTP ${response.status}` };
  const config = (await response.json()) as ConformanceConfig;
  log(`${config.scenario} (${config.protocolVersion}) against ${config.serverUrl}`);

  // As an app would configure it: the pre-registered client when the scenario gives one, else the
  // app's Client ID Metadata Document URL (used where the server supports it), else dynamic registration.
  const auth = new McpAuthClient({
    ...(config.context?.client_id ? { clientId: config.context.client_id } : {}),
    ...(config.context?.client_secret ? { clientSecret: config.context.client_secret } : {}),
    clientMetadataUrl: CLIENT_METADATA_URL,
    clientName: 'mcp-sw-auth conformance client',
    offlineAccess: true,
    servers: [{ id: SERVER_ID, name: 'Conformance server', url: config.serverUrl }],
    autoRedirect: true,
  });
  await auth.start();

  const last = auth.getSnapshot().lastResult;
  if (last) {
    // the worker counts completed authorizations per server; each return is one of them
    const returns = auth.getSnapshot().servers[SERVER_ID]?.authorizations ?? 0;
    log(`back from the authorization server (${returns}): ${last.outcome}${last.granted ? ` [${last.granted.join(' ')}]` : ''}`);
    if (last.outcome === 'error') {
      return { ok: false, reason: `authorization failed: ${last.error?.code}: ${last.error?.message}` };
    }
    if (returns > MAX_RETURNS) return { ok: false, reason: `still challenged after ${MAX_RETURNS} authorizations` };
  }

  const session = openSession(config);
  const since = Date.now();
  try {
    const tools = await auth.guard(SERVER_ID, 'tools/list', () => session.listTools());
    log(`tools/list: ${tools.map((t) => t.name).join(', ') || '(none)'}`);
    for (const tool of tools) {
      const outcome = await auth.guard(SERVER_ID, `tools/call ${tool.name}`, () => session.callTool(tool.name, {}));
      log(`tools/call ${tool.name}: ${outcome.isError ? 'error' : 'ok'} ${outcome.text}`);
      if (outcome.isError) return { ok: false, reason: `tools/call ${tool.name} returned an error: ${outcome.text}` };
    }
    return { ok: true, reason: `listed ${tools.length} tool(s) and called each` };
  } catch (error) {
    if (error instanceof AuthorizationRequiredError) {
      log(`challenged for [${error.scopes.join(' ')}]; the worker redirects`);
      return waitForRefusal(auth, since);
    }
    if (error instanceof McpAuthError) return { ok: false, reason: `${error.info.code}: ${error.message}` };
    return { ok: false, reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  } finally {
    session.close();
  }
}

run().then(finish, (error: unknown) => finish({ ok: false, reason: `page error: ${error instanceof Error ? error.message : String(error)}` }));
