/**
 * Browser tests: a real headless Chromium (Debian's `chromium`, driven by
 * `playwright-core`) loads a page from another origin than the runner and
 * uses all three transports the way a web client would: WebSocket with the
 * token in the `mcp.auth.<token>` subprotocol, Streamable HTTP with `fetch`
 * (CORS preflight, the exposed `Mcp-Session-Id` header) and legacy HTTP+SSE
 * with `EventSource` (`?access_token=`). A page on an origin that is not
 * allowed (`http://127.0.0.2:PORT`: loopback, but not a local host name) is
 * refused until `--allow-origin` names it.
 *
 * Skipped when /usr/bin/chromium is missing (`apt-get install -y chromium`;
 * .ci/run installs it). Playwright never downloads a browser here: it is
 * always given `executablePath`. Set `BROWSER_TEST_SCREENSHOT=/path.png` to
 * keep the screenshot the test takes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import {
  FIXTURE,
  type RunningRunner,
  startRunner,
  waitFor,
} from "./_helpers.ts";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

type Json = Record<string, unknown>;

const CHROMIUM = "/usr/bin/chromium";

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

const NO_CHROMIUM = !haveChromium();
const SKIPPED = NO_CHROMIUM
  ? ` [IGNORED: ${CHROMIUM} is missing; apt-get install -y chromium]`
  : "";

/** Flags for a quiet, self-contained headless Chromium. */
const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Every wait inside the page gives up after this long. */
const PAGE_TIMEOUT_MS = 10_000;

/** A fresh token: letters and digits only, so it is a valid subprotocol. */
function newToken(): string {
  return "brw" + crypto.randomUUID().replaceAll("-", "");
}

/** What `webSocket()` in the page reports. */
interface WsResult {
  opened: boolean;
  /** `socket.protocol` once open ("" otherwise). */
  protocol: string;
  /** The events seen, in order: open, error, close. */
  events: string[];
  /** Replies to initialize and tools/call, parsed. */
  replies: Json[];
  closeCode: number | null;
  error?: string;
}

/** What `streamableHttp()` in the page reports. */
interface HttpResult {
  /** Statuses of initialize, notifications/initialized, tools/call, DELETE. */
  statuses: number[];
  /** Content types of the initialize and tools/call replies. */
  contentTypes: string[];
  /** The `Mcp-Session-Id` response header, as the page can read it. */
  session: string | null;
  replies: Json[];
  error?: string;
}

/** What `legacySse()` in the page reports. */
interface SseResult {
  /** Data of the `endpoint` event. */
  endpoint: string | null;
  /** Statuses of the POSTs to the endpoint. */
  postStatuses: number[];
  /** Replies that arrived as `message` events, parsed. */
  replies: Json[];
  /** `EventSource.readyState` when the check ended (2 = closed). */
  readyState: number;
  error?: string;
}

/** What `unauthenticatedFetch()` in the page reports. */
interface FetchResult {
  status: number | null;
  error?: string;
}

/** The functions the page defines on `globalThis.mcpChecks`. */
interface PageChecks {
  webSocket(url: string, protocols: string[], label: string): Promise<WsResult>;
  streamableHttp(
    base: string,
    token: string,
    label: string,
  ): Promise<HttpResult>;
  legacySse(base: string, token: string, label: string): Promise<SseResult>;
  unauthenticatedFetch(base: string, label: string): Promise<FetchResult>;
  summary(text: string): Promise<void>;
}

/**
 * The test page. Each check writes a row (label, outcome, detail) into the
 * results table, so that a screenshot shows what happened; every wait is
 * bounded by PAGE_TIMEOUT_MS.
 */
