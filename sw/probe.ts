// The first thing any MCP client does with a server, done by the worker when a person adds one: an
// `initialize` without a token. A protected server answers 401 and names its metadata; every other
// answer (none at all, one the browser hides for want of CORS, a 200, a 404) becomes an error that
// says what the server's author must change.
import { parseBearerChallenge, type BearerChallenge } from './challenge.ts';
import { AuthError } from './errors.ts';

const TIMEOUT_MS = 10_000;

/** What a browser client needs from a server on another origin, in one sentence. */
export const CORS_ADVICE =
  'answer OPTIONS preflights and every response (401 and 403 included) with Access-Control-Allow-Origin for this origin, ' +
  'Access-Control-Allow-Headers: authorization, content-type, dpop, mcp-protocol-version, mcp-session-id, last-event-id, ' +
  'and Access-Control-Expose-Headers: WWW-Authenticate, Mcp-Session-Id, DPoP-Nonce';

export interface ProbeResult {
  status: 401 | 403;
  /** Undefined when the response carries no WWW-Authenticate header the page may read. */
  challenge: BearerChallenge | undefined;
}

function initializeRequest(): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'mcp-sw-auth', version: '0' } },
  });
}

/** A fetch the browser refused to show us: was anything there? An opaque answer means yes, without CORS. */
async function reachableWithoutCors(url: URL): Promise<boolean> {
  try {
    await fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'omit', body: '{}', signal: AbortSignal.timeout(TIMEOUT_MS) });
    return true;
  } catch {
    return false;
  }
}

/** Ends what an unprotected server may have started for us (a session), without waiting for it. */
function discard(url: URL, response: Response): void {
  void response.body?.cancel().catch(() => undefined);
  const session = response.headers.get('mcp-session-id');
  if (session) void fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': session }, credentials: 'omit' }).catch(() => undefined);
}

export async function probeServer(url: URL): Promise<ProbeResult> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: initializeRequest(),
      credentials: 'omit',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'TimeoutError') {
      throw new AuthError('server_unreachable', `${url.href} did not answer within ${TIMEOUT_MS / 1000} s. Check that the server is running and the URL is its MCP endpoint.`, { cause });
    }
    if (await reachableWithoutCors(url)) {
      throw new AuthError(
        'cors_blocked',
        `${url.href} answered, but without the CORS headers that let a web page on ${self.location.origin} read its answers, so the browser hid them. ` +
          `The server's author must ${CORS_ADVICE}.`,
        { cause },
      );
    }
    throw new AuthError('server_unreachable', `Nothing answered at ${url.href}. Check that the server is running and that the URL (host, port and path) is right.`, { cause });
  }
  if (response.status === 401 || response.status === 403) {
    void response.body?.cancel().catch(() => undefined);
    const header = response.headers.get('www-authenticate');
    if (header === null) return { status: response.status, challenge: undefined };
    const parsed = parseBearerChallenge(header);
    if (!parsed.ok) {
      throw new AuthError(
        'challenge_malformed',
        `${url.href} refused an unauthenticated request with a WWW-Authenticate header the worker cannot use: ${parsed.error.message} ` +
          'The server\'s author must send `WWW-Authenticate: Bearer resource_metadata="<its protected resource metadata URL>", scope="<the scopes needed>"`.',
      );
    }
    return { status: response.status, challenge: parsed.value };
  }
  discard(url, response);
  if (response.ok) {
    throw new AuthError(
      'not_protected',
      `${url.href} answered an MCP initialize without asking for authorization: it does not use OAuth, so the worker has nothing to do for it. ` +
        'To protect it, the server\'s author must answer requests without a token with 401 and `WWW-Authenticate: Bearer resource_metadata="…"`, ' +
        'and publish Protected Resource Metadata (RFC 9728) naming its authorization server.',
    );
  }
  if (response.status === 404 || response.status === 405) {
    throw new AuthError('server_unreachable', `${url.href} answered HTTP ${response.status} to an MCP initialize. Check the URL: it must be the server's MCP endpoint itself (often ending in /mcp).`);
  }
  throw new AuthError('server_unreachable', `${url.href} answered HTTP ${response.status} to an MCP initialize, where a protected server answers 401. Check the server's logs, then try again.`);
}
