// The first request to a server a person adds: each answer a server can give becomes either the
// challenge to follow or an error naming what the server's author must change.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthError } from './errors.ts';
import { probeServer } from './probe.ts';

const url = new URL('http://localhost:4181/mcp');
type Fetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

function serve(answer: (init: RequestInit | undefined) => Response | Promise<Response>): ReturnType<typeof vi.fn<Fetch>> {
  const fake = vi.fn<Fetch>(async (_input, init) => answer(init));
  vi.stubGlobal('fetch', fake);
  return fake;
}

async function failure(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

beforeEach(() => vi.stubGlobal('self', { location: new URL('http://localhost:4170/sw.js') }));
afterEach(() => vi.unstubAllGlobals());

describe('probing a server a person adds', () => {
  it('sends an MCP initialize without credentials, and returns the challenge of a 401', async () => {
    const fake = serve(() => new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer resource_metadata="http://localhost:4181/.well-known/oauth-protected-resource/mcp", scope="tasks:read"' } }));
    const probe = await probeServer(url);
    expect(probe).toEqual({ status: 401, challenge: { scope: ['tasks:read'], resourceMetadata: 'http://localhost:4181/.well-known/oauth-protected-resource/mcp' } });
    const init = fake.mock.calls[0]![1]!;
    expect(init.method).toBe('POST');
    expect(init.credentials).toBe('omit');
    expect(JSON.parse(String(init.body))).toMatchObject({ jsonrpc: '2.0', method: 'initialize' });
    expect(new Headers(init.headers).has('authorization')).toBe(false);
  });

  it('a 401 whose WWW-Authenticate the page cannot read leaves discovery to the well-known locations', async () => {
    serve(() => new Response(null, { status: 401 }));
    expect(await probeServer(url)).toEqual({ status: 401, challenge: undefined });
  });

  it('a malformed challenge says what the header must look like', async () => {
    serve(() => new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer scope="a"b"' } }));
    const error = await failure(probeServer(url));
    expect(error.code).toBe('challenge_malformed');
    expect(error.message).toContain('WWW-Authenticate: Bearer resource_metadata=');
  });

  it('a server that answers without asking for authorization is not protected, and its session is ended', async () => {
    const fake = serve((init) =>
      init?.method === 'DELETE' ? new Response(null, { status: 204 }) : Response.json({ jsonrpc: '2.0', id: 0, result: {} }, { headers: { 'mcp-session-id': 's-1' } }),
    );
    const error = await failure(probeServer(url));
    expect(error.code).toBe('not_protected');
    expect(error.message).toContain('answer requests without a token with 401');
    await vi.waitFor(() => expect(fake.mock.calls.some(([, init]) => init?.method === 'DELETE')).toBe(true));
  });

  it('a fetch the browser refuses while a no-cors request gets through is a CORS problem, with the headers to send', async () => {
    serve((init) => {
      if (init?.mode === 'no-cors') return new Response(null, { status: 200 });
      throw new TypeError('Failed to fetch');
    });
    const error = await failure(probeServer(url));
    expect(error.code).toBe('cors_blocked');
    expect(error.message).toContain('http://localhost:4170');
    expect(error.message).toContain('Access-Control-Expose-Headers: WWW-Authenticate');
  });

  it('nothing answering at all says to check that the server runs', async () => {
    serve(() => {
      throw new TypeError('Failed to fetch');
    });
    const error = await failure(probeServer(url));
    expect(error.code).toBe('server_unreachable');
    expect(error.message).toContain('Nothing answered');
  });

  it('a 404 points at the endpoint path', async () => {
    serve(() => new Response('not found', { status: 404 }));
    const error = await failure(probeServer(url));
    expect(error.code).toBe('server_unreachable');
    expect(error.message).toContain('MCP endpoint itself');
  });
});
