/**
 * The Notes MCP server: a small in-memory notebook.
 *
 *   notes:read    connect, tools/list, `list-notes`
 *   notes:write   `add-note` { text }
 *   notes:delete  `delete-note` { id }
 *   notes:export  `export-notes` (all notes as Markdown)
 *
 * Run alone: `node servers/notes.ts` (uses demoConfig()).
 */
import { z } from 'zod';

import { demoConfig, NOTES_SCOPES, type DemoConfig } from './config.ts';
import { defineTool, startMcpServer, text, toolError, type McpServerOptions, type RunningMcpServer } from './mcp-server.ts';

export interface Note {
  id: string;
  text: string;
  createdAt: string;
  author?: string;
}

export function createNotesTools(notes: Note[] = seedNotes()) {
  let nextId = notes.reduce((max, n) => Math.max(max, Number(n.id) || 0), 0) + 1;

  return [
    defineTool({
      name: 'list-notes',
      title: 'List notes',
      description: 'List every note with its id, newest last.',
      scope: 'notes:read',
      annotations: { readOnlyHint: true },
      handler: () => ({
        content: [
          {
            type: 'text',
            text: notes.length === 0 ? 'No notes yet.' : notes.map((n) => `#${n.id} ${n.text}`).join('\n'),
          },
        ],
        structuredContent: { notes: notes.map((n) => ({ ...n })) },
      }),
    }),
    defineTool({
      name: 'add-note',
      title: 'Add a note',
      description: 'Add a new note with the given text.',
      scope: 'notes:write',
      inputSchema: z.object({ text: z.string().min(1).max(2000).describe('What the note says') }),
      handler: ({ text: body }, auth) => {
        const author = typeof auth?.extra?.sub === 'string' ? auth.extra.sub : undefined;
        const note: Note = { id: String(nextId++), text: body, createdAt: new Date().toISOString(), ...(author && { author }) };
        notes.push(note);
        return { content: [{ type: 'text', text: `Added note #${note.id}: ${note.text}` }], structuredContent: { note: { ...note } } };
      },
    }),
    defineTool({
      name: 'delete-note',
      title: 'Delete a note',
      description: 'Delete the note with the given id (see list-notes for ids).',
      scope: 'notes:delete',
      annotations: { destructiveHint: true },
      inputSchema: z.object({ id: z.union([z.string(), z.number()]).describe('The id of the note to delete') }),
      handler: ({ id }) => {
        const index = notes.findIndex((n) => n.id === String(id).replace(/^#/, ''));
        if (index === -1) return toolError(`There is no note #${id}.`);
        const [removed] = notes.splice(index, 1);
        return text(`Deleted note #${removed?.id}: ${removed?.text}`);
      },
    }),
    defineTool({
      name: 'export-notes',
      title: 'Export notes',
      description: 'Export all notes as one Markdown document.',
      scope: 'notes:export',
      annotations: { readOnlyHint: true },
      handler: () => text(toMarkdown(notes)),
    }),
  ];
}

export function toMarkdown(notes: readonly Note[]): string {
  const lines = ['# Notes', ''];
  if (notes.length === 0) lines.push('_No notes yet._');
  for (const n of notes) lines.push(`- **#${n.id}** ${n.text} _(${n.createdAt}${n.author ? `, by ${n.author}` : ''})_`);
  return `${lines.join('\n')}\n`;
}

function seedNotes(): Note[] {
  const createdAt = new Date().toISOString();
  return [
    { id: '1', text: 'Welcome! This note lives on the Notes MCP server.', createdAt },
    { id: '2', text: 'Adding, deleting and exporting notes each need their own permission.', createdAt },
  ];
}

export function startNotesServer(
  cfg: DemoConfig,
  extra: { notes?: Note[]; onRequest?: McpServerOptions['onRequest'] } = {},
): Promise<RunningMcpServer> {
  return startMcpServer({
    name: 'notes',
    title: NOTES_SCOPES.name,
    url: cfg.notesUrl,
    issuer: cfg.issuer,
    appOrigins: cfg.appOrigins,
    connectScope: NOTES_SCOPES.connectScope,
    scopes: NOTES_SCOPES.scopes.map((s) => s.scope),
    tools: createNotesTools(extra.notes),
    ...(extra.onRequest && { onRequest: extra.onRequest }),
    instructions: 'A notebook. Reading is always allowed once connected; writing, deleting and exporting each need their own scope.',
  });
}

if (import.meta.main) {
  const server = await startNotesServer(demoConfig());
  console.log(`Notes MCP server on ${server.url}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
