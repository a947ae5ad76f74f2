/**
 * Integration tests of the HTTP transports (Streamable HTTP at `/mcp` and
 * legacy HTTP+SSE at `/sse` + `/message`) and of the Origin/Host checks, with
 * real HTTP clients (`fetch`, raw TCP) against a real runner subprocess.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  BOTH,
  call,
  childPid,
  deleteSession,
  expectError,
  initialize,
  initializeRequest,
  type Json,
  JSON_ONLY,
  openGet,
  post,
  rawHttp,
  request,
  SseReader,
} from "./_http.ts";
import {
  FIXTURE,
  processAlive,
  type RunningRunner,
  startRunner,
  TestClient,
  waitFor,
} from "./_helpers.ts";

/** The head of a WebSocket handshake. */
function wsHandshake(port: number, extra: string[] = []): string[] {
  return [
    "GET / HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Protocol: mcp",
    ...extra,
  ];
}

/** Waits for an async condition, polling every 50 ms. */
async function waitForAsync(
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Opens a legacy SSE stream and reads its endpoint event. */
async function openLegacy(
  runner: RunningRunner,
): Promise<{ sse: SseReader; endpoint: string }> {
  const response = await fetch(`${runner.httpUrl}/sse`, {
    headers: { accept: "text/event-stream" },
  });
  assert.equal(response.status, 200);
  const sse = SseReader.of(response);
  const { event, endpoint } = await (async () => {
    for (let i = 0; i < 5; i++) {
      const event = await sse.next();
      assert.ok(event, "the stream stays open");
      if (event.data === undefined) continue; // the retry hint
      return { event, endpoint: event.data };
    }
    throw new Error("Cannot read: no endpoint event");
  })();
  assert.equal(event.event, "endpoint");
  return { sse, endpoint };
}

/** POSTs a message to a legacy endpoint. */
function postLegacy(
  runner: RunningRunner,
  endpoint: string,
  body: unknown,
): Promise<Response> {
  return fetch(new URL(endpoint, runner.httpUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

// ---------------------------------------------------------------------------
// Streamable HTTP: sessions
// ---------------------------------------------------------------------------

Deno.test("initialize without a session creates one and answers over SSE with a priming event", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const response = await post(runner, initializeRequest("init-1"));
  assert.equal(response.status, 200);
  const session = response.headers.get("mcp-session-id");
  assert.ok(session);
  assert.match(session, /^[\x21-\x7e]+$/, "visible ASCII only");
  assert.ok(session.length >= 32, `session id of ${session.length} chars`);
  await using sse = SseReader.of(response);
  const priming = await sse.next();
  assert.ok(priming);
  assert.ok(priming.id, "the priming event has an id");
  assert.equal(priming.data, "", "the priming event has empty data");
  assert.equal(typeof priming.retry, "number", "a retry field comes first");
  const reply = await sse.message();
  assert.equal(reply.event.event, "message");
  assert.ok(reply.event.id && reply.event.id !== priming.id);
  assert.equal(reply.json.id, "init-1");
  assert.equal(
    (reply.json.result as { serverInfo: { name: string } }).serverInfo.name,
    "mcp-fixture",
  );
  assert.deepEqual(await sse.rest(), [], "the stream ends after the response");
  await deleteSession(runner, session);
});

Deno.test("initialize with Accept application/json only answers with a JSON body", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const response = await post(runner, initializeRequest(1), {
    accept: JSON_ONLY,
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/json");
  const session = response.headers.get("mcp-session-id");
  assert.ok(session && /^[\x21-\x7e]{32,}$/.test(session));
  const body = await response.json();
  assert.equal(body.jsonrpc, "2.0");
  assert.equal(body.id, 1);
  assert.equal(body.result.protocolVersion, "2025-11-25");
  // the session works
  assert.deepEqual((await call(runner, session, 2, "ping")).result, {});
  await deleteSession(runner, session);
});

Deno.test("session header missing on a later POST gives 400 with a JSON-RPC error", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const error = await expectError(
    await post(runner, request(1, "ping"), { accept: JSON_ONLY }),
    400,
  );
  assert.match(error.message, /Mcp-Session-Id/);
  await deleteSession(runner, session);
});

Deno.test("initialize on an existing session gives 400", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const error = await expectError(
    await post(runner, initializeRequest(9), { session }),
    400,
  );
  assert.equal(error.code, -32600);
  assert.deepEqual((await call(runner, session, 1, "ping")).result, {});
  await deleteSession(runner, session);
});

Deno.test("session id unknown gives 404", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const error = await expectError(
    await post(runner, request(1, "ping"), {
      session: "no-such-session-0123456789abcdef0123",
    }),
    404,
  );
  assert.equal(error.code, -32001);
  const get = await openGet(runner, "no-such-session-0123456789abcdef0123");
  await expectError(get, 404);
});

Deno.test("session DELETE ends it: 404 afterwards and the child is gone", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const pid = await childPid(runner, session);
  await deleteSession(runner, session);
  assert.ok(await waitFor(() => !processAlive(pid), 5000), "child stopped");
  await expectError(
    await post(runner, request(2, "ping"), { session }),
    404,
  );
  await expectError(
    await fetch(`${runner.httpUrl}/mcp`, {
      method: "DELETE",
      headers: { "mcp-session-id": session },
    }),
    404,
  );
  await expectError(await openGet(runner, session), 404);
});

