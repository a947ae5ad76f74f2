/**
 * One WebSocket client bridged to its own MCP server child.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import { delay, McpChild } from "./child.ts";
import {
  checkChildLine,
  checkFrame,
  ErrorCode,
  errorResponse,
  idKey,
  idsAtEdges,
  type JsonRpcId,
} from "./jsonrpc.ts";
import { LineOverflow } from "./line_stream.ts";

/** WebSocket close codes used by the runner. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  UnsupportedData: 1003,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
} as const;

/** Options for {@linkcode WebSocketSession}. */
export interface WebSocketSessionOptions {
  /** Short id used in logs. */
  id: string;
  /** The MCP server's executable. */
  program: string;
  /** Its arguments. */
  args: string[];
  /** Its environment. */
  env: Record<string, string>;
  /** Largest message accepted in either direction, in bytes. */
  maxMessageBytes: number;
  /** Most requests awaiting a response from the child. */
  maxInFlight: number;
  /** Wait at each stop stage of the child. */
  shutdownGraceMs: number;
  /** How long the client may leave its send buffer above the mark. */
  sendTimeoutMs: number;
  /**
   * Send-buffer level above which the child's stdout is no longer read.
   *
   * @default {1048576}
   */
  sendHighWaterBytes?: number;
  /**
   * Bytes waiting for the child's stdin above which the client is closed.
   *
   * @default {2 * maxMessageBytes + 1 MiB}
   */
  maxQueuedBytes?: number;
  /** Session logger. */
  logger: Logger;
}

const encoder = new TextEncoder();

/** Truncates a close reason to the 123 bytes a close frame can carry. */
function closeReason(text: string): string {
  let reason = text;
  while (encoder.encode(reason).length > 123) {
    reason = reason.slice(0, -2) + "…";
  }
  return reason;
}

/**
 * Bridges a WebSocket and a freshly spawned MCP server.
 *
 * One JSON-RPC message (or batch) per text frame in both directions. Every
 * request forwarded to the child is tracked until its response passes back,
 * so that when the child exits, or the runner shuts down, the client gets an
 * error response for each request left unanswered.
 */
export class WebSocketSession {
  /** Short id used in logs. */
  readonly id: string;
  /** Resolves when the socket is closed and the child has stopped. */
  readonly done: Promise<void>;

  #socket: WebSocket;
  #options: WebSocketSessionOptions;
  #log: Logger;
  #child: McpChild | undefined;
  #pending = new Map<string, JsonRpcId>();
  #closing = false;
  #finishing: Promise<void> | undefined;
  #pumping: Promise<void>;
  #resolveDone: () => void;
  #opened: Promise<void>;
  #highWater: number;
  #maxQueued: number;
  #received = 0;
  /** Whether message bodies are logged (checked once: the hot path skips it). */
  #debug: boolean;
  #sent = 0;

