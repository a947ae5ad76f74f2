/**
 * Shared mode: one long-lived MCP server child for every session. The
 * runner initializes it itself, once per process, and answers each client's
 * `initialize` from that result. When the child exits it is started again
 * with backoff (250 ms doubling to 30 s, ±20 % jitter); five exits within
 * 120 s mark it failed, with one more attempt a minute.
 *
 * @module
 */

import { ChildConnection, describeExit } from "../../child/connection.ts";
import type { StopResult } from "../../child/process.ts";
import {
  type CheckedMessage,
  ErrorCode,
  errorResponse,
} from "../../jsonrpc/message.ts";
import { memberRange } from "../../jsonrpc/json_scan.ts";
import type {
  Availability,
  ChannelOptions,
  ChannelTarget,
  ChildProvider,
} from "../channel.ts";
import { overflowError } from "../direct_channel.ts";
import type { ProviderOptions } from "../per_session.ts";
import { Multiplexer } from "./multiplexer.ts";
import {
  CRASH_LOOP_EXITS,
  CRASH_WINDOW_MS,
  RestartPolicy,
} from "../restart_policy.ts";
import { sharedMetrics } from "./shared_metrics.ts";
import type { SharedPolicy } from "./policy.ts";
import { SharedChannel, type SharedHost } from "./shared_channel.ts";

/** The states of a shared child. */
export type SharedState =
  | "idle"
  | "starting"
  | "ready"
  | "backoff"
  | "failed"
  | "stopped";

/** Options of {@linkcode SharedProvider}. */
export interface SharedOptions extends ProviderOptions {
  /** The `--shared-*` options. */
  policy: SharedPolicy;
  /** Requests in flight per session (`--max-in-flight`). */
  maxSessionInFlight: number;
  /** The session queue bound (`--send-buffer-bytes`, × 4). */
  sendBufferBytes: number;
  /** The runner's version, in its own clientInfo. */
  version: string;
}

export {
  CRASH_LOOP_EXITS,
  CRASH_WINDOW_MS,
  FAILED_RETRY_MS,
  FIRST_BACKOFF_MS,
  MAX_BACKOFF_MS,
} from "../restart_policy.ts";
/** The runner's own initialize must be answered within this. */
const HANDSHAKE_TIMEOUT_MS = 60_000;

/** One child for every session. */
export class SharedProvider implements ChildProvider, SharedHost {
  readonly mode: string = "shared";
  #options: SharedOptions;
  #mux: Multiplexer;
  #state: SharedState = "idle";
  #connection: ChildConnection | undefined;
  #ready = Promise.withResolvers<void>();
  #result: string | undefined;
  #summary: string | undefined;
  #capabilities: Record<string, unknown> = {};
  #restarts = new RestartPolicy();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextAttemptAt = 0;
  #lastExit = "";
  #generation = 0;
  #speaksModern = false;
  /** Restarts so far (for metrics). */
  restarts = 0;

  /** @param options The MCP server, the shared policy and limits. */
  constructor(options: SharedOptions) {
    this.#options = options;
    this.#mux = new Multiplexer(options.policy, options.logger);
    options.metrics?.register(() =>
      sharedMetrics({
        state: this.#state,
        restarts: this.restarts,
        pending: this.#mux.pending,
        sessions: this.#mux.sessions.size,
        dropped: this.#mux.dropped,
      })
    );
  }

  /** The state of the child. */
  get state(): SharedState {
    return this.#state;
  }

  /** The child's pid, when one runs. */
  get pid(): number | undefined {
    return this.#connection?.pid;
  }

  /** Requests of every session (and 2026-07-28 call) awaiting the child. */
  get pendingRequests(): number {
    return this.#mux.pending;
  }

  /** How the child last exited (ms since the epoch in `at`), if it did. */
  lastExitStatus:
    | { code: number | null; signal: string | null; at: number }
    | undefined;

  /** When the next start is tried while restarting (ms since the epoch). */
  get nextAttemptAt(): number | undefined {
    return this.#state === "backoff" || this.#state === "failed"
      ? this.#nextAttemptAt
      : undefined;
  }

