/**
 * The request handler in-process, with `new Request` and no socket: the
 * routes that answer without a child (health, readiness, metrics, refusals,
 * CORS) and the Streamable HTTP endpoint's checks before a session exists.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type HandlerOptions, RunnerHandler } from "../lib/front/handler.ts";
import { logger } from "../lib/observe/log.ts";
import { Metrics } from "../lib/observe/metrics.ts";
import { TokenAuth } from "../lib/security/auth.ts";
import type { Availability, ChildProvider } from "../lib/session/channel.ts";
import { PerSessionProvider } from "../lib/session/per_session.ts";
import { SessionSet } from "../lib/session/session_set.ts";

const INFO: Deno.ServeHandlerInfo<Deno.NetAddr> = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
  completed: Promise.resolve(),
};

const SPEC = {
  program: Deno.execPath(),
  args: ["eval", "await new Promise(() => {})"],
  env: {},
  maxMessageBytes: 65536,
  maxInFlight: 16,
  shutdownGraceMs: 100,
};

/** A handler on 127.0.0.1:8080 with the given overrides. */
function handlerWith(overrides: Partial<HandlerOptions> = {}): RunnerHandler {
  return new RunnerHandler({
    provider: new PerSessionProvider({ spec: SPEC, logger: logger() }),
    maxMessageBytes: SPEC.maxMessageBytes,
    shutdownGraceMs: SPEC.shutdownGraceMs,
    sendTimeoutMs: 1000,
    sendBufferBytes: 65536,
    keepaliveSeconds: 0,
    sessionIdleTimeoutMs: 60_000,
    listenHost: "127.0.0.1",
    allowOrigins: [],
    sessions: new SessionSet({ maxSessions: 4 }),
    version: "9.9.9",
    logger: logger(),
    ...overrides,
  });
}

function get(path: string, headers: Record<string, string> = {}): Request {
  return new Request(`http://127.0.0.1:8080${path}`, { headers });
}

/** A provider that reports what it is told (the handler only asks). */
function providerReporting(availability: Availability): ChildProvider {
  const real = new PerSessionProvider({ spec: SPEC, logger: logger() });
  return {
    mode: "test",
    open: real.open.bind(real),
    availability: () => availability,
    whenAvailable: () => Promise.resolve(availability),
    start: () => {},
    stopIdle: () => Promise.resolve(),
    killNow: () => {},
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

Deno.test("handler in-process: /healthz reports version and sessions; /readyz is ready; POST to them is 405", async () => {
  using handler = handlerWith();
  const health = await handler.handle(get("/healthz"), INFO);
  assert.equal(health.status, 200);
  const body = await health.json();
  assert.equal(body.status, "ok");
  assert.equal(body.version, "9.9.9");
  assert.equal(body.sessions, 0);
  const ready = await handler.handle(get("/readyz"), INFO);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: "ready" });
  const post = await handler.handle(
    new Request("http://127.0.0.1:8080/readyz", { method: "POST", body: "x" }),
    INFO,
  );
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  await post.body?.cancel();
});

Deno.test("handler in-process: /readyz and a new Streamable HTTP session say why the provider cannot serve, with Retry-After", async () => {
  using handler = handlerWith({
    provider: providerReporting({
      ok: false,
      reason: "the MCP server is restarting",
      retryAfterSeconds: 7,
    }),
  });
  const ready = await handler.handle(get("/readyz"), INFO);
  assert.equal(ready.status, 503);
  assert.equal(ready.headers.get("retry-after"), "7");
  assert.deepEqual(await ready.json(), {
    status: "not ready",
    reason: "the MCP server is restarting",
  });
  const init = await handler.handle(
    new Request("http://127.0.0.1:8080/mcp", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "t", version: "1" },
        },
      }),
    }),
    INFO,
  );
  assert.equal(init.status, 503);
  assert.equal(init.headers.get("retry-after"), "7");
  assert.match(
    (await init.json()).error.message,
    /^Service Unavailable: the MCP server is restarting/,
  );
  const sse = await handler.handle(
    get("/sse", { accept: "text/event-stream" }),
    INFO,
  );
  assert.equal(sse.status, 503);
  await sse.body?.cancel();
});

