/**
 * Benchmark: the same C echo MCP server (bench/echo.c) measured directly over
 * pipes and through the runner over WebSocket and over Streamable HTTP
 * (`/mcp`, JSON replies), in one run.
 *
 * Run with `deno task bench` (a few minutes) or `deno task bench --quick`
 * (smaller counts, a smoke run). Prints a Markdown table on stdout and
 * progress on stderr. `--profile DIR` runs the runner of the load rows with
 * `--cpu-prof` and writes its .cpuprofile into DIR (see profile_top.ts;
 * combine with `--only http` to profile the Streamable HTTP rows alone);
 * `--rounds N` sets the rounds of the load rows (3, or 1 with `--quick`);
 * `--compare DIR` also runs the runner of another copy (DIR/main.ts) beside
 * this one in the same rounds of the WebSocket rows, for before/after ratios;
 * `--only seq,flight,http,big,many,shared,setup,memory` runs some of the rows
 * (`http`: the Streamable HTTP sequential and 64-in-flight rows, with their
 * direct-pipe baseline; `shared`: the many-clients load on one
 * `--child-mode shared` child against one child per session; `setup` also
 * compares `--prewarm 4` and shared mode with a cold per-session runner).
 *
 * @module
 */

import denoConfig from "../deno.json" with { type: "json" };
import { LineOverflow, LineStream } from "../lib/child/line_stream.ts";

const QUICK = Deno.args.includes("--quick");
const ROUNDS_ARG = Deno.args.indexOf("--rounds");

/** Counts and limits of one run. */
const C = QUICK
  ? {
    seqWarm: 50,
    seqN: 300,
    flightWarm: 500,
    flightN: 3_000,
    window: 64,
    bigWarm: 1,
    bigN: 5,
    hugeN: 2,
    clients: 16,
    clientWindow: 16,
    perClientWarm: 50,
    perClientN: 200,
    setupWarm: 1,
    setupN: 8,
    rounds: ROUNDS_ARG === -1 ? 1 : Number(Deno.args[ROUNDS_ARG + 1]),
    floodMb: 64,
    sendTimeoutMs: 2_000,
    totalMs: 90_000,
  }
  : {
    seqWarm: 300,
    seqN: 2_000,
    flightWarm: 2_000,
    flightN: 20_000,
    window: 64,
    bigWarm: 3,
    bigN: 30,
    hugeN: 5,
    clients: 16,
    clientWindow: 16,
    perClientWarm: 200,
    perClientN: 2_000,
    setupWarm: 3,
    setupN: 30,
    rounds: ROUNDS_ARG === -1 ? 3 : Number(Deno.args[ROUNDS_ARG + 1]),
    floodMb: 200,
    sendTimeoutMs: 5_000,
    totalMs: 170_000,
  };

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const ECHO_SOURCE = new URL("./echo.c", import.meta.url).pathname;
const BUILD_DIR = new URL("./.build/", import.meta.url).pathname;
const ECHO_BINARY = BUILD_DIR + "echo";
const HOST = "127.0.0.1";
const MIB = 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const deadlineAt = Date.now() + C.totalMs;

function progress(text: string): void {
  const bytes = encoder.encode(`[bench] ${text}\n`);
  let offset = 0;
  while (offset < bytes.length) {
    offset += Deno.stderr.writeSync(bytes.subarray(offset));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects after `ms` (and never later than the total deadline). */
async function bounded<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  const limit = Math.max(0, Math.min(ms, deadlineAt - Date.now()));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(
          () => reject(new Error(`${what}: no result within ${limit} ms`)),
          limit,
        )
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls `probe` every `everyMs` until it gives a value; rejects after `ms`
 * (and never later than the total deadline).
 */
async function pollUntil<T>(
  what: string,
  ms: number,
  probe: () => T | undefined | Promise<T | undefined>,
  everyMs = 10,
): Promise<T> {
  const until = Math.min(Date.now() + ms, deadlineAt);
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= until) {
      throw new Error(`${what}: not within ${ms} ms`);
    }
    await delay(everyMs);
  }
}

// ---------------------------------------------------------------------------
// Build

async function buildEcho(): Promise<string> {
  const source = await Deno.stat(ECHO_SOURCE);
  let fresh = false;
  try {
    const binary = await Deno.stat(ECHO_BINARY);
    fresh = (binary.mtime?.getTime() ?? 0) >= (source.mtime?.getTime() ?? 0);
  } catch {
    // not built yet
  }
  if (fresh) return ECHO_BINARY;
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  progress(`compiling ${ECHO_SOURCE}`);
  const out = await new Deno.Command("cc", {
    args: ["-O2", "-o", ECHO_BINARY, ECHO_SOURCE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot compile bench/echo.c with cc:\n${decoder.decode(out.stderr)}`,
    );
  }
  return ECHO_BINARY;
}

// ---------------------------------------------------------------------------
// Processes

/** Parent pid of `pid`, or undefined when it has gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  return parentOf(pid) !== undefined;
}

function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    if (parentOf(Number(entry.name)) === pid) found.push(Number(entry.name));
  }
  return found;
}

/** Children of `pid` that run `program` (not the runner's orphan guard). */
function programChildrenOf(pid: number, program: string): number[] {
  return childrenOf(pid).filter((child) => {
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${child}/cmdline`);
      return cmdline.split("\0")[0] === program;
    } catch {
      return false;
    }
  });
}

/** VmRSS and VmHWM of a process, in bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
}

function killPid(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** The permission flags of the `compile` task (what the binary gets). */
function compileFlags(): string[] {
  return denoConfig.tasks.compile.split(/\s+/).filter((word) =>
    word.startsWith("--allow-")
  );
}

/** A server subprocess: the runner, a floor relay or websocketd. */
interface Runner {
  pid: number;
  url: string;
  port: number;
  stderr(): string;
  stop(): Promise<void>;
}

const runners = new Set<Runner>();

/**
 * Starts a server and waits for the line on its stderr (or its stdout) that
 * `listening` matches (its first group is the port).
 */
async function startServer(
  what: string,
  command: string,
  args: string[],
  listening: RegExp,
  logsOn: "stderr" | "stdout" = "stderr",
  cwd = ROOT,
): Promise<Runner> {
  const process = new Deno.Command(command, {
    args,
    env: { NO_COLOR: "1" },
    cwd,
    stdin: "null",
    stdout: logsOn === "stdout" ? "piped" : "null",
    stderr: logsOn === "stderr" ? "piped" : "null",
  }).spawn();
  let text = "";
  const port = Promise.withResolvers<number>();
  let found = false;
  const drained = (async () => {
    for await (
      const chunk of logsOn === "stdout" ? process.stdout : process.stderr
    ) {
      text += decoder.decode(chunk, { stream: true });
      // Looked for until found: the runner logs a line per request at info,
      // and scanning all of it would charge the bench's CPU to the runner.
      if (!found) {
        const match = listening.exec(text);
        if (match) {
          found = true;
          port.resolve(Number(match[1]));
        }
      }
      if (text.length > 256 * 1024) text = text.slice(-128 * 1024);
    }
    port.reject(new Error(`${what} exited before listening:\n${text}`));
  })();
  const seen = new Set<number>();
  let stopping: Promise<void> | undefined;
  const runner: Runner = {
    pid: process.pid,
    port: 0,
    url: "",
    stderr: () => text,
    stop: () =>
      stopping ??= (async () => {
        for (const pid of childrenOf(process.pid)) seen.add(pid);
        killPid(process.pid, "SIGTERM");
        try {
          await bounded(process.status, 15_000, `${what} stop`);
        } catch {
          killPid(process.pid, "SIGKILL");
          await process.status;
        }
        await bounded(drained, 5_000, `${what} stderr`).catch(() => {});
        for (const pid of seen) if (alive(pid)) killPid(pid, "SIGKILL");
        runners.delete(runner);
      })(),
  };
  runners.add(runner);
  try {
    runner.port = await bounded(port.promise, 30_000, `${what} start`);
  } catch (error) {
    await runner.stop();
    throw error;
  }
  runner.url = `ws://${HOST}:${runner.port}/`;
  return runner;
}

