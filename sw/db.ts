// The worker's IndexedDB: the schema is declared once here, and every transaction is here. Any
// script of the origin can read and write this database, so nothing read back is trusted: every
// getter returns only records that pass the checks in stored.ts, and says which it skipped.
//
// It holds the scope ledger, the worker's configuration, client registrations, pending
// authorization flows (single use), the DPoP key and the tokens bound to it. It never holds a
// bearer token, and it holds no metadata: endpoints are discovered from the network in each
// worker lifetime.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { activated } from './lifecycle.ts';
import type { LedgerRecord } from './ledger.ts';
import type { ServerRegistration, WorkerConfig } from './messages.ts';
import { checkClient, checkConfig, checkFlow, checkNonces, checkServerRecord, checkToken, type Checked } from './stored.ts';

export type ServerRecord = ServerRegistration & LedgerRecord & {
  /** Added at run time (the user typed its URL), not configured by the app. */
  added?: boolean;
};

export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

/** A client the worker registered for itself (RFC 7591) at one authorization server. */
export interface StoredClient {
  issuer: string;
  clientId: string;
  /** A browser cannot keep a secret from the user; it is stored only because some servers insist on one. */
  clientSecret?: string;
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** The redirect URI it was registered with. */
  redirectUri: string;
}

/** An authorization the user is at the authorization server for. */
export interface StoredFlow {
  state: string;
  serverId: string;
  /** The MCP server's URL when the flow started: the token is for it alone. */
  serverUrl: string;
  /** The authorization server it went to; its endpoints are discovered again, never stored. */
  issuer: string;
  clientId: string;
  codeVerifier: string;
  requested: string[];
  /** The `resource` parameter sent, to be sent again with the code. */
  resource: string;
  redirectUri: string;
  /** The redirect URI is shared with other authorization servers: the callback must carry `iss`. */
  requireIss: boolean;
  returnTo: string;
  /** Where the callback lands: this window (a redirect), or a popup the worker answers with a page that closes itself. */
  display: 'page' | 'popup';
  /** A popup was meant, the browser blocked it: the result says so. */
  popupBlocked?: boolean;
  resumes: unknown[];
  createdAt: number;
  /** The window that started it; once that window has navigated to the authorization server it is gone. */
  startedBy: string;
  /**
   * The browser tab that started it, as the page names itself (a random id in its sessionStorage):
   * a redirect flow's window is gone while it is at the authorization server, but its tab comes back.
   */
  tab?: string;
}

/** The latest DPoP nonce each origin sent, by origin: not secret (the page sees the header too). */
export type StoredNonces = Record<string, string>;

/** A DPoP-bound token set, kept so that it survives restarts: useless without the worker's key. */
export interface StoredToken {
  serverId: string;
  serverUrl: string;
  issuer: string;
  resource: string;
  clientId: string;
  accessToken: string;
  refreshToken?: string;
  expiresAt: number;
  issuedAt?: number;
  scopes: string[];
  requested: string[];
  dpop: true;
}

interface Schema extends DBSchema {
  servers: { key: string; value: ServerRecord };
  /** By `serverId` (version 5): sign-out and removal end every stored flow of a server in one transaction. */
  flows: { key: string; value: StoredFlow; indexes: { byServer: string } };
  config: { key: 'config'; value: WorkerConfig };
  /** Clients registered for us, per authorization server issuer. */
  clients: { key: string; value: StoredClient };
  /** The DPoP key pair (non-extractable CryptoKeys), and the latest DPoP nonce of each origin. */
  keys: { key: 'dpop' | 'nonces'; value: CryptoKeyPair | StoredNonces };
  /** DPoP-bound tokens only, per server id. Bearer tokens never come here. */
  tokens: { key: string; value: StoredToken };
}

type Db = IDBPDatabase<Schema>;

export const DB_NAME = 'mcp-sw-auth';
export const DB_VERSION = 5;

let opening: Promise<Db> | undefined;

