// `mcp-sw-auth/react`: a thin React adapter over the client core. The hooks only read state; all
// protocol work is in the core and the worker.
export { McpAuthProvider, useMcpAuth, useMcpAuthClient, useMcpServer } from './McpAuthProvider.tsx';
export type { McpServerView, ServerStatus } from './McpAuthProvider.tsx';
export { StepUpPrompt } from './StepUpPrompt.tsx';
export type { StepUpPromptProps } from './StepUpPrompt.tsx';
