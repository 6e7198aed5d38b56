// Checks for everything read back from IndexedDB. Any script of the origin can write there, so a
// stored record is input, checked as strictly as a server's answer: a record that fails is skipped
// and reported, never used, and one bad record never stops the worker.
import { isScopeToken } from './challenge.ts';
import type { ServerRecord, StoredClient, StoredFlow, StoredNonces, StoredToken } from './db.ts';
import { TIMELINE_LIMIT } from './ledger.ts';
import type { AuthErrorCode, AuthErrorInfo, PendingAuthorization, TimelineEvent, WorkerConfig } from './messages.ts';
import { isSafeEndpoint, parseUrl } from './urls.ts';

export type Check<T> = { ok: true; value: T } | { ok: false; why: string };
export interface Checked<T> {
  values: T[];
  /** Why each skipped record was refused. */
  skipped: string[];
}

/** A scope set grows with every challenge; past this it is not a ledger any server would produce. */
const MAX_SCOPES = 2000;
const MAX_TEXT = 4000;
const MAX_TOKEN = 16_384;

class Invalid extends Error {}

function fail(why: string): never {
  throw new Invalid(why);
}

function guarded<T>(what: string, check: (value: Record<string, unknown>) => T): (value: unknown) => Check<T> {
  return (value) => {
    try {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('it is not a record');
      return { ok: true, value: check(value as Record<string, unknown>) };
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      const id = typeof (value as { id?: unknown } | null)?.id === 'string' ? ` "${String((value as { id: string }).id).slice(0, 60)}"` : '';
      return { ok: false, why: `a stored ${what}${id} was ignored: ${error.message}` };
    }
  };
}

function text(value: unknown, name: string, max = MAX_TEXT): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) fail(`${name} is not a string of 1 to ${max} characters`);
  return value;
}

function optionalText(value: unknown, name: string, max = MAX_TEXT): string | undefined {
  return value === undefined ? undefined : text(value, name, max);
}

function count(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(`${name} is not a count`);
  return value;
}

function time(value: unknown, name: string): number {
  // within a day of now at the latest: a record from the future is a forgery
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > Date.now() + 86_400_000) fail(`${name} is not a time`);
  return value;
}

function flag(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') fail(`${name} is not true or false`);
  return value;
}

function scopes(value: unknown, name: string): string[] {
  // Array.from turns holes into undefined: structured clone keeps holes, and `every` skips them
  const list: unknown[] | undefined = Array.isArray(value) && value.length <= MAX_SCOPES ? Array.from(value) : undefined;
  if (!list || !list.every((s) => typeof s === 'string' && isScopeToken(s))) {
    fail(`${name} is not a list of OAuth scope tokens`);
  }
  return [...new Set(list as string[])];
}

/** An endpoint URL: https, or http on this machine. */
function endpoint(value: unknown, name: string): string {
  const url = parseUrl(value);
  if (!url || !isSafeEndpoint(url)) fail(`${name} is not an https (or localhost) URL`);
  return value as string;
}

const ERROR_CODES: ReadonlySet<AuthErrorCode> = new Set<AuthErrorCode>([
  'challenge_malformed', 'discovery_failed', 'resource_mismatch', 'pkce_unsupported', 'authorization_server_error', 'access_denied',
  'state_mismatch', 'iss_mismatch', 'token_request_failed', 'token_rejected', 'scope_not_granted', 'not_registered', 'no_pending_flow',
  'invalid_config', 'untrusted_server', 'worker_unavailable',
]);

function errorInfo(value: unknown): AuthErrorInfo {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null || !ERROR_CODES.has(v['code'] as AuthErrorCode)) fail('error is malformed');
  const info: AuthErrorInfo = { code: v['code'] as AuthErrorCode, message: text(v['message'], 'error.message') };
  if (v['scopes'] !== undefined) info.scopes = scopes(v['scopes'], 'error.scopes');
  return info;
}

