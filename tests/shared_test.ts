/**
 * Shared mode (`--child-mode shared`): one MCP server process for every
 * session of every transport. These tests follow the list "What the tests
 * must show (shared mode)", items 1–11, with real processes and sockets:
 * the fixture (`tests/fixtures/shared_fixture.ts`) keeps its state in
 * memory only and records every line it reads, so the tests can tell what
 * reached the one process and what the runner answered itself.
 *
 * @module
 */

import assert from "node:assert/strict";
import { processAlive, type RunningRunner, waitFor } from "./_helpers.ts";
import { initializeRequest, JSON_ONLY } from "./_http.ts";
import {
  type Client,
  DEFAULT_CAPABILITIES,
  errorOf,
  fetchWithin,
  HttpClient,
  type Json,
  rawElements,
  rawMember,
  RawWs,
  readyz,
  resultText,
  runnerExit,
  Scratch,
  SHARED_FIXTURE,
  sleep,
  SseClient,
  startShared,
  waitReady,
  WsClient,
} from "./_shared.ts";

const LIST_CHANGED = [
  "notifications/tools/list_changed",
  "notifications/prompts/list_changed",
  "notifications/resources/list_changed",
];

/** Settles with the promise's value, or `undefined` after `ms`. */
async function within<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) =>
        timer = setTimeout(() => resolve(undefined), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A tools/call request as text (so that the id can be any JSON text). */
function callText(id: string, tool: string, args: Json = {}): string {
  return `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${
    JSON.stringify({ name: tool, arguments: args })
  }}`;
}

/** The one fixture process started so far. */
function onlyPid(scratch: Scratch): number {
  const starts = scratch.starts();
  assert.equal(starts.length, 1, `one fixture process: ${starts}`);
  return starts[0]!;
}

/** Waits until the fixture recorded a `tools/call` of `tool` with `text`. */
async function recordedCall(
  scratch: Scratch,
  pid: number,
  tool: string,
  text: string,
): Promise<Json> {
  let found: Json | undefined;
  const ok = await waitFor(() => {
    found = scratch.recordedCalls(pid, tool).find((m) =>
      ((m.params as Json).arguments as Json | undefined)?.text === text
    );
    return found !== undefined;
  }, 5000);
  assert.ok(ok && found, `the fixture received the ${tool} call "${text}"`);
  return found;
}

/** The level of the last `logging/setLevel` the fixture received. */
function lastLevel(scratch: Scratch, pid: number): unknown {
  return (scratch.recorded(pid, "logging/setLevel").at(-1)?.params as
    | Json
    | undefined)?.level;
}

/** A client's answer to a server request, as text with the raw id. */
function responseText(rawId: string, result: Json): string {
  return `{"jsonrpc":"2.0","id":${rawId},"result":${JSON.stringify(result)}}`;
}

/** Opens one client of each transport and initializes them all. */
async function threeClients(
  runner: RunningRunner,
): Promise<[WsClient, HttpClient, SseClient]> {
  const ws = await WsClient.connect(runner, "A");
  const http = new HttpClient(runner, "B");
  let sse: SseClient | undefined;
  try {
    sse = await SseClient.connect(runner, "C");
    await Promise.all([ws.init(), http.init(), sse.init()]);
  } catch (error) {
    await ws[Symbol.asyncDispose]();
    await http[Symbol.asyncDispose]();
    await sse?.[Symbol.asyncDispose]();
    throw error;
  }
  return [ws, http, sse];
}

function assertNoCrossTalk(...clients: Client[]): void {
  for (const client of clients) {
    client.assertOwnResponses();
    assert.deepEqual(client.errors, [], `${client.name}: no read errors`);
  }
}

// ---------------------------------------------------------------------------
// The fixture alone, over a pipe (so that its faults are not the runner's)
// ---------------------------------------------------------------------------

Deno.test("shared fixture: over a pipe it negotiates versions, answers tool calls concurrently, round-trips its own requests, records its input and exits at stdin EOF", async () => {
  await using scratch = await Scratch.create();
  const encoder = new TextEncoder();
  const child = new Deno.Command(SHARED_FIXTURE[0]!, {
    args: [...SHARED_FIXTURE.slice(1), ...scratch.fixtureFlags()],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const out: Json[] = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of child.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      for (let end; (end = buffered.indexOf("\n")) !== -1;) {
        out.push(JSON.parse(buffered.slice(0, end)));
        buffered = buffered.slice(end + 1);
      }
    }
  })();
  const writer = child.stdin.getWriter();
  let written = 0;
  const write = async (message: unknown) => {
    written++;
    await writer.write(encoder.encode(JSON.stringify(message) + "\n"));
  };
  const reply = async (id: unknown) => {
    let found: Json | undefined;
    assert.ok(
      await waitFor(() => {
        found = out.find((m) => m.id === id && m.method === undefined);
        return found !== undefined;
      }, 5000),
      `an answer to ${JSON.stringify(id)}: ${JSON.stringify(out)}`,
    );
    return found!;
  };
  const text = (message: Json) =>
    ((message.result as Json).content as { text: string }[])[0]!.text;
  const call = (id: number, name: string, args: Json = {}, meta?: Json) =>
    write({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
    });
  try {
    await write({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2024-11-05", capabilities: {} },
    });
    const init = (await reply(1)).result as Json;
    assert.equal(init.protocolVersion, "2024-11-05");
    assert.deepEqual(init.capabilities, DEFAULT_CAPABILITIES);
    assert.deepEqual(init.serverInfo, {
      name: "shared-fixture",
      version: "1.0.0",
    });
    assert.equal(init.instructions, "Shared fixture instructions.");
    await write({
      jsonrpc: "2.0",
      id: 2,
      method: "initialize",
      params: { protocolVersion: "1999-01-01" },
    });
    assert.equal(
      ((await reply(2)).result as Json).protocolVersion,
      "2025-11-25",
    );
    // Concurrent: the echo sent after the slow call is answered first.
    await call(3, "slow", { ms: 400 });
    await call(4, "echo", { text: "quick" });
    assert.equal(text(await reply(4)), "quick");
    assert.ok(!out.some((m) => m.id === 3), "the slow call still runs");
    assert.equal(text(await reply(3)), "slept 400");
    // Progress with the token exactly as received.
    await call(5, "progress", { steps: 2, ms: 0 }, {
      progressToken: { k: [1] },
    });
    assert.equal(text(await reply(5)), "done 2");
    const progress = out.filter((m) => m.method === "notifications/progress");
    assert.deepEqual(
      progress.map((m) => (m.params as Json).progressToken),
      [{ k: [1] }, { k: [1] }],
    );
    // Its own request, answered.
    await call(6, "elicit");
    assert.ok(await waitFor(() => out.some((m) => m.id === "fx-1"), 5000));
    const asked = out.find((m) => m.id === "fx-1")!;
    assert.equal(asked.method, "elicitation/create");
    const answer = {
      jsonrpc: "2.0",
      id: "fx-1",
      result: { action: "decline" },
    };
    await write(answer);
    assert.deepEqual(JSON.parse(text(await reply(6))), answer);
    await call(7, "counter_add", { by: 2 });
    assert.equal(text(await reply(7)), "2");
    await call(8, "pid");
    assert.equal(text(await reply(8)), String(child.pid));
    await write({ jsonrpc: "2.0", id: 9, method: "nope" });
    assert.equal(((await reply(9)).error as Json).code, -32601);
    await write({
      jsonrpc: "2.0",
      id: 10,
      method: "resources/subscribe",
      params: { uri: "fail://x" },
    });
    assert.equal(((await reply(10)).error as Json).code, -32602);
  } finally {
    await writer.close().catch(() => {});
  }
  const status = await child.status;
  await reading;
  assert.equal(status.code, 0, "exits at stdin EOF");
  assert.deepEqual(scratch.starts(), [child.pid]);
  assert.equal(scratch.lines(child.pid).length, written, "every line recorded");

  // Start-up exits.
  const run = async (args: string[]) =>
    (await new Deno.Command(SHARED_FIXTURE[0]!, {
      args: [...SHARED_FIXTURE.slice(1), ...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output()).code;
  assert.equal(await run(["--exit-at-start=3"]), 3);
  const flag = scratch.path("flag");
  assert.equal(await run(["--exit-at-start-if-exists", flag]), 0);
  await Deno.writeTextFile(flag, "");
  assert.equal(await run(["--exit-at-start-if-exists", flag]), 1);
});

// ---------------------------------------------------------------------------
// Flags and start
// ---------------------------------------------------------------------------

Deno.test("shared flags: --prewarm with shared mode and --shared-* with per-session mode are startup errors (exit 2) naming the flag", async () => {
  const prewarm = await runnerExit([
    "--child-mode",
    "shared",
    "--prewarm",
    "2",
    "--",
    ...SHARED_FIXTURE,
  ]);
  assert.equal(prewarm.code, 2, prewarm.stderr);
  assert.doesNotMatch(prewarm.stderr, /unknown option/, prewarm.stderr);
  assert.match(prewarm.stderr, /--prewarm|PREWARM/);
  for (
    const flag of [
      ["--shared-serialize-calls"],
      ["--shared-client-requests", "attribute"],
      ["--shared-roots", "file:///tmp/a"],
    ]
  ) {
    const perSession = await runnerExit([
      "--child-mode",
      "per-session",
      ...flag,
      "--",
      ...SHARED_FIXTURE,
    ]);
    assert.equal(perSession.code, 2, perSession.stderr);
    assert.doesNotMatch(perSession.stderr, /unknown option/, perSession.stderr);
    assert.ok(
      perSession.stderr.includes(flag[0]!),
      `names ${flag[0]}: ${perSession.stderr}`,
    );
  }
});

Deno.test("shared eager start: the child is initialized by the runner before any client; /readyz is 503 until then", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(
    scratch,
    [],
    ["--delay-start-ms", "1500"],
    false,
  );
  let early503 = 0;
  let ready = false;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const { status } = await readyz(runner);
    const fixtureReading = scratch.readies().length > 0;
    if (!fixtureReading) {
      assert.equal(status, 503, "not ready while the child cannot answer");
      early503++;
    }
    if (status === 200) {
      ready = true;
      break;
    }
    await sleep(50);
  }
  assert.ok(ready, `ready in time: ${runner.stderr().slice(-2000)}`);
  assert.ok(early503 > 0, "/readyz answered 503 while the child slept");
  const pid = onlyPid(scratch);
  const initializes = scratch.recorded(pid, "initialize");
  assert.equal(initializes.length, 1);
  const params = initializes[0]!.params as Json;
  assert.equal(params.protocolVersion, "2025-11-25");
  assert.deepEqual(params.capabilities, {});
  const info = params.clientInfo as Json;
  assert.equal(info.name, "mcp-server-runner");
  assert.equal(typeof info.version, "string");
  assert.equal(scratch.recorded(pid, "notifications/initialized").length, 1);
});

// ---------------------------------------------------------------------------
// A.5 1: one child, one handshake
// ---------------------------------------------------------------------------

Deno.test("shared 1: WS, Streamable HTTP and SSE clients initializing at once share one child with one handshake, the cached result and their own ids; state is shared", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  const pid = onlyPid(scratch);
  await using ws = await WsClient.connect(runner, "A");
  await using http = new HttpClient(runner, "B");
  await using sse = await SseClient.connect(runner, "C");
  const [a, b, c] = await Promise.all([
    ws.init({ id: 1 }),
    http.init({ id: "h-init", protocolVersion: "2024-11-05" }),
    sse.init({ id: 7, protocolVersion: "2025-06-18" }),
  ]);
  const cached = JSON.stringify({
    protocolVersion: "2025-11-25",
    capabilities: DEFAULT_CAPABILITIES,
    serverInfo: { name: "shared-fixture", version: "1.0.0" },
    instructions: "Shared fixture instructions.",
  });
  for (
    const [reply, id] of [[a, "1"], [b, '"h-init"'], [c, "7"]] as const
  ) {
    assert.equal(reply.rawId, id, reply.raw);
    assert.equal(
      rawMember(reply.raw, "result"),
      cached,
      "the child's result, byte for byte",
    );
    assert.equal(
      (reply.json.result as Json).instructions,
      "Shared fixture instructions.",
    );
  }
  // One process for all three.
  for (const client of [ws, http, sse]) {
    const reply = await client.callTool(`${client.name}-pid`, "pid");
    assert.equal(resultText(reply), String(pid), client.name);
  }
  // State in the child's memory is shared.
  const add = async (client: Client, by: number) =>
    resultText(
      await client.callTool(`${client.name}-add`, "counter_add", { by }),
    );
  assert.equal(await add(ws, 2), "2");
  assert.equal(await add(http, 3), "5");
  assert.equal(await add(sse, 4), "9");
  // One handshake reached the child: the runner's own.
  assert.equal(scratch.starts().length, 1);
  const initializes = scratch.recorded(pid, "initialize");
  assert.equal(initializes.length, 1, "exactly one initialize");
  assert.equal(
    ((initializes[0]!.params as Json).clientInfo as Json).name,
    "mcp-server-runner",
  );
  assert.equal(
    scratch.recorded(pid, "notifications/initialized").length,
    1,
    "exactly one notifications/initialized",
  );
  assertNoCrossTalk(ws, http, sse);
});

