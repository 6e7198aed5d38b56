// A small, accessible prompt for a step-up: what the server asks for and which scopes are new;
// Allow opens the authorization (in a popup, within this click); Cancel answers the held requests.
import { useId, useState } from 'react';
import { useMcpServer } from './McpAuthProvider.tsx';

export interface StepUpPromptProps {
  serverId: string;
  /** How the server is called in the UI (its registration name by default). */
  name?: string;
  className?: string;
}

export function StepUpPrompt({ serverId, name, className }: StepUpPromptProps) {
  const view = useMcpServer(serverId);
  const [dismissed, setDismissed] = useState<number>();
  const id = useId();
  const stepUp = view.stepUp;
  if (!stepUp || stepUp.at === dismissed) return null;
  const label = name ?? view.server?.name ?? serverId;
  return (
    <div role="alertdialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-scopes`} className={className} data-testid={`step-up-${serverId}`}>
      <p id={`${id}-title`}>
        <strong>{label}</strong> needs more permission for <code>{stepUp.operation}</code>.
      </p>
      <ul id={`${id}-scopes`} aria-label="Permissions to allow">
        {stepUp.requested.map((scope) => (
          <li key={scope} data-new={stepUp.newScopes.includes(scope) || undefined}>
            <code>{scope}</code>
            {stepUp.newScopes.includes(scope) ? ' (new)' : ' (already allowed)'}
          </li>
        ))}
      </ul>
      {stepUp.held > 0 && (
        <p data-testid={`step-up-held-${serverId}`}>
          {stepUp.held === 1 ? 'One request waits' : `${stepUp.held} requests wait`} for your answer.
        </p>
      )}
      <button type="button" autoFocus data-testid={`step-up-allow-${serverId}`} onClick={() => void view.authorize()}>
        Allow
      </button>{' '}
      <button
        type="button"
        data-testid={`step-up-cancel-${serverId}`}
        onClick={() => {
          setDismissed(stepUp.at);
          void view.cancel();
        }}
      >
        Cancel
      </button>
    </div>
  );
}
