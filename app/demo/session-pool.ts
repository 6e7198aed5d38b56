// One MCP session per server shown on the demo page, made when first used: the servers a person
// adds at run time get theirs like the demo's own, and a removed server's session is closed.
import { McpSession } from '../core/mcp-session.ts';

export class SessionPool {
  readonly #sessions = new Map<string, McpSession>();
  readonly #urlOf: (serverId: string) => string | undefined;

  constructor(urlOf: (serverId: string) => string | undefined) {
    this.#urlOf = urlOf;
  }

  get(serverId: string): McpSession | undefined {
    const url = this.#urlOf(serverId);
    if (!url) return undefined;
    let session = this.#sessions.get(serverId);
    if (!session || session.url !== url) {
      session?.close();
      session = new McpSession(url);
      this.#sessions.set(serverId, session);
    }
    return session;
  }

  drop(serverId: string): void {
    this.#sessions.get(serverId)?.close();
    this.#sessions.delete(serverId);
  }
}
