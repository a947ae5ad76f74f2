/**
 * Security tests: bearer-token authentication on every transport, secrets
 * kept out of logs and out of the child's environment, the child's
 * environment options, the token policy, TLS, `/metrics`, `/readyz` and the
 * access log. Real runner subprocesses, real sockets, listening on 127.0.0.1
 * only.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  MAX_SUBPROTOCOLS_EXAMINED,
  presentedTokens,
  TOKEN_QUERY_PARAMETER,
  TokenAuth,
  tokensFor,
} from "../lib/security/auth.ts";
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

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

type Json = Record<string, unknown>;

/** A fresh token: letters and digits only, so it is a valid subprotocol. */
function newToken(): string {
  return "tok" + crypto.randomUUID().replaceAll("-", "");
}

const JSON_ONLY = "application/json";
const PROTOCOL_VERSION = "2025-11-25";

function initializeBody(id: string | number = 0): Json {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: "security-test", version: "1.0.0" },
    },
  };
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** POSTs a message to `/mcp` in JSON mode. */
function postMcp(
  base: string,
  body: unknown,
  headers: Record<string, string> = {},
  client?: Deno.HttpClient,
): Promise<Response> {
  return fetch(`${base}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: JSON_ONLY,
      ...headers,
    },
    body: JSON.stringify(body),
    ...(client ? { client } : {}),
  });
}

/**
 * Runs initialize and one ping over Streamable HTTP, then deletes the
 * session.
 *
 * @returns The initialize result.
 */
async function httpRoundTrip(
  base: string,
  headers: Record<string, string>,
  client?: Deno.HttpClient,
): Promise<Json> {
  const init = await postMcp(base, initializeBody(), headers, client);
  const text = await init.text();
  assert.equal(init.status, 200, text);
  const session = init.headers.get("mcp-session-id");
  assert.ok(session, "initialize returns Mcp-Session-Id");
  const body = JSON.parse(text);
  assert.equal(body.id, 0);
  const ping = await postMcp(
    base,
    { jsonrpc: "2.0", id: 1, method: "ping" },
    {
      ...headers,
      "mcp-session-id": session,
      "mcp-protocol-version": PROTOCOL_VERSION,
    },
    client,
  );
  assert.equal(ping.status, 200);
  assert.deepEqual(await ping.json(), { jsonrpc: "2.0", id: 1, result: {} });
  const deleted = await fetch(`${base}/mcp`, {
    method: "DELETE",
    headers: { ...headers, "mcp-session-id": session },
    ...(client ? { client } : {}),
  });
  await deleted.body?.cancel();
  assert.equal(deleted.status, 200);
  return body.result as Json;
}

/** Checks a 401: status, `WWW-Authenticate: Bearer`, a JSON-RPC error body. */
async function expect401(response: Response, what: string): Promise<void> {
  const text = await response.text();
  assert.equal(response.status, 401, `${what}: ${text}`);
  assert.match(
    response.headers.get("www-authenticate") ?? "",
    /^Bearer\b/,
    `${what}: WWW-Authenticate`,
  );
  const body = JSON.parse(text);
  assert.equal(body.jsonrpc, "2.0");
  assert.equal(body.id, null);
  assert.equal(body.error.code, -32000);
}

const WS_UPGRADE_HEADERS = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

/** A response read over raw TCP. */
interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * Sends a hand-written request over TCP and reads the head (and the body,
 * by content-length, unless the answer is 101).
 */
async function rawRequest(
  port: number,
  head: string[],
  timeoutMs = 5000,
): Promise<RawResponse> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // closed
    }
  }, timeoutMs);
  try {
    await conn.write(encoder.encode(head.join("\r\n") + "\r\n\r\n"));
    let received = "";
    const chunk = new Uint8Array(16 * 1024);
    for (;;) {
      const at = received.indexOf("\r\n\r\n");
      if (at !== -1) {
        const [statusLine = "", ...lines] = received.slice(0, at).split(
          "\r\n",
        );
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
        const headers = new Headers(lines.map((line) => {
          const colon = line.indexOf(":");
          return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
        }));
        const body = received.slice(at + 4);
        const length = Number(headers.get("content-length") ?? "0");
        if (status === 101 || encoder.encode(body).length >= length) {
          return { status, headers, body };
        }
      }
      const n = await conn.read(chunk);
      if (n === null) throw new Error(`Cannot read: closed after ${received}`);
      received += decoder.decode(chunk.subarray(0, n), { stream: true });
    }
  } catch (error) {
    if (timedOut) throw new Error(`Cannot read: no answer in ${timeoutMs} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
}

/** The head of a WebSocket handshake on `path`. */
function wsHandshake(
  port: number,
  path = "/",
  extra: string[] = [],
): string[] {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...extra,
  ];
}

/** Opens a WebSocket and expects the handshake to fail. */
async function expectWsRefused(
  url: string,
  protocols: string[],
): Promise<void> {
  const socket = new WebSocket(url, protocols);
  const closed = new Promise<CloseEvent>((resolve) =>
    socket.addEventListener("close", resolve, { once: true })
  );
  let opened = false;
  socket.addEventListener("open", () => {
    opened = true;
    socket.close();
  }, { once: true });
  socket.addEventListener("error", () => {}, { once: true });
  await closed;
  assert.equal(opened, false, `the WebSocket to ${url} must not open`);
}

/** Connects a WebSocket, checks the `mcp` subprotocol and a ping round trip. */
async function wsPing(url: string, protocols: string[]): Promise<void> {
  await using client = await TestClient.connect(url, protocols);
  assert.equal(client.socket.protocol, "mcp");
  assert.deepEqual(await client.request("p", "ping"), {
    jsonrpc: "2.0",
    id: "p",
    result: {},
  });
}

/** The child's environment, read with `fixture/env` over a WebSocket. */
async function childEnv(
  runner: RunningRunner,
  protocols: string[] = ["mcp"],
): Promise<Record<string, string>> {
  await using client = await TestClient.connect(runner.wsUrl, protocols);
  const reply = await client.request("env", "fixture/env");
  return (reply.result as { env: Record<string, string> }).env;
}

/** Fetches `/metrics` and returns its text (expecting 200). */
async function scrape(
  runner: RunningRunner,
  headers: Record<string, string> = {},
): Promise<string> {
  const response = await fetch(`${runner.httpUrl}/metrics`, { headers });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return text;
}

/** The value of one series (name and labels, exactly as rendered). */
function metric(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) {
      return Number(line.slice(series.length + 1));
    }
  }
  return undefined;
}

/** How many children the runner logged as started. */
function spawnedChildren(runner: RunningRunner): number {
  return (runner.stderr().match(/Session \S+ started .* \(pid \d+\)/g) ?? [])
    .length;
}

/** A temporary directory, removed on dispose. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "mcp-security-test-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
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

/** Reads SSE events (blocks with data) from a response body, with a timeout. */
class EventReader implements AsyncDisposable {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #decoder = new TextDecoder();
  #buffer = "";

  constructor(response: Response) {
    assert.equal(
      response.headers.get("content-type")?.split(";")[0],
      "text/event-stream",
    );
    assert.ok(response.body);
    this.#reader = response.body.getReader();
  }

