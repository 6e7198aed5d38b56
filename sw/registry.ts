// The worker's view of the app's MCP servers: kept in memory for the request path, loaded from
// IndexedDB once per worker start (after the checks any stored record gets), written through on
// every change and broadcast to the app's windows. A registration (id, name, URL) only ever comes
// from memory: what a page writes into the database cannot move a server elsewhere.
import { deleteServer, loadStartupState, saveConfig, saveServers, updateLedger, type ServerRecord } from './db.ts';
import { dpopHandle, dpopWarnings, restoreNonces } from './dpop.ts';
import { AuthError } from './errors.ts';
import { flowUnderWay, IN_FLIGHT_MS } from './flows.ts';
import { heldCount } from './holds.ts';
import { emptyLedger } from './ledger.ts';
import type { ClientConfig, Preferences, ScopeStrategy, ServerRegistration, ServerState, WorkerBroadcast, WorkerConfig } from './messages.ts';
import { clientConfigFor } from './registration.ts';
import { isTrusted } from './settings.ts';
import { checkConfig } from './stored.ts';
import { clearToken, getToken, restoreToken } from './tokens.ts';
import { deepestMatch, isSafeEndpoint, parseUrl } from './urls.ts';

declare const self: ServiceWorkerGlobalScope;

interface Entry {
  record: ServerRecord;
  url: URL;
}

const entries = new Map<string, Entry>();
let config: WorkerConfig | undefined;
const warnings: string[] = [];
let loading: Promise<void> | undefined;
let loaded = false;

function warn(message: string): void {
  if (warnings.includes(message)) return;
  warnings.push(message);
  console.warn(`[mcp-sw-auth] ${message}`);
}

async function load(): Promise<void> {
  const { servers, config: stored, tokens, keyPair, nonces } = await loadStartupState();
  nonces.skipped.forEach(warn);
  for (const kept of nonces.values) restoreNonces(kept);
  servers.skipped.forEach(warn);
  for (const record of servers.values) {
    if (!isTrusted(new URL(record.url))) {
      warn(`The stored server "${record.id}" (${record.url}) is not on this worker's trusted list and was ignored.`);
      continue;
    }
    entries.set(record.id, { record, url: new URL(record.url) });
  }
  stored.skipped.forEach(warn);
  config ??= stored.values[0];
  tokens.skipped.forEach(warn);
  if (tokens.values.length > 0) {
    // the key is checked (and replaced if unusable, forgetting its tokens) before any token is used
    await dpopHandle({ keyPair });
    const replaced = dpopWarnings();
    replaced.forEach(warn);
    for (const token of replaced.length > 0 ? [] : tokens.values) {
      const server = entries.get(token.serverId);
      if (!server || !restoreToken(token, server.record.url)) warn(`A stored token for "${token.serverId}" matches no registered server URL and was ignored.`);
    }
  }
  loaded = true;
}

/** Loads the stored state once per worker start. A failure is not remembered: the next call tries again. */
export function ready(): Promise<void> {
  if (loading) return loading;
  const attempt = load();
  loading = attempt;
  attempt.catch((error: unknown) => {
    if (loading === attempt) loading = undefined;
    console.warn('[mcp-sw-auth] Could not read IndexedDB; requests pass through untouched until it can.', error);
  });
  return attempt;
}

export function isReady(): boolean {
  return loaded;
}

/** The registered server a request goes to, if any: same origin, and the deepest endpoint path at or above it. */
export function matchServer(url: URL): ServerRecord | undefined {
  return deepestMatch(url, entries.values())?.record;
}

export function getServer(id: string): ServerRecord | undefined {
  return entries.get(id)?.record;
}

export function allServers(): ServerRecord[] {
  return [...entries.values()].map((e) => e.record);
}

export function getConfig(): WorkerConfig | undefined {
  return config;
}

/** Who the app is at a server's authorization server (registration.ts decides the order). */
export function clientConfigOf(server: ServerRecord): ClientConfig {
  if (!config) throw new AuthError('not_registered', 'The worker has no configuration: call configure() first, then try again.');
  return clientConfigFor(server, config);
}

export function strategy(): ScopeStrategy {
  return config?.strategy ?? 'union';
}

export function autoRedirect(): boolean {
  return config?.autoRedirect ?? false;
}

export function workerWarnings(): string[] {
  return [...warnings];
}

export function toState(record: ServerRecord): ServerState {
  const token = getToken(record.id);
  const state: ServerState = {
    id: record.id,
    name: record.name,
    url: record.url,
    ...(record.clientId ? { clientId: record.clientId } : {}),
    ...(record.added ? { added: true } : {}),
    requested: record.requested,
    granted: record.granted,
    authorizations: record.authorizations,
    authorized: token !== undefined,
    timeline: record.timeline,
  };
  if (token) state.binding = token.dpop ? 'dpop' : 'bearer';
  if (record.pending) state.pending = record.pending;
  const held = heldCount(record.id);
  if (held > 0) state.held = held;
  const flow = flowUnderWay(record.id, IN_FLIGHT_MS);
  if (flow) state.authorizing = { window: flow.startedBy, since: flow.createdAt, popup: flow.display === 'popup' };
  if (record.error) state.error = record.error;
  return state;
}

export async function broadcast(record: ServerRecord): Promise<void> {
  const message: WorkerBroadcast = { type: 'mcp-sw-auth:state', server: toState(record) };
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const client of windows) client.postMessage(message);
}

/** Tells every window the server's state again (something outside the ledger changed, such as its held requests). */
export function rebroadcast(id: string): void {
  const record = entries.get(id)?.record;
  if (record) void broadcast(record).catch(() => undefined);
}

