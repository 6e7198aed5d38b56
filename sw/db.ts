// The worker's IndexedDB: the schema is declared once here. It holds the scope ledger, discovered
// metadata, client registrations, the worker's configuration, pending authorization flows (single
// use), the outcome of the last flow, and the DPoP key with the tokens bound to it. It never holds a
// bearer token.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { AuthorizationServer, ResourceServer } from 'oauth4webapi';
import type { FlowResult, ServerRegistration, WorkerConfig } from './messages.ts';
import type { LedgerRecord } from './ledger.ts';
import type { ClientRecord } from './registration.ts';
import type { TokenSet } from './tokens.ts';

export interface PendingFlow {
  state: string;
  serverId: string;
  codeVerifier: string;
  requested: string[];
  /** The authorization server this flow went to, as discovered when it started. */
  authorizationServer: AuthorizationServer;
  client: ClientRecord;
  /** The `resource` parameter sent, to be sent again with the code. */
  resource: string;
  redirectUri: string;
  returnTo: string;
  resume?: unknown;
  createdAt: number;
  /** The window that started it; once that window has navigated to the authorization server it is gone. */
  startedBy: string;
}

export interface DiscoveredMetadata {
  serverUrl: string;
  resource: ResourceServer;
  authorizationServer: AuthorizationServer;
  fetchedAt: number;
}

export type ServerRecord = ServerRegistration & LedgerRecord;

interface Schema extends DBSchema {
  servers: { key: string; value: ServerRecord };
  flows: { key: string; value: PendingFlow };
  metadata: { key: string; value: DiscoveredMetadata };
  config: { key: 'config'; value: WorkerConfig };
  results: { key: 'latest'; value: FlowResult };
  /** Clients registered for us, per authorization server issuer. */
  clients: { key: string; value: ClientRecord };
  /** The DPoP key pair (non-extractable CryptoKeys). */
  keys: { key: 'dpop'; value: CryptoKeyPair };
  /** DPoP-bound tokens only, per server id: useless without the key above. Bearer tokens never come here. */
  tokens: { key: string; value: TokenSet };
}

export type Db = IDBPDatabase<Schema>;

let opening: Promise<Db> | undefined;

export function db(): Promise<Db> {
  opening ??= openDB<Schema>('mcp-sw-auth', 3, {
    upgrade(database, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        database.createObjectStore('servers', { keyPath: 'id' });
        database.createObjectStore('flows', { keyPath: 'state' });
        database.createObjectStore('metadata', { keyPath: 'serverUrl' });
        database.createObjectStore('config');
        database.createObjectStore('results');
      }
      if (oldVersion < 2) {
        database.createObjectStore('clients', { keyPath: 'issuer' });
        // version 1 flows lack the authorization server they went to: they cannot complete
        void tx.objectStore('flows').clear();
      }
      if (oldVersion < 3) {
        database.createObjectStore('keys');
        database.createObjectStore('tokens');
      }
    },
  });
  return opening;
}

/** Reads, changes and writes one server's record in a single readwrite transaction, so concurrent changes serialize. */
export async function updateServer(
  id: string,
  change: (record: ServerRecord) => ServerRecord,
): Promise<{ record: ServerRecord; changed: boolean } | undefined> {
  const tx = (await db()).transaction('servers', 'readwrite');
  const current = await tx.store.get(id);
  if (!current) {
    await tx.done;
    return undefined;
  }
  const next = change(current);
  if (next !== current) await tx.store.put(next);
  await tx.done;
  return { record: next, changed: next !== current };
}

/** A flow is single use: it is deleted in the same transaction that reads it. */
export async function takeFlow(state: string): Promise<PendingFlow | undefined> {
  const tx = (await db()).transaction('flows', 'readwrite');
  const flow = await tx.store.get(state);
  if (flow) await tx.store.delete(state);
  await tx.done;
  return flow;
}
