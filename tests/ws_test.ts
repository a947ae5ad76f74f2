import assert from "node:assert/strict";
import {
  compileFlags,
  FIXTURE,
  MAIN,
  processAlive,
  processesMatching,
  startRunner,
  TestClient,
  waitFor,
} from "./_helpers.ts";

Deno.test("runner round-trips a request and keeps id value and type", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl);
  assert.equal(client.socket.protocol, "mcp");
  for (const id of ["abc-1", 42, "42", 0, -7, "", 1.5]) {
    const reply = await client.request(id, "echo", { id });
    assert.deepEqual(reply, { jsonrpc: "2.0", id, result: { id } });
  }
});

Deno.test("runner serves clients that offer no subprotocol", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl + "any/path", []);
  assert.equal(client.socket.protocol, "");
  assert.deepEqual((await client.request(1, "ping")).result, {});
});

Deno.test("runner keeps order under 1,000 pipelined requests", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl);
  for (let i = 0; i < 1000; i++) {
    client.send({
      jsonrpc: "2.0",
      id: i % 2 ? i : `s${i}`,
      method: "echo",
      params: { i },
    });
  }
  for (let i = 0; i < 1000; i++) {
    const reply = await client.next();
    assert.equal(reply.id, i % 2 ? i : `s${i}`);
    assert.deepEqual(reply.result, { i });
  }
});

Deno.test("runner carries 1 MiB messages both ways", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl);
  const data = "é".repeat(512 * 1024); // 1 MiB of UTF-8
  for (let i = 0; i < 3; i++) {
    const reply = await client.request(i, "echo", { data });
    assert.equal((reply.result as { data: string }).data, data);
  }
  const big = await client.request("big", "fixture/big", {
    bytes: 1024 * 1024,
  });
  assert.equal((big.result as { data: string }).data.length, 1024 * 1024);
});

Deno.test("runner forwards a pretty-printed message as one line", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl);
  client.send(
    '{\n  "jsonrpc": "2.0",\r\n  "id": 3,\n  "method": "echo",\n  "params": { "s": "a\\nb" }\n}',
  );
  assert.deepEqual(await client.next(), {
    jsonrpc: "2.0",
    id: 3,
    result: { s: "a\nb" },
  });
  // a split line would have made the fixture answer with parse errors first
  assert.deepEqual((await client.request(4, "ping")).id, 4);
});

Deno.test("runner answers invalid JSON with -32700 and keeps the session", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl);
  client.send("{not json");
  const error = await client.next();
  assert.equal(error.id, null);
  assert.equal((error.error as { code: number }).code, -32700);
  client.send("[1]");
  assert.equal(((await client.next()).error as { code: number }).code, -32600);
  assert.equal((await client.request(5, "ping")).id, 5);
});

Deno.test("runner closes with 1003 on a binary frame", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl);
  client.socket.send(new Uint8Array([1, 2, 3]));
  const closed = await client.closed;
  assert.equal(closed.code, 1003);
  assert.match(closed.reason, /Binary frames are not supported/);
});

Deno.test("runner closes with 1009 on a frame over --max-message-bytes", async () => {
  await using runner = await startRunner([
    "--max-message-bytes",
    "100000",
    "--",
    ...FIXTURE,
  ]);
  await using client = await TestClient.connect(runner.wsUrl);
  assert.equal((await client.request(1, "ping")).id, 1);
  client.send({
    jsonrpc: "2.0",
    id: 2,
    method: "echo",
    params: { data: "x".repeat(100_001) },
  });
  const closed = await client.closed;
  assert.equal(closed.code, 1009);
  assert.match(closed.reason, /over the limit of 100000 bytes/);
});

Deno.test("runner answers a response over the limit with an error for that request", async () => {
  await using runner = await startRunner([
    "--max-message-bytes",
    "100000",
    "--",
    ...FIXTURE,
  ]);
  await using client = await TestClient.connect(runner.wsUrl);
  const reply = await client.request("big-1", "fixture/big", {
    bytes: 300_000,
  });
  assert.equal(reply.id, "big-1");
  assert.equal((reply.error as { code: number }).code, -32000);
  assert.match(
    (reply.error as { message: string }).message,
    /over the limit of 100000 bytes/,
  );
  assert.equal((await client.request(2, "ping")).id, 2, "the session goes on");
});

Deno.test("runner drops a non-JSON stdout line and delivers the next one", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl);
  const reply = await client.request(1, "fixture/raw", {
    text: "Server listening on stdio",
  });
  assert.deepEqual(reply, { jsonrpc: "2.0", id: 1, result: { wrote: true } });
  assert.match(
    runner.stderr(),
    /dropped a stdout line of 25 bytes that is not JSON-RPC/,
  );
});

Deno.test("runner reads CRLF line ends from the child", async () => {
  await using runner = await startRunner(["--", ...FIXTURE, "--crlf"]);
  await using client = await TestClient.connect(runner.wsUrl);
  assert.deepEqual(await client.request("a", "echo", { x: 1 }), {
    jsonrpc: "2.0",
    id: "a",
    result: { x: 1 },
  });
});