Deno.test("notification POST gives 202 with an empty body", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const response = await post(runner, {
    jsonrpc: "2.0",
    method: "notifications/initialized",
  }, { session });
  assert.equal(response.status, 202);
  assert.equal(await response.text(), "");
  assert.equal(response.headers.get("content-type"), null);
  assert.deepEqual((await call(runner, session, 1, "ping")).result, {});
  await deleteSession(runner, session);
});

Deno.test("response POST gives 202 with an empty body", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const response = await post(runner, {
    jsonrpc: "2.0",
    id: "srv-unknown",
    result: { roots: [] },
  }, { session });
  assert.equal(response.status, 202);
  assert.equal(await response.text(), "");
  const error = await post(runner, {
    jsonrpc: "2.0",
    id: "srv-err",
    error: { code: -1, message: "no" },
  }, { session });
  assert.equal(error.status, 202);
  assert.equal(await error.text(), "");
  assert.deepEqual((await call(runner, session, 1, "ping")).result, {});
  await deleteSession(runner, session);
});

// ---------------------------------------------------------------------------
// Streamable HTTP: request validation
// ---------------------------------------------------------------------------

Deno.test("method PUT on /mcp gives 405 with Allow", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const response = await fetch(`${runner.httpUrl}/mcp`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  await expectError(response, 405);
  const allow = response.headers.get("allow") ?? "";
  for (const method of ["GET", "POST", "DELETE"]) {
    assert.ok(allow.includes(method), `Allow: ${allow}`);
  }
});

Deno.test("accept text/html on POST gives 406", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await expectError(
    await post(runner, initializeRequest(), { accept: "text/html" }),
    406,
  );
});

Deno.test("content type text/plain on POST gives 415", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await expectError(
    await post(runner, initializeRequest(), { contentType: "text/plain" }),
    415,
  );
});

