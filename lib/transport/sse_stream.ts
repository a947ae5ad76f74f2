/**
 * A server-sent-events stream that outlives its HTTP connection: events get
 * ids, are kept in a bounded replay buffer, and a client that reconnects with
 * `Last-Event-ID` gets what it missed.
 *
 * @module
 */

import { delay } from "../util/delay.ts";

const encoder = new TextEncoder();

/** The `retry` hint for clients, sent when a connection opens. */
const RETRY_MS = 1000;

/** The keepalive comment, every {@linkcode SseStreamOptions.keepaliveMs}. */
const KEEPALIVE = encoder.encode(": keepalive\n\n");

/** Options for {@linkcode SseStream}. */
export interface SseStreamOptions {
  /**
   * Prefix of event ids; ids are `<id>_<n>`. Omit for a stream without ids
   * (the legacy HTTP+SSE transport).
   */
  id?: string;
  /**
   * Most bytes of past events kept for replay.
   *
   * @default {4 MiB}
   */
  replayBytes?: number;
  /**
   * Bytes queued for a slow client above which {@linkcode SseStream.send}
   * asks the caller to wait.
   *
   * @default {1 MiB}
   */
  highWaterBytes?: number;
  /**
   * A comment line is written to an attached connection this often, so that
   * proxies with idle timeouts keep it open; 0 turns it off.
   *
   * @default {15000}
   */
  keepaliveMs?: number;
  /** Called when the client's connection goes away (not on complete()). */
  onDisconnect?: () => void;
  /**
   * Told how many bytes the replay buffer gained (positive) or lost
   * (negative), so that an owner can bound several streams together.
   */
  onBuffered?: (delta: number) => void;
}

interface PastEvent {
  seq: number;
  frame: Uint8Array;
}

/**
 * One logical SSE stream, attached to at most one HTTP response at a time.
 */
export class SseStream {
  /** Stream id, or undefined for a stream without event ids. */
  readonly id: string | undefined;
  #seq = 0;
  #past: PastEvent[] = [];
  #pastBytes = 0;
  #replayBytes: number;
  #highWater: number;
  #keepaliveMs: number;
  /** Resolves at the next pull: the client read from the connection. */
  #pulled: PromiseWithResolvers<void> | undefined;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #completed = false;
  #onDisconnect: (() => void) | undefined;
  #onBuffered: ((delta: number) => void) | undefined;

  /**
   * Creates a stream with no connection yet.
   *
   * @param options Ids, buffer sizes and callbacks.
   */
  constructor(options: SseStreamOptions = {}) {
    this.id = options.id;
    this.#replayBytes = options.replayBytes ?? 4 * 1024 * 1024;
    this.#highWater = options.highWaterBytes ?? 1024 * 1024;
    this.#keepaliveMs = options.keepaliveMs ?? 15_000;
    this.#onDisconnect = options.onDisconnect;
    this.#onBuffered = options.onBuffered;
  }

  /** Whether an HTTP response is attached. */
  get attached(): boolean {
    return this.#controller !== undefined;
  }

  /**
   * Whether more than the high-water mark is queued for the attached
   * connection (the client is not reading).
   */
  get congested(): boolean {
    return (this.#controller?.desiredSize ?? 0) < 0;
  }

  /** Whether the stream has ended (its last event was sent). */
  get completed(): boolean {
    return this.#completed;
  }

  /**
   * Opens a connection: a body for an HTTP response. A previous connection
   * is closed. With `afterSeq`, events after that number are replayed first.
   *
   * @param afterSeq Replay events with a greater sequence number.
   * @returns The response body.
   */
  connect(afterSeq?: number): ReadableStream<Uint8Array> {
    this.#closeConnection();
    let self: ReadableStreamDefaultController<Uint8Array> | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        this.#controller = controller;
        // Priming event: an id and empty data, so the client can resume
        // from here; and how long to wait before reconnecting.
        const prime = this.id === undefined
          ? `retry: ${RETRY_MS}\n\n`
          : `id: ${this.id}_${
            afterSeq ?? this.#seq
          }\nretry: ${RETRY_MS}\ndata: \n\n`;
        controller.enqueue(encoder.encode(prime));
        if (afterSeq !== undefined) {
          for (const event of this.#past) {
            if (event.seq > afterSeq) controller.enqueue(event.frame);
          }
        }
        if (this.#completed) {
          this.#controller = undefined;
          controller.close();
        } else this.#startKeepalive();
      },
      pull: () => {
        const pulled = this.#pulled;
        this.#pulled = undefined;
        pulled?.resolve();
      },
      cancel: () => {
        this.#pulled?.resolve();
        if (this.#controller === self) {
          this.#controller = undefined;
          this.#stopKeepalive();
          this.#onDisconnect?.();
        }
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: this.#highWater }));
  }

  /**
   * Sends an event. It is kept for replay, and written to the connection if
   * one is attached. Returns a promise when the client is slow: wait for it
   * to keep memory bounded (it settles after `timeoutMs` at the latest, and
   * the connection is then dropped).
   *
   * @param data The event data (one line of JSON).
   * @param event The event name.
   * @param timeoutMs How long a slow client may take.
   * @returns Nothing, or a promise to wait for.
   */
  send(
    data: string,
    event = "message",
    timeoutMs = 30_000,
  ): void | Promise<void> {
    if (this.#completed) return;
    // JSON allows CR (and LF) between tokens, but either would end an SSE
    // line: they become spaces, and the JSON stays equal.
    if (data.includes("\r") || data.includes("\n")) {
      data = data.replace(/[\r\n]/g, " ");
    }
    this.#seq++;
    const idLine = this.id === undefined ? "" : `id: ${this.id}_${this.#seq}\n`;
    const frame = encoder.encode(`event: ${event}\n${idLine}data: ${data}\n\n`);
    if (this.id !== undefined) this.#remember(this.#seq, frame);
    const controller = this.#controller;
    if (!controller) return;
    try {
      controller.enqueue(frame);
    } catch {
      this.#controller = undefined;
      return;
    }
    if ((controller.desiredSize ?? 0) >= 0) return;
    return this.#drain(controller, timeoutMs);
  }

  /**
   * Writes a keepalive comment every `keepaliveMs` while a connection is
   * attached; one that is still full (the client is not reading) gets none.
   */
  #startKeepalive(): void {
    this.#stopKeepalive();
    if (this.#keepaliveMs <= 0) return;
    this.#keepalive = setInterval(() => {
      const controller = this.#controller;
      if (controller === undefined) return this.#stopKeepalive();
      if ((controller.desiredSize ?? 0) <= 0) return;
      try {
        controller.enqueue(KEEPALIVE);
      } catch {
        this.#controller = undefined;
        this.#stopKeepalive();
      }
    }, this.#keepaliveMs);
  }

  #stopKeepalive(): void {
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
  }

