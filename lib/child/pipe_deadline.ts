/**
 * The end of a child's stdout when a process outside the child's group
 * holds it: after the grace period, reading stops once nothing is waiting.
 *
 * @module
 */

const DONE: ReadableStreamReadResult<Uint8Array> = Object.freeze({
  done: true,
}) as ReadableStreamReadResult<Uint8Array>;

/**
 * Reads a child's stdout until its end, or, once armed after the child has
 * exited, until the grace period is over and nothing more is waiting to be
 * read: a process outside the child's group that holds the pipe must not
 * hold the session for ever. What was already written is still read.
 */
export class PipeDeadline {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expired = false;
  #reading = false;
  #onAbandon: (() => void) | undefined;
  #finished = false;

  /**
   * Wraps a reader.
   *
   * @param reader The child's stdout reader.
   */
  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader;
  }

  /**
   * Starts the grace period.
   *
   * @param graceMs How long the pipe may stay open after the child exited.
   * @param onAbandon Told if the pipe is given up.
   */
  arm(graceMs: number, onAbandon: () => void): void {
    if (this.#finished || this.#timer !== undefined) return;
    this.#onAbandon = onAbandon;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#expired = true;
      if (this.#reading) this.#abandon();
    }, graceMs);
  }

  /** Stops the timer (the pipe ended). */
  disarm(): void {
    this.#finished = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Reads the next chunk; ends the stream once expired and idle.
   *
   * @returns The read result.
   */
  async read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    const next = this.#reader.read();
    if (!this.#expired) {
      this.#reading = true;
      try {
        return await next;
      } finally {
        this.#reading = false;
      }
    }
    // Expired: a chunk already queued wins the race; else the pipe is idle.
    const result = await Promise.race([next, Promise.resolve(DONE)]);
    if (result !== DONE) return result;
    this.#abandon();
    return DONE;
  }

  #abandon(): void {
    if (this.#onAbandon === undefined) return;
    this.#onAbandon();
    this.#onAbandon = undefined;
    this.#reader.cancel().catch(() => {});
  }
}
