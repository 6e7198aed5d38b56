/**
 * The Tasks world: an MCP server that brings its own authorization server, one the app knows
 * nothing about in advance. The app's worker discovers it from the MCP server's 401 (Protected
 * Resource Metadata, then the authorization server's metadata) and registers itself there with
 * Dynamic Client Registration (RFC 7591): the server the demo's "Add a server" form is for.
 *
 *   port      the authorization server (oidc-provider, open registration)   http://localhost:4180
 *   port + 1  the Tasks MCP server                                        http://localhost:4181/mcp
 *
 *   tasks:read    connect, tools/list, `list-tasks`
 *   tasks:write   `add-task` { title }, `complete-task` { id }
 *   tasks:delete  `clear-done`
 *
 * Every input is a string that may be empty (the demo's generic tool form sends '' for an empty
 * field): an empty title adds "Untitled task", an empty id completes the oldest open task.
 *
 *   npm run demo:tasks [-- --port N]     next to `npm run demo`
 *   node servers/tasks.ts [--port N]     the same, under Node 22 or newer
 *
 * App origins allowed (CORS, redirect URIs): demoConfig().appOrigins (http://localhost:4170 and
 * MCP_SW_AUTH_APP_ORIGINS, comma-separated). Access-token lifetime: MCP_SW_AUTH_ACCESS_TOKEN_TTL;
 * DPoP off with MCP_SW_AUTH_DPOP=0, as for the demo.
 */
import { parseArgs } from 'node:util';

import { z } from 'zod';

import {
  startAuthorizationServer,
  type AuthorizationServerEvent,
  type RunningAuthorizationServer,
} from './authorization-server.ts';
import { demoConfig, type ServerScopes } from './config.ts';
import {
  defineTool,
  startMcpServer,
  text,
  toolError,
  type McpRequestLogEntry,
  type RunningMcpServer,
} from './mcp-server.ts';

export const TASKS_DEFAULT_PORT = 4180;

export const TASKS_SCOPES: ServerScopes = {
  id: 'tasks',
  name: 'Tasks',
  connectScope: 'tasks:read',
  scopes: [
    { scope: 'tasks:read', description: 'See your tasks', unlocks: ['initialize', 'tools/list', 'list-tasks'] },
    { scope: 'tasks:write', description: 'Add tasks and mark them done', unlocks: ['add-task', 'complete-task'] },
    { scope: 'tasks:delete', description: 'Remove finished tasks', unlocks: ['clear-done'] },
  ],
};

export interface Task {
  id: string;
  title: string;
  done: boolean;
  createdAt: string;
}

