/**
 * The web console's routes in-process: `ConsoleRoutes` with a fake backend
 * and `new Request(...)` (the page files, `/status`, the API, the headers,
 * the CSRF rules, disabled mode, the log stream). The stderr buffer alone is
 * in `log_ring_test.ts`, the page in a real browser in
 * `console_browser_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  CONSOLE_CSP,
  CONSOLE_HEADERS,
  ConsoleRoutes,
} from "../lib/front/console.ts";
import type {
  ActionResult,
  ConsoleBackend,
  LogFeed,
  RunnerStatus,
} from "../lib/front/console_backend.ts";
import {
  CONSOLE_CSS,
  CONSOLE_HTML,
  CONSOLE_JS,
} from "../lib/front/console_page.ts";
import { LogRing, utf8Length } from "../lib/observe/log_ring.ts";

const BASE = "http://127.0.0.1:8080";

const STATUS: RunnerStatus = {
  version: "0.1.0",
  uptimeSeconds: 12,
  address: { host: "127.0.0.1", port: 8080, url: BASE },
  auth: true,
  tls: false,
  console: true,
  maxSessions: 100,
  servers: [{
    name: "files",
    mode: "shared",
    prewarm: 0,
    state: "ready",
    program: "npx",
    argCount: 2,
    envKeys: ["ROOT"],
    urls: {
      mcp: `${BASE}/servers/files/mcp`,
      sse: `${BASE}/servers/files/sse`,
      websocket: "ws://127.0.0.1:8080/servers/files",
    },
    pids: [4242],
    sessions: [],
    restarts: 1,
  }],
};

/** A backend that records what it was asked. */
class FakeBackend implements ConsoleBackend {
  calls: string[] = [];
  rings = new Map<string, LogRing>([["files", new LogRing()]]);
  answer: ActionResult = { ok: true, detail: "done" };
  status(): RunnerStatus {
    return STATUS;
  }
  logs(server: string): LogFeed | undefined {
    return this.rings.get(server);
  }
  restart(server: string): Promise<ActionResult> {
    this.calls.push(`restart ${server}`);
    return Promise.resolve(this.answer);
  }
  reload(): Promise<ActionResult> {
    this.calls.push("reload");
    return Promise.resolve(this.answer);
  }
  endSession(id: string): Promise<ActionResult> {
    this.calls.push(`end ${id}`);
    if (id === "boom") return Promise.reject(new Error("it broke"));
    return Promise.resolve(this.answer);
  }
}

function routes(enabled = true, backend = new FakeBackend()) {
  return {
    backend,
    routes: new ConsoleRoutes({ backend, enabled, keepaliveMs: 30 }),
  };
}

/** Calls the API as the handler does, after its checks. */
function call(
  router: ConsoleRoutes,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const request = new Request(`${BASE}${path}`, init);
  return router.api(request, new URL(request.url), "token-1");
}

const ACTION_HEADERS = {
  "content-type": "application/json",
  "x-mcp-runner-console": "1",
};

function assertConsoleHeaders(response: Response, what: string): void {
  for (const [name, value] of Object.entries(CONSOLE_HEADERS)) {
    assert.equal(response.headers.get(name), value, `${what}: ${name}`);
  }
}

async function errorMessage(response: Response): Promise<string> {
  const body = await response.json();
  assert.equal(body.jsonrpc, "2.0");
  assert.equal(body.id, null);
  return body.error.message;
}

/** Reads SSE events from a log stream until `count` data events came. */
async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
  comments: string[] = [],
): Promise<Record<string, unknown>[]> {
  const decoder = new TextDecoder();
  const events: Record<string, unknown>[] = [];
  let buffer = "";
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the stream ended");
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(":")) comments.push(block);
      else if (block.startsWith("data: ")) {
        events.push(JSON.parse(block.slice(6)));
      }
    }
  }
  return events;
}

// ---------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------