  /** The next event that carries data. */
  async next(timeoutMs = 5000): Promise<{ event: string; data: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.#buffer.indexOf("\n\n");
      if (at !== -1) {
        const block = this.#buffer.slice(0, at);
        this.#buffer = this.#buffer.slice(at + 2);
        let event = "message";
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (data.length > 0 && data.join("") !== "") {
          return { event, data: data.join("\n") };
        }
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const result = await Promise.race([
        this.#reader.read(),
        new Promise<"timeout">((resolve) =>
          timer = setTimeout(
            () => resolve("timeout"),
            Math.max(deadline - Date.now(), 1),
          )
        ),
      ]);
      clearTimeout(timer);
      if (result === "timeout") {
        await this.#reader.cancel();
        throw new Error(`Cannot read: no SSE event within ${timeoutMs} ms`);
      }
      if (result.done) throw new Error("Cannot read: the SSE stream ended");
      this.#buffer += this.#decoder.decode(result.value, { stream: true })
        .replaceAll("\r\n", "\n");
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** Runs `main.ts` to its exit and returns the code and stderr. */
async function runToExit(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
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
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

// ---------------------------------------------------------------------------
// 1. Authentication
// ---------------------------------------------------------------------------

Deno.test("auth: requests without a valid token get 401 on every path and spawn nothing", async () => {
  const token = newToken();
  await using runner = await startRunner([
    "--auth-token",
    token,
    "--",
    ...FIXTURE,
  ]);
  const base = runner.httpUrl;
  const sameLength = token.slice(0, -1) + (token.endsWith("0") ? "1" : "0");
  const badHeaders: [string, Record<string, string>][] = [
    ["no token", {}],
    ["wrong token of the same length", bearer(sameLength)],
    ["longer token", bearer(token + "x")],
    ["shorter token", bearer(token.slice(0, -1))],
    ["other token", bearer(newToken())],
    ["Bearer typo", { authorization: `Baerer ${token}` }],
    ["Bearer without a space", { authorization: `Bearer${token}` }],
    ["Bearer with a colon", { authorization: `Bearer: ${token}` }],
    ["Basic scheme", { authorization: `Basic ${token}` }],
    ["bare token", { authorization: token }],
    ["token in another header", { "x-auth-token": token }],
  ];
  let refusals = 0;
  for (const [what, headers] of badHeaders) {
    await expect401(
      await postMcp(base, initializeBody(), headers),
      `POST /mcp, ${what}`,
    );
    await expect401(
      await fetch(`${base}/sse`, {
        headers: { accept: "text/event-stream", ...headers },
      }),
      `GET /sse, ${what}`,
    );
    await expect401(
      await fetch(`${base}/`, {
        headers: { ...WS_UPGRADE_HEADERS, ...headers },
      }),
      `WebSocket upgrade, ${what}`,
    );
    await expect401(
      await fetch(`${base}/metrics`, { headers }),
      `GET /metrics, ${what}`,
    );
    await expect401(await fetch(`${base}/`, { headers }), `GET /, ${what}`);
    await expect401(
      await fetch(`${base}/message?sessionId=x`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: "{}",
      }),
      `POST /message, ${what}`,
    );
    refusals += 6;
  }
  // The browser forms are only accepted where a browser cannot set headers.
  await expect401(
    await fetch(`${base}/mcp?${TOKEN_QUERY_PARAMETER}=${token}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: JSON_ONLY },
      body: JSON.stringify(initializeBody()),
    }),
    "POST /mcp with the token in the query",
  );
  refusals++;
  await expect401(
    await postMcp(base, initializeBody(), {
      "sec-websocket-protocol": `mcp, mcp.auth.${token}`,
    }),
    "POST /mcp with the token as a subprotocol",
  );
  await expect401(
    await fetch(`${base}/metrics?${TOKEN_QUERY_PARAMETER}=${token}`),
    "GET /metrics with the token in the query",
  );
  refusals += 2;
  // Wrong tokens in the browser forms of a WebSocket upgrade.
  for (
    const extra of [
      [`Sec-WebSocket-Protocol: mcp, mcp.auth.${sameLength}`],
      [`Sec-WebSocket-Protocol: mcp, mcp.auth.`],
      [`Sec-WebSocket-Protocol: mcp, mcp.auth.${token}x`],
    ]
  ) {
    const raw = await rawRequest(
      runner.port,
      wsHandshake(runner.port, "/", extra),
    );
    assert.equal(raw.status, 401, extra[0]);
    assert.match(raw.headers.get("www-authenticate") ?? "", /^Bearer\b/);
    refusals++;
  }
  const wrongQuery = await rawRequest(
    runner.port,
    wsHandshake(
      runner.port,
      `/?${TOKEN_QUERY_PARAMETER}=${sameLength}`,
      ["Sec-WebSocket-Protocol: mcp"],
    ),
  );
  assert.equal(wrongQuery.status, 401);
  assert.match(wrongQuery.headers.get("www-authenticate") ?? "", /^Bearer\b/);
  refusals++;
  const wrongSseQuery = await fetch(
    `${base}/sse?${TOKEN_QUERY_PARAMETER}=${sameLength}`,
    { headers: { accept: "text/event-stream" } },
  );
  await expect401(wrongSseQuery, "GET /sse with a wrong query token");
  refusals++;
  // A WebSocket client sees the connection fail.
  await expectWsRefused(runner.wsUrl, ["mcp"]);
  await expectWsRefused(runner.wsUrl, ["mcp", `mcp.auth.${sameLength}`]);
  await expectWsRefused(
    `${runner.wsUrl}?${TOKEN_QUERY_PARAMETER}=${sameLength}`,
    ["mcp"],
  );
  refusals += 3;

  // Nothing was spawned, and every refusal was counted.
  assert.equal(spawnedChildren(runner), 0, runner.stderr());
  const text = await scrape(runner, bearer(token));
  assert.equal(
    metric(text, 'mcp_runner_child_spawns_total{result="ok"}'),
    undefined,
  );
  assert.equal(
    metric(text, 'mcp_runner_refused_total{reason="auth"}'),
    refusals,
  );
  assert.match(
    runner.stderr(),
    /Refused POST \/mcp: missing or wrong bearer token/,
  );
});

Deno.test("auth: the right token works in the header, subprotocol and query forms; health stays open", async () => {
  const token = newToken();
  await using runner = await startRunner([
    "--auth-token",
    token,
    "--",
    ...FIXTURE,
  ]);
  const base = runner.httpUrl;
  // Streamable HTTP with the header.
  const result = await httpRoundTrip(base, bearer(token));
  assert.deepEqual(result.serverInfo, {
    name: "mcp-fixture",
    version: "1.0.0",
  });
  // Case-insensitive scheme, extra spaces.
  const lower = await postMcp(base, initializeBody(), {
    authorization: `bearer   ${token}`,
  });
  await lower.body?.cancel();
  assert.equal(lower.status, 200);
  const lowerSession = lower.headers.get("mcp-session-id");
  assert.ok(lowerSession);
  const deleted = await fetch(`${base}/mcp`, {
    method: "DELETE",
    headers: { ...bearer(token), "mcp-session-id": lowerSession },
  });
  await deleted.body?.cancel();
  assert.equal(deleted.status, 200);

  // WebSocket: the subprotocol form (the server answers plain "mcp").
  await wsPing(runner.wsUrl, ["mcp", `mcp.auth.${token}`]);
  // The subprotocol form on any non-reserved path.
  await wsPing(`${runner.wsUrl}some/path`, ["mcp", `mcp.auth.${token}`]);
  // The query form.
  await wsPing(`${runner.wsUrl}?${TOKEN_QUERY_PARAMETER}=${token}`, ["mcp"]);
  // The header form on a hand-made upgrade.
  const upgraded = await rawRequest(
    runner.port,
    wsHandshake(runner.port, "/", [
      "Sec-WebSocket-Protocol: mcp",
      `Authorization: Bearer ${token}`,
    ]),
  );
  assert.equal(upgraded.status, 101);
  assert.equal(upgraded.headers.get("sec-websocket-protocol"), "mcp");

  // Legacy SSE: the query form and the header.
  for (
    const [url, headers] of [
      [`${base}/sse?${TOKEN_QUERY_PARAMETER}=${token}`, {}],
      [`${base}/sse`, bearer(token)],
    ] as const
  ) {
    const sse = await fetch(url, {
      headers: { accept: "text/event-stream", ...headers },
    });
    assert.equal(sse.status, 200);
    assert.equal(
      sse.headers.get("content-type")?.split(";")[0],
      "text/event-stream",
    );
    await sse.body?.cancel();
  }

  // /metrics with the token.
  await scrape(runner, bearer(token));

  // /healthz and /readyz need no token.
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
  assert.equal((await health.json()).status, "ok");
  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: "ready" });
});

Deno.test("auth: a session id is no substitute for the token", async () => {
  const token = newToken();
  await using runner = await startRunner([
    "--auth-token",
    token,
    "--",
    ...FIXTURE,
  ]);
  const base = runner.httpUrl;
  // Streamable HTTP: a follow-up request with the session id but no token.
  const init = await postMcp(base, initializeBody(), bearer(token));
  await init.body?.cancel();
  assert.equal(init.status, 200);
  const session = init.headers.get("mcp-session-id");
  assert.ok(session);
  const follow = {
    "mcp-session-id": session,
    "mcp-protocol-version": PROTOCOL_VERSION,
  };
  await expect401(
    await postMcp(base, { jsonrpc: "2.0", id: 1, method: "ping" }, follow),
    "POST /mcp with a session id and no token",
  );
  await expect401(
    await fetch(`${base}/mcp`, {
      headers: { accept: "text/event-stream", ...follow },
    }),
    "GET /mcp with a session id and no token",
  );
  await expect401(
    await fetch(`${base}/mcp`, { method: "DELETE", headers: follow }),
    "DELETE /mcp with a session id and no token",
  );
  const ping = await postMcp(
    base,
    { jsonrpc: "2.0", id: 2, method: "ping" },
    { ...follow, ...bearer(token) },
  );
  assert.equal(ping.status, 200, "the session survived the refusals");
  assert.deepEqual(await ping.json(), { jsonrpc: "2.0", id: 2, result: {} });
  const deleted = await fetch(`${base}/mcp`, {
    method: "DELETE",
    headers: { ...follow, ...bearer(token) },
  });
  await deleted.body?.cancel();
  assert.equal(deleted.status, 200);

  // Legacy SSE: the stream opened with the query token, messages POSTed
  // with the header; without it they are refused.
  await using events = new EventReader(
    await fetch(`${base}/sse?${TOKEN_QUERY_PARAMETER}=${token}`, {
      headers: { accept: "text/event-stream" },
    }),
  );
  const endpoint = await events.next();
  assert.equal(endpoint.event, "endpoint");
  assert.ok(
    !endpoint.data.includes(token),
    "the endpoint URL does not echo the token",
  );
  const messageUrl = new URL(endpoint.data, base).href;
  const send = (headers: Record<string, string>, id: number) =>
    fetch(messageUrl, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ jsonrpc: "2.0", id, method: "ping" }),
    });
  await expect401(await send({}, 1), "POST /message without a token");
  await expect401(
    await fetch(`${messageUrl}&${TOKEN_QUERY_PARAMETER}=${token}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    }),
    "POST /message with the token in the query",
  );
  const accepted = await send(bearer(token), 3);
  await accepted.body?.cancel();
  assert.equal(accepted.status, 202);
  assert.deepEqual(JSON.parse((await events.next()).data), {
    jsonrpc: "2.0",
    id: 3,
    result: {},
  });
});

Deno.test("auth: the token subprotocol is never echoed back", async () => {
  const token = newToken();
  await using runner = await startRunner([
    "--auth-token",
    token,
    "--",
    ...FIXTURE,
  ]);
  const only = await rawRequest(
    runner.port,
    wsHandshake(runner.port, "/", [
      `Sec-WebSocket-Protocol: mcp.auth.${token}`,
    ]),
  );
  assert.equal(only.status, 101);
  assert.equal(only.headers.get("sec-websocket-protocol"), null);
  const both = await rawRequest(
    runner.port,
    wsHandshake(runner.port, "/", [
      `Sec-WebSocket-Protocol: mcp.auth.${token}, mcp`,
    ]),
  );
  assert.equal(both.status, 101);
  assert.equal(both.headers.get("sec-websocket-protocol"), "mcp");
});

Deno.test("auth: only the first mcp.auth. subprotocol counts, however many are offered", async () => {
  const token = newToken();
  await using runner = await startRunner([
    "--auth-token",
    token,
    "--",
    ...FIXTURE,
  ]);
  const handshake = (protocols: string) =>
    rawRequest(
      runner.port,
      wsHandshake(runner.port, "/", [`Sec-WebSocket-Protocol: ${protocols}`]),
    );
  const expectRefused = async (protocols: string, what: string) => {
    const raw = await handshake(protocols);
    assert.equal(raw.status, 401, what);
    assert.match(
      raw.headers.get("www-authenticate") ?? "",
      /^Bearer realm="mcp-server-runner", error="invalid_token"/,
      what,
    );
    const body = JSON.parse(raw.body);
    assert.equal(body.id, null, what);
    assert.match(body.error.message, /^Unauthorized: /, what);
  };
  const wrong = newToken();
  // The right token after a wrong one is never looked at.
  await expectRefused(
    `mcp, mcp.auth.${wrong}, mcp.auth.${token}`,
    "right token second",
  );
  // Short entries: the header must stay under the server's 64 KiB limit.
  const many = Array.from({ length: 3500 }, (_, i) => `mcp.auth.w${i}`);
  await expectRefused(["mcp", ...many].join(", "), "3,500 wrong tokens");
  await expectRefused(
    ["mcp", ...many, `mcp.auth.${token}`].join(", "),
    "3,500 wrong tokens, then the right one",
  );
  // The right token first: accepted, whatever follows.
  const first = await handshake(
    [`mcp.auth.${token}`, "mcp", ...many].join(", "),
  );
  assert.equal(first.status, 101);
  assert.equal(first.headers.get("sec-websocket-protocol"), "mcp");
  const second = await handshake(`mcp, mcp.auth.${token}, mcp.auth.${wrong}`);
  assert.equal(second.status, 101);
  assert.match(
    runner.stderr(),
    /Refused GET \/: missing or wrong bearer token: the token sent is not accepted \(401\)/,
  );
});

Deno.test("auth: a 401 says how to send the token, with an RFC 6750 challenge", async () => {
  const token = newToken();
  await using runner = await startRunner([
    "--auth-token",
    token,
    "--",
    ...FIXTURE,
  ]);
  const howTo =
    'send the token as "Authorization: Bearer <token>" (WebSocket from a browser: subprotocol mcp.auth.<token>)';
  const read = async (response: Response) => {
    const text = await response.text();
    assert.equal(response.status, 401, text);
    return {
      challenge: response.headers.get("www-authenticate"),
      message: JSON.parse(text).error.message,
    };
  };
  // No credentials (or another scheme): a bare challenge, no error code.
  for (
    const headers of [{}, { authorization: `Basic ${btoa("a:b")}` }] as Record<
      string,
      string
    >[]
  ) {
    assert.deepEqual(
      await read(await postMcp(runner.httpUrl, initializeBody(), headers)),
      {
        challenge: 'Bearer realm="mcp-server-runner"',
        message: `Unauthorized: ${howTo}`,
      },
    );
  }
  // A wrong token: invalid_token, with a description.
  const wrongToken = {
    challenge:
      'Bearer realm="mcp-server-runner", error="invalid_token", error_description="The bearer token is not accepted: send Authorization: Bearer <token>"',
    message: `Unauthorized: the token is not accepted: ${howTo}`,
  };
  assert.deepEqual(
    await read(
      await postMcp(runner.httpUrl, initializeBody(), bearer(newToken())),
    ),
    wrongToken,
  );
  assert.deepEqual(
    await read(
      await fetch(`${runner.httpUrl}/sse?${TOKEN_QUERY_PARAMETER}=wrong`, {
        headers: { accept: "text/event-stream" },
      }),
    ),
    wrongToken,
  );
  assert.match(
    runner.stderr(),
    /Refused POST \/mcp: missing or wrong bearer token: none was sent \(401\)/,
  );
  assert.equal(spawnedChildren(runner), 0);
});

Deno.test("auth: /.well-known/* gets 404 without a token (no OAuth here); Origin and Host are still checked", async () => {
  const token = newToken();
  await using runner = await startRunner([
    "--auth-token",
    token,
    "--",
    ...FIXTURE,
  ]);
  const base = runner.httpUrl;
  // What OAuth-capable clients (MCP Inspector v2) probe after a 401.
  for (
    const path of [
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/mcp",
      "/.well-known/oauth-authorization-server",
      "/.well-known/openid-configuration",
    ]
  ) {
    const response = await fetch(`${base}${path}`, {
      headers: { origin: "http://localhost:6274" },
    });
    const text = await response.text();
    assert.equal(response.status, 404, `${path}: ${text}`);
    assert.equal(response.headers.get("www-authenticate"), null);
    assert.equal(
      response.headers.get("access-control-allow-origin"),
      "http://localhost:6274",
      "a browser client can read it",
    );
    const body = JSON.parse(text);
    assert.equal(body.id, null);
    assert.equal(body.error.code, -32000);
    assert.equal(
      body.error.message,
      'Not Found: this runner uses a static bearer token, not OAuth: send the token as "Authorization: Bearer <token>" (WebSocket from a browser: subprotocol mcp.auth.<token>)',
    );
  }
  const head = await fetch(`${base}/.well-known/oauth-protected-resource`, {
    method: "HEAD",
  });
  await head.body?.cancel();
  assert.equal(head.status, 404);
  // Origin and Host come first.
  const evilOrigin = await fetch(
    `${base}/.well-known/oauth-protected-resource`,
    {
      headers: { origin: "https://evil.example" },
    },
  );
  await evilOrigin.body?.cancel();
  assert.equal(evilOrigin.status, 403);
  const evilHost = await rawRequest(runner.port, [
    "GET /.well-known/oauth-protected-resource HTTP/1.1",
    "Host: evil.example",
    "Connection: close",
  ]);
  assert.equal(evilHost.status, 403);
  // Anything but a GET still needs the token.
  await expect401(
    await fetch(`${base}/.well-known/oauth-protected-resource`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    }),
    "POST /.well-known/...",
  );
  assert.equal(spawnedChildren(runner), 0);
});

Deno.test("auth: a preflight needs no token and starts nothing", async () => {
  const token = newToken();
  await using runner = await startRunner([
    "--auth-token",
    token,
    "--",
    ...FIXTURE,
  ]);
  const preflight = await fetch(`${runner.httpUrl}/mcp`, {
    method: "OPTIONS",
    headers: {
      origin: "http://localhost:3000",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  });
  await preflight.body?.cancel();
  assert.equal(preflight.status, 204);
  assert.match(
    preflight.headers.get("access-control-allow-headers") ?? "",
    /Authorization/,
  );
  // A cross-origin 401 is readable by the page (CORS headers on the refusal).
  const refused = await postMcp(runner.httpUrl, initializeBody(), {
    origin: "http://localhost:3000",
  });
  assert.equal(
    refused.headers.get("access-control-allow-origin"),
    "http://localhost:3000",
  );
  await expect401(refused, "cross-origin POST without a token");
  assert.equal(spawnedChildren(runner), 0);
});

Deno.test("auth: a bad token is refused at startup without showing its value", async () => {
  const cases: [string, string[], Record<string, string>][] = [
    ["15 characters", ["--auth-token", "short-token-123"], {}],
    ["a forbidden character", ["--auth-token", "valid-length-token!"], {}],
    ["from AUTH_TOKEN", [], {
      AUTH_TOKEN: "good-token-0123456789,tiny-secret",
    }],
    [
      "with --no-auth",
      ["--no-auth", "--auth-token", "secret-token-0123456789"],
      {},
    ],
    [
      "passed to the child with --pass-env",
      ["--clean-env", "--pass-env", "AUTH_TOKEN"],
      { AUTH_TOKEN: "secret-token-0123456789" },
    ],
  ];
  for (const [what, args, env] of cases) {
    const { code, stderr } = await runToExit([...args, "--", ...FIXTURE], env);
    assert.equal(code, 2, `${what}: ${stderr}`);
    assert.match(stderr, /^Cannot start: /, what);
    for (
      const secret of [
        "short-token-123",
        "valid-length-token",
        "tiny-secret",
        "secret-token-0123456789",
        "good-token-0123456789",
      ]
    ) {
      assert.ok(
        !stderr.includes(secret),
        `${what}: the value is shown: ${stderr}`,
      );
    }
  }
});

Deno.test("auth: two tokens from AUTH_TOKEN=a,b both work (rotation)", async () => {
  const first = newToken();
  const second = newToken();
  await using runner = await startRunner(["--", ...FIXTURE], {
    env: { AUTH_TOKEN: `${first},${second}` },
  });
  for (const token of [first, second]) {
    await httpRoundTrip(runner.httpUrl, bearer(token));
    await wsPing(runner.wsUrl, ["mcp", `mcp.auth.${token}`]);
    await scrape(runner, bearer(token));
  }
  await expect401(
    await postMcp(runner.httpUrl, initializeBody(), bearer(newToken())),
    "a third token",
  );
  await expect401(
    await postMcp(
      runner.httpUrl,
      initializeBody(),
      bearer(`${first},${second}`),
    ),
    "both tokens as one",
  );
});

Deno.test("auth: repeated and comma-separated --auth-token flags all work", async () => {
  const [a, b, c] = [newToken(), newToken(), newToken()];
  await using runner = await startRunner([
    "--auth-token",
    a,
    "--auth-token",
    `${b},${c}`,
    "--",
    ...FIXTURE,
  ]);
  for (const token of [a, b, c]) {
    await scrape(runner, bearer(token));
    await wsPing(runner.wsUrl, ["mcp", `mcp.auth.${token}`]);
  }
  await expect401(
    await fetch(`${runner.httpUrl}/metrics`, { headers: bearer(newToken()) }),
    "an unknown token",
  );
});

Deno.test("auth: --auth-token-file with two lines accepts both tokens", async () => {
  await using dir = await tempDir();
  const first = newToken();
  const second = newToken();
  const file = `${dir.path}/tokens`;
  await Deno.writeTextFile(
    file,
    `# current and next\n${first}\r\n\n  ${second}  \n`,
  );
  await using runner = await startRunner([
    "--auth-token-file",
    file,
    "--",
    ...FIXTURE,
  ]);
  for (const token of [first, second]) {
    await httpRoundTrip(runner.httpUrl, bearer(token));
    await wsPing(runner.wsUrl, ["mcp", `mcp.auth.${token}`]);
  }
  await expect401(
    await postMcp(
      runner.httpUrl,
      initializeBody(),
      bearer("# current and next"),
    ),
    "the comment line",
  );
  await expect401(
    await postMcp(runner.httpUrl, initializeBody()),
    "no token",
  );
});

// ---------------------------------------------------------------------------
// 2. Secrets
// ---------------------------------------------------------------------------

for (const format of ["text", "json"]) {
  Deno.test(`secrets: the token never appears in the logs, even at trace (${format})`, async () => {
    const token = newToken();
    const runner = await startRunner([
      "--log-level",
      "trace",
      "--log-format",
      format,
      "--auth-token",
      token,
      "--",
      ...FIXTURE,
    ]);
    try {
      const base = runner.httpUrl;
      // Authenticated traffic in every form.
      await httpRoundTrip(base, bearer(token));
      await wsPing(runner.wsUrl, ["mcp", `mcp.auth.${token}`]);
      await wsPing(`${runner.wsUrl}?${TOKEN_QUERY_PARAMETER}=${token}`, [
        "mcp",
      ]);
      await wsPing(
        `${runner.wsUrl}deep/path?x=1&${TOKEN_QUERY_PARAMETER}=${token}`,
        ["mcp"],
      );
      const sse = await fetch(`${base}/sse?${TOKEN_QUERY_PARAMETER}=${token}`, {
        headers: { accept: "text/event-stream" },
      });
      assert.equal(sse.status, 200);
      await sse.body?.cancel();
      await scrape(runner, bearer(token));
      // Refused requests that carry the token (or text that contains it).
      await expect401(
        await fetch(`${base}/mcp?${TOKEN_QUERY_PARAMETER}=${token}`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: JSON_ONLY },
          body: JSON.stringify(initializeBody()),
        }),
        "query token on POST /mcp",
      );
      await expect401(
        await postMcp(base, initializeBody(), bearer(token + "x")),
        "token plus a character",
      );
      await expect401(
        await postMcp(base, initializeBody(), {
          authorization: `Baerer ${token}`,
        }),
        "Bearer typo",
      );
      await expect401(
        await fetch(`${base}/?${TOKEN_QUERY_PARAMETER}=${token}x`, {
          headers: WS_UPGRADE_HEADERS,
        }),
        "wrong query token on an upgrade",
      );
      await expectWsRefused(
        `${runner.wsUrl}?${TOKEN_QUERY_PARAMETER}=${token}0`,
        [
          "mcp",
        ],
      );
      assert.ok(
        await waitFor(
          () => /Access: .*transport=sse/.test(runner.stderr()),
          5000,
        ),
        "the SSE session ended",
      );
    } finally {
      await runner.stop();
    }
    const logs = runner.stderr();
    // The logs are verbose (bodies at debug), so the check means something.
    assert.match(
      logs,
      format === "text" ? /\[DBG\]/ : /"level":"debug"/,
    );
    assert.match(logs, /<- \{\\?"jsonrpc\\?":\\?"2\.0/);
    assert.match(logs, /Refused POST \/mcp: missing or wrong bearer token/);
    assert.match(logs, /Access: session=ws-/);
    assert.equal(
      logs.includes(token),
      false,
      "the token appears in the runner's stderr",
    );
    assert.equal(logs.includes(token.slice(3)), false);
  });
}

/** The runner's own settings as variables, with harmless values. */
const RUNNER_SETTINGS: Record<string, string> = {
  PORT: "0",
  HOST: "127.0.0.1",
  LOG_LEVEL: "debug",
  LOG_FORMAT: "text",
  RUST_LOG: "info",
  MAX_SESSIONS: "5",
  MAX_MESSAGE_BYTES: "100000",
  SHUTDOWN_GRACE_MS: "1000",
  KEEPALIVE_SECONDS: "30",
  SEND_TIMEOUT_MS: "30000",
  SESSION_IDLE_TIMEOUT: "1800",
  MAX_IN_FLIGHT: "100",
  ALLOW_ORIGINS: "https://app.example.com",
  ENV_FILE: "/nonexistent/.env",
  NO_AUTH: "0",
  CLEAN_ENV: "0",
  PASS_ENV: "SEC_VISIBLE",
  TLS_CERT: "",
  TLS_KEY: "",
};

Deno.test("secrets: the runner's settings and the token never reach the child's environment", async () => {
  const token = newToken();
  await using dir = await tempDir();
  const tokenFile = `${dir.path}/tokens`;
  const fileToken = newToken();
  await Deno.writeTextFile(tokenFile, `${fileToken}\n`);
  const fixturePath = FIXTURE[FIXTURE.length - 1]!;
  // The command comes from PROGRAM and ARGS, so those are set too.
  await using runner = await startRunner([], {
    env: {
      ...RUNNER_SETTINGS,
      AUTH_TOKEN: token,
      AUTH_TOKEN_FILE: tokenFile,
      PROGRAM: Deno.execPath(),
      ARGS: ["run", "-A", fixturePath].join(","),
      SEC_VISIBLE: "passes",
    },
  });
  const env = await childEnv(runner, ["mcp", `mcp.auth.${token}`]);
  assert.equal(env.SEC_VISIBLE, "passes", "ordinary variables pass");
  for (
    const name of [
      "AUTH_TOKEN",
      "AUTH_TOKEN_FILE",
      "PROGRAM",
      "ARGS",
      ...Object.keys(RUNNER_SETTINGS),
    ]
  ) {
    assert.equal(env[name], undefined, `${name} reached the child`);
  }
  for (const [name, value] of Object.entries(env)) {
    assert.ok(
      !value.includes(token) && !value.includes(fileToken),
      `${name} carries a token`,
    );
  }
  // The token from the file works too (it came from AUTH_TOKEN_FILE).
  await wsPing(runner.wsUrl, ["mcp", `mcp.auth.${fileToken}`]);
});

Deno.test("secrets: a token given as --auth-token is not in the child's environment", async () => {
  const token = newToken();
  await using runner = await startRunner([
    "--auth-token",
    token,
    "--",
    ...FIXTURE,
  ]);
  const env = await childEnv(runner, ["mcp", `mcp.auth.${token}`]);
  assert.equal(env.AUTH_TOKEN, undefined);
  for (const [name, value] of Object.entries(env)) {
    assert.ok(!value.includes(token), `${name} carries the token`);
  }
});

// ---------------------------------------------------------------------------
// 3. Environment hygiene
// ---------------------------------------------------------------------------

Deno.test("env: by default the runner's environment passes through to the child", async () => {
  await using runner = await startRunner(["--", ...FIXTURE], {
    env: { SEC_CANARY: "canary-value" },
  });
  const env = await childEnv(runner);
  assert.equal(env.SEC_CANARY, "canary-value");
  assert.equal(env.PATH, Deno.env.get("PATH"));
  assert.equal(env.NO_COLOR, "1");
});

Deno.test("env: --clean-env gives the child only PATH and HOME", async () => {
  await using runner = await startRunner(["--clean-env", "--", ...FIXTURE], {
    env: { SEC_CANARY: "canary-value" },
  });
  const env = await childEnv(runner);
  const expected: Record<string, string> = {};
  for (const name of ["HOME", "PATH"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) expected[name] = value;
  }
  assert.deepEqual(env, expected);
});

Deno.test("env: --clean-env --pass-env NAME passes NAME and nothing else", async () => {
  await using runner = await startRunner([
    "--clean-env",
    "--pass-env",
    "SEC_CANARY",
    "--",
    ...FIXTURE,
  ], { env: { SEC_CANARY: "canary-value", SEC_OTHER: "other" } });
  const env = await childEnv(runner);
  assert.equal(env.SEC_CANARY, "canary-value");
  assert.equal(env.SEC_OTHER, undefined);
  assert.deepEqual(
    Object.keys(env).sort(),
    ["HOME", "PATH", "SEC_CANARY"].filter((n) =>
      n === "SEC_CANARY" || Deno.env.get(n) !== undefined
    ),
  );
});

Deno.test("env: --env NAME=VALUE reaches the child only, and wins over the environment", async () => {
  await using runner = await startRunner([
    "--env",
    "SEC_FOO=bar",
    "--env",
    "SEC_OVERRIDDEN=from-flag",
    "--env",
    "SEC_EQUALS=a=b",
    "--",
    ...FIXTURE,
  ], { env: { SEC_OVERRIDDEN: "from-env" } });
  const env = await childEnv(runner);
  assert.equal(env.SEC_FOO, "bar");
  assert.equal(env.SEC_OVERRIDDEN, "from-flag");
  assert.equal(env.SEC_EQUALS, "a=b");
  // The runner process itself does not have it.
  const environ = (await Deno.readTextFile(
    `/proc/${runner.process.pid}/environ`,
  )).split("\0");
  assert.ok(!environ.some((entry) => entry.startsWith("SEC_FOO=")));
  assert.ok(environ.includes("SEC_OVERRIDDEN=from-env"));

  // With --clean-env too.
  await using clean = await startRunner([
    "--clean-env",
    "--env",
    "SEC_FOO=bar",
    "--",
    ...FIXTURE,
  ]);
  assert.equal((await childEnv(clean)).SEC_FOO, "bar");
});

Deno.test("env: a .env file in the working directory reaches the child, runner settings excepted", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/.env`,
    [
      "SEC_DOTENV=from-dotenv",
      "SEC_DOTENV_OVERRIDDEN=from-dotenv",
      "LOG_LEVEL=debug",
      "",
    ].join("\n"),
  );
  await using runner = await startRunner(["--", ...FIXTURE], {
    cwd: dir.path,
    readEnvFile: true,
    env: { SEC_DOTENV_OVERRIDDEN: "from-env" },
  });
  assert.ok(
    await waitFor(
      () => /Loaded environment from \.env/.test(runner.stderr()),
      5000,
    ),
    runner.stderr(),
  );
  const env = await childEnv(runner);
  assert.equal(env.SEC_DOTENV, "from-dotenv");
  assert.equal(env.SEC_DOTENV_OVERRIDDEN, "from-env", "the environment wins");
  assert.equal(env.LOG_LEVEL, undefined, "a runner setting stays out");
  assert.match(runner.stderr(), /\[DBG\]/, "LOG_LEVEL=debug applied");
});

Deno.test("env: a token from .env is enforced and stays out of the child", async () => {
  await using dir = await tempDir();
  const token = newToken();
  await Deno.writeTextFile(
    `${dir.path}/.env`,
    `AUTH_TOKEN=${token}\nSEC_DOTENV=from-dotenv\n`,
  );
  await using runner = await startRunner(["--", ...FIXTURE], {
    cwd: dir.path,
    readEnvFile: true,
  });
  await expect401(
    await postMcp(runner.httpUrl, initializeBody()),
    "no token with AUTH_TOKEN in .env",
  );
  const env = await childEnv(runner, ["mcp", `mcp.auth.${token}`]);
  assert.equal(env.SEC_DOTENV, "from-dotenv");
  assert.equal(env.AUTH_TOKEN, undefined);
  for (const [name, value] of Object.entries(env)) {
    assert.ok(!value.includes(token), `${name} carries the token`);
  }
  assert.ok(!runner.stderr().includes(token));
});

// ---------------------------------------------------------------------------
// 4. Token policy and checks (unit)
// ---------------------------------------------------------------------------

Deno.test("tokensFor: loopback needs no token; a public address gets a generated one", () => {
  assert.deepEqual(
    tokensFor({ host: "127.0.0.1", tokens: [], noAuth: false, loopback: true }),
    { tokens: [], generated: undefined },
  );
  assert.deepEqual(
    tokensFor({ host: "::1", tokens: [], noAuth: false, loopback: true }),
    { tokens: [], generated: undefined },
  );
  const generated = tokensFor({
    host: "0.0.0.0",
    tokens: [],
    noAuth: false,
    loopback: false,
  });
  assert.ok(generated.generated !== undefined);
  assert.match(generated.generated, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(generated.tokens, [generated.generated]);
  const again = tokensFor({
    host: "0.0.0.0",
    tokens: [],
    noAuth: false,
    loopback: false,
  });
  assert.notEqual(again.generated, generated.generated, "fresh each time");
  assert.deepEqual(
    tokensFor({ host: "0.0.0.0", tokens: [], noAuth: true, loopback: false }),
    { tokens: [], generated: undefined },
  );
  const configured = ["a".repeat(16), "b".repeat(20)];
  for (const loopback of [true, false]) {
    const result = tokensFor({
      host: loopback ? "127.0.0.1" : "192.0.2.1",
      tokens: configured,
      noAuth: false,
      loopback,
    });
    assert.deepEqual(result, { tokens: configured, generated: undefined });
    assert.notEqual(result.tokens, configured, "a copy");
  }
});

Deno.test("TokenAuth.verify accepts each configured token and rejects others", async () => {
  const first = newToken();
  const second = newToken();
  const auth = new TokenAuth([first, second]);
  assert.equal(await auth.verify(first), true);
  assert.equal(await auth.verify(second), true);
  for (
    const other of [
      "",
      first.slice(0, -1),
      first + "x",
      first.toUpperCase(),
      ` ${first}`,
      `${first},${second}`,
      newToken(),
    ]
  ) {
    assert.equal(await auth.verify(other), false, JSON.stringify(other));
  }
  assert.equal(await new TokenAuth([]).verify(""), false);
  const sources = { subprotocol: true, query: true };
  assert.equal(
    await new TokenAuth([]).check(new Request("http://127.0.0.1/"), sources),
    undefined,
    "no tokens: every request passes",
  );
  const refused = await auth.check(new Request("http://127.0.0.1/"), sources);
  assert.equal(refused?.status, 401);
  assert.match(refused?.headers.get("www-authenticate") ?? "", /^Bearer\b/);
  await refused?.body?.cancel();
  assert.equal(
    await auth.check(
      new Request("http://127.0.0.1/", { headers: bearer(second) }),
      sources,
    ),
    undefined,
  );
});

Deno.test("presentedTokens reads the header, subprotocol and query forms", () => {
  const all = { subprotocol: true, query: true };
  const none = { subprotocol: false, query: false };
  const request = new Request(
    `http://127.0.0.1/path?a=1&${TOKEN_QUERY_PARAMETER}=from-query`,
    {
      headers: {
        authorization: "Bearer from-header",
        "sec-websocket-protocol": "mcp, mcp.auth.from-subprotocol",
      },
    },
  );
  assert.deepEqual(presentedTokens(request, all), [
    "from-header",
    "from-subprotocol",
    "from-query",
  ]);
  assert.deepEqual(presentedTokens(request, none), ["from-header"]);
  assert.deepEqual(
    presentedTokens(request, { subprotocol: true, query: false }),
    ["from-header", "from-subprotocol"],
  );
  assert.deepEqual(
    presentedTokens(request, { subprotocol: false, query: true }),
    ["from-header", "from-query"],
  );
  const header = (value: string) =>
    presentedTokens(
      new Request("http://127.0.0.1/", { headers: { authorization: value } }),
      none,
    );
  assert.deepEqual(header("bearer abc"), ["abc"]);
  assert.deepEqual(header("  Bearer   abc  "), ["abc"]);
  assert.deepEqual(header("Baerer abc"), []);
  assert.deepEqual(header("Bearerabc"), []);
  assert.deepEqual(header("Basic abc"), []);
  assert.deepEqual(header("Bearer a b"), []);
  assert.deepEqual(presentedTokens(new Request("http://127.0.0.1/"), all), []);
  // Only the first mcp.auth. subprotocol, among the first few entries.
  const offered = (value: string) =>
    presentedTokens(
      new Request("http://127.0.0.1/", {
        headers: { "sec-websocket-protocol": value },
      }),
      { subprotocol: true, query: false },
    );
  assert.deepEqual(offered("mcp, mcp.auth.a, mcp.auth.b"), ["a"]);
  assert.deepEqual(offered("mcp.auth.a,mcp.auth.b,mcp.auth.c"), ["a"]);
  assert.deepEqual(
    offered(
      [...Array(MAX_SUBPROTOCOLS_EXAMINED).fill("x"), "mcp.auth.a"].join(),
    ),
    [],
  );
  assert.deepEqual(
    offered(
      [...Array(MAX_SUBPROTOCOLS_EXAMINED - 1).fill("x"), "mcp.auth.a"].join(),
    ),
    ["a"],
  );
});

