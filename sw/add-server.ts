// Adding an MCP server a person names at run time, as an MCP Inspector does: the worker checks the
// URL, asks the server as any MCP client first would (probe.ts), follows its challenge to the
// Protected Resource Metadata and the authorization server (discovery.ts), identifies the app
// there (registration.ts), and only then keeps the server. Nothing is kept when a step fails.
import { discover, forgetServer, hintResourceMetadata } from './discovery.ts';
import { AuthError } from './errors.ts';
import { applyDiscovery, emptyLedger } from './ledger.ts';
import type { AddServerInput } from './messages.ts';
import { CORS_ADVICE, probeServer } from './probe.ts';
import { clientFor, discoveryFacts } from './registration.ts';
import { allServers, clientConfigOf, register } from './registry.ts';
import type { ServerRecord } from './db.ts';
import { isTrusted, trustedServers } from './settings.ts';
import { isSafeEndpoint, parseUrl } from './urls.ts';

function text(value: unknown, what: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > 200) throw new AuthError('invalid_config', `addServer(): ${what} must be text of at most 200 characters.`);
  return value.trim();
}

/** The URL as a person typed it, or an error that says what is wrong with it. */
function checkUrl(value: unknown): URL {
  const typed = typeof value === 'string' ? value.trim() : value;
  const url = parseUrl(typed);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new AuthError('invalid_server_url', `${JSON.stringify(typed)} is not a web address. Give the MCP endpoint in full, e.g. https://mcp.example.com/mcp.`);
  }
  if (!isSafeEndpoint(url)) {
    throw new AuthError('invalid_server_url', `${url.href} is plain http on another machine: tokens are only sent over https (or to localhost). Use the server's https address.`);
  }
  if (url.search) throw new AuthError('invalid_server_url', `${url.href} has a query string; give the MCP endpoint without one.`);
  if (!isTrusted(url)) {
    throw new AuthError(
      'untrusted_server',
      `This app's worker only talks to the MCP servers its own script trusts (${trustedServers()?.join(', ')}), so it will not add ${url.href}. ` +
        'To allow it, add it to trustedServers where the app installs the worker.',
    );
  }
  const existing = allServers().find((s) => s.url === url.href);
  if (existing) throw new AuthError('already_registered', `${url.href} is already here, as "${existing.name}".`);
  return url;
}

function idFor(url: URL): string {
  const base = `${url.host}${url.pathname}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80) || 'server';
  const taken = new Set(allServers().map((s) => s.id));
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  return id;
}

function nameFor(url: URL, resourceName: unknown): string {
  if (typeof resourceName === 'string' && resourceName.trim().length > 0) return resourceName.trim().slice(0, 200);
  return `${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

/** Discovers and registers the server, then keeps it; throws an AuthError saying what to change. */
export async function addServer(input: Partial<AddServerInput> | null | undefined): Promise<ServerRecord> {
  const url = checkUrl(input?.url);
  const name = text(input?.name, 'the name');
  const clientId = text(input?.clientId, 'the client id');
  const probe = await probeServer(url);
  if (probe.challenge?.resourceMetadata) hintResourceMetadata(url.href, probe.challenge.resourceMetadata);
  try {
    const metadata = await discover(url.href);
    const draft: ServerRecord = { ...emptyLedger(), id: idFor(url), name: name ?? nameFor(url, metadata.resource.resource_name), url: url.href, added: true, ...(clientId ? { clientId } : {}) };
    const client = await clientFor(metadata.authorizationServer, clientConfigOf(draft));
    const record = applyDiscovery(draft, discoveryFacts(metadata, client), Date.now());
    await register(record);
    return record;
  } catch (error) {
    forgetServer(url.href);
    if (error instanceof AuthError && !probe.challenge) {
      throw new AuthError(
        error.code,
        `${error.message} Its ${probe.status} carried no WWW-Authenticate header this page can read, which would have named its metadata: the server's author must send one, and ${CORS_ADVICE}.`,
        { cause: error },
      );
    }
    throw error;
  }
}
