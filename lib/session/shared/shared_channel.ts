/**
 * One session's channel to a shared child: its requests keep their ids in
 * the session while they travel with upstream ids; `initialize` is answered
 * from the runner's own handshake; subscriptions and log levels are shared
 * through the multiplexer. What the child sends the session waits in the
 * session's own bounded queue, so a slow client never holds the child up.
 *
 * @module
 */

import {
  type CheckedMessage,
  ErrorCode,
  errorResponse,
} from "../../jsonrpc/message.ts";
import {
  ACCEPTED,
  type Channel,
  type ChannelEnd,
  type ChannelOptions,
  type ChannelTarget,
  type ForwardResult,
  type Refusal,
} from "../channel.ts";
import { summarize } from "../direct_channel.ts";
import { RequestLog } from "../request_log.ts";
import { DeliveryQueue } from "./delivery_queue.ts";
import { levelRank } from "./levels.ts";
import { taskRule } from "./tasks.ts";
import type { Downstream, Multiplexer } from "./multiplexer.ts";

/** What a shared channel needs from the shared child. */
export interface SharedHost {
  /** `ready`, `starting` (or restarting), `failed`, `stopped`. */
  readonly state: string;
  /** Why the child is not ready, for errors. */
  readonly notReadyReason: string;
  /**
   * The cached initialize result text, once the child is ready (waits a
   * bounded time), or an error message.
   */
  initializeResult(): Promise<{ result: string } | { error: string }>;
  /** The child's capabilities, from the runner's handshake. */
  readonly capabilities: Record<string, unknown>;
  /** Whether the child stopped reading its stdin. */
  readonly backlogged: boolean;
  /** Bytes waiting in the child's stdin. */
  readonly queuedBytes: number;
}

/** Limits of a shared channel. */
export interface SharedChannelLimits {
  /** Requests in flight for this session. */
  maxInFlight: number;
  /** Requests in flight on the child, all sessions together. */
  maxChildInFlight: number;
  /** The session's queue may hold 4 × this; beyond, it is ended. */
  sendBufferBytes: number;
}

interface Entry {
  method: string;
  name: string | undefined;
  at: number;
  upstream?: string;
  onAnswer?: (message: CheckedMessage) => void;
  /** Rewrites the child's answer before the client gets it. */
  transform?: (text: string) => string;
  batch?: Batch;
}

interface Batch {
  remaining: number;
  texts: string[];
  messages: CheckedMessage[];
}

const QUEUE_FACTOR = 4;

/** A session of a shared child. */
export class SharedChannel implements Channel, Downstream {
  readonly label: string;
  readonly upstream: Set<string> = new Set();
  clientCapabilities: Record<string, unknown> = {};
  readonly requestScoped: boolean;
  readonly logRank: number | undefined;
  /** Set by a 2026-07-28 call while it runs alone (see `Downstream`). */
  interactiveRunning = false;
  #mux: Multiplexer;
  #host: SharedHost;
  #options: ChannelOptions;
  #limits: SharedChannelLimits;
  #target: ChannelTarget;
  #log: RequestLog;
  #entries = new Map<string, Entry>();
  /** The upstream id of one of the session's requests (for cancellations). */
  #upstreamOf = (key: string): string | undefined =>
    this.#entries.get(key)?.upstream;
  #initialized = false;
  #closing = false;
  #queue: DeliveryQueue;

