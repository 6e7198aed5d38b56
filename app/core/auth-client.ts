// The framework-free client: registers the worker and the app's MCP servers, mirrors the worker's
// per-server state for the UI, starts authorizations, and re-runs the interrupted action after the
// redirect. It never sees a token, a code or a verifier: those stay in the worker.
import type { AddServerInput, AuthErrorInfo, ClientConfig, FlowResult, ScopeStrategy, ServerRegistration, ServerState, WorkerReply } from '../../sw/messages.ts';
import { connectWorker, type WorkerChannel } from './worker-channel.ts';

export type { AddServerInput, AuthErrorInfo, ScopeStrategy, ServerRegistration, ServerState };

/**
 * `clientId` (with `clientSecret` only if the server insists), `clientMetadataUrl` for servers that
 * accept a Client ID Metadata Document, or neither, to register dynamically where servers allow it.
 */
export interface McpAuthOptions extends ClientConfig {
  servers: ServerRegistration[];
  /** Start the redirect as soon as a server asks for more scope, instead of waiting for `authorize()`. */
  autoRedirect?: boolean;
  /**
   * How `authorize()` steps up. `'popup'` (the default): the authorization server opens in a popup,
   * the page stays as it is, and the worker holds the refused requests and answers them once the
   * user allowed, so the MCP client sees no 401/403. A blocked popup falls back to the redirect.
   * `'redirect'`: the page goes to the authorization server and comes back; refused calls are
   * repeated through `onResume`. Auto-redirect always redirects (a popup needs the user's click).
   */
  stepUp?: 'popup' | 'redirect';
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
  /** Something the user should know about how an authorization went (e.g. a blocked popup). */
  notice?: string;
  /** How this window steps up (see the `stepUp` option). */
  stepUp: 'popup' | 'redirect';
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
const POPUP_FEATURES = 'popup,width=520,height=720';
const POPUP_WATCH_MS = 400;
/** While this tab waits for another's authorization, how often it asks whether that window is still there. */
const IN_FLIGHT_CHECK_MS = 2_000;
const TAB_KEY = 'mcp-sw-auth:tab';

/**
 * This tab's name for the worker: a random id kept in sessionStorage, so it survives the redirect to
 * the authorization server and back. Not a secret: it lets the worker end a redirect this tab left
 * for when the tab comes back without its result (Back, a bookmark), so other tabs stop waiting.
 */
function tabId(): string | undefined {
  try {
    let id = sessionStorage.getItem(TAB_KEY);
    if (!id) sessionStorage.setItem(TAB_KEY, (id = crypto.randomUUID()));
    return id;
  } catch {
    return undefined; // storage denied (a sandboxed frame): the 2-minute bound applies
  }
}

export class McpAuthClient {
  #options: McpAuthOptions;
  #channel: WorkerChannel | undefined;
  #snapshot: McpAuthSnapshot;
  #listeners = new Set<() => void>();
  /** Per server, the calls refused for lack of scope, each with what to repeat once authorized. */
  #resumes = new Map<string, Map<number, unknown>>();
  /** The calls `guard` is running: one refused a moment ago may not have failed yet when a redirect starts. */
  #running = new Map<number, { serverId: string; resume: unknown; startedAt: number; remembered?: true }>();
  #calls = 0;
  #clientId = '';
  #redirecting = new Set<string>();
  #configureMessage: Extract<Parameters<WorkerChannel['request']>[0], { type: 'configure' }> | undefined;
  /** Popups this window has open, per server, with what ends watching them. */
  #popups = new Map<string, { window: Window; finish: () => void }>();
  #stop: Array<() => void> = [];
  #tab = tabId();
  /** The worker's `instance` in its last reply: a new one has not heard this window's configure. */
  #instance: string | undefined;
  #inFlightTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: McpAuthOptions) {
    this.#options = options;
    this.#snapshot = {
      ready: false,
      servers: {},
      inFlight: {},
      strategy: options.strategy ?? 'union',
      autoRedirect: options.autoRedirect ?? false,
      warnings: [],
      stepUp: options.stepUp ?? 'popup',
    };
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
    // A worker that restarted, or a new version that took over, knows this window's registrations
    // from IndexedDB but not how it steps up: introduce the window again.
    const unknownWorker = this.#instance !== undefined && reply.instance !== this.#instance;
    this.#instance = reply.instance;
    if (unknownWorker) void this.#tellStepUp().catch(() => undefined);
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
      this.#channel.onBroadcast((message) => {
        if (message.type === 'mcp-sw-auth:result') return this.#onResult(message.result);
        if (message.type === 'mcp-sw-auth:removed') return this.#forget(message.serverId);
        const { server } = message;
        const last = server.timeline.at(-1)?.kind;
        // a grant or a failure ends whatever authorization another tab had under way
        const { [server.id]: _ended, ...others } = this.#snapshot.inFlight;
        this.#set({ servers: { ...this.#snapshot.servers, [server.id]: server } });
        if (last === 'grant' || last === 'error') this.#setInFlight(others);
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
      this.#configureMessage = { type: 'configure', config, servers: this.#options.servers };
      const told = this.#heldFor();
      ({ result } = await this.#request({ ...this.#configureMessage, stepUp: told, ...this.#backInTab() }));
      // the stored auto-redirect choice is known only now
      if (this.#heldFor() !== told) await this.#tellStepUp();
    } catch (error) {
      this.#set({ fatal: (error as Error).message });
      throw error;
    }
    const timer = setInterval(() => void this.#channel?.request({ type: 'ping' }).catch(() => undefined), KEEPALIVE_MS);
    this.#stop.push(() => clearInterval(timer));
    // A new version of the app's worker took over (an update): tell it at once, before the next request.
    this.#stop.push(this.#channel.onControllerChange(() => void this.#tellStepUp().catch(() => undefined)));
    // Back from the authorization server through the back/forward cache: no new start(), so tell the
    // worker this tab is back (it ends the redirect this tab left for), and let it authorize again.
    const onPageShow = (event: PageTransitionEvent) => {
      if (!event.persisted) return;
      this.#redirecting.clear();
      if (this.#configureMessage) void this.#request({ ...this.#configureMessage, stepUp: this.#heldFor(), ...this.#backInTab() }).catch(() => undefined);
    };
    if (typeof window !== 'undefined') {
      window.addEventListener('pageshow', onPageShow);
      this.#stop.push(() => window.removeEventListener('pageshow', onPageShow));
    }
    this.#stop.push(() => this.#setInFlight({}));
    this.#set({ ready: true });
    if (result) this.#onResult(result);
  }

  #stepUp(): 'popup' | 'redirect' {
    return this.#snapshot.stepUp;
  }

  /** What the worker is told: with auto-redirect on, the page leaves, so nothing is held for it. */
  #heldFor(): 'popup' | 'redirect' {
    return this.#snapshot.autoRedirect ? 'redirect' : this.#stepUp();
  }

