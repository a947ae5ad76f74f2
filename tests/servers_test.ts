/**
 * Named servers from a config file (`--config`), with real runner processes
 * and real children (the fixture MCP server): expansion and isolation of
 * each server's environment and working directory, the URL layout on all
 * three transports, failed and disabled servers, startup errors, and
 * reload on SIGHUP.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  compileFlags,
  FIXTURE,
  MAIN,
  ROOT,
  type RunningRunner,
  startRunner,
  TestClient,
  waitFor,
} from "./_helpers.ts";
import { initializeRequest, JSON_ONLY, request, SseReader } from "./_http.ts";

type Json = Record<string, unknown>;

const SECRET = "s3cr3t-value-never-logged-7781";
const [DENO, ...FIXTURE_ARGS] = FIXTURE as [string, ...string[]];

/** A temporary folder holding a config file, removed afterwards. */
async function configDir(
  servers: Record<string, unknown>,
  key = "mcpServers",
): Promise<{ dir: string; file: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "servers_test_" });
  const file = `${dir}/mcp.json`;
  await writeConfig(file, servers, key);
  return {
    dir,
    file,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Writes a config file with a comment and trailing commas, as editors do. */
async function writeConfig(
  file: string,
  servers: Record<string, unknown>,
  key = "mcpServers",
): Promise<void> {
  const body = JSON.stringify({ [key]: servers }, null, 2)
    .replace(/\n(\s*)}/g, ",\n$1}");
  await Deno.writeTextFile(file, `// written by servers_test\n${body}\n`);
}

/** A fixture server entry; `marker` lands in its env as `ONLY_<marker>`. */
function fixture(marker: string, extra: Json = {}): Json {
  return {
    command: DENO,
    args: [...FIXTURE_ARGS, marker],
    env: { [`ONLY_${marker}`]: "1" },
    ...extra,
  };
}

