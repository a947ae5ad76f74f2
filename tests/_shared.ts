/**
 * Helpers for the shared-mode and pool tests: the shared fixture's command,
 * a scratch directory for what it records, a reader of raw JSON member
 * texts (ids must be compared as sent, not as parsed), and three clients —
 * WebSocket, Streamable HTTP and legacy HTTP+SSE — that keep every message
 * they receive, with the stream it came on, so that a test can assert over
 * all of it.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  compileFlags,
  MAIN,
  processesMatching,
  type RunningRunner,
  startRunner,
  TestClient,
} from "./_helpers.ts";
import { BOTH, JSON_ONLY, SseReader } from "./_http.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A JSON object. */
export type Json = Record<string, unknown>;

const FIXTURE_PATH =
  new URL("./fixtures/shared_fixture.ts", import.meta.url).pathname;

/** The command that runs the shared fixture MCP server. */
export const SHARED_FIXTURE: string[] = [
  Deno.execPath(),
  "run",
  "-A",
  FIXTURE_PATH,
];

/** The capabilities the fixture announces by default. */
export const DEFAULT_CAPABILITIES: Json = {
  tools: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  prompts: { listChanged: true },
  logging: {},
};

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------
// Scratch directory: what the fixture processes announce and record
// ---------------------------------------------------------------------------

/**
 * A temporary directory for one test: the fixture's `--announce` file and
 * one `--record` file per fixture process. Disposing removes it.
 */
export class Scratch implements AsyncDisposable {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Makes a new directory. */
  static async create(): Promise<Scratch> {
    return new Scratch(await Deno.makeTempDir({ prefix: "shared-test-" }));
  }

  /** A path inside the directory. */
  path(name: string): string {
    return `${this.dir}/${name}`;
  }

  /** The `--announce` file. */
  get announceFile(): string {
    return this.path("announce.txt");
  }

  /** The `--record` argument (`%p` is the fixture's pid). */
  get recordPattern(): string {
    return this.path("record-%p.jsonl");
  }

  /** `--record` and `--announce` for the fixture. */
  fixtureFlags(): string[] {
    return ["--record", this.recordPattern, "--announce", this.announceFile];
  }

