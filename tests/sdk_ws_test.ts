/**
 * End-to-end tests with a real MCP client and a real MCP server: the official
 * SDK's `Client` over `WebSocketClientTransport`, through the runner, to
 * `@modelcontextprotocol/server-everything` over stdio.
 *
 * @module
 */

import assert from "node:assert/strict";
// The SDK's "./*" export maps `client/index.js` to the types file
// `client/index.js.d.ts`, which does not exist, so Deno would type the imports
// as `any`; point it at the declaration files explicitly.
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/websocket"
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import {
  assertOwnAnswersThenStop,
  newServers,
  serversNow,
  textOf,
  withEverything,
} from "./_everything.ts";

/** An SDK client connected through the runner. */
interface SdkClient extends AsyncDisposable {
  client: Client;
}

/**
 * Connects an SDK client through the runner (which runs `initialize`).
 * Disposing it closes the client and waits until its socket has closed.
 */
async function connectSdk(url: string, name: string): Promise<SdkClient> {
  const client = new Client({ name, version: "1.0.0" });
  const closed = Promise.withResolvers<void>();
  client.onclose = () => closed.resolve();
  const transport = new WebSocketClientTransport(new URL(url));
  try {
    await client.connect(transport);
  } catch (error) {
    await client.close();
    await closed.promise;
    throw error;
  }
  return {
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await closed.promise;
    },
  };
}

Deno.test("SDK client initializes through the runner and sees server-everything's tools capability", async () => {
  await withEverything(async (runner) => {
    await using sdk = await connectSdk(runner.wsUrl, "init-test");
    const info = sdk.client.getServerVersion();
    assert.ok(info, "serverInfo is present");
    assert.equal(typeof info.name, "string");
    assert.ok(info.name.length > 0, "serverInfo.name is not empty");
    assert.match(info.name, /everything/);
    const capabilities = sdk.client.getServerCapabilities();
    assert.ok(capabilities, "capabilities are present");
    assert.ok(capabilities.tools, "capabilities include tools");
  });
});

Deno.test("SDK client lists tools including echo through the runner", async () => {
  await withEverything(async (runner) => {
    await using sdk = await connectSdk(runner.wsUrl, "list-test");
    const { tools } = await sdk.client.listTools();
    const names = tools.map((tool) => tool.name);
    assert.ok(names.includes("echo"), `echo is listed: ${names.join(", ")}`);
  });
});

Deno.test("SDK client calls echo through the runner and gets the message back", async () => {
  await withEverything(async (runner) => {
    await using sdk = await connectSdk(runner.wsUrl, "call-test");
    const message = 'héllo, wörld ✓ "quoted" \\ back\nslash';
    const result = await sdk.client.callTool({
      name: "echo",
      arguments: { message },
    });
    assert.notEqual(result.isError, true);
    assert.equal(textOf(result), `Echo: ${message}`);
  });
});

Deno.test("two SDK clients each get their own child and their own answers to interleaved concurrent calls", async () => {
  await withEverything(async (runner) => {
    const before = serversNow();
    await using alice = await connectSdk(runner.wsUrl, "alice");
    await using bob = await connectSdk(runner.wsUrl, "bob");

    // Each connection has its own child.
    const children = newServers(before);

    await assertOwnAnswersThenStop(alice, bob, children);
  });
});
