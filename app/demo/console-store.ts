// The demo's own state: what each MCP server's tool console shows. Auth state comes from the
// McpAuthClient; this holds only the MCP side (tools, outputs).
import { useSyncExternalStore } from 'react';
import type { ToolInfo } from '../core/mcp-session.ts';

export interface OutputLine {
  at: number;
  /** The run of an action that printed it (see DemoAction). */
  call: string;
  operation: string;
  text: string;
  kind: 'ok' | 'error' | 'auth';
}

export interface ConsoleState {
  tools?: ToolInfo[];
  busy?: string;
  /** The latest run started. */
  lastCall?: string;
  output: OutputLine[];
}

type State = Readonly<Record<string, ConsoleState>>;

let state: State = {};
const listeners = new Set<() => void>();

export const consoleStore = {
  get: (): State => state,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  update(serverId: string, change: (s: ConsoleState) => ConsoleState): void {
    state = { ...state, [serverId]: change(state[serverId] ?? { output: [] }) };
    for (const listener of listeners) listener();
  },
  log(serverId: string, line: Omit<OutputLine, 'at'>): void {
    consoleStore.update(serverId, (s) => ({ ...s, output: [...s.output, { ...line, at: Date.now() }].slice(-30) }));
  },
};

export function useConsole(serverId: string): ConsoleState {
  return useSyncExternalStore(consoleStore.subscribe, () => consoleStore.get()[serverId] ?? EMPTY);
}

const EMPTY: ConsoleState = { output: [] };