const PAGE_SCRIPT = String.raw`
"use strict";
const TIMEOUT_MS = ${PAGE_TIMEOUT_MS};
const PROTOCOL_VERSION = "2025-11-25";

function withTimeout(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(what + ": nothing within " + TIMEOUT_MS + " ms")),
      TIMEOUT_MS,
    );
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

function row(label, outcome, detail) {
  const tr = document.createElement("tr");
  tr.className = outcome;
  for (const text of [label, outcome, detail]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  document.getElementById("results").append(tr);
}

function initialize(id) {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: "browser-test", version: "1.0.0" },
    },
  };
}

const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" };

function echoCall(id, message) {
  return {
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "echo", arguments: { message } },
  };
}

function echoed(reply) {
  return reply?.result?.content?.[0]?.text ?? JSON.stringify(reply);
}

/** A queue of parsed messages with a bounded wait for the next one. */
function inbox(what) {
  const items = [];
  let wake = () => {};
  return {
    push(item) {
      items.push(item);
      wake();
    },
    poke() {
      wake();
    },
    async next(stillOpen) {
      while (items.length === 0) {
        if (!stillOpen()) throw new Error(what + " closed before a reply");
        await withTimeout(new Promise((resolve) => (wake = resolve)), what);
      }
      return items.shift();
    },
  };
}

async function webSocket(url, protocols, label) {
  const result = {
    opened: false,
    protocol: "",
    events: [],
    replies: [],
    closeCode: null,
  };
  const socket = new WebSocket(url, protocols);
  const messages = inbox("WebSocket reply");
  const closed = new Promise((resolve) =>
    socket.addEventListener("close", (event) => {
      result.events.push("close");
      messages.poke();
      resolve(event.code);
    })
  );
  socket.addEventListener("error", () => result.events.push("error"));
  socket.addEventListener("message", (event) =>
    messages.push(JSON.parse(event.data))
  );
  try {
    result.opened = await withTimeout(
      new Promise((resolve) => {
        socket.addEventListener("open", () => {
          result.events.push("open");
          resolve(true);
        });
        closed.then(() => resolve(false));
      }),
      "WebSocket open",
    );
    if (result.opened) {
      result.protocol = socket.protocol;
      const open = () => socket.readyState === WebSocket.OPEN;
      socket.send(JSON.stringify(initialize(1)));
      result.replies.push(await messages.next(open));
      socket.send(JSON.stringify(INITIALIZED));
      socket.send(JSON.stringify(echoCall(2, "hello over WebSocket")));
      result.replies.push(await messages.next(open));
      socket.close(1000);
    }
    result.closeCode = await withTimeout(closed, "WebSocket close");
  } catch (error) {
    result.error = String(error);
    socket.close();
  }
  row(
    label,
    result.error ? "error" : result.opened ? "opened" : "refused",
    result.error ??
      (result.opened
        ? "protocol " + JSON.stringify(result.protocol) + "; " +
          echoed(result.replies[1])
        : "events " + result.events.join(",") + "; close code " +
          result.closeCode),
  );
  return result;
}

/** Reads the reply with the given id from a JSON or SSE response. */
async function readReply(response, id) {
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("text/event-stream")) {
    return await withTimeout(response.json(), "JSON reply");
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await withTimeout(reader.read(), "SSE reply");
      if (done) throw new Error("the SSE stream ended before reply " + id);
      buffer += decoder.decode(value, { stream: true });
      buffer = buffer.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n");
        if (data === "") continue;
        const message = JSON.parse(data);
        if (message.id === id) return message;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

async function streamableHttp(base, token, label) {
  const result = { statuses: [], contentTypes: [], session: null, replies: [] };
  const headers = {
    authorization: "Bearer " + token,
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  };
  const post = (body, extra = {}) =>
    withTimeout(
      fetch(base + "/mcp", {
        method: "POST",
        headers: { ...headers, ...extra },
        body: JSON.stringify(body),
      }),
      "POST /mcp",
    );
  try {
    const first = await post(initialize(1));
    result.statuses.push(first.status);
    result.contentTypes.push(first.headers.get("content-type"));
    result.session = first.headers.get("mcp-session-id");
    result.replies.push(await readReply(first, 1));
    const session = {
      "mcp-session-id": result.session ?? "",
      "mcp-protocol-version": PROTOCOL_VERSION,
    };
    const notified = await post(INITIALIZED, session);
    result.statuses.push(notified.status);
    await notified.body?.cancel();
    const second = await post(
      echoCall(2, "hello over Streamable HTTP"),
      session,
    );
    result.statuses.push(second.status);
    result.contentTypes.push(second.headers.get("content-type"));
    result.replies.push(await readReply(second, 2));
    const deleted = await withTimeout(
      fetch(base + "/mcp", {
        method: "DELETE",
        headers: { authorization: headers.authorization, ...session },
      }),
      "DELETE /mcp",
    );
    result.statuses.push(deleted.status);
    await deleted.body?.cancel();
  } catch (error) {
    result.error = String(error);
  }
  row(
    label,
    result.error ? "failed" : "ok",
    result.error ??
      "statuses " + result.statuses.join(",") + "; session " +
        result.session + "; " + echoed(result.replies[1]),
  );
  return result;
}

async function legacySse(base, token, label) {
  const result = { endpoint: null, postStatuses: [], replies: [], readyState: 0 };
  const source = new EventSource(
    base + "/sse?access_token=" + encodeURIComponent(token),
  );
  const messages = inbox("SSE message event");
  let failed = false;
  source.addEventListener("message", (event) =>
    messages.push(JSON.parse(event.data))
  );
  source.addEventListener("error", () => {
    failed = true;
    messages.poke();
  });
  try {
    result.endpoint = await withTimeout(
      new Promise((resolve, reject) => {
        source.addEventListener("endpoint", (event) => resolve(event.data), {
          once: true,
        });
        source.addEventListener(
          "error",
          () => reject(new Error("EventSource error before the endpoint event")),
          { once: true },
        );
      }),
      "endpoint event",
    );
    const target = new URL(result.endpoint, base + "/sse").href;
    const post = async (body) => {
      const response = await withTimeout(
        fetch(target, {
          method: "POST",
          headers: {
            authorization: "Bearer " + token,
            "content-type": "application/json",
          },
          body: JSON.stringify(body),
        }),
        "POST " + result.endpoint,
      );
      result.postStatuses.push(response.status);
      await response.body?.cancel();
    };
    const open = () => !failed && source.readyState === EventSource.OPEN;
    await post(initialize(1));
    result.replies.push(await messages.next(open));
    await post(INITIALIZED);
    await post(echoCall(2, "hello over legacy SSE"));
    result.replies.push(await messages.next(open));
  } catch (error) {
    result.error = String(error);
  }
  result.readyState = source.readyState;
  source.close();
  row(
    label,
    result.error ? "failed" : "ok",
    result.error
      ? result.error + "; readyState " + result.readyState
      : "endpoint " + result.endpoint + "; POST statuses " +
        result.postStatuses.join(",") + "; " + echoed(result.replies[1]),
  );
  return result;
}

async function unauthenticatedFetch(base, label) {
  const result = { status: null };
  try {
    const response = await withTimeout(
      fetch(base + "/mcp", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify(initialize(1)),
      }),
      "POST /mcp",
    );
    result.status = response.status;
    await response.body?.cancel();
  } catch (error) {
    result.error = String(error);
  }
  row(label, result.error ? "failed" : "status " + result.status, result.error ?? "");
  return result;
}

async function summary(text) {
  document.getElementById("summary").textContent = text;
}

globalThis.mcpChecks = {
  webSocket,
  streamableHttp,
  legacySse,
  unauthenticatedFetch,
  summary,
};
`;