/**
 * The open database, once this worker is the active one (lifecycle.ts). A failed open is not
 * remembered: the next call tries again. A newer worker asking to upgrade the schema makes this one
 * close its connection (blocking), so updates never wait for an old worker.
 */
export function db(): Promise<Db> {
  if (opening) return opening;
  const attempt = activated().then(() => open());
  opening = attempt;
  attempt.catch(() => {
    if (opening === attempt) opening = undefined;
  });
  return attempt;
}

function open(): Promise<Db> {
  const connection: Promise<Db> = openDB<Schema>(DB_NAME, DB_VERSION, {
    upgrade(database, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        database.createObjectStore('servers', { keyPath: 'id' });
        database.createObjectStore('flows', { keyPath: 'state' });
        database.createObjectStore('config');
      }
      if (oldVersion < 2) database.createObjectStore('clients', { keyPath: 'issuer' });
      if (oldVersion < 3) {
        database.createObjectStore('keys');
        database.createObjectStore('tokens');
      }
      if (oldVersion >= 1 && oldVersion < 4) {
        // Version 4 stores endpoints nowhere (they are discovered each worker lifetime): earlier
        // flows, tokens and clients carried them, and cached metadata and results go away.
        const legacy = database as unknown as IDBPDatabase;
        for (const name of ['metadata', 'results']) if (legacy.objectStoreNames.contains(name)) legacy.deleteObjectStore(name);
        void tx.objectStore('flows').clear();
        void tx.objectStore('tokens').clear();
        void tx.objectStore('clients').clear();
      }
      // Version 5 keeps every record of version 4: flows started by the previous worker complete
      // under this one (e2e/update.spec.ts). It only indexes them by server.
      if (oldVersion < 5) tx.objectStore('flows').createIndex('byServer', 'serverId');
    },
    blocking() {
      // a newer version of the worker wants to upgrade: let it
      void connection.then((database) => database.close());
      opening = undefined;
    },
    terminated() {
      opening = undefined;
    },
  });
  return connection;
}

// --- servers -------------------------------------------------------------------------------------

/** What a worker reads when it starts, each part checked as page-writable input. */
export interface StartupState {
  servers: Checked<ServerRecord>;
  config: Checked<WorkerConfig>;
  tokens: Checked<StoredToken>;
  /** The stored DPoP key pair as found: dpop.ts checks it before any token is used. */
  keyPair: unknown;
  nonces: Checked<StoredNonces>;
}

/** Everything a worker needs when it starts, in one transaction: the first request waits on it. */
export async function loadStartupState(): Promise<StartupState> {
  const tx = (await db()).transaction(['servers', 'config', 'tokens', 'keys'], 'readonly');
  const [servers, config, tokens, keyPair, nonces] = await Promise.all([
    tx.objectStore('servers').getAll(),
    tx.objectStore('config').get('config'),
    tx.objectStore('tokens').getAll(),
    tx.objectStore('keys').get('dpop'),
    tx.objectStore('keys').get('nonces'),
    tx.done,
  ]);
  const none = { values: [], skipped: [] };
  return {
    servers: checkAll(servers, checkServerRecord),
    config: config === undefined ? none : checkAll([config], checkConfig),
    tokens: checkAll(tokens, checkToken),
    keyPair,
    nonces: nonces === undefined ? none : checkAll([nonces], checkNonces),
  };
}

/**
 * Reads, changes and writes one server's ledger in a single readwrite transaction, so concurrent
 * changes serialize. The registration (id, name, url) is the caller's, from memory: a stored
 * record whose URL differs, or that fails its checks, counts as no ledger at all.
 */
export async function updateLedger(
  registration: ServerRegistration,
  change: (record: ServerRecord) => ServerRecord,
  fresh: () => LedgerRecord,
): Promise<{ record: ServerRecord; changed: boolean }> {
  const tx = (await db()).transaction('servers', 'readwrite');
  const stored = checkServerRecord(await tx.store.get(registration.id));
  const current: ServerRecord =
    stored.ok && stored.value.url === registration.url ? { ...stored.value, ...registration } : { ...fresh(), ...registration };
  const next = change(current);
  const changed = next !== current || !stored.ok;
  if (changed) await tx.store.put(next);
  await tx.done;
  return { record: next, changed: next !== current };
}

