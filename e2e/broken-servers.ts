// Two servers an MCP server author might run by mistake, for the "Add a server" tests: one that
// never asks for authorization, one that sends no CORS headers. Each listens on loopback only.
import { createServer, type Server } from 'node:http';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, 'localhost', () =>
      resolve({ url: `http://localhost:${port}/mcp`, close: () => new Promise<void>((done) => server.close(() => done())) }),
    );
  });
}

/** An MCP endpoint that answers `initialize` to anyone, with CORS: it does not use OAuth. */
export function startUnprotectedServer(port: number): Promise<RunningServer> {
  return listen(
    createServer((req, res) => {
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-expose-headers', 'mcp-session-id');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'access-control-allow-methods': 'GET, POST, DELETE', 'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*' }).end();
        return;
      }
      if (req.method !== 'POST') return void res.writeHead(405).end();
      req.resume();
      req.on('end', () =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'open', version: '1' } } })),
      );
    }),
    port,
  );
}

/** A protected MCP endpoint that forgot CORS: a browser page can send to it but never read its answers. */
export function startCorslessServer(port: number): Promise<RunningServer> {
  return listen(
    createServer((req, res) => {
      req.resume();
      res.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="http://localhost:${port}/.well-known/oauth-protected-resource/mcp"` }).end();
    }),
    port,
  );
}