  #announced(word: string): number[] {
    let text = "";
    try {
      text = Deno.readTextFileSync(this.announceFile);
    } catch {
      return [];
    }
    return text.split("\n")
      .map((line) => line.split(" "))
      .filter(([w]) => w === word)
      .map(([, pid]) => Number(pid));
  }

  /** Pids of the fixture processes started so far, in order. */
  starts(): number[] {
    return this.#announced("start");
  }

  /** Pids of the fixture processes that began to read stdin, in order. */
  readies(): number[] {
    return this.#announced("ready");
  }

  /** The lines one fixture process read from stdin. */
  lines(pid: number): string[] {
    try {
      return Deno.readTextFileSync(this.path(`record-${pid}.jsonl`))
        .split("\n")
        .filter((line) => line !== "");
    } catch {
      return [];
    }
  }

  /**
   * The messages one fixture process read, parsed; the entries of a batch
   * line each on their own.
   */
  records(pid: number): Json[] {
    const out: Json[] = [];
    for (const line of this.lines(pid)) {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue;
      }
      for (const entry of Array.isArray(value) ? value : [value]) {
        if (entry !== null && typeof entry === "object") out.push(entry);
      }
    }
    return out;
  }

  /** The messages with this method one fixture process read. */
  recorded(pid: number, method: string): Json[] {
    return this.records(pid).filter((m) => m.method === method);
  }

  /** The `tools/call` requests one fixture process read for a tool. */
  recordedCalls(pid: number, tool: string): Json[] {
    return this.recorded(pid, "tools/call").filter((m) =>
      (m.params as Json | undefined)?.name === tool
    );
  }

  /**
   * Live fixture processes of this test: their command line names the
   * fixture and this directory (the runner's, which names them too after
   * `--`, is left out).
   */
  alive(): number[] {
    return processesMatching(this.dir).filter((pid) => {
      try {
        const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
        return argv.includes(FIXTURE_PATH) && !argv.includes(MAIN);
      } catch {
        return false; // gone meanwhile
      }
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

// ---------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------

/**
 * A fetch whose response (head and body) must come within `ms`: then it is
 * aborted. Unlike `AbortSignal.timeout`, its timer is cleared at the end, which
 * keeps the timer sanitizer quiet.
 *
 * @returns The response and its body's text.
 */
export async function fetchWithin(
  url: string,
  init: RequestInit,
  ms: number,
): Promise<{ response: Response; text: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    return { response, text: await response.text() };
  } finally {
    clearTimeout(timer);
  }
}

/** `/readyz`: status, parsed body, `Retry-After`. */
export async function readyz(
  runner: RunningRunner,
): Promise<{ status: number; body: Json; retryAfter: string | null }> {
  const { response, text } = await fetchWithin(
    `${runner.httpUrl}/readyz`,
    {},
    3000,
  );
  let body: Json = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return {
    status: response.status,
    body,
    retryAfter: response.headers.get("retry-after"),
  };
}

/** Waits until `/readyz` answers 200. */
export async function waitReady(
  runner: RunningRunner,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const ready = await readyz(runner);
    if (ready.status === 200) return;
    last = `${ready.status} ${JSON.stringify(ready.body)}`;
    await sleep(50);
  }
  throw new Error(
    `Cannot get ready: /readyz still ${last} after ${timeoutMs} ms\n${
      runner.stderr().slice(-3000)
    }`,
  );
}

/**
 * Starts the runner in shared mode with the shared fixture (recording into
 * `scratch`) and waits until it is ready.
 *
 * @param scratch Where the fixture announces and records.
 * @param runnerArgs Runner flags besides `--child-mode shared`.
 * @param fixtureArgs Fixture flags besides `--record` and `--announce`.
 * @param wait Whether to wait for `/readyz` 200.
 */
export async function startShared(
  scratch: Scratch,
  runnerArgs: string[] = [],
  fixtureArgs: string[] = [],
  wait = true,
): Promise<RunningRunner> {
  const runner = await startRunner([
    "--child-mode",
    "shared",
    "--shutdown-grace-ms",
    "1000",
    ...runnerArgs,
    "--",
    ...SHARED_FIXTURE,
    ...scratch.fixtureFlags(),
    ...fixtureArgs,
  ]);
  if (wait) {
    try {
      await waitReady(runner);
    } catch (error) {
      await runner.stop();
      throw error;
    }
  }
  return runner;
}

/**
 * Runs the runner with arguments that should make it refuse to start, and
 * returns its exit code and stderr (killed after `timeoutMs` if it runs).
 */
export async function runnerExit(
  args: string[],
  timeoutMs = 15_000,
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
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
  }, timeoutMs);
  const output = await child.output();
  clearTimeout(timer);
  return { code: output.code, stderr: decoder.decode(output.stderr) };
}

// ---------------------------------------------------------------------------
// Raw JSON texts
// ---------------------------------------------------------------------------

function skipSpace(text: string, i: number): number {
  while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  return i;
}

/** The index just after the JSON value that starts at `i`. */
function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') {
    for (let j = i + 1; j < text.length; j++) {
      if (text[j] === "\\") j++;
      else if (text[j] === '"') return j + 1;
    }
    throw new Error(`Cannot scan: unterminated string at ${i}`);
  }
  if (c === "{" || c === "[") {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const ch = text[j];
      if (ch === '"') j = valueEnd(text, j) - 1;
      else if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        if (--depth === 0) return j + 1;
      }
    }
    throw new Error(`Cannot scan: unterminated value at ${i}`);
  }
  let j = i;
  while (j < text.length && !",}] \t\n\r".includes(text[j]!)) j++;
  return j;
}

/**
 * The raw text of a member of the JSON object `text` (not of nested
 * objects), exactly as written: `1.0` stays `1.0`.
 *
 * @returns The text, or undefined when absent or `text` is no object.
 */
