// The chat's MCP sessions: one SDK client per server for the life of the page. A step-up in a popup
// never reaches them (the worker holds the refused request and answers it once allowed), so the
// session survives every step-up.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

export class ChatSessions {
  readonly #urls: Map<string, string>;
  readonly #clients = new Map<string, Promise<{ client: Client; transport: StreamableHTTPClientTransport }>>();
  readonly #connections = new Map<string, number>();

  constructor(servers: Array<{ id: string; url: string }>) {
    this.#urls = new Map(servers.map((s) => [s.id, s.url]));
  }

  #connect(serverId: string) {
    let connecting = this.#clients.get(serverId);
    if (!connecting) {
      this.#connections.set(serverId, (this.#connections.get(serverId) ?? 0) + 1);
      connecting = (async () => {
        const client = new Client({ name: 'mcp-sw-auth-chat', version: '0.1.0' });
        const transport = new StreamableHTTPClientTransport(new URL(this.#urls.get(serverId)!));
        await client.connect(transport);
        return { client, transport };
      })();
      // a session that never started is started again next time
      connecting.catch(() => this.#clients.delete(serverId));
      this.#clients.set(serverId, connecting);
    }
    return connecting;
  }

  async call(serverId: string, tool: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
    const { client } = await this.#connect(serverId);
    const result = await client.callTool({ name: tool, arguments: args });
    const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
    return { text: content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n'), isError: result.isError === true };
  }

  /** How many times this page connected to the server (initialize): 1 however many step-ups followed. */
  connections(serverId: string): number {
    return this.#connections.get(serverId) ?? 0;
  }
}