/** POSTs JSON to a path and returns the response. */
function postTo(
  runner: RunningRunner,
  path: string,
  body: Json,
  session?: string,
): Promise<Response> {
  return fetch(`${runner.httpUrl}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: JSON_ONLY,
      "mcp-protocol-version": "2025-11-25",
      ...(session === undefined ? {} : { "mcp-session-id": session }),
    },
    body: JSON.stringify(body),
  });
}

/** Initializes a Streamable HTTP session on a server's `/mcp`. */
async function openSession(
  runner: RunningRunner,
  path: string,
): Promise<string> {
  const response = await postTo(runner, path, initializeRequest());
  assert.equal(response.status, 200, await response.clone().text());
  await response.body?.cancel();
  const session = response.headers.get("mcp-session-id");
  assert.ok(session);
  return session;
}

/** Calls a method on a session and returns its result. */
async function callOn(
  runner: RunningRunner,
  path: string,
  session: string,
  method: string,
): Promise<Json> {
  const response = await postTo(runner, path, request(7, method), session);
  assert.equal(response.status, 200, await response.clone().text());
  const body = await response.json();
  return body.result as Json;
}

/** A status and the parsed JSON body of a response. */
async function statusOf(response: Response): Promise<[number, Json]> {
  const text = await response.text();
  return [response.status, JSON.parse(text)];
}

/** Runs main.ts to its exit (it must exit by itself within 15 s). */
async function runToExit(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...compileFlags(),
      MAIN,
      "--port",
      "0",
      "--no-env-file",
      ...args,
    ],
    env: { NO_COLOR: "1", ...env },
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const [status, bytes] = await Promise.all([
    child.status,
    new Response(child.stderr).arrayBuffer(),
  ]);
  clearTimeout(timer);
  return { code: status.code, stderr: new TextDecoder().decode(bytes) };
}

Deno.test("config file: expansion, disabled and failed servers, each child with only its own env and cwd, no secret in any output", async () => {
  await using config = await configDir({});
  await Deno.mkdir(`${config.dir}/wa`);
  await Deno.mkdir(`${config.dir}/wb`);
  await writeConfig(config.file, {
    a: {
      command: "${TEST_DENO}",
      args: [...FIXTURE_ARGS.slice(0, -1), "${FIXTURE_FILE}", "A"],
      env: {
        ONLY_A: "1",
        TOKEN: "${SECRET_TOKEN}",
        FALLBACK: "${MISSING_VARIABLE_X:-fallback}",
        HOME_SEEN: "${env:HOME}",
        LITERAL: "$HOME and $${NOT_EXPANDED}",
      },
      cwd: "./wa",
      timeout: 60000,
    },
    b: fixture("B", { cwd: "${workspaceFolder}/wb" }),
    off1: fixture("OFF1", { disabled: true }),
    off2: fixture("OFF2", { enabled: false }),
    broken: fixture("BROKEN", { env: { X: "${NOT_SET_ANYWHERE_42}" } }),
    remote: { type: "http", url: "https://example.invalid/mcp" },
  });
  await using runner = await startRunner(["--config", config.file], {
    env: {
      TEST_DENO: DENO,
      FIXTURE_FILE: FIXTURE_ARGS.at(-1)!,
      SECRET_TOKEN: SECRET,
      HOME: Deno.env.get("HOME") ?? "/root",
    },
  });
  const a = await openSession(runner, "/servers/a/mcp");
  const envA = (await callOn(runner, "/servers/a/mcp", a, "fixture/env"))
    .env as Record<string, string>;
  assert.equal(envA.TOKEN, SECRET);
  assert.equal(envA.FALLBACK, "fallback");
  assert.equal(envA.HOME_SEEN, Deno.env.get("HOME") ?? "/root");
  assert.equal(envA.LITERAL, "$HOME and ${NOT_EXPANDED}");
  assert.equal(envA.ONLY_A, "1");
  assert.equal(envA.ONLY_B, undefined, "never another server's env");
  const cwdA = await callOn(runner, "/servers/a/mcp", a, "fixture/cwd");
  assert.equal(cwdA.cwd, await Deno.realPath(`${config.dir}/wa`));

  const b = await openSession(runner, "/servers/b/mcp");
  const envB = (await callOn(runner, "/servers/b/mcp", b, "fixture/env"))
    .env as Record<string, string>;
  assert.equal(envB.ONLY_B, "1");
  assert.equal(envB.ONLY_A, undefined);
  assert.equal(envB.TOKEN, undefined);
  assert.equal(
    (await callOn(runner, "/servers/b/mcp", b, "fixture/cwd")).cwd,
    await Deno.realPath(`${config.dir}/wb`),
  );

  for (const name of ["off1", "off2", "remote"]) {
    const [status, body] = await statusOf(
      await postTo(runner, `/servers/${name}/mcp`, initializeRequest()),
    );
    assert.equal(status, 503, name);
    assert.match((body.error as Json).message as string, new RegExp(name));
  }
  const [brokenStatus, brokenBody] = await statusOf(
    await postTo(runner, "/servers/broken/mcp", initializeRequest()),
  );
  assert.equal(brokenStatus, 503);
  assert.match(
    (brokenBody.error as Json).message as string,
    /server broken.*env\.X references unset variable NOT_SET_ANYWHERE_42/,
  );
  const [unknown, unknownBody] = await statusOf(
    await postTo(runner, "/servers/nope/mcp", initializeRequest()),
  );
  assert.equal(unknown, 404);
  assert.deepEqual(
    ((unknownBody.error as Json).data as Json).servers,
    ["a", "b", "off1", "off2", "broken", "remote"],
  );
  // Six servers, none the only enabled one: no default at /mcp.
  const [root] = await statusOf(
    await postTo(runner, "/mcp", initializeRequest()),
  );
  assert.equal(root, 404);

  const [ready, readyBody] = await statusOf(
    await fetch(`${runner.httpUrl}/readyz`),
  );
  assert.equal(ready, 503);
  assert.deepEqual(Object.keys(readyBody.servers as Json), ["broken"]);
  const one = await fetch(`${runner.httpUrl}/readyz?server=a`);
  assert.equal(one.status, 200, await one.text());

  const status = await (await fetch(`${runner.httpUrl}/status`)).json();
  const states = Object.fromEntries(
    (status.servers as Json[]).map((s) => [s.name, s.state]),
  );
  assert.deepEqual(states, {
    a: "ready",
    b: "ready",
    off1: "disabled",
    off2: "disabled",
    broken: "failed",
    remote: "disabled",
  });
  const statusA = (status.servers as Json[])[0]!;
  assert.ok((statusA.envKeys as string[]).includes("TOKEN"));
  const [sessionA] = statusA.sessions as Json[];
  assert.equal((statusA.sessions as Json[]).length, 1);
  assert.equal(sessionA!.transport, "streamable-http");
  assert.equal(sessionA!.clientName, "http-test");
  assert.equal(sessionA!.protocolVersion, "2025-11-25");
  assert.match(
    sessionA!.id as string,
    /^h-[0-9a-f]{8}$/,
    "a handle, never the id",
  );
  assert.ok(!JSON.stringify(status).includes(a), "no session id in /status");
  assert.equal(typeof sessionA!.pid, "number");
  assert.deepEqual(statusA.pids, [sessionA!.pid]);
  const metrics = await (await fetch(`${runner.httpUrl}/metrics`)).text();
  assert.match(
    metrics,
    /mcp_runner_sessions_total\{server="a",transport="streamable-http"\} 1/,
  );
  assert.match(
    metrics,
    /mcp_runner_sessions_active\{server="b",transport="streamable-http"\} 1/,
  );

  const log = runner.stderr();
  assert.match(
    log,
    /\n {2}a: http:\/\/127\.0\.0\.1:\d+\/servers\/a\/mcp, SSE http:\/\/127\.0\.0\.1:\d+\/servers\/a\/sse, ws:\/\/127\.0\.0\.1:\d+\/servers\/a/,
  );
  assert.match(log, /Server remote is a remote server/);
  assert.match(log, /\[a\] Session h-[0-9a-f]+ started/, "a's lines name it");
  assert.ok(!log.includes(SECRET), "the secret is in no log line");
  assert.ok(!JSON.stringify(status).includes(SECRET), "nor in /status");
  assert.ok(!metrics.includes(SECRET), "nor in /metrics");
});

Deno.test("config file: /servers/NAME/mcp, /sse with its prefixed message URL and ws://…/servers/NAME reach NAME; the default server answers at the root; VS Code's servers form", async () => {
  await using config = await configDir({
    a: fixture("A"),
    b: fixture("B"),
  }, "servers");
  await using runner = await startRunner([
    "--config",
    config.file,
    "--default-server",
    "b",
  ]);
  const marker = (reply: Json) =>
    Object.keys((reply.result as { env: Json }).env).find((k) =>
      k.startsWith("ONLY_")
    );
  // WebSocket at /servers/a and /servers/a/, and at / for the default.
  for (
    const [path, expected] of [["/servers/a", "ONLY_A"], [
      "/servers/a/",
      "ONLY_A",
    ], ["/", "ONLY_B"]]
  ) {
    await using ws = await TestClient.connect(
      `${runner.wsUrl.replace(/\/$/, "")}${path}`,
    );
    await ws.request(0, "initialize", initializeRequest().params);
    assert.equal(marker(await ws.request(1, "fixture/env")), expected, path);
  }
  // Streamable HTTP at /servers/a/mcp and /mcp.
  const a = await openSession(runner, "/servers/a/mcp");
  assert.equal(
    marker({
      result: await callOn(runner, "/servers/a/mcp", a, "fixture/env"),
    }),
    "ONLY_A",
  );
  const root = await openSession(runner, "/mcp");
  assert.equal(
    marker({ result: await callOn(runner, "/mcp", root, "fixture/env") }),
    "ONLY_B",
  );
  // Legacy SSE: the endpoint event keeps the prefix.
  const stream = await fetch(`${runner.httpUrl}/servers/a/sse`, {
    headers: { accept: "text/event-stream" },
  });
  assert.equal(stream.status, 200);
  await using reader = new SseReader(stream.body!);
  let endpoint = await reader.next();
  // Blocks before it (a retry hint) carry no event.
  for (let i = 0; i < 3 && endpoint?.event === undefined; i++) {
    endpoint = await reader.next();
  }
  assert.equal(endpoint?.event, "endpoint");
  const messageUrl = endpoint?.data ?? "";
  assert.match(messageUrl, /^\/servers\/a\/message\?sessionId=/);
  const posted = await fetch(`${runner.httpUrl}${messageUrl}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request(3, "fixture/env")),
  });
  assert.equal(posted.status, 202);
  await posted.body?.cancel();
  let block = await reader.next();
  for (let i = 0; i < 3 && block?.data === undefined; i++) {
    block = await reader.next();
  }
  const answer = JSON.parse(block?.data ?? "null");
  assert.equal(answer.id, 3);
  assert.equal(marker(answer), "ONLY_A");
  // An upgrade elsewhere is no session with named servers.
  const elsewhere = await fetch(`${runner.httpUrl}/other`, {
    headers: {
      upgrade: "websocket",
      connection: "upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  assert.equal(elsewhere.status, 426);
  await elsewhere.body?.cancel();
  assert.match(
    runner.stderr(),
    /b: .*default server: also http:\/\/127\.0\.0\.1:\d+\/mcp/,
  );
});

Deno.test("config file: startup errors exit 2 with one line naming the file, path and problem", async () => {
  await using config = await configDir({});
  const cases: [string, string, RegExp, string[]?][] = [
    [
      '{"mcpServers":{},"servers":{}}',
      "both keys",
      /both "mcpServers" and "servers"/,
    ],
    [
      '{"mcpServers":{"a":{"command":"x"},"a":{"command":"y"}}}',
      "duplicate",
      /duplicate key mcpServers\.a at line 1/,
    ],
    [
      '{"mcpServers":{"a/b":{"command":"x"}}}',
      "bad name",
      /mcpServers\["a\/b"\]: a server name must be/,
    ],
    [
      '{"mcpServers":{"a":{"command":"x","args":["ok",3]}}}',
      "args type",
      /mcpServers\.a\.args\[1\] must be a string/,
    ],
    [
      '{"mcpServers":{"a":{"command":"x",}',
      "syntax",
      /unexpected end of file|expected/,
    ],
    [
      '{"mcpServers":{"a":{"command":"x","runner":{"mode":"solo"}}}}',
      "runner option",
      /mcpServers\.a\.runner\.mode must be "per-session" or "shared"/,
    ],
    [
      '{"mcpServers":{"a":{"command":"definitely-not-a-program-9"}}}',
      "strict",
      /server a failed to start: command names a program that was not found.*--strict-config/,
      ["--strict-config"],
    ],
    [
      '{"mcpServers":{"a":{"command":"x","env":{"K":"${UNSET_FOR_STRICT}"}}}}',
      "strict unset",
      /server a failed to start: server a: env\.K references unset variable UNSET_FOR_STRICT \(--strict-config\)/,
      ["--strict-config"],
    ],
    [
      '{"mcpServers":{"a":{"command":"x"}}}',
      "default",
      /--default-server names no server of .*received "zz"/,
      ["--default-server", "zz"],
    ],
  ];
  for (const [text, what, expected, extra = []] of cases) {
    await Deno.writeTextFile(config.file, text);
    const { code, stderr } = await runToExit([
      "--config",
      config.file,
      ...extra,
    ]);
    assert.equal(code, 2, `${what}: ${stderr}`);
    assert.match(stderr, expected, what);
    assert.equal(
      stderr.trim().split("\n").filter((l) => l.startsWith("Cannot")).length,
      1,
      what,
    );
    if (what !== "strict" && what !== "strict unset" && what !== "default") {
      assert.ok(stderr.includes(config.file), `${what} names the file`);
    }
  }
  await Deno.writeTextFile(config.file, '{"mcpServers":{"a":{"command":"x"}}}');
  const both = await runToExit(["--config", config.file, "--", "node", "x.js"]);
  assert.equal(both.code, 2);
  assert.match(
    both.stderr,
    /--config and a command after "--" exclude each other/,
  );
  const missing = await runToExit(["--config", `${config.dir}/none.json`]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--config names a file that does not exist/);
});

Deno.test("config file: SIGHUP reload adds, removes and changes servers; a broken file keeps the running ones", async () => {
  await using config = await configDir({
    b: fixture("B"),
    c: fixture("C1"),
  });
  await using runner = await startRunner([
    "--config",
    config.file,
    "--reload-grace-seconds",
    "2",
  ]);
  const argv = async (path: string, session: string) =>
    ((await callOn(runner, path, session, "fixture/argv")).args as string[])
      .at(-1);
  await using wsB = await TestClient.connect(`${runner.wsUrl}servers/b`);
  await wsB.request(0, "initialize", initializeRequest().params);
  const oldC = await openSession(runner, "/servers/c/mcp");
  assert.equal(await argv("/servers/c/mcp", oldC), "C1");

  await writeConfig(config.file, { c: fixture("C2"), d: fixture("D") });
  runner.process.kill("SIGHUP");
  assert.ok(
    await waitFor(
      () => /Reloaded the config file/.test(runner.stderr()),
      10_000,
    ),
    runner.stderr(),
  );
  assert.match(
    runner.stderr(),
    /Reloaded the config file: added d; removed b; changed c/,
  );
  // d is served at once; c's new sessions get the new args, its old one
  // keeps its child.
  const d = await openSession(runner, "/servers/d/mcp");
  assert.equal(await argv("/servers/d/mcp", d), "D");
  const newC = await openSession(runner, "/servers/c/mcp");
  assert.equal(await argv("/servers/c/mcp", newC), "C2");
  assert.equal(await argv("/servers/c/mcp", oldC), "C1");
  // b: no new sessions; the live one works until the grace ends.
  const [gone] = await statusOf(
    await postTo(runner, "/servers/b/mcp", initializeRequest()),
  );
  assert.equal(gone, 404);
  assert.equal((await wsB.request(2, "ping")).id, 2);
  assert.ok(
    await waitFor(() => wsB.socket.readyState === WebSocket.CLOSED, 8_000),
    "b's session ends after the grace",
  );
  assert.match(
    runner.stderr(),
    /Server b was removed by a reload: its 1 sessions end in 2 s/,
  );

  await Deno.writeTextFile(config.file, '{"mcpServers": {"d": ');
  runner.process.kill("SIGHUP");
  assert.ok(
    await waitFor(
      () => /Cannot reload the config file/.test(runner.stderr()),
      10_000,
    ),
  );
  const status = await (await fetch(`${runner.httpUrl}/status`)).json();
  assert.match(status.configError, /unexpected end of file/);
  assert.deepEqual((status.servers as Json[]).map((s) => s.name), ["c", "d"]);
  assert.equal(await argv("/servers/d/mcp", d), "D", "d still serves");
  assert.equal(runner.process.pid > 0, true);
});

Deno.test("config file: SIGHUP without --config still stops the runner", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const status = await runner.stop("SIGHUP");
  assert.equal(status.code, 0);
  assert.match(runner.stderr(), /Received SIGHUP/);
});

