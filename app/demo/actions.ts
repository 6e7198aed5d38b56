// The demo's MCP actions as data, so an action interrupted by an authorization redirect can be
// handed to the worker as `resume` and run again when the user comes back.
import { AuthorizationRequiredError, McpAuthError, type McpAuthClient } from '../core/auth-client.ts';
import { consoleStore } from './console-store.ts';
import type { SessionPool } from './session-pool.ts';

/**
 * `call` names one run of an action: its console line carries it, and so does the same action run
 * again after an authorization, so that what a call printed can be told from any other line.
 */
export type DemoAction =
  | { serverId: string; kind: 'connect'; call?: string }
  | { serverId: string; kind: 'call'; tool: string; args: Record<string, unknown>; call?: string };

let calls = 0;
function newCallId(): string {
  return `${Date.now().toString(36)}-${++calls}`;
}

export function describe(action: DemoAction): string {
  return action.kind === 'connect' ? 'connect + tools/list' : `tools/call ${action.tool}`;
}

export function isDemoAction(value: unknown): value is DemoAction {
  const v = value as Partial<DemoAction> | null;
  return typeof v?.serverId === 'string' && (v.kind === 'connect' || v.kind === 'call') && (v.call === undefined || typeof v.call === 'string');
}

export async function runAction(client: McpAuthClient, sessions: Pick<SessionPool, 'get'>, given: DemoAction, retried = false): Promise<void> {
  const session = sessions.get(given.serverId);
  if (!session) return;
  const action: DemoAction = { ...given, call: given.call ?? newCallId() };
  const call = action.call!;
  const operation = describe(action);
  consoleStore.update(action.serverId, (s) => ({ ...s, busy: operation, lastCall: call }));
  try {
    if (action.kind === 'connect') {
      const tools = await client.guard(action.serverId, action, () => session.listTools());
      consoleStore.update(action.serverId, (s) => ({ ...s, tools }));
      consoleStore.log(action.serverId, { call, operation, kind: 'ok', text: `${tools.length} tools: ${tools.map((t) => t.name).join(', ')}` });
    } else {
      const outcome = await client.guard(action.serverId, action, () => session.callTool(action.tool, action.args));
      consoleStore.log(action.serverId, { call, operation, kind: outcome.isError ? 'error' : 'ok', text: outcome.text || '(no output)' });
      // A tool call needs a session: after a redirect the tool list is fetched again too.
      if (!consoleStore.get()[action.serverId]?.tools) {
        const tools = await session.listTools();
        consoleStore.update(action.serverId, (s) => ({ ...s, tools }));
      }
    }
    // The timeline entry is not worth holding the console for (a worker stopped mid-reply answers never).
    if (retried) void client.logRetry(action.serverId, operation, true).catch(() => undefined);
  } catch (error) {
    if (error instanceof AuthorizationRequiredError) {
      consoleStore.log(action.serverId, { call, operation, kind: 'auth', text: `Waiting for an authorization (it will ask for ${error.scopes.join(' ')})` });
    } else if (error instanceof McpAuthError) {
      consoleStore.log(action.serverId, { call, operation, kind: 'error', text: error.message });
    } else {
      consoleStore.log(action.serverId, { call, operation, kind: 'error', text: error instanceof Error ? error.message : String(error) });
    }
    if (retried) void client.logRetry(action.serverId, operation, false, error instanceof Error ? error.message : String(error)).catch(() => undefined);
  } finally {
    consoleStore.update(action.serverId, (s) => ({ ...s, busy: undefined }));
  }
}