async function startRunner(
  echo: string,
  extra: string[],
  denoFlags: string[] = [],
  root = ROOT,
): Promise<Runner> {
  // At info, the default level: the runner as it ships, with its access
  // line for every request.
  return await startServer(
    "Runner",
    Deno.execPath(),
    [
      "run",
      ...denoFlags,
      ...compileFlags(),
      root === ROOT ? MAIN : `${root}/main.ts`,
      "--host",
      HOST,
      "--port",
      "0",
      "--no-env-file",
      "--log-level",
      "info",
      ...extra,
      "--",
      echo,
    ],
    /Listening on ws:\/\/[^\s"]*:(\d+)\//,
    "stderr",
    root,
  );
}

/** A floor server of bench/ (`floor_relay.ts`, `floor_http.ts`). */
async function startFloor(file: string, echo: string): Promise<Runner> {
  return await startServer(file, Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-run",
    new URL(`./${file}`, import.meta.url).pathname,
    "0",
    echo,
  ], /Listening on \w+:\/\/[^\s"]*:(\d+)\//);
}

const WEBSOCKETD = "/usr/bin/websocketd";

/** websocketd on a free port, or undefined when it is not installed. */
async function startWebsocketd(echo: string): Promise<Runner | undefined> {
  try {
    await Deno.stat(WEBSOCKETD);
  } catch {
    return undefined;
  }
  const probe = Deno.listen({ hostname: HOST, port: 0 });
  const port = probe.addr.port;
  probe.close();
  return await startServer(
    "websocketd",
    WEBSOCKETD,
    [
      "--port",
      String(port),
      "--address",
      HOST,
      echo,
    ],
    /Starting WebSocket server\s*:\s*ws:\/\/[^\s]*:(\d+)\//,
    "stdout",
  );
}

/** Waits for `/readyz` to answer 200; returns the ms it took. */
function waitReady(runner: Runner, ms: number): Promise<number> {
  const start = performance.now();
  return pollUntil(`${runner.url}: /readyz 200`, ms, async () => {
    try {
      const response = await fetch(`http://${HOST}:${runner.port}/readyz`, {
        signal: AbortSignal.timeout(2_000),
      });
      await response.body?.cancel();
      return response.status === 200 ? performance.now() - start : undefined;
    } catch {
      return undefined;
    }
  }, 20);
}

// ---------------------------------------------------------------------------
// Connections: the same interface over pipes and over WebSocket

interface Conn {
  nextId: number;
  /** Sends one JSON-RPC message. */
  send(text: string): void;
  /** The next message received. */
  next(): Promise<string>;
  close(): Promise<void>;
  /** Makes every pending and future `next()` fail. */
  abort(error: Error): void;
}

const live = new Set<Conn>();

class PipeConn implements Conn {
  nextId = 1;
  #process: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array | LineOverflow>;
  #abortReason: Error | undefined;

  constructor(echo: string) {
    this.#process = new Deno.Command(echo, {
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#writer = this.#process.stdin.getWriter();
    this.#writer.closed.catch(() => {});
    this.#reader = this.#process.stdout
      .pipeThrough(new LineStream({ maxLineBytes: 64 * MIB }))
      .getReader();
    live.add(this);
  }

  send(text: string): void {
    this.#writer.write(encoder.encode(text + "\n")).catch(() => {});
  }

  async next(): Promise<string> {
    const { value, done } = await this.#reader.read();
    if (done || this.#abortReason) {
      throw this.#abortReason ?? new Error("echo child closed its stdout");
    }
    if (value instanceof LineOverflow) throw new Error("line over 64 MiB");
    return decoder.decode(value);
  }

  async close(): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // already gone
    }
    await this.#reader.cancel().catch(() => {});
    await this.#process.status;
    live.delete(this);
  }

  abort(error: Error): void {
    this.#abortReason ??= error;
    try {
      this.#process.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

class WsConn implements Conn {
  nextId = 1;
  readonly opened: Promise<void>;
  #socket: WebSocket;
  #items: string[] = [];
  #head = 0;
  #waiter: PromiseWithResolvers<string> | undefined;
  #error: Error | undefined;
  #closed: Promise<void>;
  #markClosed: () => void;

  constructor(url: string) {
    const socket = new WebSocket(url, ["mcp"]);
    this.#socket = socket;
    const opened = Promise.withResolvers<void>();
    const closed = Promise.withResolvers<void>();
    this.opened = opened.promise;
    this.opened.catch(() => {});
    this.#closed = closed.promise;
    this.#markClosed = closed.resolve;
    socket.onopen = () => opened.resolve();
    socket.onmessage = (event) => this.#push(event.data as string);
    socket.onclose = (event) => {
      const error = new Error(
        `WebSocket closed (${event.code} ${event.reason})`,
      );
      opened.reject(error);
      this.#fail(error);
      closed.resolve();
    };
    live.add(this);
  }

  static async open(url: string): Promise<WsConn> {
    const conn = new WsConn(url);
    await conn.opened;
    return conn;
  }

  #push(text: string): void {
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter.resolve(text);
      return;
    }
    this.#items.push(text);
  }

  #fail(error: Error): void {
    this.#error ??= error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }

  send(text: string): void {
    this.#socket.send(text);
  }

  next(): Promise<string> {
    if (this.#head < this.#items.length) {
      const text = this.#items[this.#head++]!;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      }
      return Promise.resolve(text);
    }
    if (this.#error) return Promise.reject(this.#error);
    this.#waiter = Promise.withResolvers<string>();
    return this.#waiter.promise;
  }

  async close(): Promise<void> {
    if (this.#socket.readyState < WebSocket.CLOSING) this.#socket.close(1000);
    await this.#closed;
    live.delete(this);
  }

  abort(error: Error): void {
    this.#fail(error);
    if (this.#socket.readyState < WebSocket.CLOSING) this.#socket.close(1000);
    // Whoever waits in close() is released even if no close event comes.
    this.#markClosed();
  }
}

const PROTOCOL_VERSION = "2025-06-18";

/**
 * A Streamable HTTP session at `/mcp`: each message is one POST with
 * `Accept: application/json`, so a request's answer is the response body
 * (notifications get an empty 202). The first message sent must be
 * `initialize`; its response gives the `Mcp-Session-Id` that later POSTs
 * carry. Uses its own fetch client (HTTP/1.1, keep-alive pool), which
 * opens as many connections as there are POSTs in flight and reuses them.
 */
class HttpConn implements Conn {
  nextId = 1;
  /** Status of the DELETE sent by close(), if it was sent and answered. */
  deleteStatus: number | undefined;
  #url: string;
  #client: Deno.HttpClient;
  #abort = new AbortController();
  #started = false;
  #session = Promise.withResolvers<void>();
  #headers: Record<string, string> | undefined;
  #inFlight = new Set<Promise<void>>();
  #items: string[] = [];
  #head = 0;
  #waiter: PromiseWithResolvers<string> | undefined;
  #error: Error | undefined;

  constructor(url: string) {
    this.#url = url;
    this.#client = Deno.createHttpClient({ http1: true, http2: false });
    this.#session.promise.catch(() => {});
    live.add(this);
  }

  send(text: string): void {
    if (this.#headers || !this.#started) {
      this.#started = true;
      this.#track(this.#post(text));
      return;
    }
    // Sent before initialize was answered: wait for the session id.
    this.#track(this.#session.promise.then(() => this.#post(text), () => {}));
  }

  #track(promise: Promise<void>): void {
    this.#inFlight.add(promise);
    promise.finally(() => this.#inFlight.delete(promise));
  }

  async #post(text: string): Promise<void> {
    const first = this.#headers === undefined;
    try {
      const response = await fetch(this.#url, {
        method: "POST",
        headers: this.#headers ?? {
          "content-type": "application/json",
          accept: "application/json",
        },
        body: text,
        client: this.#client,
        signal: this.#abort.signal,
      });
      if (first) {
        const id = response.headers.get("mcp-session-id");
        if (!id) {
          const body = await response.text();
          throw new Error(
            `POST /mcp (initialize) answered ${response.status} without Mcp-Session-Id: ${
              body.slice(0, 200)
            }`,
          );
        }
        this.#headers = {
          "content-type": "application/json",
          accept: "application/json",
          "mcp-session-id": id,
          "mcp-protocol-version": PROTOCOL_VERSION,
        };
        this.#session.resolve();
      }
      if (response.status === 202) {
        await response.body?.cancel();
        return;
      }
      const body = await response.text();
      if (response.status !== 200) {
        throw new Error(
          `POST /mcp answered ${response.status}: ${body.slice(0, 200)}`,
        );
      }
      this.#push(body);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      if (first) this.#session.reject(failure);
      this.#fail(failure);
    }
  }

  #push(text: string): void {
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter.resolve(text);
      return;
    }
    this.#items.push(text);
  }

  #fail(error: Error): void {
    this.#error ??= error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#error);
  }

  next(): Promise<string> {
    if (this.#head < this.#items.length) {
      const text = this.#items[this.#head++]!;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      }
      return Promise.resolve(text);
    }
    if (this.#error) return Promise.reject(this.#error);
    this.#waiter = Promise.withResolvers<string>();
    return this.#waiter.promise;
  }

  /** Ends the session with DELETE /mcp (unless aborted), then the client. */
  async close(): Promise<void> {
    const headers = this.#headers;
    if (headers && !this.#abort.signal.aborted) {
      try {
        await bounded(
          Promise.all(this.#inFlight).then(() => {}),
          10_000,
          "POSTs in flight",
        );
        const response = await bounded(
          fetch(this.#url, {
            method: "DELETE",
            headers: {
              "mcp-session-id": headers["mcp-session-id"]!,
              "mcp-protocol-version": PROTOCOL_VERSION,
            },
            client: this.#client,
            signal: this.#abort.signal,
          }),
          10_000,
          "DELETE /mcp",
        );
        await response.body?.cancel();
        this.deleteStatus = response.status;
      } catch (error) {
        progress(`DELETE /mcp failed: ${error}`);
      }
    }
    this.#abort.abort(new Error("HTTP session closed"));
    await bounded(
      Promise.allSettled(this.#inFlight).then(() => {}),
      5_000,
      "POSTs aborting",
    ).catch(() => {});
    this.#fail(new Error("HTTP session closed"));
    this.#client.close();
    live.delete(this);
  }

  abort(error: Error): void {
    this.#fail(error);
    this.#abort.abort(error);
  }
}

/** Runs `fn`; if it takes longer than `ms`, aborts every live connection. */
async function phase<T>(
  name: string,
  ms: number,
  fn: () => Promise<T>,
): Promise<T> {
  const limit = Math.min(ms, deadlineAt - Date.now());
  if (limit <= 0) throw new Error(`${name}: total deadline reached`);
  progress(name);
  const timer = setTimeout(() => {
    const error = new Error(`${name}: not done within ${limit} ms`);
    for (const conn of live) conn.abort(error);
  }, limit);
  try {
    return await fn();
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// Workloads

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "bench", version: "1" },
  },
});
const INITIALIZED = '{"jsonrpc":"2.0","method":"notifications/initialized"}';

