/**
 * One Streamable HTTP session (`Mcp-Session-Id`) bridged to its own MCP
 * server child, with the routing of the child's messages to SSE streams.
 *
 * Routing rules: a response goes to the stream (or JSON reply) of the POST
 * that carried its request; a progress notification goes to the stream of the
 * request that carries its progress token; any other message from the child
 * (notifications, server-to-client requests) goes to exactly one stream: the
 * oldest open POST stream, else the standalone GET stream, else it is held
 * (bounded) until a stream opens.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import {
  type BridgeTarget,
  ChildBridge,
  type ChildSpec,
  childSpecOf,
  type DeliveryLimits,
} from "./child_bridge.ts";
import {
  type CheckedMessage,
  ErrorCode,
  errorResponse,
  idKey,
  type JsonRpcId,
} from "./jsonrpc.ts";
import type { Metrics } from "./metrics.ts";
import { SseStream } from "./sse_stream.ts";

/** Options for {@linkcode HttpSession.start}. */
export interface HttpSessionOptions extends ChildSpec, DeliveryLimits {
  /** The session id (also the `Mcp-Session-Id` value). */
  id: string;
  /** Logger. */
  logger: Logger;
  /**
   * The client's address, for the access log.
   *
   * @default {"unknown"}
   */
  remote?: string | undefined;
  /** Where counts and latencies go. */
  metrics?: Metrics | undefined;
  /**
   * Who created the session (see `TokenAuth.authenticate`).
   *
   * @default {"anonymous"}
   */
  principal?: string;
  /**
   * Most messages held while no stream is open.
   *
   * @default {1000}
   */
  maxHeld?: number;
}

interface StreamRoute {
  kind: "sse";
  stream: SseStream;
  remaining: Set<string>;
}

interface JsonRoute {
  kind: "json";
  replies: string[];
  remaining: Set<string>;
  done: PromiseWithResolvers<string[]>;
}

type Route = StreamRoute | JsonRoute;

/** How a POST wants its answers. */
export type ReplyMode = "sse" | "json";

/** Completed streams kept for `Last-Event-ID` replay. */
const KEPT_STREAMS = 32;

/** Replay bytes kept by all the streams of one session together. */
export const SESSION_REPLAY_BYTES = 8 * 1024 * 1024;

/** One Streamable HTTP session. */
export class HttpSession {
  /** The session id. */
  readonly id: string;
  /** Transport name, for health and metrics. */
  readonly transport = "streamable-http";
  /** Resolves when the session has ended and its child has stopped. */
  readonly done: Promise<void>;
  /** Who created the session; only they may use it. */
  readonly principal: string;
  /** Time of the last request, for idle reaping. */
  lastActivity: number = Date.now();

  #options: HttpSessionOptions;
  #log: Logger;
  #bridge!: ChildBridge;
  #streams = new Map<string, SseStream>();
  #nextStream = 1;
  #standalone: SseStream | undefined;
  #active = new Set<SseStream>();
  #routes = new Map<string, Route>();
  #progress = new Map<string, Route>();
  #held: { text: string; message: CheckedMessage }[] = [];
  #ended = false;
  #replayBytes = 0;
  #resolveDone: () => void;

  private constructor(options: HttpSessionOptions) {
    this.id = options.id;
    this.principal = options.principal ?? "anonymous";
    this.#options = options;
    this.#log = options.logger;
    const done = Promise.withResolvers<void>();
    this.done = done.promise;
    this.#resolveDone = done.resolve;
  }