// ---------------------------------------------------------------------------
// 5. TLS
// ---------------------------------------------------------------------------

/** Creates a self-signed certificate for localhost and 127.0.0.1. */
async function selfSigned(dir: string): Promise<{ cert: string; key: string }> {
  const cert = `${dir}/cert.pem`;
  const key = `${dir}/key.pem`;
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        // Without this, openssl marks the certificate as a CA, which rustls
        // refuses as a server certificate (CaUsedAsEndEntity).
        "-addext",
        "basicConstraints=critical,CA:FALSE",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        "Cannot run the TLS test: openssl is not installed (it makes the test certificate)",
      );
    }
    throw error;
  }
  assert.ok(
    output.success,
    `openssl failed: ${new TextDecoder().decode(output.stderr)}`,
  );
  return { cert, key };
}

const WSS_CLIENT = `
const timer = setTimeout(() => {
  console.log("timeout");
  Deno.exit(3);
}, 10000);
const socket = new WebSocket(Deno.args[0], "mcp");
socket.onopen = () =>
  socket.send(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "ping" }));
socket.onmessage = (event) => {
  console.log("protocol=" + socket.protocol + " reply=" + event.data);
  socket.close(1000);
};
socket.onerror = (event) => {
  console.log("error " + (event.message ?? ""));
};
socket.onclose = (event) => {
  console.log("closed " + event.code);
  clearTimeout(timer);
};
`;