async function initialize(conn: Conn): Promise<void> {
  conn.send(INITIALIZE);
  const reply = await conn.next();
  if (!reply.includes('"protocolVersion"')) {
    throw new Error(`Unexpected initialize reply: ${reply.slice(0, 200)}`);
  }
  conn.send(INITIALIZED);
}

function request(id: number, pad: string): string {
  return `{"jsonrpc":"2.0","id":${id},"method":"echo","params":{"d":"${pad}"}}`;
}

function expected(id: number, pad: string): string {
  return `{"jsonrpc":"2.0","id":${id},"result":{"d":"${pad}"}}`;
}

/** Padding that makes a request of about `bytes` bytes. */
function padFor(bytes: number): string {
  const overhead = request(100_000, "").length;
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  let pad = "";
  while (pad.length < bytes - overhead) pad += chars;
  return pad.slice(0, bytes - overhead);
}

function check(reply: string, id: number, pad: string): void {
  if (reply.length !== expected(id, pad).length || !reply.endsWith('"}}')) {
    throw new Error(`Unexpected reply to ${id}: ${reply.slice(0, 200)}`);
  }
}

/** Sequential round trips; returns each duration in ms. */
async function sequential(
  conn: Conn,
  warm: number,
  n: number,
  pad: string,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warm + n; i++) {
    const id = conn.nextId++;
    const text = request(id, pad);
    const start = performance.now();
    conn.send(text);
    const reply = await conn.next();
    const elapsed = performance.now() - start;
    check(reply, id, pad);
    if (i >= warm) times.push(elapsed);
  }
  return times;
}

/** `total` requests with `window` in flight; returns the elapsed ms. */
async function pipelined(
  conn: Conn,
  total: number,
  window: number,
  pad: string,
): Promise<number> {
  const start = performance.now();
  let sent = 0;
  while (sent < Math.min(window, total)) {
    conn.send(request(conn.nextId++, pad));
    sent++;
  }
  for (let got = 0; got < total; got++) {
    const reply = await conn.next();
    if (!reply.startsWith('{"jsonrpc":"2.0","id":') || reply.length < 40) {
      throw new Error(`Unexpected reply: ${reply.slice(0, 200)}`);
    }
    if (reply.indexOf('"result"', 20) === -1) {
      throw new Error(`Error reply: ${reply.slice(0, 300)}`);
    }
    if (sent < total) {
      conn.send(request(conn.nextId++, pad));
      sent++;
    }
  }
  return performance.now() - start;
}

/** `conns.length` connections, each with `window` in flight; req/s. */
async function aggregate(
  conns: Conn[],
  perConn: number,
  window: number,
  pad: string,
): Promise<number> {
  const start = performance.now();
  await Promise.all(conns.map((conn) => pipelined(conn, perConn, window, pad)));
  return (conns.length * perConn) / ((performance.now() - start) / 1000);
}

/**
 * Session setup times: open (spawn or connect) → initialize answered.
 * `between`, when given, runs (untimed) after each session is closed.
 */
async function setupTimes(
  open: () => Promise<Conn>,
  warm: number,
  n: number,
  between?: () => Promise<void>,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warm + n; i++) {
    const start = performance.now();
    const conn = await open();
    await initialize(conn);
    const elapsed = performance.now() - start;
    await conn.close();
    if (i >= warm) times.push(elapsed);
    await between?.();
  }
  return times;
}

/**
 * `C.clients` connections, each initialized, with `C.clientWindow` in
 * flight: warm-up, then the measured req/s. `during` runs while every
 * connection is still open, after the measurement.
 */
async function manyClients(
  open: () => Promise<Conn>,
  pad: string,
  meter?: CpuMeter,
  during?: () => void,
): Promise<number> {
  const conns: Conn[] = [];
  try {
    for (let i = 0; i < C.clients; i++) conns.push(await open());
    await Promise.all(conns.map(initialize));
    await aggregate(conns, C.perClientWarm, C.clientWindow, pad);
    const go = () => aggregate(conns, C.perClientN, C.clientWindow, pad);
    const rate = await (meter ? meter.measure(go) : go());
    during?.();
    return rate;
  } finally {
    await Promise.all(conns.map((conn) => conn.close()));
  }
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

// ---------------------------------------------------------------------------
// A client that never reads: WebSocket handshake by hand over raw TCP

interface FloodResult {
  peakSampledRss: number;
  hwm: number;
  rssAfter: number;
  closeCode: number | undefined;
  closeReason: string;
  bytesBeforeClose: number;
  childExitMs: number | undefined;
  samples: number;
}

async function readHandshake(tcp: Deno.Conn): Promise<Uint8Array> {
  const buffer = new Uint8Array(64 * 1024);
  let used = 0;
  while (used < buffer.length) {
    const n = await bounded(tcp.read(buffer.subarray(used)), 10_000, "101");
    if (n === null) throw new Error("Runner closed the raw connection");
    used += n;
    const text = decoder.decode(buffer.subarray(0, used));
    const end = text.indexOf("\r\n\r\n");
    if (end === -1) continue;
    if (!/^HTTP\/1\.1 101 /.test(text)) {
      throw new Error(`Handshake refused: ${text.slice(0, 200)}`);
    }
    return buffer.slice(encoder.encode(text.slice(0, end + 4)).length, used);
  }
  throw new Error("Handshake response over 64 KiB");
}

function maskedTextFrame(text: string): Uint8Array {
  const payload = encoder.encode(text);
  const lengthBytes = payload.length < 126 ? 0 : payload.length < 65536 ? 2 : 8;
  const frame = new Uint8Array(2 + lengthBytes + 4 + payload.length);
  const view = new DataView(frame.buffer);
  frame[0] = 0x81;
  if (lengthBytes === 0) frame[1] = 0x80 | payload.length;
  else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    view.setUint16(2, payload.length);
  } else {
    frame[1] = 0x80 | 127;
    view.setBigUint64(2, BigInt(payload.length));
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  frame.set(mask, 2 + lengthBytes);
  const start = 2 + lengthBytes + 4;
  for (let i = 0; i < payload.length; i++) {
    frame[start + i] = payload[i]! ^ mask[i % 4]!;
  }
  return frame;
}

/** Reads server frames, skipping payloads, until a close frame or the end. */
async function readUntilClose(
  tcp: Deno.Conn,
  initial: Uint8Array,
  maxBytes: number,
  timeoutMs: number,
): Promise<{ code: number | undefined; reason: string; bytes: number }> {
  const header = new Uint8Array(14);
  let headerUsed = 0;
  let skip = 0;
  let closeBytes: number[] | undefined;
  let closeNeed = 0;
  let total = 0;
  const finish = (bytes: number[]) => ({
    code: bytes.length >= 2 ? (bytes[0]! << 8) | bytes[1]! : 1005,
    reason: decoder.decode(new Uint8Array(bytes.slice(2))),
    bytes: total,
  });
  const feed = (chunk: Uint8Array) => {
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      if (closeBytes) {
        closeBytes.push(chunk[i++]!);
        if (--closeNeed === 0) return finish(closeBytes);
        continue;
      }
      header[headerUsed++] = chunk[i++]!;
      if (headerUsed < 2) continue;
      const len7 = header[1]! & 0x7f;
      const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) +
        (header[1]! & 0x80 ? 4 : 0);
      if (headerUsed < size) continue;
      const view = new DataView(header.buffer);
      const length = len7 === 126
        ? view.getUint16(2)
        : len7 === 127
        ? Number(view.getBigUint64(2))
        : len7;
      const opcode = header[0]! & 0x0f;
      headerUsed = 0;
      if (opcode === 0x8) {
        if (length === 0) return finish([]);
        closeBytes = [];
        closeNeed = length;
      } else {
        total += length;
        skip = length;
      }
    }
    return undefined;
  };
  const first = feed(initial);
  if (first) return first;
  const buffer = new Uint8Array(256 * 1024);
  const timer = setTimeout(() => {
    try {
      tcp.close();
    } catch {
      // closed
    }
  }, Math.min(timeoutMs, Math.max(0, deadlineAt - Date.now())));
  try {
    let read = 0;
    while (read < maxBytes) {
      const n = await tcp.read(buffer);
      if (n === null) break;
      read += n;
      const done = feed(buffer.subarray(0, n));
      if (done) return done;
    }
  } catch {
    // timed out (closed above) or reset
  } finally {
    clearTimeout(timer);
  }
  return { code: undefined, reason: "no close frame", bytes: total };
}

