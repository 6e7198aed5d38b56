// The prebuilt worker, for an app that has no service worker of its own: served as /sw.js, it
// takes its callback path from its registration URL (`/sw.js?callback=/oauth/callback`) and holds
// no trusted-server list. An app that knows its MCP servers should list them (see install.ts):
// its own worker script calls installMcpSwAuth({ trustedServers: [...] }).
import { installMcpSwAuth } from './install.ts';

installMcpSwAuth({ takeControl: true });
