/**
 * MCP 2026-07-28 clients on `/mcp` in front of a legacy child, with real
 * processes and sockets: `server/discover` from the runner's own
 * handshake, the validation order and its codes, results stamped for the
 * modern era, progress and log messages on an SSE answer, cancellation by
 * closing the answer, and modern and legacy clients on one child at once.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type RunningRunner, startRunner, waitFor } from "./_helpers.ts";
import { type Json, Scratch, SHARED_FIXTURE, startShared } from "./_shared.ts";
import { initialize, SseReader } from "./_http.ts";

const MODERN = "2026-07-28";

/** The envelope every modern request carries, with extra `_meta`. */
function meta(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": { name: "modern-test", version: "1" },
    ...extra,
  };
}

interface Modern {
  id?: unknown;
  method: string;
  params?: Record<string, unknown>;
  /** `_meta` members besides the envelope. */
  meta?: Record<string, unknown>;
  /** Headers replacing (or, with null, removing) the standard ones. */
  headers?: Record<string, string | null>;
  /** The raw body instead of one built from the fields above. */
  body?: string;
  signal?: AbortSignal;
}

/** POSTs a modern request with the standard headers. */
function send(runner: RunningRunner, m: Modern): Promise<Response> {
  const params = { ...(m.params ?? {}), _meta: meta(m.meta) };
  const body = m.body ?? JSON.stringify({
    jsonrpc: "2.0",
    id: m.id ?? 1,
    method: m.method,
    params,
  });
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": MODERN,
    "mcp-method": m.method,
  };
  const named = (m.params?.name ?? m.params?.uri) as string | undefined;
  if (named !== undefined) headers["mcp-name"] = named;
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  return fetch(`${runner.httpUrl}/mcp`, {
    method: "POST",
    headers,
    body,
    ...(m.signal ? { signal: m.signal } : {}),
  });
}

/** A modern request's JSON answer, with its status. */
async function call(
  runner: RunningRunner,
  m: Modern,
): Promise<{ status: number; raw: string; json: Json }> {
  const response = await send(runner, m);
  const raw = await response.text();
  assert.equal(
    response.headers.get("content-type"),
    "application/json",
    raw,
  );
  return { status: response.status, raw, json: JSON.parse(raw) };
}

function startPerSession(scratch: Scratch): Promise<RunningRunner> {
  return startRunner([
    "--shutdown-grace-ms",
    "1000",
    "--",
    ...SHARED_FIXTURE,
    ...scratch.fixtureFlags(),
  ]);
}

Deno.test("modern: server/discover is answered from the runner's own handshake of the legacy child", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startPerSession(scratch);
  const { status, json } = await call(runner, {
    id: "d1",
    method: "server/discover",
  });
  assert.equal(status, 200);
  assert.equal(json.id, "d1");
  const result = json.result as Json;
  assert.equal(result.resultType, "complete");
  assert.deepEqual(result.supportedVersions, [MODERN]);
  assert.deepEqual((result.capabilities as Json).tools, { listChanged: true });
  assert.equal(result.instructions, "Shared fixture instructions.");
  assert.equal(result.ttlMs, 0);
  assert.equal(result.cacheScope, "private");
  assert.deepEqual(
    (result._meta as Json)["io.modelcontextprotocol/serverInfo"],
    { name: "shared-fixture", version: "1.0.0" },
  );
  // One child, initialized once by the runner, for every modern request.
  await call(runner, { id: 2, method: "tools/list" });
  assert.equal(scratch.starts().length, 1);
  const pid = scratch.starts()[0]!;
  const inits = scratch.recorded(pid, "initialize");
  assert.equal(inits.length, 1);
  assert.equal(
    ((inits[0]!.params as Json).clientInfo as Json).name,
    "mcp-server-runner",
  );
});

