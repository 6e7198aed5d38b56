import { useMcpAuth, useMcpAuthClient } from '../react/McpAuthProvider.tsx';
import { runAction } from './actions.ts';
import { AddServerForm } from './AddServerForm.tsx';
import { ServerCard } from './ServerCard.tsx';
import type { SessionPool } from './session-pool.ts';

/** The user's choice of popup or redirect on this page (a UI preference, nothing secret). */
export const STEP_UP_KEY = 'mcp-sw-auth-demo:step-up';

export interface DemoServer {
  id: string;
  name: string;
  url: string;
}

export function DemoApp({ servers, sessions, issuer }: { servers: DemoServer[]; sessions: SessionPool; issuer: string }) {
  const client = useMcpAuthClient();
  const auth = useMcpAuth();
  // the demo's own servers first, then those a person added (the worker remembers them)
  const added = Object.values(auth.servers).filter((s) => s.added && !servers.some((d) => d.id === s.id));
  const shown: DemoServer[] = [...servers, ...added.map(({ id, name, url }) => ({ id, name, url }))];
  const total = Object.values(auth.servers).reduce((n, s) => n + s.authorizations, 0);
  const result = auth.lastResult;
  return (
    <div className="page">
      <header className="top">
        <div>
          <h1>Progressive authorization for MCP</h1>
          <p className="lede">
            A service worker attaches tokens, catches <code>401</code>/<code>403</code> scope challenges and keeps every scope ever asked for.
            Use the tools: each new permission costs one consent, and nothing granted before is lost.
          </p>
        </div>
        <div className="controls">
          <div className="segmented" role="radiogroup" aria-label="Scope strategy">
            <button role="radio" aria-checked={auth.strategy === 'union'} data-testid="strategy-union" className={auth.strategy === 'union' ? 'on' : ''} onClick={() => void client.setStrategy('union')}>
              Accumulate (union)
            </button>
            <button role="radio" aria-checked={auth.strategy === 'replace'} data-testid="strategy-replace" className={auth.strategy === 'replace' ? 'on' : ''} onClick={() => void client.setStrategy('replace')}>
              Replace (v1 SDK bug)
            </button>
          </div>
          <div className="segmented" role="radiogroup" aria-label="How to authorize">
            {(['popup', 'redirect'] as const).map((mode) => (
              <button
                key={mode}
                role="radio"
                aria-checked={auth.stepUp === mode}
                data-testid={`step-up-${mode}`}
                className={auth.stepUp === mode ? 'on' : ''}
                onClick={() => {
                  localStorage.setItem(STEP_UP_KEY, mode);
                  void client.setStepUp(mode);
                }}
              >
                {mode === 'popup' ? 'Popup (page stays)' : 'Redirect'}
              </button>
            ))}
          </div>
          <label className="toggle">
            <input type="checkbox" data-testid="auto-redirect" checked={auth.autoRedirect} onChange={(e) => void client.setAutoRedirect(e.target.checked)} />
            Redirect without asking
          </label>
          <a className="small" href="/chat/" data-testid="chat-link">
            Open the chat demo →
          </a>
          <div className="counter" data-testid="auth-total">
            <strong>{total}</strong> authorization{total === 1 ? '' : 's'}
          </div>
        </div>
      </header>
      {auth.strategy === 'replace' && (
        <p className="notice warn">
          Replace mode asks only for the latest challenge's scope, as the v1 SDK does. Watch earlier grants vanish until the worker's loop guard stops the cycle.
        </p>
      )}
      {auth.fatal && (
        <p className="notice error" data-testid="fatal">
          {auth.fatal}
        </p>
      )}
      {auth.notice && (
        <p className="notice warn" data-testid="notice">
          {auth.notice}
        </p>
      )}
      {auth.warnings.map((warning) => (
        <p key={warning} className="notice warn" data-testid="worker-warning">
          {warning}
        </p>
      ))}
      {result && (
        <div className={`notice ${result.outcome === 'granted' ? 'ok' : 'error'}`} data-testid="last-result">
          {result.outcome === 'granted'
            ? `Authorization complete: granted ${result.granted?.join(' ') || 'no scope'}.`
            : `Authorization failed: ${result.error?.message}`}
          <button className="link" onClick={() => client.dismissResult()}>
            Dismiss
          </button>
        </div>
      )}
      {!auth.ready && !auth.fatal && <p className="notice">Starting the service worker…</p>}
      <main className="servers">
        {shown.map((s) => (
          <ServerCard key={s.id} server={s} sessions={sessions} />
        ))}
        <AddServerForm onAdded={(serverId) => void runAction(client, sessions, { serverId, kind: 'connect' })} />
      </main>
      <footer className="foot">
        Authorization server: <code>{issuer}</code> · tokens never leave the service worker ·{' '}
        <span data-testid="trust">
          {auth.trustedServers
            ? `the worker trusts only ${auth.trustedServers.join(' and ')} (listed in its own script, /sw.js): it refuses any other server, whoever asks`
            : 'the worker has no trusted-server list, so you can add your own MCP servers below (and so can any script of this origin); MCP_SW_AUTH_TRUSTED=demo serves the locked build'}
        </span>
      </footer>
    </div>
  );
}