  /**
   * @param mux The shared child's routing tables.
   * @param host The shared child.
   * @param options The session.
   * @param limits In-flight and queue limits.
   * @param target Where the session's messages go.
   */
  constructor(
    mux: Multiplexer,
    host: SharedHost,
    options: ChannelOptions,
    limits: SharedChannelLimits,
    target: ChannelTarget,
  ) {
    this.label = `Session ${options.session}`;
    const level = options.requestLogLevel;
    this.requestScoped = level !== undefined;
    this.logRank = typeof level === "string" ? levelRank(level) : undefined;

    this.#mux = mux;
    this.#host = host;
    this.#options = options;
    this.#limits = limits;
    this.#target = target;
    this.#log = new RequestLog(options);
    if (!this.requestScoped) options.metrics?.sessionStarted(options.transport);
    mux.add(this);
    if (
      this.logRank !== undefined && this.logRank >= 0 &&
      "logging" in host.capabilities
    ) {
      // The child runs at the most verbose level any request or session
      // asked for.
      mux.setLevel(this, this.logRank, () => {});
    }
    this.#queue = new DeliveryQueue(
      {
        deliver: (text, messages) => target.deliver(text, messages),
        overflowed: (max) =>
          target.ended({
            kind: "overloaded",
            reason:
              `Client is not reading: more than ${max} bytes from the shared MCP server wait for it`,
          }),
      },
      QUEUE_FACTOR * limits.sendBufferBytes,
      options.ready ?? Promise.resolve(),
    );
  }

  get backlogged(): boolean {
    return this.#host.backlogged;
  }

  get queuedBytes(): number {
    return this.#host.queuedBytes;
  }

  get inFlight(): number {
    return this.#entries.size;
  }

  forward(text: string, messages: CheckedMessage[]): ForwardResult {
    // A single message (the common case) allocates nothing extra.
    let refused: Refusal[] | undefined;
    const batch: Batch | undefined = messages.length > 1
      ? { remaining: 0, texts: [], messages: [] }
      : undefined;
    const seen = batch === undefined ? undefined : new Set<string>();
    for (const message of messages) {
      const entryText = messages.length === 1 ? text : message.text!;
      if (message.kind === "request") {
        const error = this.#request(message, entryText, seen, batch);
        if (error !== undefined) {
          this.#log.request(message.method!, message.name, 0, "refused");
          (refused ??= []).push({ request: message, error });
        }
      } else if (message.kind === "notification") {
        this.#log.in++;
        this.#mux.notification(message, entryText, this.#upstreamOf);
      } else {
        this.#log.in++;
        this.#mux.response(message, entryText);
      }
    }
    return refused === undefined ? ACCEPTED : summarize(refused);
  }

  #request(
    message: CheckedMessage,
    text: string,
    seen: Set<string> | undefined,
    batch: Batch | undefined,
  ): string | undefined {
    const key = message.key!;
    const method = message.method!;
    if (this.#entries.has(key) || seen?.has(key)) {
      return errorResponse(
        key,
        ErrorCode.InvalidRequest,
        `Invalid Request: id ${key} is already in flight`,
      );
    }
    seen?.add(key);
    const busy = this.#busyError(key, method);
    if (busy !== undefined) return busy;
    const entry: Entry = { method, name: message.name, at: performance.now() };
    if (batch !== undefined) {
      entry.batch = batch;
      batch.remaining++;
    }
    this.#entries.set(key, entry);
    this.#log.in++;
    const params = (message.params ?? {}) as Record<string, unknown>;
    if (method === "initialize") return this.#initialize(key, params);
    if (method === "logging/setLevel" && "logging" in this.#host.capabilities) {
      const rank = levelRank(params.level);
      if (rank < 0) {
        this.#entries.delete(key);
        if (batch !== undefined) batch.remaining--;
        return errorResponse(
          key,
          ErrorCode.InvalidParams,
          `Invalid params: level must be one of debug, info, notice, warning, error, critical, alert, emergency`,
        );
      }
      this.#mux.setLevel(this, rank, () => this.#answerLocal(key, "{}"));
      return undefined;
    }
    const uri = typeof params.uri === "string" ? params.uri : undefined;
    if (method === "resources/subscribe" && uri !== undefined) {
      this.#subscribe(key, message, text, uri);
      return undefined;
    }
    if (method === "resources/unsubscribe" && uri !== undefined) {
      const subscribers = this.#mux.subs.of(uri);
      if (subscribers?.has(this) && subscribers.size === 1) {
        this.#mux.subs.delete(uri, this);
        entry.upstream = this.#mux.request(this, message, text);
      } else {
        this.#mux.subs.delete(uri, this);
        this.#answerLocal(key, "{}");
      }
      return undefined;
    }
    if (method.startsWith("tasks/") || "task" in params) {
      const rule = taskRule(this, key, method, params, this.#mux.tasks);
      if (rule.transform !== undefined) entry.transform = rule.transform;
      const refusal = rule.refusal;
      if (refusal !== undefined) {
        this.#entries.delete(key);
        if (batch !== undefined) batch.remaining--;
        return refusal;
      }
    }
    entry.upstream = this.#mux.request(this, message, text);
    return undefined;
  }

  /** The error for a request the child cannot take now, if any. */
  #busyError(key: string, method: string): string | undefined {
    let reason: string | undefined;
    if (this.#closing) reason = "Cannot forward request: the session is ending";
    else if (this.#entries.size >= this.#limits.maxInFlight) {
      reason =
        `Cannot forward request: ${this.#limits.maxInFlight} requests are already waiting for the MCP server`;
    } else if (method === "initialize") {
      if (!this.#initialized) return undefined;
      return errorResponse(
        key,
        ErrorCode.InvalidRequest,
        "Invalid Request: the session is already initialized",
      );
    } else if (this.#host.state !== "ready") {
      reason = `Cannot forward request: ${this.#host.notReadyReason}`;
    } else if (this.#mux.pending >= this.#limits.maxChildInFlight) {
      reason =
        `Cannot forward request: the shared MCP server has ${this.#limits.maxChildInFlight} requests in flight (--shared-max-in-flight)`;
    }
    return reason === undefined
      ? undefined
      : errorResponse(key, ErrorCode.ServerError, reason);
  }

  #initialize(key: string, params: Record<string, unknown>): undefined {
    this.#initialized = true;
    const capabilities = params.capabilities;
    if (typeof capabilities === "object" && capabilities !== null) {
      this.clientCapabilities = capabilities as Record<string, unknown>;
    }
    void this.#host.initializeResult().then((outcome) => {
      if ("result" in outcome) return this.#answerLocal(key, outcome.result);
      const entry = this.#entries.get(key);
      if (entry === undefined) return;
      this.#initialized = false;
      this.#deliverAnswer(
        key,
        entry,
        errorResponse(key, ErrorCode.ServerError, outcome.error),
        ErrorCode.ServerError,
      );
    }).catch((error) => this.#failed("answer initialize", error));
    return undefined;
  }

  /** A callback that threw: logged, never an unhandled rejection. */
  #failed(what: string, error: unknown): void {
    this.#options.logger.error("{session}: cannot {what}: {error}", {
      session: this.label,
      what,
      error: String(error),
    });
  }

  /** First subscriber: forwarded, recorded on success; later ones: local. */
  #subscribe(
    key: string,
    message: CheckedMessage,
    text: string,
    uri: string,
  ): void {
    const entry = this.#entries.get(key)!;
    const subscribers = this.#mux.subs.of(uri);
    if (subscribers !== undefined && subscribers.size > 0) {
      this.#mux.subs.add(uri, this);
      this.#answerLocal(key, "{}");
      return;
    }
    const lock = this.#mux.subs.pending.get(uri);
    if (lock !== undefined) {
      // A first subscribe of this URI is on its way: wait for its outcome.
      void lock.then(() => {
        if (this.#entries.get(key) !== entry || this.#closing) return;
        this.#subscribe(key, message, text, uri);
      }).catch((error) => this.#failed("subscribe", error));
      return;
    }
    const done = Promise.withResolvers<void>();
    this.#mux.subs.pending.set(uri, done.promise);
    entry.onAnswer = (answer) => {
      if (answer.errorCode === undefined && !this.#closing) {
        this.#mux.subs.add(uri, this);
      }
      this.#mux.subs.pending.delete(uri);
      done.resolve();
    };
    entry.upstream = this.#mux.request(this, message, text);
  }

  #answerLocal(key: string, result: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#deliverAnswer(
      key,
      entry,
      `{"jsonrpc":"2.0","id":${key},"result":${result}}`,
      undefined,
    );
  }

  answer(key: string, text: string, message: CheckedMessage): void {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.upstream === undefined) return;
    entry.onAnswer?.(message);
    if (message.errorCode === undefined && entry.transform !== undefined) {
      text = entry.transform(text);
    }
    this.#deliverAnswer(key, entry, text, message.errorCode);
  }

  fail(key: string, text: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    entry.onAnswer?.({
      kind: "response",
      id: null,
      method: undefined,
      errorCode: ErrorCode.ServerError,
    });
    this.#deliverAnswer(key, entry, text, ErrorCode.ServerError);
  }

  #deliverAnswer(
    key: string,
    entry: Entry,
    text: string,
    errorCode: number | undefined,
  ): void {
    this.#entries.delete(key);
    const ms = performance.now() - entry.at;
    this.#options.metrics?.observeLatency(this.#options.transport, ms);
    this.#log.request(
      entry.method,
      entry.name,
      ms,
      errorCode === undefined ? "ok" : `error ${errorCode}`,
    );
    const message: CheckedMessage = {
      kind: "response",
      id: null,
      key,
      method: undefined,
    };
    if (errorCode !== undefined) message.errorCode = errorCode;
    const batch = entry.batch;
    if (batch === undefined) return this.push(text, message);
    // A batch is answered with one array, in the order the answers came.
    message.text = text;
    batch.texts.push(text);
    batch.messages.push(message);
    if (--batch.remaining > 0) return;
    this.#enqueue(`[${batch.texts.join(",")}]`, batch.messages);
  }

  push(text: string, message: CheckedMessage): void {
    this.#enqueue(text, [message]);
  }

  #enqueue(text: string, messages: CheckedMessage[]): void {
    this.#log.out += messages.length;
    this.#options.metrics?.childToClient(
      this.#options.transport,
      messages.length,
      text.length,
    );
    this.#queue.push(text, messages);
  }

  failPending(
    reason: string,
    data: unknown,
    send: (key: string, response: string) => void,
  ): number {
    const message = `Cannot complete request: ${reason}`;
    const now = performance.now();
    const count = this.#entries.size;
    for (const [key, entry] of this.#entries) {
      entry.onAnswer?.({
        kind: "response",
        id: null,
        method: undefined,
        errorCode: ErrorCode.ServerError,
      });
      this.#log.request(
        entry.method,
        entry.name,
        now - entry.at,
        `error ${ErrorCode.ServerError}`,
      );
      send(key, errorResponse(key, ErrorCode.ServerError, message, data));
    }
    this.#entries.clear();
    return count;
  }

  close(reason = "closed"): Promise<void> {
    if (this.#closing) return Promise.resolve();
    this.#closing = true;
    this.#queue.close();
    this.#mux.remove(this);
    if (!this.requestScoped) this.#log.ended(reason);
    return Promise.resolve();
  }

  killNow(): void {}

  /** Ends the session from the child's side (restart, end-sessions). */
  end(end: ChannelEnd): void {
    if (!this.#closing) this.#target.ended(end);
  }
}
