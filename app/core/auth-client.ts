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
  /** Stored records the worker refused to use, and why (it carries on without them). */
  warnings: readonly string[];
  /** The MCP servers the worker's own script trusts; undefined when it has no list. */
  trustedServers?: readonly string[];
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
  /** Per server, the calls refused for lack of scope, each with what to repeat once authorized. */
  #resumes = new Map<string, Map<number, unknown>>();
  #calls = 0;
  #clientId = '';
  #redirecting = new Set<string>();
  #stop: Array<() => void> = [];

  constructor(options: McpAuthOptions) {
    this.#options = options;
    this.#snapshot = { ready: false, servers: {}, inFlight: {}, strategy: options.strategy ?? 'union', autoRedirect: options.autoRedirect ?? false, warnings: [] };
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
    this.#clientId = reply.clientId;
    this.#set({ servers, strategy: reply.strategy, autoRedirect: reply.autoRedirect, warnings: reply.warnings, trustedServers: reply.trustedServers });
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
    const config = { ...client, ...(strategy ? { strategy } : {}), ...(autoRedirect !== undefined ? { autoRedirect } : {}) };
    let result: FlowResult | undefined;
    try {
      ({ result } = await this.#request({ type: 'configure', config, servers: this.#options.servers }));
    } catch (error) {
      this.#set({ fatal: (error as Error).message });
      throw error;
    }
    const timer = setInterval(() => void this.#channel?.request({ type: 'ping' }).catch(() => undefined), KEEPALIVE_MS);
    this.#stop.push(() => clearInterval(timer));
    this.#set({ ready: true, ...(result ? { lastResult: result } : {}) });
    const server = result ? this.#snapshot.servers[result.serverId] : undefined;
    if (result?.outcome === 'granted' && server) for (const resume of result.resumes) this.#options.onResume?.(resume, server);
  }

  stop(): void {
    for (const stop of this.#stop.splice(0)) stop();
  }

  /**
   * Runs one call to an MCP server. If the worker saw this window's request to that server refused
   * for lack of scope while the call ran, remembers `resume` (plain data: what to repeat) so the call
   * can be repeated after the authorization, and throws AuthorizationRequiredError; McpAuthError
   * when the worker decided not to authorize again. Any other failure is rethrown as it is.
   */
  async guard<T>(serverId: string, resume: unknown, call: () => Promise<T>): Promise<T> {
    const startedAt = Date.now();
    try {
      return await call();
    } catch (error) {
      // The worker records the refusal before it hands the response to the page.
      const { servers, challenges = [] } = await this.#request({ type: 'challenges', serverId, since: startedAt });
      const server = servers.find((s) => s.id === serverId);
      if (!server) throw error;
      if (challenges.some((c) => c.outcome === 'authorization-needed')) {
        this.#rememberCall(serverId, resume);
        this.#maybeAutoRedirect(server);
        throw new AuthorizationRequiredError(serverId, server.pending?.requested ?? server.requested);
      }
      if (challenges.some((c) => c.outcome === 'refused') && server.error) throw new McpAuthError(server.error);
      throw error;
    }
  }

  #rememberCall(serverId: string, resume: unknown): void {
    let calls = this.#resumes.get(serverId);
    if (!calls) this.#resumes.set(serverId, (calls = new Map()));
    calls.set(++this.#calls, resume);
  }

  #takeCalls(serverId: string): unknown[] {
    const calls = [...(this.#resumes.get(serverId)?.values() ?? [])];
    this.#resumes.delete(serverId);
    return calls;
  }

  /** Another tab's authorization covered what this tab was waiting for: carry on without a redirect. */
  #resumeAfterGrantElsewhere(server: ServerState): void {
    if (!this.#resumes.has(server.id) || this.#redirecting.has(server.id)) return;
    if (server.pending || !server.authorized || server.timeline.at(-1)?.kind !== 'grant') return;
    for (const resume of this.#takeCalls(server.id)) this.#options.onResume?.(resume, server);
  }

  /** With auto-redirect on, the window whose request was refused goes to the authorization server. */
  #maybeAutoRedirect(server: ServerState): void {
    if (!this.#snapshot.autoRedirect || !server.pending) return;
    if (server.pending.clientId !== this.#clientId && !this.#resumes.has(server.id)) return;
    void this.authorize(server.id).catch(() => undefined);
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
      const resumes = [...(this.#resumes.get(serverId)?.values() ?? [])];
      const reply = await this.#request({
        type: 'authorize',
        serverId,
        returnTo: location.href,
        ...(resumes.length > 0 ? { resumes } : {}),
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
    this.#resumes.delete(serverId);
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