Deno.test("tls: --tls-cert/--tls-key serve https:// and wss://, and refuse plain http://", async () => {
  await using dir = await tempDir();
  const { cert, key } = await selfSigned(dir.path);
  await using runner = await startRunner([
    "--tls-cert",
    cert,
    "--tls-key",
    key,
    "--",
    ...FIXTURE,
  ]);
  const port = runner.port;
  assert.match(
    runner.stderr(),
    new RegExp(
      `Listening on wss://127\\.0\\.0\\.1:${port}/ \\(Streamable HTTP: https://127\\.0\\.0\\.1:${port}/mcp, SSE: https://127\\.0\\.0\\.1:${port}/sse, health: https://127\\.0\\.0\\.1:${port}/healthz\\)`,
    ),
  );

  // A real HTTPS client that trusts the certificate.
  const pem = await Deno.readTextFile(cert);
  {
    using client = Deno.createHttpClient({ caCerts: [pem] });
    const result = await httpRoundTrip(`https://localhost:${port}`, {}, client);
    assert.deepEqual(result.serverInfo, {
      name: "mcp-fixture",
      version: "1.0.0",
    });
    const health = await fetch(`https://127.0.0.1:${port}/healthz`, { client });
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");
  }

  // A wss:// round trip from a client process that trusts the certificate.
  const script = `${dir.path}/client.ts`;
  await Deno.writeTextFile(script, WSS_CLIENT);
  const run = async (extra: string[]) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-config",
        ...extra,
        script,
        `wss://localhost:${port}/`,
      ],
      cwd: dir.path,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  };
  const trusted = await run(["--cert", cert]);
  assert.equal(trusted.code, 0, trusted.stdout + trusted.stderr);
  assert.match(
    trusted.stdout,
    /^protocol=mcp reply=\{"jsonrpc":"2\.0","id":7,"result":\{\}\}\nclosed 1000\n$/,
    trusted.stderr,
  );
  // Without the certificate the client refuses the server.
  const untrusted = await run([]);
  assert.doesNotMatch(untrusted.stdout, /reply=/);
  assert.match(untrusted.stdout, /^error .*certificate/m, untrusted.stdout);

  // Plain http:// to the TLS port fails.
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  // Plain ws:// too.
  await expectWsRefused(`ws://127.0.0.1:${port}/`, ["mcp"]);
  // The runner still serves TLS clients afterwards.
  {
    using client = Deno.createHttpClient({ caCerts: [pem] });
    const health = await fetch(`https://localhost:${port}/healthz`, {
      client,
    });
    assert.equal(health.status, 200);
    await health.body?.cancel();
  }
});

