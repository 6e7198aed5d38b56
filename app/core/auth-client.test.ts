// McpAuthClient.guard and the resumes, against a fake worker: the channel answers like the worker
// does (a WorkerReply per request, state broadcasts), and records what the page asked.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChallengeOutcome, FlowResult, ServerState, WorkerBroadcast, WorkerReply, WorkerRequest } from '../../sw/messages.ts';
import { AuthorizationRequiredError, McpAuthClient, McpAuthError } from './auth-client.ts';

const worker = vi.hoisted(() => ({
  /** The window id the worker knows this page by. */
  clientId: 'window-1',
  servers: [] as ServerState[],
  /** Refused requests of this window, as the worker records them before answering the page. */
  challenges: [] as ChallengeOutcome[],
  result: undefined as FlowResult | undefined,
  /** Another window's authorization for the server is under way (since then), as the worker sees it. */
  inFlight: undefined as number | undefined,
  /** Changes when the worker restarts, or a new version takes over. */
  instance: 'worker-1',
  requests: [] as WorkerRequest[],
  listeners: new Set<(message: WorkerBroadcast) => void>(),
}));

vi.mock('./worker-channel.ts', () => ({
  WorkerUnavailableError: class WorkerUnavailableError extends Error {},
  connectWorker: async () => ({
    async request(message: WorkerRequest): Promise<WorkerReply> {
      worker.requests.push(message);
      const reply: WorkerReply = {
        ok: true,
        servers: worker.servers,
        clientId: worker.clientId,
        instance: worker.instance,
        warnings: [],
        strategy: 'union',
        autoRedirect: false,
      };
      if (message.type === 'challenges') reply.challenges = worker.challenges.filter((c) => c.serverId === message.serverId && c.at >= message.since);
      if (message.type === 'configure' && worker.result) reply.result = worker.result;
      if (message.type === 'authorize' && worker.inFlight === undefined) reply.authorizationUrl = 'https://as.example/authorize?state=x';
      if ((message.type === 'authorize' || message.type === 'in-flight') && worker.inFlight !== undefined) reply.inFlight = { startedAt: worker.inFlight };
      return reply;
    },
    onBroadcast(listener: (message: WorkerBroadcast) => void) {
      worker.listeners.add(listener);
      return () => worker.listeners.delete(listener);
    },
    onControllerChange: () => () => undefined,
  }),
}));

const SERVER = 'notes';

function serverState(over: Partial<ServerState> = {}): ServerState {
  return {
    id: SERVER,
    name: 'Notes',
    url: 'http://localhost:4172/mcp',
    requested: ['notes:read'],
    granted: ['notes:read'],
    authorizations: 1,
    authorized: true,
    timeline: [{ kind: 'grant', at: Date.now() - 60_000, requested: ['notes:read'], granted: ['notes:read'] }],
    ...over,
  };
}

/** What the worker's state becomes when this window's call is refused for scope. */
function pendingWrite(clientId = worker.clientId): ServerState {
  return serverState({
    requested: ['notes:read', 'notes:write'],
    pending: { challenged: ['notes:write'], requested: ['notes:read', 'notes:write'], trigger: { status: 403, operation: 'tools/call add-note' }, at: Date.now(), clientId },
  });
}

/** A call to the MCP server that the worker answers with a refusal of `outcome`, recorded for this window. */
function refusedCall(outcome: ChallengeOutcome['outcome'], scopes = ['notes:write']): () => Promise<never> {
  return async () => {
    worker.challenges.push({ serverId: SERVER, at: Date.now(), status: 403, operation: 'tools/call add-note', outcome, scopes });
    throw new Error('MCP error: 403 Forbidden');
  };
}

/** What the worker's state becomes when notes:write is granted (here, or in another tab). */
function grantedWrite(): ServerState {
  return serverState({
    requested: ['notes:read', 'notes:write'],
    granted: ['notes:read', 'notes:write'],
    authorizations: 2,
    timeline: [...serverState().timeline, { kind: 'grant', at: Date.now(), requested: ['notes:read', 'notes:write'], granted: ['notes:read', 'notes:write'] }],
  });
}

function broadcast(server: ServerState): void {
  for (const listener of worker.listeners) listener({ type: 'mcp-sw-auth:state', server });
}

const assign = vi.fn();
let client: McpAuthClient;
let resumed: Array<{ resume: unknown; server: ServerState }>;

async function startClient(): Promise<McpAuthClient> {
  client = new McpAuthClient({
    stepUp: 'redirect', // these tests follow the redirect; the popup is proven in the browser (@popup)
    servers: [{ id: SERVER, name: 'Notes', url: 'http://localhost:4172/mcp' }],
    onResume: (resume, server) => resumed.push({ resume, server }),
  });
  await client.start();
  return client;
}

beforeEach(() => {
  worker.servers = [serverState()];
  worker.challenges = [];
  worker.result = undefined;
  worker.inFlight = undefined;
  worker.instance = 'worker-1';
  worker.requests = [];
  worker.listeners.clear();
  resumed = [];
  assign.mockReset();
  vi.stubGlobal('location', { href: 'http://localhost:4170/notes', assign });
});

