/**
 * Edge-case tests for what reaches the handler before any session: a Host
 * the URL parser rejects, a body cut short, an error thrown while handling a
 * request (`onError`), rate-limited refusal logs, and a `Last-Event-ID` too
 * large to be one of the runner's. Real runner subprocesses and raw sockets
 * on 127.0.0.1, except for the `onError` test, which has no request that
 * reaches it on purpose and so calls the handler in-process.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RunnerHandler } from "../lib/front/handler.ts";
import {
  configureLogging,
  logger,
  RateLimitedLog,
  resetLogging,
} from "../lib/observe/log.ts";
import { PerSessionProvider } from "../lib/session/per_session.ts";
import { SessionSet } from "../lib/session/session_set.ts";
import {
  compileFlags,
  FIXTURE,
  MAIN,
  ROOT,
  startRunner,
  waitFor,
} from "./_helpers.ts";

type Json = Record<string, unknown>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A line of a stack trace, as Deno's default error printer writes it. */
const STACK_LINE = /^ {4}at /m;

/** A response read over raw TCP. */
interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** Sends `text` as is over TCP and reads one response (by content-length). */
async function rawHttp(port: number, text: string): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 5000);
  try {
    await conn.write(encoder.encode(text));
    let received = "";
    const chunk = new Uint8Array(16 * 1024);
    for (;;) {
      const at = received.indexOf("\r\n\r\n");
      if (at !== -1) {
        const [statusLine = "", ...lines] = received.slice(0, at).split(
          "\r\n",
        );
        const headers = new Headers(lines.map((line) => {
          const colon = line.indexOf(":");
          return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
        }));
        const body = received.slice(at + 4);
        const length = Number(headers.get("content-length") ?? "0");
        if (encoder.encode(body).length >= length) {
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
          return { status, headers, body };
        }
      }
      const n = await conn.read(chunk);
      if (n === null) throw new Error(`Cannot read: closed after ${received}`);
      received += decoder.decode(chunk.subarray(0, n), { stream: true });
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
}

/** Checks a JSON-RPC error body (id null, code -32000, no stack trace). */
function assertJsonRpcError(body: string, message: RegExp): Json {
  const parsed = JSON.parse(body);
  assert.equal(parsed.jsonrpc, "2.0");
  assert.equal(parsed.id, null);
  assert.equal(parsed.error.code, -32000);
  assert.match(parsed.error.message, message);
  assert.doesNotMatch(body, / at /);
  return parsed;
}

/** Every line of `text` parsed as JSON (asserting that each one is). */
function jsonLines(text: string): Json[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      throw new assert.AssertionError({
        message: `a log line is not JSON: ${line}`,
      });
    }
  });
}

