/**
 * One Streamable HTTP session (`Mcp-Session-Id`) bridged to an MCP server
 * (its own child or a shared one), with the routing of the child's messages to SSE streams.
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

import type { Logger } from "../../observe/log.ts";
import type {
  Channel,
  ChannelTarget,
  ChildProvider,
  SessionLimits,
} from "../../session/channel.ts";
import {
  type CheckedMessage,
  ErrorCode,
  errorResponse,
  idKey,
} from "../../jsonrpc/message.ts";
import {
  type HeldMessage,
  HeldMessages,
  MAX_HELD_BYTES,
  MAX_HELD_MESSAGES,
} from "./held_messages.ts";
import type { Metrics } from "../../observe/metrics.ts";
import { sessionHandle } from "../../session/session_id.ts";
import { ClientFacts } from "../../session/client_facts.ts";
import type { SessionDetails } from "../../session/session_set.ts";
import type { SseStream } from "../sse_stream.ts";
import { StreamSet } from "./stream_set.ts";

/** Options for {@linkcode HttpSession.start}. */
export interface HttpSessionOptions extends SessionLimits {
  /** The session id (also the `Mcp-Session-Id` value). */
  id: string;
  /** Gives the session its channel to an MCP server. */
  provider: ChildProvider;
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
  /** The client's connection is gone: its answers are dropped. */
  abandoned: boolean;
}

type Route = StreamRoute | JsonRoute;

/** How a POST wants its answers. */
export type ReplyMode = "sse" | "json";

/** One Streamable HTTP session. */
export class HttpSession {
  #facts = new ClientFacts();

  /**
   * The client, protocol version and load, for `/status`.
   *
   * @returns The details.
   */
  describe(): SessionDetails {
    return this.#facts.details(this.#channel);
  }

  /** The session id (a credential: never logged). */
  readonly id: string;
  /** What stands for the session in logs (see `sessionHandle`). */
  readonly handle: string;
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
  #channel!: Channel;
  #streams: StreamSet;
  #standalone: SseStream | undefined;
  #active = new Set<SseStream>();
  #routes = new Map<string, Route>();
  #progress = new Map<string, Route>();
  #held = new HeldMessages();
  #ended = false;
  #resolveDone: () => void;