Deno.test("runner answers pending requests when the child crashes, then closes 1011", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl);
  client.send({ jsonrpc: "2.0", id: "hang-1", method: "fixture/hang" });
  client.send({ jsonrpc: "2.0", id: 7, method: "fixture/hang" });
  client.send({
    jsonrpc: "2.0",
    id: "7",
    method: "fixture/exit",
    params: { code: 3 },
  });
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const reply = await client.next();
    assert.equal((reply.error as { code: number }).code, -32000);
    assert.match(
      (reply.error as { message: string }).message,
      /MCP server exited with code 3/,
    );
    ids.push(reply.id);
  }
  assert.ok(ids.includes("hang-1") && ids.includes(7) && ids.includes("7"));
  const closed = await client.closed;
  assert.equal(closed.code, 1011);
  assert.equal(closed.reason, "MCP server exited with code 3");
});

Deno.test("runner keeps serving while the child floods stderr", async () => {
  await using runner = await startRunner([
    "--log-level",
    "warning",
    "--",
    ...FIXTURE,
  ]);
  await using client = await TestClient.connect(runner.wsUrl);
  // 20 MB of stderr: far more than a pipe buffer holds
  const reply = await client.request(1, "fixture/stderr", {
    lines: 200_000,
    lineBytes: 100,
  });
  assert.deepEqual(reply.result, { lines: 200_000 });
  assert.equal((await client.request(2, "ping")).id, 2);
});

Deno.test("runner stops a SIGTERM-ignoring child and its grandchild when the client leaves", async () => {
  await using runner = await startRunner([
    "--shutdown-grace-ms",
    "300",
    "--",
    ...FIXTURE,
    "--ignore-sigterm",
    "--grandchild",
    "--no-eof-exit",
  ]);
  const client = await TestClient.connect(runner.wsUrl);
  const { pid, grandchild } = (await client.request(1, "fixture/pids"))
    .result as { pid: number; grandchild: number };
  assert.ok(processAlive(pid) && processAlive(grandchild));
  const started = Date.now();
  client.socket.close(1000);
  await client.closed;
  assert.ok(
    await waitFor(
      () => !processAlive(pid) && !processAlive(grandchild),
      2 * 300 + 1000 + 500,
    ),
  );
  const took = Date.now() - started;
  assert.ok(took <= 2 * 300 + 1000 + 500, `took ${took} ms`);
  assert.ok(
    await waitFor(
      () =>
        /MCP server stopped \(signal SIGKILL, after SIGKILL\)/.test(
          runner.stderr(),
        ),
      2000,
    ),
  );
});

Deno.test("runner refuses a session over --max-sessions with 503 before spawning", async () => {
  await using runner = await startRunner([
    "--max-sessions",
    "1",
    "--",
    ...FIXTURE,
  ]);
  await using first = await TestClient.connect(runner.wsUrl);
  assert.equal((await first.request(1, "ping")).id, 1);
  const response = await fetch(runner.httpUrl + "/", {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "1");
  assert.match(await response.text(), /1 sessions are open \(--max-sessions\)/);
  assert.equal((runner.stderr().match(/started \S*deno/g) ?? []).length, 1);
});

Deno.test("runner answers /healthz and a plain GET", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl);
  await client.request(1, "ping");
  const health = await (await fetch(runner.httpUrl + "/healthz")).json();
  assert.equal(health.status, "ok");
  assert.equal(health.sessions, 1);
  assert.equal(typeof health.uptimeSeconds, "number");
  assert.equal(health.version, "0.1.0");
  const plain = await fetch(runner.httpUrl + "/");
  assert.equal(plain.status, 426);
  await plain.body?.cancel();
});