/** A runner started with stdout and stderr both captured. */
async function startCapturing(args: string[]) {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", ...compileFlags(), MAIN, "--port", "0", "--no-env-file"]
      .concat(args),
    env: { NO_COLOR: "1" },
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let stderr = "";
  const drain = async (
    stream: ReadableStream<Uint8Array>,
    add: (text: string) => void,
  ) => {
    const streamDecoder = new TextDecoder();
    for await (const chunk of stream) {
      add(streamDecoder.decode(chunk, { stream: true }));
    }
  };
  const drained = Promise.all([
    drain(process.stdout, (text) => stdout += text),
    drain(process.stderr, (text) => stderr += text),
  ]);
  const port = () => /Listening on ws:\/\/[^\s"]*:(\d+)\//.exec(stderr)?.[1];
  assert.ok(await waitFor(() => port() !== undefined, 10_000), stderr);
  return {
    port: Number(port()),
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(): Promise<void> {
      process.kill("SIGTERM");
      await process.status;
      await drained;
    },
  };
}

Deno.test("handler answers a malformed Host with 400, and a body cut short prints no stack trace", async () => {
  const runner = await startCapturing([
    "--log-format",
    "json",
    "--",
    ...FIXTURE,
  ]);
  try {
    for (const host of ["[::1]x", "localhost:evil"]) {
      for (const path of ["/mcp", "/healthz", "/"]) {
        const response = await rawHttp(
          runner.port,
          `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        );
        assert.equal(response.status, 400, `${host} ${path}: ${response.body}`);
        assert.equal(response.headers.get("content-type"), "application/json");
        assertJsonRpcError(
          response.body,
          new RegExp(
            `^Bad Request: the Host header is not a valid host\\[:port\\], received "${
              host.replace(/[[\]]/g, "\\$&")
            }"$`,
          ),
        );
      }
    }
    // The same host in an absolute request target.
    const absolute = await rawHttp(
      runner.port,
      "GET http://[::1]x/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert.equal(absolute.status, 400);
    assertJsonRpcError(absolute.body, /received "\[::1\]x"/);

    // A POST whose body stops after 10 of its 1000 declared bytes.
    for (const path of ["/mcp", "/message?sessionId=x"]) {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: runner.port,
      });
      await conn.write(encoder.encode(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          "Content-Type: application/json\r\n" +
          "Accept: application/json, text/event-stream\r\n" +
          "Content-Length: 1000\r\n\r\n" + '{"jsonrpc"',
      ));
      await new Promise((resolve) => setTimeout(resolve, 200));
      conn.close();
    }
    // Still serving.
    const health = await rawHttp(
      runner.port,
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert.equal(health.status, 200);
  } finally {
    await runner.stop();
  }
  const stderr = runner.stderr();
  assert.doesNotMatch(stderr, STACK_LINE, stderr);
  assert.doesNotMatch(runner.stdout(), STACK_LINE, runner.stdout());
  assert.equal(runner.stdout(), "", "nothing is written to stdout");
  const lines = jsonLines(stderr);
  const all = lines.filter((line) =>
    String(line.message).startsWith("Refused ")
  );
  // The two cut bodies: the endpoints' own refusals, logged the same way.
  const bodies = all.filter((line) => line.method === "POST");
  assert.deepEqual(bodies.map((line) => [line.path, line.status]), [
    ["/mcp", 400],
    ["/message", 404],
  ]);
  assert.match(String(bodies[0]!.reason), /cannot read the request body/);
  const refusals = all.filter((line) => line.method !== "POST");
  // 2 hosts x 3 paths + the absolute target.
  assert.equal(refusals.length, 7, stderr);
  for (const line of refusals) {
    assert.equal(line.level, "info");
    assert.equal(line.method, "GET");
    assert.equal(line.status, 400);
    assert.match(String(line.path), /^\/(mcp|healthz)?$/);
    assert.match(String(line.reason), /^Bad Request: the Host header/);
  }
});

Deno.test("RunnerHandler.onError logs one line per error without a stack trace, at most 10 a second, and answers 500", async () => {
  const lines: string[] = [];
  configureLogging({
    level: "info",
    format: "json",
    write: (line) => lines.push(line),
  });
  try {
    const sessions = new SessionSet({ maxSessions: 1 });
    const handler = new RunnerHandler({
      provider: new PerSessionProvider({
        spec: {
          program: Deno.execPath(),
          args: [],
          env: {},
          maxMessageBytes: 1024,
          maxInFlight: 16,
          shutdownGraceMs: 100,
        },
        logger: logger(),
      }),
      maxMessageBytes: 1024,
      shutdownGraceMs: 100,
      sendTimeoutMs: 1000,
      sendBufferBytes: 1024,
      keepaliveSeconds: 0,
      sessionIdleTimeoutMs: 60_000,
      listenHost: "127.0.0.1",
      allowOrigins: [],
      sessions,
      version: "0.0.0",
      logger: logger(),
    });
    try {
      for (let i = 0; i < 25; i++) {
        const response = handler.onError(new TypeError(`boom ${i}\nline two`));
        assert.equal(response.status, 500);
        const body = await response.text();
        assertJsonRpcError(body, /^Internal Server Error: /);
        assert.doesNotMatch(body, /boom|TypeError/, "no detail to the client");
      }
    } finally {
      handler[Symbol.dispose](); // writes the count of suppressed lines
    }
  } finally {
    resetLogging();
  }
  const logged = jsonLines(lines.join(""));
  assert.doesNotMatch(lines.join(""), STACK_LINE);
  const errors = logged.filter((line) => line.level === "error");
  assert.equal(errors.length, 10);
  assert.deepEqual(errors[0], {
    ...errors[0],
    error: "TypeError: boom 0 line two",
    message: "Cannot handle a request: TypeError: boom 0 line two",
  });
  const suppressed = logged.filter((line) => line.level === "warning");
  assert.equal(suppressed.length, 1);
  assert.equal(suppressed[0]!.count, 15);
  assert.equal(
    suppressed[0]!.message,
    "Suppressed 15 request error log lines (at most 10 a second)",
  );
});