// ---------------------------------------------------------------------------
// A.5 2: ids
// ---------------------------------------------------------------------------

Deno.test('shared 2: ids 1, 1.0 and "1" from three sessions at once come back exactly as sent; the child sees distinct integers; a duplicate in-flight id is refused', async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  const pid = onlyPid(scratch);
  const [ws, http, sse] = await threeClients(runner);
  await using _a = ws;
  await using _b = http;
  await using _c = sse;
  const slow = (id: string, text: string) =>
    callText(id, "slow", { ms: 400, text });
  const [r1, r2, r3] = await Promise.all([
    ws.requestText(slow("1", "from-ws")),
    http.requestText(slow("1.0", "from-http"), { accept: JSON_ONLY }),
    sse.requestText(slow('"1"', "from-sse")),
  ]);
  assert.equal(rawMember(r1.raw, "id"), "1");
  assert.equal(rawMember(r2.raw, "id"), "1.0", `HTTP body: ${r2.raw}`);
  assert.equal(rawMember(r3.raw, "id"), '"1"');
  assert.equal(resultText(r1), "from-ws");
  assert.equal(resultText(r2), "from-http");
  assert.equal(resultText(r3), "from-sse");
  const upstream = scratch.recordedCalls(pid, "slow").map((m) => m.id);
  assert.equal(upstream.length, 3);
  for (const id of upstream) {
    assert.ok(
      typeof id === "number" && Number.isInteger(id) && id > 0,
      `a positive integer: ${id}`,
    );
  }
  assert.equal(new Set(upstream).size, 3, `distinct: ${upstream}`);

  // The same id in two sessions at once is fine.
  const [same1, same2] = await Promise.all([
    ws.requestText(slow("5", "ws-5")),
    http.requestText(slow("5", "http-5")),
  ]);
  assert.equal(resultText(same1), "ws-5");
  assert.equal(resultText(same2), "http-5");

  // Any id text comes back as sent.
  for (
    const id of ["-0", "1e2", "9007199254740993", '"a\\u0062"', "0.10", '""']
  ) {
    const reply = await ws.requestText(callText(id, "echo", { text: id }));
    assert.equal(reply.rawId, id);
    assert.equal(resultText(reply), id);
  }

  // The same id twice in flight in one session: the second is refused.
  const from = ws.all().length;
  await ws.send(slow("7", "seven-first"));
  await ws.send(slow("7", "seven-second"));
  const refused = await ws.waitMessage(
    (m) => m.rawId === "7" && m.json.error !== undefined,
    5000,
    from,
  );
  assert.equal(errorOf(refused).code, -32600);
  assert.match(errorOf(refused).message, /already in flight/);
  const answered = await ws.waitMessage(
    (m) => m.rawId === "7" && m.json.result !== undefined,
    5000,
    from,
  );
  assert.equal(resultText(answered), "seven-first");
  assert.equal(
    scratch.recordedCalls(pid, "slow").filter((m) =>
      ((m.params as Json).arguments as Json).text === "seven-second"
    ).length,
    0,
    "the refused request never reached the child",
  );
  assertNoCrossTalk(ws, http, sse);
});