Deno.test("enabled: the page files are pages, /status and /console/* are the API", () => {
  const { routes: router } = routes(true);
  for (
    const path of [
      "/console",
      "/console/",
      "/console/app.js",
      "/console/app.css",
    ]
  ) {
    assert.equal(router.isPage(path), true, path);
    assert.equal(router.isApi(path), false, path);
  }
  for (
    const path of [
      "/status",
      "/console/api/status",
      "/console/api/logs",
      "/console/nope",
    ]
  ) {
    assert.equal(router.isApi(path), true, path);
    assert.equal(router.isPage(path), false, path);
  }
  for (const path of ["/consoles", "/console.js", "/", "/mcp", "/statusx"]) {
    assert.equal(router.isPage(path), false, path);
    assert.equal(router.isApi(path), false, path);
  }
});

Deno.test("disabled: no page at all, and only /status is the API", async () => {
  const { routes: router } = routes(false);
  for (
    const path of [
      "/console",
      "/console/",
      "/console/app.js",
      "/console/api/status",
    ]
  ) {
    assert.equal(router.isPage(path), false, path);
    assert.equal(router.isApi(path), false, path);
  }
  assert.equal(router.isApi("/status"), true);
  const status = await call(router, "/status");
  assert.equal(status.status, 200);
  assert.deepEqual(await status.json(), STATUS);
  // Even when called anyway, console paths are not served.
  const page = router.page(new Request(`${BASE}/console`), "/console");
  assert.equal(page.status, 404);
  await page.body?.cancel();
  const api = await call(router, "/console/api/status");
  assert.equal(api.status, 404);
  await api.body?.cancel();
});

Deno.test("the page files: types, the console's headers, GET and HEAD only", async () => {
  const { routes: router } = routes();
  const types: Record<string, [string, string]> = {
    "/console": ["text/html; charset=utf-8", CONSOLE_HTML],
    "/console/": ["text/html; charset=utf-8", CONSOLE_HTML],
    "/console/app.js": ["text/javascript; charset=utf-8", CONSOLE_JS],
    "/console/app.css": ["text/css; charset=utf-8", CONSOLE_CSS],
  };
  for (const [path, [type, body]] of Object.entries(types)) {
    const response = router.page(new Request(`${BASE}${path}`), path);
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get("content-type"), type, path);
    assertConsoleHeaders(response, path);
    assert.equal(await response.text(), body, path);
    const head = router.page(
      new Request(`${BASE}${path}`, { method: "HEAD" }),
      path,
    );
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
  }
  const post = router.page(
    new Request(`${BASE}/console`, { method: "POST", body: "x" }),
    "/console",
  );
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  assertConsoleHeaders(post, "405");
  assert.match(await errorMessage(post), /^Method Not Allowed/);
});

Deno.test("the CSP is the design's strict policy", () => {
  for (
    const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data: blob:",
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]
  ) {
    assert.ok(CONSOLE_CSP.split("; ").includes(directive), directive);
  }
  assert.doesNotMatch(CONSOLE_CSP, /unsafe|\*/);
});