async function floodWithNonReader(runner: Runner): Promise<FloodResult> {
  const tcp = await bounded(
    Deno.connect({ hostname: HOST, port: runner.port }),
    10_000,
    "raw connect",
  );
  try {
    const key = btoa(
      String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
    );
    await tcp.write(encoder.encode(
      `GET / HTTP/1.1\r\nHost: ${HOST}:${runner.port}\r\n` +
        "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        "Sec-WebSocket-Protocol: mcp\r\n\r\n",
    ));
    const rest = await readHandshake(tcp);
    await tcp.write(maskedTextFrame(
      `{"jsonrpc":"2.0","id":1,"method":"flood","params":{"mb":${C.floodMb}}}`,
    ));
    const start = Date.now();
    const limit = start + C.sendTimeoutMs + 25_000;
    let peak = 0;
    let samples = 0;
    let child: number | undefined;
    let childExitMs: number | undefined;
    while (Date.now() < Math.min(limit, deadlineAt)) {
      peak = Math.max(peak, memoryOf(runner.pid).rss);
      samples++;
      // The runner's other child is its orphan guard (a shell): skip it.
      if (child === undefined) {
        child = childrenOf(runner.pid).find((pid) => {
          try {
            return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(
              "echo",
            );
          } catch {
            return false;
          }
        });
      } else if (!alive(child)) {
        childExitMs = Date.now() - start;
        break;
      }
      await delay(child === undefined ? 5 : 20);
    }
    const { hwm, rss } = memoryOf(runner.pid);
    const close = await readUntilClose(tcp, rest, 512 * MIB, 15_000);
    return {
      peakSampledRss: peak,
      hwm,
      rssAfter: rss,
      closeCode: close.code,
      closeReason: close.reason,
      bytesBeforeClose: close.bytes,
      childExitMs,
      samples,
    };
  } finally {
    try {
      tcp.close();
    } catch {
      // closed by readUntilClose
    }
  }
}

// ---------------------------------------------------------------------------
// Report

