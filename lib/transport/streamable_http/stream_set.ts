/**
 * The SSE streams of one Streamable HTTP session, kept for `Last-Event-ID`
 * replay within a budget: at most {@linkcode KEPT_STREAMS} completed streams,
 * and {@linkcode SESSION_REPLAY_BYTES} of past events for all of them
 * together, forgotten oldest first, from completed streams before open ones.
 * Only replay is lost that way; live delivery is not affected.
 *
 * @module
 */

import { SseStream } from "../sse_stream.ts";

/** Completed streams kept for `Last-Event-ID` replay. */
export const KEPT_STREAMS = 32;

/** Replay bytes kept by all the streams of one session together. */
export const SESSION_REPLAY_BYTES = 8 * 1024 * 1024;

/** Options for {@linkcode StreamSet}. */
export interface StreamSetOptions {
  /** Bytes queued for a slow client above which sending waits. */
  highWaterBytes: number;
  /** A stream's client went away. */
  onDisconnect: (stream: string) => void;
}

/** The streams of a session. */
export class StreamSet {
  #options: StreamSetOptions;
  #streams = new Map<string, SseStream>();
  #next = 1;
  #replayBytes = 0;

  /** @param options Buffer size and disconnect callback. */
  constructor(options: StreamSetOptions) {
    this.#options = options;
  }

  /** The stream with this id, if kept. */
  get(id: string): SseStream | undefined {
    return this.#streams.get(id);
  }

  /**
   * A new stream; the oldest completed ones are forgotten past
   * {@linkcode KEPT_STREAMS}.
   *
   * @param id Its id; by default the next number.
   * @returns The stream.
   */
  create(id = String(this.#next++)): SseStream {
    const stream: SseStream = new SseStream({
      highWaterBytes: this.#options.highWaterBytes,
      id,
      onBuffered: (delta) => this.#buffered(delta),
      onDisconnect: () => this.#options.onDisconnect(id),
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

  /** Ends every stream. */
  completeAll(): void {
    for (const stream of this.#streams.values()) stream.complete();
  }

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
}
