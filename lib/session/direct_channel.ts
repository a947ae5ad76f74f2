/**
 * A session's channel to a child of its own (per-session mode and the
 * pool): the session's requests are written as they are, and every line the
 * child writes is the session's.
 *
 * @module
 */

import type { ChildConnection } from "../child/connection.ts";
import {
  type CheckedMessage,
  ErrorCode,
  errorResponse,
  joinBatch,
  MAX_BATCH_ERRORS,
} from "../jsonrpc/message.ts";
import {
  ACCEPTED,
  type Channel,
  type ChannelOptions,
  type ChannelTarget,
  type ForwardResult,
  type Refusal,
} from "./channel.ts";
import { PendingRequests } from "./pending_requests.ts";
import { RequestLog } from "./request_log.ts";

/** Limits of a direct channel. */
export interface DirectLimits {
  /** Largest message either way, for the overflow error. */
  maxMessageBytes: number;
  /** Most requests awaiting a response. */
  maxInFlight: number;
}

/** A channel that owns its child. */
export class DirectChannel implements Channel {
  #connection: ChildConnection;
  #options: ChannelOptions;
  #limits: DirectLimits;
  #target: ChannelTarget;
  #pending = new PendingRequests();
  #log: RequestLog;
  #closing = false;
  #closed: Promise<void> | undefined;

  /**
   * Takes over a connection: its stdout is read into `target` from now on
   * (after `options.ready`).
   *
   * @param connection The child, not yet attached.
   * @param options The session.
   * @param limits Size and in-flight limits.
   * @param target Where the child's messages go.
   */
  constructor(
    connection: ChildConnection,
    options: ChannelOptions,
    limits: DirectLimits,
    target: ChannelTarget,
  ) {
    this.#connection = connection;
    this.#options = options;
    this.#limits = limits;
    this.#target = target;
    this.#log = new RequestLog(options);
    options.metrics?.sessionStarted(options.transport);
    const sink = {
      line: (text: string, messages: CheckedMessage[], bytes: number) =>
        this.#line(text, messages, bytes),
      overflow: (size: number, ids: string[]) => this.#overflow(size, ids),
      exited: (status: Deno.CommandStatus, how: string) => {
        if (this.#closing) return;
        target.ended({
          kind: "exited",
          reason: `MCP server exited with ${how}`,
          data: { exitCode: status.code, signal: status.signal },
        });
      },
    };
    const ready = options.ready;
    if (ready === undefined) connection.attach(sink);
    else void ready.then(() => connection.attach(sink));
  }

  /** The child's process id. */
  get pid(): number {
    return this.#connection.pid;
  }

  get queuedBytes(): number {
    return this.#connection.queuedBytes;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  get backlogged(): boolean {
    return this.#connection.backlogged;
  }

  forward(text: string, messages: CheckedMessage[]): ForwardResult {
    const gone = !this.#connection.writable || this.#closing;
    if (gone) {
      this.#options.logger.debug(
        "Session {session}: not forwarded ({count} messages): the MCP server no longer reads its input",
        { session: this.#options.session, count: messages.length },
      );
    }
    const refused = this.#refusals(messages, gone);
    if (gone) return refused;
    let line = text;
    let forwarded = messages;
    if (refused !== ACCEPTED) {
      if (refused.refused[0]?.request === undefined) return refused;
      const dropped = new Set(refused.refused.map((r) => r.request));
      forwarded = messages.filter((m) => !dropped.has(m));
      if (forwarded.length === 0) return refused;
      line = joinBatch(forwarded);
    }
    const at = performance.now();
    for (const message of forwarded) {
      if (message.kind === "request") this.#pending.add(message, at);
    }
    const bytes = this.#connection.write(line);
    this.#log.in += forwarded.length;
    this.#options.metrics?.clientToChild(
      this.#options.transport,
      forwarded.length,
      bytes,
    );
    return refused;
  }