// ---------------------------------------------------------------------------
// A.5 3: progress
// ---------------------------------------------------------------------------

Deno.test('shared 3: progress tokens "t", "t" and 5 of three sessions are rewritten upstream and restored, each session getting only its own, on the right stream', async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  const pid = onlyPid(scratch);
  const [ws, http, sse] = await threeClients(runner);
  await using _a = ws;
  await using _b = http;
  await using _c = sse;
  const cases = [
    { client: ws as Client, token: "t" as string | number, steps: 2 },
    { client: http as Client, token: "t", steps: 3 },
    { client: sse as Client, token: 5, steps: 4 },
  ];
  const replies = await Promise.all(
    cases.map(({ client, token, steps }) =>
      client.callTool("prog", "progress", { steps, ms: 30 }, {
        meta: { progressToken: token },
      })
    ),
  );
  await sleep(300);
  for (const [i, { client, token, steps }] of cases.entries()) {
    const reply = replies[i]!;
    assert.equal(resultText(reply), `done ${steps}`);
    const progress = client.notifications("notifications/progress");
    assert.equal(
      progress.length,
      steps,
      `${client.name}: its own progress only`,
    );
    assert.deepEqual(
      progress.map((m) => (m.json.params as Json).progress),
      Array.from({ length: steps }, (_, k) => k + 1),
    );
    for (const message of progress) {
      assert.equal(
        rawMember(rawMember(message.raw, "params")!, "progressToken"),
        JSON.stringify(token),
        "the token text restored",
      );
      assert.equal(message.stream, reply.stream, "on the request's stream");
    }
  }
  const tokens = scratch.recordedCalls(pid, "progress").map((m) =>
    ((m.params as Json)._meta as Json).progressToken
  );
  assert.equal(tokens.length, 3);
  for (const token of tokens) {
    assert.ok(
      typeof token === "string" && /^p\d+$/.test(token),
      `a runner token: ${JSON.stringify(token)}`,
    );
  }
  assert.equal(new Set(tokens).size, 3, "distinct upstream tokens");
  assertNoCrossTalk(ws, http, sse);
});

// ---------------------------------------------------------------------------
// A.5 4: cancellation
// ---------------------------------------------------------------------------

