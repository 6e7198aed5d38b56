// Parses `WWW-Authenticate` (RFC 9110 §11.6.1) without ever throwing: a malformed header from a
// server is data, not an exception, because this runs inside the fetch handler.

export interface Challenge {
  /** The auth-scheme as sent; compare it case-insensitively. */
  readonly scheme: string;
  /** auth-params with lower-cased names. Null-prototype, so `__proto__` is just a name. */
  readonly params: Readonly<Record<string, string>>;
  readonly token68?: string;
}

export interface BearerChallenge {
  readonly error?: string;
  readonly errorDescription?: string;
  /** Scope tokens in the order the server listed them, each within RFC 6749's NQCHAR set. */
  readonly scope: readonly string[];
  readonly resourceMetadata?: string;
  readonly realm?: string;
}

export class ChallengeParseError extends Error {
  override readonly name = 'ChallengeParseError';
  readonly code = 'challenge_malformed';
  /** The start of the offending header, for the developer console. */
  readonly header: string;
  constructor(message: string, header: string) {
    super(message);
    this.header = header;
  }
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ChallengeParseError };

/** Servers send a few hundred bytes; anything past this is refused rather than scanned. */
export const MAX_HEADER_LENGTH = 8192;

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
// scope-token = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E (RFC 6749 §3.3)
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
// what an unquoted `scope` may hold: scope-token characters up to the next "," (RFC 9110 wants a
// quoted string for "notes:read", but servers send it bare, and it can mean only one thing)
const BARE_SCOPE_CHAR = /[\x21\x23-\x2B\x2D-\x5B\x5D-\x7E]/;

/** One OAuth scope token (RFC 6749 §3.3), at most 256 characters. */
export function isScopeToken(value: string): boolean {
  return value.length <= 256 && SCOPE_TOKEN.test(value);
}

export function parseWwwAuthenticate(header: string): ParseResult<Challenge[]> {
  const fail = (why: string): ParseResult<Challenge[]> => ({
    ok: false,
    error: new ChallengeParseError(`Malformed WWW-Authenticate header: ${why}.`, header.slice(0, 200)),
  });
  if (typeof header !== 'string') return fail('it is not a string');
  if (header.length > MAX_HEADER_LENGTH) return fail(`it is longer than ${MAX_HEADER_LENGTH} characters`);

  const s = header;
  const n = s.length;
  let i = 0;
  const skipSpace = () => {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const skipListSeparators = () => {
    while (i < n && (s[i] === ' ' || s[i] === '\t' || s[i] === ',')) i++;
  };
  const readToken = (chars = TCHAR): string => {
    const start = i;
    while (i < n && chars.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  const readQuoted = (): string | undefined => {
    i++; // opening quote
    let out = '';
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return out;
      }
      if (c === 0x5c) {
        const next = s.charCodeAt(i + 1);
        if (i + 1 >= n || !(next === 0x09 || (next >= 0x20 && next !== 0x7f))) return undefined;
        out += s[i + 1];
        i += 2;
        continue;
      }
      if (!(c === 0x09 || (c >= 0x20 && c !== 0x7f))) return undefined;
      out += s[i];
      i++;
    }
    return undefined;
  };

  const challenges: Challenge[] = [];
  skipListSeparators();
  while (i < n) {
    const scheme = readToken();
    if (!scheme) return fail(`expected an auth-scheme at position ${i}`);
    const params: Record<string, string> = Object.create(null);
    let token68: string | undefined;

    const afterScheme = i;
    skipSpace();
    if (i < n && s[i] !== ',') {
      if (i === afterScheme) return fail(`expected a space after "${scheme}"`);
      const rest = s.slice(i);
      const end = rest.search(/[ \t]*(,|$)/);
      const candidate = rest.slice(0, end);
      if (TOKEN68.test(candidate) && !/^[^=]+=[^=]/.test(candidate)) {
        token68 = candidate;
        i += end;
        skipSpace();
      } else {
        for (;;) {
          const save = i;
          const name = readToken();
          if (!name) return fail(`expected a parameter name at position ${i}`);
          skipSpace();
          if (s[i] !== '=') {
            if (Object.keys(params).length === 0) return fail(`expected "=" after "${name}"`);
            i = save; // a new challenge starts here
            break;
          }
          i++;
          skipSpace();
          let value: string | undefined;
          if (s[i] === '"') {
            value = readQuoted();
            if (value === undefined) return fail(`unterminated or invalid quoted string for "${name}"`);
          } else {
            value = readToken(name.toLowerCase() === 'scope' ? BARE_SCOPE_CHAR : TCHAR);
            if (!value) return fail(`expected a value for "${name}"`);
          }
          const key = name.toLowerCase();
          if (key in params) return fail(`parameter "${key}" appears twice in one challenge`);
          params[key] = value;
          skipSpace();
          if (i >= n) break;
          if (s[i] !== ',') return fail(`unexpected "${s[i]}" at position ${i}`);
          skipListSeparators();
          if (i >= n) break;
        }
      }
    }
    challenges.push(token68 === undefined ? { scheme, params } : { scheme, params, token68 });
    skipListSeparators();
  }
  if (challenges.length === 0) return fail('it holds no challenge');
  return { ok: true, value: challenges };
}

/**
 * The Bearer (or DPoP) challenge of a header, with its scope split and checked.
 * A header that parses but carries no Bearer challenge is an error too: it tells us nothing we can act on.
 */
export function parseBearerChallenge(header: string | null): ParseResult<BearerChallenge> {
  if (header === null) {
    return { ok: false, error: new ChallengeParseError('The response has no WWW-Authenticate header, so it does not say which scope it needs.', '') };
  }
  const parsed = parseWwwAuthenticate(header);
  if (!parsed.ok) return parsed;
  const challenge =
    parsed.value.find((c) => c.scheme.toLowerCase() === 'bearer') ?? parsed.value.find((c) => c.scheme.toLowerCase() === 'dpop');
  if (!challenge) {
    return { ok: false, error: new ChallengeParseError('WWW-Authenticate holds no Bearer challenge.', header.slice(0, 200)) };
  }
  const p = challenge.params;
  const scope = (p['scope'] ?? '').split(' ').filter(Boolean);
  const bad = scope.find((t) => !isScopeToken(t));
  if (bad !== undefined) {
    return {
      ok: false,
      error: new ChallengeParseError(`Malformed WWW-Authenticate header: scope token ${JSON.stringify(bad.slice(0, 40))} is not an OAuth scope (printable ASCII without space, quote or backslash, at most 256 characters).`, header.slice(0, 200)),
    };
  }
  const out: { -readonly [K in keyof BearerChallenge]: BearerChallenge[K] } = { scope: [...new Set(scope)] };
  if (p['error'] !== undefined) out.error = p['error'];
  if (p['error_description'] !== undefined) out.errorDescription = p['error_description'];
  if (p['resource_metadata'] !== undefined) out.resourceMetadata = p['resource_metadata'];
  if (p['realm'] !== undefined) out.realm = p['realm'];
  return { ok: true, value: out };
}