Deno.test("config file: per-server runner options (mode, maxSessions, prewarm) and top-level defaults", async () => {
  await using config = await configDir({});
  await Deno.writeTextFile(
    config.file,
    JSON.stringify({
      runner: { mode: "shared", defaultServer: "s" },
      mcpServers: {
        s: fixture("S", { runner: { maxSessions: 1 } }),
        p: fixture("P", { runner: { mode: "per-session", prewarm: 1 } }),
      },
    }),
  );
  await using runner = await startRunner(["--config", config.file]);
  // A WebSocket session is never idle: it is not ended to make room.
  await using first = await TestClient.connect(`${runner.wsUrl}servers/s`);
  await first.request(0, "initialize", initializeRequest().params);
  assert.equal(
    ((await first.request(1, "fixture/argv")).result as { args: string[] })
      .args.at(-1),
    "S",
  );
  const [full, fullBody] = await statusOf(
    await postTo(runner, "/servers/s/mcp", initializeRequest()),
  );
  assert.equal(full, 503);
  assert.match(
    (fullBody.error as Json).message as string,
    /server s has 1 sessions open \(runner\.maxSessions\)/,
  );
  // The top-level defaultServer answers at /mcp: s, which is full too.
  const [rootFull] = await statusOf(
    await postTo(runner, "/mcp", initializeRequest()),
  );
  assert.equal(rootFull, 503);
  // p is per-session with one child started ahead.
  assert.ok(
    await waitFor(() => /p: http/.test(runner.stderr()), 5_000),
  );
  let servers: Json[] = [];
  for (let i = 0; i < 100; i++) {
    servers = (await (await fetch(`${runner.httpUrl}/status`)).json()).servers;
    if ((servers[1]!.pids as number[]).length === 1) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal((servers[1]!.pids as number[]).length, 1, "p's pool child");
  assert.deepEqual(
    servers.map((s) => [s.name, s.mode, s.maxSessions ?? null]),
    [["s", "shared", 1], ["p", "per-session", null]],
  );
  assert.equal((servers[0]!.pids as number[]).length, 1, "one shared child");
  assert.equal(servers[0]!.protocolVersion, "2025-11-25");
  assert.equal((servers[0]!.serverInfo as Json).name, "mcp-fixture");
  const p = await openSession(runner, "/servers/p/mcp");
  assert.equal(
    (await callOn(runner, "/servers/p/mcp", p, "fixture/argv")).args
      ?.toString().endsWith("P"),
    true,
  );
});

Deno.test("config file with a token: /status, /metrics and every server need it; an EventSource may send it in the query of /servers/NAME/sse", async () => {
  await using config = await configDir({ a: fixture("A") });
  const token = "servers-test-token-0123456789";
  await using runner = await startRunner(["--config", config.file], {
    env: { AUTH_TOKEN: token },
  });
  for (const path of ["/status", "/metrics", "/servers/a/sse"]) {
    const response = await fetch(`${runner.httpUrl}${path}`, {
      headers: { accept: "text/event-stream" },
    });
    assert.equal(response.status, 401, path);
    await response.body?.cancel();
  }
  // /readyz needs no token, but says why only to callers with one.
  await using broken = await configDir({
    x: { command: "no-such-program-77" },
  });
  await using other = await startRunner(["--config", broken.file], {
    env: { AUTH_TOKEN: token },
  });
  const anonymous = await fetch(`${other.httpUrl}/readyz`);
  assert.equal(anonymous.status, 503);
  const anonymousText = await anonymous.text();
  assert.ok(!anonymousText.includes("no-such-program-77"), anonymousText);
  assert.ok(!anonymousText.includes('"x"'), anonymousText);
  const known = await fetch(`${other.httpUrl}/readyz`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(known.status, 503);
  assert.match(await known.text(), /no-such-program-77/);
  const denied = await postTo(runner, "/servers/a/mcp", initializeRequest());
  assert.equal(denied.status, 401);
  await denied.body?.cancel();
  const status = await fetch(`${runner.httpUrl}/status`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(status.status, 200);
  assert.ok(!(await status.text()).includes(token), "no token in /status");
  const stream = await fetch(
    `${runner.httpUrl}/servers/a/sse?access_token=${token}`,
    { headers: { accept: "text/event-stream" } },
  );
  assert.equal(stream.status, 200);
  await stream.body?.cancel();
  assert.ok(!runner.stderr().includes(token), "no token in the log");
});

Deno.test("config file: a crash-looping shared server restarts on its own while the others serve", async () => {
  const shared = new URL("./fixtures/shared_fixture.ts", import.meta.url)
    .pathname;
  await using config = await configDir({
    crash: {
      command: DENO,
      args: ["run", "-A", shared, "--exit-at-start=3"],
      runner: { mode: "shared" },
    },
    ok: fixture("OK"),
  });
  await using runner = await startRunner(["--config", config.file]);
  let crash: Json = {};
  for (let i = 0; i < 100; i++) {
    const status = await (await fetch(`${runner.httpUrl}/status`)).json();
    crash = (status.servers as Json[])[0]!;
    if ((crash.restarts as number) >= 2) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok((crash.restarts as number) >= 2, JSON.stringify(crash));
  assert.equal(crash.state, "restarting");
  assert.equal((crash.lastExit as Json).code, 3);
  assert.equal(typeof crash.nextAttemptAt, "string");
  // The other server is not touched.
  const ok = await openSession(runner, "/servers/ok/mcp");
  assert.deepEqual(
    (await callOn(runner, "/servers/ok/mcp", ok, "fixture/argv")).args
      ?.toString().endsWith("OK"),
    true,
  );
  const ready = await fetch(`${runner.httpUrl}/readyz?server=ok`);
  assert.equal(ready.status, 200, await ready.text());
  const all = await fetch(`${runner.httpUrl}/readyz`);
  assert.equal(all.status, 503);
  assert.match((await all.json()).reason, /^crash: /);
});

Deno.test("config file: an MCP 2026-07-28 request at /servers/NAME/mcp reaches NAME (server/discover and tools/call)", async () => {
  const shared = new URL("./fixtures/shared_fixture.ts", import.meta.url)
    .pathname;
  await using config = await configDir({
    a: fixture("A"),
    b: { command: DENO, args: ["run", "-A", shared] },
  });
  await using runner = await startRunner(["--config", config.file]);
  const modern = (method: string, params: Json = {}) =>
    fetch(`${runner.httpUrl}/servers/b/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": method,
        ...(typeof params.name === "string" ? { "mcp-name": params.name } : {}),
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: "m1",
        method,
        params: {
          ...params,
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": { name: "m", version: "1" },
          },
        },
      }),
    });
  const discover = await modern("server/discover");
  const body = await discover.json();
  assert.equal(discover.status, 200, JSON.stringify(body));
  assert.equal(body.id, "m1");
  assert.deepEqual(body.result.supportedVersions, ["2026-07-28"]);
  assert.equal(
    body.result._meta["io.modelcontextprotocol/serverInfo"].name,
    "shared-fixture",
    "b's server, not a's",
  );
  const called = await modern("tools/call", {
    name: "echo",
    arguments: { text: "to b" },
  });
  const answer = await called.json();
  assert.equal(called.status, 200, JSON.stringify(answer));
  assert.equal(answer.result.content[0].text, "to b");
});

Deno.test("config file reload: a root-path session keeps its server when the default changes; a server whose program was missing is set up again; /status shows removed servers while they end", async () => {
  await using config = await configDir({ a: fixture("A1") });
  const tool = `${config.dir}/bin/tool`;
  await using runner = await startRunner([
    "--config",
    config.file,
    "--reload-grace-seconds",
    "30",
  ]);
  const argv = async (path: string, session: string) =>
    ((await callOn(runner, path, session, "fixture/argv")).args as string[])
      .at(-1);
  // a is the only server, so also the default at /mcp.
  const root = await openSession(runner, "/mcp");
  assert.equal(await argv("/mcp", root), "A1");
  await writeConfig(config.file, {
    a: fixture("A2"),
    b: { command: tool, args: [...FIXTURE_ARGS, "B"] },
    c: fixture("C"),
  });
  const reloads = () =>
    runner.stderr().match(/Reloaded the config file/g)?.length ?? 0;
  runner.process.kill("SIGHUP");
  assert.ok(await waitFor(() => reloads() === 1, 10_000), runner.stderr());
  // Three servers now: no default; the live root session still reaches its
  // child, new root sessions are refused.
  assert.equal(await argv("/mcp", root), "A1");
  const [noDefault] = await statusOf(
    await postTo(runner, "/mcp", initializeRequest()),
  );
  assert.equal(noDefault, 404);
  const [missing] = await statusOf(
    await postTo(runner, "/servers/b/mcp", initializeRequest()),
  );
  assert.equal(missing, 503);
  // The program appears; the same file, reloaded, serves b.
  await Deno.mkdir(`${config.dir}/bin`);
  await Deno.writeTextFile(tool, `#!/bin/sh\nexec "${DENO}" "$@"\n`);
  await Deno.chmod(tool, 0o755);
  runner.process.kill("SIGHUP");
  assert.ok(await waitFor(() => reloads() === 2, 10_000), runner.stderr());
  const b = await openSession(runner, "/servers/b/mcp");
  assert.equal(await argv("/servers/b/mcp", b), "B");
  // Removing c: /status shows it removed, with its live session.
  const c = await openSession(runner, "/servers/c/mcp");
  await writeConfig(config.file, {
    a: fixture("A2"),
    b: { command: tool, args: [...FIXTURE_ARGS, "B"] },
  });
  runner.process.kill("SIGHUP");
  assert.ok(await waitFor(() => reloads() === 3, 10_000), runner.stderr());
  const status = await (await fetch(`${runner.httpUrl}/status`)).json();
  const byName = Object.fromEntries(
    (status.servers as Json[]).map((s) => [s.name, s]),
  );
  assert.equal(byName.c.state, "removed");
  assert.equal((byName.c.sessions as Json[]).length, 1);
  // a's replaced mount still holds the root session: it shows under a.
  assert.equal((byName.a.sessions as Json[]).length, 1);
  assert.equal(await argv("/servers/c/mcp", c), "C", "c's session goes on");
  const metrics = await (await fetch(`${runner.httpUrl}/metrics`)).text();
  const rows = metrics.split("\n").filter((line) =>
    line.startsWith('mcp_runner_sessions_total{server="a",')
  );
  assert.equal(rows.length, 1, "one row per server and transport");
});

Deno.test("config file: runner.maxSessions ends the server's least recently active idle session to admit a new one", async () => {
  await using config = await configDir({
    s: fixture("S", { runner: { maxSessions: 1 } }),
  });
  await using runner = await startRunner(["--config", config.file]);
  const first = await openSession(runner, "/servers/s/mcp");
  const second = await openSession(runner, "/servers/s/mcp");
  assert.notEqual(first, second);
  assert.match(runner.stderr(), /sessions are at runner\.maxSessions of s/);
  const [gone] = await statusOf(
    await postTo(runner, "/servers/s/mcp", request(1, "ping"), first),
  );
  assert.equal(gone, 404);
  assert.equal(
    (await callOn(runner, "/servers/s/mcp", second, "fixture/argv")).args
      ?.toString().endsWith("S"),
    true,
  );
});

for (const grace of [10, 0]) {
  Deno.test(
    `config file reload: a 2026-07-28 call running on a removed server ${
      grace > 0
        ? "still gets its answer within the grace"
        : "past the grace gets an error, never no answer"
    }`,
    async () => {
      const shared = new URL("./fixtures/shared_fixture.ts", import.meta.url)
        .pathname;
      await using config = await configDir({
        a: fixture("A"),
        b: { command: DENO, args: ["run", "-A", shared] },
      });
      await using runner = await startRunner([
        "--config",
        config.file,
        "--reload-grace-seconds",
        String(grace),
      ]);
      const call = fetch(`${runner.httpUrl}/servers/b/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          "mcp-protocol-version": "2026-07-28",
          "mcp-method": "tools/call",
          "mcp-name": "slow",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: "slow-1",
          method: "tools/call",
          params: {
            name: "slow",
            arguments: { ms: 1500 },
            _meta: {
              "io.modelcontextprotocol/protocolVersion": "2026-07-28",
              "io.modelcontextprotocol/clientCapabilities": {},
              "io.modelcontextprotocol/clientInfo": { name: "m", version: "1" },
            },
          },
        }),
      });
      // The call is at the child before the reload.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await writeConfig(config.file, { a: fixture("A") });
      runner.process.kill("SIGHUP");
      const response = await call;
      const body = await response.json();
      assert.equal(body.id, "slow-1", JSON.stringify(body));
      if (grace > 0) {
        assert.equal(response.status, 200, JSON.stringify(body));
        assert.equal(body.result.isError ?? false, false, JSON.stringify(body));
      } else {
        assert.match(body.error.message, /the MCP server was stopped/);
      }
      assert.match(runner.stderr(), /removed b/);
    },
  );
}
