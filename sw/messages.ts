// The one contract between the worker and the page. Both sides import these types; nothing else
// crosses the boundary. No token, code or verifier ever appears in any of them.
import type { ScopeStrategy } from './scopes.ts';

export type { ScopeStrategy };

export interface ServerRegistration {
  /** Stable id the app uses ("notes"). */
  id: string;
  name: string;
  /** The MCP endpoint, e.g. http://localhost:4172/mcp. Requests to it (and below it) are ours. */
  url: string;
  /**
   * A client id registered in advance with this server's authorization server. Without it, the app's
   * `clientId` applies to a server the app configured; a server added at run time identifies itself
   * by client metadata document or registers itself.
   */
  clientId?: string;
}

/** What a person types into an "Add a server" form: the worker discovers the rest. */
export interface AddServerInput {
  url: string;
  /** Defaults to the server's `resource_name`, else its host and path. */
  name?: string;
  clientId?: string;
}

/** How the app identified itself to a server's authorization server (sw/registration.ts). */
export type RegistrationKind = 'pre-registered' | 'metadata-document' | 'dynamic';

/** How the app identifies itself to authorization servers (see sw/registration.ts for the order). */
export interface ClientConfig {
  /** A client id registered in advance with the authorization server. */
  clientId?: string;
  /** Only for a pre-registered client the authorization server insists on authenticating. */
  clientSecret?: string;
  /** An https URL serving this app's Client ID Metadata Document, used when the server supports it. */
  clientMetadataUrl?: string;
  /** The name shown at the authorization server when the app registers itself. */
  clientName?: string;
  /** Add `offline_access` to authorization requests when the authorization server lists it. */
  offlineAccess?: boolean;
}

/**
 * What the page configures. The callback path is not part of it: the worker takes it from its own
 * script (install options or the registration URL), so no page script can move the redirect URI.
 */
export interface WorkerConfig extends ClientConfig {
  strategy: ScopeStrategy;
  /** Start the redirect as soon as a server asks for more scope, without the user's confirmation. */
  autoRedirect?: boolean;
}

/** The user's choices, kept by the worker so that they survive the redirect. */
export type Preferences = Pick<WorkerConfig, 'strategy' | 'autoRedirect'>;

/** Why an authorization became necessary: what the user was doing when the server said no. */
export interface Trigger {
  status: 401 | 403;
  /** JSON-RPC method, with the tool name for tools/call: "tools/call add-note". */
  operation: string;
}

export type SignOutRevocation = 'revoked' | 'no-endpoint' | 'failed' | 'nothing-to-revoke';

export type TimelineEvent =
  | {
      kind: 'discovery';
      at: number;
      /** The protected resource metadata that answered; absent for a server that publishes none. */
      resourceMetadataUrl?: string;
      /** The authorization server's issuer, and where its metadata answered. */
      authorizationServer: string;
      authorizationServerMetadataUrl?: string;
      registration: RegistrationKind;
      /** The app's client id there (public: it appears in every authorization URL). */
      clientId: string;
      scopesSupported?: string[];
    }
  | { kind: 'challenge'; at: number; status: 401 | 403; operation: string; challenged: string[]; requested: string[] }
  | { kind: 'redirect'; at: number; requested: string[] }
  | { kind: 'grant'; at: number; requested: string[]; granted: string[] }
  | { kind: 'retry'; at: number; operation: string; ok: boolean; detail?: string }
  | { kind: 'refresh'; at: number; granted: string[] }
  | { kind: 'error'; at: number; code: AuthErrorCode; message: string }
  | { kind: 'sign-out'; at: number; revocation?: SignOutRevocation };

export type AuthErrorCode =
  | 'challenge_malformed'
  | 'discovery_failed'
  | 'resource_mismatch'
  | 'pkce_unsupported'
  | 'authorization_server_error'
  | 'access_denied'
  | 'state_mismatch'
  | 'iss_mismatch'
  | 'token_request_failed'
  | 'token_rejected'
  | 'scope_not_granted'
  | 'not_registered'
  | 'no_pending_flow'
  | 'invalid_config'
  | 'untrusted_server'
  | 'invalid_server_url'
  | 'already_registered'
  | 'server_unreachable'
  | 'cors_blocked'
  | 'not_protected'
  | 'worker_unavailable';

export interface AuthErrorInfo {
  code: AuthErrorCode;
  message: string;
  scopes?: string[];
}

export interface PendingAuthorization {
  challenged: string[];
  requested: string[];
  trigger: Trigger;
  at: number;
  /** The window whose request was refused: with auto-redirect on, that window goes to the authorization server. */
  clientId?: string;
}

/** What the page may know about one MCP server. */
export interface ServerState extends ServerRegistration {
  /** Added at run time (`addServer`) rather than configured by the app; `removeServer` forgets it. */
  added?: boolean;
  /** Every scope asked for so far (the accumulated set, or the latest challenge under `replace`). */
  requested: string[];
  /** What the authorization server granted in the latest token response. */
  granted: string[];
  /** Completed authorizations since the last sign-out. */
  authorizations: number;
  /** The worker holds a usable access token for this server. */
  authorized: boolean;
  /** How that token is bound: to the worker's DPoP key, or a plain bearer token. */
  binding?: 'dpop' | 'bearer';
  /** Set when a challenge needs an authorization the page has not started yet. */
  pending?: PendingAuthorization;
  /** Requests the worker holds until the authorization in a popup ends (popup step-up). */
  held?: number;
  /** A window of the app is at the authorization server for this server (its popup, or the window itself). */
  authorizing?: { window: string; since: number; popup: boolean };
  error?: AuthErrorInfo;
  timeline: TimelineEvent[];
}