Deno.test("RateLimitedLog writes the count of suppressed lines when the second ends", async () => {
  const lines: string[] = [];
  configureLogging({
    level: "info",
    format: "text",
    write: (line) => lines.push(line),
  });
  try {
    using log = new RateLimitedLog(logger("edge"), {
      perSecond: 3,
      what: "test",
    });
    for (let i = 0; i < 8; i++) {
      assert.equal(log.log("info", "Line {i}", { i }), i < 3);
    }
    assert.equal(lines.length, 3);
    assert.ok(
      await waitFor(() => lines.length === 4, 2000),
      "the count comes without another line",
    );
    assert.match(
      lines[3]!,
      /\[WRN\] .*Suppressed 5 test log lines \(at most 3 a second\)/,
    );
    assert.equal(log.log("info", "Line {i}", { i: 9 }), true, "a new second");
  } finally {
    resetLogging();
  }
});

Deno.test("handler logs each refusal once, with the same fields in text and JSON, at most 20 a second", async () => {
  for (const format of ["text", "json"] as const) {
    await using runner = await startRunner([
      "--log-format",
      format,
      "--auth-token",
      "edge-test-token-0123456789",
      "--",
      ...FIXTURE,
    ]);
    const base = runner.httpUrl;
    const auth = { authorization: "Bearer edge-test-token-0123456789" };
    // One of each kind, apart.
    const kinds: [RequestInit & { path: string }, number][] = [
      [{ path: "/mcp", method: "POST", body: "{}" }, 401],
      [{ path: "/mcp", headers: { origin: "https://evil.example" } }, 403],
      [{ path: "/.well-known/oauth-protected-resource" }, 404],
      [{ path: "/healthz", method: "POST", body: "" }, 405],
      [{ path: "/nowhere", headers: auth }, 426],
    ];
    for (const [{ path, ...init }, status] of kinds) {
      const response = await fetch(`${base}${path}`, init);
      await response.body?.cancel();
      assert.equal(response.status, status, path);
    }
    assert.ok(
      await waitFor(() => /\(426\)/.test(runner.stderr()), 5000),
      runner.stderr(),
    );
    const log = runner.stderr();
    if (format === "text") {
      assert.match(
        log,
        /\[INF\] mcp-server-runner: Refused POST \/mcp: missing or wrong bearer token: none was sent \(401\)/,
      );
      assert.match(
        log,
        /\[INF\] mcp-server-runner: Refused GET \/mcp: Forbidden: Origin "https:\/\/evil\.example" is not allowed \(see --allow-origin\) \(403\)/,
      );
      assert.match(
        log,
        /Refused GET \/\.well-known\/oauth-protected-resource: Not Found: this runner uses a static bearer token, not OAuth: .* \(404\)/,
      );
      assert.match(
        log,
        /Refused POST \/healthz: Method Not Allowed: use GET \(405\)/,
      );
      assert.match(log, /Refused GET \/nowhere: Upgrade Required: .* \(426\)/);
    } else {
      const refusals = jsonLines(log).filter((line) =>
        String(line.message).startsWith("Refused ")
      );
      assert.deepEqual(
        refusals.map((line) => [line.method, line.path, line.status]),
        [
          ["POST", "/mcp", 401],
          ["GET", "/mcp", 403],
          ["GET", "/.well-known/oauth-protected-resource", 404],
          ["POST", "/healthz", 405],
          ["GET", "/nowhere", 426],
        ],
      );
      for (const line of refusals) {
        assert.equal(line.level, "info");
        assert.equal(
          line.message,
          `Refused ${line.method} ${line.path}: ${line.reason} (${line.status})`,
          "the text form shows exactly the JSON fields",
        );
      }
    }

    // A flood: at most 20 lines a second, the rest counted.
    const flood = 80;
    const before = (log.match(/Refused /g) ?? []).length;
    for (let i = 0; i < flood; i++) {
      const response = await fetch(`${base}/nowhere-${i}`, { headers: auth });
      await response.body?.cancel();
      assert.equal(response.status, 426);
    }
    const suppressedIn = (text: string) =>
      [...text.matchAll(/Suppressed (\d+) refusal log lines/g)].reduce(
        (sum, match) => sum + Number(match[1]),
        0,
      );
    const written = () =>
      (runner.stderr().match(/Refused /g) ?? []).length - before;
    assert.ok(
      await waitFor(
        () => written() + suppressedIn(runner.stderr()) === flood,
        5000,
      ),
      `every refusal is logged or counted:\n${runner.stderr()}`,
    );
    assert.ok(suppressedIn(runner.stderr()) > 0, "some were suppressed");
    assert.ok(written() < flood);
    if (format === "json") {
      const warning = jsonLines(runner.stderr()).find((line) =>
        String(line.message).startsWith("Suppressed ")
      );
      assert.equal(warning?.level, "warning");
      assert.equal(warning?.limit, 20);
      assert.equal(typeof warning?.count, "number");
    }
  }
});

