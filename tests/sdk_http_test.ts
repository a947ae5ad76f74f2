/**
 * End-to-end tests with a real MCP client and a real MCP server over HTTP: the
 * official SDK's `Client` over `StreamableHTTPClientTransport` (`/mcp`) and
 * over `SSEClientTransport` (`GET /sse` + `POST /message`), through the
 * runner, to `@modelcontextprotocol/server-everything` over stdio. Covers
 * client-to-server requests and a server-to-client request (sampling).
 *
 * @module
 */

import assert from "node:assert/strict";
// The SDK's "./*" export maps `client/index.js` to the types file
// `client/index.js.d.ts`, which does not exist, so Deno would type the imports
// as `any`; point it at the declaration files explicitly.
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
// @ts-types="@modelcontextprotocol/sdk/client/sse"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { RunningRunner } from "./_helpers.ts";
import {
  assertOwnAnswersThenStop,
  newServers,
  serversNow,
  textOf,
  withEverything,
} from "./_everything.ts";

/** server-everything's tool that sends `sampling/createMessage` to the client. */
const SAMPLING_TOOL = "trigger-sampling-request";

/** The text the client's sampling handler answers with. */
const SAMPLED_TEXT = "Fixed sampling answer from the test client: 42 ✓";

/** The HTTP transports under test. */
type TransportKind = "streamable-http" | "sse";
const KINDS: TransportKind[] = ["streamable-http", "sse"];

/** A sampling request as the client's handler saw it. */
interface SeenSampling {
  texts: string[];
  maxTokens: number;
}

/** An SDK client connected through the runner over HTTP. */
interface HttpSdkClient extends AsyncDisposable {
  client: Client;
  /** The sampling requests the client answered, oldest first. */
  sampled: SeenSampling[];
}

/** Options for {@linkcode connectHttp}. */
interface ConnectOptions {
  /** Declare `sampling` and answer `sampling/createMessage` with {@linkcode SAMPLED_TEXT}. */
  sampling?: boolean;
}

/**
 * Connects an SDK client through the runner (which runs `initialize`).
 * Disposing it ends the session (Streamable HTTP: `DELETE` first) and closes
 * the client.
 */
async function connectHttp(
  runner: RunningRunner,
  kind: TransportKind,
  name: string,
  options: ConnectOptions = {},
): Promise<HttpSdkClient> {
  const client = new Client(
    { name, version: "1.0.0" },
    options.sampling ? { capabilities: { sampling: {} } } : {},
  );
  const sampled: SeenSampling[] = [];
  if (options.sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, (request) => {
      const texts = request.params.messages.flatMap((message) =>
        [message.content].flat().flatMap((item) =>
          item.type === "text" ? [item.text] : []
        )
      );
      sampled.push({ texts, maxTokens: request.params.maxTokens });
      return {
        model: "test-model",
        role: "assistant",
        stopReason: "endTurn",
        content: { type: "text", text: SAMPLED_TEXT },
      };
    });
  }
  const closed = Promise.withResolvers<void>();
  client.onclose = () => closed.resolve();
  const streamable = kind === "streamable-http"
    ? new StreamableHTTPClientTransport(new URL(`${runner.httpUrl}/mcp`))
    : undefined;
  const transport = streamable ??
    new SSEClientTransport(new URL(`${runner.httpUrl}/sse`));
  try {
    await client.connect(transport);
  } catch (error) {
    await client.close();
    await closed.promise;
    throw error;
  }
  let disposed = false;
  return {
    client,
    sampled,
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      disposed = true;
      try {
        if (streamable) await streamable.terminateSession();
      } finally {
        await client.close();
        await closed.promise;
      }
    },
  };
}

for (const kind of KINDS) {
  Deno.test(`${kind}: SDK client initializes, lists tools including echo and calls echo through the runner`, async () => {
    await withEverything(async (runner) => {
      await using sdk = await connectHttp(runner, kind, `basic-${kind}`);
      const info = sdk.client.getServerVersion();
      assert.ok(info, "serverInfo is present");
      assert.match(info.name, /everything/);
      const capabilities = sdk.client.getServerCapabilities();
      assert.ok(capabilities?.tools, "capabilities include tools");

      const { tools } = await sdk.client.listTools();
      const names = tools.map((tool) => tool.name);
      assert.ok(names.includes("echo"), `echo is listed: ${names.join(", ")}`);

      const message = `héllo over ${kind} ✓ "quoted" \\ back\nslash`;
      const result = await sdk.client.callTool({
        name: "echo",
        arguments: { message },
      });
      assert.notEqual(result.isError, true);
      assert.equal(textOf(result), `Echo: ${message}`);
    });
  });

  Deno.test(`${kind}: server-everything's sampling request reaches the SDK client and its answer comes back`, async () => {
    await withEverything(async (runner) => {
      await using sdk = await connectHttp(runner, kind, `sampling-${kind}`, {
        sampling: true,
      });
      const { tools } = await sdk.client.listTools();
      const tool = tools.find((t) => t.name === SAMPLING_TOOL);
      assert.ok(
        tool,
        `${SAMPLING_TOOL} is listed for a client with sampling: ${
          tools.map((t) => t.name).join(", ")
        }`,
      );
      assert.ok(
        "prompt" in (tool.inputSchema.properties ?? {}),
        `${SAMPLING_TOOL} takes a prompt: ${JSON.stringify(tool.inputSchema)}`,
      );

      const prompt = `say something over ${kind} ${crypto.randomUUID()}`;
      const result = await sdk.client.callTool({
        name: SAMPLING_TOOL,
        arguments: { prompt, maxTokens: 64 },
      });
      assert.notEqual(result.isError, true);
      const text = textOf(result);
      assert.ok(
        text.includes(SAMPLED_TEXT),
        `the tool result carries the client's answer: ${text}`,
      );
      assert.equal(sdk.sampled.length, 1, "one sampling request");
      const [seen] = sdk.sampled;
      assert.equal(seen?.maxTokens, 64);
      assert.ok(
        seen?.texts.some((t) => t.includes(prompt)),
        `the sampling request carries the prompt: ${JSON.stringify(seen)}`,
      );
    });
  });
}

Deno.test("streamable-http: two SDK clients at once get their own child and their own answers; closing them stops both", async () => {
  await withEverything(async (runner) => {
    const before = serversNow();
    await using alice = await connectHttp(runner, "streamable-http", "alice");
    await using bob = await connectHttp(runner, "streamable-http", "bob");

    const children = newServers(before);

    await assertOwnAnswersThenStop(alice, bob, children);
  });
});
