// The framework-free client: registers the worker and the app's MCP servers, mirrors the worker's
// per-server state for the UI, starts authorizations, and re-runs the interrupted action after the
// redirect. It never sees a token, a code or a verifier: those stay in the worker.
import type { AuthErrorInfo, ClientConfig, FlowResult, ScopeStrategy, ServerRegistration, ServerState, WorkerReply } from '../../sw/messages.ts';
import { connectWorker, type WorkerChannel } from './worker-channel.ts';

export type { AuthErrorInfo, ScopeStrategy, ServerRegistration, ServerState };

/**
 * `clientId` (with `clientSecret` only if the server insists), `clientMetadataUrl` for servers that
 * accept a Client ID Metadata Document, or neither, to register dynamically where servers allow it.
 */
export interface McpAuthOptions extends ClientConfig {
  servers: ServerRegistration[];
  /** Start the redirect as soon as a server asks for more scope, instead of waiting for `authorize()`. */
  autoRedirect?: boolean;
  strategy?: ScopeStrategy;
  workerUrl?: string;
  callbackPath?: string;
  /** Called after the return from the authorization server with what was passed as `resume`. */
  onResume?: (resume: unknown, server: ServerState) => void;
}

export interface McpAuthSnapshot {
  ready: boolean;
  servers: Readonly<Record<string, ServerState>>;
  strategy: ScopeStrategy;
  autoRedirect: boolean;
  /** The outcome of the authorization the user just came back from. */
  lastResult?: FlowResult;
  /** Servers whose authorization is under way in another tab (startedAt per server id). */
  inFlight: Readonly<Record<string, number>>;
  /** A failure of the client itself (worker missing, worker not answering). */
  fatal?: string;
}

/** Thrown by `guard` when the server refused the call until the user authorizes more scope. */
export class AuthorizationRequiredError extends Error {
  override readonly name = 'AuthorizationRequiredError';
  readonly serverId: string;
  readonly scopes: string[];
  constructor(serverId: string, scopes: string[]) {
    super(`Authorization needed for ${scopes.join(' ')}.`);
    this.serverId = serverId;
    this.scopes = scopes;
  }
}

/** Thrown by `guard` when the worker refused to authorize again (loop guard) or authorization failed. */
export class McpAuthError extends Error {
  override readonly name = 'McpAuthError';
  readonly info: AuthErrorInfo;
  constructor(info: AuthErrorInfo) {
    super(info.message);
    this.info = info;
  }
}

const KEEPALIVE_MS = 20_000;

export class McpAuthClient {
  #options: McpAuthOptions;
  #channel: WorkerChannel | undefined;
  #snapshot: McpAuthSnapshot;
  #listeners = new Set<() => void>();
  #resumeFor = new Map<string, unknown>();
  #redirecting = new Set<string>();
  #stop: Array<() => void> = [];

  constructor(options: McpAuthOptions) {
    this.#options = options;
    this.#snapshot = { ready: false, servers: {}, inFlight: {}, strategy: options.strategy ?? 'union', autoRedirect: options.autoRedirect ?? false };
  }

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  getSnapshot = (): McpAuthSnapshot => this.#snapshot;

  #set(patch: Partial<McpAuthSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...patch };
    for (const listener of this.#listeners) listener();
  }

