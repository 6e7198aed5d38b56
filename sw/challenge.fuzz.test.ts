// Property-based tests: whatever a server (or an attacker in the middle) puts in WWW-Authenticate,
// the parser answers with a value or a typed error, never throws, never yields a scope token
// outside RFC 6749's NQCHAR set, and refuses a header over MAX_HEADER_LENGTH for its size.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_HEADER_LENGTH, parseBearerChallenge, parseWwwAuthenticate } from './challenge.ts';

const NQCHAR_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const RUNS = 10_000;

// Header-ish text: biased towards the characters the grammar cares about.
const headerChar = fc.oneof(
  fc.constantFrom(' ', '\t', ',', '=', '"', '\\', 'B', 'e', 'a', 'r', 's', 'c', 'o', 'p', ':', '_'),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const headerText = fc.array(headerChar, { maxLength: 300 }).map((chars) => chars.join(''));

const scopeToken = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz:._-/0123456789'.split('')), minLength: 1, maxLength: 12 });
const wellFormed = fc
  .record({
    scheme: fc.constantFrom('Bearer', 'bearer', 'BEARER'),
    scopes: fc.array(scopeToken, { minLength: 1, maxLength: 6 }),
    description: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
    before: fc.constantFrom('', 'Basic realm="x", ', 'Negotiate abc==, '),
  })
  .map(({ scheme, scopes, description, before }) => ({
    header: `${before}${scheme} error="insufficient_scope", scope="${scopes.join(' ')}", error_description="${description.replace(/["\\]/g, (c) => `\\${c}`)}"`,
    scopes: [...new Set(scopes)],
    description,
  }));

// Headers built from the grammar (RFC 9110 §11.6.1), so that a good share parse and their scopes
// are checked: schemes, token or quoted parameter values, random list separators and whitespace,
// and scopes drawn from valid NQCHAR characters with, now and then, one that is not.
const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".split('');
const tokenText = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 10 });
const space = fc.constantFrom('', ' ', '  ', '\t');
const listSeparator = fc.constantFrom(',', ', ', ' ,', ' , ', ',,', ', ,', '\t,\t', ',  ');
/** Characters a server may put in a quoted scope: valid NQCHAR, and some a scope token may not hold. */
const NQCHARS = 'abcdefghijklmnopqrstuvwxyz0123456789:./_-!#$%&\'()*+;<=>?@[]^`{|}~'.split('');
const NOT_NQCHAR = ['"', '\\', '\u00e9', '\u3000', '\t', '\u00a0', '\u007f', '\u0001', ','];
const validScope = fc.string({ unit: fc.constantFrom(...NQCHARS), minLength: 1, maxLength: 10 });
const invalidScope = fc
  .tuple(fc.string({ unit: fc.constantFrom(...NQCHARS), maxLength: 5 }), fc.constantFrom(...NOT_NQCHAR), fc.string({ unit: fc.constantFrom(...NQCHARS), maxLength: 5 }))
  .map(([a, bad, b]) => `${a}${bad}${b}`);
const scopeValue = fc
  .tuple(fc.array(fc.oneof({ weight: 6, arbitrary: validScope }, { weight: 2, arbitrary: invalidScope }), { maxLength: 5 }), fc.constantFrom(' ', '  '))
  .map(([scopes, gap]) => scopes.join(gap));
/** A quoted-string (RFC 9110 §5.6.4), quote and backslash escaped. */
const quote = (text: string) => `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
const paramValue = fc.oneof(
  tokenText,
  fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).map(quote),
  fc.string({ unit: 'binary', maxLength: 10 }).map(quote), // now and then a character no quoted-string may hold
);
const param = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('scope', 'Scope', 'SCOPE'), space, space, fc.oneof({ weight: 4, arbitrary: scopeValue.map(quote) }, { weight: 1, arbitrary: tokenText })) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('error', 'error_description', 'realm', 'resource_metadata'), space, space, paramValue) },
  { weight: 1, arbitrary: fc.tuple(tokenText, space, space, paramValue) },
).map(([name, before, after, value]) => ({ name, text: `${name}${before}=${after}${value}` }));
const challengeText = fc
  .tuple(
    fc.oneof({ weight: 6, arbitrary: fc.constantFrom('Bearer', 'bearer', 'BEARER', 'DPoP') }, { weight: 2, arbitrary: fc.constantFrom('Basic', 'Negotiate') }, { weight: 1, arbitrary: tokenText }),
    fc.uniqueArray(param, { maxLength: 4, selector: (p) => p.name.toLowerCase() }),
    fc.array(listSeparator, { minLength: 4, maxLength: 4 }),
    fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constant('abc==') }),
  )
  .map(([scheme, params, separators, token68]) => {
    if (token68) return `${scheme} ${token68}`;
    if (params.length === 0) return scheme;
    return `${scheme} ${params.map((p, i) => (i === 0 ? '' : separators[i]) + p.text).join('')}`;
  });
const grammarHeader = fc
  .tuple(fc.array(challengeText, { minLength: 1, maxLength: 3 }), listSeparator, space, space)
  .map(([challenges, separator, lead, trail]) => `${lead}${challenges.join(separator)}${trail}`);

/** A header of exactly `length` characters that is a valid Bearer challenge with many short scopes. */
function filledHeader(length: number): { header: string; scopes: string[] } {
  const prefix = 'Bearer error="insufficient_scope", scope="';
  const budget = length - prefix.length - 1;
  const scopes: string[] = [];
  let body = '';
  for (let i = 0; ; i++) {
    const next = `${body ? ' ' : ''}s${i}`;
    if (body.length + next.length > budget) break;
    body += next;
    scopes.push(`s${i}`);
  }
  return { header: `${prefix}${body.padEnd(budget, ' ')}"`, scopes };
}

