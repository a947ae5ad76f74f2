/**
 * What a transport session holds instead of a child: a channel to an MCP
 * server, from a {@linkcode ChildProvider}. The session does not know
 * whether the child behind it is its own (per-session mode, the pool) or
 * shared with every other session.
 *
 * @module
 */

import type { CheckedMessage } from "../jsonrpc/message.ts";
import type { Logger } from "../observe/log.ts";
import type { Metrics } from "../observe/metrics.ts";

/** The bounds every transport session applies, whatever its provider. */
export interface SessionLimits {
  /** Largest message either way, in bytes. */
  maxMessageBytes: number;
  /** Wait at each stop stage of a child, and for a close handshake. */
  shutdownGraceMs: number;
  /** How long a client may leave its queue full before it is dropped. */
  sendTimeoutMs: number;
  /** Bytes queued for a client above which delivery waits. */
  sendBufferBytes: number;
}

/** Where a channel sends what the MCP server says to this session. */
export interface ChannelTarget {
  /**
   * One message (or batch line) for the client. Return a promise to hold
   * back the next until it settles (backpressure).
   */
  deliver(text: string, messages: CheckedMessage[]): void | Promise<void>;
  /**
   * A message over the size limit that answers no request the channel could
   * identify (when it does, that request gets an error response instead).
   */
  unroutable(size: number): void;
  /**
   * The session must end: its child exited (`exited`), the shared child
   * came back as a different server (`restart`), or the session could not
   * keep up (`overloaded`). Pending requests are answered by the session
   * through {@linkcode Channel.failPending}.
   */
  ended(end: ChannelEnd): void;
}

/** Why a channel ends its session. */
export interface ChannelEnd {
  /** `exited`: WebSocket 1011; `restart`: 1012; `overloaded`: 1008. */
  kind: "exited" | "restart" | "overloaded";
  /** For the client and the log: `MCP server exited with code 3`. */
  reason: string;
  /** Error data for the requests left unanswered. */
  data?: unknown;
}

/** Who a channel is for. */
export interface ChannelOptions {
  /** The session's handle, for logs. */
  session: string;
  /** Transport name, for metrics and the access log. */
  transport: string;
  /**
   * The client's address, for the access log.
   *
   * @default {"unknown"}
   */
  remote?: string | undefined;
  /** Logger. */
  logger: Logger;
  /** Where counts and latencies go. */
  metrics?: Metrics | undefined;
  /**
   * Resolves when the target can take messages; nothing is delivered
   * before.
   *
   * @default {Promise.resolve()}
   */
  ready?: Promise<void>;
  /**
   * For one request of a 2026-07-28 client (no session): the least severe
   * log level it asked for (`_meta` logLevel), or null for no log messages.
   * Undefined for a session.
   */
  requestLogLevel?: string | null;
}

/** A request that was not forwarded, and its error response. */
export interface Refusal {
  /**
   * The request; undefined when the whole message was refused with one
   * error (more than `MAX_BATCH_ERRORS` requests of a batch refused).
   */
  request: CheckedMessage | undefined;
  /** The error response to send back. */
  error: string;
}

/** The outcome of {@linkcode Channel.forward}. */
export interface ForwardResult {
  /** Requests that were not forwarded, in order, with their errors. */
  refused: readonly Refusal[];
}

/** The result of a forward that refused nothing (shared: never mutated). */
export const ACCEPTED: ForwardResult = Object.freeze({
  refused: Object.freeze([]) as readonly Refusal[],
});

/** One session's way to its MCP server. */
export interface Channel {
  /**
   * Sends a checked client message (or batch) on, and remembers its
   * requests. Requests that cannot be sent are returned with their error
   * responses; the rest of a batch goes on.
   */
  forward(text: string, messages: CheckedMessage[]): ForwardResult;
  /**
   * Forgets every pending request and hands each its error response.
   *
   * @param reason Why, after "Cannot complete request: ".
   * @param data Extra error data.
   * @param send Delivers one error response for the request with id `key`.
   * @returns How many requests were answered.
   */
  failPending(
    reason: string,
    data: unknown,
    send: (key: string, response: string) => void,
  ): number;
  /** Whether the MCP server stopped reading: refuse the client until it does. */
  readonly backlogged: boolean;
  /** Bytes written towards the MCP server and not read by it yet. */
  readonly queuedBytes: number;
  /** Requests waiting for an answer. */
  readonly inFlight: number;
  /**
   * Ends the channel: a private child is stopped; a shared one is told to
   * cancel this session's requests. Safe to call more than once.
   *
   * @param reason For the access log.
   */
  close(reason?: string): Promise<void>;
  /** SIGKILLs a private child at once (a shared child is left alone). */
  killNow(): void;
}

/** Whether a provider can take a new session now. */
export type Availability =
  | { ok: true }
  | { ok: false; reason: string; retryAfterSeconds: number };

/**
 * Gives sessions their channels: a new child each (`per-session`), a child
 * started ahead (`pool`), or one child for all (`shared`).
 */
export interface ChildProvider extends AsyncDisposable {
  // Disposing stops what the provider holds itself (a shared child); it is
  // called once every session has ended.
  /** `per-session`, `pool` or `shared`, for logs and /status. */
  readonly mode: string;
  /**
   * Opens a channel for a new session.
   *
   * @throws {Error} When no child can be started ("Cannot start …").
   */
  open(options: ChannelOptions, target: ChannelTarget): Channel;
  /** Whether a new session can be served now (`/readyz`, 503s). */
  availability(): Availability;
  /**
   * Waits until a new session can be served, at most as long as the
   * provider allows (`--shared-restart-wait-ms`).
   *
   * @returns The availability at the end of the wait.
   */
  whenAvailable(): Promise<Availability>;
  /** Starts what must run before the first session (eager child, pool). */
  start(): void;
  /**
   * Stops the children no session uses (the pool's) and starts no more:
   * the first step of shutdown.
   */
  stopIdle(): Promise<void>;
  /** SIGKILLs every child the provider holds itself (second signal). */
  killNow(): void;
}