export function createTasksTools(tasks: Task[] = seedTasks()) {
  let nextId = tasks.reduce((max, t) => Math.max(max, Number(t.id) || 0), 0) + 1;
  const line = (t: Task) => `${t.done ? '[x]' : '[ ]'} #${t.id} ${t.title}`;

  return [
    defineTool({
      name: 'list-tasks',
      title: 'List tasks',
      description: 'List every task with its id, open ones and done ones.',
      scope: 'tasks:read',
      annotations: { readOnlyHint: true },
      handler: () => ({
        content: [{ type: 'text', text: tasks.length === 0 ? 'No tasks yet.' : tasks.map(line).join('\n') }],
        structuredContent: { tasks: tasks.map((t) => ({ ...t })) },
      }),
    }),
    defineTool({
      name: 'add-task',
      title: 'Add a task',
      description: 'Add an open task. An empty title adds "Untitled task".',
      scope: 'tasks:write',
      inputSchema: z.object({ title: z.string().max(200).optional().describe('What needs doing (empty: "Untitled task")') }),
      handler: ({ title }) => {
        const task: Task = { id: String(nextId++), title: title?.trim() || 'Untitled task', done: false, createdAt: new Date().toISOString() };
        tasks.push(task);
        return { content: [{ type: 'text', text: `Added task #${task.id}: ${task.title}` }], structuredContent: { task: { ...task } } };
      },
    }),
    defineTool({
      name: 'complete-task',
      title: 'Complete a task',
      description: 'Mark a task done. An empty id completes the oldest open task.',
      scope: 'tasks:write',
      inputSchema: z.object({ id: z.string().max(20).optional().describe('The id of the task (see list-tasks; empty: the oldest open one)') }),
      handler: ({ id }) => {
        const wanted = id?.trim().replace(/^#/, '');
        const task = wanted ? tasks.find((t) => t.id === wanted) : tasks.find((t) => !t.done);
        if (!task) return toolError(wanted ? `There is no task #${wanted}.` : 'There is no open task.');
        if (task.done) return text(`Task #${task.id} was already done: ${task.title}`);
        task.done = true;
        return { content: [{ type: 'text', text: `Completed task #${task.id}: ${task.title}` }], structuredContent: { task: { ...task } } };
      },
    }),
    defineTool({
      name: 'clear-done',
      title: 'Clear done tasks',
      description: 'Remove every task that is done.',
      scope: 'tasks:delete',
      annotations: { destructiveHint: true },
      handler: () => {
        const done = tasks.filter((t) => t.done);
        for (const t of done) tasks.splice(tasks.indexOf(t), 1);
        return {
          content: [{ type: 'text', text: done.length === 0 ? 'No done tasks to clear.' : `Cleared ${done.length} done task${done.length === 1 ? '' : 's'}: ${done.map((t) => `#${t.id}`).join(', ')}` }],
          structuredContent: { cleared: done.map((t) => ({ ...t })) },
        };
      },
    }),
  ];
}

function seedTasks(): Task[] {
  const createdAt = new Date().toISOString();
  return [
    { id: '1', title: 'Try the Tasks server', done: true, createdAt },
    { id: '2', title: 'Add a task of your own', done: false, createdAt },
  ];
}

export type TasksWorldEvent = AuthorizationServerEvent | ({ kind: 'mcp' } & McpRequestLogEntry);

export interface TasksWorldOptions {
  /** The authorization server's port (default 4180); the MCP server listens on port + 1. */
  port?: number;
  /**
   * The origins the app is served from: the only origins that may register (redirect URIs under
   * their `/oauth/callback`) and that get CORS. Default: demoConfig().appOrigins
   * (http://localhost:4170 and MCP_SW_AUTH_APP_ORIGINS).
   */
  appOrigins?: string[];
  /** Access-token lifetime in seconds (default: demoConfig()'s, 600 or MCP_SW_AUTH_ACCESS_TOKEN_TTL). */
  accessTokenTtl?: number;
  /** DPoP-bound tokens with nonces (default: demoConfig()'s, on unless MCP_SW_AUTH_DPOP=0). */
  dpop?: boolean;
  /** Called for every authorization, token and registration request, and every MCP request (no secrets). */
  onEvent?: (event: TasksWorldEvent) => void;
  /** The task list to serve (default: two seeded tasks); the world changes it in place. */
  tasks?: Task[];
}

export interface RunningTasksWorld {
  /** The authorization server's issuer, e.g. http://localhost:4180. */
  issuer: string;
  /** The MCP server's URL, e.g. http://localhost:4181/mcp: what the app's "Add a server" form takes. */
  mcpUrl: string;
  as: RunningAuthorizationServer;
  mcp: RunningMcpServer;
  close(): Promise<void>;
}

export async function startTasksWorld(options: TasksWorldOptions = {}): Promise<RunningTasksWorld> {
  const port = options.port ?? TASKS_DEFAULT_PORT;
  if (!Number.isInteger(port) || port <= 0 || port > 65534) throw new Error(`Invalid Tasks port: ${port}`);
  const defaults = demoConfig();
  const appOrigins = options.appOrigins ?? defaults.appOrigins;
  const issuer = `http://localhost:${port}`;
  const mcpUrl = `http://localhost:${port + 1}/mcp`;

  const as = await startAuthorizationServer(
    {
      issuer,
      appOrigins,
      accessTokenTtl: options.accessTokenTtl ?? defaults.accessTokenTtl,
      dpop: options.dpop ?? defaults.dpop,
      resources: new Map([[mcpUrl, TASKS_SCOPES]]),
      dynamicRegistration: true,
      // not the demo authorization server's cookie names: both run on localhost
      cookieSuffix: `-tasks-${port}`,
    },
    { ...(options.onEvent && { onEvent: options.onEvent }) },
  );
  let mcp: RunningMcpServer;
  try {
    mcp = await startMcpServer({
      name: 'tasks',
      title: TASKS_SCOPES.name,
      url: mcpUrl,
      issuer,
      appOrigins,
      connectScope: TASKS_SCOPES.connectScope,
      scopes: TASKS_SCOPES.scopes.map((s) => s.scope),
      tools: createTasksTools(options.tasks),
      ...(options.onEvent && { onRequest: (entry: McpRequestLogEntry) => options.onEvent?.({ kind: 'mcp', ...entry }) }),
      instructions: 'A to-do list. Reading is allowed once connected; adding or completing tasks needs tasks:write, clearing done ones tasks:delete.',
    });
  } catch (error) {
    await as.close();
    throw error;
  }
  return {
    issuer,
    mcpUrl,
    as,
    mcp,
    close: async () => {
      await Promise.allSettled([mcp.close(), as.close()]);
    },
  };
}

function describe(event: TasksWorldEvent): string | undefined {
  const time = event.at.slice(11, 19);
  switch (event.kind) {
    case 'registration':
      return event.status === 201
        ? `${time} [tasks-as] registered client ${event.clientId} (${event.applicationType}) for ${event.redirectUris?.join(', ')}${event.origin ? ` from ${event.origin}` : ''}`
        : `${time} [tasks-as] registration refused: ${event.error ?? event.status}${event.errorDescription ? ` (${event.errorDescription})` : ''}`;
    case 'authorization': {
      const outcome = event.outcome === 'error' ? `error ${event.error ?? ''}`.trim() : event.outcome === 'code' ? 'no page needed' : `${event.outcome} page`;
      return `${time} [tasks-as] authorize ${event.scope ?? '(no scope)'} → ${outcome}`;
    }
    case 'token': {
      const result = event.status === 200 ? `${event.scope ?? ''}${event.refreshToken ? ' (+ refresh token)' : ''}` : `error ${event.error ?? event.status}`;
      return `${time} [tasks-as] token ${event.grantType ?? '?'} → ${result}`;
    }
    case 'mcp': {
      const what = event.tool ? `${event.rpcMethod} ${event.tool}` : (event.rpcMethod ?? event.httpMethod);
      return `${time} [tasks]    ${what} → ${event.status}${event.tokenScopes ? ` (token: ${event.tokenScopes})` : ''}`;
    }
  }
}

if (import.meta.main) {
  const USAGE = 'Usage: node servers/tasks.ts [--port N]   (the authorization server on N, default 4180; the MCP server on N + 1)';
  let values: { port?: string; help: boolean };
  try {
    ({ values } = parseArgs({ options: { port: { type: 'string', short: 'p' }, help: { type: 'boolean', short: 'h', default: false } } }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const port = values.port === undefined ? TASKS_DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65534) {
    console.error(`Invalid --port ${values.port}\n${USAGE}`);
    process.exit(2);
  }

  let world: RunningTasksWorld;
  try {
    world = await startTasksWorld({
      port,
      onEvent: (event) => {
        const line = describe(event);
        if (line) console.log(line);
      },
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    console.error(e.code === 'EADDRINUSE' ? `Port already in use (${e.message}). Stop the other process or pass --port N.` : error);
    process.exit(1);
  }
  const cfg = demoConfig();
  console.log(`
  Tasks authorization server  ${world.issuer}   (open dynamic client registration; log: ${world.issuer}/__log)
  Tasks MCP server            ${world.mcpUrl}
  App origins allowed         ${cfg.appOrigins.join(', ')}
  Access tokens live ${cfg.accessTokenTtl}s; DPoP ${cfg.dpop ? "on: tokens are bound to the worker's key" : 'off: bearer tokens'}.

  ➜  Add ${world.mcpUrl} in the 'Add a server' form of the demo (npm run demo, at ${cfg.appOrigin}/)

  Press Ctrl+C to stop.
`);
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(0);
    stopping = true;
    setTimeout(() => process.exit(0), 3000).unref();
    void world.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