  /**
   * Spawns the child and wires it to the socket. Call with the socket
   * returned by `Deno.upgradeWebSocket`, before the response is returned.
   *
   * @param socket The client's WebSocket.
   * @param options Program, limits and logger.
   */
  constructor(socket: WebSocket, options: WebSocketSessionOptions) {
    this.id = options.id;
    this.#socket = socket;
    this.#options = options;
    this.#log = options.logger;
    this.#debug = options.logger.isEnabledFor("debug");
    this.#highWater = options.sendHighWaterBytes ?? 1024 * 1024;
    this.#maxQueued = options.maxQueuedBytes ??
      2 * options.maxMessageBytes + 1024 * 1024;
    const done = Promise.withResolvers<void>();
    this.done = done.promise;
    this.#resolveDone = done.resolve;
    const opened = Promise.withResolvers<void>();
    this.#opened = opened.promise;

    let spawnError: unknown;
    try {
      this.#child = McpChild.spawn(options.program, {
        args: options.args,
        env: options.env,
        maxLineBytes: options.maxMessageBytes,
        logger: this.#log,
      });
      this.#log.info("Session {session} started {program} (pid {pid})", {
        session: this.id,
        program: options.program,
        pid: this.#child.pid,
      });
    } catch (error) {
      spawnError = error;
      this.#log.error("Session {session}: cannot start {program}: {error}", {
        session: this.id,
        program: options.program,
        error: String(error),
      });
    }

    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      opened.resolve();
      if (spawnError !== undefined) {
        const detail = spawnError instanceof Error
          ? spawnError.message
          : String(spawnError);
        this.#fail(
          CloseCode.InternalError,
          `Cannot start MCP server: ${detail}`,
        );
      }
    };
    socket.onmessage = (event) => this.#onMessage(event);
    socket.onerror = (event) => {
      const message = event instanceof ErrorEvent ? event.message : "error";
      this.#log.debug("Session {session}: socket error: {message}", {
        session: this.id,
        message,
      });
    };
    socket.onclose = (event) => {
      opened.resolve();
      this.#log.info(
        "Session {session} closed ({code}{reason}); {received} messages in, {sent} out",
        {
          session: this.id,
          code: event.code,
          reason: event.reason ? ` ${event.reason}` : "",
          received: this.#received,
          sent: this.#sent,
        },
      );
      void this.#finish();
    };
    this.#pumping = this.#child ? this.#pump(this.#child) : Promise.resolve();
  }

  /** Requests the client sent that the child has not answered yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Ends the session because the runner is stopping: answers every pending
   * request with an error, closes the socket with 1001, stops the child.
   *
   * @returns Resolves when the child has stopped.
   */
  shutdown(): Promise<void> {
    this.#fail(CloseCode.GoingAway, "Runner is shutting down");
    return this.done;
  }

  /** SIGKILLs the child's process group at once (second signal). */
  killNow(): void {
    this.#child?.killNow();
  }

  #onMessage(event: MessageEvent): void {
    if (this.#closing) return;
    const child = this.#child;
    if (child === undefined) return;
    const data = event.data;
    if (typeof data !== "string") {
      this.#fail(
        CloseCode.UnsupportedData,
        "Binary frames are not supported: send JSON-RPC as text",
      );
      return;
    }
    const max = this.#options.maxMessageBytes;
    const bytesAtLeast = data.length;
    if (
      bytesAtLeast > max ||
      (data.length * 3 > max && encoder.encode(data).length > max)
    ) {
      this.#fail(
        CloseCode.MessageTooBig,
        `Message is over the limit of ${max} bytes`,
      );
      return;
    }
    this.#received++;
    if (this.#debug) {
      this.#log.debug("Session {session} <- {message}", {
        session: this.id,
        message: data,
      });
    }
    const check = checkFrame(data);
    for (const error of check.errors) this.#sendNow(error);
    if (!check.ok) return;

    const requests = check.messages.filter((m) => m.kind === "request");
    if (
      requests.length > 0 &&
      this.#pending.size + requests.length > this.#options.maxInFlight
    ) {
      for (const request of requests) {
        this.#sendNow(errorResponse(
          request.id,
          ErrorCode.ServerError,
          `Cannot forward request: ${this.#options.maxInFlight} requests are already waiting for the MCP server`,
        ));
      }
      return;
    }
    for (const request of requests) {
      const id = request.id as JsonRpcId;
      this.#pending.set(idKey(id), id);
    }
    child.write(encoder.encode(check.text + "\n")).catch(() => {
      // The child has gone: its exit answers the pending requests.
    });
    if (child.queuedBytes > this.#maxQueued) {
      this.#fail(
        CloseCode.PolicyViolation,
        `MCP server is not reading its input: ${child.queuedBytes} bytes waiting`,
      );
    }
  }

  async #pump(child: McpChild): Promise<void> {
    const decoder = new TextDecoder();
    const reader = child.lines.getReader();
    // A leader that exits while a grandchild keeps stdout open would hide
    // the exit: stop what is left of the group so that stdout ends.
    child.status.then(() => {
      if (!this.#closing) void child.stop(this.#options.shutdownGraceMs);
    });
    await this.#opened;
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        if (this.#closing) continue; // keep draining so the child never blocks
        if (value instanceof LineOverflow) {
          this.#onOverflow(value, decoder);
          continue;
        }
        const text = decoder.decode(value);
        const messages = checkChildLine(text);
        if (messages === undefined) {
          this.#log.warning(
            "Session {session}: dropped a stdout line of {size} bytes that is not JSON-RPC",
            { session: this.id, size: value.length },
          );
          this.#log.debug("Session {session}: dropped line: {line}", {
            session: this.id,
            line: text,
          });
          continue;
        }
        for (const message of messages) {
          if (message.kind === "response" && message.id !== null) {
            this.#pending.delete(idKey(message.id));
          }
        }
        if (this.#debug) {
          this.#log.debug("Session {session} -> {message}", {
            session: this.id,
            message: text,
          });
        }
        if (this.#socket.bufferedAmount <= this.#highWater) this.#sendNow(text);
        else await this.#send(text);
      }
    } catch (error) {
      this.#log.warning(
        "Session {session}: cannot read the MCP server's stdout: {error}",
        {
          session: this.id,
          error: String(error),
        },
      );
    } finally {
      reader.releaseLock();
    }
    if (this.#closing) return;
    const { status } = await child.stop(this.#options.shutdownGraceMs);
    if (this.#closing) return;
    const how = status.signal
      ? `signal ${status.signal}`
      : `code ${status.code}`;
    this.#log.warning("Session {session}: MCP server exited with {how}", {
      session: this.id,
      how,
    });
    this.#fail(CloseCode.InternalError, `MCP server exited with ${how}`, {
      exitCode: status.code,
      signal: status.signal,
    });
  }

  #onOverflow(overflow: LineOverflow, decoder: TextDecoder): void {
    const max = this.#options.maxMessageBytes;
    this.#log.warning(
      "Session {session}: MCP server wrote a message of {size} bytes, over the limit of {max}",
      { session: this.id, size: overflow.size, max },
    );
    const candidates = idsAtEdges(
      decoder.decode(overflow.head),
      decoder.decode(overflow.tail),
    );
    const id = candidates.find((candidate) =>
      this.#pending.has(idKey(candidate))
    );
    if (id === undefined) {
      this.#fail(
        CloseCode.MessageTooBig,
        `MCP server sent a message over the limit of ${max} bytes`,
      );
      return;
    }
    this.#pending.delete(idKey(id));
    this.#sendNow(errorResponse(
      id,
      ErrorCode.ServerError,
      `Cannot deliver response: it is ${overflow.size} bytes, over the limit of ${max} bytes (--max-message-bytes)`,
    ));
  }

  /** Sends once the client's buffer is below the mark; closes a stalled client. */
  async #send(text: string): Promise<void> {
    const socket = this.#socket;
    if (socket.bufferedAmount > this.#highWater) {
      const deadline = Date.now() + this.#options.sendTimeoutMs;
      while (socket.bufferedAmount > this.#highWater) {
        if (this.#closing || socket.readyState !== WebSocket.OPEN) return;
        if (Date.now() > deadline) {
          this.#fail(
            CloseCode.PolicyViolation,
            `Client did not read for ${this.#options.sendTimeoutMs} ms`,
          );
          return;
        }
        await delay(5);
      }
    }
    this.#sendNow(text);
  }

  #sendNow(text: string): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(text);
    this.#sent++;
  }

  /** Answers every pending request, closes the socket and stops the child. */
  #fail(code: number, reason: string, data?: unknown): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#log[code === CloseCode.GoingAway ? "info" : "warning"](
      "Session {session}: closing with {code} {reason}; {pending} requests unanswered",
      { session: this.id, code, reason, pending: this.#pending.size },
    );
    const message = `Cannot complete request: ${reason}`;
    for (const id of this.#pending.values()) {
      this.#sendNow(errorResponse(id, ErrorCode.ServerError, message, data));
    }
    this.#pending.clear();
    const state = this.#socket.readyState;
    if (state === WebSocket.OPEN || state === WebSocket.CONNECTING) {
      try {
        this.#socket.close(code, closeReason(reason));
      } catch {
        // already closing
      }
    }
    void this.#finish();
  }

  #finish(): Promise<void> {
    this.#closing = true;
    this.#finishing ??= (async () => {
      const child = this.#child;
      if (child) {
        const { status, stage } = await child.stop(
          this.#options.shutdownGraceMs,
        );
        this.#log.info(
          "Session {session}: MCP server stopped ({how}, after {stage})",
          {
            session: this.id,
            how: status.signal
              ? `signal ${status.signal}`
              : `code ${status.code}`,
            stage,
          },
        );
        await child.stderrDone;
        await this.#pumping;
      }
      await this.#socketClosed();
      this.#resolveDone();
    })();
    return this.#finishing;
  }

  /**
   * Waits for the close handshake, but not forever: a client that stopped
   * reading never answers it, and must not hold its session slot.
   */
  async #socketClosed(): Promise<void> {
    if (this.#socket.readyState === WebSocket.CLOSED) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onClose: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      onClose = resolve;
      this.#socket.addEventListener("close", onClose, { once: true });
      timer = setTimeout(resolve, this.#options.shutdownGraceMs + 1000);
    });
    clearTimeout(timer);
    if (onClose) this.#socket.removeEventListener("close", onClose);
  }
}