afterEach(() => {
  client?.stop();
  vi.unstubAllGlobals();
});

describe('McpAuthClient.guard', () => {
  it('rethrows a network error as it is, even while another window has an authorization pending for the server', async () => {
    await startClient();
    worker.servers = [pendingWrite('window-2')];
    // an older refusal of this window, from before the call started, is no reason either
    worker.challenges = [{ serverId: SERVER, at: Date.now() - 5_000, status: 403, operation: 'tools/call x', outcome: 'authorization-needed', scopes: ['notes:write'] }];
    const failure = new TypeError('Failed to fetch');
    const before = Date.now();
    await expect(client.guard(SERVER, { op: 'list' }, () => Promise.reject(failure))).rejects.toBe(failure);
    const asked = worker.requests.find((r) => r.type === 'challenges');
    expect(asked).toMatchObject({ type: 'challenges', serverId: SERVER });
    expect(asked?.type === 'challenges' && asked.since).toBeGreaterThanOrEqual(before);
    // and the call was not kept for a resume
    await client.authorize(SERVER);
    expect(worker.requests.find((r) => r.type === 'authorize')).not.toHaveProperty('resumes');
  });

  it('rethrows a failure the worker saw as not a scope problem as it is', async () => {
    await startClient();
    const call = refusedCall('not-a-scope-problem');
    await expect(client.guard(SERVER, { op: 'x' }, call)).rejects.toThrow('MCP error: 403 Forbidden');
  });

  it('throws AuthorizationRequiredError, with what the authorization will ask for, for a call refused for scope', async () => {
    await startClient();
    worker.servers = [pendingWrite()];
    const error = await client.guard(SERVER, { op: 'add-note' }, refusedCall('authorization-needed')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthorizationRequiredError);
    expect(error).toMatchObject({ serverId: SERVER, scopes: ['notes:read', 'notes:write'] });
  });

  it("throws McpAuthError with the server's error for a call the worker refused to authorize again", async () => {
    await startClient();
    const info = { code: 'scope_not_granted' as const, message: 'Scope not granted: Notes needs notes:write', scopes: ['notes:write'] };
    worker.servers = [serverState({ error: info })];
    const error = await client.guard(SERVER, { op: 'add-note' }, refusedCall('refused')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpAuthError);
    expect((error as McpAuthError).info).toEqual(info);
  });
});