Deno.test("shared 4: a client's cancel reaches the child with its upstream id; a disconnecting session's call is cancelled upstream and its late answer goes nowhere", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  const pid = onlyPid(scratch);
  await using a = await WsClient.connect(runner, "A");
  await using b = new HttpClient(runner, "B");
  const c = await WsClient.connect(runner, "C");
  try {
    await Promise.all([a.init(), b.init(), c.init()]);
    await a.send(callText("1", "slow", { ms: 1500, text: "A" }));
    const bDone = b.requestText(callText("1", "slow", { ms: 400, text: "B" }));
    const upstreamA = (await recordedCall(scratch, pid, "slow", "A")).id;
    const upstreamB = (await recordedCall(scratch, pid, "slow", "B")).id;
    assert.notEqual(upstreamA, upstreamB);
    await a.notify("notifications/cancelled", { requestId: 1, reason: "test" });
    await a.notify("notifications/cancelled", {
      requestId: 99,
      reason: "unknown id",
    });
    const cancels = () => scratch.recorded(pid, "notifications/cancelled");
    assert.ok(
      await waitFor(
        () => cancels().some((m) => (m.params as Json).requestId === upstreamA),
        5000,
      ),
      `the cancel carries A's upstream id ${upstreamA}: ${
        JSON.stringify(cancels())
      }`,
    );
    assert.equal(
      resultText(await bDone),
      "B",
      "B's call with the same id completes",
    );
    await sleep(200);
    assert.equal(cancels().length, 1, "the cancel of an unknown id is dropped");

    // C disconnects mid-call.
    await c.send(callText('"c"', "slow", { ms: 1200, text: "C" }));
    const upstreamC = (await recordedCall(scratch, pid, "slow", "C")).id;
    const disconnectedAt = Date.now();
    await c[Symbol.asyncDispose]();
    assert.ok(
      await waitFor(
        () =>
          cancels().some((m) =>
            (m.params as Json).requestId === upstreamC &&
            (m.params as Json).reason === "client disconnected"
          ),
        5000,
      ),
      `a cancel for C's call ${upstreamC}: ${JSON.stringify(cancels())}`,
    );
    // C's late answer arrives at the runner, and goes nowhere.
    await sleep(Math.max(1500 - (Date.now() - disconnectedAt), 0));
    assert.equal(
      resultText(await b.callTool("after", "echo", { text: "ok" })),
      "ok",
    );
    assert.equal(
      resultText(await a.callTool("after", "echo", { text: "ok" })),
      "ok",
    );
    for (const client of [a, b]) {
      assert.ok(
        !client.all().some((m) => m.raw.includes('"text":"C"')),
        `${client.name} never got C's answer`,
      );
    }
    assertNoCrossTalk(a, b);
    assert.ok(processAlive(pid));
  } finally {
    await c[Symbol.asyncDispose]();
  }
});

// ---------------------------------------------------------------------------
// A.5 5: list_changed, other notifications, no cross-talk
// ---------------------------------------------------------------------------

Deno.test("shared 5: list_changed and other child notifications reach every session exactly once; no session gets another's response", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  onlyPid(scratch);
  const [ws, http, sse] = await threeClients(runner);
  await using _a = ws;
  await using _b = http;
  await using _c = sse;
  const clients: Client[] = [ws, http, sse];
  const methods = [...LIST_CHANGED, "notifications/fixture_custom"];
  for (const [i, method] of methods.entries()) {
    const reply = await ws.callTool(`emit-${i}`, "emit", {
      message: { jsonrpc: "2.0", method, params: { i } },
    });
    assert.equal(resultText(reply), "emitted 1");
  }
  for (const client of clients) {
    for (const method of methods) {
      await client.waitCount(
        () => client.notifications(method).length,
        1,
        5000,
        method,
      );
    }
  }
  await sleep(300);
  for (const client of clients) {
    for (const method of methods) {
      assert.equal(
        client.notifications(method).length,
        1,
        `${client.name} got ${method} once`,
      );
    }
  }
  for (const method of methods) {
    assert.equal(
      http.notifications(method)[0]!.stream,
      "get",
      "on the GET stream",
    );
  }

  // The same ids in every session, at once: each answer goes to its sender.
  const count = 20;
  await Promise.all(
    clients.flatMap((client) =>
      Array.from({ length: count }, async (_, i) => {
        const reply = await client.callTool(i + 1, "echo", {
          text: `${client.name}-${i + 1}`,
        }, { timeoutMs: 10_000 });
        assert.equal(resultText(reply), `${client.name}-${i + 1}`);
      })
    ),
  );
  for (const client of clients) {
    const echoes = client.responses().filter((m) =>
      /^\d+$/.test(m.rawId ?? "")
    );
    assert.equal(
      echoes.length,
      count,
      `${client.name}: one answer per request`,
    );
    for (const echo of echoes) {
      assert.equal(resultText(echo), `${client.name}-${echo.rawId}`);
    }
  }
  assertNoCrossTalk(ws, http, sse);
});

// ---------------------------------------------------------------------------
// A.5 6: subscriptions
// ---------------------------------------------------------------------------