Deno.test("modern: the checks run in the revision's order with its codes and statuses, each echoing the request id", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startPerSession(scratch);
  const cases: [string, Modern, number, number][] = [
    [
      "no clientCapabilities",
      {
        id: 10,
        method: "tools/list",
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 10,
          method: "tools/list",
          params: {
            _meta: { "io.modelcontextprotocol/protocolVersion": MODERN },
          },
        }),
      },
      400,
      -32602,
    ],
    [
      "bad logLevel",
      {
        id: 11,
        method: "tools/list",
        meta: { "io.modelcontextprotocol/logLevel": "loud" },
      },
      400,
      -32602,
    ],
    [
      "version header differs from the body",
      {
        id: 12,
        method: "tools/list",
        headers: { "mcp-protocol-version": "2025-11-25" },
      },
      400,
      -32020,
    ],
    [
      "no version header",
      {
        id: 13,
        method: "tools/list",
        headers: { "mcp-protocol-version": null },
      },
      400,
      -32020,
    ],
    [
      "Mcp-Method differs (values are case-sensitive)",
      {
        id: 14,
        method: "tools/list",
        headers: { "mcp-method": "TOOLS/LIST" },
      },
      400,
      -32020,
    ],
    [
      "Mcp-Name missing on tools/call",
      {
        id: 15,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "x" } },
        headers: { "mcp-name": null },
      },
      400,
      -32020,
    ],
    [
      "Mcp-Name not canonical Base64",
      {
        id: 16,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "x" } },
        headers: { "mcp-name": "=?base64?ZWNobw?=" },
      },
      400,
      -32020,
    ],
  ];
  for (const [what, m, status, code] of cases) {
    const answer = await call(runner, m);
    assert.equal(answer.status, status, `${what}: ${answer.raw}`);
    assert.equal(
      (answer.json.error as Json)?.code,
      code,
      `${what}: ${answer.raw}`,
    );
    assert.equal(answer.json.id, m.id, `${what}: the id is echoed`);
  }
  // An unsupported version in both places: -32022 naming what is served.
  const v999 = await call(runner, {
    id: 17,
    method: "tools/list",
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 17,
      method: "tools/list",
      params: {
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "v999.0.0",
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    }),
    headers: { "mcp-protocol-version": "v999.0.0" },
  });
  assert.equal(v999.status, 400, v999.raw);
  const error = v999.json.error as Json;
  assert.equal(error.code, -32022);
  assert.deepEqual(error.data, { supported: [MODERN], requested: "v999.0.0" });
  // Removed and unknown methods: 404 -32601, never forwarded.
  for (
    const method of [
      "initialize",
      "ping",
      "logging/setLevel",
      "resources/subscribe",
      "resources/unsubscribe",
      "unknown/method",
    ]
  ) {
    const answer = await call(runner, {
      id: method,
      method,
      params: method.startsWith("resources/") ? { uri: "file:///x" } : {},
    });
    assert.equal(answer.status, 404, `${method}: ${answer.raw}`);
    assert.equal((answer.json.error as Json).code, -32601, method);
    assert.equal(answer.json.id, method);
  }
  // A trimmed and a Base64 Mcp-Name match.
  for (const name of ["  echo  ", `=?base64?${btoa("echo")}?=`]) {
    const answer = await call(runner, {
      id: 20,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "ok" } },
      headers: { "mcp-name": name },
    });
    assert.equal(answer.status, 200, `${name}: ${answer.raw}`);
  }
  // None of the refused requests reached the child.
  const pid = scratch.starts()[0]!;
  const seen = scratch.records(pid).map((m) => m.method);
  for (const method of ["ping", "logging/setLevel", "unknown/method"]) {
    assert.ok(!seen.includes(method), `${method} reached the child`);
  }
  assert.equal(seen.filter((m) => m === "initialize").length, 1);
});

Deno.test("modern: results are stamped with resultType, caching hints and serverInfo, ids come back as sent, and -32002 becomes -32602", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startPerSession(scratch);
  const list = await call(runner, {
    method: "tools/list",
    body: `{"jsonrpc":"2.0","id":1.0,"method":"tools/list","params":{"_meta":${
      JSON.stringify(meta())
    }}}`,
  });
  assert.match(list.raw, /^\{"jsonrpc":"2.0","id":1\.0,/);
  const result = list.json.result as Json;
  assert.equal(result.resultType, "complete");
  assert.equal(result.ttlMs, 0);
  assert.equal(result.cacheScope, "private");
  assert.ok(Array.isArray(result.tools));
  const echo = await call(runner, {
    id: "c-1",
    method: "tools/call",
    params: { name: "echo", arguments: { text: "hello" } },
  });
  const called = echo.json.result as Json;
  assert.equal(called.resultType, "complete");
  assert.equal("ttlMs" in called, false, "no caching hints on tools/call");
  assert.deepEqual(
    (called._meta as Json)["io.modelcontextprotocol/serverInfo"],
    { name: "shared-fixture", version: "1.0.0" },
  );
  assert.deepEqual(called.content, [{ type: "text", text: "hello" }]);
  const read = await call(runner, {
    id: 3,
    method: "resources/read",
    params: { uri: "file:///shared/one.txt" },
  });
  assert.equal((read.json.result as Json).cacheScope, "private", read.raw);
  const missing = await call(runner, {
    id: 4,
    method: "resources/read",
    params: { uri: "file:///shared/none.txt" },
  });
  assert.equal(missing.status, 200, missing.raw);
  const error = missing.json.error as Json;
  assert.equal(error.code, -32602, missing.raw);
  assert.deepEqual(error.data, { uri: "file:///shared/none.txt" });
  assert.equal(missing.json.id, 4);
});