Deno.test("handler in-process: a foreign Origin gets 403, an allowed one a CORS preflight", async () => {
  using handler = handlerWith({ allowOrigins: ["https://app.example"] });
  const evil = await handler.handle(
    get("/mcp", { origin: "https://evil.example" }),
    INFO,
  );
  assert.equal(evil.status, 403);
  assert.match((await evil.json()).error.message, /origin/i);
  const preflight = await handler.handle(
    new Request("http://127.0.0.1:8080/mcp", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
      },
    }),
    INFO,
  );
  assert.ok(preflight.status === 204 || preflight.status === 200);
  assert.equal(
    preflight.headers.get("access-control-allow-origin"),
    "https://app.example",
  );
  await preflight.body?.cancel();
});

Deno.test("handler in-process: a non-local Host on a loopback listener is refused (DNS rebinding)", async () => {
  using handler = handlerWith();
  const response = await handler.handle(
    new Request("http://attacker.example:8080/mcp"),
    INFO,
  );
  assert.equal(response.status, 403);
  await response.body?.cancel();
});

Deno.test("handler in-process: with a token, /mcp without it is 401 with WWW-Authenticate; /healthz needs none", async () => {
  using handler = handlerWith({
    auth: new TokenAuth(["a-token-of-sixteen-chars"]),
  });
  const refused = await handler.handle(get("/mcp"), INFO);
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get("www-authenticate") ?? "", /^Bearer /);
  await refused.body?.cancel();
  const metrics = await handler.handle(get("/metrics"), INFO);
  assert.equal(metrics.status, 401);
  await metrics.body?.cancel();
  const health = await handler.handle(get("/healthz"), INFO);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const ok = await handler.handle(
    get("/.well-known/oauth-protected-resource"),
    INFO,
  );
  assert.equal(ok.status, 404);
  await ok.body?.cancel();
});

Deno.test("handler in-process: /metrics renders the registry; plain GET / asks for an upgrade (426)", async () => {
  const metrics = new Metrics();
  metrics.register(() => [{
    name: "mcp_runner_test_value",
    type: "gauge",
    help: "A value registered by a provider",
    rows: [['{state="x"}', 3]],
  }]);
  using handler = handlerWith({ metrics });
  const page = await handler.handle(get("/metrics"), INFO);
  assert.equal(page.status, 200);
  const text = await page.text();
  assert.match(text, /^mcp_runner_sessions_active/m);
  assert.match(text, /^# TYPE mcp_runner_test_value gauge$/m);
  assert.match(text, /^mcp_runner_test_value\{state="x"\} 3$/m);
  const root = await handler.handle(get("/"), INFO);
  assert.equal(root.status, 426);
  assert.equal(root.headers.get("upgrade"), "websocket");
  await root.body?.cancel();
});

Deno.test("handler in-process: /mcp refuses before any session exists: no session id, wrong content type, bad JSON", async () => {
  using handler = handlerWith();
  const post = (body: string, headers: Record<string, string>) =>
    handler.handle(
      new Request("http://127.0.0.1:8080/mcp", {
        method: "POST",
        headers: { accept: "application/json, text/event-stream", ...headers },
        body,
      }),
      INFO,
    );
  const noSession = await post(
    '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    { "content-type": "application/json" },
  );
  assert.equal(noSession.status, 400);
  assert.match((await noSession.json()).error.message, /Mcp-Session-Id/);
  const wrongType = await post("{}", { "content-type": "text/plain" });
  assert.equal(wrongType.status, 415);
  await wrongType.body?.cancel();
  const badJson = await post("{", { "content-type": "application/json" });
  assert.equal(badJson.status, 400);
  const parsed = await badJson.json();
  const error = Array.isArray(parsed) ? parsed[0] : parsed;
  assert.equal(error.id, null);
  assert.equal(error.error.code, -32700);
});