Deno.test("shared 6: resource subscriptions are reference-counted; updates reach current subscribers only; a failed subscribe is not made to succeed locally", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  const pid = onlyPid(scratch);
  const [a, b, c] = await threeClients(runner);
  await using _a = a;
  await using _b = b;
  await using _c = c;
  const uri = "file:///shared/one.txt";
  const ofUri = (method: string) =>
    scratch.recorded(pid, method).filter((m) => (m.params as Json).uri === uri)
      .length;
  const updated = (client: Client) =>
    client.notifications("notifications/resources/updated").length;
  let emits = 0;
  const emitUpdate = async () => {
    const reply = await c.callTool(`emit-${++emits}`, "emit", {
      message: {
        jsonrpc: "2.0",
        method: "notifications/resources/updated",
        params: { uri },
      },
    });
    assert.equal(resultText(reply), "emitted 1");
  };

  const subA = await a.request("s1", "resources/subscribe", { uri });
  assert.deepEqual(subA.json.result, {});
  assert.equal(ofUri("resources/subscribe"), 1);
  const subB = await b.request("s1", "resources/subscribe", { uri });
  assert.deepEqual(subB.json.result, {}, "answered locally");
  await sleep(200);
  assert.equal(
    ofUri("resources/subscribe"),
    1,
    "one subscribe reached the child",
  );

  await emitUpdate();
  await a.waitCount(() => updated(a), 1);
  await b.waitCount(() => updated(b), 1);
  await sleep(300);
  assert.equal(updated(c), 0, "C did not subscribe");
  const update = a.notifications("notifications/resources/updated")[0]!;
  assert.equal((update.json.params as Json).uri, uri);

  const unsubA = await a.request("u1", "resources/unsubscribe", { uri });
  assert.deepEqual(unsubA.json.result, {});
  await sleep(300);
  assert.equal(ofUri("resources/unsubscribe"), 0, "B still subscribes");

  await emitUpdate();
  await b.waitCount(() => updated(b), 2);
  await sleep(300);
  assert.equal(updated(a), 1, "A unsubscribed");
  assert.equal(updated(c), 0);

  assert.equal(await b.delete(), 200);
  assert.ok(
    await waitFor(() => ofUri("resources/unsubscribe") === 1, 5000),
    "the last subscriber's session ending unsubscribes upstream",
  );
  await emitUpdate();
  await sleep(300);
  assert.equal(updated(a), 1);
  assert.equal(updated(c), 0);

  // A failed first subscribe leaves nothing behind.
  const failA = await a.request("f1", "resources/subscribe", {
    uri: "fail://x",
  });
  assert.equal(errorOf(failA).code, -32602, "the child's error");
  const failC = await c.request("f1", "resources/subscribe", {
    uri: "fail://x",
  });
  assert.equal(errorOf(failC).code, -32602, "not a local {}");
  assert.equal(
    scratch.recorded(pid, "resources/subscribe").filter((m) =>
      (m.params as Json).uri === "fail://x"
    ).length,
    2,
    "both reached the child",
  );
  assertNoCrossTalk(a, c);
});

// ---------------------------------------------------------------------------
// A.5 7: logging
// ---------------------------------------------------------------------------

Deno.test("shared 7: log levels are per session; the child runs at the most verbose one, and at the next one when that session leaves", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  const pid = onlyPid(scratch);
  const [a, b, c] = await threeClients(runner);
  await using _b = b;
  await using _c = c;
  try {
    assert.ok(
      (await a.request("l1", "logging/setLevel", { level: "debug" })).json
        .result,
    );
    assert.ok(
      await waitFor(() => lastLevel(scratch, pid) === "debug", 5000),
      "the child is set to debug",
    );
    assert.ok(
      (await b.request("l1", "logging/setLevel", { level: "error" })).json
        .result,
    );
    await sleep(200);
    assert.equal(lastLevel(scratch, pid), "debug", "still the most verbose");

    const levels = ["debug", "warning", "error"];
    for (const level of levels) {
      await c.callTool(`log-${level}`, "log", { level, data: `${level} data` });
    }
    const logs = (client: Client) =>
      client.notifications("notifications/message").map((m) =>
        (m.json.params as Json).level
      );
    await a.waitCount(() => logs(a).length, 3, 5000, "log messages");
    await c.waitCount(() => logs(c).length, 3, 5000, "log messages");
    await b.waitCount(() => logs(b).length, 1, 5000, "log messages");
    await sleep(300);
    assert.deepEqual(logs(a), levels);
    assert.deepEqual(logs(b), ["error"], "B gets error and worse only");
    assert.deepEqual(logs(c), levels, "a session without a level gets all");

    await a[Symbol.asyncDispose]();
    assert.ok(
      await waitFor(() => lastLevel(scratch, pid) === "error", 5000),
      `the child is set to the next level: ${lastLevel(scratch, pid)}`,
    );
    assertNoCrossTalk(b, c);
  } finally {
    await a[Symbol.asyncDispose]();
  }
});

Deno.test("shared 7: with --shared-logs drop no session receives log messages", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch, ["--shared-logs", "drop"]);
  await using a = await WsClient.connect(runner, "A");
  await using b = new HttpClient(runner, "B");
  await Promise.all([a.init(), b.init()]);
  await a.request("l1", "logging/setLevel", { level: "debug" });
  for (const level of ["debug", "error", "critical"]) {
    assert.equal(
      resultText(await b.callTool(`log-${level}`, "log", { level })),
      `logged ${level}`,
    );
  }
  await sleep(500);
  assert.equal(a.notifications("notifications/message").length, 0);
  assert.equal(b.notifications("notifications/message").length, 0);
});

// ---------------------------------------------------------------------------
// A.5 8: server → client requests
// ---------------------------------------------------------------------------

Deno.test("shared 8: in refuse mode the child's elicitation and sampling get -32601 at once; ping and roots/list are answered by the runner", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch, [
    "--shared-roots",
    "file:///tmp/a",
  ]);
  const pid = onlyPid(scratch);
  const init = scratch.recorded(pid, "initialize")[0]!.params as Json;
  assert.deepEqual(init.capabilities, { roots: { listChanged: false } });
  await using a = await WsClient.connect(runner, "A");
  await using b = new HttpClient(runner, "B");
  await Promise.all([a.init(), b.init()]);
  const answerOf = (reply: Parameters<typeof resultText>[0]) => {
    const response = JSON.parse(resultText(reply)) as Json;
    assert.match(String(response.id), /^fx-\d+$/, "the child's id, restored");
    return response;
  };
  const started = Date.now();
  const elicit = answerOf(
    await a.callTool("e1", "elicit", {}, { timeoutMs: 9000 }),
  );
  const elapsed = Date.now() - started;
  assert.equal(
    (elicit.error as Json | undefined)?.code,
    -32601,
    JSON.stringify(elicit),
  );
  assert.match(String((elicit.error as Json).message), /shared/i);
  assert.ok(
    elapsed < 2000,
    `refused at once, not after the fixture's 10 s: ${elapsed} ms`,
  );
  const sampling = answerOf(
    await b.callTool("s1", "ask", { method: "sampling/createMessage" }, {
      timeoutMs: 9000,
    }),
  );
  assert.equal((sampling.error as Json | undefined)?.code, -32601);
  const ping = answerOf(await a.callTool("p1", "ask", { method: "ping" }));
  assert.deepEqual(ping.result, {});
  const roots = answerOf(
    await b.callTool("r1", "ask", { method: "roots/list" }),
  );
  assert.deepEqual(roots.result, { roots: [{ uri: "file:///tmp/a" }] });
  for (const client of [a, b]) {
    assert.equal(
      client.all().filter((m) =>
        m.json.method !== undefined && m.json.id !== undefined
      )
        .length,
      0,
      `${client.name} got no server request`,
    );
  }
  assertNoCrossTalk(a, b);
});