  /** Ends the stream: the connection closes, replay stays possible. */
  complete(): void {
    if (this.#completed) return;
    this.#completed = true;
    this.#closeConnection();
  }

  /**
   * Waits until the client has read the connection's queue below the mark
   * (the stream pulls), or drops the connection after `timeoutMs`.
   */
  async #drain(
    controller: ReadableStreamDefaultController<Uint8Array>,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (
      this.#controller === controller && (controller.desiredSize ?? 0) < 0
    ) {
      const left = deadline - Date.now();
      if (left <= 0) {
        // The client stopped reading: drop the connection; replay remains.
        this.#closeConnection(true);
        this.#onDisconnect?.();
        return;
      }
      this.#pulled ??= Promise.withResolvers<void>();
      await Promise.race([this.#pulled.promise, delay(left, this.#wake())]);
    }
  }

  /** An AbortSignal that aborts at the next pull (to end the timer early). */
  #wake(): AbortSignal {
    const abort = new AbortController();
    void this.#pulled!.promise.then(() => abort.abort());
    return abort.signal;
  }

  /**
   * Forgets the oldest past event (it can no longer be replayed).
   *
   * @returns The bytes freed; 0 when nothing was kept.
   */
  forgetOldest(): number {
    const event = this.#past.shift();
    if (!event) return 0;
    this.#pastBytes -= event.frame.length;
    this.#onBuffered?.(-event.frame.length);
    return event.frame.length;
  }

  #remember(seq: number, frame: Uint8Array): void {
    this.#past.push({ seq, frame });
    this.#pastBytes += frame.length;
    this.#onBuffered?.(frame.length);
    while (this.#pastBytes > this.#replayBytes && this.#past.length > 1) {
      this.forgetOldest();
    }
  }

  #closeConnection(abort = false): void {
    const controller = this.#controller;
    this.#controller = undefined;
    this.#stopKeepalive();
    this.#pulled?.resolve();
    this.#pulled = undefined;
    try {
      if (abort) {
        controller?.error(new Error("Cannot send: the client stopped reading"));
      } else controller?.close();
    } catch {
      // already closed or errored
    }
  }
}

/** Most digits of an event id's sequence number (any more is not ours). */
const MAX_SEQ_DIGITS = 15;

/**
 * Splits an event id `<stream>_<n>` into its parts. The sequence number
 * must be digits only, at most 15 of them (a safe integer): anything else,
 * such as `0_99999999999999999999999`, is not an id this runner sent.
 *
 * @param eventId The `Last-Event-ID` value.
 * @returns The stream id and sequence number, or undefined to ignore it.
 */
export function parseEventId(
  eventId: string,
): { stream: string; seq: number } | undefined {
  // The last "_" splits (a stream id may hold one); no regex backtracking.
  const id = eventId.trim();
  const at = id.lastIndexOf("_");
  const digits = id.slice(at + 1);
  if (at < 1 || digits.length > MAX_SEQ_DIGITS || !/^[0-9]+$/.test(digits)) {
    return undefined;
  }
  const seq = Number(digits);
  if (!Number.isSafeInteger(seq)) return undefined;
  return { stream: id.slice(0, at), seq };
}
