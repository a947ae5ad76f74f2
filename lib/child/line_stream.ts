/**
 * A byte-level line splitter with a size cap, for reading a child's stdout.
 *
 * @module
 */

import { concat } from "../util/bytes.ts";

const LF = 0x0a;
const CR = 0x0d;

/** How many bytes of an over-long line are kept at each end, for diagnostics. */
export const OVERFLOW_EDGE_BYTES = 1024;

/**
 * Emitted by {@linkcode LineStream} in place of a line longer than the cap.
 *
 * The line itself is never buffered: only its first and last
 * {@linkcode OVERFLOW_EDGE_BYTES} bytes are kept, so that a reader can try to
 * recover the JSON-RPC id of the message it belonged to.
 */
export class LineOverflow {
  /** Total length of the dropped line in bytes, without its line break. */
  readonly size: number;
  /** The first bytes of the dropped line. */
  readonly head: Uint8Array;
  /** The last bytes of the dropped line. */
  readonly tail: Uint8Array;

  /**
   * Creates an overflow marker.
   *
   * @param size Length of the dropped line in bytes.
   * @param head Its first bytes.
   * @param tail Its last bytes.
   */
  constructor(size: number, head: Uint8Array, tail: Uint8Array) {
    this.size = size;
    this.head = head;
    this.tail = tail;
  }
}

/** Options for {@linkcode LineStream}. */
export interface LineStreamOptions {
  /**
   * Longest line passed on, in bytes (line break excluded). A longer line is
   * replaced by a {@linkcode LineOverflow} marker.
   */
  maxLineBytes: number;
}

/**
 * The line splitting behind {@linkcode LineStream}, usable without a stream:
 * feed it chunks, receive lines (or {@linkcode LineOverflow} markers) through
 * a callback, in order.
 *
 * Splits on `\n`, dropping a `\r` right before it; empty lines are skipped.
 * Works on bytes, so a chunk boundary in the middle of a line or of a UTF-8
 * character is harmless. Memory stays bounded by `maxLineBytes` plus one
 * chunk: a longer line is discarded as it arrives.
 */
export class LineSplitter {
  #pieces: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Bytes of the current line seen while discarding it; -1 when not discarding. */
  #overflowSize = -1;
  #head: Uint8Array = new Uint8Array(0);
  #tail: Uint8Array = new Uint8Array(0);
  #maxLineBytes: number;

