import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { McpAuthClient } from '../core/auth-client.ts';
import { McpAuthProvider } from '../react/McpAuthProvider.tsx';
import { isDemoAction, runAction } from './actions.ts';
import { DemoApp, STEP_UP_KEY, type DemoServer } from './DemoApp.tsx';
import { SessionPool } from './session-pool.ts';
import './demo.css';

interface DemoConfig {
  clientId: string;
  issuer: string;
  servers: DemoServer[];
}

async function main(): Promise<void> {
  const root = createRoot(document.getElementById('root')!);
  let config: DemoConfig;
  try {
    const response = await fetch('/demo-config.json');
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = (await response.json()) as DemoConfig;
  } catch (error) {
    root.render(<p className="fatal">Could not load /demo-config.json ({String(error)}). Start the demo with `npm run demo`.</p>);
    return;
  }
  // the demo's own servers, and any a person added (the worker keeps those across reloads)
  const sessions = new SessionPool((id) => client.getSnapshot().servers[id]?.url ?? config.servers.find((s) => s.id === id)?.url);
  const client: McpAuthClient = new McpAuthClient({
    clientId: config.clientId,
    // this page starts with the redirect, which shows every step; its switch keeps the choice here
    stepUp: localStorage.getItem(STEP_UP_KEY) === 'popup' ? 'popup' : 'redirect',
    servers: config.servers.map(({ id, name, url }) => ({ id, name, url })),
    onResume: (resume) => {
      if (isDemoAction(resume)) void runAction(client, sessions, resume, true);
    },
  });
  root.render(
    <StrictMode>
      <McpAuthProvider client={client}>
        <DemoApp servers={config.servers} sessions={sessions} issuer={config.issuer} />
      </McpAuthProvider>
    </StrictMode>,
  );
  await client.start().catch(() => undefined);
  // Servers that already hold a grant reconnect on load: a reload needs no new authorization.
  // The server whose interrupted action is being retried reconnects through that retry instead.
  const last = client.getSnapshot().lastResult;
  const retrying = last?.outcome === 'granted' && last.resumes.some(isDemoAction) ? last.serverId : undefined;
  for (const server of Object.values(client.getSnapshot().servers)) {
    if (server.authorized && server.id !== retrying) void runAction(client, sessions, { serverId: server.id, kind: 'connect' });
  }
}

void main();
