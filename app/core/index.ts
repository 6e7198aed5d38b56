// `mcp-sw-auth`: the framework-free client core. It registers the worker, tells it the app's MCP
// servers, mirrors their state for the UI and starts authorizations; tokens never reach it.
export { AuthorizationRequiredError, McpAuthClient, McpAuthError } from './auth-client.ts';
export type { McpAuthOptions, McpAuthSnapshot } from './auth-client.ts';
export { WorkerUnavailableError } from './worker-channel.ts';
export type {
  AddServerInput,
  AuthErrorCode,
  AuthErrorInfo,
  ChallengeOutcome,
  ClientConfig,
  FlowResult,
  PendingAuthorization,
  RegistrationKind,
  ScopeStrategy,
  ServerRegistration,
  ServerState,
  SignOutRevocation,
  TimelineEvent,
  Trigger,
} from '../../sw/messages.ts';