Deno.test("body over --max-message-bytes gives 413", async () => {
  await using runner = await startRunner([
    "--max-message-bytes",
    "100000",
    "--",
    ...FIXTURE,
  ]);
  const session = await initialize(runner);
  const big = request(1, "echo", { data: "x".repeat(100_001) });
  // with a Content-Length
  const error = await expectError(await post(runner, big, { session }), 413);
  assert.match(error.message, /100000 bytes/);
  // streamed (chunked), without a Content-Length
  const bytes = new TextEncoder().encode(JSON.stringify(big));
  const streamed = await fetch(`${runner.httpUrl}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: BOTH,
      "mcp-session-id": session,
    },
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 16 * 1024) {
          controller.enqueue(bytes.slice(i, i + 16 * 1024));
        }
        controller.close();
      },
    }),
  });
  await expectError(streamed, 413);
  // a body under the limit still works
  const small = await call(runner, session, 2, "echo", {
    data: "x".repeat(90_000),
  });
  assert.equal((small.result as { data: string }).data.length, 90_000);
  await deleteSession(runner, session);
});

Deno.test("malformed JSON gives 400 with a -32700 JSON body", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  // without a session
  const first = await expectError(await post(runner, "{not json"), 400);
  assert.equal(first.code, -32700);
  // on a session
  const session = await initialize(runner);
  const second = await expectError(
    await post(runner, '{"jsonrpc": "2.0", "id": 1,', { session }),
    400,
  );
  assert.equal(second.code, -32700);
  assert.deepEqual((await call(runner, session, 1, "ping")).result, {});
  await deleteSession(runner, session);
});

Deno.test("protocol version 1999-01-01 gives 400", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const error = await expectError(
    await post(runner, request(1, "ping"), {
      session,
      headers: { "mcp-protocol-version": "1999-01-01" },
    }),
    400,
  );
  assert.match(error.message, /MCP-Protocol-Version/);
  await expectError(
    await openGet(runner, session, { "mcp-protocol-version": "1999-01-01" }),
    400,
  );
  await expectError(
    await post(runner, initializeRequest(), {
      headers: { "mcp-protocol-version": "1999-01-01" },
    }),
    400,
  );
  await deleteSession(runner, session);
});

Deno.test("protocol version header absent is accepted (2025-03-26 assumed)", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const response = await post(runner, request("v", "ping"), {
    session,
    accept: JSON_ONLY,
  });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    jsonrpc: "2.0",
    id: "v",
    result: {},
  });
  await deleteSession(runner, session);
});

// ---------------------------------------------------------------------------
// Streamable HTTP: messages
// ---------------------------------------------------------------------------

Deno.test("batch of two requests in one POST gets both responses", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const batch = [
    request(1, "echo", { n: 1 }),
    request("two", "echo", {
      n: 2,
    }),
  ];
  // JSON mode: an array
  const json = await post(runner, batch, { session, accept: JSON_ONLY });
  assert.equal(json.status, 200);
  assert.equal(json.headers.get("content-type"), "application/json");
  const replies = await json.json() as Json[];
  assert.ok(Array.isArray(replies));
  assert.equal(replies.length, 2);
  const byId = new Map(replies.map((r) => [r.id, r.result]));
  assert.deepEqual(byId.get(1), { n: 1 });
  assert.deepEqual(byId.get("two"), { n: 2 });
  // SSE mode: two message events, then the end
  const sseResponse = await post(runner, batch, { session });
  assert.equal(sseResponse.status, 200);
  await using sse = SseReader.of(sseResponse);
  const got = [(await sse.message()).json, (await sse.message()).json];
  assert.deepEqual(
    got.map((r) => r.id).sort(),
    [1, "two"].sort(),
  );
  assert.deepEqual(await sse.rest(), []);
  await deleteSession(runner, session);
});

Deno.test("ids keep value and type over HTTP", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  for (const id of ["abc-1", 42, "42"]) {
    // JSON mode
    assert.deepEqual(await call(runner, session, id, "echo", { id }), {
      jsonrpc: "2.0",
      id,
      result: { id },
    });
    // SSE mode
    const response = await post(runner, request(id, "echo", { id }), {
      session,
    });
    await using sse = SseReader.of(response);
    assert.deepEqual((await sse.message()).json, {
      jsonrpc: "2.0",
      id,
      result: { id },
    });
    assert.deepEqual(await sse.rest(), []);
  }
  // 42 and "42" in flight together are told apart
  const both = await post(runner, [
    request(42, "echo", { t: "number" }),
    request("42", "echo", { t: "string" }),
  ], { session, accept: JSON_ONLY });
  const replies = await both.json() as Json[];
  assert.equal(replies.length, 2);
  for (const reply of replies) {
    assert.deepEqual(reply.result, {
      t: typeof reply.id === "number" ? "number" : "string",
    });
  }
  assert.notEqual(typeof replies[0]!.id, typeof replies[1]!.id);
  await deleteSession(runner, session);
});

// ---------------------------------------------------------------------------
// Streamable HTTP: the standalone GET stream
// ---------------------------------------------------------------------------

Deno.test("GET stream opens with a session and a second concurrent GET gives 409", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const first = await openGet(runner, session);
  assert.equal(first.status, 200);
  assert.equal(first.headers.get("mcp-session-id"), session);
  await using sse = SseReader.of(first);
  const priming = await sse.next();
  assert.ok(priming?.id && priming.data === "");
  await expectError(await openGet(runner, session), 409);
  // without a session: 400
  const none = await fetch(`${runner.httpUrl}/mcp`, {
    headers: { accept: "text/event-stream" },
  });
  await expectError(none, 400);
  await sse.cancel();
  await deleteSession(runner, session);
});

Deno.test("GET stream receives a server notification exactly once", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  await using sse = SseReader.of(await openGet(runner, session));
  await sse.next(); // priming
  const accepted = await post(runner, {
    jsonrpc: "2.0",
    method: "fixture/notify-back",
    params: { level: "info", data: "hello" },
  }, { session });
  assert.equal(accepted.status, 202);
  await accepted.body?.cancel();
  const { event, json } = await sse.message();
  assert.equal(event.event, "message");
  assert.ok(event.id);
  assert.deepEqual(json, {
    jsonrpc: "2.0",
    method: "notifications/message",
    params: { level: "info", data: "hello" },
  });
  assert.deepEqual(await sse.quiet(500), [], "delivered once");
  await sse.cancel();
  await deleteSession(runner, session);
});

Deno.test("GET stream carries a server-to-client request, and the client's answer is accepted", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  await using sse = SseReader.of(await openGet(runner, session));
  await sse.next(); // priming
  // fixture/ask is never answered by the fixture: its POST stays open.
  const asking = post(
    runner,
    request("ask-1", "fixture/ask", { id: "srv-7" }),
    {
      session,
      accept: JSON_ONLY,
    },
  );
  const { json } = await sse.message();
  assert.deepEqual(json, { jsonrpc: "2.0", id: "srv-7", method: "roots/list" });
  const answer = await post(runner, {
    jsonrpc: "2.0",
    id: "srv-7",
    result: { roots: [] },
  }, { session });
  assert.equal(answer.status, 202);
  assert.equal(await answer.text(), "");
  assert.deepEqual((await call(runner, session, 1, "ping")).result, {});
  assert.deepEqual(await sse.quiet(300), []);
  // Ending the session answers the open request with an error.
  await deleteSession(runner, session);
  const pending = await asking;
  assert.equal(pending.status, 200);
  const reply = await pending.json();
  assert.equal(reply.id, "ask-1");
  assert.equal(reply.error.code, -32000);
  assert.deepEqual(
    await sse.rest(),
    [],
    "the GET stream ends with the session",
  );
});

Deno.test("server-to-client request is held until a GET stream opens", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const asking = post(
    runner,
    request("ask-2", "fixture/ask", { id: "srv-8" }),
    {
      session,
      accept: JSON_ONLY,
    },
  );
  // make sure the child has sent roots/list before the GET opens
  assert.deepEqual((await call(runner, session, "p", "ping")).result, {});
  await using sse = SseReader.of(await openGet(runner, session));
  const { json } = await sse.message();
  assert.deepEqual(json, { jsonrpc: "2.0", id: "srv-8", method: "roots/list" });
  const answer = await post(runner, {
    jsonrpc: "2.0",
    id: "srv-8",
    result: { roots: [] },
  }, { session });
  assert.equal(answer.status, 202);
  await answer.body?.cancel();
  assert.deepEqual((await call(runner, session, 1, "ping")).result, {});
  await deleteSession(runner, session);
  await (await asking).body?.cancel();
  await sse.rest();
});

Deno.test("GET stream resumes with Last-Event-ID and replays missed notifications", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const first = SseReader.of(await openGet(runner, session));
  const priming = await first.next();
  assert.ok(priming?.id, "priming event id");
  for (const n of [1, 2]) {
    const accepted = await post(runner, {
      jsonrpc: "2.0",
      method: "fixture/notify-back",
      params: { n },
    }, { session });
    assert.equal(accepted.status, 202);
    await accepted.body?.cancel();
  }
  const seen = await first.message();
  assert.deepEqual(seen.json.params, { n: 1 });
  await first.cancel(); // the connection drops before the second is read
  const resumed = await openGet(runner, session, {
    "last-event-id": priming.id,
  });
  assert.equal(resumed.status, 200);
  await using sse = SseReader.of(resumed);
  const replayed = [(await sse.message()).json, (await sse.message()).json];
  assert.deepEqual(replayed.map((m) => m.params), [{ n: 1 }, { n: 2 }]);
  assert.deepEqual(await sse.quiet(300), [], "nothing delivered twice");
  await sse.cancel();
  await deleteSession(runner, session);
});

Deno.test("POST stream resumes over GET with Last-Event-ID", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  // fixture/hang keeps the stream open after the echo response.
  const first = SseReader.of(
    await post(runner, [
      request("hang-r", "fixture/hang"),
      request("echo-r", "echo", { r: 1 }),
    ], { session }),
  );
  const priming = await first.next();
  assert.ok(priming?.id && priming.data === "");
  await first.cancel(); // drop the connection before reading the response
  const resumed = await openGet(runner, session, {
    "last-event-id": priming.id,
  });
  assert.equal(resumed.status, 200);
  await using sse = SseReader.of(resumed);
  const { event, json } = await sse.message();
  assert.deepEqual(json, { jsonrpc: "2.0", id: "echo-r", result: { r: 1 } });
  assert.notEqual(event.id, priming.id);
  // The stream is still the POST's: ending the session answers the hang.
  await deleteSession(runner, session);
  const last = await sse.message();
  assert.equal(last.json.id, "hang-r");
  assert.equal((last.json.error as { code: number }).code, -32000);
  assert.deepEqual(await sse.rest(), []);
});

// ---------------------------------------------------------------------------
// Streamable HTTP: lifetime
// ---------------------------------------------------------------------------

Deno.test("idle session is reaped after --session-idle-timeout and its child stops", async () => {
  await using runner = await startRunner([
    "--session-idle-timeout",
    "1",
    "--",
    ...FIXTURE,
  ]);
  const session = await initialize(runner);
  const pid = await childPid(runner, session);
  const started = Date.now();
  assert.ok(await waitFor(() => !processAlive(pid), 5000), "child stopped");
  const took = Date.now() - started;
  assert.ok(took >= 900, `reaped after ${took} ms, before the timeout`);
  await expectError(
    await post(runner, request(2, "ping"), { session }),
    404,
  );
  assert.match(runner.stderr(), /idle/);
});

Deno.test("idle reaping spares a session with an open stream", async () => {
  await using runner = await startRunner([
    "--session-idle-timeout",
    "1",
    "--",
    ...FIXTURE,
  ]);
  const session = await initialize(runner);
  const pid = await childPid(runner, session);
  await using get = SseReader.of(await openGet(runner, session));
  await using hanging = SseReader.of(
    await post(runner, request("hang-i", "fixture/hang"), { session }),
  );
  assert.deepEqual(await get.quiet(2000), []);
  assert.ok(processAlive(pid), "the child of a streaming session lives on");
  assert.deepEqual((await call(runner, session, 1, "ping")).result, {});
  await deleteSession(runner, session);
  assert.equal((await hanging.message()).json.id, "hang-i");
  await hanging.rest();
  await get.rest();
});

// A request in flight in JSON mode is activity too, as an open SSE stream is.
Deno.test({
  name: "idle reaping spares a session with a JSON-mode request in flight",
  async fn() {
    await using runner = await startRunner([
      "--session-idle-timeout",
      "1",
      "--",
      ...FIXTURE,
    ]);
    const session = await initialize(runner);
    const pid = await childPid(runner, session);
    const abort = new AbortController();
    const hanging = post(runner, request("hang-j", "fixture/hang"), {
      session,
      accept: JSON_ONLY,
      signal: abort.signal,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const early = await Promise.race([
      hanging.then(() => "answered"),
      new Promise<undefined>((resolve) =>
        timer = setTimeout(() => resolve(undefined), 2500)
      ),
    ]);
    clearTimeout(timer);
    assert.equal(
      early,
      undefined,
      `the in-flight request was answered: ${early}`,
    );
    assert.ok(processAlive(pid), "the child lives on");
    assert.deepEqual((await call(runner, session, 1, "ping")).result, {});
    await deleteSession(runner, session);
    const reply = await (await hanging).json();
    assert.equal(reply.id, "hang-j");
    abort.abort();
  },
});

Deno.test("child crash mid-request answers the open stream with an error naming the exit code", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const hanging = await post(runner, request("hang-1", "fixture/hang"), {
    session,
  });
  assert.equal(hanging.status, 200);
  await using sse = SseReader.of(hanging);
  await sse.next(); // priming: the request has been forwarded
  const exit = await post(
    runner,
    request("exit-1", "fixture/exit", { code: 3 }),
    { session, accept: JSON_ONLY },
  );
  assert.equal(exit.status, 200);
  const exitReply = await exit.json();
  assert.equal(exitReply.id, "exit-1");
  assert.match(exitReply.error.message, /MCP server exited with code 3/);
  const { json } = await sse.message();
  assert.equal(json.id, "hang-1");
  const error = json.error as { code: number; message: string; data: Json };
  assert.equal(error.code, -32000);
  assert.match(error.message, /MCP server exited with code 3/);
  assert.equal(error.data.exitCode, 3);
  assert.deepEqual(await sse.rest(), [], "the stream ends");
  await expectError(
    await post(runner, request(2, "ping"), { session }),
    404,
  );
});

// ---------------------------------------------------------------------------
// Origin and Host checks, CORS
// ---------------------------------------------------------------------------

Deno.test("host evil.example.com gives 403", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const body = JSON.stringify(initializeRequest());
  const refused = await rawHttp(runner.port, [
    "POST /mcp HTTP/1.1",
    "Host: evil.example.com",
    "Content-Type: application/json",
    `Accept: ${BOTH}`,
    "Connection: close",
  ], body);
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get("mcp-session-id"), null);
  assert.match(JSON.parse(refused.body).error.message, /Host/);
  const refusedWs = await rawHttp(runner.port, [
    ...wsHandshake(runner.port).map((line) =>
      line.startsWith("Host:") ? "Host: evil.example.com:80" : line
    ),
  ]);
  assert.equal(refusedWs.status, 403);
  // the same request with a local Host works
  const allowed = await rawHttp(runner.port, [
    "POST /mcp HTTP/1.1",
    `Host: localhost:${runner.port}`,
    "Content-Type: application/json",
    "Accept: application/json",
    "Connection: close",
  ], body);
  assert.equal(allowed.status, 200, allowed.body);
  const session = allowed.headers.get("mcp-session-id");
  assert.ok(session);
  await deleteSession(runner, session);
});

Deno.test("origin evil.example.com gives 403 on POST /mcp, GET /sse and a WebSocket upgrade", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const origin = "http://evil.example.com";
  const error = await expectError(
    await post(runner, initializeRequest(), { headers: { origin } }),
    403,
  );
  assert.match(error.message, /Origin/);
  await expectError(
    await fetch(`${runner.httpUrl}/sse`, {
      headers: { accept: "text/event-stream", origin },
    }),
    403,
  );
  const ws = await rawHttp(
    runner.port,
    wsHandshake(runner.port, [`Origin: ${origin}`]),
  );
  assert.equal(ws.status, 403);
  const health = await (await fetch(`${runner.httpUrl}/healthz`)).json();
  assert.equal(health.sessionsTotal, 0, "no session was started");
});

Deno.test("origin http://localhost:3000 is allowed", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const origin = "http://localhost:3000";
  const session = await initialize(runner, { origin });
  assert.deepEqual((await call(runner, session, 1, "ping")).result, {});
  await deleteSession(runner, session);
  const ws = await rawHttp(
    runner.port,
    wsHandshake(runner.port, [`Origin: ${origin}`]),
  );
  assert.equal(ws.status, 101);
});

Deno.test("origin given with --allow-origin is allowed, with CORS preflight and exposed headers", async () => {
  await using runner = await startRunner([
    "--allow-origin",
    "https://app.example.com",
    "--",
    ...FIXTURE,
  ]);
  const origin = "https://app.example.com";
  const preflight = await fetch(`${runner.httpUrl}/mcp`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers":
        "content-type, mcp-session-id, mcp-protocol-version",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(await preflight.text(), "");
  assert.equal(preflight.headers.get("access-control-allow-origin"), origin);
  const allowHeaders = (preflight.headers.get("access-control-allow-headers") ??
    "").toLowerCase().split(",").map((h) => h.trim());
  for (
    const header of [
      "mcp-session-id",
      "mcp-protocol-version",
      "last-event-id",
      "authorization",
      "content-type",
    ]
  ) {
    assert.ok(allowHeaders.includes(header), `allow-headers lacks ${header}`);
  }
  const allowMethods = preflight.headers.get("access-control-allow-methods") ??
    "";
  for (const method of ["GET", "POST", "DELETE"]) {
    assert.ok(allowMethods.includes(method), allowMethods);
  }
  // the actual request
  const response = await post(runner, initializeRequest(), {
    accept: JSON_ONLY,
    headers: { origin },
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.equal(response.headers.get("access-control-allow-origin"), origin);
  const exposed = (response.headers.get("access-control-expose-headers") ?? "")
    .toLowerCase().split(",").map((h) => h.trim());
  assert.ok(exposed.includes("mcp-session-id"), `exposed: ${exposed}`);
  const session = response.headers.get("mcp-session-id");
  assert.ok(session);
  // the GET stream carries CORS headers too
  const get = await openGet(runner, session, { origin });
  assert.equal(get.status, 200);
  assert.equal(get.headers.get("access-control-allow-origin"), origin);
  await get.body?.cancel();
  // other origins are still refused, preflight included
  await expectError(
    await fetch(`${runner.httpUrl}/mcp`, {
      method: "OPTIONS",
      headers: {
        origin: "https://other.example.com",
        "access-control-request-method": "POST",
      },
    }),
    403,
  );
  await deleteSession(runner, session);
});

// ---------------------------------------------------------------------------
// Era detection
// ---------------------------------------------------------------------------

Deno.test("a 2026-07-28 header without the request envelope gives 400 -32602 with the request's id; no session, no child; initialize still works", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const response = await post(runner, request(1, "tools/list"), {
    headers: {
      "mcp-method": "tools/list",
      "mcp-protocol-version": "2026-07-28",
    },
  });
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("mcp-session-id"), null);
  const body = await response.json();
  assert.equal(body.id, 1);
  assert.equal(body.error.code, -32602);
  assert.match(body.error.message, /_meta/);
  const health = await (await fetch(`${runner.httpUrl}/healthz`)).json();
  assert.equal(health.sessionsTotal, 0, "no session was created");
  // a legacy client falls back to initialize
  const session = await initialize(runner);
  await deleteSession(runner, session);
});

// ---------------------------------------------------------------------------
// Legacy HTTP+SSE
// ---------------------------------------------------------------------------

Deno.test("legacy SSE sends the endpoint first and replies on the stream", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const { sse, endpoint } = await openLegacy(runner);
  await using _sse = sse;
  assert.match(endpoint, /^\/message\?sessionId=[\x21-\x7e]+$/);
  const accepted = await postLegacy(runner, endpoint, request("l-1", "ping"));
  assert.equal(accepted.status, 202);
  assert.equal(await accepted.text(), "Accepted");
  const { event, json } = await sse.message();
  assert.equal(event.event, "message");
  assert.deepEqual(json, { jsonrpc: "2.0", id: "l-1", result: {} });
  for (const id of [42, "42"]) {
    const again = await postLegacy(runner, endpoint, request(id, "echo"));
    assert.equal(again.status, 202);
    await again.body?.cancel();
    assert.deepEqual((await sse.message()).json, {
      jsonrpc: "2.0",
      id,
      result: {},
    });
  }
});

Deno.test("legacy SSE stream closed by the client stops the child", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const { sse, endpoint } = await openLegacy(runner);
  const accepted = await postLegacy(
    runner,
    endpoint,
    request(1, "fixture/pids"),
  );
  assert.equal(accepted.status, 202);
  await accepted.body?.cancel();
  const pid = ((await sse.message()).json.result as { pid: number }).pid;
  assert.ok(processAlive(pid));
  await sse.cancel();
  assert.ok(await waitFor(() => !processAlive(pid), 5000), "child stopped");
  const late = await postLegacy(runner, endpoint, request(2, "ping"));
  await expectError(late, 404);
});

Deno.test("legacy SSE POST to an unknown sessionId gives 404", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const error = await expectError(
    await postLegacy(
      runner,
      "/message?sessionId=no-such-session",
      request(1, "ping"),
    ),
    404,
  );
  assert.equal(error.code, -32001);
});

// ---------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------

Deno.test("healthz shows sessionsByTransport for WebSocket, Streamable HTTP and SSE", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const health = async () =>
    await (await fetch(`${runner.httpUrl}/healthz`)).json();
  await using ws = await TestClient.connect(runner.wsUrl);
  assert.equal((await ws.request(1, "ping")).id, 1);
  const session = await initialize(runner);
  const { sse } = await openLegacy(runner);
  await using _sse = sse;
  const open = await health();
  assert.equal(open.sessions, 3);
  assert.deepEqual(open.sessionsByTransport, {
    websocket: 1,
    "streamable-http": 1,
    sse: 1,
  });
  await deleteSession(runner, session);
  await sse.cancel();
  ws.socket.close(1000);
  await ws.closed;
  assert.ok(
    await waitForAsync(async () => (await health()).sessions === 0, 5000),
    "every session ends",
  );
  const closed = await health();
  assert.deepEqual(closed.sessionsByTransport, {
    websocket: 0,
    "streamable-http": 0,
    sse: 0,
  });
  assert.equal(closed.sessionsTotal, 3);
});

Deno.test("server-to-client requests beyond the held limit are answered with an error to the server", async () => {
  const dir = await Deno.makeTempDir();
  const record = `${dir}/received.jsonl`;
  try {
    await using runner = await startRunner([
      "--",
      ...FIXTURE,
      "--record",
      record,
    ]);
    const session = await initialize(runner);
    // JSON mode and no GET stream: the 1,005 requests have nowhere to go.
    const reply = await call(runner, session, "many", "fixture/ask-many", {
      count: 1005,
    });
    assert.deepEqual(reply.result, { count: 1005 });
    // The five oldest were dropped, and the server got an error for each.
    const ok = await waitFor(() => {
      const lines = Deno.readTextFileSync(record).split("\n").filter((l) =>
        l !== ""
      );
      return lines.filter((l) => l.includes('"error"')).length === 5;
    }, 5000);
    assert.ok(ok, "the server got an error response for every dropped request");
    const errors = (await Deno.readTextFile(record)).split("\n").filter((l) =>
      l.includes('"error"')
    ).map((l) => JSON.parse(l));
    assert.deepEqual(errors.map((e) => e.id), [
      "srv-0",
      "srv-1",
      "srv-2",
      "srv-3",
      "srv-4",
    ]);
    assert.match(errors[0].error.message, /no client stream was open/);
    // The other 1,000 arrive, in order, once a GET stream opens.
    const get = await openGet(runner, session);
    const reader = get.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const deadline = Date.now() + 10_000;
    while (
      (text.match(/"method":"roots\/list"/g) ?? []).length < 1000 &&
      Date.now() < deadline
    ) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const ids = [...text.matchAll(/"id":"(srv-\d+)"/g)].map((m) => m[1]);
    assert.equal(ids.length, 1000);
    assert.equal(ids[0], "srv-5");
    assert.equal(ids.at(-1), "srv-1004");
    await reader.cancel();
    await deleteSession(runner, session);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a session whose server stops reading gets 503 instead of growing memory", async () => {
  await using runner = await startRunner([
    "--max-message-bytes",
    "100000",
    "--",
    ...FIXTURE,
  ]);
  const session = await initialize(runner);
  assert.deepEqual((await call(runner, session, "s", "fixture/stall")).result, {
    stalled: true,
  });
  const filler = "x".repeat(90_000);
  const statuses: number[] = [];
  for (let i = 0; i < 40 && !statuses.includes(503); i++) {
    const response = await post(runner, {
      jsonrpc: "2.0",
      method: "notifications/filler",
      params: { filler },
    }, {
      session,
    });
    statuses.push(response.status);
    const text = await response.text();
    if (response.status === 503) {
      assert.match(text, /not reading its input/);
      assert.equal(response.headers.get("retry-after"), "1");
    }
  }
  assert.ok(statuses.includes(503), `statuses: ${statuses.join(",")}`);
  // Everything before the refusal was accepted: 2 x 100000 + 1 MiB at least.
  const accepted = statuses.filter((s) => s === 202).length;
  assert.ok(
    accepted * 90_000 >= 2 * 100_000 + 1024 * 1024 - 90_000,
    `accepted ${accepted}`,
  );
  await deleteSession(runner, session);
});

Deno.test("replay buffers of a session stay within their shared budget, oldest forgotten first", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  // Five completed streams of 3 MB each: more than the 8 MiB a session keeps.
  const primings: string[] = [];
  for (let i = 0; i < 5; i++) {
    await using sse = SseReader.of(
      await post(
        runner,
        request(`big-${i}`, "fixture/big", { bytes: 3_000_000 }),
        { session },
      ),
    );
    const priming = await sse.next();
    assert.ok(priming?.id);
    primings.push(priming.id);
    const { json } = await sse.message();
    assert.equal(json.id, `big-${i}`);
    assert.deepEqual(await sse.rest(), []);
  }
  const replay = async (eventId: string) => {
    const response = await openGet(runner, session, {
      "last-event-id": eventId,
    });
    assert.equal(response.status, 200);
    await using sse = SseReader.of(response);
    return (await sse.rest()).filter((event) => event.data !== "");
  };
  // The oldest stream's response was forgotten; the newest is replayed.
  assert.deepEqual(await replay(primings[0]!), []);
  const newest = await replay(primings[4]!);
  assert.equal(newest.length, 1);
  assert.equal(JSON.parse(newest[0]!.data ?? "").id, "big-4");
  await deleteSession(runner, session);
});
