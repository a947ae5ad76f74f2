/**
 * The transport-neutral half of a session: one MCP server child, the client
 * requests it has not answered yet, and the loop that reads its stdout.
 * Each transport (WebSocket, Streamable HTTP, legacy SSE) supplies a
 * {@linkcode BridgeTarget} that decides where the child's messages go.
 *
 * @module
 */

import type { Logger } from "../observe/log.ts";
import { McpChild, type StopResult } from "../child/process.ts";
import {
  checkChildLine,
  type CheckedMessage,
  ErrorCode,
  errorResponse,
  idsAtEdges,
  joinBatch,
  MAX_BATCH_ERRORS,
} from "../jsonrpc/message.ts";
import { LineOverflow, LineSplitter } from "../child/line_stream.ts";
import type { Metrics } from "../observe/metrics.ts";
import { type PendingRequest, PendingRequests } from "./pending_requests.ts";
import { PipeDeadline } from "../child/pipe_deadline.ts";
import type { ChildSpec } from "../child/spec.ts";

export {
  type ChildSpec,
  childSpecOf,
  type DeliveryLimits,
} from "../child/spec.ts";

/** Where a bridge sends what the child says. */
export interface BridgeTarget {
  /**
   * One checked line from the child. Return a promise to stop reading the
   * child's stdout until it settles (backpressure).
   */
  deliver(text: string, messages: CheckedMessage[]): void | Promise<void>;
  /**
   * A child message over the size limit that answers no pending request the
   * bridge could identify. (When it does, that request gets an error
   * response through {@linkcode BridgeTarget.deliver} instead.)
   */
  unroutable(size: number): void;
  /** The child exited (and its stdout ended) while the bridge was open. */
  exited(status: Deno.CommandStatus, how: string): void;
}

