// The framework-free client core as an adopter would ship it: McpAuthClient and the worker channel,
// without React, the demo or the MCP SDK. Bundled and minified on its own by sizes.ts.
export * from '../../app/core/auth-client.ts';
export * from '../../app/core/worker-channel.ts';
