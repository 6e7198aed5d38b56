import { useState } from 'react';
import type { ToolInfo } from '../core/mcp-session.ts';
import type { RegistrationKind, TimelineEvent } from '../../sw/messages.ts';
import { useMcpAuthClient, useMcpServer } from '../react/McpAuthProvider.tsx';
import { runAction } from './actions.ts';
import { consoleStore, useConsole } from './console-store.ts';
import type { DemoServer } from './DemoApp.tsx';
import type { SessionPool } from './session-pool.ts';

const STATUS_TEXT = {
  unknown: 'Starting…',
  'signed-out': 'Not connected',
  authorized: 'Authorized',
  'authorization-required': 'Needs authorization',
  authorizing: 'Authorizing…',
  error: 'Error',
} as const;

export function ServerCard({ server, sessions }: { server: DemoServer; sessions: SessionPool }) {
  const client = useMcpAuthClient();
  const view = useMcpServer(server.id);
  const consoleState = useConsole(server.id);
  const run = (action: Parameters<typeof runAction>[2]) => void runAction(client, sessions, action);
  const remove = async () => {
    sessions.drop(server.id);
    consoleStore.update(server.id, () => ({ output: [] }));
    await client.removeServer(server.id);
  };

  return (
    <section className="card" data-testid={`server-${server.id}`}>
      <header className="card-head">
        <div>
          <h2>
            {server.name}
            {view.server?.added && <span className="badge">added by you</span>}
          </h2>
          <code className="url">{server.url}</code>
        </div>
        <span className={`status ${view.status}`} data-testid={`status-${server.id}`}>
          {STATUS_TEXT[view.status]}
        </span>
      </header>
      <div className="card-body">
        <div className="console">
          <div className="row">
            <button data-testid={`connect-${server.id}`} disabled={!!consoleState.busy} onClick={() => run({ serverId: server.id, kind: 'connect' })}>
              {consoleState.tools ? 'Reconnect' : 'Connect'}
            </button>
            <button className="ghost" data-testid={`signout-${server.id}`} onClick={() => void view.signOut().then(() => sessions.get(server.id)?.close())}>
              Sign out
            </button>
            {view.server?.added && (
              <button className="ghost" data-testid={`remove-${server.id}`} title="Forget this server: its scopes, its tokens (revoked) and the app's registration there" onClick={() => void remove()}>
                Remove
              </button>
            )}
            {consoleState.busy && (
              <span className="busy" data-testid={`busy-${server.id}`}>
                Running {consoleState.busy}…
              </span>
            )}
          </div>
          {consoleState.tools?.map((tool) => (
            <ToolForm key={tool.name} serverId={server.id} tool={tool} disabled={!!consoleState.busy} onRun={(args) => run({ serverId: server.id, kind: 'call', tool: tool.name, args })} />
          ))}
          <ol className="output" data-testid={`output-${server.id}`} data-last-call={consoleState.lastCall}>
            {consoleState.output.map((line, i) => (
              <li key={i} className={line.kind} data-call={line.call}>
                <span className="op">{line.operation}</span> {line.text}
              </li>
            ))}
          </ol>
        </div>
        <aside className="scopes">
          {view.inFlightElsewhere && (
            <div className="prompt" data-testid={`in-flight-${server.id}`}>
              <p>
                An authorization for {server.name} is already under way (another tab may be at the authorization server). This tab carries on when it is
                granted.
              </p>
              <button className="ghost" data-testid={`authorize-anyway-${server.id}`} onClick={() => void view.authorize({ force: true })}>
                Start a new one here
              </button>
            </div>
          )}
          {view.server?.pending && !view.inFlightElsewhere && (
            <div className="prompt" data-testid={`prompt-${server.id}`}>
              <p>
                <strong>{view.server.pending.trigger.operation}</strong> needs <ScopeList scopes={view.server.pending.challenged} />.
              </p>
              <p className="small">
                The authorization will ask for <ScopeList scopes={view.server.pending.requested} />.
              </p>
              {(view.server.held ?? 0) > 0 && (
                <p className="small" data-testid={`held-${server.id}`}>
                  {view.server.held === 1 ? 'The call waits' : `${view.server.held} calls wait`} for your answer: allow in the popup and it carries on.
                </p>
              )}
              <button data-testid={`authorize-${server.id}`} onClick={() => void view.authorize()}>
                Authorize
              </button>
            </div>
          )}
          {view.server?.error && (
            <div className="prompt error" data-testid={`error-${server.id}`} role="alert">
              <strong>{view.server.error.code === 'scope_not_granted' ? 'Loop stopped by the worker' : 'Authorization error'}</strong>
              <p>{view.server.error.message}</p>
              {(view.server.error.code === 'scope_not_granted' || view.server.error.code === 'access_denied') && (
                <button className="ghost" data-testid={`ask-again-${server.id}`} onClick={() => void view.authorize({ force: true })}>
                  Ask again{view.server.error.scopes?.length ? ` for ${view.server.error.scopes.join(' ')}` : ''}
                </button>
              )}
            </div>
          )}
          <h3>Granted scopes</h3>
          <div className="chips" data-testid={`granted-${server.id}`}>
            {view.granted.length === 0 && <span className="muted">none yet</span>}
            {view.granted.map((s) => (
              <span key={s} className="chip granted">
                {s}
              </span>
            ))}
            {view.requested
              .filter((s) => !view.granted.includes(s))
              .map((s) => (
                <span key={s} className="chip requested" title="requested, not granted yet">
                  {s}
                </span>
              ))}
          </div>
          <p className="count">
            Authorizations: <strong data-testid={`auth-count-${server.id}`}>{view.authorizations}</strong>
            {view.server?.binding && (
              <span className={`binding ${view.server.binding}`} data-testid={`binding-${server.id}`} title={view.server.binding === 'dpop' ? 'The token is bound to a key the worker cannot export: stolen, it is useless.' : 'A plain bearer token, kept only in the worker\'s memory.'}>
                {view.server.binding === 'dpop' ? 'DPoP-bound token' : 'bearer token'}
              </span>
            )}
          </p>
          <h3>Timeline</h3>
          <ol className="timeline" data-testid={`timeline-${server.id}`}>
            {view.timeline
              .slice()
              .reverse()
              .map((event, i) => (
                <TimelineItem key={`${event.at}-${i}`} event={event} />
              ))}
          </ol>
        </aside>
      </div>
    </section>
  );
}