describe('challenge parser under arbitrary input', () => {
  it('never throws and never yields a scope outside NQCHAR, on headers built from the grammar', () => {
    let parsed = 0;
    let scopesChecked = 0;
    let badScopesRefused = 0;
    fc.assert(
      fc.property(grammarHeader, (header) => {
        const result = parseBearerChallenge(header);
        if (result.ok) {
          parsed++;
          for (const scope of result.value.scope) {
            scopesChecked++;
            expect(scope).toMatch(NQCHAR_TOKEN);
          }
        } else {
          expect(result.error.code).toBe('challenge_malformed');
          if (result.error.message.includes('is not an OAuth scope')) badScopesRefused++;
        }
        expect(() => parseWwwAuthenticate(header)).not.toThrow();
      }),
      { numRuns: RUNS },
    );
    // the generator must reach the scope check, both ways, or the property proves nothing
    expect(parsed).toBeGreaterThanOrEqual(RUNS * 0.2);
    expect(scopesChecked).toBeGreaterThanOrEqual(RUNS * 0.2);
    expect(badScopesRefused).toBeGreaterThanOrEqual(RUNS * 0.05);
  });

  it('never throws on arbitrary text, and any scope it yields is NQCHAR', () => {
    fc.assert(
      fc.property(headerText, (header) => {
        const result = parseBearerChallenge(header);
        if (result.ok) {
          for (const scope of result.value.scope) expect(scope).toMatch(NQCHAR_TOKEN);
        } else {
          expect(result.error.code).toBe('challenge_malformed');
        }
        expect(() => parseWwwAuthenticate(header)).not.toThrow();
      }),
      { numRuns: RUNS },
    );
  });

  it('mutations of a valid header never throw and never yield a bad scope', () => {
    fc.assert(
      fc.property(wellFormed, fc.nat(), headerText, ({ header }, at, insert) => {
        const cut = at % (header.length + 1);
        const mutated = header.slice(0, cut) + insert + header.slice(cut + (at % 3));
        const result = parseBearerChallenge(mutated);
        if (result.ok) for (const scope of result.value.scope) expect(scope).toMatch(NQCHAR_TOKEN);
      }),
      { numRuns: RUNS },
    );
  });

  it('reads every well-formed step-up challenge exactly', () => {
    fc.assert(
      fc.property(wellFormed, ({ header, scopes, description }) => {
        const result = parseBearerChallenge(header);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.value.scope).toEqual(scopes);
        expect(result.value.error).toBe('insufficient_scope');
        expect(result.value.errorDescription).toBe(description);
      }),
      { numRuns: RUNS },
    );
  });

  it('reads an unquoted scope token exactly, whatever parameters follow it', () => {
    // "scope==" is also a valid token68 credential (RFC 9110 §11.4), and is read as one
    const bareScope = fc.string({ unit: fc.constantFrom(...NQCHARS.filter((c) => c !== ',')), minLength: 1, maxLength: 20 }).filter((t) => !/^=+$/.test(t));
    fc.assert(
      fc.property(bareScope, fc.constantFrom('', ', error="insufficient_scope"', ',resource_metadata="https://a.example/m"', ' , realm=x'), (scope, rest) => {
        const result = parseBearerChallenge(`Bearer scope=${scope}${rest}`);
        expect(result.ok).toBe(true);
        if (result.ok) expect(result.value.scope).toEqual([scope]);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses any header over the size bound, because of the bound, whatever it holds', () => {
    const oversized = fc.oneof(
      // a challenge that would be read if it were shorter
      fc.integer({ min: 1, max: 4000 }).map((extra) => filledHeader(MAX_HEADER_LENGTH + extra).header),
      fc.tuple(wellFormed, fc.integer({ min: 1, max: 4000 })).map(([{ header }, extra]) => {
        const realm = 'r'.repeat(Math.max(1, MAX_HEADER_LENGTH + extra - header.length - ', Basic realm=""'.length));
        return `${header}, Basic realm="${realm}"`;
      }),
      // anything at all, past the bound
      fc.tuple(headerText, fc.string({ unit: 'binary', minLength: 1, maxLength: 50 })).map(([text, tail]) => `${text}${'a'.repeat(MAX_HEADER_LENGTH)}${tail}`),
    );
    fc.assert(
      fc.property(oversized, (header) => {
        expect(header.length).toBeGreaterThan(MAX_HEADER_LENGTH);
        const result = parseBearerChallenge(header);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.error.message).toContain(`longer than ${MAX_HEADER_LENGTH}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('reads a valid header of exactly the size bound, and refuses it one character longer', () => {
    const { header, scopes } = filledHeader(MAX_HEADER_LENGTH);
    expect(header).toHaveLength(MAX_HEADER_LENGTH);
    const result = parseBearerChallenge(header);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.scope).toEqual(scopes);
    const longer = filledHeader(MAX_HEADER_LENGTH + 1).header;
    const refused = parseBearerChallenge(longer);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.message).toContain(`longer than ${MAX_HEADER_LENGTH}`);
  });
});