Deno.test("modern: progress and requested log messages come on an SSE answer; no log messages without a logLevel", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startPerSession(scratch);
  const response = await send(runner, {
    id: 5,
    method: "tools/call",
    params: { name: "progress", arguments: { steps: 3, ms: 5 } },
    meta: { progressToken: "tok-1" },
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const reader = new SseReader(response.body!);
  const events: Json[] = [];
  for (let i = 0; i < 4; i++) {
    const event = await reader.next(5000);
    assert.ok(event?.data, "an event");
    events.push(JSON.parse(event.data));
  }
  await reader.cancel();
  assert.deepEqual(
    events.slice(0, 3).map((e) => (e.params as Json).progressToken),
    ["tok-1", "tok-1", "tok-1"],
  );
  assert.equal(events[3]!.id, 5);
  assert.equal((events[3]!.result as Json).resultType, "complete");
  // With a logLevel, the log message of this request comes first.
  const logged = await send(runner, {
    id: 6,
    method: "tools/call",
    params: { name: "log", arguments: { level: "error", data: "boom" } },
    meta: { "io.modelcontextprotocol/logLevel": "warning" },
  });
  assert.equal(logged.headers.get("content-type"), "text/event-stream");
  const text = await logged.text();
  assert.match(text, /"method":"notifications\/message"[^\n]*"data":"boom"/);
  // Without one: a plain JSON answer, no log message.
  const quiet = await call(runner, {
    id: 7,
    method: "tools/call",
    params: { name: "log", arguments: { level: "error", data: "hush" } },
  });
  assert.doesNotMatch(quiet.raw, /notifications\/message/);
  assert.equal(quiet.json.id, 7);
});

Deno.test("modern: closing the answer cancels the request at the child", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startPerSession(scratch);
  await call(runner, { id: 1, method: "tools/list" });
  const pid = scratch.starts()[0]!;
  const abort = new AbortController();
  const pending = send(runner, {
    id: 9,
    method: "tools/call",
    params: { name: "slow", arguments: { ms: 3000, text: "late" } },
    signal: abort.signal,
  }).catch(() => undefined);
  assert.ok(
    await waitFor(() => scratch.recordedCalls(pid, "slow").length === 1, 5000),
    "the call reached the child",
  );
  const upstream = scratch.recordedCalls(pid, "slow")[0]!.id;
  abort.abort();
  await pending;
  assert.ok(
    await waitFor(
      () =>
        scratch.recorded(pid, "notifications/cancelled").some((m) =>
          (m.params as Json).requestId === upstream
        ),
      5000,
    ),
    `the child got notifications/cancelled for ${upstream}`,
  );
});

