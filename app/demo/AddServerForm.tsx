import { useState, type FormEvent } from 'react';
import { McpAuthError } from '../core/auth-client.ts';
import type { AuthErrorCode } from '../../sw/messages.ts';
import { useMcpAuth, useMcpAuthClient } from '../react/McpAuthProvider.tsx';

/** A headline per failure a person adding a server can meet; the worker's message says what to change. */
const HEADLINES: Partial<Record<AuthErrorCode, string>> = {
  invalid_server_url: 'Not a usable MCP server URL',
  untrusted_server: "Not on this app's trusted list",
  already_registered: 'Already here',
  server_unreachable: 'No MCP server answered',
  cors_blocked: 'The server does not allow this page (CORS)',
  not_protected: 'This server does not use OAuth',
  challenge_malformed: 'The server’s challenge is malformed',
  discovery_failed: 'Discovery failed',
  resource_mismatch: 'The server’s metadata names another resource',
  pkce_unsupported: 'The authorization server lacks PKCE',
  not_registered: 'The app could not identify itself to the authorization server',
};

/**
 * Point the demo at any MCP server, as the MCP Inspector lets you: the worker discovers it and
 * registers the app there, and its card shows what it found. `onAdded` connects, so the card shows
 * the server's first challenge at once.
 */
export function AddServerForm({ onAdded }: { onAdded: (serverId: string) => void }) {
  const client = useMcpAuthClient();
  const { trustedServers } = useMcpAuth();
  const [url, setUrl] = useState('');
  const [name, setName] = useState('');
  const [clientId, setClientId] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<{ code?: AuthErrorCode; message: string }>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const added = await client.addServer({ url, ...(name.trim() ? { name } : {}), ...(clientId.trim() ? { clientId } : {}) });
      setUrl('');
      setName('');
      setClientId('');
      onAdded(added.id);
    } catch (error) {
      setFailure(error instanceof McpAuthError ? { code: error.info.code, message: error.message } : { message: String(error) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="add-server card" data-testid="add-server" onSubmit={(e) => void submit(e)}>
      <h2>Add a server</h2>
      <p className="small">
        Any MCP server protected by OAuth: the worker asks it as an MCP client would, follows its metadata to its authorization server, registers this app
        there and keeps it across reloads.
        {trustedServers && (
          <span data-testid="add-server-trusted">
            {' '}
            This worker is built with a trusted-server list ({trustedServers.join(', ')}): it refuses any other server.
          </span>
        )}
      </p>
      <div className="row">
        <input type="text" inputMode="url" required aria-label="MCP server URL" placeholder="http://localhost:4181/mcp" data-testid="add-server-url" value={url} onChange={(e) => setUrl(e.target.value)} />
        <input aria-label="Name (optional)" placeholder="Name (optional)" data-testid="add-server-name" value={name} onChange={(e) => setName(e.target.value)} />
        <input aria-label="Pre-registered client id (optional)" placeholder="Client id (optional)" data-testid="add-server-client-id" value={clientId} onChange={(e) => setClientId(e.target.value)} />
        <button type="submit" disabled={busy} data-testid="add-server-submit">
          {busy ? 'Discovering…' : 'Add'}
        </button>
      </div>
      {failure && (
        <div className="prompt error" role="alert" data-testid="add-server-error" data-code={failure.code}>
          <strong>{(failure.code && HEADLINES[failure.code]) ?? 'Could not add the server'}</strong>
          <p>{failure.message}</p>
        </div>
      )}
    </form>
  );
}