Deno.test("shared 8: without --shared-roots the child's roots/list gets -32601", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  await using a = await WsClient.connect(runner, "A");
  await a.init();
  const response = JSON.parse(
    resultText(
      await a.callTool("r1", "ask", { method: "roots/list" }, {
        timeoutMs: 9000,
      }),
    ),
  ) as Json;
  assert.equal((response.error as Json | undefined)?.code, -32601);
});

Deno.test("shared 8: in attribute mode a child request reaches the one session with a request in flight, and its answer the child; with two sessions in flight it is refused", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch, [
    "--shared-client-requests",
    "attribute",
  ]);
  const pid = onlyPid(scratch);
  const init = scratch.recorded(pid, "initialize")[0]!.params as Json;
  assert.deepEqual(init.capabilities, { sampling: {}, elicitation: {} });
  const [a, b, c] = await threeClients(runner);
  await using _a = a;
  await using _b = b;
  await using _c = c;

  // One session in flight: the request is attributed to it, both ways.
  for (const client of [a, b, c] as Client[]) {
    const from = client.all().length;
    const pending = client.callTool(`${client.name}-e`, "elicit", {}, {
      timeoutMs: 9000,
    });
    const asked = await client.waitMessage(
      (m) => m.json.method === "elicitation/create",
      5000,
      from,
    );
    assert.match(asked.rawId ?? "", /^"s\d+"$/, `a runner id: ${asked.raw}`);
    await client.send(
      responseText(asked.rawId!, {
        action: "accept",
        content: { who: client.name },
      }),
    );
    const answer = JSON.parse(resultText(await pending)) as Json;
    assert.match(String(answer.id), /^fx-\d+$/, "the child's own id");
    assert.deepEqual(answer.result, {
      action: "accept",
      content: { who: client.name },
    });
    assert.ok(
      scratch.records(pid).some((m) =>
        m.id === answer.id && m.method === undefined && m.result !== undefined
      ),
      "the answer reached the child with its id",
    );
  }
  for (const client of [a, b, c] as Client[]) {
    assert.equal(
      client.serverRequests("elicitation/create").length,
      1,
      `${client.name} got only its own elicitation`,
    );
  }

  // Two sessions in flight: refused.
  const slow = a.requestText(
    callText('"busy"', "slow", { ms: 1500, text: "busy" }),
    {
      timeoutMs: 5000,
    },
  );
  await recordedCall(scratch, pid, "slow", "busy");
  const refused = JSON.parse(
    resultText(await c.callTool("c-e2", "elicit", {}, { timeoutMs: 9000 })),
  ) as Json;
  assert.equal(
    (refused.error as Json | undefined)?.code,
    -32601,
    JSON.stringify(refused),
  );
  assert.equal(resultText(await slow), "busy");
  for (const client of [a, b, c] as Client[]) {
    assert.equal(client.serverRequests("elicitation/create").length, 1);
  }
  assertNoCrossTalk(a, b, c);
});

Deno.test("shared 8: --shared-serialize-calls runs two concurrent tool calls one after the other, and both elicitations reach the right client", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch, [
    "--shared-client-requests",
    "attribute",
    "--shared-serialize-calls",
  ]);
  const pid = onlyPid(scratch);
  await using a = await WsClient.connect(runner, "A");
  await using b = await WsClient.connect(runner, "B");
  await Promise.all([a.init(), b.init()]);
  const run = async (client: Client) => {
    const pending = client.callTool("x", "elicit", {}, { timeoutMs: 15_000 });
    const asked = await client.waitMessage(
      (m) => m.json.method === "elicitation/create",
      12_000,
    );
    await client.send(
      responseText(asked.rawId!, {
        action: "accept",
        content: { who: client.name },
      }),
    );
    return JSON.parse(resultText(await pending)) as Json;
  };
  const [fromA, fromB] = await Promise.all([run(a), run(b)]);
  assert.deepEqual(fromA.result, { action: "accept", content: { who: "A" } });
  assert.deepEqual(fromB.result, { action: "accept", content: { who: "B" } });
  // In the child's input: call, its answer, then the second call.
  const records = scratch.records(pid);
  const calls = records.flatMap((m, i) => m.method === "tools/call" ? [i] : []);
  const answers = records.flatMap((m, i) =>
    m.method === undefined && typeof m.id === "string" &&
      m.id.startsWith("fx-")
      ? [i]
      : []
  );
  assert.equal(calls.length, 2);
  assert.equal(answers.length, 2);
  assert.ok(
    calls[0]! < answers[0]! && answers[0]! < calls[1]!,
    `the second call reached the child after the first finished: ${
      JSON.stringify(records.map((m) => m.method ?? m.id))
    }`,
  );
  assert.equal(a.serverRequests("elicitation/create").length, 1);
  assert.equal(b.serverRequests("elicitation/create").length, 1);
  assertNoCrossTalk(a, b);
});

// ---------------------------------------------------------------------------
// A.5 9: crash
// ---------------------------------------------------------------------------