Deno.test("modern and legacy clients use one shared child at the same time", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startShared(scratch);
  const session = await initialize(runner);
  const modern = await call(runner, {
    id: 1,
    method: "tools/call",
    params: { name: "counter_add", arguments: { by: 2 } },
  });
  assert.equal(((modern.json.result as Json).content as Json[])[0]!.text, "2");
  const legacy = await fetch(`${runner.httpUrl}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": session,
      "mcp-protocol-version": "2025-11-25",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "counter_add", arguments: { by: 3 } },
    }),
  });
  const text = await legacy.text();
  assert.match(text, /"text":"5"/, "the legacy session sees the same state");
  assert.equal(scratch.starts().length, 1, "one child for both eras");
});

Deno.test("modern: subscriptions/listen acknowledges what the child can send, carries it with the subscriptionId, and releases the upstream subscription on close", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startPerSession(scratch);
  const response = await send(runner, {
    id: "L1",
    method: "subscriptions/listen",
    params: {
      notifications: {
        toolsListChanged: true,
        promptsListChanged: true,
        resourceSubscriptions: ["file:///shared/one.txt", "fail://nope"],
      },
    },
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const reader = new SseReader(response.body!);
  const next = async () => {
    const event = await reader.next(5000);
    assert.ok(event?.data, "an event");
    return JSON.parse(event.data) as Json;
  };
  const ack = await next();
  assert.equal(ack.method, "notifications/subscriptions/acknowledged");
  const ackParams = ack.params as Json;
  assert.deepEqual(ackParams.notifications, {
    toolsListChanged: true,
    promptsListChanged: true,
    resourceSubscriptions: ["file:///shared/one.txt"],
  });
  assert.equal(
    (ackParams._meta as Json)["io.modelcontextprotocol/subscriptionId"],
    "L1",
  );
  const pid = scratch.starts()[0]!;
  const emit = (message: Json) =>
    call(runner, {
      id: 50,
      method: "tools/call",
      params: { name: "emit", arguments: { message } },
    });
  // Not asked for: resources/list_changed, and an update of another URI.
  await emit({
    jsonrpc: "2.0",
    method: "notifications/resources/list_changed",
  });
  await emit({
    jsonrpc: "2.0",
    method: "notifications/resources/updated",
    params: { uri: "file:///shared/other.txt" },
  });
  await emit({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
  await emit({
    jsonrpc: "2.0",
    method: "notifications/resources/updated",
    params: { uri: "file:///shared/one.txt" },
  });
  const first = await next();
  assert.equal(first.method, "notifications/tools/list_changed");
  assert.equal(
    ((first.params as Json)._meta as Json)[
      "io.modelcontextprotocol/subscriptionId"
    ],
    "L1",
  );
  const second = await next();
  assert.equal(second.method, "notifications/resources/updated");
  assert.equal((second.params as Json).uri, "file:///shared/one.txt");
  assert.equal(
    ((second.params as Json)._meta as Json)[
      "io.modelcontextprotocol/subscriptionId"
    ],
    "L1",
  );
  assert.equal(scratch.recorded(pid, "resources/subscribe").length, 2);
  await reader.cancel();
  assert.ok(
    await waitFor(
      () =>
        scratch.recorded(pid, "resources/unsubscribe").some((m) =>
          (m.params as Json).uri === "file:///shared/one.txt"
        ),
      5000,
    ),
    "the upstream subscription was released",
  );
  // An invalid filter is an in-band -32602.
  const invalid = await call(runner, {
    id: "L2",
    method: "subscriptions/listen",
    params: { notifications: { toolsListChanged: "yes" } },
  });
  assert.equal((invalid.json.error as Json).code, -32602, invalid.raw);
  assert.equal(invalid.json.id, "L2");
});

Deno.test("modern: Mcp-Param-* headers must mirror the arguments the tool's schema marks with x-mcp-header", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startPerSession(scratch);
  const route = (id: number, args: Json, headers: Record<string, string>) =>
    call(runner, {
      id,
      method: "tools/call",
      params: { name: "route", arguments: args },
      headers,
    });
  const ok = await route(1, { region: "eu-west", count: 3 }, {
    "mcp-param-region": "eu-west",
    "mcp-param-count": "3",
  });
  assert.equal(ok.status, 200, ok.raw);
  assert.equal(
    ((ok.json.result as Json).content as Json[])[0]!.text,
    "eu-west 3",
  );
  const base64 = await route(2, { region: "Zürich" }, {
    "mcp-param-region": `=?base64?${
      btoa(String.fromCharCode(...new TextEncoder().encode("Zürich")))
    }?=`,
  });
  assert.equal(base64.status, 200, base64.raw);
  for (
    const [id, args, headers] of [
      [3, { region: "eu" }, {}],
      [4, { region: "eu" }, { "mcp-param-region": "us" }],
      [5, {}, { "mcp-param-region": "eu" }],
      [6, { count: 3 }, { "mcp-param-count": "3.0" }],
    ] as [number, Json, Record<string, string>][]
  ) {
    const refused = await route(id, args, headers);
    assert.equal(refused.status, 400, refused.raw);
    assert.equal((refused.json.error as Json).code, -32020, refused.raw);
    assert.equal(refused.json.id, id);
  }
  // Tools without x-mcp-header need no Mcp-Param-* headers.
  const plain = await call(runner, {
    id: 7,
    method: "tools/call",
    params: { name: "echo", arguments: { text: "x" } },
  });
  assert.equal(plain.status, 200, plain.raw);
});

/** A `tools/call` of the fixture's `ask` tool, as modern params. */
function ask(
  method: string,
  params: Json,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: "ask",
    arguments: {
      method,
      params,
      ...(extra.times ? { times: extra.times } : {}),
    },
    ...Object.fromEntries(
      Object.entries(extra).filter(([k]) => k !== "times"),
    ),
  };
}

const ELICIT: Json = {
  message: "Your name?",
  requestedSchema: { type: "object", properties: { name: { type: "string" } } },
  _meta: { "mcp-server-runner/inputKey": "user_name" },
};

Deno.test("modern MRTR: the child's elicitation becomes an InputRequiredResult, and the retry's answer reaches the child as its response", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startPerSession(scratch);
  const caps = { elicitation: {} };
  const first = await call(runner, {
    id: 1,
    method: "tools/call",
    params: ask("elicitation/create", ELICIT),
    meta: { "io.modelcontextprotocol/clientCapabilities": caps },
  });
  const result = first.json.result as Json;
  assert.equal(result.resultType, "input_required", first.raw);
  const requests = result.inputRequests as Json;
  assert.deepEqual(Object.keys(requests), ["user_name"], "the child's key");
  const asked = requests.user_name as Json;
  assert.equal(asked.method, "elicitation/create");
  assert.equal((asked.params as Json).message, "Your name?");
  assert.equal((asked.params as Json)._meta, undefined, "the hint is removed");
  const state = result.requestState as string;
  assert.match(state, /^rs1\./);
  // A tampered token is refused, and the call stays parked.
  const tampered = await call(runner, {
    id: 2,
    method: "tools/call",
    params: ask("elicitation/create", ELICIT, {
      requestState: `${state}-TAMPERED`,
      inputResponses: { user_name: { action: "accept", content: {} } },
    }),
    meta: { "io.modelcontextprotocol/clientCapabilities": caps },
  });
  assert.equal((tampered.json.error as Json).code, -32602, tampered.raw);
  // An invalid answer is refused before it reaches the child.
  const wrong = await call(runner, {
    id: 3,
    method: "tools/call",
    params: ask("elicitation/create", ELICIT, {
      requestState: state,
      inputResponses: { user_name: { action: "maybe" } },
    }),
    meta: { "io.modelcontextprotocol/clientCapabilities": caps },
  });
  assert.equal((wrong.json.error as Json).code, -32602, wrong.raw);
  const done = await call(runner, {
    id: 4,
    method: "tools/call",
    params: ask("elicitation/create", ELICIT, {
      requestState: state,
      inputResponses: {
        user_name: { action: "accept", content: { name: "Alice" } },
      },
    }),
    meta: { "io.modelcontextprotocol/clientCapabilities": caps },
  });
  assert.equal(done.json.id, 4, done.raw);
  const final = done.json.result as Json;
  assert.equal(final.resultType, "complete");
  const got = JSON.parse(((final.content as Json[])[0]!.text) as string);
  assert.match(String(got.id), /^fx-/, "the child's own id came back");
  assert.deepEqual(got.result, {
    action: "accept",
    content: { name: "Alice" },
  });
  // The token was single-use.
  const again = await call(runner, {
    id: 5,
    method: "tools/call",
    params: ask("elicitation/create", ELICIT, {
      requestState: state,
      inputResponses: { user_name: { action: "accept", content: {} } },
    }),
    meta: { "io.modelcontextprotocol/clientCapabilities": caps },
  });
  assert.equal((again.json.error as Json).code, -32602, again.raw);
});

Deno.test("modern MRTR: an undeclared capability is 400 -32021; an answer sent up front is used; every round gets a new token", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startPerSession(scratch);
  const sampling = await call(runner, {
    id: 1,
    method: "tools/call",
    params: ask("sampling/createMessage", {
      messages: [{ role: "user", content: { type: "text", text: "hi" } }],
      maxTokens: 10,
    }),
    meta: { "io.modelcontextprotocol/clientCapabilities": { elicitation: {} } },
  });
  assert.equal(sampling.status, 400, sampling.raw);
  const error = sampling.json.error as Json;
  assert.equal(error.code, -32021);
  assert.deepEqual(error.data, { requiredCapabilities: { sampling: {} } });
  assert.equal(sampling.json.id, 1);
  // Answered up front: no round trip.
  const upfront = await call(runner, {
    id: 2,
    method: "tools/call",
    params: ask("elicitation/create", ELICIT, {
      inputResponses: {
        user_name: { action: "accept", content: { name: "Bob" } },
      },
    }),
    meta: { "io.modelcontextprotocol/clientCapabilities": { elicitation: {} } },
  });
  const upfrontResult = upfront.json.result as Json;
  assert.equal(upfrontResult.resultType, "complete", upfront.raw);
  assert.match(String((upfrontResult.content as Json[])[0]!.text), /Bob/);
  // Two questions in turn: two rounds, two different tokens.
  const caps = {
    "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
  };
  const r1 = await call(runner, {
    id: 3,
    method: "tools/call",
    params: ask("elicitation/create", ELICIT, { times: 2 }),
    meta: caps,
  });
  const t1 = (r1.json.result as Json).requestState as string;
  const answer = { "user_name": { action: "accept", content: { name: "C" } } };
  const r2 = await call(runner, {
    id: 4,
    method: "tools/call",
    params: ask("elicitation/create", ELICIT, {
      times: 2,
      requestState: t1,
      inputResponses: answer,
    }),
    meta: caps,
  });
  const second = r2.json.result as Json;
  assert.equal(second.resultType, "input_required", r2.raw);
  assert.notEqual(second.requestState, t1);
  const r3 = await call(runner, {
    id: 5,
    method: "tools/call",
    params: ask("elicitation/create", ELICIT, {
      times: 2,
      requestState: second.requestState,
      inputResponses: answer,
    }),
    meta: caps,
  });
  assert.equal((r3.json.result as Json).resultType, "complete", r3.raw);
  const answers = JSON.parse(
    ((r3.json.result as Json).content as Json[])[0]!.text as string,
  );
  assert.equal(answers.length, 2);
});

Deno.test("modern: a child that speaks 2026-07-28 itself is detected and passed through: its own discover, its own InputRequiredResult and requestState", async () => {
  await using scratch = await Scratch.create();
  await using runner = await startRunner([
    "--shutdown-grace-ms",
    "1000",
    "--",
    ...SHARED_FIXTURE,
    ...scratch.fixtureFlags(),
    "--modern",
  ]);
  await call(runner, { id: 1, method: "tools/list" });
  assert.ok(
    await waitFor(
      () => /speaks MCP 2026-07-28 itself/.test(runner.stderr()),
      5000,
    ),
    "the runner detected the modern child",
  );
  const discover = await call(runner, { id: 2, method: "server/discover" });
  assert.equal(
    (((discover.json.result as Json)._meta as Json)[
      "io.modelcontextprotocol/serverInfo"
    ] as Json).name,
    "shared-fixture-modern",
    discover.raw,
  );
  const caps = {
    "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
  };
  const first = await call(runner, {
    id: 3,
    method: "tools/call",
    params: { name: "native_ask", arguments: {} },
    meta: caps,
  });
  const asked = first.json.result as Json;
  assert.equal(asked.resultType, "input_required", first.raw);
  assert.equal(asked.requestState, "child-state-1", "the child's own state");
  const done = await call(runner, {
    id: 4,
    method: "tools/call",
    params: {
      name: "native_ask",
      arguments: {},
      requestState: "child-state-1",
      inputResponses: { q: { action: "accept", content: {} } },
    },
    meta: caps,
  });
  assert.equal(done.json.id, 4);
  assert.match(
    String(((done.json.result as Json).content as Json[])[0]!.text),
    /^native /,
    done.raw,
  );
  // The child saw the runner's probe, then the client's discover.
  assert.equal(
    scratch.recorded(scratch.starts()[0]!, "server/discover").length,
    2,
    "the runner's probe and the forwarded discover",
  );
});