function pendingAuthorization(value: unknown): PendingAuthorization {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null) fail('pending is malformed');
  const trigger = v['trigger'] as Record<string, unknown> | null;
  if (typeof trigger !== 'object' || trigger === null || (trigger['status'] !== 401 && trigger['status'] !== 403)) fail('pending.trigger is malformed');
  const pending: PendingAuthorization = {
    challenged: scopes(v['challenged'], 'pending.challenged'),
    requested: scopes(v['requested'], 'pending.requested'),
    trigger: { status: trigger['status'], operation: text(trigger['operation'], 'pending.trigger.operation', 400) },
    at: time(v['at'], 'pending.at'),
  };
  const clientId = optionalText(v['clientId'], 'pending.clientId', 200);
  if (clientId) pending.clientId = clientId;
  return pending;
}

const EVENT_KINDS = new Set(['discovery', 'challenge', 'redirect', 'grant', 'retry', 'refresh', 'error', 'sign-out']);

/** Structured clone stores what JSON cannot (cycles, BigInt): such an entry is too big to show, not a reason to stop. */
function jsonLength(value: unknown): number {
  try {
    return JSON.stringify(value).length;
  } catch {
    return Infinity;
  }
}

/** Timeline entries are only shown, never acted on; malformed ones are left out rather than failing the record. */
function timeline(value: unknown): TimelineEvent[] {
  if (!Array.isArray(value)) fail('timeline is not a list');
  return value
    .filter((e): e is TimelineEvent => {
      const v = e as Record<string, unknown> | null;
      return typeof v === 'object' && v !== null && EVENT_KINDS.has(v['kind'] as string) && typeof v['at'] === 'number' && jsonLength(v) < MAX_TEXT * 2;
    })
    .slice(-TIMELINE_LIMIT);
}

export const checkServerRecord = guarded('server record', (v): ServerRecord => {
  const record: ServerRecord = {
    id: text(v['id'], 'id', 200),
    name: text(v['name'], 'name', 200),
    url: endpoint(v['url'], 'url'),
    requested: scopes(v['requested'], 'requested'),
    granted: scopes(v['granted'], 'granted'),
    everRequested: scopes(v['everRequested'], 'everRequested'),
    authorizations: count(v['authorizations'], 'authorizations'),
    timeline: timeline(v['timeline']),
  };
  const clientId = optionalText(v['clientId'], 'clientId', 2048);
  if (clientId) record.clientId = clientId;
  if (v['added'] !== undefined && flag(v['added'], 'added')) record.added = true;
  if (v['pending'] !== undefined) record.pending = pendingAuthorization(v['pending']);
  if (v['error'] !== undefined) record.error = errorInfo(v['error']);
  return record;
});

export const checkConfig = guarded('configuration', (v): WorkerConfig => {
  if (v['strategy'] !== 'union' && v['strategy'] !== 'replace') fail('strategy is neither "union" nor "replace"');
  const config: WorkerConfig = { strategy: v['strategy'] };
  const clientId = optionalText(v['clientId'], 'clientId', 2048);
  if (clientId) config.clientId = clientId;
  const clientSecret = optionalText(v['clientSecret'], 'clientSecret', 2048);
  if (clientSecret) config.clientSecret = clientSecret;
  if (v['clientMetadataUrl'] !== undefined) {
    const url = parseUrl(v['clientMetadataUrl']);
    if (!url || url.protocol !== 'https:' || url.pathname === '/') fail('clientMetadataUrl is not an https URL with a path');
    config.clientMetadataUrl = url.href;
  }
  const clientName = optionalText(v['clientName'], 'clientName', 200);
  if (clientName) config.clientName = clientName;
  if (v['offlineAccess'] !== undefined) config.offlineAccess = flag(v['offlineAccess'], 'offlineAccess');
  if (v['autoRedirect'] !== undefined) config.autoRedirect = flag(v['autoRedirect'], 'autoRedirect');
  return config;
});

// PKCE verifier (RFC 7636 §4.1) and a state of oauth4webapi's making
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const STATE = /^[A-Za-z0-9\-._~]{16,512}$/;

