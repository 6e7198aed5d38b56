import { describe, expect, it } from 'vitest';
import { interpret } from './interpreter.ts';

const now = new Date(2026, 11, 1, 15, 0); // 1 December 2026, 15:00 local

describe('the chat demo reads plain requests', () => {
  it('turns note requests into Notes tool calls', () => {
    expect(interpret('add a note: buy milk', now)).toMatchObject({ serverId: 'notes', tool: 'add-note', args: { text: 'buy milk' } });
    expect(interpret('Add note buy bread.', now)).toMatchObject({ tool: 'add-note', args: { text: 'buy bread' } });
    expect(interpret('list my notes', now)).toMatchObject({ tool: 'list-notes' });
    expect(interpret('delete note #3', now)).toMatchObject({ tool: 'delete-note', args: { id: '3' } });
    expect(interpret('export my notes', now)).toMatchObject({ tool: 'export-notes' });
  });

  it('schedules events at the time asked for, relative to now', () => {
    expect(interpret('schedule standup tomorrow at 10', now)).toMatchObject({ serverId: 'calendar', tool: 'create-event', args: { title: 'standup', when: '2026-12-02T10:00' } });
    expect(interpret('schedule review today at 3:30 pm', now)).toMatchObject({ args: { title: 'review', when: '2026-12-01T15:30' } });
    expect(interpret('schedule party on 2026-12-24 at 12am', now)).toMatchObject({ args: { title: 'party', when: '2026-12-24T00:00' } });
    expect(interpret("what's on my calendar?", now)).toMatchObject({ tool: 'list-events' });
  });

  it('answers anything else with what it can do', () => {
    expect(interpret('make me a sandwich', now)).toMatchObject({ kind: 'help' });
    expect(interpret('delete note three', now)).toMatchObject({ kind: 'help' });
  });
});
