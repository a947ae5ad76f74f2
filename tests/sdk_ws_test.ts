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
  processAlive,
  processesMatching,
  type RunningRunner,
  startRunner,
  waitFor,
} from "./_helpers.ts";

const SERVER_PACKAGE = "npm:@modelcontextprotocol/server-everything@2026.8.31";
const NEEDLE = "server-everything";
const SERVER = [Deno.execPath(), "run", "-A", SERVER_PACKAGE, "stdio"];

/** Downloads server-everything once, so that no child spawn waits for it. */
let warmed: Promise<void> | undefined;
function warmCache(): Promise<void> {
  warmed ??= (async () => {
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["cache", SERVER_PACKAGE],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) {
      throw new Error(
        `Cannot cache ${SERVER_PACKAGE}:\n${new TextDecoder().decode(stderr)}`,
      );
    }
  })();
  return warmed;
}

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

/** The text of the single text item of a `tools/call` result. */
function textOf(result: Awaited<ReturnType<Client["callTool"]>>): string {
  assert.ok(Array.isArray(result.content), "result has content");
  assert.equal(result.content.length, 1);
  const [item] = result.content;
  assert.ok(item && item.type === "text", "content item is text");
  return item.text;
}

/**
 * Runs `body` against a fresh runner serving server-everything, then checks
 * that every server-everything process started meanwhile is gone.
 *
 * @param body The test, given the runner.
 */
async function withEverything(
  body: (runner: RunningRunner) => Promise<void>,
): Promise<void> {
  await warmCache();
  // Processes already there (another run on this machine) are not ours.
  const before = new Set(processesMatching(NEEDLE));
  {
    await using runner = await startRunner(["--", ...SERVER]);
    await body(runner);
  }
  const left = processesMatching(NEEDLE).filter((pid) => !before.has(pid));
  assert.deepEqual(left, [], "no server-everything process is left");
}

/** Pids of server-everything children started since `before`. */
function newServers(before: Set<number>): number[] {
  return processesMatching(NEEDLE).filter((pid) => !before.has(pid));
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
    const before = new Set(processesMatching(NEEDLE));
    await using alice = await connectSdk(runner.wsUrl, "alice");
    await using bob = await connectSdk(runner.wsUrl, "bob");

    // Each connection has its own child.
    const children = newServers(before);
    assert.equal(
      children.length,
      2,
      `one child per client, found pids ${children.join(", ")}`,
    );

    const calls = 20;
    const call = (who: string, sdk: SdkClient, i: number) => {
      const message = `${who}-${i}-${crypto.randomUUID()}`;
      return sdk.client.callTool({ name: "echo", arguments: { message } })
        .then((result) => ({ message, text: textOf(result) }));
    };
    // Interleave: alice 0, bob 0, alice 1, bob 1, ... all in flight at once.
    const pending: Promise<{ message: string; text: string }>[] = [];
    for (let i = 0; i < calls; i++) {
      pending.push(call("alice", alice, i), call("bob", bob, i));
    }
    const answers = await Promise.all(pending);
    assert.equal(answers.length, 2 * calls);
    for (const { message, text } of answers) {
      assert.equal(text, `Echo: ${message}`);
    }
    const distinct = new Set(answers.map((a) => a.text));
    assert.equal(distinct.size, 2 * calls, "every answer is distinct");

    // Closing both clients stops both children.
    await alice[Symbol.asyncDispose]();
    await bob[Symbol.asyncDispose]();
    assert.ok(
      await waitFor(() => children.every((pid) => !processAlive(pid)), 15_000),
      `children exit after their clients close: ${
        children.filter(processAlive).join(", ")
      } still alive`,
    );
  });
});
