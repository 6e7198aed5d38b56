// One MCP connection per server with the real SDK client and no auth provider: the service worker
// adds the tokens. A failed call drops the connection, so the next call (after an authorization)
// starts a fresh session.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

export interface ToolInfo {
  name: string;
  title?: string;
  description?: string;
  inputSchema: { properties?: Record<string, { type?: string; description?: string }>; required?: string[] };
}

export interface ToolOutcome {
  text: string;
  isError: boolean;
}

export class McpSession {
  readonly url: string;
  #client: Promise<Client> | undefined;

  constructor(url: string) {
    this.url = url;
  }

  #connect(): Promise<Client> {
    this.#client ??= (async () => {
      const client = new Client({ name: 'mcp-sw-auth-demo', version: '0.1.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(this.url)));
      return client;
    })();
    return this.#client;
  }

  async #use<T>(work: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await work(await this.#connect());
    } catch (error) {
      this.close();
      throw error;
    }
  }

  listTools(): Promise<ToolInfo[]> {
    return this.#use(async (client) => (await client.listTools()).tools as ToolInfo[]);
  }

  callTool(name: string, args: Record<string, unknown>): Promise<ToolOutcome> {
    return this.#use(async (client) => {
      const result = await client.callTool({ name, arguments: args });
      const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
      return { text: content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n'), isError: result.isError === true };
    });
  }

  close(): void {
    const pending = this.#client;
    this.#client = undefined;
    void pending?.then((c) => c.close()).catch(() => undefined);
  }
}