export function rawMember(text: string, key: string): string | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== "{") return undefined;
  i++;
  for (let guard = 0; guard < 100_000; guard++) {
    i = skipSpace(text, i);
    if (text[i] !== '"') return undefined;
    const keyEnd = valueEnd(text, i);
    const name = JSON.parse(text.slice(i, keyEnd));
    i = skipSpace(text, keyEnd);
    if (text[i] !== ":") return undefined;
    i = skipSpace(text, i + 1);
    const end = valueEnd(text, i);
    if (name === key) return text.slice(i, end);
    i = skipSpace(text, end);
    if (text[i] !== ",") return undefined;
    i++;
  }
  return undefined;
}

/** The raw texts of the elements of the JSON array `text`. */
export function rawElements(text: string): string[] | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== "[") return undefined;
  i = skipSpace(text, i + 1);
  const out: string[] = [];
  if (text[i] === "]") return out;
  for (let guard = 0; guard < 100_000; guard++) {
    i = skipSpace(text, i);
    const end = valueEnd(text, i);
    out.push(text.slice(i, end));
    i = skipSpace(text, end);
    if (text[i] !== ",") return out;
    i++;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

/** One JSON-RPC message a client received. */
export interface Received {
  /** The message's text as received (one entry's text for a batch). */
  raw: string;
  /** Parsed. */
  json: Json;
  /** Raw text of the `id` member, if any. */
  rawId: string | undefined;
  /** The stream it came on: `ws`, `sse`, `get`, `post#N`. */
  stream: string;
}

/** Options of one send. */
export interface SendOptions {
  /** Streamable HTTP: the Accept header (default: JSON and SSE). */
  accept?: string;
}

/** Options of `init`. */
export interface InitOptions {
  /** The initialize request's id (default `"<name>-init"`). */
  id?: string | number;
  /** The protocol version asked for (default 2025-11-25). */
  protocolVersion?: string;
  /** How long to wait for the answer (default 5 s). */
  timeoutMs?: number;
}

/** What the three clients have in common. */
export abstract class Client implements AsyncDisposable {
  /** A name, used in ids and messages. */
  readonly name: string;
  /** Every frame / event / body received, as text. */
  readonly frames: { raw: string; stream: string }[] = [];
  /** Every message received, batch entries on their own. */
  readonly messages: Received[] = [];
  /** The raw id texts of every request this client sent. */
  readonly sentIds: Set<string> = new Set();
  /** Non-2xx HTTP answers to sends (status and body). */
  readonly refusals: { status: number; body: string }[] = [];
  /** Errors of background reads and sends. */
  readonly errors: string[] = [];

  constructor(name: string) {
    this.name = name;
  }

  /** Takes a frame: keeps it, and each message in it. */
  protected receive(raw: string, stream: string): void {
    this.frames.push({ raw, stream });
    const entries = raw.trimStart().startsWith("[")
      ? rawElements(raw) ?? []
      : [raw];
    for (const entry of entries) {
      let json: Json;
      try {
        json = JSON.parse(entry);
      } catch {
        this.errors.push(`not JSON: ${entry.slice(0, 200)}`);
        continue;
      }
      this.messages.push({
        raw: entry,
        json,
        rawId: rawMember(entry, "id"),
        stream,
      });
    }
  }

  /** Pulls what arrived meanwhile (the WebSocket client). */
  protected sync(): void {}

  /** Whether nothing more can arrive. */
  protected abstract gone(): boolean;

  /** Sends one text. */
  protected abstract transmit(
    text: string,
    options: SendOptions,
  ): Promise<void>;

  /**
   * Sends a message (a value as JSON, a string as is), noting the raw ids of
   * the requests in it.
   */
  async send(message: unknown, options: SendOptions = {}): Promise<void> {
    const text = typeof message === "string"
      ? message
      : JSON.stringify(message);
    const entries = text.trimStart().startsWith("[")
      ? rawElements(text) ?? []
      : [text];
    for (const entry of entries) {
      const id = rawMember(entry, "id");
      if (id !== undefined && rawMember(entry, "method") !== undefined) {
        this.sentIds.add(id);
      }
    }
    await this.transmit(text, options);
  }

  /** All messages received so far. */
  all(): Received[] {
    this.sync();
    return this.messages;
  }

  /** The responses received (an id and no method). */
  responses(): Received[] {
    return this.all().filter((m) =>
      m.json.method === undefined && m.rawId !== undefined
    );
  }

  /** The notifications received with this method. */
  notifications(method: string): Received[] {
    return this.all().filter((m) =>
      m.json.method === method && m.json.id === undefined
    );
  }

  /** The requests received from the server with this method. */
  serverRequests(method: string): Received[] {
    return this.all().filter((m) =>
      m.json.method === method && m.json.id !== undefined
    );
  }

  /**
   * Waits for a message that satisfies `check`, among those received from
   * index `from` on.
   */
  async waitMessage(
    check: (message: Received) => boolean,
    timeoutMs = 5000,
    from = 0,
    what = "the expected message",
  ): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.sync();
      for (let i = from; i < this.messages.length; i++) {
        if (check(this.messages[i]!)) return this.messages[i]!;
      }
      if (Date.now() > deadline || this.gone()) {
        throw new Error(
          `Cannot read: ${this.name} got no ${what} within ${timeoutMs} ms${
            this.gone() ? " (connection gone)" : ""
          }; received: ${
            this.messages.slice(from).map((m) => m.raw.slice(0, 300)).join(
              "\n",
            ) || "(nothing)"
          }; refusals: ${
            JSON.stringify(this.refusals)
          }; errors: ${this.errors}`,
        );
      }
      await sleep(10);
    }
  }

  /** Waits until `count()` reaches `n`. */
  async waitCount(
    count: () => number,
    n: number,
    timeoutMs = 5000,
    what = "messages",
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.sync();
      const got = count();
      if (got >= n) return;
      if (Date.now() > deadline) {
        throw new Error(
          `Cannot read: ${this.name} got ${got} of ${n} ${what} within ${timeoutMs} ms`,
        );
      }
      await sleep(10);
    }
  }

  /**
   * Sends a request (given as text, so that its id can be any JSON text) and
   * waits for the response with the same raw id.
   */
  async requestText(
    text: string,
    options: SendOptions & { timeoutMs?: number } = {},
  ): Promise<Received> {
    const id = rawMember(text, "id");
    assert.ok(id !== undefined, "a request has an id");
    this.sync();
    const from = this.messages.length;
    await this.send(text, options);
    return await this.waitMessage(
      (m) => m.rawId === id && m.json.method === undefined,
      options.timeoutMs ?? 5000,
      from,
      `response with id ${id}`,
    );
  }

  /** Sends a request and waits for the response with its id. */
  request(
    id: string | number,
    method: string,
    params?: unknown,
    options: SendOptions & { timeoutMs?: number } = {},
  ): Promise<Received> {
    return this.requestText(
      JSON.stringify({
        jsonrpc: "2.0",
        id,
        method,
        ...(params === undefined ? {} : { params }),
      }),
      options,
    );
  }

  /** Calls a tool of the fixture and waits for the response. */
  callTool(
    id: string | number,
    name: string,
    args: Json = {},
    options: SendOptions & { timeoutMs?: number; meta?: Json } = {},
  ): Promise<Received> {
    return this.request(id, "tools/call", {
      name,
      arguments: args,
      ...(options.meta ? { _meta: options.meta } : {}),
    }, options);
  }

  /** Sends a notification. */
  notify(method: string, params?: unknown): Promise<void> {
    return this.send({
      jsonrpc: "2.0",
      method,
      ...(params === undefined ? {} : { params }),
    });
  }

  /** Initializes: initialize, then notifications/initialized. */
  async init(options: InitOptions = {}): Promise<Received> {
    const reply = await this.request(
      options.id ?? `${this.name}-init`,
      "initialize",
      initializeParams(this.name, options.protocolVersion),
      options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
    );
    await this.notify("notifications/initialized");
    return reply;
  }

  /**
   * Asserts that every response this client got answers a request it sent
   * (no other session's response ever reached it).
   */
  assertOwnResponses(): void {
    for (const response of this.responses()) {
      if (response.rawId === "null") continue;
      assert.ok(
        this.sentIds.has(response.rawId!),
        `${this.name} got a response to an id it never sent: ${
          response.raw.slice(0, 300)
        } (sent: ${[...this.sentIds].join(" ")})`,
      );
    }
  }

  abstract [Symbol.asyncDispose](): Promise<void>;
}