  /** The requests of a message that must not be forwarded, with errors. */
  #refusals(messages: CheckedMessage[], gone: boolean): ForwardResult {
    let requests = 0;
    for (const message of messages) if (message.kind === "request") requests++;
    if (requests === 0) return ACCEPTED;
    const max = this.#limits.maxInFlight;
    if (
      !gone && requests === 1 && messages.length === 1 &&
      !this.#pending.has(messages[0]!.key!) && this.#pending.size < max
    ) return ACCEPTED;
    const refused: Refusal[] = [];
    const seen = new Set<string>();
    let room = max - this.#pending.size;
    for (const message of messages) {
      if (message.kind !== "request") continue;
      const key = message.key!;
      let code: number = ErrorCode.ServerError;
      let reason: string | undefined;
      if (gone) {
        reason =
          "Cannot forward request: the MCP server no longer reads its input (it closed its stdin or is exiting)";
      } else if (this.#pending.has(key) || seen.has(key)) {
        code = ErrorCode.InvalidRequest;
        reason = `Invalid Request: id ${key} is already in flight`;
      } else if (room <= 0) {
        reason =
          `Cannot forward request: ${max} requests are already waiting for the MCP server`;
      }
      seen.add(key);
      if (reason === undefined) {
        room--;
        continue;
      }
      this.#log.request(message.method!, message.name, 0, `error ${code}`);
      refused.push({
        request: message,
        error: errorResponse(key, code, reason),
      });
    }
    return summarize(refused);
  }

  failPending(
    reason: string,
    data: unknown,
    send: (key: string, response: string) => void,
  ): number {
    const message = `Cannot complete request: ${reason}`;
    const all = this.#pending.clear();
    const now = performance.now();
    for (const pending of all) {
      this.#log.request(
        pending.method,
        pending.name,
        now - pending.at,
        `error ${ErrorCode.ServerError}`,
      );
      send(
        pending.key,
        errorResponse(pending.key, ErrorCode.ServerError, message, data),
      );
    }
    return all.length;
  }

  close(reason = "closed"): Promise<void> {
    this.#closing = true;
    this.#closed ??= (async () => {
      await this.#connection.stop();
      this.#log.ended(reason);
    })();
    return this.#closed;
  }

  killNow(): void {
    this.#connection.killNow();
  }

  #line(
    text: string,
    messages: CheckedMessage[],
    bytes: number,
  ): void | Promise<void> {
    const metrics = this.#options.metrics;
    for (const message of messages) {
      if (message.kind !== "response" || message.key === undefined) continue;
      const pending = this.#pending.take(message.key);
      if (pending === undefined) continue;
      // Routed by the request's id as the client wrote it.
      message.key = pending.key;
      const ms = performance.now() - pending.at;
      metrics?.observeLatency(this.#options.transport, ms);
      this.#log.request(
        pending.method,
        pending.name,
        ms,
        message.errorCode === undefined ? "ok" : `error ${message.errorCode}`,
      );
    }
    this.#log.out += messages.length;
    metrics?.childToClient(this.#options.transport, messages.length, bytes);
    return this.#target.deliver(text, messages);
  }

  #overflow(size: number, ids: string[]): void | Promise<void> {
    let pending;
    for (const id of ids) {
      pending = this.#pending.take(id);
      if (pending !== undefined) break;
    }
    if (pending === undefined) return this.#target.unroutable(size);
    this.#log.request(
      pending.method,
      pending.name,
      performance.now() - pending.at,
      `error ${ErrorCode.ServerError}`,
    );
    return this.#target.deliver(
      overflowError(pending.key, size, this.#limits.maxMessageBytes),
      [{
        kind: "response",
        id: JSON.parse(pending.key),
        key: pending.key,
        method: undefined,
        errorCode: ErrorCode.ServerError,
      }],
    );
  }
}

/**
 * The error response for a request whose answer was over the size limit.
 *
 * @param key The request's id as written.
 * @param size The answer's size.
 * @param max The limit.
 * @returns The error response.
 */
export function overflowError(key: string, size: number, max: number): string {
  return errorResponse(
    key,
    ErrorCode.ServerError,
    `Cannot deliver response: it is ${size} bytes, over the limit of ${max} bytes (--max-message-bytes)`,
  );
}

/**
 * The refusals of one message: one error for the whole message when more
 * than `MAX_BATCH_ERRORS` requests were refused, never one per entry.
 *
 * @param refused The refused requests.
 * @returns What {@linkcode Channel.forward} returns.
 */
export function summarize(refused: Refusal[]): ForwardResult {
  if (refused.length === 0) return ACCEPTED;
  if (refused.length <= MAX_BATCH_ERRORS) return { refused };
  return {
    refused: [{
      request: undefined,
      error: errorResponse(
        null,
        ErrorCode.ServerError,
        `Cannot forward batch: ${refused.length} of its requests were refused (${
          refused[0]!.error.includes("already in flight")
            ? "ids already in flight"
            : "the MCP server cannot take them"
        }); nothing was forwarded`,
      ),
    }],
  };
}