export const checkFlow = guarded('authorization flow', (v): StoredFlow => {
  if (typeof v['state'] !== 'string' || !STATE.test(v['state'])) fail('state is malformed');
  if (typeof v['codeVerifier'] !== 'string' || !VERIFIER.test(v['codeVerifier'])) fail('codeVerifier is malformed');
  if (!Array.isArray(v['resumes'])) fail('resumes is not a list');
  return {
    state: v['state'],
    serverId: text(v['serverId'], 'serverId', 200),
    serverUrl: endpoint(v['serverUrl'], 'serverUrl'),
    issuer: endpoint(v['issuer'], 'issuer'),
    clientId: text(v['clientId'], 'clientId', 2048),
    codeVerifier: v['codeVerifier'],
    requested: scopes(v['requested'], 'requested'),
    resource: endpoint(v['resource'], 'resource'),
    redirectUri: endpoint(v['redirectUri'], 'redirectUri'),
    requireIss: flag(v['requireIss'], 'requireIss'),
    returnTo: endpoint(v['returnTo'], 'returnTo'),
    display: v['display'] === 'popup' ? 'popup' : 'page',
    ...(v['popupBlocked'] === true ? { popupBlocked: true } : {}),
    resumes: v['resumes'] as unknown[],
    createdAt: time(v['createdAt'], 'createdAt'),
    startedBy: typeof v['startedBy'] === 'string' ? v['startedBy'] : fail('startedBy is not a string'),
    ...(v['tab'] === undefined ? {} : { tab: text(v['tab'], 'tab', 100) }),
  };
});

const AUTH_METHODS = new Set(['none', 'client_secret_basic', 'client_secret_post']);

export const checkClient = guarded('client registration', (v): StoredClient => {
  if (!AUTH_METHODS.has(v['tokenEndpointAuthMethod'] as string)) fail('tokenEndpointAuthMethod is not one the worker uses');
  const client: StoredClient = {
    issuer: endpoint(v['issuer'], 'issuer'),
    clientId: text(v['clientId'], 'clientId', 2048),
    tokenEndpointAuthMethod: v['tokenEndpointAuthMethod'] as StoredClient['tokenEndpointAuthMethod'],
    redirectUri: endpoint(v['redirectUri'], 'redirectUri'),
  };
  const secret = optionalText(v['clientSecret'], 'clientSecret', 2048);
  if (secret) client.clientSecret = secret;
  return client;
});

export const checkToken = guarded('DPoP-bound token', (v): StoredToken => {
  if (v['dpop'] !== true) fail('it is not DPoP-bound (bearer tokens are never stored)');
  const token: StoredToken = {
    serverId: text(v['serverId'], 'serverId', 200),
    serverUrl: endpoint(v['serverUrl'], 'serverUrl'),
    issuer: endpoint(v['issuer'], 'issuer'),
    resource: endpoint(v['resource'], 'resource'),
    clientId: text(v['clientId'], 'clientId', 2048),
    accessToken: text(v['accessToken'], 'accessToken', MAX_TOKEN),
    expiresAt: typeof v['expiresAt'] === 'number' && Number.isFinite(v['expiresAt']) ? v['expiresAt'] : fail('expiresAt is not a time'),
    scopes: scopes(v['scopes'], 'scopes'),
    requested: scopes(v['requested'], 'requested'),
    dpop: true,
  };
  const refreshToken = optionalText(v['refreshToken'], 'refreshToken', MAX_TOKEN);
  if (refreshToken) token.refreshToken = refreshToken;
  if (v['issuedAt'] !== undefined) {
    const issuedAt = time(v['issuedAt'], 'issuedAt');
    if (issuedAt > token.expiresAt) fail('issuedAt is after expiresAt');
    token.issuedAt = issuedAt;
  }
  return token;
});

/** More origins than an app talks to with DPoP; the oldest are dropped past it (dpop.ts). */
export const MAX_NONCE_ORIGINS = 32;
/** RFC 9449 §8.1: nonce = 1*NQCHAR (visible ASCII but `"` and `\\`). */
const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]{1,512}$/;

export const isNonce = (value: unknown): value is string => typeof value === 'string' && NONCE.test(value);

export const checkNonces = guarded('DPoP nonce list', (v): StoredNonces => {
  const entries = Object.entries(v);
  if (entries.length > MAX_NONCE_ORIGINS) fail(`it holds more than ${MAX_NONCE_ORIGINS} origins`);
  const nonces: StoredNonces = {};
  for (const [origin, nonce] of entries) {
    if (parseUrl(origin)?.origin !== origin) fail(`"${origin.slice(0, 60)}" is not an origin`);
    if (!isNonce(nonce)) fail(`the nonce of ${origin} is not a DPoP nonce`);
    nonces[origin] = nonce;
  }
  return nonces;
});
