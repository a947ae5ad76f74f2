/**
 * One WebSocket client bridged to an MCP server (its own child or a shared one).
 *
 * @module
 */

import type { Logger } from "../../observe/log.ts";
import { delay } from "../../util/delay.ts";
import type {
  Channel,
  ChannelEnd,
  ChildProvider,
  SessionLimits,
} from "../../session/channel.ts";
import type { Metrics } from "../../observe/metrics.ts";
import { checkFrame } from "../../jsonrpc/message.ts";
import { utf8Length } from "../../util/bytes.ts";
import { ClientFacts } from "../../session/client_facts.ts";
import type { SessionDetails } from "../../session/session_set.ts";

/** WebSocket close codes used by the runner. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  UnsupportedData: 1003,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  ServiceRestart: 1012,
} as const;

/** The close code for each way a channel ends its session. */
const END_CODES: Record<ChannelEnd["kind"], number> = {
  exited: CloseCode.InternalError,
  restart: CloseCode.ServiceRestart,
  overloaded: CloseCode.PolicyViolation,
};

/** Options for {@linkcode WebSocketSession}. */
export interface WebSocketSessionOptions extends SessionLimits {
  /** Short id used in logs. */
  id: string;
  /** Gives the session its channel to an MCP server. */
  provider: ChildProvider;
  /** Session logger. */
  logger: Logger;
  /**
   * The client's address, for the access log.
   *
   * @default {"unknown"}
   */
  remote?: string | undefined;
  /** Where counts and latencies go. */
  metrics?: Metrics | undefined;
}

const encoder = new TextEncoder();

/**
 * Truncates a close reason to the 123 bytes a close frame can carry.
 *
 * @param text The reason.
 * @returns The reason, shortened when needed.
 */
export function closeReason(text: string): string {
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
  /** Transport name, for health and metrics. */
  readonly transport = "websocket";
  /** Resolves when the socket is closed and the child has stopped. */
  readonly done: Promise<void>;

  #socket: WebSocket;
  #options: WebSocketSessionOptions;
  #log: Logger;
  #channel: Channel | undefined;
  #closing = false;
  #finishing: Promise<void> | undefined;
  #resolveDone: () => void;
  #highWater: number;
  #received = 0;
  #endReason = "client closed";
  #sent = 0;
  #queue: string[] = [];
  #queueBytes = 0;
  #draining: Promise<void> | undefined;
  #facts = new ClientFacts();

  /**
   * The client, protocol version and load, for `/status`.
   *
   * @returns The details.
   */
  describe(): SessionDetails {
    const details = this.#facts.details(this.#channel);
    details.queuedBytes = (details.queuedBytes ?? 0) + this.#queueBytes;
    return details;
  }

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
    this.#highWater = options.sendBufferBytes;
    const done = Promise.withResolvers<void>();
    this.done = done.promise;
    this.#resolveDone = done.resolve;
    const opened = Promise.withResolvers<void>();

    let spawnError: unknown;
    try {
      this.#channel = options.provider.open({
        session: this.id,
        transport: "websocket",
        remote: options.remote,
        metrics: options.metrics,
        logger: this.#log,
        ready: opened.promise,
      }, {
        deliver: (text) => this.#deliver(text),
        unroutable: () =>
          this.#fail(
            CloseCode.MessageTooBig,
            `MCP server sent a message over the limit of ${options.maxMessageBytes} bytes`,
          ),
        ended: (end) => this.#fail(END_CODES[end.kind], end.reason, end.data),
      });
    } catch (error) {
      spawnError = error;
      // The provider has logged it.
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
      if (!this.#closing) this.#endReason = `client closed ${event.code}`;
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
    this.#channel?.killNow();
  }

  #onMessage(event: MessageEvent): void {
    const channel = this.#channel;
    if (this.#closing || channel === undefined) return;
    const data = event.data;
    if (typeof data !== "string") {
      this.#fail(
        CloseCode.UnsupportedData,
        "Binary frames are not supported: send JSON-RPC as text",
      );
      return;
    }
    const max = this.#options.maxMessageBytes;
    // UTF-16 length <= UTF-8 length <= 3 x UTF-16 length: count the bytes
    // only when in doubt (without encoding the frame once more).
    if (
      data.length > max ||
      (data.length * 3 > max && utf8Length(data) > max)
    ) {
      this.#options.metrics?.refused("size");
      this.#fail(
        CloseCode.MessageTooBig,
        `Message is over the limit of ${max} bytes`,
      );
      return;
    }
    this.#received++;
    const check = checkFrame(data);
    // The runner's own errors take the same ordered, bounded way to the
    // client as the child's messages.
    for (const error of check.errors) void this.#send(error, true);
    if (!check.ok) return;
    if (!this.#facts.done) this.#facts.note(check.messages);
    const { refused } = channel.forward(check.text, check.messages);
    for (const { error } of refused) void this.#send(error, true);
    if (channel.backlogged) {
      this.#fail(
        CloseCode.PolicyViolation,
        `MCP server is not reading its input: ${channel.queuedBytes} bytes waiting`,
      );
    }
  }

  #deliver(text: string): void | Promise<void> {
    return this.#send(text, false);
  }

  /**
   * Sends in order. While the client's buffer is over the mark, messages
   * wait in a queue: the child's (one at a time, since the bridge waits for
   * the returned promise before reading on) and the runner's own errors,
   * which may not pile up beyond the mark either: a client that keeps
   * sending but does not read is closed with 1008.
   */
  #send(text: string, fromRunner: boolean): void | Promise<void> {
    if (
      this.#queue.length === 0 &&
      this.#socket.bufferedAmount <= this.#highWater
    ) {
      this.#sendNow(text);
      return;
    }
    if (this.#closing) return;
    this.#queue.push(text);
    this.#queueBytes += text.length;
    if (fromRunner && this.#queueBytes > this.#highWater) {
      this.#fail(
        CloseCode.PolicyViolation,
        `Client is not reading its replies: ${this.#queueBytes} bytes waiting`,
      );
      return;
    }
    this.#draining ??= this.#drain();
    return this.#draining;
  }

  /** Sends the queue as the client reads; closes a client that stalls. */
  async #drain(): Promise<void> {
    const socket = this.#socket;
    try {
      while (this.#queue.length > 0) {
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
        const text = this.#queue.shift()!;
        this.#queueBytes -= text.length;
        this.#sendNow(text);
      }
    } finally {
      this.#draining = undefined;
      if (this.#closing) {
        this.#queue.length = 0;
        this.#queueBytes = 0;
      }
    }
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
    this.#endReason = `${code} ${reason}`;
    // Sent at once, past any queue: the socket closes right after.
    const unanswered = this.#channel?.failPending(
      reason,
      data,
      (_key, response) => this.#sendNow(response),
    ) ?? 0;
    this.#log[code === CloseCode.GoingAway ? "info" : "warning"](
      "Session {session}: closing with {code} {reason}; {pending} requests unanswered",
      { session: this.id, code, reason, pending: unanswered },
    );
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
      await this.#channel?.close(this.#endReason);
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
