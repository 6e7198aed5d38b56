import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { McpAuthClient } from '../core/auth-client.ts';
import { McpAuthProvider } from '../react/McpAuthProvider.tsx';
import '../demo/demo.css';
import './chat.css';
import { ChatApp, runCall, Transcript } from './ChatApp.tsx';
import { HELP } from './interpreter.ts';
import { ChatSessions } from './sessions.ts';

interface DemoConfig {
  clientId: string;
  servers: Array<{ id: string; name: string; url: string }>;
}

async function main(): Promise<void> {
  const root = createRoot(document.getElementById('root')!);
  const response = await fetch('/demo-config.json').catch(() => undefined);
  if (!response?.ok) {
    root.render(<p className="notice error">Could not load /demo-config.json. Start the demo with `npm run demo`.</p>);
    return;
  }
  const config = (await response.json()) as DemoConfig;
  const sessions = new ChatSessions(config.servers);
  const transcript = new Transcript();
  transcript.add({ role: 'assistant', text: `Hello! ${HELP}` });
  const auth: McpAuthClient = new McpAuthClient({
    clientId: config.clientId,
    servers: config.servers.map(({ id, name, url }) => ({ id, name, url })),
    stepUp: 'popup',
    // a call that failed for scope (say, its popup was closed) runs again in its message once allowed
    onResume: (resume) => {
      const id = (resume as { messageId?: unknown } | null)?.messageId;
      if (typeof id === 'string') void runCall(auth, sessions, transcript, id);
    },
  });
  root.render(
    <StrictMode>
      <McpAuthProvider client={auth}>
        <ChatApp auth={auth} sessions={sessions} transcript={transcript} servers={config.servers} />
      </McpAuthProvider>
    </StrictMode>,
  );
  await auth.start().catch(() => undefined);
}

void main();