  /**
   * Stops the running child so that it restarts at once (the console's
   * restart button); its requests get the usual "restarting" error.
   *
   * @returns Whether a child was running.
   */
  restartNow(): boolean {
    if (this.#state === "failed" || this.#state === "backoff") {
      clearTimeout(this.#timer);
      this.#spawn();
      return true;
    }
    if (this.#connection === undefined) return false;
    // A restart asked for is not a crash: the next start has no delay.
    this.#restarts.reset();
    this.#connection.killNow();
    return true;
  }

  get notReadyReason(): string {
    if (this.#state === "failed") {
      return `the MCP server is unavailable: it exited ${CRASH_LOOP_EXITS} times within ${
        CRASH_WINDOW_MS / 1000
      } s (last: ${this.#lastExit}); next attempt in ${this.#retryAfter()} s`;
    }
    if (this.#state === "stopped") return "the runner is shutting down";
    return this.#generation > 0
      ? "the MCP server is restarting"
      : "the MCP server is starting";
  }

  /** Changes whenever the child's tool list may have changed. */
  get toolsVersion(): number {
    return this.#mux.toolsVersion;
  }

  /**
   * Sends the runner's own request to the ready child.
   *
   * @param method The method.
   * @param params Its params.
   * @param timeoutMs How long to wait for the answer.
   * @returns The response text, or undefined when none came in time.
   */
  request(
    method: string,
    params: unknown,
    timeoutMs: number,
  ): Promise<string | undefined> {
    if (this.#state !== "ready") return Promise.resolve(undefined);
    const { promise, resolve } = Promise.withResolvers<string | undefined>();
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    this.#mux.internal(method, params, (text) => {
      clearTimeout(timer);
      resolve(text);
    });
    return promise;
  }

  /**
   * Whether the child itself speaks MCP 2026-07-28: it answered the
   * runner's `server/discover` with that version. Its modern requests are
   * then passed through rather than translated.
   */
  get speaksModern(): boolean {
    return this.#speaksModern;
  }

  /** Asks a newly ready child whether it serves 2026-07-28 itself. */
  #probeModern(): void {
    this.#speaksModern = false;
    const generation = this.#generation;
    this.#mux.internal("server/discover", {
      _meta: {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
      },
    }, (text, message) => {
      if (generation !== this.#generation || message.errorCode !== undefined) {
        return;
      }
      try {
        const versions = JSON.parse(text)?.result?.supportedVersions;
        this.#speaksModern = Array.isArray(versions) &&
          versions.includes("2026-07-28");
      } catch {
        // not a discover result: translated as a legacy child
      }
      if (this.#speaksModern) {
        this.#options.logger.info(
          "Shared MCP server speaks MCP 2026-07-28 itself: its modern requests are passed through",
        );
      }
    });
  }

  /** The child's initialize result text, once it answered. */
  get cachedResult(): string | undefined {
    return this.#result;
  }

  get capabilities(): Record<string, unknown> {
    return this.#capabilities;
  }

  get backlogged(): boolean {
    return this.#connection?.backlogged ?? false;
  }

  get queuedBytes(): number {
    return this.#connection?.queuedBytes ?? 0;
  }

  start(): void {
    if (this.#options.policy.start === "eager" && this.#state === "idle") {
      this.#spawn();
    }
  }

  open(options: ChannelOptions, target: ChannelTarget): SharedChannel {
    if (this.#state === "idle") this.#spawn();
    return new SharedChannel(this.#mux, this, options, {
      maxInFlight: this.#options.maxSessionInFlight,
      maxChildInFlight: this.#options.policy.maxInFlight,
      sendBufferBytes: this.#options.sendBufferBytes,
    }, target);
  }

  availability(): Availability {
    if (this.#state === "ready" || this.#state === "idle") return { ok: true };
    return {
      ok: false,
      reason: this.notReadyReason,
      retryAfterSeconds: this.#retryAfter(),
    };
  }

  async whenAvailable(): Promise<Availability> {
    if (this.#state === "idle") this.#spawn();
    if (this.#state === "starting" || this.#state === "backoff") {
      await this.#waitReady(this.#options.policy.restartWaitMs);
    }
    return this.availability();
  }

  async initializeResult(): Promise<{ result: string } | { error: string }> {
    if (this.#state === "starting" || this.#state === "backoff") {
      await this.#waitReady(this.#options.policy.restartWaitMs);
    }
    if (this.#state === "ready" && this.#result !== undefined) {
      return { result: this.#result };
    }
    return { error: `Cannot initialize: ${this.notReadyReason}` };
  }

  stopIdle(): Promise<void> {
    return Promise.resolve();
  }

  killNow(): void {
    this.#connection?.killNow();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#state = "stopped";
    clearTimeout(this.#timer);
    this.#ready.resolve();
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection !== undefined) await connection.stop();
    // What is still waiting (a 2026-07-28 call has no session to answer
    // it) gets an error rather than no answer.
    this.#mux.exited((key) =>
      errorResponse(
        key,
        ErrorCode.ServerError,
        "Cannot complete request: the MCP server was stopped (the runner is stopping, or a reload removed or replaced it)",
        { restarting: false },
      )
    );
  }

  async #waitReady(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#ready.promise,
      new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
    ]);
    clearTimeout(timer);
  }

  #retryAfter(): number {
    return Math.max(1, Math.ceil((this.#nextAttemptAt - Date.now()) / 1000));
  }

  #spawn(): void {
    this.#timer = undefined;
    if (this.#state === "stopped") return;
    this.#state = "starting";
    const log = this.#options.logger;
    let connection: ChildConnection;
    try {
      connection = ChildConnection.spawn({
        spec: this.#options.spec,
        label: "Shared MCP server",
        logger: log,
        metrics: this.#options.metrics,
      });
    } catch (error) {
      this.#exited(`cannot start: ${String(error)}`, undefined);
      return;
    }
    this.#connection = connection;
    this.#mux.attach(connection);
    connection.attach({
      line: (text, messages) => this.#mux.fromChild(text, messages),
      overflow: (size, ids) => {
        const max = this.#options.spec.maxMessageBytes;
        if (!this.#mux.overflow(ids, (key) => overflowError(key, size, max))) {
          log.warning(
            "Shared MCP server: dropped a message of {size} bytes (no request to answer)",
            { size },
          );
        }
      },
      exited: (status, how) => {
        if (this.#connection !== connection) return;
        this.#exited(`exited with ${how}`, status);
      },
    });
    this.#handshake(connection);
  }

  #handshake(connection: ChildConnection): void {
    const policy = this.#options.policy;
    const capabilities: Record<string, unknown> = {};
    if (policy.roots.length > 0 || policy.roundTrips) {
      capabilities.roots = { listChanged: false };
    }
    if (policy.roundTrips) {
      // Everything a 2026-07-28 request may declare; each request's own
      // declaration is checked when the child asks.
      capabilities.sampling = { tools: {}, context: {} };
      capabilities.elicitation = { form: {}, url: {} };
    } else if (policy.clientRequests === "attribute") {
      capabilities.sampling = {};
      capabilities.elicitation = {};
    }
    const timer = setTimeout(
      () => this.#handshakeFailed(connection, "no answer to initialize"),
      HANDSHAKE_TIMEOUT_MS,
    );
    this.#mux.internal("initialize", {
      protocolVersion: policy.protocolVersion,
      capabilities,
      clientInfo: { name: "mcp-server-runner", version: this.#options.version },
    }, (text, message) => {
      clearTimeout(timer);
      if (this.#connection !== connection) return;
      const range = message.errorCode === undefined
        ? memberRange(text, ["result"])
        : undefined;
      if (range === undefined) {
        return this.#handshakeFailed(connection, `initialize failed: ${text}`);
      }
      this.#ready_(connection, text.slice(...range));
    });
    // Settles either way: the handshake's timer never outlives the child.
    void connection.pumped.finally(() => clearTimeout(timer)).catch(() => {});
  }

  #ready_(connection: ChildConnection, result: string): void {
    const log = this.#options.logger;
    const parsed = JSON.parse(result) as Record<string, unknown>;
    const caps = typeof parsed.capabilities === "object" &&
        parsed.capabilities !== null
      ? parsed.capabilities as Record<string, unknown>
      : {};
    const summary = JSON.stringify([parsed.protocolVersion, caps]);
    const restarted = this.#summary !== undefined;
    const changed = restarted && summary !== this.#summary;
    this.#result = result;
    this.#summary = summary;
    this.#capabilities = caps;
    this.#mux.notify("notifications/initialized");
    this.#probeModern();
    this.#state = "ready";
    this.#restarts.ready();
    this.#ready.resolve();
    log.info(
      "Shared MCP server ready (pid {pid}, protocol {version})",
      { pid: connection.pid, version: String(parsed.protocolVersion) },
    );
    if (changed) {
      log.warning(
        "Shared MCP server came back with a different protocol version or capabilities: ending its {count} sessions",
        { count: this.#mux.sessions.size },
      );
      for (const session of [...this.#mux.sessions]) {
        (session as SharedChannel).end({
          kind: "restart",
          reason: "MCP server restarted as a different server",
        });
      }
      return;
    }
    if (!restarted) return;
    this.#mux.reapply();
    for (const kind of ["tools", "prompts", "resources"]) {
      const cap = caps[kind] as { listChanged?: unknown } | undefined;
      if (cap?.listChanged !== true) continue;
      const text =
        `{"jsonrpc":"2.0","method":"notifications/${kind}/list_changed"}`;
      const message: CheckedMessage = {
        kind: "notification",
        id: null,
        method: `notifications/${kind}/list_changed`,
      };
      for (const session of this.#mux.sessions) session.push(text, message);
    }
  }

  #handshakeFailed(connection: ChildConnection, why: string): void {
    if (this.#connection !== connection) return;
    this.#options.logger.warning("Shared MCP server: {why}; stopping it", {
      why: why.slice(0, 500),
    });
    this.#connection = undefined;
    void connection.stop().then(
      (result: StopResult) => this.#exited(why.slice(0, 200), result.status),
      () => this.#exited(why.slice(0, 200), undefined),
    ).catch((error) =>
      this.#options.logger.error(
        "Cannot restart the shared MCP server: {error}",
        {
          error: String(error),
        },
      )
    );
  }

  #exited(how: string, status: Deno.CommandStatus | undefined): void {
    if (this.#state === "stopped") return;
    const log = this.#options.logger;
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection !== undefined) void connection.stop();
    this.#lastExit = status === undefined ? how : describeExit(status);
    this.lastExitStatus = {
      code: status?.code ?? null,
      signal: status?.signal ?? null,
      at: Date.now(),
    };
    this.#generation++;
    const data = {
      exitCode: status?.code ?? null,
      signal: status?.signal ?? null,
      restarting: this.#options.policy.onExit === "restart",
      generation: this.#generation,
    };
    const reason = `MCP server ${how}; ${
      data.restarting ? "restarting" : "its sessions end"
    }`;
    this.#mux.exited((key) =>
      errorResponse(
        key,
        ErrorCode.ServerError,
        `Cannot complete request: ${reason}`,
        data,
      )
    );
    if (this.#state === "ready") this.#ready = Promise.withResolvers<void>();
    if (this.#options.policy.onExit === "end-sessions") {
      for (const session of [...this.#mux.sessions]) {
        (session as SharedChannel).end({ kind: "exited", reason, data });
      }
    }
    const now = Date.now();
    const next = this.#restarts.exited(now);
    const wait = next.waitMs;
    if (next.failed) {
      this.#state = "failed";
      log.error(
        "Shared MCP server {how}: {count} exits within {window} s, giving up for {wait} s",
        {
          how: this.#lastExit,
          count: next.exits,
          window: CRASH_WINDOW_MS / 1000,
          wait: wait / 1000,
        },
      );
    } else {
      this.#state = "backoff";
      log.warning("Shared MCP server {how}; starting it again in {wait} ms", {
        how,
        wait,
      });
    }
    this.restarts++;
    this.#nextAttemptAt = now + wait;
    this.#timer = setTimeout(() => this.#spawn(), wait);
  }
}