  /**
   * Spawns the child of a new session.
   *
   * @param options Program, limits and logger.
   * @returns The session.
   * @throws {Error} If the child cannot be spawned.
   */
  static start(options: HttpSessionOptions): HttpSession {
    const session = new HttpSession(options);
    const target: BridgeTarget = {
      deliver: (text, messages) => session.#deliver(text, messages),
      unroutable: (size) => session.#unroutable(size),
      exited: (status, how) => {
        void session.end(`MCP server exited with ${how}`, {
          exitCode: status.code,
          signal: status.signal,
        });
      },
    };
    session.#bridge = ChildBridge.spawn({
      session: options.id,
      transport: "streamable-http",
      remote: options.remote,
      metrics: options.metrics,
      ...childSpecOf(options),
      logger: options.logger,
    }, target);
    return session;
  }

  /** Whether the session has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether the MCP server has stopped reading its stdin (see ChildBridge). */
  get backlogged(): boolean {
    return this.#bridge.backlogged;
  }

  /**
   * Whether a client holds a stream open or awaits an answer (the session is
   * not idle).
   */
  get streaming(): boolean {
    if (this.#routes.size > 0) return true;
    if (this.#standalone?.attached) return true;
    for (const stream of this.#active) if (stream.attached) return true;
    return false;
  }

  /**
   * Forwards a POST body to the child.
   *
   * @param text The checked message or batch, one line.
   * @param messages What it contains.
   * @param mode How the client wants answers to its requests.
   * @returns A 202 for notifications and responses; otherwise the SSE body or
   *   the JSON replies.
   */
  post(
    text: string,
    messages: CheckedMessage[],
    mode: ReplyMode,
  ): { accepted: true } | { stream: ReadableStream<Uint8Array> } | {
    json: Promise<string[]>;
  } {
    this.lastActivity = Date.now();
    const requests = messages.filter((m) => m.kind === "request");
    if (requests.length === 0) {
      this.#bridge.forward(text, messages);
      return { accepted: true };
    }
    const keys = requests.map((r) => idKey(r.id as JsonRpcId));
    let route: Route;
    let result: { stream: ReadableStream<Uint8Array> } | {
      json: Promise<string[]>;
    };
    if (mode === "sse") {
      const stream = this.#newStream();
      route = { kind: "sse", stream, remaining: new Set(keys) };
      this.#active.add(stream);
      result = { stream: stream.connect() };
    } else {
      const done = Promise.withResolvers<string[]>();
      route = { kind: "json", replies: [], remaining: new Set(keys), done };
      result = { json: done.promise };
    }
    for (const [i, request] of requests.entries()) {
      this.#routes.set(keys[i]!, route);
      if (request.progressToken !== undefined) {
        this.#progress.set(idKey(request.progressToken), route);
      }
    }
    const { refused } = this.#bridge.forward(text, messages);
    // Refusals come one per request, in order.
    for (const [i, error] of refused.entries()) {
      void this.#answer(keys[i]!, error);
    }
    if (route.kind === "sse") this.#flushHeld();
    return result;
  }

  /**
   * Opens the standalone GET stream, or resumes a stream after
   * `Last-Event-ID`.
   *
   * @param resume The stream and sequence number to resume after.
   * @returns The body, or `conflict` when a standalone stream is already open.
   */
  get(
    resume?: { stream: string; seq: number },
  ): ReadableStream<Uint8Array> | "conflict" {
    this.lastActivity = Date.now();
    if (resume) {
      const stream = this.#streams.get(resume.stream);
      if (stream) {
        const body = stream.connect(resume.seq);
        if (stream === this.#standalone || !stream.completed) this.#flushHeld();
        return body;
      }
    }
    if (this.#standalone?.attached) return "conflict";
    this.#standalone ??= this.#newStream("0");
    const body = this.#standalone.connect();
    this.#flushHeld();
    return body;
  }

  /**
   * Ends the session: answers every pending request with an error, closes
   * every stream and stops the child. Safe to call more than once.
   *
   * @param reason Why, for the error responses and the log.
   * @param data Extra error data.
   * @returns Resolves when the child has stopped.
   */
  async end(reason: string, data?: unknown): Promise<void> {
    if (this.#ended) return await this.done;
    this.#ended = true;
    const unanswered = this.#bridge.failPending(
      reason,
      data,
      (id, response) => {
        void this.#answer(idKey(id), response);
      },
    );
    this.#log.info(
      "Session {session} ended: {reason}; {pending} requests unanswered",
      {
        session: this.id,
        reason,
        pending: unanswered,
      },
    );
    for (const route of new Set(this.#routes.values())) {
      if (route.kind === "json") route.done.resolve(route.replies);
    }
    this.#routes.clear();
    for (const stream of this.#streams.values()) stream.complete();
    await this.#bridge.close(reason);
    this.#resolveDone();
  }

  /** Ends the session because the runner is stopping. */
  shutdown(): Promise<void> {
    return this.end("Runner is shutting down");
  }

  /** SIGKILLs the child's process group at once. */
  killNow(): void {
    this.#bridge.killNow();
  }

  #newStream(id = String(this.#nextStream++)): SseStream {
    const stream: SseStream = new SseStream({
      highWaterBytes: this.#options.sendBufferBytes,
      id,
      onBuffered: (delta) => this.#buffered(delta),
      onDisconnect: () =>
        this.#log.debug("Session {session}: stream {stream} disconnected", {
          session: this.id,
          stream: id,
        }),
    });
    this.#streams.set(id, stream);
    if (this.#streams.size > KEPT_STREAMS) {
      for (const [key, old] of this.#streams) {
        if (this.#streams.size <= KEPT_STREAMS) break;
        if (!old.completed) continue;
        while (old.forgetOldest() > 0) {
          // its replay bytes leave the session's count
        }
        this.#streams.delete(key);
      }
    }
    return stream;
  }

  /**
   * Keeps the session's replay buffers under {@linkcode SESSION_REPLAY_BYTES}
   * together: past events are forgotten oldest first, from completed streams
   * before open ones. Only replay is lost; live delivery is not affected.
   */
  #buffered(delta: number): void {
    this.#replayBytes += delta;
    if (delta <= 0 || this.#replayBytes <= SESSION_REPLAY_BYTES) return;
    for (const completedFirst of [true, false]) {
      for (const stream of this.#streams.values()) {
        if (stream.completed !== completedFirst) continue;
        while (
          this.#replayBytes > SESSION_REPLAY_BYTES && stream.forgetOldest() > 0
        ) {
          // forgetOldest() reports the bytes back through #buffered
        }
        if (this.#replayBytes <= SESSION_REPLAY_BYTES) return;
      }
    }
  }

  #deliver(text: string, messages: CheckedMessage[]): void | Promise<void> {
    const first = messages[0]!;
    if (first.kind === "response" && first.id !== null) {
      const key = idKey(first.id);
      if (this.#routes.has(key)) return this.#answer(key, text);
    }
    if (first.kind === "notification" && first.progressToken !== undefined) {
      const route = this.#progress.get(idKey(first.progressToken));
      if (route?.kind === "sse" && !route.stream.completed) {
        return route.stream.send(text, "message", this.#options.sendTimeoutMs);
      }
    }
    return this.#toAnyStream(text, first);
  }

  /** Sends a response to the route of its request, completing the route when done. */
  #answer(key: string, text: string): void | Promise<void> {
    const route = this.#routes.get(key);
    if (!route) return;
    this.#routes.delete(key);
    route.remaining.delete(key);
    const finished = route.remaining.size === 0;
    if (finished) {
      for (const [token, r] of this.#progress) {
        if (r === route) this.#progress.delete(token);
      }
    }
    if (route.kind === "json") {
      route.replies.push(text);
      if (finished) route.done.resolve(route.replies);
      return;
    }
    const wait = route.stream.send(
      text,
      "message",
      this.#options.sendTimeoutMs,
    );
    if (finished) {
      route.stream.complete();
      this.#active.delete(route.stream);
    }
    return wait;
  }

  #toAnyStream(text: string, message: CheckedMessage): void | Promise<void> {
    const stream = this.#pickStream();
    if (stream) {
      return stream.send(text, "message", this.#options.sendTimeoutMs);
    }
    const maxHeld = this.#options.maxHeld ?? 1000;
    this.#held.push({ text, message });
    if (this.#held.length <= maxHeld) return;
    // Full: drop the oldest notification; with none, the oldest request,
    // which the MCP server then gets an error response for.
    let index = this.#held.findIndex((m) => m.message.kind === "notification");
    if (index === -1) index = 0;
    const [dropped] = this.#held.splice(index, 1);
    this.#log.warning(
      "Session {session}: no stream open for {count} messages; dropped the oldest {kind}",
      { session: this.id, count: maxHeld, kind: dropped!.message.kind },
    );
    const id = dropped!.message.id;
    if (dropped!.message.kind === "request" && id !== null) {
      this.#bridge.forward(
        errorResponse(
          id,
          ErrorCode.ServerError,
          `Cannot deliver request: no client stream was open for ${maxHeld} messages`,
        ),
        [{ kind: "response", id, method: undefined }],
      );
    }
  }

  #pickStream(): SseStream | undefined {
    for (const stream of this.#active) {
      if (stream.attached && !stream.completed) return stream;
    }
    if (this.#standalone?.attached) return this.#standalone;
    return undefined;
  }

  #flushHeld(): void {
    while (this.#held.length > 0) {
      const stream = this.#pickStream();
      if (!stream) return;
      void stream.send(
        this.#held.shift()!.text,
        "message",
        this.#options.sendTimeoutMs,
      );
    }
  }

  #unroutable(size: number): void {
    this.#log.warning(
      "Session {session}: dropped a message of {size} bytes from the MCP server (no request to answer)",
      { session: this.id, size },
    );
  }
}