const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mcp-server-runner from a browser</title>
<style>
  body { font: 14px/1.4 sans-serif; margin: 1.5em; }
  table { border-collapse: collapse; }
  td { border: 1px solid #ccc; padding: 0.3em 0.6em; vertical-align: top; }
  tr.opened td, tr.ok td { background: #e6f6e6; }
  tr.refused td, tr.failed td, tr.error td { background: #fbe9e9; }
  #summary { font-weight: bold; }
</style>
</head>
<body>
<h1>mcp-server-runner from a browser</h1>
<p>Page origin: <code id="origin"></code></p>
<table id="results"></table>
<p id="summary">running...</p>
<script>document.getElementById("origin").textContent = location.origin;</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;

/** Serves the test page on `hostname`, any free port. */
function servePage(hostname: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname, port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path !== "/") return new Response("Not Found", { status: 404 });
    return new Response(PAGE_HTML, {
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  });
}

function originOf(server: Deno.HttpServer<Deno.NetAddr>): string {
  return `http://${server.addr.hostname}:${server.addr.port}`;
}

/**
 * Settles with `promise`, or rejects after `ms` (the timer is always
 * cleared, so no timer outlives the test).
 */
async function bounded<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: nothing within ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Launches Chromium, runs `body`, and closes the browser whatever happens. */
async function withBrowser(
  body: (browser: Browser) => Promise<void>,
): Promise<void> {
  const browser = await bounded(
    chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    }),
    40_000,
    "Chromium launch",
  );
  try {
    await body(browser);
  } finally {
    await bounded(browser.close(), 30_000, "Chromium close");
  }
}