/**
 * Applies one ledger transition atomically, then tells every window; unless `quiet`, when the
 * caller tells them later (rebroadcast) because something more urgent must reach a window first.
 */
export async function change(id: string, transition: (record: ServerRecord) => ServerRecord, options: { quiet?: boolean } = {}): Promise<ServerRecord | undefined> {
  await ready();
  const entry = entries.get(id);
  if (!entry) return undefined;
  const { url } = entry.record;
  const result = await updateLedger(registrationOf(entry.record), transition, emptyLedger);
  // a configure that moved the server while the transaction ran wins
  if (entries.get(id)?.record.url === url) entries.set(id, { record: result.record, url: entry.url });
  if (result.changed && !options.quiet) await broadcast(result.record);
  return result.record;
}

/** The part of a record that only ever comes from memory. */
function registrationOf(record: ServerRecord): ServerRegistration & Pick<ServerRecord, 'added'> {
  return {
    id: record.id,
    name: record.name,
    url: record.url,
    ...(record.clientId ? { clientId: record.clientId } : {}),
    ...(record.added ? { added: true } : {}),
  };
}

/** Keeps a server added at run time (add-server.ts has checked it): from now on its requests are ours. */
export async function register(record: ServerRecord): Promise<void> {
  await saveServers([record]);
  entries.set(record.id, { record, url: new URL(record.url) });
  await broadcast(record);
}

/** Forgets a server: its requests pass through untouched from now on. */
export async function unregister(id: string): Promise<void> {
  entries.delete(id);
  await deleteServer(id);
  const message: WorkerBroadcast = { type: 'mcp-sw-auth:removed', serverId: id };
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const client of windows) client.postMessage(message);
}

function invalid(message: string): never {
  throw new AuthError('invalid_config', message);
}

/** Checks a page's server list as strictly as a server's answer, before anything is saved. */
function checkRegistrations(servers: unknown): ServerRegistration[] {
  if (!Array.isArray(servers) || servers.length > 100) invalid('configure() needs `servers`: a list of at most 100 { id, name, url }.');
  const seen = new Set<string>();
  return servers.map((s: Partial<ServerRegistration> | null, i) => {
    const id = s?.id;
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) invalid(`servers[${i}].id must be a non-empty string.`);
    if (seen.has(id)) invalid(`Two servers have the id "${id}"; ids must be unique.`);
    seen.add(id);
    const name = s?.name ?? id;
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) invalid(`servers[${i}].name must be a non-empty string.`);
    const url = parseUrl(s?.url);
    if (!url) invalid(`Server "${id}": ${JSON.stringify(s?.url)} is not an absolute URL. Give the MCP endpoint in full, e.g. "https://mcp.example.com/mcp".`);
    if (!isSafeEndpoint(url) || url.search) {
      invalid(`Server "${id}": ${url.href} must be https (or http on localhost), without user info, query or fragment: tokens are only sent there.`);
    }
    if (!isTrusted(url)) {
      throw new AuthError('untrusted_server', `Server "${id}" (${url.href}) is not on this worker's list of trusted MCP servers, so it was not registered. Add it to trustedServers in the worker script.`);
    }
    const clientId = s?.clientId;
    if (clientId !== undefined && (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 2048)) invalid(`servers[${i}].clientId must be a non-empty string.`);
    return { id, name, url: url.href, ...(clientId ? { clientId } : {}) };
  });
}

export async function configure(requested: Omit<WorkerConfig, 'strategy'> & { strategy?: ScopeStrategy }, servers: unknown): Promise<void> {
  await ready();
  const registrations = checkRegistrations(servers);
  const candidate: Record<string, unknown> = { ...requested, strategy: requested.strategy ?? config?.strategy ?? 'union' };
  const keptAutoRedirect = requested.autoRedirect ?? config?.autoRedirect;
  if (keptAutoRedirect !== undefined) candidate['autoRedirect'] = keptAutoRedirect;
  const checked = checkConfig(candidate);
  if (!checked.ok) invalid(`configure(): ${checked.why.replace(/^a stored configuration was ignored: /, '')}.`);
  const next = checked.value;

  const changed = registrations.filter((s) => {
    const known = entries.get(s.id)?.record;
    return !known || known.url !== s.url || known.name !== s.name || known.clientId !== s.clientId || known.added;
  });
  const configChanged = JSON.stringify(config) !== JSON.stringify(next);
  // Every page load configures the worker; IndexedDB is written only when something differs.
  if (changed.length === 0 && !configChanged) return;
  const records = changed.map((registration): ServerRecord => {
    const known = entries.get(registration.id)?.record;
    // the app configures it now: it is the app's, not one the user added
    if (known && known.url === registration.url) {
      const { added: _added, clientId: _clientId, ...ledger } = known;
      return { ...ledger, ...registration };
    }
    // A server that moved to another URL starts a fresh ledger, and its token (audience: the old URL) goes.
    if (known) clearToken(registration.id);
    return { ...emptyLedger(), ...registration };
  });
  if (records.length > 0) await saveServers(records);
  if (configChanged) await saveConfig(next);
  for (const record of records) entries.set(record.id, { record, url: new URL(record.url) });
  config = next;
}

export async function setPreferences(preferences: Partial<Preferences>): Promise<void> {
  await ready();
  if (!config) return;
  const checked = checkConfig({ ...config, ...preferences });
  if (!checked.ok) invalid(`Preferences: ${checked.why.replace(/^a stored configuration was ignored: /, '')}.`);
  config = checked.value;
  await saveConfig(config);
}
