import { describe, expect, it } from 'vitest';
import type { FlowResult } from './messages.ts';
import { holdResult, outcomesFor, recordOutcome, takeResult } from './outcomes.ts';

const result = (serverId: string): FlowResult => ({ serverId, at: Date.now(), outcome: 'granted', granted: [`${serverId}:read`], resumes: [] });

describe('results go to the window their callback lands in', () => {
  it('two tabs whose callbacks land together, back at the same URL, each get their own result, once', () => {
    holdResult(result('notes'), 'http://app.example/', 'window-a');
    holdResult(result('calendar'), 'http://app.example/', 'window-b');
    expect(takeResult('window-b', 'http://app.example/')?.serverId).toBe('calendar');
    expect(takeResult('window-a', 'http://app.example/')?.serverId).toBe('notes');
    expect(takeResult('window-a', 'http://app.example/')).toBeUndefined();
  });

  it('without the landing window (a browser that does not say), the first window at the return URL takes it', () => {
    holdResult(result('notes'), 'http://app.example/notes', '');
    expect(takeResult('window-c', 'http://app.example/other')).toBeUndefined();
    expect(takeResult('window-c', 'http://app.example/notes')?.serverId).toBe('notes');
  });
});

describe('refused requests are kept per window', () => {
  it('a window is told only of its own refusals, and only of those since it asked', () => {
    const since = Date.now();
    recordOutcome('window-a', { serverId: 'notes', at: since, status: 403, operation: 'tools/call add-note', outcome: 'authorization-needed', scopes: ['notes:write'] });
    recordOutcome('window-b', { serverId: 'notes', at: since, status: 401, operation: 'initialize', outcome: 'authorization-needed', scopes: ['notes:read'] });
    expect(outcomesFor('window-a', 'notes', since).map((o) => o.operation)).toEqual(['tools/call add-note']);
    expect(outcomesFor('window-a', 'notes', since + 1)).toEqual([]);
    expect(outcomesFor('window-a', 'calendar', since)).toEqual([]);
  });
});
