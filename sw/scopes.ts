// Scope sets as ordered lists: order of first appearance is kept so that what the user sees
// (chips, the authorization request) grows at the end instead of reshuffling.

export type ScopeStrategy = 'union' | 'replace';

export function parseScope(value: string | undefined | null): string[] {
  return [...new Set((value ?? '').split(' ').filter(Boolean))];
}

export function unionScopes(...sets: ReadonlyArray<readonly string[]>): string[] {
  return [...new Set(sets.flat())];
}

export function missingScopes(have: readonly string[], need: readonly string[]): string[] {
  const held = new Set(have);
  return need.filter((s) => !held.has(s));
}

export function coversScopes(have: readonly string[], need: readonly string[]): boolean {
  return missingScopes(have, need).length === 0;
}

/**
 * The scope set to request next. `union` is the fix for the re-authorization loop (MCP TypeScript
 * SDK issue #1582); `replace` reproduces the bug, for the demo's comparison.
 */
export function nextRequestedScopes(requested: readonly string[], challenged: readonly string[], strategy: ScopeStrategy): string[] {
  return strategy === 'replace' ? unionScopes(challenged) : unionScopes(requested, challenged);
}