/** The params of a client's initialize. */
export function initializeParams(
  name: string,
  protocolVersion = "2025-11-25",
): Json {
  return {
    protocolVersion,
    capabilities: {
      roots: { listChanged: true },
      sampling: {},
      elicitation: {},
    },
    clientInfo: { name, version: "1.0.0" },
  };
}

/** The text of a tool result (asserts that it is a result). */
export function resultText(message: Received): string {
  const result = message.json.result as
    | { content?: { text?: string }[] }
    | undefined;
  assert.ok(result, `a result: ${message.raw.slice(0, 500)}`);
  return String(result.content?.[0]?.text);
}

/** The error of a response (asserts that it is one). */
export function errorOf(
  message: Received,
): { code: number; message: string; data?: Json } {
  const error = message.json.error as
    | { code: number; message: string; data?: Json }
    | undefined;
  assert.ok(error, `an error: ${message.raw.slice(0, 500)}`);
  return error;
}

/** A WebSocket client (on {@linkcode TestClient}, whose frames are raw text). */
export class WsClient extends Client {
  readonly client: TestClient;
  #taken = 0;

  private constructor(name: string, client: TestClient) {
    super(name);
    this.client = client;
  }

  /** Connects to the runner's `/`. */
  static async connect(runner: RunningRunner, name: string): Promise<WsClient> {
    return new WsClient(name, await TestClient.connect(runner.wsUrl));
  }