  /**
   * Creates a splitter.
   *
   * @param options The size cap.
   * @throws {RangeError} If `maxLineBytes` is not a positive integer.
   */
  constructor(options: LineStreamOptions) {
    const { maxLineBytes } = options;
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(
        `Cannot create line stream: maxLineBytes must be a positive integer, received ${maxLineBytes}`,
      );
    }
    this.#maxLineBytes = maxLineBytes;
  }

  /**
   * Takes a chunk; calls `emit` for every line it completes.
   *
   * @param chunk Bytes read (owned by the splitter from now on: not copied).
   * @param emit Receives each line or overflow marker.
   */
  push(
    chunk: Uint8Array,
    emit: (line: Uint8Array | LineOverflow) => void,
  ): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(LF, start);
      const end = newline === -1 ? chunk.length : newline;
      this.#take(chunk.subarray(start, end));
      if (newline === -1) break;
      this.#emit(emit);
      start = newline + 1;
    }
  }

  /**
   * Whether the splitter still holds bytes of a chunk it was given (the
   * start of a line): that chunk's memory must not be reused yet.
   */
  get holdsInput(): boolean {
    return this.#pieces.length > 0;
  }

  /**
   * Ends the input: emits a last line that had no line break.
   *
   * @param emit Receives the line, if any.
   */
  end(emit: (line: Uint8Array | LineOverflow) => void): void {
    this.#emit(emit);
  }

  #take(part: Uint8Array): void {
    if (part.length === 0) return;
    if (this.#overflowSize >= 0) {
      this.#overflowSize += part.length;
      this.#keepTail(part);
      return;
    }
    if (this.#pendingBytes + part.length <= this.#maxLineBytes + 1) {
      // One byte of slack: a trailing "\r" is not part of the line.
      this.#pieces.push(part);
      this.#pendingBytes += part.length;
      return;
    }
    // The line is too long: keep its edges and stop buffering it.
    const line = concat(
      [...this.#pieces, part],
      this.#pendingBytes + part.length,
    );
    this.#pieces = [];
    this.#pendingBytes = 0;
    this.#overflowSize = line.length;
    this.#head = line.slice(0, OVERFLOW_EDGE_BYTES);
    this.#tail = new Uint8Array(0);
    this.#keepTail(line);
  }

  /** Keeps the last bytes seen, one more than shown in case it is a "\r". */
  #keepTail(part: Uint8Array): void {
    const keep = OVERFLOW_EDGE_BYTES + 1;
    if (part.length >= keep) {
      this.#tail = part.slice(part.length - keep);
      return;
    }
    const joined = concat([this.#tail, part], this.#tail.length + part.length);
    this.#tail = joined.slice(Math.max(0, joined.length - keep));
  }

  #emit(emit: (line: Uint8Array | LineOverflow) => void): void {
    if (this.#overflowSize >= 0) {
      let size = this.#overflowSize;
      let tail = this.#tail;
      if (tail.at(-1) === CR) {
        size -= 1;
        tail = tail.subarray(0, tail.length - 1);
      }
      tail = tail.subarray(Math.max(0, tail.length - OVERFLOW_EDGE_BYTES));
      const head = this.#head;
      this.#overflowSize = -1;
      this.#head = new Uint8Array(0);
      this.#tail = new Uint8Array(0);
      emit(new LineOverflow(size, head, tail));
      return;
    }
    if (this.#pendingBytes === 0) return;
    let line = this.#pieces.length === 1
      ? this.#pieces[0]!
      : concat(this.#pieces, this.#pendingBytes);
    this.#pieces = [];
    this.#pendingBytes = 0;
    if (line.at(-1) === CR) line = line.subarray(0, line.length - 1);
    if (line.length === 0) return;
    if (line.length > this.#maxLineBytes) {
      emit(
        new LineOverflow(
          line.length,
          line.slice(0, OVERFLOW_EDGE_BYTES),
          line.slice(line.length - OVERFLOW_EDGE_BYTES),
        ),
      );
      return;
    }
    emit(line);
  }
}

/**
 * Splits a byte stream into lines on `\n`, dropping a `\r` right before it.
 *
 * Works on bytes, so a chunk boundary in the middle of a line or of a UTF-8
 * character is harmless. Empty lines are skipped. Memory stays bounded by
 * `maxLineBytes` plus one chunk: a longer line is discarded as it arrives and
 * reported as a {@linkcode LineOverflow} at the position it had in the stream.
 * A last line without a line break is emitted when the input ends.
 *
 * @example Usage
 * ```ts
 * import { LineStream } from "./line_stream.ts";
 * const bytes = new TextEncoder().encode('{"a":1}\r\n{"b"');
 * const lines = ReadableStream.from([bytes, new TextEncoder().encode(":2}\n")])
 *   .pipeThrough(new LineStream({ maxLineBytes: 100 }));
 * const decoded = (await Array.fromAsync(lines)).map((l) =>
 *   new TextDecoder().decode(l as Uint8Array)
 * );
 * if (decoded.join("|") !== '{"a":1}|{"b":2}') throw new Error("unexpected");
 * ```
 */
export class LineStream
  extends TransformStream<Uint8Array, Uint8Array | LineOverflow> {
  /**
   * Creates a line splitter.
   *
   * @param options The size cap.
   * @throws {RangeError} If `maxLineBytes` is not a positive integer.
   */
  constructor(options: LineStreamOptions) {
    const splitter = new LineSplitter(options);
    super({
      transform: (chunk, controller) =>
        splitter.push(chunk, (line) => controller.enqueue(line)),
      flush: (controller) => splitter.end((line) => controller.enqueue(line)),
    });
  }
}

/** Bytes asked for by each read of a child's stdout. */
const READ_BYTES = 64 * 1024;

/**
 * Reads a byte stream into one buffer again and again (a "byob" reader)
 * rather than into a new buffer for every read, when the caller says the
 * last chunk is no longer used.
 */
export class ReusingReader implements ReadableStreamDefaultReader<Uint8Array> {
  #reader: ReadableStreamBYOBReader;
  #buffer: ArrayBuffer | undefined;

  /** @param stream A byte stream (a child's stdout). */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader({ mode: "byob" });
  }

  /** Resolves when the stream closes. */
  get closed(): Promise<undefined> {
    return this.#reader.closed.then(() => undefined);
  }

  /** Lets the next read fill the memory of `chunk` (which is then gone). */
  reuse(chunk: Uint8Array): void {
    this.#buffer = chunk.buffer as ArrayBuffer;
  }

  /**
   * Reads the next chunk, into the memory given back by {@linkcode reuse}
   * if any, else into a new buffer.
   *
   * @returns The chunk, or done.
   */
  async read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    const buffer = this.#buffer ?? new ArrayBuffer(READ_BYTES);
    this.#buffer = undefined;
    const { value, done } = await this.#reader.read(new Uint8Array(buffer));
    if (done || value === undefined) return { done: true };
    return { done: false, value };
  }

  /**
   * Cancels the stream.
   *
   * @param reason Why.
   * @returns Resolves once cancelled.
   */
  cancel(reason?: unknown): Promise<void> {
    return this.#reader.cancel(reason);
  }

  /** Releases the stream. */
  releaseLock(): void {
    this.#reader.releaseLock();
  }
}