export async function saveServers(records: ServerRecord[]): Promise<void> {
  const tx = (await db()).transaction('servers', 'readwrite');
  await Promise.all([...records.map((r) => tx.store.put(r)), tx.done]);
}

export async function deleteServer(id: string): Promise<void> {
  await (await db()).delete('servers', id);
}

// --- config --------------------------------------------------------------------------------------

export async function saveConfig(config: WorkerConfig): Promise<void> {
  await (await db()).put('config', config, 'config');
}

// --- flows ---------------------------------------------------------------------------------------

export async function saveFlow(flow: StoredFlow): Promise<void> {
  await (await db()).put('flows', flow);
}

/** A flow is single use: it is deleted in the same transaction that reads it. */
export async function takeFlow(state: string): Promise<StoredFlow | undefined> {
  const tx = (await db()).transaction('flows', 'readwrite');
  const stored = await tx.store.get(state);
  if (stored !== undefined) await tx.store.delete(state);
  await tx.done;
  const checked = checkFlow(stored);
  return checked.ok ? checked.value : undefined;
}

/** Deletes every stored flow of a server, whatever else the record says. */
export async function deleteFlowsOf(serverId: string): Promise<void> {
  const tx = (await db()).transaction('flows', 'readwrite');
  for (const key of await tx.store.index('byServer').getAllKeys(serverId)) await tx.store.delete(key);
  await tx.done;
}

/** Flows still usable; expired and malformed ones are deleted on the way. */
export async function loadFlows(isLive: (flow: StoredFlow) => boolean): Promise<StoredFlow[]> {
  const tx = (await db()).transaction('flows', 'readwrite');
  const live: StoredFlow[] = [];
  let cursor = await tx.store.openCursor();
  while (cursor) {
    const checked = checkFlow(cursor.value);
    if (checked.ok && isLive(checked.value)) live.push(checked.value);
    else await cursor.delete();
    cursor = await cursor.continue();
  }
  await tx.done;
  return live;
}

// --- clients -------------------------------------------------------------------------------------

export async function loadClient(issuer: string, redirectUri: string): Promise<StoredClient | undefined> {
  const checked = checkClient(await (await db()).get('clients', issuer));
  return checked.ok && checked.value.issuer === issuer && checked.value.redirectUri === redirectUri ? checked.value : undefined;
}

export async function saveClient(client: StoredClient): Promise<void> {
  await (await db()).put('clients', client);
}

export async function deleteClient(issuer: string): Promise<void> {
  await (await db()).delete('clients', issuer);
}

// --- DPoP key and tokens -------------------------------------------------------------------------

export async function loadKeyPair(): Promise<unknown> {
  return (await db()).get('keys', 'dpop');
}

export async function saveKeyPair(keys: CryptoKeyPair): Promise<void> {
  await (await db()).put('keys', keys, 'dpop');
}

export async function saveNonces(nonces: StoredNonces): Promise<void> {
  await (await db()).put('keys', nonces, 'nonces');
}

export async function saveToken(token: StoredToken): Promise<void> {
  await (await db()).put('tokens', token, token.serverId);
}

export async function deleteToken(serverId: string): Promise<void> {
  await (await db()).delete('tokens', serverId);
}

export async function clearTokens(): Promise<void> {
  await (await db()).clear('tokens');
}

function checkAll<T>(values: unknown[], check: (value: unknown) => { ok: true; value: T } | { ok: false; why: string }): Checked<T> {
  const out: Checked<T> = { values: [], skipped: [] };
  for (const value of values) {
    const checked = check(value);
    if (checked.ok) out.values.push(checked.value);
    else out.skipped.push(checked.why);
  }
  return out;
}
