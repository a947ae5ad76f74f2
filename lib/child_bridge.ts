/**
 * The transport-neutral half of a session: one MCP server child, the client
 * requests it has not answered yet, and the loop that reads its stdout.
 * Each transport (WebSocket, Streamable HTTP, legacy SSE) supplies a
 * {@linkcode BridgeTarget} that decides where the child's messages go.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import { McpChild, type StopResult } from "./child.ts";
import {
  checkChildLine,
  type CheckedMessage,
  ErrorCode,
  errorResponse,
  idKey,
  idsAtEdges,
  type JsonRpcId,
} from "./jsonrpc.ts";
import { LineOverflow, LineSplitter } from "./line_stream.ts";
import type { Metrics } from "./metrics.ts";
import type { OrphanGuard } from "./orphan_guard.ts";

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

/** The MCP server to start for a session, and the bounds on its traffic. */
export interface ChildSpec {
  /** The MCP server's executable. */
  program: string;
  /** Its arguments, passed literally. */
  args: string[];
  /** Its complete environment. */
  env: Record<string, string>;
  /** Largest message in either direction, in bytes. */
  maxMessageBytes: number;
  /** Most requests awaiting a response per session. */
  maxInFlight: number;
  /** Wait at each stop stage of the child. */
  shutdownGraceMs: number;
  /** Kills the child's process group if the runner dies without stopping it. */
  guard?: OrphanGuard | undefined;
}

/**
 * Just the {@linkcode ChildSpec} fields of a larger options object, to hand
 * on to the next layer.
 *
 * @param options Any options that include a child spec.
 * @returns The child spec alone.
 */
export function childSpecOf(options: ChildSpec): ChildSpec {
  const {
    program,
    args,
    env,
    maxMessageBytes,
    maxInFlight,
    shutdownGraceMs,
    guard,
  } = options;
  return {
    program,
    args,
    env,
    maxMessageBytes,
    maxInFlight,
    shutdownGraceMs,
    guard,
  };
}

/** Bounds on the way from the child to a slow client. */
export interface DeliveryLimits {
  /** How long a client may leave its queue full before it is dropped. */
  sendTimeoutMs: number;
  /** Bytes queued for a client above which the child's output pauses. */
  sendBufferBytes: number;
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

/** The outcome of {@linkcode ChildBridge.forward}. */
export interface ForwardResult {
  /** Error responses for requests that were refused (too many in flight). */
  refused: string[];
}

const encoder = new TextEncoder();

/** The result of a forward that refused nothing (shared: never mutated). */
const ACCEPTED: ForwardResult = Object.freeze({
  refused: Object.freeze([]) as unknown as string[],
});

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
  #pending = new Map<string, { id: JsonRpcId; at: number }>();
  #startedAt = Date.now();
  #in = 0;
  #out = 0;
  #closing = false;
  #pumping: Promise<void>;
  #closed: Promise<StopResult> | undefined;
  #debug: boolean;

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
    try {
      child = ChildBridge.#spawnChild(options);
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
    return new ChildBridge(child, options, target);
  }

  static #spawnChild(options: ChildBridgeOptions): McpChild {
    return McpChild.spawn(options.program, {
      args: options.args,
      env: options.env,
      logger: options.logger,
      session: options.session,
      guard: options.guard,
    });
  }

  /** Bytes written to the child's stdin and not read by it yet. */
  get queuedBytes(): number {
    return this.child.queuedBytes;
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
   * its requests. When the requests would exceed `maxInFlight`, nothing is
   * written and each request gets an error response instead.
   *
   * @param text The message, one line.
   * @param messages What it contains.
   * @returns Refusals to send back to the client, one per request, in order.
   */
  forward(text: string, messages: CheckedMessage[]): ForwardResult {
    let requests = 0;
    for (const message of messages) if (message.kind === "request") requests++;
    if (
      requests > 0 && this.#pending.size + requests > this.#options.maxInFlight
    ) {
      return {
        refused: messages.filter((m) => m.kind === "request").map((request) =>
          errorResponse(
            request.id,
            ErrorCode.ServerError,
            `Cannot forward request: ${this.#options.maxInFlight} requests are already waiting for the MCP server`,
          )
        ),
      };
    }
    if (requests > 0) {
      const at = performance.now();
      for (const message of messages) {
        if (message.kind !== "request") continue;
        const id = message.id as JsonRpcId;
        this.#pending.set(idKey(id), { id, at });
      }
    }
    const bytes = encoder.encode(text + "\n");
    this.#in += messages.length;
    this.#options.metrics?.clientToChild(
      this.#options.transport,
      messages.length,
      bytes.length,
    );
    if (this.#debug) {
      this.#log.debug("Session {session} <- {message}", {
        session: this.#options.session,
        message: text,
      });
    }
    // A failed write means the child has gone: its exit answers the pending
    // requests (McpChild handles the rejection once per batch).
    void this.child.write(bytes);
    return ACCEPTED;
  }

  /**
   * Forgets every pending request and hands each its error response, so that
   * nothing the client sent goes unanswered when the session ends.
   *
   * @param reason Why, after "Cannot complete request: ".
   * @param data Extra error data.
   * @param send Delivers one error response for the request `id`.
   * @returns How many requests were answered.
   */
  failPending(
    reason: string,
    data: unknown,
    send: (id: JsonRpcId, response: string) => void,
  ): number {
    const message = `Cannot complete request: ${reason}`;
    const count = this.#pending.size;
    for (const { id } of this.#pending.values()) {
      send(id, errorResponse(id, ErrorCode.ServerError, message, data));
    }
    this.#pending.clear();
    return count;
  }

  /**
   * Stops the child (stdin EOF, SIGTERM, SIGKILL) and waits until its stdout
   * and stderr are read to the end. Safe to call more than once.
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

  async #pump(ready: Promise<void>): Promise<void> {
    const child = this.child;
    const session = this.#options.session;
    const decoder = new TextDecoder();
    // Stdout is split here rather than through a TransformStream: one read
    // per chunk, and every line of that chunk handled in turn.
    const splitter = new LineSplitter({
      maxLineBytes: this.#options.maxMessageBytes,
    });
    const lines: (Uint8Array | LineOverflow)[] = [];
    const collect = (line: Uint8Array | LineOverflow) => lines.push(line);
    const reader = child.stdout.getReader();
    // A leader that exits while a grandchild keeps stdout open would hide
    // the exit: stop what is left of the group so that stdout ends.
    child.status.then(() => {
      if (!this.#closing) void child.stop(this.#options.shutdownGraceMs);
    });
    await ready;
    try {
      while (true) {
        const { value, done } = await reader.read();
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
      reader.releaseLock();
    }
    if (this.#closing) return;
    const { status } = await child.stop(this.#options.shutdownGraceMs);
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
      if (message.kind !== "response" || message.id === null) continue;
      const key = idKey(message.id);
      const pending = this.#pending.get(key);
      if (pending === undefined) continue;
      this.#pending.delete(key);
      metrics?.observeLatency(
        this.#options.transport,
        performance.now() - pending.at,
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
    const id = candidates.find((candidate) =>
      this.#pending.has(idKey(candidate))
    );
    if (id === undefined) return this.#target.unroutable(overflow.size);
    // The request is answered with an error, routed like any response.
    this.#pending.delete(idKey(id));
    const response = errorResponse(
      id,
      ErrorCode.ServerError,
      `Cannot deliver response: it is ${overflow.size} bytes, over the limit of ${max} bytes (--max-message-bytes)`,
    );
    return this.#target.deliver(response, [{
      kind: "response",
      id,
      method: undefined,
    }]);
  }
}