Deno.test("shared 9: a crash fails the calls in flight with -32000 restarting; the runner respawns and re-initializes, sessions go on and get list_changed", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  const first = onlyPid(scratch);
  const [a, b, c] = await threeClients(runner);
  await using _a = a;
  await using _b = b;
  await using _c = c;
  const uri = "file:///shared/one.txt";
  assert.deepEqual(
    (await a.request("sub", "resources/subscribe", { uri })).json.result,
    {},
  );
  assert.ok(
    (await a.request("lvl", "logging/setLevel", { level: "debug" })).json
      .result,
  );
  assert.equal(
    resultText(await b.callTool("add", "counter_add", { by: 5 })),
    "5",
  );

  await a.send(callText('"long"', "slow", { ms: 5000, text: "long" }));
  await recordedCall(scratch, first, "slow", "long");
  await b.send(callText('"bye"', "exit", { code: 3 }));
  const failed = await a.waitMessage((m) => m.rawId === '"long"', 5000);
  const error = errorOf(failed);
  assert.equal(error.code, -32000, failed.raw);
  assert.equal(error.data?.restarting, true);
  assert.equal(error.data?.exitCode, 3);
  assert.ok(error.data !== undefined && "signal" in error.data);

  assert.ok(
    await waitFor(() => scratch.starts().length === 2, 10_000),
    `respawned: ${scratch.starts()} ${runner.stderr().slice(-2000)}`,
  );
  const second = scratch.starts()[1]!;
  assert.notEqual(second, first);
  assert.ok(!processAlive(first));
  await waitReady(runner);

  for (const client of [a, b, c] as Client[]) {
    for (const method of LIST_CHANGED) {
      await client.waitCount(
        () => client.notifications(method).length,
        1,
        10_000,
        method,
      );
    }
  }
  // The sessions go on, on the new process, without initializing again.
  for (const client of [b, a, c] as Client[]) {
    const reply = await client.callTool(`${client.name}-pid`, "pid");
    assert.equal(resultText(reply), String(second), client.name);
  }
  assert.equal(
    resultText(await c.callTool("add", "counter_add", { by: 1 })),
    "1",
    "a new process: its memory is new",
  );
  await sleep(300);
  for (const client of [a, b, c] as Client[]) {
    for (const method of LIST_CHANGED) {
      assert.equal(
        client.notifications(method).length,
        1,
        `${client.name} ${method}`,
      );
    }
  }
  const initializes = scratch.recorded(second, "initialize");
  assert.equal(initializes.length, 1, "the new process got one initialize");
  assert.equal(
    ((initializes[0]!.params as Json).clientInfo as Json).name,
    "mcp-server-runner",
  );
  assert.equal(scratch.recorded(second, "notifications/initialized").length, 1);
  assert.equal(
    scratch.recorded(second, "resources/subscribe").filter((m) =>
      (m.params as Json).uri === uri
    ).length,
    1,
    "re-subscribed",
  );
  assert.equal(lastLevel(scratch, second), "debug", "log level re-applied");
  assert.equal(
    scratch.recordedCalls(second, "slow").length,
    0,
    "the failed call was not replayed",
  );
  assertNoCrossTalk(a, b, c);
});

