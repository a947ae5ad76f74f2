/**
 * A real `claude_desktop_config.json`-shaped file with three real MCP
 * servers from npm — `@modelcontextprotocol/server-filesystem`,
 * `server-memory` and `server-everything` — served by one runner, each
 * driven through the SDK client over Streamable HTTP at its own
 * `/servers/NAME/mcp`, (`memory` also over legacy SSE).
 *
 * @module
 */

import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
// @ts-types="@modelcontextprotocol/sdk/client/sse"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { startRunner } from "./_helpers.ts";

const VERSION = "2026.8.31";
const PACKAGES = {
  filesystem: `npm:@modelcontextprotocol/server-filesystem@${VERSION}`,
  memory: `npm:@modelcontextprotocol/server-memory@${VERSION}`,
  everything: `npm:@modelcontextprotocol/server-everything@${VERSION}`,
};

/** Downloads the three servers first, so that no session waits for npm. */
async function cachePackages(): Promise<void> {
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["cache", ...Object.values(PACKAGES)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `Cannot cache the MCP servers:\n${new TextDecoder().decode(stderr)}`,
    );
  }
}

/** The text parts of a tool result. */
function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] })
    .content ?? [];
  return content.filter((c) => c.type === "text").map((c) => c.text).join(
    "\n",
  );
}

/** Connects an SDK client, runs `use`, then ends the session and closes. */
async function withClient<T>(
  url: string,
  kind: "streamable-http" | "sse",
  use: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({
    name: `claude-config-${kind}`,
    version: "1.0.0",
  });
  const closed = Promise.withResolvers<void>();
  client.onclose = () => closed.resolve();
  const streamable = kind === "streamable-http"
    ? new StreamableHTTPClientTransport(new URL(url))
    : undefined;
  await client.connect(streamable ?? new SSEClientTransport(new URL(url)));
  try {
    return await use(client);
  } finally {
    try {
      if (streamable) await streamable.terminateSession();
    } finally {
      await client.close();
      await closed.promise;
    }
  }
}

Deno.test("a claude_desktop_config.json with server-filesystem, server-memory and server-everything: each is served at /servers/NAME and works through the SDK client", async () => {
  await cachePackages();
  const dir = await Deno.makeTempDir({ prefix: "claude_config_test_" });
  try {
    const shared = `${dir}/shared`;
    await Deno.mkdir(shared);
    await Deno.writeTextFile(`${shared}/hello.txt`, "hello from the runner\n");
    const deno = Deno.execPath();
    // The shape Claude Desktop reads: mcpServers, command, args, env.
    const config = {
      mcpServers: {
        filesystem: {
          command: deno,
          args: ["run", "-A", PACKAGES.filesystem, shared],
        },
        memory: {
          command: deno,
          args: ["run", "-A", PACKAGES.memory],
          env: { MEMORY_FILE_PATH: `${dir}/memory.jsonl` },
        },
        everything: {
          command: deno,
          args: ["run", "-A", PACKAGES.everything, "stdio"],
        },
      },
    };
    const file = `${dir}/claude_desktop_config.json`;
    await Deno.writeTextFile(file, JSON.stringify(config, null, 2));
    await using runner = await startRunner(["--config", file]);
    const at = (name: string, path: string) =>
      `${runner.httpUrl}/servers/${name}/${path}`;

    const listed = await withClient(
      at("filesystem", "mcp"),
      "streamable-http",
      async (client) => {
        const tools = (await client.listTools()).tools.map((t) => t.name);
        assert.ok(tools.includes("read_text_file"), tools.join(", "));
        const read = await client.callTool({
          name: "read_text_file",
          arguments: { path: `${await Deno.realPath(shared)}/hello.txt` },
        });
        return textOf(read);
      },
    );
    assert.match(listed, /hello from the runner/);

    await withClient(at("memory", "mcp"), "streamable-http", async (client) => {
      await client.callTool({
        name: "create_entities",
        arguments: {
          entities: [{
            name: "runner",
            entityType: "program",
            observations: ["serves several MCP servers on one port"],
          }],
        },
      });
    });
    // Another session (over legacy SSE) sees what the first stored: the
    // memory file persists between the per-session children.
    const graph = await withClient(
      at("memory", "sse"),
      "sse",
      async (client) =>
        textOf(await client.callTool({ name: "read_graph", arguments: {} })),
    );
    assert.match(graph, /serves several MCP servers on one port/);

    const echoed = await withClient(
      at("everything", "mcp"),
      "streamable-http",
      async (client) => {
        assert.match(client.getServerVersion()?.name ?? "", /everything/);
        return textOf(
          await client.callTool({
            name: "echo",
            arguments: { message: "through /servers/everything" },
          }),
        );
      },
    );
    assert.match(echoed, /through \/servers\/everything/);
    const status = await (await fetch(`${runner.httpUrl}/status`)).json();
    assert.deepEqual(
      (status.servers as { name: string; state: string }[]).map((s) => [
        s.name,
        s.state,
      ]),
      [["filesystem", "ready"], ["memory", "ready"], ["everything", "ready"]],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
