// The React adapter: context plus hooks over the framework-free client. No protocol work here.
import { createContext, useContext, useSyncExternalStore, type ReactNode } from 'react';
import type { McpAuthClient, McpAuthSnapshot, ServerState } from '../core/auth-client.ts';

const Context = createContext<McpAuthClient | null>(null);

export function McpAuthProvider({ client, children }: { client: McpAuthClient; children: ReactNode }) {
  return <Context.Provider value={client}>{children}</Context.Provider>;
}

export function useMcpAuthClient(): McpAuthClient {
  const client = useContext(Context);
  if (!client) throw new Error('useMcpAuth must be used inside <McpAuthProvider>.');
  return client;
}

export function useMcpAuth(): McpAuthSnapshot {
  const client = useMcpAuthClient();
  return useSyncExternalStore(client.subscribe, client.getSnapshot);
}

export type ServerStatus = 'unknown' | 'signed-out' | 'authorized' | 'authorization-required' | 'authorizing' | 'error';

export interface McpServerView {
  status: ServerStatus;
  server: ServerState | undefined;
  granted: string[];
  requested: string[];
  timeline: ServerState['timeline'];
  authorizations: number;
  /** An authorization started in another window is under way; its grant will reach this tab too. */
  inFlightElsewhere: boolean;
  /**
   * The authorization the server waits for, if any: the operation that was refused, every scope it
   * will ask for, those not granted yet, and how many requests the worker holds until it ends.
   */
  stepUp: { at: number; operation: string; requested: string[]; newScopes: string[]; held: number } | undefined;
  /** `force` starts a new authorization even while another tab has one under way. */
  authorize: (options?: { force?: boolean }) => Promise<void>;
  /** Not now: the held requests are answered with their challenges. */
  cancel: () => Promise<void>;
  signOut: () => Promise<void>;
}

export function useMcpServer(serverId: string): McpServerView {
  const client = useMcpAuthClient();
  const auth = useMcpAuth();
  const server = auth.servers[serverId];
  let status: ServerStatus = 'unknown';
  if (server) {
    if (server.error) status = 'error';
    else if (server.pending) status = 'authorization-required';
    else if (server.timeline.at(-1)?.kind === 'redirect') status = 'authorizing';
    else if (server.authorized) status = 'authorized';
    else status = 'signed-out';
  }
  return {
    status,
    server,
    granted: server?.granted ?? [],
    requested: server?.requested ?? [],
    timeline: server?.timeline ?? [],
    authorizations: server?.authorizations ?? 0,
    inFlightElsewhere: auth.inFlight[serverId] !== undefined,
    stepUp: server?.pending && {
      at: server.pending.at,
      operation: server.pending.trigger.operation,
      requested: server.pending.requested,
      newScopes: server.pending.requested.filter((scope) => !server.granted.includes(scope)),
      held: server.held ?? 0,
    },
    authorize: (options) => client.authorize(serverId, options),
    cancel: () => client.cancel(serverId),
    signOut: () => client.signOut(serverId),
  };
}