/** Options for {@linkcode ChildBridge.spawn}. */
export interface ChildBridgeOptions extends ChildSpec {
  /** Session id, for logs. */
  session: string;
  /** Transport name, for metrics and the access log. */
  transport: string;
  /**
   * The client's address, for the access log.
   *
   * @default {"unknown"}
   */
  remote?: string | undefined;
  /** Where counts and latencies go. */
  metrics?: Metrics | undefined;
  /** Logger. */
  logger: Logger;
  /**
   * Resolves when the target can take messages; stdout is not read before.
   *
   * @default {Promise.resolve()}
   */
  ready?: Promise<void>;
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

/** The outcome of {@linkcode ChildBridge.forward}. */
export interface ForwardResult {
  /** Requests that were not forwarded, in order, with their errors. */
  refused: readonly Refusal[];
}

const encoder = new TextEncoder();

/** The result of a forward that refused nothing (shared: never mutated). */
const ACCEPTED: ForwardResult = Object.freeze({ refused: Object.freeze([]) });

/**
 * Describes an exit status: `code 3` or `signal SIGKILL`.
 *
 * @param status The status.
 * @returns A short description.
 */
export function describeExit(status: Deno.CommandStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

function isStrictUtf8(bytes: Uint8Array): boolean {
  try {
    strictDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** One MCP server child and the requests it owes answers to. */
export class ChildBridge {
  /** The child. */
  readonly child: McpChild;
  #options: ChildBridgeOptions;
  #target: BridgeTarget;
  #log: Logger;
  #pending = new PendingRequests();
  #startedAt = Date.now();
  #in = 0;
  #out = 0;
  #closing = false;
  #pumping: Promise<void>;
  #closed: Promise<StopResult> | undefined;
  #debug: boolean;
  #access: boolean;

  private constructor(
    child: McpChild,
    options: ChildBridgeOptions,
    target: BridgeTarget,
  ) {
    this.child = child;
    this.#options = options;
    this.#target = target;
    this.#log = options.logger;
    this.#debug = options.logger.isEnabledFor("debug");
    this.#access = options.logger.isEnabledFor("info");
    this.#pumping = this.#pump(options.ready ?? Promise.resolve());
  }

  /**
   * Spawns the child and starts reading its stdout.
   *
   * @param options Program, limits and logger.
   * @param target Where messages go.
   * @returns The bridge.
   * @throws {Error} If the child cannot be spawned.
   */
  static spawn(options: ChildBridgeOptions, target: BridgeTarget): ChildBridge {
    let child: McpChild;
    // The child reports a failed write to the bridge made just below.
    const made: { bridge?: ChildBridge } = {};
    const stopOnWriteError = (error: unknown) => {
      if (made.bridge !== undefined) made.bridge.#writeFailed(error);
    };
    try {
      child = McpChild.spawn(options.program, {
        args: options.args,
        env: options.env,
        logger: options.logger,
        session: options.session,
        guard: options.guard,
        onWriteError: stopOnWriteError,
      });
    } catch (error) {
      options.metrics?.childSpawned("failed");
      options.logger.error(
        "Session {session}: cannot start {program}: {error}",
        {
          session: options.session,
          program: options.program,
          error: String(error),
        },
      );
      throw error;
    }
    options.metrics?.childSpawned("ok");
    options.metrics?.sessionStarted(options.transport);
    options.logger.info("Session {session} started {program} (pid {pid})", {
      session: options.session,
      program: options.program,
      pid: child.pid,
    });
    made.bridge = new ChildBridge(child, options, target);
    return made.bridge;
  }

  /** Bytes written to the child's stdin and not read by it yet. */
  get queuedBytes(): number {
    return this.child.queuedBytes;
  }

  /** How many requests wait for the MCP server's answer. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Whether the child has stopped reading: more than
   * `2 × maxMessageBytes + 1 MiB` written to its stdin and not read yet.
   * Transports refuse new messages (or the client) until it catches up, so
   * that memory stays bounded.
   */
  get backlogged(): boolean {
    return this.child.queuedBytes >
      2 * this.#options.maxMessageBytes + 1024 * 1024;
  }

  /**
   * Writes a checked client message (or batch) to the child and remembers
   * its requests. A request is refused instead, with an error response, when
   * the child no longer takes input, when its id is already in flight in
   * this session (-32600), or when it would exceed `maxInFlight` (-32000).
   * The rest of a batch is forwarded.
   *
   * @param text The message, one line.
   * @param messages What it contains (batch entries with their `text`).
   * @returns The refused requests with their errors, in order.
   */
  forward(text: string, messages: CheckedMessage[]): ForwardResult {
    if (!this.child.writable || this.#closing) {
      this.#log.debug(
        "Session {session}: not forwarded ({count} messages): the MCP server no longer reads its input",
        { session: this.#options.session, count: messages.length },
      );
    }
    const refused = this.#refusals(messages);
    let line = text;
    let forwarded = messages;
    if (!this.child.writable || this.#closing) return refused;
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
    const bytes = encoder.encode(line + "\n");
    this.#in += forwarded.length;
    this.#options.metrics?.clientToChild(
      this.#options.transport,
      forwarded.length,
      bytes.length,
    );
    if (this.#debug) {
      this.#log.debug("Session {session} <- {message}", {
        session: this.#options.session,
        message: line,
      });
    }
    // The promise is handled inside McpChild; a failed write reaches
    // #writeFailed, which stops the child, and its exit answers the requests.
    void this.child.write(bytes);
    return refused;
  }

  /** The requests of a message that must not be forwarded, with errors. */
  #refusals(messages: CheckedMessage[]): ForwardResult {
    const gone = !this.child.writable || this.#closing;
    let requests = 0;
    for (const message of messages) if (message.kind === "request") requests++;
    if (requests === 0) return ACCEPTED;
    if (
      !gone && requests === 1 && messages.length === 1 &&
      !this.#pending.has(messages[0]!.key!) &&
      this.#pending.size < this.#options.maxInFlight
    ) return ACCEPTED;
    const refused: Refusal[] = [];
    const seen = new Set<string>();
    let room = this.#options.maxInFlight - this.#pending.size;
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
          `Cannot forward request: ${this.#options.maxInFlight} requests are already waiting for the MCP server`;
      }
      seen.add(key);
      if (reason === undefined) {
        room--;
        continue;
      }
      this.#logRequest(message.method!, message.name, 0, `error ${code}`);
      refused.push({
        request: message,
        error: errorResponse(key, code, reason),
      });
    }
    if (refused.length === 0) return ACCEPTED;
    if (refused.length > MAX_BATCH_ERRORS) {
      // One error for the message, never one per entry.
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
    return { refused };
  }

