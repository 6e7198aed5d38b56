/**
 * The Calendar MCP server: a small in-memory calendar.
 *
 *   calendar:read   connect, tools/list, `list-events`
 *   calendar:write  `create-event` { title, when }
 *
 * Run alone: `node servers/calendar.ts` (uses demoConfig()).
 */
import { z } from 'zod';

import { CALENDAR_SCOPES, demoConfig, type DemoConfig } from './config.ts';
import { defineTool, startMcpServer, type McpServerOptions, type RunningMcpServer } from './mcp-server.ts';

export interface CalendarEvent {
  id: string;
  title: string;
  /** When it happens, as given (ISO date/time or free text such as "tomorrow 10:00"). */
  when: string;
  createdAt: string;
}

export function createCalendarTools(events: CalendarEvent[] = seedEvents()) {
  let nextId = events.reduce((max, e) => Math.max(max, Number(e.id) || 0), 0) + 1;

  return [
    defineTool({
      name: 'list-events',
      title: 'List events',
      description: 'List every calendar event with its id, title and time.',
      scope: 'calendar:read',
      annotations: { readOnlyHint: true },
      handler: () => ({
        content: [
          {
            type: 'text',
            text: events.length === 0 ? 'No events yet.' : events.map((e) => `#${e.id} ${e.when} — ${e.title}`).join('\n'),
          },
        ],
        structuredContent: { events: events.map((e) => ({ ...e })) },
      }),
    }),
    defineTool({
      name: 'create-event',
      title: 'Create an event',
      description: 'Add an event to the calendar.',
      scope: 'calendar:write',
      inputSchema: z.object({
        title: z.string().min(1).max(200).describe('What the event is'),
        when: z.string().min(1).max(100).describe('When it happens, e.g. 2025-06-01T10:00 or "tomorrow at 10"'),
      }),
      handler: ({ title, when }) => {
        const event: CalendarEvent = { id: String(nextId++), title, when, createdAt: new Date().toISOString() };
        events.push(event);
        return {
          content: [{ type: 'text', text: `Created event #${event.id}: ${event.title} (${event.when})` }],
          structuredContent: { event: { ...event } },
        };
      },
    }),
  ];
}

function seedEvents(): CalendarEvent[] {
  const createdAt = new Date().toISOString();
  const tomorrow = new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
  return [{ id: '1', title: 'Demo walkthrough', when: `${tomorrow}T10:00`, createdAt }];
}

export function startCalendarServer(
  cfg: DemoConfig,
  extra: { events?: CalendarEvent[]; onRequest?: McpServerOptions['onRequest'] } = {},
): Promise<RunningMcpServer> {
  return startMcpServer({
    name: 'calendar',
    title: CALENDAR_SCOPES.name,
    url: cfg.calendarUrl,
    issuer: cfg.issuer,
    appOrigins: cfg.appOrigins,
    connectScope: CALENDAR_SCOPES.connectScope,
    scopes: CALENDAR_SCOPES.scopes.map((s) => s.scope),
    tools: createCalendarTools(extra.events),
    ...(extra.onRequest && { onRequest: extra.onRequest }),
    instructions: 'A calendar. Reading is allowed once connected; creating events needs calendar:write.',
  });
}

if (import.meta.main) {
  const server = await startCalendarServer(demoConfig());
  console.log(`Calendar MCP server on ${server.url}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
