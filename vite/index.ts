// `mcp-sw-auth/vite`: `plugins: [mcpSwAuth({ trustedServers: [...] })]`. In `vite build` it emits the
// worker at the site root (`/sw.js`), and in `vite dev` it serves it, with the options compiled into
// the worker script, where no page script can change them. With vite-plugin-pwa (injectManifest)
// the PWA's own worker is the service worker: this plugin then emits nothing, and that worker
// imports `mcp-sw-auth/worker` and calls installMcpSwAuth itself.
import { readFileSync } from 'node:fs';
import type { Plugin } from 'vite';

export interface McpSwAuthPluginOptions {
  /**
   * The MCP servers (URL of the endpoint; it covers the paths below it) the worker may register
   * and hold tokens for. Strongly recommended: without it, any script of the origin may register
   * any server.
   */
  trustedServers?: readonly string[];
  /** The path on this origin the authorization server redirects back to. Default `/oauth/callback`. */
  callbackPath?: string;
  /** The worker's file name at the site root. Default `sw.js` (the client core's default `workerUrl` is `/sw.js`). */
  fileName?: string;
}

class McpSwAuthPluginError extends Error {
  override readonly name = 'McpSwAuthPluginError';
}

function checked(options: McpSwAuthPluginOptions): Required<Pick<McpSwAuthPluginOptions, 'callbackPath' | 'fileName'>> & McpSwAuthPluginOptions {
  const callbackPath = options.callbackPath ?? '/oauth/callback';
  if (!/^\/(?!\/)[^?#\s\\]*$/.test(callbackPath) || callbackPath === '/') {
    throw new McpSwAuthPluginError(`mcpSwAuth(): callbackPath ${JSON.stringify(callbackPath)} must be a path on this origin, such as "/oauth/callback".`);
  }
  for (const entry of options.trustedServers ?? []) {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
      throw new McpSwAuthPluginError(`mcpSwAuth(): trustedServers entry ${JSON.stringify(entry)} must be the absolute http(s) URL of an MCP endpoint, without query or fragment.`);
    }
  }
  const fileName = options.fileName ?? 'sw.js';
  if (!/^[\w.-]+\.js$/.test(fileName)) throw new McpSwAuthPluginError(`mcpSwAuth(): fileName ${JSON.stringify(fileName)} must be a plain .js file name (the worker sits at the site root).`);
  return { ...options, callbackPath, fileName };
}

/** The prebuilt worker with its options on the line before it. */
function workerScript(options: McpSwAuthPluginOptions): string {
  const prebuilt = readFileSync(new URL('./sw.js', import.meta.url), 'utf8');
  const settings = { callbackPath: options.callbackPath, ...(options.trustedServers ? { trustedServers: options.trustedServers } : {}) };
  return `self.MCP_SW_AUTH_OPTIONS = ${JSON.stringify(settings)};\n${prebuilt}`;
}

export default function mcpSwAuth(userOptions: McpSwAuthPluginOptions = {}): Plugin {
  const options = checked(userOptions);
  let pwa = false;
  return {
    name: 'mcp-sw-auth',
    configResolved(config) {
      pwa = config.plugins.some((plugin) => plugin.name.startsWith('vite-plugin-pwa'));
      if (pwa) config.logger.info('mcp-sw-auth: vite-plugin-pwa builds the service worker; import mcp-sw-auth/worker in it and call installMcpSwAuth (this plugin emits no worker).');
    },
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        if (pwa || request.url?.split('?')[0] !== `/${options.fileName}`) return next();
        response.setHeader('content-type', 'text/javascript; charset=utf-8');
        response.setHeader('cache-control', 'no-cache');
        response.end(workerScript(options));
      });
    },
    generateBundle() {
      if (pwa || this.environment.config.consumer !== 'client') return;
      this.emitFile({ type: 'asset', fileName: options.fileName, source: workerScript(options) });
    },
  };
}

export { mcpSwAuth };