Deno.test("shared 9: a child that keeps exiting at start makes the runner fail after 5 exits: /readyz 503, a new initialize 503 with Retry-After", async () => {
  await using scratch = await Scratch.create();
  const dying = scratch.path("die");
  await using runner = await startShared(scratch, [], [
    "--exit-at-start-if-exists",
    dying,
  ]);
  await using b = new HttpClient(runner, "B");
  await b.init();
  await Deno.writeTextFile(dying, "");
  await b.send(callText('"bye"', "exit", { code: 4 }));
  assert.ok(
    await waitFor(() => scratch.starts().length >= 5, 20_000),
    `5 processes: ${scratch.starts()} ${runner.stderr().slice(-2000)}`,
  );
  assert.ok(
    await waitFor(
      () => scratch.starts().every((pid) => !processAlive(pid)),
      5000,
    ),
    "every one exited",
  );
  const fifthGone = Date.now();
  await sleep(200);

  const ready = await readyz(runner);
  assert.equal(ready.status, 503);
  assert.equal(typeof ready.body.reason, "string", JSON.stringify(ready.body));
  assert.notEqual(ready.body.reason, "");
  // Failed: refused at once (while restarting it would wait up to 10 s).
  const { response, text } = await fetchWithin(`${runner.httpUrl}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: JSON_ONLY },
    body: JSON.stringify(initializeRequest()),
  }, 5000);
  assert.equal(response.status, 503, text);
  assert.match(response.headers.get("retry-after") ?? "", /^\d+$/);

  // A WebSocket client's initialize, a request in a session, a new /sse.
  {
    await using ws = await WsClient.connect(runner, "W");
    const reply = await ws.request("i", "initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "W", version: "1" },
    });
    assert.equal(errorOf(reply).code, -32000);
  }
  const inSession = await b.callTool("x", "pid", {}, { timeoutMs: 5000 });
  assert.equal(errorOf(inSession).code, -32000);
  const sse = await fetchWithin(`${runner.httpUrl}/sse`, {
    headers: { accept: "text/event-stream" },
  }, 5000);
  assert.equal(sse.response.status, 503, sse.text);

  // Failed, not restarting: no new attempt within the next backoff step.
  await sleep(Math.max(5500 - (Date.now() - fifthGone), 0));
  assert.equal(scratch.starts().length, 5, "no sixth start soon after failing");
});

Deno.test("shared 9: a respawned child with different capabilities ends every session: WS 1012, HTTP 404, SSE stream ends", async () => {
  await using scratch = await Scratch.create();
  const caps = scratch.path("caps.json");
  await Deno.writeTextFile(caps, JSON.stringify(DEFAULT_CAPABILITIES));
  await using runner = await startShared(scratch, [], ["--caps-file", caps]);
  const [a, b, c] = await threeClients(runner);
  await using _a = a;
  await using _b = b;
  await using _c = c;
  await Deno.writeTextFile(caps, JSON.stringify({ tools: {} }));
  await b.send(callText('"bye"', "exit", { code: 0 }));
  const closed = await within(a.closed, 10_000);
  assert.ok(closed, "the WebSocket was closed");
  assert.equal(closed.code, 1012);
  assert.ok(await waitFor(() => scratch.starts().length === 2, 10_000));
  await waitReady(runner);
  let status = 0;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const response = await b.post(
      JSON.stringify({ jsonrpc: "2.0", id: "p", method: "ping" }),
      JSON_ONLY,
    );
    await response.body?.cancel();
    status = response.status;
    if (status === 404) break;
    await sleep(100);
  }
  assert.equal(status, 404, "the HTTP session is gone");
  assert.ok(await waitFor(() => c.ended, 10_000), "the SSE stream ended");

  await using d = await WsClient.connect(runner, "D");
  const reply = await d.init();
  assert.deepEqual((reply.json.result as Json).capabilities, { tools: {} });
});

// ---------------------------------------------------------------------------
// A.5 10: backpressure
// ---------------------------------------------------------------------------

Deno.test("shared 10: a client that stops reading is closed with 1008 and slows no other session; the child goes on", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch, [
    "--send-buffer-bytes",
    "16384",
    "--send-timeout-ms",
    "1000",
  ]);
  const pid = onlyPid(scratch);
  await using stuck = await RawWs.open(runner.port);
  await stuck.sendText(JSON.stringify({
    jsonrpc: "2.0",
    id: "stuck-init",
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "stuck", version: "1" },
    },
  }));
  await stuck.sendText(
    JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  );
  await using b = await WsClient.connect(runner, "B");
  await b.init();
  const rounds = 30;
  for (let i = 0; i < rounds; i++) {
    const emitted = await b.callTool(`emit-${i}`, "emit", {
      message: { jsonrpc: "2.0", method: "notifications/big", params: { i } },
      pad: 256 * 1024,
    }, { timeoutMs: 5000 });
    assert.equal(resultText(emitted), "emitted 1");
    const echo = await b.callTool(`echo-${i}`, "echo", { text: `e${i}` }, {
      timeoutMs: 2000,
    });
    assert.equal(resultText(echo), `e${i}`);
  }
  await b.waitCount(() => b.notifications("notifications/big").length, rounds);
  await sleep(1500);
  const outcome = await stuck.drain(15_000);
  if (outcome.closeFrame) {
    assert.equal(outcome.code, 1008, JSON.stringify(outcome));
  } else {
    // The close frame may be lost behind the unread data: the log says why.
    assert.ok(!outcome.timedOut, "the connection ended");
    assert.match(runner.stderr(), /1008/, JSON.stringify(outcome));
  }
  assert.equal(resultText(await b.callTool("pid", "pid")), String(pid));
  assert.equal(scratch.starts().length, 1, "the child was never restarted");
  assert.ok(processAlive(pid));
  assertNoCrossTalk(b);
});

// ---------------------------------------------------------------------------
// A.5 11: batches
// ---------------------------------------------------------------------------

Deno.test("shared 11: a 2025-03-26 client's batch gets one array with both ids restored", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  const batch = `[${callText('"b-1"', "echo", { text: "one" })},${
    callText("2", "slow", { ms: 100, text: "two" })
  }]`;
  const check = (raw: string) => {
    const entries = rawElements(raw);
    assert.ok(entries, `an array: ${raw}`);
    assert.equal(entries.length, 2, raw);
    const byId = new Map(entries.map((e) => [rawMember(e, "id"), e]));
    assert.deepEqual([...byId.keys()].sort(), ['"b-1"', "2"]);
    assert.equal(JSON.parse(byId.get('"b-1"')!).result.content[0].text, "one");
    assert.equal(JSON.parse(byId.get("2")!).result.content[0].text, "two");
  };
  // WebSocket.
  await using a = await WsClient.connect(runner, "A");
  await a.init({ protocolVersion: "2025-03-26" });
  const frames = a.frames.length;
  await a.send(batch);
  assert.ok(
    await waitFor(() => {
      a.all();
      return a.frames.slice(frames).some((f) =>
        f.raw.trimStart().startsWith("[")
      );
    }, 5000),
    "an array frame",
  );
  a.all();
  const arrays = a.frames.slice(frames).filter((f) =>
    f.raw.trimStart().startsWith("[")
  );
  assert.equal(arrays.length, 1);
  check(arrays[0]!.raw);
  assert.equal(a.responses().filter((m) => m.rawId === '"b-1"').length, 1);
  // Streamable HTTP, JSON mode (a 2025-03-26 client sends no version header).
  await using b = new HttpClient(runner, "B", null);
  await b.init({ protocolVersion: "2025-03-26" });
  const response = await b.post(batch, JSON_ONLY);
  const body = await response.text();
  assert.equal(response.status, 200, body);
  check(body);
  assertNoCrossTalk(a);
});

Deno.test("shared 12: a task belongs to the session that created it: unknown to another session, and listed only for its owner", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  await using a = await WsClient.connect(runner, "A");
  await using b = await WsClient.connect(runner, "B");
  await a.init();
  await b.init();
  const created = await a.request(1, "tools/call", {
    name: "echo",
    arguments: { text: "x" },
    task: { ttl: 60_000 },
  });
  const taskId = JSON.parse(created.raw).result?.task?.taskId;
  assert.equal(typeof taskId, "string", created.raw);
  const own = await a.request(2, "tasks/get", { taskId });
  assert.equal(JSON.parse(own.raw).result?.taskId, taskId, own.raw);
  for (const method of ["tasks/get", "tasks/result", "tasks/cancel"]) {
    const foreign = await b.request(`b-${method}`, method, { taskId });
    assert.equal(JSON.parse(foreign.raw).error?.code, -32602, foreign.raw);
    assert.equal(foreign.rawId, JSON.stringify(`b-${method}`));
  }
  const listA = await a.request(3, "tasks/list", {});
  assert.deepEqual(
    JSON.parse(listA.raw).result.tasks.map((t: { taskId: string }) => t.taskId),
    [taskId],
  );
  assert.equal(listA.rawId, "3");
  const listB = await b.request(4, "tasks/list", {});
  assert.deepEqual(JSON.parse(listB.raw).result.tasks, [], listB.raw);
  // Only the owner's requests about the task reached the child.
  const pid = onlyPid(scratch);
  const asked = scratch.records(pid).filter((m) =>
    String(m.method).startsWith("tasks/") &&
    (m.params as Json | undefined)?.taskId === taskId
  );
  assert.equal(asked.length, 1, JSON.stringify(asked));
});

Deno.test("shared 8: with --shared-serialize-calls, a call whose session ended frees the slot for the next one", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch, ["--shared-serialize-calls"]);
  const pid = onlyPid(scratch);
  {
    await using a = await WsClient.connect(runner, "A");
    await a.init();
    await a.send(callText("1", "slow", { ms: 5000, text: "late" }));
    assert.ok(
      await waitFor(
        () => scratch.recordedCalls(pid, "slow").length === 1,
        5000,
      ),
      "A's call reached the child",
    );
  }
  await using b = await WsClient.connect(runner, "B");
  await b.init();
  const started = Date.now();
  const answer = await b.callTool(2, "echo", { text: "next" }, {
    timeoutMs: 4000,
  });
  assert.equal(resultText(answer), "next");
  assert.ok(Date.now() - started < 4000, "not held behind A's abandoned call");
});
