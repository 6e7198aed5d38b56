// The worker's view of the app's MCP servers: loaded from IndexedDB once per worker start, kept in
// memory for the request path, written through on every change and broadcast to the app's windows.
import { db, updateServer, type ServerRecord } from './db.ts';
import { emptyLedger } from './ledger.ts';
import type { Preferences, ScopeStrategy, ServerRegistration, ServerState, WorkerBroadcast, WorkerConfig } from './messages.ts';
import { dropToken, getToken, restoreTokens } from './tokens.ts';

declare const self: ServiceWorkerGlobalScope;

interface Entry {
  record: ServerRecord;
  origin: string;
  path: string;
}

const entries = new Map<string, Entry>();
let config: WorkerConfig | undefined;
let loading: Promise<void> | undefined;
let loaded = false;

function entryFor(record: ServerRecord): Entry {
  const url = new URL(record.url);
  return { record, origin: url.origin, path: url.pathname.replace(/\/$/, '') };
}

export function ready(): Promise<void> {
  loading ??= (async () => {
    const database = await db();
    for (const record of await database.getAll('servers')) entries.set(record.id, entryFor(record));
    config = await database.get('config', 'config');
    await restoreTokens();
    loaded = true;
  })();
  return loading;
}

export function isReady(): boolean {
  return loaded;
}

/** The registered server a request goes to, if any: same origin, and the endpoint path or below it. */
export function matchServer(url: URL): ServerRecord | undefined {
  for (const entry of entries.values()) {
    if (url.origin !== entry.origin) continue;
    if (url.pathname === entry.path || url.pathname.startsWith(`${entry.path}/`) || (entry.path === '' && url.pathname === '/')) {
      return entry.record;
    }
  }
  return undefined;
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

export function strategy(): ScopeStrategy {
  return config?.strategy ?? 'union';
}

export function toState(record: ServerRecord): ServerState {
  const token = getToken(record.id);
  const state: ServerState = {
    id: record.id,
    name: record.name,
    url: record.url,
    requested: record.requested,
    granted: record.granted,
    authorizations: record.authorizations,
    authorized: token !== undefined,
    timeline: record.timeline,
  };
  if (token) state.binding = token.dpop ? 'dpop' : 'bearer';
  if (record.pending) state.pending = record.pending;
  if (record.error) state.error = record.error;
  return state;
}

export async function broadcast(record: ServerRecord): Promise<void> {
  const message: WorkerBroadcast = { type: 'mcp-sw-auth:state', server: toState(record) };
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const client of windows) client.postMessage(message);
}

/** Applies one ledger transition atomically, then tells every window. */
export async function change(id: string, transition: (record: ServerRecord) => ServerRecord): Promise<ServerRecord | undefined> {
  await ready();
  const result = await updateServer(id, transition);
  if (!result) return undefined;
  entries.set(id, entryFor(result.record));
  if (result.changed) await broadcast(result.record);
  return result.record;
}

export async function configure(requested: Omit<WorkerConfig, 'strategy'> & { strategy?: ScopeStrategy }, servers: ServerRegistration[]): Promise<void> {
  await ready();
  const next: WorkerConfig = { ...requested, strategy: requested.strategy ?? config?.strategy ?? 'union' };
  const keptAutoRedirect = requested.autoRedirect ?? config?.autoRedirect;
  if (keptAutoRedirect !== undefined) next.autoRedirect = keptAutoRedirect;
  const same = (a: ServerRegistration, b: ServerRegistration) => a.url === b.url && a.name === b.name;
  const changed = servers.filter((s) => {
    const known = entries.get(s.id)?.record;
    return !known || !same(known, s);
  });
  const configChanged = JSON.stringify(config) !== JSON.stringify(next);
  // Every page load configures the worker; IndexedDB is written only when something differs.
  if (changed.length === 0 && !configChanged) return;
  const tx = (await db()).transaction(['servers', 'config'], 'readwrite');
  const store = tx.objectStore('servers');
  for (const registration of changed) {
    const existing = await store.get(registration.id);
    // A server that moved to another URL starts a fresh ledger: its scopes mean nothing elsewhere.
    const record: ServerRecord =
      existing && existing.url === registration.url ? { ...existing, ...registration } : { ...registration, ...emptyLedger() };
    if (existing && existing.url !== registration.url) dropToken(registration.id); // its audience is the old URL
    await store.put(record);
    entries.set(record.id, entryFor(record));
  }
  if (configChanged) await tx.objectStore('config').put(next, 'config');
  await tx.done;
  config = next;
}

export function autoRedirect(): boolean {
  return config?.autoRedirect ?? false;
}

export async function setPreferences(preferences: Partial<Preferences>): Promise<void> {
  await ready();
  if (!config) return;
  config = { ...config, ...preferences };
  await (await db()).put('config', config, 'config');
}