  /**
   * Forgets every pending request and hands each its error response, so that
   * nothing the client sent goes unanswered when the session ends.
   *
   * @param reason Why, after "Cannot complete request: ".
   * @param data Extra error data.
   * @param send Delivers one error response for the request whose id is
   *   written `key`.
   * @returns How many requests were answered.
   */
  failPending(
    reason: string,
    data: unknown,
    send: (key: string, response: string) => void,
  ): number {
    const message = `Cannot complete request: ${reason}`;
    const all = this.#pending.clear();
    const now = performance.now();
    for (const pending of all) {
      this.#logRequest(
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

  /**
   * Stops the child (stdin EOF, SIGTERM, SIGKILL) and waits until its stdout
   * and stderr are read to the end, or abandoned after the grace period when
   * a process outside the child's group holds them. Safe to call more than
   * once.
   *
   * @returns How the child ended.
   */
  close(reason = "closed"): Promise<StopResult> {
    this.#closing = true;
    this.#closed ??= (async () => {
      const result = await this.child.stop(this.#options.shutdownGraceMs);
      this.#options.metrics?.childExited(result.status);
      this.#log.info(
        "Access: session={session} transport={transport} remote={remote} duration_ms={duration} messages_in={in} messages_out={out} ended={reason}",
        {
          session: this.#options.session,
          transport: this.#options.transport,
          remote: this.#options.remote ?? "unknown",
          duration: Date.now() - this.#startedAt,
          in: this.#in,
          out: this.#out,
          reason,
        },
      );
      this.#log.info(
        "Session {session}: MCP server stopped ({how}, after {stage})",
        {
          session: this.#options.session,
          how: describeExit(result.status),
          stage: result.stage,
        },
      );
      await this.child.stderrDone;
      await this.#pumping;
      return result;
    })();
    return this.#closed;
  }

  /** SIGKILLs the child's process group at once. */
  killNow(): void {
    this.child.killNow();
  }

  /** A write to the child failed: it takes no more input, so it is stopped. */
  #writeFailed(error: unknown): void {
    if (this.#closing) return;
    this.#log.warning(
      "Session {session}: cannot write to the MCP server ({error}): stopping it",
      { session: this.#options.session, error: String(error) },
    );
    void this.child.stop(this.#options.shutdownGraceMs);
  }

  /** One access line per request: what, how long, and how it ended. */
  #logRequest(
    method: string,
    name: string | undefined,
    ms: number,
    outcome: string,
  ): void {
    if (!this.#access) return;
    this.#log.info(
      "Request: session={session} transport={transport} method={method} name={name} duration_ms={duration} outcome={outcome}",
      {
        session: this.#options.session,
        transport: this.#options.transport,
        method,
        name: name ?? "",
        duration: Math.round(ms * 1000) / 1000,
        outcome,
      },
    );
  }

  async #pump(ready: Promise<void>): Promise<void> {
    const child = this.child;
    const session = this.#options.session;
    const grace = this.#options.shutdownGraceMs;
    const decoder = new TextDecoder();
    // Stdout is split here rather than through a TransformStream: one read
    // per chunk, and every line of that chunk handled in turn.
    const splitter = new LineSplitter({
      maxLineBytes: this.#options.maxMessageBytes,
    });
    const lines: (Uint8Array | LineOverflow)[] = [];
    const collect = (line: Uint8Array | LineOverflow) => lines.push(line);
    const reader = child.stdout.getReader();
    const pipes = new PipeDeadline(reader);
    // A leader that exits while a grandchild keeps stdout open would hide
    // the exit: stop what is left of the group so that stdout ends, and if a
    // process outside the group still holds it, stop reading it after the
    // grace period.
    child.status.then(() => child.stop(grace)).then(() => {
      pipes.arm(grace, () =>
        this.#log.warning(
          "Session {session}: MCP server exited, but a process outside its process group still holds its stdout: no longer reading it",
          { session },
        ));
    });
    await ready;
    try {
      while (true) {
        const { value, done } = await pipes.read();
        if (done) splitter.end(collect);
        else splitter.push(value, collect);
        for (const line of lines) {
          if (this.#closing) break; // keep draining so the child never blocks
          const wait = this.#handleLine(line, decoder);
          if (wait) await wait;
        }
        lines.length = 0;
        if (done) break;
      }
    } catch (error) {
      this.#log.warning(
        "Session {session}: cannot read the MCP server's stdout: {error}",
        {
          session,
          error: String(error),
        },
      );
    } finally {
      pipes.disarm();
      reader.releaseLock();
    }
    if (this.#closing) return;
    const { status } = await child.stop(grace);
    if (this.#closing) return;
    const how = describeExit(status);
    this.#log.warning("Session {session}: MCP server exited with {how}", {
      session,
      how,
    });
    this.#target.exited(status, how);
  }

  /** Checks one stdout line and hands it to the target. */
  #handleLine(
    value: Uint8Array | LineOverflow,
    decoder: TextDecoder,
  ): void | Promise<void> {
    const session = this.#options.session;
    if (value instanceof LineOverflow) return this.#onOverflow(value, decoder);
    // The lenient decoder is the fast one; only a line that came out with
    // U+FFFD in it (rare) is checked again, strictly: MCP messages are UTF-8,
    // and a line that is not is dropped, never repaired.
    const text = decoder.decode(value);
    if (text.includes("\uFFFD") && !isStrictUtf8(value)) {
      this.#log.warning(
        "Session {session}: dropped a stdout line of {size} bytes that is not valid UTF-8",
        {
          session,
          size: value.length,
        },
      );
      return;
    }
    const messages = checkChildLine(text);
    if (messages === undefined) {
      this.#log.warning(
        "Session {session}: dropped a stdout line of {size} bytes that is not JSON-RPC",
        {
          session,
          size: value.length,
        },
      );
      this.#log.debug("Session {session}: dropped line: {line}", {
        session,
        line: text,
      });
      return;
    }
    const metrics = this.#options.metrics;
    for (const message of messages) {
      if (message.kind !== "response" || message.key === undefined) continue;
      const pending = this.#pending.take(message.key);
      if (pending === undefined) continue;
      // Routed by the request's id as the client wrote it.
      message.key = pending.key;
      const ms = performance.now() - pending.at;
      metrics?.observeLatency(this.#options.transport, ms);
      this.#logRequest(
        pending.method,
        pending.name,
        ms,
        message.errorCode === undefined ? "ok" : `error ${message.errorCode}`,
      );
    }
    this.#out += messages.length;
    metrics?.childToClient(
      this.#options.transport,
      messages.length,
      value.length,
    );
    if (this.#debug) {
      this.#log.debug("Session {session} -> {message}", {
        session,
        message: text,
      });
    }
    return this.#target.deliver(text, messages);
  }

  #onOverflow(
    overflow: LineOverflow,
    decoder: TextDecoder,
  ): void | Promise<void> {
    const max = this.#options.maxMessageBytes;
    this.#log.warning(
      "Session {session}: MCP server wrote a message of {size} bytes, over the limit of {max}",
      {
        session: this.#options.session,
        size: overflow.size,
        max,
      },
    );
    const candidates = idsAtEdges(
      decoder.decode(overflow.head),
      decoder.decode(overflow.tail),
    );
    let pending: PendingRequest | undefined;
    for (const candidate of candidates) {
      pending = this.#pending.take(candidate);
      if (pending !== undefined) break;
    }
    if (pending === undefined) return this.#target.unroutable(overflow.size);
    // The request is answered with an error, routed like any response.
    this.#logRequest(
      pending.method,
      pending.name,
      performance.now() - pending.at,
      `error ${ErrorCode.ServerError}`,
    );
    const response = errorResponse(
      pending.key,
      ErrorCode.ServerError,
      `Cannot deliver response: it is ${overflow.size} bytes, over the limit of ${max} bytes (--max-message-bytes)`,
    );
    return this.#target.deliver(response, [{
      kind: "response",
      id: JSON.parse(pending.key),
      key: pending.key,
      method: undefined,
      errorCode: ErrorCode.ServerError,
    }]);
  }
}