Deno.test("parseEventId ignores a Last-Event-ID whose sequence is not a safe integer", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  const base = runner.httpUrl;
  const init = await fetch(`${base}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "edge-test", version: "1.0.0" },
      },
    }),
  });
  await init.body?.cancel();
  assert.equal(init.status, 200);
  const session = init.headers.get("mcp-session-id");
  assert.ok(session);
  const headers = {
    accept: "text/event-stream",
    "mcp-session-id": session,
    "mcp-protocol-version": "2025-11-25",
  };
  /** Opens the GET stream and returns its first (priming) block. */
  const priming = async (extra: Record<string, string> = {}) => {
    for (let attempt = 0;; attempt++) {
      const response = await fetch(`${base}/mcp`, {
        headers: { ...headers, ...extra },
      });
      if (response.status === 409 && attempt < 50) {
        // The previous stream's close has not reached the session yet.
        await response.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      let text = "";
      while (!text.includes("\n\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      await reader.cancel();
      return text.slice(0, text.indexOf("\n\n"));
    }
  };
  const first = await priming();
  assert.match(first, /^id: 0_0$/m);
  for (
    const lastEventId of [
      "0_99999999999999999999999",
      "0_9999999999999999",
      "0_1e+26",
      "0_-1",
      "0_1.5",
    ]
  ) {
    const block = await priming({ "last-event-id": lastEventId });
    const id = /^id: (.*)$/m.exec(block)?.[1];
    assert.ok(id !== undefined, block);
    assert.doesNotMatch(id, /e\+/, `${lastEventId} is not echoed`);
    assert.equal(id, "0_0", `${lastEventId} is ignored`);
  }
  // A real id still resumes.
  assert.match(
    await priming({ "last-event-id": "0_999999999999999" }),
    /^id: 0_999999999999999$/m,
  );
  const deleted = await fetch(`${base}/mcp`, {
    method: "DELETE",
    headers: { "mcp-session-id": session },
  });
  await deleted.body?.cancel();
  assert.equal(deleted.status, 200);
});
