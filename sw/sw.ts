// The prebuilt worker (`mcp-sw-auth/sw.js`), for an app that has no service worker of its own:
// served as /sw.js, it takes its callback path from its registration URL
// (`/sw.js?callback=/oauth/callback`) unless told otherwise. Its options can be compiled in by a
// line before it, `self.MCP_SW_AUTH_OPTIONS = { trustedServers: [...] };`, which the Vite plugin
// writes. An app with a worker of its own imports `mcp-sw-auth/worker` instead.
import { installMcpSwAuth, type McpSwAuthInstallOptions } from './worker.ts';

declare const self: ServiceWorkerGlobalScope & { MCP_SW_AUTH_OPTIONS?: McpSwAuthInstallOptions };

installMcpSwAuth({ takeControl: true, ...self.MCP_SW_AUTH_OPTIONS });