  #apply(reply: WorkerReply): Extract<WorkerReply, { ok: true }> {
    if (!reply.ok) throw new McpAuthError(reply.error);
    const servers = Object.fromEntries(reply.servers.map((s) => [s.id, s]));
    this.#set({ servers, strategy: reply.strategy, autoRedirect: reply.autoRedirect });
    return reply;
  }

  async #request(message: Parameters<WorkerChannel['request']>[0]): Promise<Extract<WorkerReply, { ok: true }>> {
    if (!this.#channel) throw new McpAuthError({ code: 'not_registered', message: 'Call start() before using the client.' });
    return this.#apply(await this.#channel.request(message));
  }

  async start(): Promise<void> {
    const callbackPath = this.#options.callbackPath ?? '/oauth/callback';
    try {
      this.#channel = await connectWorker(this.#options.workerUrl ?? '/sw.js', callbackPath);
    } catch (error) {
      this.#set({ fatal: (error as Error).message });
      throw error;
    }
    this.#stop.push(
      this.#channel.onBroadcast(({ server }) => {
        const last = server.timeline.at(-1)?.kind;
        // a grant or a failure ends whatever authorization another tab had under way
        const { [server.id]: _ended, ...others } = this.#snapshot.inFlight;
        const inFlight = last === 'grant' || last === 'error' ? others : this.#snapshot.inFlight;
        this.#set({ servers: { ...this.#snapshot.servers, [server.id]: server }, inFlight });
        this.#resumeAfterGrantElsewhere(server);
        this.#maybeAutoRedirect(server);
      }),
    );
    // Without an explicit strategy or autoRedirect the worker keeps its stored ones, so a reload keeps the user's choice.
    const { strategy, autoRedirect } = this.#options;
    const { clientId, clientSecret, clientMetadataUrl, clientName, offlineAccess } = this.#options;
    const client: ClientConfig = { clientId, clientSecret, clientMetadataUrl, clientName, offlineAccess };
    for (const key of Object.keys(client) as Array<keyof ClientConfig>) if (client[key] === undefined) delete client[key];
    const config = { ...client, callbackPath, ...(strategy ? { strategy } : {}), ...(autoRedirect !== undefined ? { autoRedirect } : {}) };
    const { result } = await this.#request({ type: 'configure', config, servers: this.#options.servers });
    const timer = setInterval(() => void this.#channel?.request({ type: 'ping' }).catch(() => undefined), KEEPALIVE_MS);
    this.#stop.push(() => clearInterval(timer));
    this.#set({ ready: true, ...(result ? { lastResult: result } : {}) });
    if (result?.outcome === 'granted' && result.resume !== undefined) {
      const server = this.#snapshot.servers[result.serverId];
      if (server) this.#options.onResume?.(result.resume, server);
    }
  }

  stop(): void {
    for (const stop of this.#stop.splice(0)) stop();
  }

  /**
   * Runs one call to an MCP server. If the server refused it for lack of scope, remembers
   * `resume` so the call can be repeated after the redirect, and throws AuthorizationRequiredError
   * (or McpAuthError when the worker decided not to authorize again).
   */
  async guard<T>(serverId: string, resume: unknown, call: () => Promise<T>): Promise<T> {
    const startedAt = Date.now();
    try {
      return await call();
    } catch (error) {
      // The worker updates its state before it hands the refused response to the page.
      const { servers } = await this.#request({ type: 'state' });
      const server = servers.find((s) => s.id === serverId);
      // A pending authorization (this call's challenge, or the same one from another tab) is why it failed.
      if (server?.pending) {
        this.#resumeFor.set(serverId, resume);
        this.#maybeAutoRedirect(server);
        throw new AuthorizationRequiredError(serverId, server.pending.requested);
      }
      const last = server?.timeline.at(-1);
      if (server?.error && last?.kind === 'error' && last.at >= startedAt - 1000) throw new McpAuthError(server.error);
      throw error;
    }
  }

  /** Another tab's authorization covered what this tab was waiting for: carry on without a redirect. */
  #resumeAfterGrantElsewhere(server: ServerState): void {
    if (!this.#resumeFor.has(server.id) || this.#redirecting.has(server.id)) return;
    if (server.pending || !server.authorized || server.timeline.at(-1)?.kind !== 'grant') return;
    const resume = this.#resumeFor.get(server.id);
    this.#resumeFor.delete(server.id);
    this.#options.onResume?.(resume, server);
  }

  #maybeAutoRedirect(server: ServerState): void {
    if (this.#snapshot.autoRedirect && server.pending && this.#resumeFor.has(server.id)) void this.authorize(server.id).catch(() => undefined);
  }

  /**
   * Starts the PKCE redirect for everything the server has asked for so far. While another tab is
   * at the authorization server for the same server, this tab waits for that grant instead
   * (`inFlight` in the snapshot) unless `force` is set.
   */
  async authorize(serverId: string, options: { force?: boolean } = {}): Promise<void> {
    if (this.#redirecting.has(serverId)) return;
    this.#redirecting.add(serverId);
    try {
      const resume = this.#resumeFor.get(serverId);
      const reply = await this.#request({
        type: 'authorize',
        serverId,
        returnTo: location.href,
        ...(resume === undefined ? {} : { resume }),
        ...(options.force ? { force: true } : {}),
      });
      if (reply.authorizationUrl) {
        location.assign(reply.authorizationUrl);
        return; // the page is leaving: stay marked as redirecting
      }
      if (reply.inFlight) this.#set({ inFlight: { ...this.#snapshot.inFlight, [serverId]: reply.inFlight.startedAt } });
    } catch (error) {
      this.#redirecting.delete(serverId);
      throw error;
    }
    this.#redirecting.delete(serverId);
  }

  async signOut(serverId: string): Promise<void> {
    this.#resumeFor.delete(serverId);
    await this.#request({ type: 'sign-out', serverId });
  }

  /** The user's choices are kept by the worker, so they outlive the redirect and reloads. */
  async setStrategy(strategy: ScopeStrategy): Promise<void> {
    this.#set({ strategy });
    await this.#request({ type: 'set-preferences', preferences: { strategy } });
  }

  async setAutoRedirect(autoRedirect: boolean): Promise<void> {
    this.#set({ autoRedirect });
    await this.#request({ type: 'set-preferences', preferences: { autoRedirect } });
  }

  /** Adds the outcome of a retried call to the server's timeline. */
  async logRetry(serverId: string, operation: string, ok: boolean, detail?: string): Promise<void> {
    await this.#request({ type: 'log-retry', serverId, operation, ok, ...(detail === undefined ? {} : { detail }) });
  }

  dismissResult(): void {
    this.#set({ lastResult: undefined });
  }
}
