// The chat demo's "assistant": a small deterministic reader of plain requests, no language model.
// It turns what the user wrote into one MCP tool call on Notes or Calendar, or into help.

export type Intent =
  | { kind: 'tool'; serverId: 'notes' | 'calendar'; tool: string; args: Record<string, unknown>; says: string }
  | { kind: 'help'; says: string };

export const HELP =
  'I can: "add a note: buy milk", "list my notes", "delete note 3", "export my notes", "schedule standup tomorrow at 10", "what is on my calendar".';

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** "today" / "tomorrow" / "on 2026-12-24" with an optional "at 10", "at 9:30", "at 3pm", as local "YYYY-MM-DDTHH:MM". */
function when(day: string, hour: string | undefined, minute: string | undefined, half: string | undefined, now: Date): string {
  const date = new Date(now);
  const explicit = /^on (\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (explicit) date.setFullYear(Number(explicit[1]), Number(explicit[2]) - 1, Number(explicit[3]));
  else if (day === 'tomorrow') date.setDate(date.getDate() + 1);
  let h = hour === undefined ? 9 : Number(hour) % 24;
  if (half?.toLowerCase() === 'pm' && h < 12) h += 12;
  if (half?.toLowerCase() === 'am' && h === 12) h = 0;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(h)}:${pad(Number(minute ?? 0))}`;
}

export function interpret(input: string, now = new Date()): Intent {
  const text = input.trim().replace(/\s+/g, ' ').replace(/[.!]$/, '');
  let m: RegExpExecArray | null;
  if ((m = /^(?:please )?add (?:a )?note:? (.+)$/i.exec(text))) {
    return { kind: 'tool', serverId: 'notes', tool: 'add-note', args: { text: m[1] }, says: `Adding the note "${m[1]}".` };
  }
  if (/^(?:list|show)(?: me)? (?:my |all )?notes$/i.test(text)) return { kind: 'tool', serverId: 'notes', tool: 'list-notes', args: {}, says: 'Here are your notes.' };
  if ((m = /^(?:delete|remove) note #?(\d+)$/i.exec(text))) {
    return { kind: 'tool', serverId: 'notes', tool: 'delete-note', args: { id: m[1] }, says: `Deleting note #${m[1]}.` };
  }
  if (/^export (?:my |all )?notes$/i.test(text)) return { kind: 'tool', serverId: 'notes', tool: 'export-notes', args: {}, says: 'Exporting your notes as Markdown.' };
  if ((m = /^schedule (.+?) (today|tomorrow|on \d{4}-\d{2}-\d{2})(?: at (\d{1,2})(?::(\d{2}))? ?(am|pm)?)?$/i.exec(text))) {
    const at = when(m[2]!.toLowerCase(), m[3], m[4], m[5], now);
    return { kind: 'tool', serverId: 'calendar', tool: 'create-event', args: { title: m[1], when: at }, says: `Scheduling "${m[1]}" for ${at.replace('T', ' at ')}.` };
  }
  if (/^(?:what(?:'s| is) on my calendar|list (?:my )?events|show (?:my )?calendar)\??$/i.test(text)) {
    return { kind: 'tool', serverId: 'calendar', tool: 'list-events', args: {}, says: 'Here is your calendar.' };
  }
  return { kind: 'help', says: HELP };
}