  /** Resolves with the close event. */
  get closed(): Promise<CloseEvent> {
    return this.client.closed;
  }

  protected override sync(): void {
    const received = this.client.received;
    while (this.#taken < received.length) {
      this.receive(received[this.#taken++]!, "ws");
    }
  }

  protected gone(): boolean {
    this.sync();
    return this.client.socket.readyState === WebSocket.CLOSED;
  }

  protected transmit(text: string): Promise<void> {
    if (this.client.socket.readyState === WebSocket.OPEN) {
      this.client.send(text);
    } else this.errors.push(`send on a closed socket: ${text.slice(0, 100)}`);
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.client[Symbol.asyncDispose]();
  }
}

/**
 * Reads an SSE body in the background until it ends or `stop()` holds,
 * handing each event with data to `onEvent`.
 */
async function pumpSse(
  reader: SseReader,
  onEvent: (data: string, event: string | undefined) => void,
  stop: () => boolean,
): Promise<"ended" | "stopped" | "error"> {
  const lifetime = Date.now() + 300_000;
  try {
    while (Date.now() < lifetime) {
      let event;
      try {
        event = await reader.next(100);
      } catch (error) {
        if (stop()) return "stopped";
        if (/no SSE event within/.test(String(error))) continue;
        return "error";
      }
      if (event === undefined) return "ended";
      if (event.data !== undefined && event.data !== "") {
        onEvent(event.data, event.event);
      }
      if (stop()) return "stopped";
    }
    return "stopped";
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** A Streamable HTTP client of `/mcp`. */
export class HttpClient extends Client {
  readonly runner: RunningRunner;
  /** The session id, once initialized. */
  session: string | undefined;
  /** The MCP-Protocol-Version header sent after initialize (null: none). */
  versionHeader: string | null;
  /** Whether the GET stream ended. */
  getEnded = false;
  #abort = new AbortController();
  #stopping = false;
  /** Background reads of SSE bodies. */
  #pumps: Promise<unknown>[] = [];
  /** POSTs and the reading of their JSON bodies. */
  #background: Promise<unknown>[] = [];
  #posts = 0;

  constructor(
    runner: RunningRunner,
    name: string,
    versionHeader: string | null = "2025-11-25",
  ) {
    super(name);
    this.runner = runner;
    this.versionHeader = versionHeader;
  }

  protected gone(): boolean {
    return this.#stopping;
  }

  /** POSTs a text to `/mcp` with this session's headers. */
  post(
    text: string,
    accept = BOTH,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return fetch(`${this.runner.httpUrl}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept,
        ...(this.session === undefined ? {} : {
          "mcp-session-id": this.session,
        }),
        ...(this.session === undefined || this.versionHeader === null
          ? {}
          : { "mcp-protocol-version": this.versionHeader }),
        ...headers,
      },
      body: text,
      signal: this.#abort.signal,
    });
  }

  /**
   * Handles a POST's response: a JSON body or an SSE stream becomes
   * messages (the stream is read in the background), anything else is a
   * refusal.
   */
  async #take(response: Response): Promise<void> {
    const type = response.headers.get("content-type")?.split(";")[0];
    const stream = `post#${++this.#posts}`;
    if (response.status === 200 && type === "text/event-stream") {
      if (this.#stopping) {
        await response.body?.cancel();
        return;
      }
      const reader = SseReader.of(response);
      this.#pumps.push(
        pumpSse(
          reader,
          (data) => this.receive(data, stream),
          () => this.#stopping,
        ).catch((error) => this.errors.push(String(error))),
      );
      return;
    }
    const body = await response.text();
    if (response.status === 200 && body !== "") this.receive(body, stream);
    else if (response.status !== 200 && response.status !== 202) {
      this.refusals.push({ status: response.status, body });
    }
  }

  protected async transmit(text: string, options: SendOptions): Promise<void> {
    const sent = this.post(text, options.accept ?? BOTH).then((response) =>
      this.#take(response)
    ).catch((error) => {
      if (!this.#stopping) this.errors.push(String(error));
    });
    this.#background.push(sent);
    await sent;
  }

  /**
   * Initializes (in JSON mode), sends notifications/initialized and opens
   * the GET stream.
   */
  override async init(options: InitOptions = {}): Promise<Received> {
    const text = JSON.stringify({
      jsonrpc: "2.0",
      id: options.id ?? `${this.name}-init`,
      method: "initialize",
      params: initializeParams(this.name, options.protocolVersion),
    });
    this.sentIds.add(rawMember(text, "id")!);
    const response = await this.post(text, JSON_ONLY);
    const body = await response.text();
    assert.equal(response.status, 200, `${this.name} initialize: ${body}`);
    const session = response.headers.get("mcp-session-id");
    assert.ok(session, "initialize returns Mcp-Session-Id");
    this.session = session;
    const from = this.messages.length;
    this.receive(body, "post#0");
    const reply = this.messages[from];
    assert.ok(reply, `${this.name} initialize answered: ${body}`);
    const initialized = await this.post(
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    );
    await initialized.body?.cancel();
    assert.equal(initialized.status, 202, "notifications/initialized → 202");
    await this.openGet();
    return reply;
  }

  /** Opens the session's standalone GET stream, read in the background. */
  async openGet(): Promise<void> {
    const response = await fetch(`${this.runner.httpUrl}/mcp`, {
      headers: {
        accept: "text/event-stream",
        "mcp-session-id": this.session!,
        ...(this.versionHeader === null
          ? {}
          : { "mcp-protocol-version": this.versionHeader }),
      },
      signal: this.#abort.signal,
    });
    if (response.status !== 200) {
      const body = await response.text();
      assert.fail(`${this.name} GET stream: ${response.status} ${body}`);
    }
    const reader = SseReader.of(response);
    this.#pumps.push(
      pumpSse(reader, (data) => this.receive(data, "get"), () => this.#stopping)
        .then((how) => {
          if (how === "ended") this.getEnded = true;
        }).catch((error) => this.errors.push(String(error))),
    );
  }

  /** Ends the session with DELETE (status returned, body discarded). */
  async delete(): Promise<number> {
    const { response } = await fetchWithin(`${this.runner.httpUrl}/mcp`, {
      method: "DELETE",
      headers: { "mcp-session-id": this.session! },
    }, 3000);
    return response.status;
  }

  /**
   * Stops the background reads (each within 100 ms, by itself: an aborted
   * read would leave {@linkcode SseReader.next}'s timer behind), then aborts
   * what is still open (POSTs waiting for a JSON answer).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await Promise.allSettled(this.#pumps);
    this.#abort.abort();
    await Promise.allSettled(this.#background);
    await Promise.allSettled(this.#pumps);
  }
}

/** A legacy HTTP+SSE client: `GET /sse`, then POSTs to the announced URL. */
export class SseClient extends Client {
  readonly runner: RunningRunner;
  /** The message URL from the endpoint event. */
  messageUrl = "";
  /** Whether the SSE stream ended. */
  ended = false;
  #abort = new AbortController();
  #stopping = false;
  #pumps: Promise<unknown>[] = [];
  #background: Promise<unknown>[] = [];

  private constructor(runner: RunningRunner, name: string) {
    super(name);
    this.runner = runner;
  }

  /** Opens `/sse` and reads the endpoint event. */
  static async connect(
    runner: RunningRunner,
    name: string,
  ): Promise<SseClient> {
    const client = new SseClient(runner, name);
    const response = await fetch(`${runner.httpUrl}/sse`, {
      headers: { accept: "text/event-stream" },
      signal: client.#abort.signal,
    });
    if (response.status !== 200) {
      const body = await response.text();
      throw new Error(`Cannot open /sse: ${response.status} ${body}`);
    }
    const reader = SseReader.of(response);
    try {
      for (let i = 0; i < 5 && client.messageUrl === ""; i++) {
        const event = await reader.next(5000);
        if (event === undefined) throw new Error("Cannot open /sse: it ended");
        if (event.event === "endpoint") {
          client.messageUrl = `${runner.httpUrl}${event.data}`;
        }
      }
      assert.ok(client.messageUrl, "an endpoint event");
    } catch (error) {
      await reader.cancel().catch(() => {});
      client.#abort.abort();
      throw error;
    }
    client.#pumps.push(
      pumpSse(
        reader,
        (data) => client.receive(data, "sse"),
        () => client.#stopping,
      ).then((how) => {
        if (how === "ended") client.ended = true;
      }).catch((error) => client.errors.push(String(error))),
    );
    return client;
  }

  protected gone(): boolean {
    return this.#stopping || this.ended;
  }

  protected async transmit(text: string): Promise<void> {
    try {
      const response = await fetch(this.messageUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: text,
        signal: this.#abort.signal,
      });
      const body = await response.text();
      if (response.status !== 202) {
        this.refusals.push({ status: response.status, body });
      }
    } catch (error) {
      if (!this.#stopping) this.errors.push(String(error));
    }
  }

  /** Stops the stream's reader (by itself, see HttpClient), then aborts. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await Promise.allSettled(this.#pumps);
    this.#abort.abort();
    await Promise.allSettled(this.#background);
  }
}

// ---------------------------------------------------------------------------
// A raw WebSocket client that can stop reading
// ---------------------------------------------------------------------------

/** A masked client frame. */
function clientFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const head: number[] = [0x80 | opcode];
  const length = payload.length;
  if (length < 126) head.push(0x80 | length);
  else if (length < 65536) head.push(0x80 | 126, length >> 8, length & 0xff);
  else {
    head.push(0x80 | 127, 0, 0, 0, 0);
    head.push((length >>> 24) & 0xff, (length >>> 16) & 0xff);
    head.push((length >>> 8) & 0xff, length & 0xff);
  }
  const key = crypto.getRandomValues(new Uint8Array(4));
  const out = new Uint8Array(head.length + 4 + length);
  out.set(head);
  out.set(key, head.length);
  const start = head.length + 4;
  for (let i = 0; i < length; i++) out[start + i] = payload[i]! ^ key[i % 4]!;
  return out;
}

/**
 * A WebSocket client over raw TCP that reads only when asked: between reads
 * the runner's frames pile up in the kernel and then in the runner.
 */
export class RawWs implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  #buffer: Uint8Array = new Uint8Array(0);
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects and completes the handshake (the head is read, no more). */
  static async open(port: number, timeoutMs = 5000): Promise<RawWs> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const ws = new RawWs(conn);
    const key = btoa(
      String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
    );
    const timer = setTimeout(() => ws.close(), timeoutMs);
    try {
      await ws.#write(encoder.encode(
        [
          "GET / HTTP/1.1",
          `Host: 127.0.0.1:${port}`,
          "Upgrade: websocket",
          "Connection: Upgrade",
          `Sec-WebSocket-Key: ${key}`,
          "Sec-WebSocket-Version: 13",
          "Sec-WebSocket-Protocol: mcp",
          "",
          "",
        ].join("\r\n"),
      ));
      for (let i = 0; i < 1000; i++) {
        const text = decoder.decode(ws.#buffer);
        const end = text.indexOf("\r\n\r\n");
        if (end !== -1) {
          assert.match(text, /^HTTP\/1\.1 101/);
          ws.#buffer = ws.#buffer.subarray(
            encoder.encode(text.slice(0, end + 4)).length,
          );
          return ws;
        }
        if (!await ws.#fill()) throw new Error("Cannot upgrade: closed");
      }
      throw new Error("Cannot upgrade: no response head");
    } catch (error) {
      ws.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      offset += await this.conn.write(bytes.subarray(offset));
    }
  }

  /** Reads one chunk into the buffer; false at the end of the connection. */
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(256 * 1024);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch {
      n = null;
    }
    if (n === null) return false;
    const next = new Uint8Array(this.#buffer.length + n);
    next.set(this.#buffer);
    next.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = next;
    return true;
  }

  /** Sends a masked text frame. */
  async sendText(text: string): Promise<void> {
    await this.#write(clientFrame(0x1, encoder.encode(text)));
  }

  /**
   * Reads everything until the server's close frame or the end of the
   * connection (the connection is closed at the deadline).
   *
   * @returns The close code (undefined: none), whether TCP ended, the count
   *   of text frames read, whether the deadline passed.
   */
  async drain(timeoutMs: number): Promise<
    {
      code: number | undefined;
      closeFrame: boolean;
      texts: number;
      timedOut: boolean;
    }
  > {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close();
    }, timeoutMs);
    let texts = 0;
    try {
      for (let guard = 0; guard < 10_000_000; guard++) {
        const b = this.#buffer;
        let parsed = false;
        if (b.length >= 2) {
          let length = b[1]! & 0x7f;
          let offset = 2;
          if (length === 126 && b.length >= 4) {
            length = (b[2]! << 8) | b[3]!;
            offset = 4;
          } else if (length === 127 && b.length >= 10) {
            length = 0;
            for (let i = 2; i < 10; i++) length = length * 256 + b[i]!;
            offset = 10;
          } else if (length >= 126) offset = -1;
          if (offset !== -1 && b.length >= offset + length) {
            parsed = true;
            const opcode = b[0]! & 0xf;
            const payload = b.subarray(offset, offset + length);
            this.#buffer = b.subarray(offset + length);
            if (opcode === 0x1) texts++;
            if (opcode === 0x8) {
              const code = payload.length >= 2
                ? (payload[0]! << 8) | payload[1]!
                : undefined;
              return { code, closeFrame: true, texts, timedOut };
            }
          }
        }
        if (!parsed && !await this.#fill()) {
          return { code: undefined, closeFrame: false, texts, timedOut };
        }
      }
      return { code: undefined, closeFrame: false, texts, timedOut: true };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the TCP connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // closed
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
