// The chat demo: a transcript in which an "assistant" turns plain requests into MCP tool calls.
// A call that needs more scope waits in its message, with the step-up prompt inline; Allow opens
// the authorization in a popup, and the call's result appears in the same message. Nothing here
// handles a 401/403: the worker holds the refused request and answers it after the grant.
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { AuthorizationRequiredError, McpAuthError, type McpAuthClient } from '../core/auth-client.ts';
import { useMcpAuth } from '../react/McpAuthProvider.tsx';
import { StepUpPrompt } from '../react/StepUpPrompt.tsx';
import { interpret } from './interpreter.ts';
import type { ChatSessions } from './sessions.ts';

type CallState = 'running' | 'waiting' | 'done' | 'error';

export interface Message {
  id: string;
  role: 'user' | 'assistant';
  text: string;
  call?: { serverId: string; tool: string; args: Record<string, unknown>; state: CallState; result?: string };
}

/** The transcript, outside React so that a call resumed after an authorization finds its message. */
export class Transcript {
  #messages: Message[] = [];
  #listeners = new Set<() => void>();
  #count = 0;

  subscribe = (listener: () => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  get = (): Message[] => this.#messages;

  add(message: Omit<Message, 'id'>): string {
    const id = `m${++this.#count}`;
    this.#messages = [...this.#messages, { ...message, id }];
    this.#emit();
    return id;
  }

  update(id: string, change: (message: Message) => Message): void {
    this.#messages = this.#messages.map((m) => (m.id === id ? change(m) : m));
    this.#emit();
  }

  find(id: string): Message | undefined {
    return this.#messages.find((m) => m.id === id);
  }

  #emit(): void {
    for (const listener of this.#listeners) listener();
  }
}

function setCall(message: Message, state: CallState, result?: string): Message {
  return message.call ? { ...message, call: { ...message.call, state, ...(result === undefined ? {} : { result }) } } : message;
}

/** Runs the tool call of an assistant message, through `guard`; run again with its id after an authorization. */
export async function runCall(auth: McpAuthClient, sessions: ChatSessions, transcript: Transcript, messageId: string): Promise<void> {
  const call = transcript.find(messageId)?.call;
  if (!call) return;
  transcript.update(messageId, (m) => setCall(m, 'running'));
  try {
    const outcome = await auth.guard(call.serverId, { messageId }, () => sessions.call(call.serverId, call.tool, call.args));
    transcript.update(messageId, (m) => setCall(m, outcome.isError ? 'error' : 'done', outcome.text || '(nothing)'));
  } catch (error) {
    if (error instanceof AuthorizationRequiredError) transcript.update(messageId, (m) => setCall(m, 'waiting'));
    else transcript.update(messageId, (m) => setCall(m, 'error', error instanceof McpAuthError ? error.info.message : error instanceof Error ? error.message : String(error)));
  }
}

export function ChatApp({ auth, sessions, transcript, servers }: { auth: McpAuthClient; sessions: ChatSessions; transcript: Transcript; servers: Array<{ id: string; name: string }> }) {
  const messages = useSyncExternalStore(transcript.subscribe, transcript.get);
  const state = useMcpAuth();
  const [draft, setDraft] = useState('');
  const end = useRef<HTMLLIElement>(null);

  useEffect(() => {
    end.current?.scrollIntoView({ block: 'nearest' });
  }, [messages]);

  // the one message per server whose call waits for an authorization shows the prompt
  const promptIn = new Map<string, string>();
  for (const m of messages) if (m.call && (m.call.state === 'running' || m.call.state === 'waiting') && state.servers[m.call.serverId]?.pending) promptIn.set(m.call.serverId, m.id);

  const send = (text: string) => {
    if (!text.trim()) return;
    transcript.add({ role: 'user', text });
    const intent = interpret(text);
    if (intent.kind === 'help') {
      transcript.add({ role: 'assistant', text: intent.says });
      return;
    }
    const id = transcript.add({ role: 'assistant', text: intent.says, call: { serverId: intent.serverId, tool: intent.tool, args: intent.args, state: 'running' } });
    void runCall(auth, sessions, transcript, id);
  };

  return (
    <div className="chat">
      <header className="chat-head">
        <h1>Chat with your notes and calendar</h1>
        <p className="lede">
          Ask in plain words. When a request needs a permission you have not given yet, the assistant asks in the conversation; allow it in the popup and the
          request carries on. The page, the conversation and the MCP sessions stay as they are. <a href="/">← the step-by-step demo</a>
        </p>
        <ul className="chat-servers">
          {servers.map((s) => (
            <li key={s.id}>
              <strong>{s.name}</strong>: <span data-testid={`granted-${s.id}`}>{state.servers[s.id]?.granted.join(' ') || 'nothing granted yet'}</span>
              <small>
                {' '}
                · connected <span data-testid={`connections-${s.id}`}>{sessions.connections(s.id)}</span>×
              </small>
            </li>
          ))}
        </ul>
      </header>
      {state.notice && <p className="notice warn">{state.notice}</p>}
      <ol className="transcript" data-testid="transcript" aria-live="polite">
        {messages.map((m) => (
          <li key={m.id} className={`message ${m.role}`} data-testid={`message-${m.id}`} data-role={m.role} data-state={m.call?.state}>
            <p>{m.text}</p>
            {m.call && (
              <div className="call">
                <code>
                  {m.call.tool} on {servers.find((s) => s.id === m.call!.serverId)?.name}
                </code>{' '}
                {m.call.state === 'running' && <span className="busy">working…</span>}
                {m.call.state === 'waiting' && <span className="busy">waiting for your permission</span>}
                {m.call.result !== undefined && <pre data-testid={`result-${m.id}`}>{m.call.result}</pre>}
                {promptIn.get(m.call.serverId) === m.id && <StepUpPrompt serverId={m.call.serverId} className="prompt" />}
              </div>
            )}
          </li>
        ))}
        <li ref={end} aria-hidden="true" />
      </ol>
      <form
        className="chat-input"
        onSubmit={(event) => {
          event.preventDefault();
          send(draft);
          setDraft('');
        }}
      >
        <input
          data-testid="chat-input"
          aria-label="Your request"
          placeholder={state.ready ? 'e.g. "add a note: buy milk"' : 'Starting…'}
          disabled={!state.ready}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          autoFocus
        />
        <button type="submit" data-testid="chat-send" disabled={!state.ready}>
          Send
        </button>
      </form>
    </div>
  );
}