  /**
   * Sent only when this tab has just loaded or come back from the back/forward cache: the worker then
   * ends a redirect this tab left for and did not complete. Never with a mere change of mode, which
   * may race the redirect this tab is starting.
   */
  #backInTab(): { tab?: string } {
    return this.#tab ? { tab: this.#tab } : {};
  }

  async #tellStepUp(): Promise<void> {
    if (this.#configureMessage) await this.#request({ ...this.#configureMessage, stepUp: this.#heldFor() });
  }

  /** Switches how this window steps up (see `stepUp`); the worker is told at once. */
  async setStepUp(mode: 'popup' | 'redirect'): Promise<void> {
    this.#set({ stepUp: mode });
    await this.#tellStepUp();
  }

  /** An authorization this window started has ended (after the redirect back, or in its popup). */
  #onResult(result: FlowResult): void {
    this.#popups.get(result.serverId)?.finish();
    this.#set({
      lastResult: result,
      ...(result.popupBlocked ? { notice: 'The browser blocked the authorization popup, so this window went to the authorization server instead.' } : {}),
    });
    const server = this.#snapshot.servers[result.serverId];
    if (result.outcome !== 'granted' || !server) return;
    this.#resumes.delete(result.serverId);
    for (const resume of result.resumes) this.#options.onResume?.(resume, server);
  }

  stop(): void {
    for (const stop of this.#stop.splice(0)) stop();
    for (const popup of this.#popups.values()) popup.finish();
  }

  /**
   * Runs one call to an MCP server. If the worker saw this window's request to that server refused
   * for lack of scope while the call ran, remembers `resume` (plain data: what to repeat) so the call
   * can be repeated after the authorization, and throws AuthorizationRequiredError; McpAuthError
   * when the worker decided not to authorize again. Any other failure is rethrown as it is.
   */
  async guard<T>(serverId: string, resume: unknown, call: () => Promise<T>): Promise<T> {
    const startedAt = Date.now();
    const id = ++this.#calls;
    this.#running.set(id, { serverId, resume, startedAt });
    try {
      return await call();
    } catch (error) {
      // The worker records the refusal before it hands the response to the page.
      const { servers, challenges = [] } = await this.#request({ type: 'challenges', serverId, since: startedAt });
      const server = servers.find((s) => s.id === serverId);
      if (!server) throw error;
      if (challenges.some((c) => c.outcome === 'authorization-needed')) {
        // remembered already if a redirect started while it ran (and maybe resumed since): never twice
        if (!this.#running.get(id)?.remembered) this.#rememberCall(serverId, id, resume);
        this.#maybeAutoRedirect(server);
        throw new AuthorizationRequiredError(serverId, server.pending?.requested ?? server.requested);
      }
      if (challenges.some((c) => c.outcome === 'refused') && server.error) throw new McpAuthError(server.error);
      throw error;
    } finally {
      this.#running.delete(id);
    }
  }

  #rememberCall(serverId: string, id: number, resume: unknown): void {
    let calls = this.#resumes.get(serverId);
    if (!calls) this.#resumes.set(serverId, (calls = new Map()));
    calls.set(id, resume);
  }

  /**
   * A client may still be busy with a refused request when the user chooses to authorize (a hook
   * that retries, or starts its own OAuth, before it fails): the page is about to leave, so each
   * running call that the worker saw refused for scope is remembered now, and repeated on return.
   */
  async #rememberRefusedRunningCalls(serverId: string): Promise<void> {
    const running = [...this.#running].filter(([, call]) => call.serverId === serverId);
    if (running.length === 0) return;
    const since = Math.min(...running.map(([, call]) => call.startedAt));
    const { challenges = [] } = await this.#request({ type: 'challenges', serverId, since });
    for (const [id, call] of running) {
      if (call.remembered || !challenges.some((c) => c.outcome === 'authorization-needed' && c.at >= call.startedAt)) continue;
      call.remembered = true;
      this.#rememberCall(serverId, id, call.resume);
    }
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
   * Starts the authorization for everything the server has asked for so far: in a popup (opened
   * here, within the user's click) or by a redirect, as `stepUp` says. While another tab is at the
   * authorization server for the same server, this tab waits for that grant instead (`inFlight` in
   * the snapshot) unless `force` is set.
   */
  async authorize(serverId: string, options: { force?: boolean } = {}): Promise<void> {
    if (this.#redirecting.has(serverId)) return;
    // Opened before anything is awaited: a popup needs the user's gesture, which does not survive a
    // round trip. None while another window is at the authorization server: one popup per server.
    const elsewhere = this.#snapshot.servers[serverId]?.authorizing;
    const waitForOther = elsewhere !== undefined && elsewhere.window !== this.#clientId && !options.force;
    const wantsPopup = this.#stepUp() === 'popup' && !this.#snapshot.autoRedirect && !waitForOther;
    const popup = wantsPopup ? this.#openPopup(serverId) : undefined;
    this.#redirecting.add(serverId);
    try {
      if (!popup) await this.#rememberRefusedRunningCalls(serverId);
      const resumes = [...(this.#resumes.get(serverId)?.values() ?? [])];
      const reply = await this.#request({
        type: 'authorize',
        serverId,
        returnTo: location.href,
        ...(this.#tab ? { tab: this.#tab } : {}),
        // after a popup this page is still here: its refused calls resume on the grant, in this window
        ...(resumes.length > 0 && !popup ? { resumes } : {}),
        ...(options.force ? { force: true } : {}),
        ...(popup ? { popup: true } : {}),
        ...(wantsPopup && !popup ? { popupBlocked: true } : {}),
      });
      if (reply.authorizationUrl && popup) {
        popup.location.href = reply.authorizationUrl;
        this.#watchPopup(serverId, popup);
      } else if (reply.authorizationUrl) {
        location.assign(reply.authorizationUrl);
        return; // the page is leaving: stay marked as redirecting
      } else {
        popup?.close();
        if (reply.inFlight) this.#setInFlight({ ...this.#snapshot.inFlight, [serverId]: reply.inFlight.startedAt });
      }
    } catch (error) {
      popup?.close();
      this.#redirecting.delete(serverId);
      throw error;
    }
    this.#redirecting.delete(serverId);
  }

  /** A blank popup, or undefined when the browser blocked it: then the redirect takes over, and the page says so. */
  #openPopup(serverId: string): Window | undefined {
    const existing = this.#popups.get(serverId);
    if (existing && !existing.window.closed) {
      existing.window.focus();
      return existing.window;
    }
    return window.open('', `mcp-sw-auth-${serverId}`, POPUP_FEATURES) ?? undefined;
  }

  /**
   * Watches the popup until the worker reports the outcome. Closed first (the user gave up), the
   * worker answers the held requests with their challenges, and the prompt stays.
   */
  #watchPopup(serverId: string, popup: Window): void {
    this.#popups.get(serverId)?.finish();
    const timer = setInterval(() => {
      if (!popup.closed) return;
      finish();
      void this.#request({ type: 'release', serverId, reason: 'popup-closed' }).catch(() => undefined);
    }, POPUP_WATCH_MS);
    const finish = () => {
      clearInterval(timer);
      if (this.#popups.get(serverId)?.window === popup) this.#popups.delete(serverId);
    };
    this.#popups.set(serverId, { window: popup, finish });
  }

  /** The user does not want to authorize now: the worker answers the held requests with their challenges. */
  async cancel(serverId: string): Promise<void> {
    const popup = this.#popups.get(serverId);
    popup?.finish();
    popup?.window.close();
    await this.#request({ type: 'release', serverId, reason: 'cancelled' });
  }

  async signOut(serverId: string): Promise<void> {
    this.#resumes.delete(serverId);
    await this.#request({ type: 'sign-out', serverId });
  }

  /**
   * Adds an MCP server by its URL, as a person would in an "Add a server" form. The worker asks the
   * server as any MCP client would, discovers its authorization server and registers the app there
   * (client metadata document where supported, else dynamic registration; `clientId` for a client
   * registered in advance), then keeps it across reloads. Rejects with McpAuthError whose code says
   * what went wrong: `invalid_server_url`, `untrusted_server`, `already_registered`,
   * `server_unreachable`, `cors_blocked`, `not_protected`, `discovery_failed`, `not_registered`…
   */
  async addServer(server: AddServerInput): Promise<ServerState> {
    const { added } = await this.#request({ type: 'add-server', server });
    if (!added) throw new McpAuthError({ code: 'worker_unavailable', message: 'The worker did not say which server it added; update it.' });
    return added;
  }

  /** Forgets a server: its scopes, its tokens (revoked where possible) and the registration made for it. */
  async removeServer(serverId: string): Promise<void> {
    this.#forget(serverId);
    await this.#request({ type: 'remove-server', serverId });
  }

  #forget(serverId: string): void {
    this.#resumes.delete(serverId);
    this.#popups.get(serverId)?.finish();
    if (!(serverId in this.#snapshot.servers)) return;
    const { [serverId]: _removed, ...servers } = this.#snapshot.servers;
    const { [serverId]: _flow, ...inFlight } = this.#snapshot.inFlight;
    this.#set({ servers });
    this.#setInFlight(inFlight);
  }

  /**
   * The authorizations this tab waits for. While there are any, it asks the worker every few seconds
   * whether each is still under way: the window that started it may have been closed or have left
   * the app, and then this tab may authorize itself instead of waiting out the 2-minute bound.
   */
  #setInFlight(inFlight: Readonly<Record<string, number>>): void {
    if (inFlight !== this.#snapshot.inFlight) this.#set({ inFlight });
    const waiting = Object.keys(inFlight).length > 0;
    if (!waiting) {
      clearInterval(this.#inFlightTimer);
      this.#inFlightTimer = undefined;
    } else {
      this.#inFlightTimer ??= setInterval(() => void this.#checkInFlight(), IN_FLIGHT_CHECK_MS);
    }
  }

  async #checkInFlight(): Promise<void> {
    for (const serverId of Object.keys(this.#snapshot.inFlight)) {
      const reply = await this.#request({ type: 'in-flight', serverId }).catch(() => undefined);
      if (!reply || reply.inFlight || !(serverId in this.#snapshot.inFlight)) continue;
      const { [serverId]: _ended, ...others } = this.#snapshot.inFlight;
      this.#setInFlight(others);
    }
  }

  /** The user's choices are kept by the worker, so they outlive the redirect and reloads. */
  async setStrategy(strategy: ScopeStrategy): Promise<void> {
    this.#set({ strategy });
    await this.#request({ type: 'set-preferences', preferences: { strategy } });
  }

  async setAutoRedirect(autoRedirect: boolean): Promise<void> {
    this.#set({ autoRedirect });
    await this.#request({ type: 'set-preferences', preferences: { autoRedirect } });
    await this.#tellStepUp();
  }

  /** Adds the outcome of a retried call to the server's timeline. */
  async logRetry(serverId: string, operation: string, ok: boolean, detail?: string): Promise<void> {
    await this.#request({ type: 'log-retry', serverId, operation, ok, ...(detail === undefined ? {} : { detail }) });
  }

  dismissResult(): void {
    this.#set({ lastResult: undefined, notice: undefined });
  }
}
