// Property-based tests: whatever a server (or an attacker in the middle) puts in WWW-Authenticate,
// the parser answers with a value or a typed error, never throws, and never yields a scope token
// outside RFC 6749's NQCHAR set.
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

describe('challenge parser under arbitrary input', () => {
  it('never throws and never yields a scope outside NQCHAR', () => {
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

  it('refuses any header over the size bound, whatever it holds', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 50 }), (tail) => {
        const result = parseBearerChallenge(`Bearer scope="${'a'.repeat(MAX_HEADER_LENGTH)}${tail}"`);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 1_000 },
    );
  });
});