/** Opens `url` in a new page (closed by the caller). */
async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(url);
  return page;
}

type ChecksGlobal = { mcpChecks: PageChecks };

/**
 * The page's checks, called from the test; each call is bounded. The
 * arrow functions are serialized by Playwright and run in the page.
 */
function pageChecks(page: Page): PageChecks {
  const limit = 4 * PAGE_TIMEOUT_MS;
  return {
    webSocket: (url, protocols, label) =>
      bounded(
        page.evaluate(
          ([u, p, l]) =>
            (globalThis as unknown as ChecksGlobal).mcpChecks.webSocket(
              u,
              p,
              l,
            ),
          [url, protocols, label] as const,
        ),
        limit,
        label,
      ),
    streamableHttp: (base, token, label) =>
      bounded(
        page.evaluate(
          ([b, t, l]) =>
            (globalThis as unknown as ChecksGlobal).mcpChecks.streamableHttp(
              b,
              t,
              l,
            ),
          [base, token, label] as const,
        ),
        limit,
        label,
      ),
    legacySse: (base, token, label) =>
      bounded(
        page.evaluate(
          ([b, t, l]) =>
            (globalThis as unknown as ChecksGlobal).mcpChecks.legacySse(
              b,
              t,
              l,
            ),
          [base, token, label] as const,
        ),
        limit,
        label,
      ),
    unauthenticatedFetch: (base, label) =>
      bounded(
        page.evaluate(
          ([b, l]) =>
            (globalThis as unknown as ChecksGlobal).mcpChecks
              .unauthenticatedFetch(b, l),
          [base, label] as const,
        ),
        limit,
        label,
      ),
    summary: (text) =>
      bounded(
        page.evaluate(
          (t) => (globalThis as unknown as ChecksGlobal).mcpChecks.summary(t),
          text,
        ),
        limit,
        "summary",
      ),
  };
}

/** `/healthz` of a runner, fetched without an Origin. */
async function health(runner: RunningRunner): Promise<Json> {
  const response = await fetch(`${runner.httpUrl}/healthz`);
  assert.equal(response.status, 200);
  return await response.json();
}

function assertWsWorks(result: WsResult, what: string): void {
  assert.equal(result.error, undefined, `${what}: ${result.error}`);
  assert.equal(result.opened, true, `${what}: the WebSocket opens`);
  assert.equal(result.protocol, "mcp", `${what}: only "mcp" is echoed`);
  assert.equal(result.replies[0]?.id, 1);
  assert.equal(
    (result.replies[0]?.result as Json | undefined)?.protocolVersion,
    "2025-11-25",
  );
  assert.deepEqual(result.replies[1], {
    jsonrpc: "2.0",
    id: 2,
    result: { content: [{ type: "text", text: "Echo: hello over WebSocket" }] },
  });
  assert.equal(result.closeCode, 1000);
}

