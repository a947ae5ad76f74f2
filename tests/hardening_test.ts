/**
 * Regression tests for the bridge's hardening: what a client or an MCP server
 * can do that once crashed the runner, blew its memory, hung a session or
 * locked users out. Each starts a real runner and real children and talks to
 * them over real sockets.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  BOTH,
  call,
  deleteSession,
  initialize,
  initializeRequest,
  JSON_ONLY,
  openGet,
  post,
  request,
  SseReader,
} from "./_http.ts";
import {
  FIXTURE,
  processesMatching,
  type RunningRunner,
  startRunner,
  TestClient,
  waitFor,
} from "./_helpers.ts";

const encoder = new TextEncoder();

/** The runner's resident memory, in MiB. */
function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

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

async function healthy(runner: RunningRunner): Promise<boolean> {
  const started = Date.now();
  const response = await fetch(`${runner.httpUrl}/healthz`, {
    signal: AbortSignal.timeout(1000),
  });
  await response.body?.cancel();
  return response.status === 200 && Date.now() - started < 1000;
}

/** Opens a legacy SSE session: the stream and its message URL. */
async function openLegacy(
  runner: RunningRunner,
): Promise<{ sse: SseReader; url: string }> {
  const response = await fetch(`${runner.httpUrl}/sse`, {
    headers: { accept: "text/event-stream" },
  });
  const sse = SseReader.of(response);
  for (let i = 0; i < 5; i++) {
    const event = await sse.next();
    if (event?.event === "endpoint") {
      return { sse, url: `${runner.httpUrl}${event.data}` };
    }
  }
  throw new Error("Cannot open legacy SSE: no endpoint event");
}

function postLegacy(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A raw TCP HTTP request whose body is sent only in part (or not at all). */
async function partialPost(
  port: number,
  headers: string[],
  bodyPart = "",
): Promise<{ conn: Deno.TcpConn; head: Promise<string> }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(
    [
      "POST /mcp HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      ...headers,
      "",
      bodyPart,
    ].join("\r\n"),
  ));
  const head = (async () => {
    const buffer = new Uint8Array(4096);
    let text = "";
    // Bounded: a head that does not come within 5 s ends the read.
    const timer = setTimeout(() => {
      try {
        conn.close();
      } catch {
        // closed already
      }
    }, 5000);
    for (let i = 0; i < 100 && !text.includes("\r\n\r\n"); i++) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    clearTimeout(timer);
    return text;
  })();
  return { conn, head };
}