Deno.test("runner closes with 1011 when the program cannot be spawned", async () => {
  const dir = await Deno.makeTempDir();
  const program = `${dir}/server.sh`;
  await Deno.writeTextFile(program, "#!/bin/sh\nexec cat\n", { mode: 0o755 });
  try {
    await using runner = await startRunner(["--", program]);
    await Deno.remove(program);
    await using client = await TestClient.connect(runner.wsUrl);
    const closed = await client.closed;
    assert.equal(closed.code, 1011);
    assert.match(closed.reason, /^Cannot start MCP server/);
    assert.match(runner.stderr(), /cannot start/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner closes a client that stops reading, with bounded memory", async () => {
  await using runner = await startRunner([
    "--send-timeout-ms",
    "1500",
    "--log-level",
    "info",
    "--",
    ...FIXTURE,
  ]);
  // A raw TCP client: WebSocket handshake by hand, then never reads again.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: runner.port });
  try {
    const request = [
      "GET / HTTP/1.1",
      `Host: 127.0.0.1:${runner.port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
      "",
      "",
    ].join("\r\n");
    await conn.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(1024);
    const n = await conn.read(buffer);
    assert.match(
      new TextDecoder().decode(buffer.subarray(0, n ?? 0)),
      /^HTTP\/1.1 101/,
    );
    // One masked text frame asking the child to write 100,000 × 1 KB.
    const payload = new TextEncoder().encode(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "fixture/flood",
        params: { count: 100_000, bytes: 1000 },
      }),
    );
    const mask = new Uint8Array([1, 2, 3, 4]);
    const header = payload.length < 126
      ? new Uint8Array([0x81, 0x80 | payload.length])
      : new Uint8Array([
        0x81,
        0x80 | 126,
        payload.length >> 8,
        payload.length & 0xff,
      ]);
    const masked = payload.map((b, i) => b ^ mask[i % 4]!);
    await conn.write(new Uint8Array([...header, ...mask, ...masked]));
    let peakKiB = 0;
    const closed = await waitFor(() => {
      const status = Deno.readTextFileSync(
        `/proc/${runner.process.pid}/status`,
      );
      peakKiB = Math.max(
        peakKiB,
        Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0),
      );
      return /closing with 1008 Client did not read for 1500 ms/.test(
        runner.stderr(),
      );
    }, 15_000);
    assert.ok(closed, runner.stderr().slice(-2000));
    assert.ok(peakKiB < 150 * 1024, `runner RSS peaked at ${peakKiB} KiB`);
  } finally {
    conn.close();
  }
});

Deno.test("runner exits 0 on SIGTERM, closing clients with 1001 and leaving no process", async () => {
  const runner = await startRunner([
    "--shutdown-grace-ms",
    "300",
    "--",
    ...FIXTURE,
    "--grandchild",
  ]);
  const clients = [
    await TestClient.connect(runner.wsUrl),
    await TestClient.connect(runner.wsUrl),
  ];
  const pids: number[] = [];
  for (const client of clients) {
    const { pid, grandchild } = (await client.request(1, "fixture/pids"))
      .result as {
        pid: number;
        grandchild: number;
      };
    pids.push(pid, grandchild);
  }
  clients[0]!.send({ jsonrpc: "2.0", id: "pending", method: "fixture/hang" });
  assert.equal((await clients[0]!.request(2, "ping")).id, 2); // "pending" has reached the child
  const status = await runner.stop("SIGTERM");
  const error = await clients[0]!.next();
  assert.equal(error.id, "pending");
  assert.match((error.error as { message: string }).message, /shutting down/);
  for (const client of clients) {
    const closed = await client.closed;
    assert.equal(closed.code, 1001);
  }
  assert.equal(status.code, 0);
  assert.match(runner.stderr(), /Stopped/);
  for (const pid of pids) {
    assert.ok(!processAlive(pid), `process ${pid} survived`);
  }
  assert.deepEqual(
    processesMatching("mcp_fixture.ts").filter((pid) => pids.includes(pid)),
    [],
  );
});

Deno.test("runner reports a bad setting or a missing program in one line and exits 2", async () => {
  for (
    const [args, env, expected] of [
      [
        ["--", "no-such-program-xyz"],
        {},
        /^Cannot start: the command names a program that was not found on PATH or is not executable, received "no-such-program-xyz"\n$/,
      ],
      [
        ["--port", "80a", "--", "cat"],
        {},
        /^Cannot start: --port must be an integer in 0\.\.65535, received "80a"\n$/,
      ],
      [
        [],
        { PROGRAM: "cat", PORT: "80a" },
        /^Cannot start: PORT must be an integer in 0\.\.65535, received "80a"\n$/,
      ],
    ] as const
  ) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...compileFlags(), MAIN, "--no-env-file", ...args],
      env: { ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 2);
    assert.match(new TextDecoder().decode(output.stderr), expected);
  }
});

Deno.test("runner rate-limits the child's stderr in its log and says how much it left out", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl);
  const started = Date.now();
  const reply = await client.request(1, "fixture/stderr", {
    lines: 20_000,
    lineBytes: 50,
  });
  assert.deepEqual(reply.result, { lines: 20_000 });
  assert.equal((await client.request(2, "ping")).id, 2);
  client.socket.close(1000);
  await client.closed;
  // The count of left-out lines is logged when the stream ends at the latest.
  assert.ok(
    await waitFor(
      () => /more lines not logged \(over 200 a second\)/.test(runner.stderr()),
      5000,
    ),
  );
  const seconds = Math.ceil((Date.now() - started) / 1000) + 1;
  const logged = (runner.stderr().match(/ stderr: x+\n/g) ?? []).length;
  assert.ok(logged <= 200 * seconds, `${logged} lines logged in ${seconds} s`);
  const left = [
    ...runner.stderr().matchAll(/stderr: (\d+) more lines not logged/g),
  ]
    .reduce((sum, m) => sum + Number(m[1]), 0);
  assert.equal(logged + left, 20_000, "every line is either logged or counted");
});

Deno.test("runner shuts down in order on SIGHUP too (a closed terminal)", async () => {
  const runner = await startRunner([
    "--shutdown-grace-ms",
    "300",
    "--",
    ...FIXTURE,
  ]);
  const client = await TestClient.connect(runner.wsUrl);
  const { pid } = (await client.request(1, "fixture/pids")).result as {
    pid: number;
  };
  const status = await runner.stop("SIGHUP");
  assert.equal((await client.closed).code, 1001);
  assert.equal(status.code, 0);
  assert.ok(!processAlive(pid));
});