function assertHttpWorks(result: HttpResult, what: string): void {
  assert.equal(result.error, undefined, `${what}: ${result.error}`);
  assert.deepEqual(result.statuses, [200, 202, 200, 200], what);
  assert.match(
    result.session ?? "",
    /^[\x21-\x7e]+$/,
    `${what}: Mcp-Session-Id is exposed to the page`,
  );
  for (const type of result.contentTypes) {
    assert.match(type, /^(text\/event-stream|application\/json)/);
  }
  assert.equal(result.replies[0]?.id, 1);
  assert.ok(result.replies[0]?.result, JSON.stringify(result.replies[0]));
  assert.deepEqual(result.replies[1], {
    jsonrpc: "2.0",
    id: 2,
    result: {
      content: [{ type: "text", text: "Echo: hello over Streamable HTTP" }],
    },
  });
}

function assertSseWorks(result: SseResult, what: string): void {
  assert.equal(result.error, undefined, `${what}: ${result.error}`);
  assert.match(result.endpoint ?? "", /^\/message\?sessionId=\S+$/, what);
  assert.deepEqual(result.postStatuses, [202, 202, 202], what);
  assert.equal(result.replies[0]?.id, 1);
  assert.ok(result.replies[0]?.result, JSON.stringify(result.replies[0]));
  assert.deepEqual(result.replies[1], {
    jsonrpc: "2.0",
    id: 2,
    result: {
      content: [{ type: "text", text: "Echo: hello over legacy SSE" }],
    },
  });
  assert.equal(result.readyState, 1, `${what}: the stream is still open`);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Screenshots the page to a temporary file and checks it is a PNG. */
async function screenshot(page: Page): Promise<void> {
  const keep = Deno.env.get("BROWSER_TEST_SCREENSHOT");
  const dir = keep
    ? undefined
    : await Deno.makeTempDir({ prefix: "browser-test-" });
  const path = keep ?? `${dir}/results.png`;
  try {
    await page.screenshot({ path, fullPage: true });
    const bytes = await Deno.readFile(path);
    assert.ok(bytes.length > 1000, `the screenshot has ${bytes.length} bytes`);
    assert.deepEqual([...bytes.subarray(0, 8)], PNG_SIGNATURE);
    // IHDR: width and height, both non-zero.
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    assert.ok(view.getUint32(16) > 0 && view.getUint32(20) > 0);
  } finally {
    if (dir) await Deno.remove(dir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

Deno.test({
  name:
    `a page on another origin uses WebSocket (token subprotocol), Streamable HTTP (fetch, CORS) and legacy SSE (EventSource) in Chromium${SKIPPED}`,
  ignore: NO_CHROMIUM,
  async fn() {
    const token = newToken();
    await using runner = await startRunner([
      "--auth-token",
      token,
      "--",
      ...FIXTURE,
    ]);
    await using server = servePage("127.0.0.1");
    const origin = originOf(server);
    assert.notEqual(server.addr.port, runner.port);
    await withBrowser(async (browser) => {
      const page = await openPage(browser, `${origin}/`);
      try {
        const checks = pageChecks(page);
        const base = runner.httpUrl;

        // (1) WebSocket, the token in the second subprotocol.
        assertWsWorks(
          await checks.webSocket(
            runner.wsUrl,
            ["mcp", `mcp.auth.${token}`],
            "WebSocket, token subprotocol",
          ),
          "WebSocket",
        );
        // Without the token the handshake fails: no session.
        const anonymous = await checks.webSocket(
          runner.wsUrl,
          ["mcp"],
          "WebSocket, no token (must be refused)",
        );
        assert.equal(anonymous.opened, false);
        assert.equal(anonymous.closeCode, 1006);

        // (2) Streamable HTTP with fetch: preflighted, session id exposed.
        assertHttpWorks(
          await checks.streamableHttp(base, token, "Streamable HTTP, fetch"),
          "Streamable HTTP",
        );
        // Without the token: a 401 the page can read (CORS headers on it).
        assert.deepEqual(
          await checks.unauthenticatedFetch(
            base,
            "fetch, no token (must get 401)",
          ),
          { status: 401 },
        );

        // (3) Legacy SSE with EventSource and ?access_token=.
        assertSseWorks(
          await checks.legacySse(base, token, "legacy SSE, EventSource"),
          "legacy SSE",
        );

        await checks.summary(`All checks done from ${origin}`);
        await screenshot(page);

        const logs = runner.stderr();
        assert.match(logs, /Refused GET \/: missing or wrong bearer token/);
        assert.match(logs, /Refused POST \/mcp: missing or wrong bearer token/);
        assert.doesNotMatch(logs, /Refused [A-Z]+ \S+: (?:Forbidden: )?Origin/);
        assert.ok(!logs.includes(token), "the token is never logged");
      } finally {
        await page.close();
      }
    });
  },
});

Deno.test({
  name:
    `a page on a disallowed origin (http://127.0.0.2:PORT) is refused on every transport, and works once --allow-origin names it${SKIPPED}`,
  ignore: NO_CHROMIUM,
  async fn() {
    const token = newToken();
    await using server = servePage("127.0.0.2");
    const origin = originOf(server);
    await using strict = await startRunner([
      "--auth-token",
      token,
      "--",
      ...FIXTURE,
    ]);
    await using allowing = await startRunner([
      "--auth-token",
      token,
      "--allow-origin",
      origin,
      "--",
      ...FIXTURE,
    ]);
    await withBrowser(async (browser) => {
      const page = await openPage(browser, `${origin}/`);
      try {
        const checks = pageChecks(page);
        assert.equal(await page.evaluate(() => location.origin), origin);

        // (4) Refused: the handshake fails, fetch and EventSource fail.
        const ws = await checks.webSocket(
          strict.wsUrl,
          ["mcp", `mcp.auth.${token}`],
          "WebSocket, origin not allowed (must fail)",
        );
        assert.equal(ws.error, undefined, ws.error);
        assert.equal(ws.opened, false, "the WebSocket must not open");
        assert.deepEqual(ws.events, ["error", "close"]);
        assert.equal(ws.closeCode, 1006);
        const http = await checks.streamableHttp(
          strict.httpUrl,
          token,
          "Streamable HTTP, origin not allowed (must fail)",
        );
        // The preflight gets 403: fetch rejects with a network error.
        assert.match(http.error ?? "", /TypeError: Failed to fetch/);
        assert.deepEqual(http.statuses, []);
        const sse = await checks.legacySse(
          strict.httpUrl,
          token,
          "legacy SSE, origin not allowed (must fail)",
        );
        assert.match(sse.error ?? "", /EventSource error before the endpoint/);
        assert.equal(sse.readyState, 2, "a 403 fails the EventSource for good");
        const escaped = origin.replaceAll(".", "\\.");
        for (const what of ["GET /", "OPTIONS /mcp", "GET /sse"]) {
          const pattern = new RegExp(
            `Refused ${what}: (?:Forbidden: )?Origin "${escaped}" is not allowed`,
          );
          assert.ok(
            await waitFor(() => pattern.test(strict.stderr()), 5_000),
            `runner log has ${pattern}:\n${strict.stderr()}`,
          );
        }
        const refusedHealth = await health(strict);
        assert.equal(refusedHealth.sessions, 0);
        assert.equal(refusedHealth.sessionsTotal, 0);

        // (5) The same page, against a runner that allows its origin.
        assertWsWorks(
          await checks.webSocket(
            allowing.wsUrl,
            ["mcp", `mcp.auth.${token}`],
            "WebSocket, --allow-origin",
          ),
          "WebSocket with --allow-origin",
        );
        assertHttpWorks(
          await checks.streamableHttp(
            allowing.httpUrl,
            token,
            "Streamable HTTP, --allow-origin",
          ),
          "Streamable HTTP with --allow-origin",
        );
        assertSseWorks(
          await checks.legacySse(
            allowing.httpUrl,
            token,
            "legacy SSE, --allow-origin",
          ),
          "legacy SSE with --allow-origin",
        );
        assert.doesNotMatch(allowing.stderr(), /Refused/);
        assert.equal((await health(allowing)).sessionsTotal, 3);
        await checks.summary(
          `${origin}: refused without --allow-origin, served with it`,
        );
      } finally {
        await page.close();
      }
    });
  },
});
