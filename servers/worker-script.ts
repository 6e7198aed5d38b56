/**
 * The service worker script the demo (and the conformance runner) serve at /sw.js: the mcp-sw-auth
 * worker module, installed with the MCP servers this app trusts. The list is part of the worker's
 * own script, so no page script can change it. Without a list (the demo's default; the locked
 * build is MCP_SW_AUTH_TRUSTED=demo) any script of the origin may register any server, as a person
 * adding their own would.
 */
export function workerScript(trustedServers: readonly string[] | undefined): string {
  const options = { takeControl: true, ...(trustedServers ? { trustedServers } : {}) };
  return `// mcp-sw-auth, installed with ${trustedServers ? 'the MCP servers this app trusts' : 'no trusted-server list'}.
import { installMcpSwAuth } from '/mcp-sw-auth-worker.js';
installMcpSwAuth(${JSON.stringify(options, null, 2)});
`;
}