interface Row {
  name: string;
  direct: string;
  runner: string;
  ratio: string;
  target: string;
  status: string;
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A comparison row; `better` says whether lower or higher wins. */
function compare(
  name: string,
  direct: number,
  runner: number,
  digits: number,
  target?: { better: "lower" | "higher"; ratio: number },
): Row {
  const ratio = runner / direct;
  let targetText = "—";
  let status = "—";
  if (target) {
    const ok = target.better === "lower"
      ? ratio <= target.ratio
      : ratio >= target.ratio;
    targetText = `${target.better === "lower" ? "≤" : "≥"} ${target.ratio}×`;
    status = ok ? "met" : "**missed**";
  }
  return {
    name,
    direct: fmt(direct, digits),
    runner: fmt(runner, digits),
    ratio: `${fmt(ratio, 2)}×`,
    target: targetText,
    status,
  };
}

function memoryRow(
  name: string,
  runner: string,
  bytes: number,
  limitMib: number | undefined,
  strict: boolean,
): Row {
  const mib = bytes / MIB;
  const ok = limitMib === undefined
    ? undefined
    : strict
    ? mib < limitMib
    : mib <= limitMib;
  return {
    name,
    direct: "—",
    runner,
    ratio: "—",
    target: limitMib === undefined
      ? "—"
      : `${strict ? "<" : "≤"} ${limitMib} MiB`,
    status: ok === undefined ? "—" : ok ? "met" : "**missed**",
  };
}

function table(rows: Row[]): string {
  const lines = [
    "| row | baseline | runner | ratio | target | status |",
    "|---|---:|---:|---:|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${r.direct} | ${r.runner} | ${r.ratio} | ${r.target} | ${r.status} |`,
    );
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------
// Main

/** Process CPU time (user + system) in ms; "self" for the bench itself. */
function cpuMs(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 Hz).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function median(values: number[]): number {
  return percentile(values, 0.5);
}

/** CPU used by the runner and by the bench client while runner rows ran. */
class CpuMeter {
  runnerMs = 0;
  clientMs = 0;
  wallMs = 0;
  #pid: number;

  constructor(pid: number) {
    this.#pid = pid;
  }

  async measure<T>(fn: () => Promise<T>): Promise<T> {
    const runner = cpuMs(this.#pid);
    const client = cpuMs("self");
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.wallMs += performance.now() - start;
      this.runnerMs += cpuMs(this.#pid) - runner;
      this.clientMs += cpuMs("self") - client;
    }
  }

  summary(): string {
    const pct = (ms: number) => `${fmt((100 * ms) / this.wallMs, 0)}%`;
    return `runner ${pct(this.runnerMs)}, bench client ${
      pct(this.clientMs)
    } of one core`;
  }
}

/** The value after `--name` on the command line. */
function option(name: string): string | undefined {
  const at = Deno.args.indexOf(`--${name}`);
  return at === -1 ? undefined : Deno.args[at + 1];
}

const PROFILE_DIR = option("profile");
/** Another copy of the runner (a directory with main.ts), run side by side. */
const COMPARE_DIR = option("compare");
const GROUPS = [
  "seq",
  "flight",
  "http",
  "big",
  "many",
  "shared",
  "setup",
  "memory",
] as const;
type Group = typeof GROUPS[number];
const ONLY = new Set(
  (option("only") ?? GROUPS.join(",")).split(",").map((g) => g.trim()),
);
for (const group of ONLY) {
  if (!(GROUPS as readonly string[]).includes(group)) {
    throw new Error(
      `Unknown --only group "${group}": use ${GROUPS.join(", ")}`,
    );
  }
}

function want(group: Group): boolean {
  return ONLY.has(group);
}

/** Results of both sides of one row over the rounds. */
class Pair {
  direct: number[] = [];
  runner: number[] = [];
  /** The floor relay (or the bare HTTP floor), same rounds. */
  floor: number[] = [];
  /** websocketd, same rounds. */
  wsd: number[] = [];
  /** The runner of `--compare DIR`, same rounds. */
  other: number[] = [];
  /** The runner at --log-level warning (no access lines), same rounds. */
  quiet: number[] = [];

  get empty(): boolean {
    return this.direct.length === 0 || this.runner.length === 0;
  }

  rounds(digits: number): string {
    const list = (values: number[]) =>
      values.map((v) => fmt(v, digits)).join(" / ");
    return `${list(this.direct)} → ${list(this.runner)}` +
      (this.floor.length > 0 ? `; floor ${list(this.floor)}` : "") +
      (this.wsd.length > 0 ? `; websocketd ${list(this.wsd)}` : "") +
      (this.other.length > 0 ? `; --compare ${list(this.other)}` : "") +
      (this.quiet.length > 0 ? `; warning ${list(this.quiet)}` : "");
  }
}

async function loadRows(echo: string, rows: Row[], notes: string[]) {
  const pad256 = padFor(256);
  const pad1m = padFor(MIB);
  const runner = await startRunner(
    echo,
    ["--max-sessions", "64"],
    PROFILE_DIR === undefined
      ? []
      : ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`],
  );
  progress(`runner pid ${runner.pid} on ${runner.url}`);
  await delay(1000);
  const loadIdle = memoryOf(runner.pid);
  const wantWsFloor = ["seq", "flight", "big", "many", "setup"].some((g) =>
    want(g as Group)
  );
  const floor = wantWsFloor
    ? await startFloor("floor_relay.ts", echo)
    : undefined;
  const wsd = wantWsFloor ? await startWebsocketd(echo) : undefined;
  const wantQuiet = ["seq", "flight", "big", "many"].some((g) =>
    want(g as Group)
  );
  const quiet = wantQuiet
    ? await startRunner(echo, [
      "--max-sessions",
      "64",
      "--log-level",
      "warning",
    ])
    : undefined;
  const other = wantWsFloor && COMPARE_DIR !== undefined
    ? await startRunner(echo, ["--max-sessions", "64"], [], COMPARE_DIR)
    : undefined;
  const httpFloor = want("http")
    ? await startFloor("floor_http.ts", echo)
    : undefined;
  if (floor) progress(`floor relay pid ${floor.pid} on ${floor.url}`);
  if (wsd) progress(`websocketd pid ${wsd.pid} on ${wsd.url}`);
  if (httpFloor) {
    progress(`HTTP floor pid ${httpFloor.pid} on ${httpFloor.url}`);
  }
  const cpu = {
    seq: new CpuMeter(runner.pid),
    flight: new CpuMeter(runner.pid),
    big: new CpuMeter(runner.pid),
    many: new CpuMeter(runner.pid),
    httpSeq: new CpuMeter(runner.pid),
    httpFlight: new CpuMeter(runner.pid),
  };
  const seq50 = new Pair();
  const seq99 = new Pair();
  const flightRate = new Pair();
  const big = new Pair();
  const manyRate = new Pair();
  // Streamable HTTP rows: their direct side is the same measurement as the
  // WebSocket rows' direct side of the same round.
  const httpSeq50 = new Pair();
  const httpSeq99 = new Pair();
  const httpFlightRate = new Pair();
  let httpDeleteStatus: number | undefined;
  let setup:
    | { direct: number[]; runner: number[]; floor: number[]; wsd: number[] }
    | undefined;
  // Shared rows: direct = this per-session runner, runner = a shared one.
  const sharedRate = new Pair();
  const sharedCpu = {
    perSession: new CpuMeter(runner.pid),
    shared: undefined as CpuMeter | undefined,
  };
  const sharedChildren: number[] = [];
  const sharedPids = new Set<number>();
  const perSessionChildren: number[] = [];
  let sharedReadyMs: number | undefined;
  let setupMore:
    | {
      cold: number[];
      prewarm: number[];
      refillMs: number[];
      shared: number[];
      sharedChildren: number[];
    }
    | undefined;

  // Rows on one connection, in rounds alternating direct and runner; each
  // row reports the median of the rounds.
  if (want("seq") || want("flight") || want("big") || want("http")) {
    const wantWs = want("seq") || want("flight") || want("big");
    const direct = new PipeConn(echo);
    const ws = wantWs
      ? await bounded(WsConn.open(runner.url), 10_000, "connect")
      : undefined;
    const http = want("http")
      ? new HttpConn(`http://${HOST}:${runner.port}/mcp`)
      : undefined;
    const floorWs = wantWs && floor
      ? await bounded(WsConn.open(floor.url), 10_000, "connect floor")
      : undefined;
    const wsdWs = wantWs && wsd
      ? await bounded(WsConn.open(wsd.url), 10_000, "connect websocketd")
      : undefined;
    const quietWs = wantWs && quiet
      ? await bounded(WsConn.open(quiet.url), 10_000, "connect warning")
      : undefined;
    const otherWs = wantWs && other
      ? await bounded(WsConn.open(other.url), 10_000, "connect --compare")
      : undefined;
    const floorHttp = httpFloor
      ? new HttpConn(`http://${HOST}:${httpFloor.port}/mcp`)
      : undefined;
    await phase("initialize", 10_000, async () => {
      await initialize(direct);
      if (ws) await initialize(ws);
      if (http) await initialize(http);
      if (floorWs) await initialize(floorWs);
      if (wsdWs) await initialize(wsdWs);
      if (otherWs) await initialize(otherWs);
      if (quietWs) await initialize(quietWs);
      if (floorHttp) await initialize(floorHttp);
    });
    /** Runs `measure` on the floor relay and websocketd into `pair`. */
    const baselines = async (
      what: string,
      pair: Pair,
      measure: (conn: Conn) => Promise<number>,
      ms: number,
    ) => {
      if (floorWs) {
        pair.floor.push(
          await phase(`${what}, floor relay`, ms, () => measure(floorWs)),
        );
      }
      if (wsdWs) {
        pair.wsd.push(
          await phase(`${what}, websocketd`, ms, () => measure(wsdWs)),
        );
      }
      if (quietWs) {
        pair.quiet.push(
          await phase(`${what}, runner at warning`, ms, () => measure(quietWs)),
        );
      }
      if (otherWs) {
        pair.other.push(
          await phase(`${what}, --compare`, ms, () => measure(otherWs)),
        );
      }
    };
    const flight = async (conn: Conn) => {
      await pipelined(conn, C.flightWarm, C.window, pad256);
      const ms = await pipelined(conn, C.flightN, C.window, pad256);
      return C.flightN / (ms / 1000);
    };
    for (let round = 1; round <= C.rounds; round++) {
      const tag = `(round ${round}/${C.rounds})`;
      if (want("seq") || want("http")) {
        const d = await phase(
          `256 B sequential, direct ${tag}`,
          30_000,
          () => sequential(direct, C.seqWarm, C.seqN, pad256),
        );
        const d50 = percentile(d, 0.5) * 1000;
        const d99 = percentile(d, 0.99) * 1000;
        if (ws && want("seq")) {
          const r = await phase(
            `256 B sequential, runner ${tag}`,
            30_000,
            () =>
              cpu.seq.measure(() => sequential(ws, C.seqWarm, C.seqN, pad256)),
          );
          seq50.direct.push(d50);
          seq50.runner.push(percentile(r, 0.5) * 1000);
          seq99.direct.push(d99);
          seq99.runner.push(percentile(r, 0.99) * 1000);
          await baselines(
            `256 B sequential ${tag}`,
            seq50,
            async (conn) =>
              percentile(
                await sequential(conn, C.seqWarm, C.seqN, pad256),
                0.5,
              ) * 1000,
            30_000,
          );
        }
        if (http) {
          const r = await phase(
            `256 B sequential, runner Streamable HTTP ${tag}`,
            30_000,
            () =>
              cpu.httpSeq.measure(() =>
                sequential(http, C.seqWarm, C.seqN, pad256)
              ),
          );
          httpSeq50.direct.push(d50);
          httpSeq50.runner.push(percentile(r, 0.5) * 1000);
          httpSeq99.direct.push(d99);
          httpSeq99.runner.push(percentile(r, 0.99) * 1000);
        }
        if (floorHttp) {
          const f = await phase(
            `256 B sequential, HTTP floor ${tag}`,
            30_000,
            () => sequential(floorHttp, C.seqWarm, C.seqN, pad256),
          );
          httpSeq50.floor.push(percentile(f, 0.5) * 1000);
          httpSeq99.floor.push(percentile(f, 0.99) * 1000);
        }
      }
      if (want("flight") || want("http")) {
        const d = await phase(
          `${C.window} in flight, direct ${tag}`,
          40_000,
          () => flight(direct),
        );
        if (ws && want("flight")) {
          flightRate.direct.push(d);
          flightRate.runner.push(
            await phase(
              `${C.window} in flight, runner ${tag}`,
              40_000,
              () => cpu.flight.measure(() => flight(ws)),
            ),
          );
          await baselines(
            `${C.window} in flight ${tag}`,
            flightRate,
            flight,
            40_000,
          );
        }
        if (http) {
          httpFlightRate.direct.push(d);
          httpFlightRate.runner.push(
            await phase(
              `${C.window} in flight, runner Streamable HTTP ${tag}`,
              40_000,
              () => cpu.httpFlight.measure(() => flight(http)),
            ),
          );
        }
        if (floorHttp) {
          httpFlightRate.floor.push(
            await phase(
              `${C.window} in flight, HTTP floor ${tag}`,
              40_000,
              () => flight(floorHttp),
            ),
          );
        }
      }
      if (ws && want("big")) {
        big.direct.push(percentile(
          await phase(
            `1 MiB sequential, direct ${tag}`,
            40_000,
            () => sequential(direct, C.bigWarm, C.bigN, pad1m),
          ),
          0.5,
        ));
        big.runner.push(percentile(
          await phase(
            `1 MiB sequential, runner ${tag}`,
            40_000,
            () =>
              cpu.big.measure(() => sequential(ws, C.bigWarm, C.bigN, pad1m)),
          ),
          0.5,
        ));
        await baselines(
          `1 MiB sequential ${tag}`,
          big,
          async (conn) =>
            percentile(await sequential(conn, C.bigWarm, C.bigN, pad1m), 0.5),
          40_000,
        );
      }
    }
    await phase("close", 30_000, async () => {
      await direct.close();
      await ws?.close();
      await floorWs?.close();
      await wsdWs?.close();
      await otherWs?.close();
      await quietWs?.close();
      await floorHttp?.close();
      if (http) {
        await http.close();
        httpDeleteStatus = http.deleteStatus;
      }
    });
  }

  if (want("many")) {
    const many = (open: () => Promise<Conn>, meter?: CpuMeter) =>
      manyClients(open, pad256, meter);
    for (let round = 1; round <= C.rounds; round++) {
      const tag = `(round ${round}/${C.rounds})`;
      manyRate.direct.push(
        await phase(
          `${C.clients} children × ${C.clientWindow} in flight, direct ${tag}`,
          60_000,
          () => many(() => Promise.resolve(new PipeConn(echo))),
        ),
      );
      manyRate.runner.push(
        await phase(
          `${C.clients} clients × ${C.clientWindow} in flight, runner ${tag}`,
          60_000,
          () => many(() => WsConn.open(runner.url), cpu.many),
        ),
      );
      if (floor) {
        manyRate.floor.push(
          await phase(
            `${C.clients} clients × ${C.clientWindow} in flight, floor relay ${tag}`,
            60_000,
            () => many(() => WsConn.open(floor.url)),
          ),
        );
      }
      if (quiet) {
        manyRate.quiet.push(
          await phase(
            `${C.clients} clients × ${C.clientWindow} in flight, runner at warning ${tag}`,
            60_000,
            () => many(() => WsConn.open(quiet.url)),
          ),
        );
      }
      if (other) {
        manyRate.other.push(
          await phase(
            `${C.clients} clients × ${C.clientWindow} in flight, --compare ${tag}`,
            60_000,
            () => many(() => WsConn.open(other.url)),
          ),
        );
      }
      if (wsd) {
        manyRate.wsd.push(
          await phase(
            `${C.clients} clients × ${C.clientWindow} in flight, websocketd ${tag}`,
            60_000,
            () => many(() => WsConn.open(wsd.url)),
          ),
        );
      }
    }
  }

  if (want("shared")) {
    const shared = await startRunner(echo, [
      "--child-mode",
      "shared",
      "--max-sessions",
      "64",
    ]);
    try {
      progress(`shared runner pid ${shared.pid} on ${shared.url}`);
      sharedReadyMs = await phase(
        "shared runner: waiting for /readyz",
        30_000,
        () => waitReady(shared, 30_000),
      );
      sharedCpu.shared = new CpuMeter(shared.pid);
      for (let round = 1; round <= C.rounds; round++) {
        const tag = `(round ${round}/${C.rounds})`;
        sharedRate.direct.push(
          await phase(
            `${C.clients} clients × ${C.clientWindow} in flight, per-session runner ${tag}`,
            60_000,
            () =>
              manyClients(
                () => WsConn.open(runner.url),
                pad256,
                sharedCpu.perSession,
                () =>
                  perSessionChildren.push(
                    programChildrenOf(runner.pid, echo).length,
                  ),
              ),
          ),
        );
        sharedRate.runner.push(
          await phase(
            `${C.clients} clients × ${C.clientWindow} in flight, shared runner ${tag}`,
            60_000,
            () =>
              manyClients(
                () => WsConn.open(shared.url),
                pad256,
                sharedCpu.shared,
                () => {
                  const pids = programChildrenOf(shared.pid, echo);
                  sharedChildren.push(pids.length);
                  for (const pid of pids) sharedPids.add(pid);
                },
              ),
          ),
        );
      }
    } finally {
      await shared.stop();
    }
  }

  if (want("setup")) {
    const direct = await phase(
      "session setup, direct",
      40_000,
      () =>
        setupTimes(
          () => Promise.resolve(new PipeConn(echo)),
          C.setupWarm,
          C.setupN,
        ),
    );
    const ws = await phase(
      "session setup, runner",
      40_000,
      () => setupTimes(() => WsConn.open(runner.url), C.setupWarm, C.setupN),
    );
    const floorSetup = floor
      ? await phase(
        "session setup, floor relay",
        40_000,
        () => setupTimes(() => WsConn.open(floor.url), C.setupWarm, C.setupN),
      )
      : [];
    const wsdSetup = wsd
      ? await phase(
        "session setup, websocketd",
        40_000,
        () => setupTimes(() => WsConn.open(wsd.url), C.setupWarm, C.setupN),
      )
      : [];
    setup = { direct, runner: ws, floor: floorSetup, wsd: wsdSetup };

    // Cold per-session runner, prewarmed and shared runners: each session
    // starts on a quiet runner (the last session's child gone, or the pool
    // full again).
    const none = () =>
      pollUntil(
        "children of the closed sessions exiting",
        10_000,
        () => programChildrenOf(runner.pid, echo).length === 0 || undefined,
      ).then(() => {});
    await phase("per-session runner: waiting for idle", 15_000, none);
    const cold = await phase(
      "session setup, cold per-session runner",
      40_000,
      () =>
        setupTimes(
          () => WsConn.open(runner.url),
          C.setupWarm,
          C.setupN,
          none,
        ),
    );
    const POOL = 4;
    const prewarmed = await startRunner(echo, ["--prewarm", String(POOL)]);
    const refillMs: number[] = [];
    let prewarm: number[];
    try {
      progress(`prewarm runner pid ${prewarmed.pid} on ${prewarmed.url}`);
      const full = (previous: number[]) =>
        pollUntil(
          `--prewarm ${POOL}: ${POOL} idle children again`,
          10_000,
          () => {
            // One child was taken from `previous`: full again once it has
            // gone and its replacement runs (exec'd: its cmdline is echo).
            const now = programChildrenOf(prewarmed.pid, echo);
            return now.length === POOL &&
                now.some((pid) => !previous.includes(pid))
              ? now
              : undefined;
          },
        );
      let idle = await phase(
        `prewarm runner: waiting for ${POOL} idle children`,
        15_000,
        () => full([]),
      );
      prewarm = await phase(
        `session setup, --prewarm ${POOL}`,
        40_000,
        () =>
          setupTimes(
            () => WsConn.open(prewarmed.url),
            C.setupWarm,
            C.setupN,
            async () => {
              const start = performance.now();
              idle = await full(idle);
              refillMs.push(performance.now() - start);
            },
          ),
      );
    } finally {
      await prewarmed.stop();
    }
    const sharedRunner = await startRunner(echo, ["--child-mode", "shared"]);
    const children: number[] = [];
    let sharedSetup: number[];
    try {
      progress(`shared runner pid ${sharedRunner.pid} on ${sharedRunner.url}`);
      await phase(
        "shared runner: waiting for /readyz",
        30_000,
        () => waitReady(sharedRunner, 30_000),
      );
      sharedSetup = await phase(
        "session setup, shared runner",
        40_000,
        () =>
          setupTimes(
            () => WsConn.open(sharedRunner.url),
            C.setupWarm,
            C.setupN,
            () => {
              children.push(programChildrenOf(sharedRunner.pid, echo).length);
              return Promise.resolve();
            },
          ),
      );
    } finally {
      await sharedRunner.stop();
    }
    setupMore = {
      cold,
      prewarm,
      refillMs,
      shared: sharedSetup,
      sharedChildren: children,
    };
  }

  await delay(500);
  const afterLoad = memoryOf(runner.pid);
  await runner.stop();
  await floor?.stop();
  await wsd?.stop();
  await other?.stop();
  await quiet?.stop();
  await httpFloor?.stop();

  const per = C.rounds > 1 ? `, median of ${C.rounds} rounds` : "";
  const pairRow = (
    name: string,
    pair: Pair,
    digits: number,
    target?: { better: "lower" | "higher"; ratio: number },
  ) => {
    if (pair.empty) return;
    rows.push(compare(
      name,
      median(pair.direct),
      median(pair.runner),
      digits,
      target,
    ));
  };
  /**
   * The runner against the floor relay (or HTTP floor) and websocketd, on
   * the same figure: `better` says which way wins; the floor's target is
   * `floorRatio` (throughput), websocketd's is 1× (at least as good).
   */
  const baselineRows = (
    name: string,
    pair: Pair,
    digits: number,
    better: "lower" | "higher",
    floorRatio: number | undefined,
    floorName = "floor relay",
  ) => {
    if (pair.runner.length === 0) return;
    if (pair.floor.length > 0) {
      rows.push(compare(
        `${name}: ${floorName} → runner`,
        median(pair.floor),
        median(pair.runner),
        digits,
        floorRatio === undefined ? undefined : { better, ratio: floorRatio },
      ));
    }
    if (pair.wsd.length > 0) {
      rows.push(compare(
        `${name}: websocketd → runner`,
        median(pair.wsd),
        median(pair.runner),
        digits,
        { better, ratio: 1 },
      ));
    }
    if (pair.quiet.length > 0) {
      // The same comparisons for the runner without its access lines.
      if (pair.floor.length > 0) {
        rows.push(compare(
          `${name}: ${floorName} → runner at --log-level warning`,
          median(pair.floor),
          median(pair.quiet),
          digits,
          floorRatio === undefined ? undefined : { better, ratio: floorRatio },
        ));
      }
      if (pair.wsd.length > 0) {
        rows.push(compare(
          `${name}: websocketd → runner at --log-level warning`,
          median(pair.wsd),
          median(pair.quiet),
          digits,
          { better, ratio: 1 },
        ));
      }
    }
    if (pair.other.length > 0) {
      rows.push(compare(
        `${name}: --compare ${COMPARE_DIR} → runner`,
        median(pair.other),
        median(pair.runner),
        digits,
      ));
    }
  };
  pairRow(
    `256 B sequential round trip p50 (µs, N=${C.seqN}${per})`,
    seq50,
    0,
    { better: "lower", ratio: 3 },
  );
  baselineRows(`256 B p50 (µs${per})`, seq50, 0, "lower", undefined);
  pairRow(`256 B sequential round trip p99 (µs, N=${C.seqN}${per})`, seq99, 0);
  pairRow(
    `256 B, ${C.window} in flight, 1 connection (req/s, N=${C.flightN}${per})`,
    flightRate,
    0,
    { better: "higher", ratio: 0.5 },
  );
  baselineRows(
    `256 B, ${C.window} in flight, 1 connection (req/s${per})`,
    flightRate,
    0,
    "higher",
    0.95,
  );
  pairRow(
    `256 B sequential round trip p50, Streamable HTTP, JSON reply (µs, N=${C.seqN}${per})`,
    httpSeq50,
    0,
  );
  baselineRows(
    `Streamable HTTP 256 B p50 (µs${per})`,
    httpSeq50,
    0,
    "lower",
    undefined,
    "HTTP floor",
  );
  pairRow(
    `256 B sequential round trip p99, Streamable HTTP, JSON reply (µs, N=${C.seqN}${per})`,
    httpSeq99,
    0,
  );
  pairRow(
    `256 B, ${C.window} in flight, 1 Streamable HTTP session, JSON replies (req/s, N=${C.flightN}${per})`,
    httpFlightRate,
    0,
  );
  baselineRows(
    `Streamable HTTP 256 B, ${C.window} in flight (req/s${per})`,
    httpFlightRate,
    0,
    "higher",
    undefined,
    "HTTP floor",
  );
  pairRow(`1 MiB round trip p50 (ms, N=${C.bigN}${per})`, big, 2, {
    better: "lower",
    ratio: 1.5,
  });
  baselineRows(`1 MiB p50 (ms${per})`, big, 2, "lower", undefined);
  pairRow(
    `256 B, ${C.clients} clients × ${C.clientWindow} in flight (req/s total, N=${
      C.clients * C.perClientN
    }${per})`,
    manyRate,
    0,
    { better: "higher", ratio: 0.5 },
  );
  baselineRows(
    `256 B, ${C.clients} clients × ${C.clientWindow} in flight (req/s${per})`,
    manyRate,
    0,
    "higher",
    0.95,
  );
  pairRow(
    `256 B, ${C.clients} clients × ${C.clientWindow} in flight on one shared child vs one child each (req/s total, N=${
      C.clients * C.perClientN
    }${per})`,
    sharedRate,
    0,
    { better: "higher", ratio: 0.9 },
  );
  if (setup) {
    rows.push(compare(
      `session setup p50: spawn/connect → initialize answered (ms, N=${C.setupN})`,
      percentile(setup.direct, 0.5),
      percentile(setup.runner, 0.5),
      2,
    ));
    const setupPair = new Pair();
    setupPair.runner.push(percentile(setup.runner, 0.5));
    if (setup.floor.length > 0) {
      setupPair.floor.push(percentile(setup.floor, 0.5));
    }
    if (setup.wsd.length > 0) setupPair.wsd.push(percentile(setup.wsd, 0.5));
    baselineRows(
      `session setup p50, connect → initialize answered (ms, N=${C.setupN})`,
      setupPair,
      2,
      "lower",
      undefined,
    );
  }
  if (setupMore) {
    rows.push(compare(
      `session setup p50 with --prewarm 4 vs cold (ms, N=${C.setupN})`,
      percentile(setupMore.cold, 0.5),
      percentile(setupMore.prewarm, 0.5),
      2,
    ));
    rows.push(compare(
      `session setup p50, shared mode vs cold (ms, N=${C.setupN})`,
      percentile(setupMore.cold, 0.5),
      percentile(setupMore.shared, 0.5),
      2,
    ));
  }
  rows.push({
    ...compare(
      "runner RSS after the rows above, idle, vs the same runner before them (MiB)",
      loadIdle.rss / MIB,
      afterLoad.rss / MIB,
      1,
      { better: "lower", ratio: 1.5 },
    ),
    runner: `${fmt(afterLoad.rss / MIB, 1)} (peak ${
      fmt(afterLoad.hwm / MIB, 1)
    })`,
  });
  const parts: string[] = [];
  if (!seq50.empty) parts.push(`256 B p50 µs ${seq50.rounds(0)}`);
  if (!flightRate.empty) {
    parts.push(`${C.window} in flight req/s ${flightRate.rounds(0)}`);
  }
  if (!httpSeq50.empty) parts.push(`HTTP 256 B p50 µs ${httpSeq50.rounds(0)}`);
  if (!httpFlightRate.empty) {
    parts.push(
      `HTTP ${C.window} in flight req/s ${httpFlightRate.rounds(0)}`,
    );
  }
  if (!big.empty) parts.push(`1 MiB p50 ms ${big.rounds(2)}`);
  if (!manyRate.empty) {
    parts.push(
      `${C.clients}×${C.clientWindow} req/s ${manyRate.rounds(0)}`,
    );
  }
  if (!sharedRate.empty) {
    parts.push(
      `${C.clients}×${C.clientWindow} per-session → shared req/s ${
        sharedRate.rounds(0)
      }`,
    );
  }
  if (C.rounds > 1 && parts.length > 0) {
    notes.push(`Rounds (direct → runner): ${parts.join("; ")}.`);
  }
  const usage = (
    [
      ["256 B sequential", cpu.seq],
      [`${C.window} in flight`, cpu.flight],
      ["HTTP 256 B sequential", cpu.httpSeq],
      [`HTTP ${C.window} in flight`, cpu.httpFlight],
      ["1 MiB", cpu.big],
      [`${C.clients}×${C.clientWindow}`, cpu.many],
    ] as const
  ).filter(([, meter]) => meter.wallMs > 0)
    .map(([name, meter]) => `${name}: ${meter.summary()}`);
  if (usage.length > 0) {
    notes.push(`CPU while the runner rows ran: ${usage.join("; ")}.`);
  }
  if (!sharedRate.empty) {
    const counts = (values: number[]) => [...new Set(values)].join("/");
    const one = sharedChildren.every((n) => n === 1) && sharedPids.size === 1;
    notes.push(
      `Shared mode row: the same ${C.clients} WebSocket clients × ` +
        `${C.clientWindow} in flight, 256 B, on the per-session runner ` +
        `(direct column) and on a runner with --child-mode shared ` +
        `--max-sessions 64 (runner column; /readyz 200 after ` +
        `${fmt(sharedReadyMs ?? NaN, 0)} ms). Echo children while the ` +
        `clients were connected: shared runner ${counts(sharedChildren)} ` +
        `(pid${sharedPids.size === 1 ? "" : "s"} ${[...sharedPids].join(", ")}${
          one ? ", one child throughout" : ", **not one child**"
        }), ` +
        `per-session runner ${counts(perSessionChildren)}. CPU on the ` +
        `per-session side: ${sharedCpu.perSession.summary()}; on the ` +
        `shared side: ${sharedCpu.shared?.summary() ?? "—"}.`,
    );
  }
  if (wantWsFloor) {
    notes.push(
      `Floor rows: the same figure, in the same round, on ` +
        `bench/floor_relay.ts (a minimal Deno relay: Deno.serve + ` +
        `Deno.upgradeWebSocket, one echo child per connection spawned with ` +
        `Deno.Command, the frames of one microtask in one stdin write, ` +
        `stdout lines split with indexOf, no checks, limits or logs) and ` +
        (wsd
          ? `websocketd (${WEBSOCKETD} --port P --address ${HOST} ` +
            `bench/.build/echo, one child per connection, its default ` +
            `access log)`
          : `websocketd (**not run**: ${WEBSOCKETD} is not installed)`) +
        `, each its own process; ratio is runner/baseline. Targets: at ` +
        `least websocketd on every figure (≤ 1× on times, ≥ 1× on ` +
        `throughput) and ≥ 0.95× the floor relay's throughput.` +
        (quiet
          ? ` "Runner at --log-level warning": a second runner, the same ` +
            `but without its access line per request, in the same rounds.`
          : ""),
    );
  }
  if (httpFloor) {
    notes.push(
      `HTTP floor rows: bench/floor_http.ts, a bare Deno.serve that writes ` +
        `each POST body as a line to one echo child and answers with the ` +
        `child's next line (a body without "id" gets 202 at once), no ` +
        `session, JSON or size checks; the same HTTP client as the runner's ` +
        `Streamable HTTP rows.`,
    );
  }
  if (setupMore) {
    notes.push(
      `Setup rows with --prewarm 4 and shared mode: WebSocket connect → ` +
        `initialize answered, one session at a time, after ${C.setupWarm} ` +
        `warm-up session(s). Cold: the per-session runner above, each ` +
        `session started once the previous session's child had exited ` +
        `(p50 ${fmt(percentile(setupMore.cold, 0.5), 2)} ms here vs ` +
        `${
          setup ? fmt(percentile(setup.runner, 0.5), 2) : "—"
        } ms back to back). --prewarm 4: a fresh runner, each session ` +
        `started once it had 4 idle echo children again (refill p50 ` +
        `${fmt(percentile(setupMore.refillMs, 0.5), 1)} ms, max ${
          fmt(Math.max(...setupMore.refillMs), 1)
        } ms). Shared: a fresh --child-mode shared runner after /readyz ` +
        `200, initialize answered from its cached result; echo children ` +
        `after each session: ${
          [...new Set(setupMore.sharedChildren)].join("/")
        }.`,
    );
  }
  if (!httpSeq50.empty || !httpFlightRate.empty) {
    const versus: string[] = [];
    if (!httpSeq50.empty && !seq50.empty) {
      versus.push(
        `p50 ${fmt(median(httpSeq50.runner) / median(seq50.runner), 2)}×`,
      );
    }
    if (!httpFlightRate.empty && !flightRate.empty) {
      versus.push(
        `${C.window} in flight ${
          fmt(median(httpFlightRate.runner) / median(flightRate.runner), 2)
        }×`,
      );
    }
    notes.push(
      `Streamable HTTP rows: one session at /mcp, every message a POST with ` +
        `Accept: application/json (answer in the response body, ` +
        `notifications 202), Mcp-Session-Id and MCP-Protocol-Version ` +
        `${PROTOCOL_VERSION} headers, over Deno fetch with its own ` +
        `HTTP/1.1 keep-alive client (one connection per POST in flight, ` +
        `reused); their direct column is the same direct-pipe measurement, ` +
        `in the same round, as the WebSocket rows'.` +
        (versus.length > 0
          ? ` Streamable HTTP / WebSocket through the runner: ${
            versus.join(", ")
          }.`
          : "") +
        ` DELETE /mcp at the end answered ${httpDeleteStatus ?? "nothing"}.`,
    );
  }
}

async function memoryRows(echo: string, rows: Row[], notes: string[]) {
  // A fresh runner, idle, then a client that never reads.
  const runner = await startRunner(echo, [
    "--send-timeout-ms",
    String(C.sendTimeoutMs),
    "--shutdown-grace-ms",
    "1000",
  ]);
  await delay(1000);
  const idle = memoryOf(runner.pid);
  rows.push(memoryRow(
    "runner RSS, idle (fresh runner, MiB)",
    `${fmt(idle.rss / MIB, 1)} (peak ${fmt(idle.hwm / MIB, 1)})`,
    idle.hwm,
    50,
    false,
  ));
  const flood = await phase(
    `flood of ${C.floodMb} MB to a client that never reads`,
    C.sendTimeoutMs + 60_000,
    () => floodWithNonReader(runner),
  );
  rows.push(memoryRow(
    `runner peak RSS, ${C.floodMb} MB flood, client not reading (MiB)`,
    `${fmt(flood.hwm / MIB, 1)} (sampled max ${
      fmt(flood.peakSampledRss / MIB, 1)
    })`,
    Math.max(flood.hwm, flood.peakSampledRss),
    100,
    true,
  ));
  notes.push(
    `Flood: client closed with ${
      flood.closeCode ?? "nothing"
    } "${flood.closeReason}" after ${
      fmt(flood.bytesBeforeClose / MIB, 1)
    } MiB of frames (send timeout ${C.sendTimeoutMs} ms); child exited ${
      flood.childExitMs === undefined
        ? "(not seen)"
        : `after ${fmt(flood.childExitMs / 1000, 1)} s`
    }; ${flood.samples} RSS samples; RSS afterwards ${
      fmt(flood.rssAfter / MIB, 1)
    } MiB.`,
  );
  await runner.stop();

  // 8 MiB messages echoed, on a fresh runner and a fresh floor relay.
  const hugeMib = 8;
  const limit = 2 * hugeMib * MIB;
  const huge = await startRunner(echo, ["--max-message-bytes", String(limit)]);
  const hugeFloor = await startFloor("floor_relay.ts", echo);
  let result: { runner: HugeResult; floor: HugeResult };
  try {
    result = {
      runner: await phase(
        `${hugeMib} MiB messages, runner`,
        60_000,
        () => hugeEchoes(huge, hugeMib),
      ),
      floor: await phase(
        `${hugeMib} MiB messages, floor relay`,
        60_000,
        () => hugeEchoes(hugeFloor, hugeMib),
      ),
    };
  } finally {
    await huge.stop();
    await hugeFloor.stop();
  }
  rows.push({
    ...memoryRow(
      `runner peak RSS, ${hugeMib} MiB messages echoed, N=${C.hugeN} (MiB; baseline: the floor relay's)`,
      `${fmt(result.runner.hwm / MIB, 1)} (idle ${
        fmt(result.runner.idle / MIB, 1)
      })`,
      result.runner.hwm,
      150,
      false,
    ),
    direct: `${fmt(result.floor.hwm / MIB, 1)} (idle ${
      fmt(result.floor.idle / MIB, 1)
    })`,
    ratio: `${fmt(result.runner.hwm / result.floor.hwm, 2)}×`,
  });
  notes.push(
    `${hugeMib} MiB row: a fresh runner with --max-message-bytes ${limit} ` +
      `and a fresh floor relay, ${C.hugeN} sequential ${hugeMib} MiB echo ` +
      `requests on one connection after initialize; peak is VmHWM. Round ` +
      `trip p50: runner ${fmt(result.runner.p50, 1)} ms, floor relay ${
        fmt(result.floor.p50, 1)
      } ms.`,
  );
}

interface HugeResult {
  idle: number;
  hwm: number;
  p50: number;
}

/** Echoes `C.hugeN` messages of `mib` MiB through a server. */
async function hugeEchoes(server: Runner, mib: number): Promise<HugeResult> {
  await delay(1000);
  const idle = memoryOf(server.pid).rss;
  const conn = await bounded(WsConn.open(server.url), 10_000, "connect");
  try {
    await initialize(conn);
    const times = await sequential(conn, 0, C.hugeN, padFor(mib * MIB));
    return { idle, hwm: memoryOf(server.pid).hwm, p50: percentile(times, 0.5) };
  } finally {
    await conn.close();
  }
}

async function run(): Promise<string> {
  const echo = await buildEcho();
  const rows: Row[] = [];
  const notes: string[] = [];
  if (GROUPS.some((group) => group !== "memory" && want(group))) {
    await loadRows(echo, rows, notes);
  }
  if (want("memory")) await memoryRows(echo, rows, notes);
  notes.push(
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, ${
      QUICK ? "--quick" : "full"
    } run. Direct: Deno.Command pipes to bench/.build/echo. Runner: main.ts ` +
      `with ${compileFlags().join(" ")}, over the built-in WebSocket (or ` +
      `fetch, for the Streamable HTTP rows) on ` +
      `${HOST}, at --log-level info, the default (a line per session and ` +
      `one per request, to stderr, which the bench reads). Ratio is ` +
      `runner/baseline; the baseline is direct pipes unless the row names ` +
      `another.`,
  );
  return `${table(rows)}\n\n${notes.map((n) => `- ${n}`).join("\n")}\n`;
}

async function cleanup(): Promise<void> {
  const error = new Error("Bench is cleaning up");
  for (const conn of live) conn.abort(error);
  await Promise.all([...runners].map((runner) => runner.stop()));
  await Promise.all(
    [...live].map((conn) =>
      bounded(conn.close(), 5_000, "close").catch(() => {})
    ),
  );
}

async function main(): Promise<number> {
  const onSignal = () => {
    const error = new Error("Interrupted");
    for (const conn of live) conn.abort(error);
    for (const runner of runners) void runner.stop();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const report = await run();
    const bytes = encoder.encode(report);
    let offset = 0;
    while (offset < bytes.length) {
      offset += Deno.stdout.writeSync(bytes.subarray(offset));
    }
    return 0;
  } catch (error) {
    progress(`failed: ${error instanceof Error ? error.stack : error}`);
    for (const runner of runners) {
      progress(
        `runner ${runner.pid} stderr (tail):\n${runner.stderr().slice(-2000)}`,
      );
    }
    return 1;
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

if (import.meta.main) {
  Deno.exitCode = await main();
}