describe('resumes: every refused call is repeated after the grant', () => {
  async function twoRefusedCalls(): Promise<void> {
    await startClient();
    worker.servers = [pendingWrite()];
    const results = await Promise.allSettled([
      client.guard(SERVER, { op: 'add-note', n: 1 }, refusedCall('authorization-needed')),
      client.guard(SERVER, { op: 'add-note', n: 2 }, refusedCall('authorization-needed')),
    ]);
    for (const r of results) expect(r.status === 'rejected' && r.reason).toBeInstanceOf(AuthorizationRequiredError);
  }

  it('authorize() hands both refused calls to the worker as resumes', async () => {
    await twoRefusedCalls();
    await client.authorize(SERVER);
    const request = worker.requests.find((r) => r.type === 'authorize');
    expect(request).toMatchObject({ type: 'authorize', serverId: SERVER, returnTo: 'http://localhost:4170/notes', resumes: [{ op: 'add-note', n: 1 }, { op: 'add-note', n: 2 }] });
    expect(assign).toHaveBeenCalledWith('https://as.example/authorize?state=x');
  });

  /** A call the worker refused for scope that has not failed yet, as a hook that starts its own OAuth first: settled by the test. */
  function runningCall(outcome: ChallengeOutcome['outcome'] | undefined, n: number) {
    let fail!: () => void;
    if (outcome) worker.challenges.push({ serverId: SERVER, at: Date.now(), status: 401, operation: 'initialize', outcome, scopes: ['notes:read'] });
    const settled = client.guard(SERVER, { op: 'connect', n }, () => new Promise<never>((_, reject) => (fail = () => reject(new Error('401 Unauthorized'))))).catch((e: unknown) => e);
    return { fail: () => (fail(), settled) };
  }

  it('a redirect started while refused calls still run takes them along as resumes, and not a call that started after the last refusal', async () => {
    await startClient();
    worker.servers = [pendingWrite()];
    const refused = runningCall('authorization-needed', 1);
    await new Promise((r) => setTimeout(r, 2));
    const quiet = runningCall(undefined, 0);
    await client.authorize(SERVER);
    expect(worker.requests.find((r) => r.type === 'authorize')).toMatchObject({ resumes: [{ op: 'connect', n: 1 }] });
    expect(assign).toHaveBeenCalledOnce();
    expect(await refused.fail()).toBeInstanceOf(AuthorizationRequiredError);
    await quiet.fail();
  });

  it('a running call remembered when authorize() starts is resumed once, even when it fails only after the grant', async () => {
    await startClient();
    worker.servers = [pendingWrite()];
    worker.inFlight = Date.now(); // another tab is at the authorization server: this one waits, and stays
    const refused = runningCall('authorization-needed', 1);
    await client.authorize(SERVER);
    worker.inFlight = undefined;
    const granted = grantedWrite();
    broadcast(granted);
    expect(resumed.map((r) => r.resume)).toEqual([{ op: 'connect', n: 1 }]);
    expect(await refused.fail()).toBeInstanceOf(AuthorizationRequiredError);
    // the next authorization carries nothing left over from it
    worker.servers = [pendingWrite()];
    await client.authorize(SERVER);
    expect(worker.requests.filter((r) => r.type === 'authorize').at(-1)).not.toHaveProperty('resumes');
  });

  it('a grant broadcast from another tab runs both resumes, once', async () => {
    await twoRefusedCalls();
    const granted = grantedWrite();
    broadcast(granted);
    expect(resumed.map((r) => r.resume)).toEqual([{ op: 'add-note', n: 1 }, { op: 'add-note', n: 2 }]);
    expect(resumed.every((r) => r.server === granted)).toBe(true);
    broadcast(granted);
    expect(resumed).toHaveLength(2);
  });

  it('a grant elsewhere that leaves an authorization pending resumes nothing yet', async () => {
    await twoRefusedCalls();
    const stillPending = { ...pendingWrite(), timeline: [...serverState().timeline, { kind: 'grant' as const, at: Date.now(), requested: ['notes:read'], granted: ['notes:read'] }] };
    broadcast(stillPending);
    expect(resumed).toEqual([]);
  });

  it("after the redirect, start() runs every resume of the configure reply's granted result", async () => {
    worker.servers = [serverState({ requested: ['notes:read', 'notes:write'], granted: ['notes:read', 'notes:write'], authorizations: 2 })];
    worker.result = { serverId: SERVER, at: Date.now(), outcome: 'granted', granted: ['notes:read', 'notes:write'], resumes: [{ n: 1 }, { n: 2 }] };
    await startClient();
    expect(resumed.map((r) => r.resume)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(client.getSnapshot().lastResult).toEqual(worker.result);
  });

  it('after a failed authorization, start() resumes nothing', async () => {
    worker.result = { serverId: SERVER, at: Date.now(), outcome: 'error', error: { code: 'access_denied', message: 'denied' }, resumes: [{ n: 1 }] };
    await startClient();
    expect(resumed).toEqual([]);
  });
});

describe("waiting for another tab's authorization", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks the worker every 2 s whether it is still under way, stops waiting when it is not, and then stops asking', async () => {
    vi.useFakeTimers();
    await startClient();
    worker.inFlight = Date.now();
    await client.authorize(SERVER);
    expect(client.getSnapshot().inFlight).toEqual({ [SERVER]: worker.inFlight });
    const checks = () => worker.requests.filter((r) => r.type === 'in-flight').length;

    await vi.advanceTimersByTimeAsync(2_000);
    expect(checks()).toBe(1);
    expect(client.getSnapshot().inFlight).toHaveProperty(SERVER);

    // the other tab's window is gone: the worker ended its flow
    worker.inFlight = undefined;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(checks()).toBe(2);
    expect(client.getSnapshot().inFlight).toEqual({});
    await vi.advanceTimersByTimeAsync(10_000);
    expect(checks()).toBe(2);
    // and this tab authorizes itself
    await client.authorize(SERVER);
    expect(assign).toHaveBeenCalledWith('https://as.example/authorize?state=x');
  });

  it('names its tab to the worker, in configure and authorize, with the same id', async () => {
    const storage = new Map<string, string>();
    vi.stubGlobal('sessionStorage', { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v) });
    await startClient();
    await client.authorize(SERVER);
    const configure = worker.requests.find((r) => r.type === 'configure');
    const authorize = worker.requests.find((r) => r.type === 'authorize');
    const tab = configure?.type === 'configure' ? configure.tab : undefined;
    expect(tab).toMatch(/^[0-9a-f-]{36}$/);
    expect(authorize).toMatchObject({ tab });
    expect(storage.get('mcp-sw-auth:tab')).toBe(tab);
  });
});

describe('a worker that does not know this window', () => {
  it('is told again how this window steps up, once, when a reply comes from a new worker instance (a restart, or an update that took over), without ending the redirect this tab may be starting', async () => {
    const storage = new Map<string, string>();
    vi.stubGlobal('sessionStorage', { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v) });
    await startClient();
    const configures = () => worker.requests.filter((r) => r.type === 'configure');
    expect(configures()).toHaveLength(1);
    await client.logRetry(SERVER, 'tools/list', true);
    expect(configures()).toHaveLength(1);
    worker.instance = 'worker-2';
    await client.logRetry(SERVER, 'tools/list', true);
    await vi.waitFor(() => expect(configures()).toHaveLength(2));
    expect(configures()[0]).toHaveProperty('tab');
    expect(configures()[1]).toMatchObject({ type: 'configure', stepUp: 'redirect', servers: [{ id: SERVER }] });
    // only a tab that has just loaded names itself: the worker would end the redirect it is leaving for
    expect(configures()[1]).not.toHaveProperty('tab');
    await client.logRetry(SERVER, 'tools/list', true);
    expect(configures()).toHaveLength(2);
  });
});