Deno.test("a child that closed its stdout cannot crash the runner: messages on every transport are answered with -32000", async () => {
  await using runner = await startRunner([
    "--shutdown-grace-ms",
    "3000",
    "--",
    "sh",
    "-c",
    "exec 1>&-; sleep 30",
  ]);
  // WebSocket: the child's stdout is closed at once; the ping arrives
  // while the runner stops it.
  {
    await using client = await TestClient.connect(runner.wsUrl);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const reply = await client.request(1, "ping");
    assert.equal(reply.id, 1);
    assert.equal((reply.error as { code: number }).code, -32000);
    assert.match(
      (reply.error as { message: string }).message,
      /no longer reads its input/,
    );
  }
  // Streamable HTTP: initialize creates the session; the request is refused.
  {
    const response = await post(runner, initializeRequest(), {
      accept: JSON_ONLY,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const session = response.headers.get("mcp-session-id");
    const body = await response.json();
    assert.equal(body.id, 0);
    assert.ok(session);
    const next = await post(runner, request(2, "ping"), {
      session,
      accept: JSON_ONLY,
    });
    const text = await next.text();
    if (next.status === 200) {
      assert.equal(JSON.parse(text).error.code, -32000, text);
    } else assert.equal(next.status, 404, text);
  }
  // Legacy SSE.
  {
    const { sse, url } = await openLegacy(runner);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const response = await postLegacy(url, request(3, "ping"));
    await response.body?.cancel();
    if (response.status === 202) {
      const { json } = await sse.message();
      assert.equal(json.id, 3);
      assert.equal((json.error as { code: number }).code, -32000);
    } else assert.equal(response.status, 404);
    await sse.cancel();
  }
  assert.ok(await healthy(runner), "the runner still answers");
});

Deno.test("stress: 24 sessions whose child exits at a random moment while the client floods, on all three transports; the runner survives all of them", async () => {
  const random = `exec ${
    FIXTURE.map((a) => `'${a}'`).join(" ")
  } --exit-after=$(( $(od -An -N2 -tu2 /dev/urandom) % 60 ))`;
  await using runner = await startRunner([
    "--shutdown-grace-ms",
    "500",
    "--",
    "sh",
    "-c",
    random,
  ]);
  const flood = 100;
  const ws = async () => {
    await using client = await TestClient.connect(runner.wsUrl);
    for (let i = 0; i < flood && client.socket.readyState === 1; i++) {
      client.send(request(i, "echo", { i }));
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await client.closed;
    const ids = client.received.map((t) => JSON.parse(t).id);
    assert.equal(new Set(ids).size, ids.length, "no id answered twice");
  };
  const http = async () => {
    const response = await post(runner, initializeRequest(), {
      accept: JSON_ONLY,
    });
    const session = response.headers.get("mcp-session-id")!;
    await response.body?.cancel();
    const replies = await Promise.all(
      Array.from(
        { length: flood },
        (_, i) =>
          post(runner, request(i, "echo", { i }), {
            session,
            accept: i % 2 === 0 ? JSON_ONLY : BOTH,
          }).then(async (r) => ({ status: r.status, text: await r.text() })),
      ),
    );
    for (const { status, text } of replies) {
      assert.ok([200, 404, 503].includes(status), `${status} ${text}`);
    }
  };
  const sse = async () => {
    const { sse, url } = await openLegacy(runner);
    for (let i = 0; i < flood; i++) {
      const response = await postLegacy(url, request(i, "echo", { i }));
      await response.body?.cancel();
      if (response.status !== 202) break;
    }
    await sse.cancel();
  };
  for (let round = 0; round < 8; round++) {
    await Promise.all([ws(), http(), sse()]);
  }
  assert.ok(await healthy(runner), "the runner still answers");
  const status = await runner.stop();
  assert.equal(status.code, 0, runner.stderr().slice(-2000));
  assert.doesNotMatch(runner.stderr(), /Uncaught|unhandled/i);
});

Deno.test("a batch of 1 MiB of invalid entries gets one error, not one per entry, on every transport", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const junk = `[${Array(500_000).fill("1").join(",")}]`;
  const pid = runner.process.pid;
  // WebSocket: exactly one frame comes back.
  {
    await using client = await TestClient.connect(runner.wsUrl);
    for (let i = 0; i < 4; i++) client.send(junk);
    for (let i = 0; i < 4; i++) {
      const reply = await client.next();
      assert.equal((reply.error as { code: number }).code, -32600);
    }
    const after = await client.request("after", "ping");
    assert.equal(after.id, "after", "nothing else was queued");
  }
  // Streamable HTTP: a small 400 body.
  {
    const session = await initialize(runner);
    const response = await post(runner, junk, { session, accept: JSON_ONLY });
    const text = await response.text();
    assert.equal(response.status, 400);
    assert.ok(text.length < 1000, `one error: ${text.length} bytes`);
  }
  // Legacy SSE: a small 400 (nothing in the batch could be forwarded).
  {
    const { sse, url } = await openLegacy(runner);
    const response = await postLegacy(url, junk);
    const text = await response.text();
    assert.equal(response.status, 400);
    assert.ok(text.length < 1000, `one error: ${text.length} bytes`);
    const ping = await postLegacy(url, request("p", "ping"));
    await ping.body?.cancel();
    assert.equal((await sse.message()).json.id, "p");
    await sse.cancel();
  }
  assert.ok(rssMiB(pid) < 200, `runner RSS ${rssMiB(pid)} MiB`);
});

Deno.test("a helper that leaves the process group and holds stdout hangs neither the session nor the shutdown", async () => {
  const marker = `sleep 4${Math.floor(Math.random() * 900 + 100)}`;
  try {
    await using runner = await startRunner([
      "--shutdown-grace-ms",
      "300",
      "--",
      "sh",
      "-c",
      `setsid ${marker} & exit 0`,
    ]);
    const client = await TestClient.connect(runner.wsUrl);
    const closed = await within(client.closed, 8000);
    assert.ok(closed, "the client got its close");
    assert.equal(closed.code, 1011);
    const health = await (await fetch(`${runner.httpUrl}/healthz`)).json();
    assert.equal(health.sessions, 0, "the session slot is free");
    // A second session, then SIGTERM: the shutdown finishes.
    const second = await TestClient.connect(runner.wsUrl);
    const started = Date.now();
    const status = await runner.stop();
    assert.equal(status.code, 0);
    assert.ok(Date.now() - started < 8000, "shutdown finished");
    await second.closed;
    assert.match(runner.stderr(), /outside its process group/);
  } finally {
    for (const pid of processesMatching(marker)) Deno.kill(pid, "SIGKILL");
  }
});

Deno.test("Streamable HTTP: a batch answered by one array completes in JSON and SSE mode", async () => {
  await using runner = await startRunner(["--", ...FIXTURE, "--batch-replies"]);
  const session = await initialize(runner);
  const batch = [request(1, "echo", { a: 1 }), request("two", "ping")];
  const json = await post(runner, batch, {
    session,
    accept: JSON_ONLY,
    headers: { "mcp-protocol-version": "2025-11-25" },
  });
  assert.equal(json.status, 200);
  const replies = await json.json();
  assert.deepEqual(replies.map((r: { id: unknown }) => r.id).sort(), [
    1,
    "two",
  ]);
  const sse = await post(runner, [request(3, "ping"), request(4, "ping")], {
    session,
    headers: { "mcp-protocol-version": "2025-11-25" },
  });
  await using reader = SseReader.of(sse);
  const ids = [
    (await reader.message()).json.id,
    (await reader.message()).json.id,
  ];
  assert.deepEqual(ids.sort(), [3, 4]);
  assert.deepEqual(
    (await reader.rest()).filter((e) => e.data),
    [],
    "the stream ends",
  );
});

Deno.test("Streamable HTTP: messages held while no stream is open are bounded in bytes", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const pid = runner.process.pid;
  // 60 notifications of 1 MiB while no stream is open (JSON-mode POST).
  const reply = await call(runner, session, 1, "fixture/flood", {
    count: 60,
    bytes: 1024 * 1024,
  });
  assert.equal((reply.result as { count: number }).count, 60);
  assert.ok(rssMiB(pid) < 200, `runner RSS ${rssMiB(pid)} MiB`);
  const get = await openGet(runner, session);
  await using reader = SseReader.of(get);
  const held = await reader.quiet(1500);
  assert.ok(held.length >= 1, "the newest are kept");
  assert.ok(held.length <= 4, `at most 4 MiB held: got ${held.length}`);
  assert.match(runner.stderr(), /dropped the oldest notification/);
});

Deno.test("Streamable HTTP: refusals come before the body is read; bodies being read share a budget", async () => {
  await using runner = await startRunner([
    "--max-message-bytes",
    "1048576",
    "--",
    ...FIXTURE,
  ]);
  const port = runner.port;
  const big = ["Content-Type: application/json", "Accept: application/json"];
  // An unknown session: 404 at once, though the body never comes.
  {
    const { conn, head } = await partialPost(port, [
      ...big,
      "Mcp-Session-Id: nope",
      "Content-Length: 1000000",
    ]);
    assert.match(await head, /^HTTP\/1\.1 404/);
    conn.close();
  }
  // A wrong content type: 415 at once.
  {
    const { conn, head } = await partialPost(port, [
      "Content-Type: text/plain",
      "Content-Length: 1000000",
    ]);
    assert.match(await head, /^HTTP\/1\.1 415/);
    conn.close();
  }
  // Bodies in progress: 4 × 1 MiB are read at once; more get 503.
  const slow = [];
  for (let i = 0; i < 4; i++) {
    slow.push(
      await partialPost(port, [...big, "Content-Length: 1000000"], "[{"),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const over = await partialPost(port, [...big, "Content-Length: 1000000"]);
  const head = await over.head;
  assert.match(head, /^HTTP\/1\.1 503/);
  assert.match(head, /retry-after: 1/i);
  over.conn.close();
  for (const { conn } of slow) conn.close();
  // Budget released: a normal session still starts.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const session = await initialize(runner);
  assert.ok(session);
});

Deno.test("ids are kept apart by their exact text: 2^53 neighbours, 0 and -0, and a duplicate in flight is refused", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  // WebSocket: each reply carries its own id text.
  {
    await using client = await TestClient.connect(runner.wsUrl);
    for (const id of ["9007199254740993", "9007199254740992", "-0", "0"]) {
      client.send(`{"jsonrpc":"2.0","id":${id},"method":"fixture/raw-id"}`);
    }
    assert.ok(await waitFor(() => client.received.length >= 4, 5000));
    const texts = client.received.splice(0).sort();
    assert.deepEqual(
      texts.map((t) => /"id":(-?\d+),/.exec(t)?.[1]).sort(),
      ["-0", "0", "9007199254740992", "9007199254740993"],
    );
  }
  // Streamable HTTP: two POSTs in flight at once, each answered.
  const session = await initialize(runner);
  const raw = (id: string) =>
    post(runner, `{"jsonrpc":"2.0","id":${id},"method":"fixture/raw-id"}`, {
      session,
      accept: JSON_ONLY,
    }).then((r) => r.text());
  const answers = await Promise.all(
    ["9007199254740993", "9007199254740992", "-0", "0"].map(async (id) =>
      await within(raw(id), 5000) ?? "timeout"
    ),
  );
  assert.match(answers[0]!, /"id":9007199254740993,/);
  assert.match(answers[1]!, /"id":9007199254740992,/);
  assert.match(answers[2]!, /"id":-0,/);
  assert.match(answers[3]!, /"id":0,/);
  // A second request with an id in flight: -32600 at once.
  const hanging = post(runner, request(5, "fixture/hang"), {
    session,
    accept: JSON_ONLY,
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const duplicate = await post(runner, request(5, "ping"), {
    session,
    accept: JSON_ONLY,
  });
  const body = await duplicate.json();
  assert.equal(body.id, 5);
  assert.equal(body.error.code, -32600);
  assert.match(body.error.message, /already in flight/);
  await deleteSession(runner, session);
  const ended = await (await hanging).json();
  assert.equal(ended.id, 5);
  assert.equal(ended.error.code, -32000);
});

Deno.test("a bare CR between JSON tokens never reaches an SSE data line", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  const open = await post(runner, request(7, "fixture/hang"), { session });
  const body = open.body!.getReader();
  await post(
    runner,
    request(8, "fixture/raw", {
      text: '{"jsonrpc":"2.0","id":7,\r"result":{"ok":true}}',
    }),
    { session, accept: JSON_ONLY },
  ).then((r) => r.text());
  let text = "";
  const decoder = new TextDecoder();
  while (!text.includes('"ok"')) {
    const { value, done } = await body.read();
    if (done) break;
    text += decoder.decode(value);
  }
  await body.cancel();
  assert.ok(!text.includes("\r"), JSON.stringify(text));
  const data = /data: (\{.*"ok".*\})/.exec(text)?.[1];
  assert.ok(data, text);
  assert.deepEqual(JSON.parse(data), {
    jsonrpc: "2.0",
    id: 7,
    result: { ok: true },
  });
});

Deno.test("a session whose client left with a request unanswered is reaped after --session-idle-timeout", async () => {
  await using runner = await startRunner([
    "--session-idle-timeout",
    "1",
    "--",
    ...FIXTURE,
  ]);
  const session = await initialize(runner);
  const controller = new AbortController();
  const hanging = post(runner, request(1, "fixture/hang"), {
    session,
    accept: JSON_ONLY,
    signal: controller.signal,
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  controller.abort();
  await hanging.catch(() => {});
  const reaped = await waitFor(
    () => /idle for \d+ ms: ending it/.test(runner.stderr()),
    5000,
  );
  assert.ok(reaped, "the session was reaped");
  const after = await post(runner, request(2, "ping"), {
    session,
    accept: JSON_ONLY,
  });
  await after.body?.cancel();
  assert.equal(after.status, 404);
});

Deno.test("at --max-sessions the least recently active idle session makes room; 503 and /readyz 503 only when none is idle", async () => {
  await using runner = await startRunner([
    "--max-sessions",
    "2",
    "--",
    ...FIXTURE,
  ]);
  const first = await initialize(runner);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const second = await initialize(runner);
  // Abandoned sessions (no DELETE): a third client still gets in.
  const third = await initialize(runner);
  assert.ok(third);
  assert.match(runner.stderr(), /ended to admit a new one/);
  const gone = await post(runner, request(1, "ping"), {
    session: first,
    accept: JSON_ONLY,
  });
  await gone.body?.cancel();
  assert.equal(gone.status, 404, "the least recently active one was ended");
  assert.equal((await call(runner, second, 2, "ping")).id, 2);
  // Both busy: nothing is idle, so new sessions are refused.
  const busy = [second, third].map((session) =>
    post(runner, request(9, "fixture/hang"), { session, accept: JSON_ONLY })
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  const refused = await post(runner, initializeRequest(), {
    accept: JSON_ONLY,
  });
  await refused.body?.cancel();
  assert.equal(refused.status, 503);
  const ready = await fetch(`${runner.httpUrl}/readyz`);
  assert.equal(ready.status, 503, await ready.text());
  for (const session of [second, third]) await deleteSession(runner, session);
  for (const response of await Promise.all(busy)) await response.text();
});

Deno.test("session ids never reach the log: a short handle stands for them; every request gets one access line", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const session = await initialize(runner);
  await call(runner, session, 1, "tools/call", {
    name: "echo",
    arguments: { message: "hi" },
  });
  await call(runner, session, 2, "no/such");
  const { sse, url } = await openLegacy(runner);
  const legacyId = new URL(url).searchParams.get("sessionId")!;
  const response = await postLegacy(url, request(3, "ping"));
  await response.body?.cancel();
  await sse.message();
  await sse.cancel();
  await waitFor(() => /method=ping/.test(runner.stderr()), 2000);
  const log = runner.stderr();
  assert.ok(!log.includes(session), "no Streamable HTTP session id");
  assert.ok(!log.includes(legacyId), "no legacy SSE session id");
  assert.match(log, /Session h-[0-9a-f]{8} started/);
  assert.match(
    log,
    /Request: session=h-[0-9a-f]{8} transport=streamable-http method=tools\/call name=echo duration_ms=[\d.]+ outcome=ok/,
  );
  assert.match(
    log,
    /method=no\/such name= duration_ms=[\d.]+ outcome=error -32601/,
  );
  assert.match(
    log,
    /transport=sse method=ping name= duration_ms=[\d.]+ outcome=ok/,
  );
});