// ---------------------------------------------------------------------------
// 6. Metrics
// ---------------------------------------------------------------------------

Deno.test("metrics: counts sessions, messages, spawns, latencies, refusals and exits", async () => {
  const token = newToken();
  await using runner = await startRunner([
    "--auth-token",
    token,
    "--max-sessions",
    "1",
    "--",
    ...FIXTURE,
  ]);
  const auth = bearer(token);
  const ws = await TestClient.connect(runner.wsUrl, [
    "mcp",
    `mcp.auth.${token}`,
  ]);
  try {
    assert.deepEqual((await ws.request(1, "ping")).result, {});
    assert.deepEqual((await ws.request(2, "echo", { a: 1 })).result, { a: 1 });

    const response = await fetch(`${runner.httpUrl}/metrics`, {
      headers: auth,
    });
    assert.equal(response.status, 200);
    assert.match(
      response.headers.get("content-type") ?? "",
      /^text\/plain; version=0\.0\.4/,
    );
    const text = await response.text();
    assert.equal(
      metric(text, 'mcp_runner_sessions_active{transport="websocket"}'),
      1,
    );
    assert.equal(
      metric(text, 'mcp_runner_sessions_total{transport="websocket"}'),
      1,
    );
    assert.ok(
      (metric(
        text,
        'mcp_runner_messages_total{direction="client_to_server",transport="websocket"}',
      ) ?? 0) >= 1,
      text,
    );
    assert.ok(
      (metric(
        text,
        'mcp_runner_messages_total{direction="server_to_client",transport="websocket"}',
      ) ?? 0) >= 1,
      text,
    );
    assert.equal(metric(text, 'mcp_runner_child_spawns_total{result="ok"}'), 1);
    assert.ok(
      (metric(
        text,
        'mcp_runner_request_duration_seconds_count{transport="websocket"}',
      ) ?? 0) >= 1,
      text,
    );
    assert.match(
      text,
      /^# TYPE mcp_runner_request_duration_seconds histogram$/m,
    );
    assert.match(
      text,
      /^mcp_runner_request_duration_seconds_bucket\{transport="websocket",le="\+Inf"\} \d+$/m,
    );

    // A second session over --max-sessions 1: 503, counted as capacity.
    const full = await fetch(`${runner.httpUrl}/`, {
      headers: { ...WS_UPGRADE_HEADERS, ...auth },
    });
    assert.equal(full.status, 503);
    await full.body?.cancel();
  } finally {
    await ws[Symbol.asyncDispose]();
  }

  // A bad Origin: 403, counted as origin (checked before the token).
  const badOrigin = await postMcp(runner.httpUrl, initializeBody(), {
    ...auth,
    origin: "https://evil.example",
  });
  assert.equal(badOrigin.status, 403);
  await badOrigin.body?.cancel();
  // No token: 401, counted as auth.
  await expect401(
    await postMcp(runner.httpUrl, initializeBody()),
    "no token",
  );

  // The WebSocket session ends: its child's exit is counted.
  assert.ok(
    await waitForAsync(async () => {
      const text = await scrape(runner, auth);
      return metric(text, 'mcp_runner_child_exits_total{code="0"}') === 1 &&
        metric(text, 'mcp_runner_sessions_active{transport="websocket"}') ===
          0;
    }, 5000),
    "the child exit is counted and the session is gone",
  );

  // Streamable HTTP traffic.
  await httpRoundTrip(runner.httpUrl, auth);
  assert.ok(
    await waitForAsync(
      async () =>
        metric(
          await scrape(runner, auth),
          'mcp_runner_child_exits_total{code="0"}',
        ) === 2,
      5000,
    ),
    "the HTTP session's child exit is counted",
  );
  const text = await scrape(runner, auth);
  assert.equal(metric(text, 'mcp_runner_child_spawns_total{result="ok"}'), 2);
  assert.equal(
    metric(text, 'mcp_runner_sessions_total{transport="streamable-http"}'),
    1,
  );
  assert.ok(
    (metric(
      text,
      'mcp_runner_messages_total{direction="client_to_server",transport="streamable-http"}',
    ) ?? 0) >= 2,
    text,
  );
  assert.ok(
    (metric(
      text,
      'mcp_runner_request_duration_seconds_count{transport="streamable-http"}',
    ) ?? 0) >= 1,
    text,
  );
  assert.equal(metric(text, 'mcp_runner_refused_total{reason="origin"}'), 1);
  assert.equal(metric(text, 'mcp_runner_refused_total{reason="auth"}'), 1);
  assert.equal(metric(text, 'mcp_runner_refused_total{reason="capacity"}'), 1);
  assert.equal(
    metric(text, 'mcp_runner_sessions_active{transport="websocket"}'),
    0,
  );
  assert.equal(
    metric(text, 'mcp_runner_sessions_active{transport="streamable-http"}'),
    0,
  );
});