Deno.test("the page: no inline script or style, no HTML insertion, well under 100 KB", () => {
  const size = [CONSOLE_HTML, CONSOLE_JS, CONSOLE_CSS]
    .reduce((sum, text) => sum + utf8Length(text), 0);
  assert.ok(size < 100 * 1024, `${size} bytes`);
  // Every <script> has a src and no body; no style or on* attributes.
  for (
    const match of CONSOLE_HTML.matchAll(
      /<script\b([^>]*)>([\s\S]*?)<\/script>/g,
    )
  ) {
    assert.match(match[1]!, /src="\/console\/app\.js"/);
    assert.equal(match[2], "");
  }
  assert.doesNotMatch(CONSOLE_HTML, /<style|\sstyle=|\son[a-z]+=/i);
  assert.doesNotMatch(CONSOLE_HTML, /https?:\/\//, "no external resource");
  assert.doesNotMatch(
    CONSOLE_JS,
    /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/,
  );
  assert.doesNotMatch(CONSOLE_JS, /https?:\/\//, "no external resource");
  assert.doesNotMatch(CONSOLE_CSS, /@import|url\(/);
  // The script parses.
  new Function(CONSOLE_JS);
  // The token goes in a header, and the fragment is cleared.
  assert.match(CONSOLE_JS, /authorization = "Bearer " \+ token/);
  assert.match(CONSOLE_JS, /history\.replaceState/);
  assert.match(CONSOLE_JS, /sessionStorage/);
});

// ---------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------

Deno.test("/status and /console/api/status: the backend's snapshot, GET and HEAD only", async () => {
  const { routes: router } = routes();
  for (const path of ["/status", "/console/api/status"]) {
    const response = await call(router, path);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assertConsoleHeaders(response, path);
    assert.deepEqual(await response.json(), STATUS);
    const head = await call(router, path, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    const post = await call(router, path, {
      method: "POST",
      headers: ACTION_HEADERS,
      body: "{}",
    });
    assert.equal(post.status, 405);
    assertConsoleHeaders(post, `${path} 405`);
    assert.match(await errorMessage(post), /^Method Not Allowed: use GET/);
  }
});

Deno.test("unknown console paths are 404 with the console's headers", async () => {
  const { routes: router } = routes();
  for (
    const path of [
      "/console/nope",
      "/console/api/",
      "/console/api/servers/files",
      "/console/api/servers/files/end",
      "/console/api/sessions/x/restart",
      "/console/api/servers/a/b/restart",
    ]
  ) {
    const response = await call(router, path, {
      method: "POST",
      headers: ACTION_HEADERS,
      body: "{}",
    });
    assert.equal(response.status, 404, path);
    assertConsoleHeaders(response, path);
    assert.match(await errorMessage(response), /^Not Found/);
  }
});

Deno.test("actions: restart, reload and end session call the backend", async () => {
  const { routes: router, backend } = routes();
  const paths = [
    "/console/api/servers/my%20server/restart",
    "/console/api/reload",
    "/console/api/sessions/abc123/end",
  ];
  for (const path of paths) {
    const response = await call(router, path, {
      method: "POST",
      headers: {
        ...ACTION_HEADERS,
        "content-type": "application/json; charset=utf-8",
      },
      body: "{}",
    });
    assert.equal(response.status, 200, path);
    assertConsoleHeaders(response, path);
    assert.deepEqual(await response.json(), { ok: true, detail: "done" });
  }
  assert.deepEqual(backend.calls, [
    "restart my server",
    "reload",
    "end abc123",
  ]);

  // A refusal by the backend keeps its status and message.
  backend.answer = {
    ok: false,
    status: 409,
    message: "Conflict: not in shared mode",
  };
  const refused = await call(router, paths[0]!, {
    method: "POST",
    headers: ACTION_HEADERS,
    body: "{}",
  });
  assert.equal(refused.status, 409);
  assert.equal(await errorMessage(refused), "Conflict: not in shared mode");
  // A backend that throws gives a 500, not a crash.
  const thrown = await call(router, "/console/api/sessions/boom/end", {
    method: "POST",
    headers: ACTION_HEADERS,
    body: "{}",
  });
  assert.equal(thrown.status, 500);
  assert.match(await errorMessage(thrown), /it broke/);
  // Bad percent-encoding is a 400, and the backend is not called.
  const calls = backend.calls.length;
  const bad = await call(router, "/console/api/servers/%E0%A4%A/restart", {
    method: "POST",
    headers: ACTION_HEADERS,
    body: "{}",
  });
  assert.equal(bad.status, 400);
  assert.match(await errorMessage(bad), /percent-encoding/);
  assert.equal(backend.calls.length, calls);
});

Deno.test("actions need POST, X-MCP-Runner-Console: 1 and a JSON body type (CSRF)", async () => {
  const { routes: router, backend } = routes();
  const path = "/console/api/servers/files/restart";
  const cases: [RequestInit, number, RegExp][] = [
    [{ method: "GET" }, 405, /^Method Not Allowed: use POST/],
    // What a cross-site form can send: a simple content type, no header.
    [
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "a=1",
      },
      403,
      /X-MCP-Runner-Console: 1/,
    ],
    [
      { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" },
      403,
      /X-MCP-Runner-Console/,
    ],
    [
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-mcp-runner-console": "yes",
        },
        body: "{}",
      },
      403,
      /X-MCP-Runner-Console/,
    ],
    [
      {
        method: "POST",
        headers: { "content-type": "text/plain", "x-mcp-runner-console": "1" },
        body: "{}",
      },
      415,
      /^Unsupported Media Type.*"text\/plain"/,
    ],
    [
      { method: "POST", headers: { "x-mcp-runner-console": "1" } },
      415,
      /Unsupported Media Type/,
    ],
  ];
  for (const [init, status, message] of cases) {
    for (
      const target of [
        path,
        "/console/api/reload",
        "/console/api/sessions/s1/end",
      ]
    ) {
      const response = await call(router, target, init);
      assert.equal(
        response.status,
        status,
        `${target} ${JSON.stringify(init)}`,
      );
      assertConsoleHeaders(response, target);
      assert.match(await errorMessage(response), message);
    }
  }
  assert.deepEqual(backend.calls, []);
});

Deno.test("logs: 400 without a server, 404 for an unknown one", async () => {
  const { routes: router } = routes();
  const none = await call(router, "/console/api/logs");
  assert.equal(none.status, 400);
  assertConsoleHeaders(none, "400");
  assert.match(await errorMessage(none), /server=NAME/);
  const unknown = await call(router, "/console/api/logs?server=%3Cb%3E");
  assert.equal(unknown.status, 404);
  assert.match(await errorMessage(unknown), /no server named "<b>"/);
  const head = await call(router, "/console/api/logs?server=files", {
    method: "HEAD",
  });
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
  const post = await call(router, "/console/api/logs?server=files", {
    method: "POST",
    body: "x",
  });
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

Deno.test("logs: the buffer is replayed, new lines follow, keepalives come, cancel unsubscribes", async () => {
  const { routes: router, backend } = routes();
  const ring = backend.rings.get("files")!;
  ring.add("first", 10, false);
  ring.add("second", 10, true);
  const response = await call(router, "/console/api/logs?server=files");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  assertConsoleHeaders(response, "logs");
  assert.equal(ring.listenerCount, 1);
  const reader = response.body!.getReader();
  const replayed = await readEvents(reader, 2);
  assert.deepEqual(replayed.map((e) => [e.seq, e.line, e.pid, e.truncated]), [
    [1, "first", 10, false],
    [2, "second", 10, true],
  ]);
  ring.add("\x1b[31mthird\x1b[0m", 11, false);
  const comments: string[] = [];
  const [third] = await readEvents(reader, 1, comments);
  assert.equal(third!.line, "third");
  assert.equal(third!.seq, 3);
  // Keepalives (every 30 ms here) arrive while nothing is written.
  while (!comments.includes(": keepalive")) {
    const { value, done } = await reader.read();
    assert.ok(!done);
    if (new TextDecoder().decode(value).includes(": keepalive")) break;
  }
  await reader.cancel();
  assert.equal(ring.listenerCount, 0, "cancel unsubscribes");
});

Deno.test("logs: the request's signal ends the stream and unsubscribes", async () => {
  const { routes: router, backend } = routes();
  const ring = backend.rings.get("files")!;
  const abort = new AbortController();
  const response = await call(router, "/console/api/logs?server=files", {
    signal: abort.signal,
  });
  assert.equal(ring.listenerCount, 1);
  abort.abort();
  assert.equal(ring.listenerCount, 0, "abort unsubscribes");
  ring.add("after", 1, false);
  await response.body?.cancel();
  // Already aborted: nothing subscribes.
  const late = await call(router, "/console/api/logs?server=files", {
    signal: abort.signal,
  });
  assert.equal(ring.listenerCount, 0);
  assert.equal(await late.text(), "");
});

Deno.test("logs: a client that does not read is dropped, not queued without limit", async () => {
  const backend = new FakeBackend();
  const router = new ConsoleRoutes({
    backend,
    enabled: true,
    queueBytes: 16 * 1024,
  });
  const ring = backend.rings.get("files")!;
  const response = await call(router, "/console/api/logs?server=files");
  assert.equal(ring.listenerCount, 1);
  // Nobody reads; the writer goes on.
  for (let i = 0; i < 100; i++) ring.add("x".repeat(1000), 1, false);
  assert.equal(ring.listenerCount, 0, "dropped and unsubscribed");
  assert.equal(ring.size, 100, "the ring itself is unaffected");
  await assert.rejects(response.text(), /reads too slowly/);
});