  private constructor(options: HttpSessionOptions) {
    this.id = options.id;
    this.handle = sessionHandle(options.id);
    this.principal = options.principal ?? "anonymous";
    this.#options = options;
    this.#log = options.logger;
    this.#streams = new StreamSet({
      highWaterBytes: options.sendBufferBytes,
      onDisconnect: (stream) =>
        this.#log.debug("Session {session}: stream {stream} disconnected", {
          session: this.handle,
          stream,
        }),
    });
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
    const target: ChannelTarget = {
      deliver: (text, messages) => session.#deliver(text, messages),
      unroutable: (size) => session.#unroutable(size),
      ended: (end) => void session.end(end.reason, end.data),
    };
    session.#channel = options.provider.open({
      session: session.handle,
      transport: "streamable-http",
      remote: options.remote,
      metrics: options.metrics,
      logger: options.logger,
    }, target);
    return session;
  }

  /** Whether the session has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether the MCP server has stopped reading its input (see Channel). */
  get backlogged(): boolean {
    return this.#channel.backlogged;
  }

  /**
   * Whether a client holds a stream open or awaits an answer (the session is
   * not idle).
   */
  get streaming(): boolean {
    if (this.#standalone?.attached) return true;
    for (const route of this.#routes.values()) {
      if (route.kind === "json" ? !route.abandoned : route.stream.attached) {
        return true;
      }
    }
    for (const stream of this.#active) if (stream.attached) return true;
    return false;
  }

  /**
   * Since when the session has been idle (no request awaited by a connected
   * client, no open stream), or undefined when it is not idle.
   */
  idleSince(): number | undefined {
    return this.#ended || this.streaming ? undefined : this.lastActivity;
  }

  /**
   * Forwards a POST body to the child.
   *
   * @param text The checked message or batch, one line.
   * @param messages What it contains.
   * @param mode How the client wants answers to its requests.
   * @param signal Aborts when the client's connection goes away: its
   *   requests then no longer keep the session from being idle.
   * @returns A 202 for notifications and responses; otherwise the SSE body or
   *   the JSON replies.
   */
  post(
    text: string,
    messages: CheckedMessage[],
    mode: ReplyMode,
    signal?: AbortSignal,
  ): { accepted: true } | { stream: ReadableStream<Uint8Array> } | {
    json: Promise<string[]>;
  } {
    this.lastActivity = Date.now();
    // Forwarded first: the child's answers are read in a later turn, after
    // the routes below are in place.
    if (!this.#facts.done) this.#facts.note(messages);
    const { refused } = this.#channel.forward(text, messages);
    const requests = messages.filter((m) => m.kind === "request");
    if (requests.length === 0) return { accepted: true };
    let accepted = requests;
    if (refused.length > 0) {
      const dropped = new Set(refused.map((r) => r.request));
      accepted = dropped.has(undefined) // the whole message was refused
        ? []
        : requests.filter((r) => !dropped.has(r));
    }
    const remaining = new Set(accepted.map((r) => r.key!));
    let route: Route;
    let result: { stream: ReadableStream<Uint8Array> } | {
      json: Promise<string[]>;
    };
    if (mode === "sse") {
      const stream = this.#streams.create();
      route = { kind: "sse", stream, remaining };
      this.#active.add(stream);
      result = { stream: stream.connect() };
    } else {
      const done = Promise.withResolvers<string[]>();
      const json: JsonRoute = {
        kind: "json",
        replies: [],
        remaining,
        done,
        abandoned: false,
      };
      route = json;
      result = { json: done.promise };
      signal?.addEventListener("abort", () => {
        json.abandoned = true;
        this.lastActivity = Date.now();
      }, { once: true });
    }
    for (const request of accepted) {
      this.#routes.set(request.key!, route);
      if (request.progressToken !== undefined) {
        this.#progress.set(idKey(request.progressToken), route);
      }
    }
    for (const { error } of refused) this.#reply(route, error);
    if (remaining.size === 0) this.#complete(route);
    else if (route.kind === "sse") this.#flushHeld();
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
    this.#standalone ??= this.#streams.create("0");
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
    const unanswered = this.#channel.failPending(
      reason,
      data,
      (key, response) => {
        void this.#answer(key, response);
      },
    );
    this.#log.info(
      "Session {session} ended: {reason}; {pending} requests unanswered",
      {
        session: this.handle,
        reason,
        pending: unanswered,
      },
    );
    for (const route of new Set(this.#routes.values())) {
      if (route.kind === "json") route.done.resolve(route.replies);
    }
    this.#routes.clear();
    this.#streams.completeAll();
    await this.#channel.close(reason);
    this.#resolveDone();
  }

  /** Ends the session because the runner is stopping. */
  shutdown(): Promise<void> {
    return this.end("Runner is shutting down");
  }

  /** SIGKILLs the child's process group at once. */
  killNow(): void {
    this.#channel.killNow();
  }

  #deliver(text: string, messages: CheckedMessage[]): void | Promise<void> {
    if (messages.length === 1) return this.#route(text, messages[0]!);
    // A batch line: every entry goes its own way (a batch of requests from
    // different POSTs, or answered together, is answered in parts).
    const waits: Promise<void>[] = [];
    for (const message of messages) {
      const wait = this.#route(message.text!, message);
      if (wait) waits.push(wait);
    }
    if (waits.length > 0) return Promise.all(waits).then(() => {});
  }

  #route(text: string, message: CheckedMessage): void | Promise<void> {
    if (message.kind === "response" && message.key !== undefined) {
      if (this.#routes.has(message.key)) return this.#answer(message.key, text);
    }
    if (
      message.kind === "notification" && message.progressToken !== undefined
    ) {
      const route = this.#progress.get(idKey(message.progressToken));
      if (route?.kind === "sse" && !route.stream.completed) {
        return route.stream.send(text, "message", this.#options.sendTimeoutMs);
      }
    }
    return this.#toAnyStream(text, message);
  }

  /** Sends a response to the route of its request, completing the route when done. */
  #answer(key: string, text: string): void | Promise<void> {
    const route = this.#routes.get(key);
    if (!route) return;
    this.#routes.delete(key);
    route.remaining.delete(key);
    const wait = this.#reply(route, text);
    if (route.remaining.size === 0) this.#complete(route);
    return wait;
  }

  /** One answer for a route. */
  #reply(route: Route, text: string): void | Promise<void> {
    if (route.kind === "json") {
      if (!route.abandoned) route.replies.push(text);
      return;
    }
    return route.stream.send(text, "message", this.#options.sendTimeoutMs);
  }

  /** A route with every answer sent: its stream or JSON reply ends. */
  #complete(route: Route): void {
    for (const [token, r] of this.#progress) {
      if (r === route) this.#progress.delete(token);
    }
    if (route.kind === "json") {
      route.done.resolve(route.replies);
      return;
    }
    route.stream.complete();
    this.#active.delete(route.stream);
  }

  #toAnyStream(text: string, message: CheckedMessage): void | Promise<void> {
    const stream = this.#pickStream();
    if (stream) {
      return stream.send(text, "message", this.#options.sendTimeoutMs);
    }
    for (const dropped of this.#held.push({ text, message })) {
      this.#dropped(dropped);
    }
  }

  /**
   * A held message dropped for room; a request gets an error response to
   * the MCP server, so that it never waits for an answer that cannot come.
   */
  #dropped({ message }: HeldMessage): void {
    this.#log.warning(
      "Session {session}: no stream open, {count} messages ({bytes} bytes) held; dropped the oldest {kind}",
      {
        session: this.handle,
        count: this.#held.size,
        bytes: this.#held.bytes,
        kind: message.kind,
      },
    );
    if (message.kind === "request" && message.key !== undefined) {
      this.#channel.forward(
        errorResponse(
          message.key,
          ErrorCode.ServerError,
          `Cannot deliver request: no client stream was open while more than ${MAX_HELD_MESSAGES} messages or ${MAX_HELD_BYTES} bytes waited`,
        ),
        [{
          kind: "response",
          id: message.id,
          key: message.key,
          method: undefined,
        }],
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
    while (this.#held.size > 0) {
      const stream = this.#pickStream();
      if (!stream) return;
      const { text } = this.#held.shift()!;
      void stream.send(text, "message", this.#options.sendTimeoutMs);
    }
  }

  #unroutable(size: number): void {
    this.#log.warning(
      "Session {session}: dropped a message of {size} bytes from the MCP server (no request to answer)",
      { session: this.handle, size },
    );
  }
}