const REVOCATION_TEXT = {
  revoked: 'tokens revoked at the authorization server',
  'no-endpoint': 'the authorization server offers no revocation',
  failed: 'revoking the tokens failed (they are forgotten here)',
  'nothing-to-revoke': 'no token to revoke',
} as const;

function firstSentence(text: string): string {
  const end = text.search(/\.\s/);
  return end === -1 ? text : text.slice(0, end + 1);
}

function ScopeList({ scopes }: { scopes: string[] }) {
  return (
    <>
      {scopes.map((s, i) => (
        <span key={s}>
          {i > 0 && ' '}
          <code className="scope">{s}</code>
        </span>
      ))}
    </>
  );
}

function ToolForm({ serverId, tool, disabled, onRun }: { serverId: string; tool: ToolInfo; disabled: boolean; onRun: (args: Record<string, unknown>) => void }) {
  const fields = Object.entries(tool.inputSchema.properties ?? {});
  const [values, setValues] = useState<Record<string, string>>({});
  return (
    <form
      className="tool"
      data-testid={`tool-${serverId}-${tool.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        const args = Object.fromEntries(fields.map(([name, schema]) => [name, schema.type === 'number' ? Number(values[name] ?? 0) : (values[name] ?? '')]));
        onRun(args);
      }}
    >
      <div className="tool-text">
        <strong>{tool.title ?? tool.name}</strong>
        {tool.description && <span className="small">{tool.description}</span>}
      </div>
      {fields.map(([name, schema]) => (
        <input
          key={name}
          aria-label={name}
          placeholder={name}
          data-testid={`input-${serverId}-${tool.name}-${name}`}
          value={values[name] ?? ''}
          onChange={(e) => setValues({ ...values, [name]: e.target.value })}
          title={schema.description}
        />
      ))}
      <button type="submit" disabled={disabled} data-testid={`run-${serverId}-${tool.name}`}>
        Run
      </button>
    </form>
  );
}

const REGISTRATION_TEXT: Record<RegistrationKind, string> = {
  'pre-registered': 'as the pre-registered client',
  'metadata-document': 'as the client metadata document',
  dynamic: 'registered dynamically (RFC 7591) as',
};

function TimelineItem({ event }: { event: TimelineEvent }) {
  const time = new Date(event.at).toLocaleTimeString();
  switch (event.kind) {
    case 'discovery':
      return (
        <li className="discovery" data-testid="discovery">
          <time>{time}</time> Discovered:{' '}
          {event.resourceMetadataUrl ? (
            <>
              metadata at <code data-testid="discovery-metadata">{event.resourceMetadataUrl}</code>
            </>
          ) : (
            'no protected resource metadata (a 2025-03-26 server: its own origin authorizes)'
          )}{' '}
          → authorization server <code data-testid="discovery-issuer">{event.authorizationServer}</code>, {REGISTRATION_TEXT[event.registration] ?? event.registration}{' '}
          <code data-testid="discovery-client">{event.clientId}</code>
          {Array.isArray(event.scopesSupported) && event.scopesSupported.length > 0 ? (
            <>
              {' '}
              · scopes offered: <ScopeList scopes={event.scopesSupported} />
            </>
          ) : null}
        </li>
      );
    case 'challenge':
      return (
        <li className="challenge">
          <time>{time}</time> {event.status} on <strong>{event.operation}</strong>: needs <ScopeList scopes={event.challenged} /> → will request <ScopeList scopes={event.requested} />
        </li>
      );
    case 'redirect':
      return (
        <li className="redirect">
          <time>{time}</time> Redirect to the authorization server for <ScopeList scopes={event.requested} />
        </li>
      );
    case 'grant':
      return (
        <li className="grant">
          <time>{time}</time> Granted <ScopeList scopes={event.granted} />
        </li>
      );
    case 'retry':
      return (
        <li className={event.ok ? 'grant' : 'error'}>
          <time>{time}</time> Retried <strong>{event.operation}</strong>: {event.ok ? 'succeeded' : `failed${event.detail ? ` (${firstSentence(event.detail)})` : ''}`}
        </li>
      );
    case 'refresh':
      return (
        <li className="redirect">
          <time>{time}</time> Refreshed the access token (<ScopeList scopes={event.granted} />)
        </li>
      );
    case 'error':
      return (
        <li className="error" title={event.message}>
          <time>{time}</time> <strong>{event.code}</strong>: {firstSentence(event.message)}
        </li>
      );
    case 'sign-out':
      return (
        <li>
          <time>{time}</time> Signed out: scopes forgotten{event.revocation ? `, ${REVOCATION_TEXT[event.revocation]}` : ''}
        </li>
      );
  }
}