/** One refused request, as the worker saw it: `guard` asks for those of its own window. */
export interface ChallengeOutcome {
  serverId: string;
  at: number;
  status: 401 | 403;
  operation: string;
  /** What the worker did about it. */
  outcome: 'authorization-needed' | 'refused' | 'not-a-scope-problem';
  scopes: string[];
}

export interface FlowResult {
  serverId: string;
  /** When the callback was handled (epoch ms). */
  at: number;
  outcome: 'granted' | 'error';
  granted?: string[];
  error?: AuthErrorInfo;
  /** Opaque data the page gave to `authorize`, one per refused call, handed back after the redirect. */
  resumes: unknown[];
  /** The page meant to authorize in a popup, the browser blocked it, and the page went itself. */
  popupBlocked?: boolean;
}

/**
 * Every message between page and worker travels in an envelope under this key, so that a host
 * worker's own `message` handler (and ours) can tell them apart.
 */
export const MESSAGE_KEY = 'mcp-sw-auth';

export interface WorkerEnvelope {
  [MESSAGE_KEY]: WorkerRequest;
}

/** Page → worker requests, answered on the MessagePort sent along. */
export type WorkerRequest =
  /**
   * `strategy` or `autoRedirect` omitted keeps the one stored (the user's last choice). The reply carries the result
   * of the authorization this window has just come back from, if any (handed out once).
   */
  | {
      type: 'configure';
      config: Omit<WorkerConfig, 'strategy'> & { strategy?: ScopeStrategy };
      servers: ServerRegistration[];
      /** How this window steps up: its refused requests are held while it authorizes in a popup, or answered at once. */
      stepUp?: 'popup' | 'redirect';
      /**
       * Sent when the page has just loaded (or come back from the back/forward cache): its tab, as the
       * page names itself (a random id kept in its sessionStorage; not a secret). The worker ends a
       * redirect this tab left for and did not complete.
       */
      tab?: string;
    }
  | { type: 'state' }
  /**
   * This window waits for another's authorization (`inFlight`): is it still under way? The reply has
   * `inFlight` while it is; a flow whose window is gone is ended, and the servers' state broadcast.
   */
  | { type: 'in-flight'; serverId: string }
  /** The refused requests of the asking window to one server since `since` (epoch ms). */
  | { type: 'challenges'; serverId: string; since: number }
  /**
   * `force` starts a new authorization even while another tab has one in flight. `popup`: the
   * callback lands in a popup, which the worker answers with a page that closes itself.
   */
  | { type: 'authorize'; serverId: string; returnTo: string; resumes?: unknown[]; force?: boolean; popup?: boolean; popupBlocked?: boolean; tab?: string }
  /** The popup was closed, or the user cancelled: answer the held requests with their challenges. */
  | { type: 'release'; serverId: string; reason: 'popup-closed' | 'cancelled' }
  | { type: 'sign-out'; serverId: string }
  /** Discovers a server, identifies the app at its authorization server, then keeps it (it persists). */
  | { type: 'add-server'; server: AddServerInput }
  /** Forgets a server: its ledger, its tokens (revoked where possible), its flows and its registration. */
  | { type: 'remove-server'; serverId: string }
  | { type: 'set-preferences'; preferences: Partial<Preferences> }
  | { type: 'log-retry'; serverId: string; operation: string; ok: boolean; detail?: string }
  /** Take control of this page (after a hard reload, the browser leaves it uncontrolled). */
  | { type: 'claim' }
  | { type: 'ping' };

export type WorkerReply =
  | {
      ok: true;
      servers: ServerState[];
      strategy: ScopeStrategy;
      autoRedirect: boolean;
      /** The asking window's id, as the worker knows it (pending.clientId names windows this way). */
      clientId: string;
      /** A random id per worker start: changes when the browser stopped and restarted the worker. */
      instance: string;
      /** Stored records the worker refused to use, and why (it carries on without them). */
      warnings: string[];
      /** The MCP servers the worker's script trusts; absent when it has no list (any server may be registered). */
      trustedServers?: string[];
      authorizationUrl?: string;
      /** Another tab is at the authorization server for this server: wait for its grant instead of redirecting. */
      inFlight?: { startedAt: number };
      result?: FlowResult;
      challenges?: ChallengeOutcome[];
      /** The server `add-server` just added. */
      added?: ServerState;
    }
  | { ok: false; error: AuthErrorInfo };

/**
 * Worker → windows: every window whenever a server's state changes; the window that started an
 * authorization in a popup, when it ends.
 */
export type WorkerBroadcast =
  | { type: 'mcp-sw-auth:state'; server: ServerState }
  | { type: 'mcp-sw-auth:removed'; serverId: string }
  | { type: 'mcp-sw-auth:result'; result: FlowResult };