Deno.test("metrics: /metrics is open without a token when no token is configured", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const text = await scrape(runner);
  assert.match(text, /^# TYPE mcp_runner_sessions_active gauge$/m);
  assert.equal(
    metric(text, 'mcp_runner_sessions_active{transport="websocket"}'),
    0,
  );
  const head = await fetch(`${runner.httpUrl}/metrics`, { method: "POST" });
  assert.equal(head.status, 405);
  await head.body?.cancel();
});

// ---------------------------------------------------------------------------
// 7. Readiness
// ---------------------------------------------------------------------------

Deno.test("readyz: 200 while the program resolves, 503 once it is gone; healthz stays 200", async () => {
  await using dir = await tempDir();
  const program = `${dir.path}/server.sh`;
  await Deno.writeTextFile(program, "#!/bin/sh\nexec cat\n", { mode: 0o755 });
  await using runner = await startRunner(["--", program]);
  const ready = await fetch(`${runner.httpUrl}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: "ready" });

  await Deno.remove(program);
  const gone = await fetch(`${runner.httpUrl}/readyz`);
  assert.equal(gone.status, 503);
  assert.equal((await gone.json()).status, "not ready");
  const health = await fetch(`${runner.httpUrl}/healthz`);
  assert.equal(health.status, 200);
  assert.equal((await health.json()).status, "ok");

  // Back again, but not executable: still not ready.
  await Deno.writeTextFile(program, "#!/bin/sh\nexec cat\n", { mode: 0o644 });
  await Deno.chmod(program, 0o644);
  const notExecutable = await fetch(`${runner.httpUrl}/readyz`);
  assert.equal(notExecutable.status, 503);
  await notExecutable.body?.cancel();
  await Deno.chmod(program, 0o755);
  const back = await fetch(`${runner.httpUrl}/readyz`);
  assert.equal(back.status, 200);
  await back.body?.cancel();
});

// ---------------------------------------------------------------------------
// 8. Access log
// ---------------------------------------------------------------------------

Deno.test("access log: a WebSocket session's end logs one line with its counts", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const client = await TestClient.connect(runner.wsUrl);
  client.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  assert.equal((await client.request(1, "ping")).id, 1);
  assert.equal((await client.request(2, "echo", { x: 1 })).id, 2);
  client.send({ jsonrpc: "2.0", method: "fixture/notify-back", params: {} });
  assert.equal((await client.next()).method, "notifications/message");
  assert.equal((await client.request(3, "ping")).id, 3);
  client.socket.close(1000);
  await client.closed;

  const opened = /Session (ws-\S+) opened from (127\.0\.0\.1:\d+)/.exec(
    runner.stderr(),
  );
  assert.ok(opened, runner.stderr());
  const [, session, remote] = opened;
  assert.ok(
    await waitFor(() => /Access: /.test(runner.stderr()), 5000),
    runner.stderr(),
  );
  const lines = runner.stderr().split("\n").filter((l) =>
    l.includes("Access: ")
  );
  assert.equal(lines.length, 1, lines.join("\n"));
  const line = lines[0]!;
  assert.match(line, /\[INF\]/);
  const match =
    /Access: session=(\S+) transport=(\S+) remote=(\S+) duration_ms=(\d+) messages_in=(\d+) messages_out=(\d+) ended=(.+)$/
      .exec(line);
  assert.ok(match, line);
  assert.equal(match[1], session);
  assert.equal(match[2], "websocket");
  assert.equal(match[3], remote);
  assert.ok(Number(match[4]) >= 0);
  assert.equal(Number(match[5]), 5, "messages in: 2 notifications, 3 requests");
  assert.equal(
    Number(match[6]),
    4,
    "messages out: 3 responses, 1 notification",
  );
  assert.equal(match[7], "client closed 1000");
});

Deno.test("access log: a Streamable HTTP session's end logs its transport and counts", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await httpRoundTrip(runner.httpUrl, {});
  assert.ok(
    await waitFor(() => /Access: /.test(runner.stderr()), 5000),
    runner.stderr(),
  );
  assert.match(
    runner.stderr(),
    /Access: session=\S+ transport=streamable-http remote=127\.0\.0\.1:\d+ duration_ms=\d+ messages_in=2 messages_out=2 ended=\S/,
  );
});
