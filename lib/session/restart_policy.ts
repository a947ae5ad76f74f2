/**
 * When a child that exited is started again: an exponential backoff with
 * jitter (the pool's refills and the shared child's restarts), and, for the
 * shared child, a breaker that gives up for a while after a crash loop.
 *
 * @module
 */

/** First restart delay, doubled up to {@linkcode MAX_BACKOFF_MS}. */
export const FIRST_BACKOFF_MS = 250;
/** Longest restart delay. */
export const MAX_BACKOFF_MS = 30_000;
/** Exits within {@linkcode CRASH_WINDOW_MS} that mark the child failed. */
export const CRASH_LOOP_EXITS = 5;
/** The window of the crash-loop breaker. */
export const CRASH_WINDOW_MS = 120_000;
/** While failed: one new attempt this often. */
export const FAILED_RETRY_MS = 60_000;
/** Ready this long: the backoff starts again from the first delay. */
const STABLE_MS = 60_000;

/** Doubling delays from {@linkcode FIRST_BACKOFF_MS}, ±20 % jitter. */
export class Backoff {
  #attempt = 0;

  /** The next delay, in milliseconds; each call doubles the one after. */
  next(): number {
    const base = Math.min(
      MAX_BACKOFF_MS,
      FIRST_BACKOFF_MS * 2 ** this.#attempt++,
    );
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  /** Starts again from the first delay. */
  reset(): void {
    this.#attempt = 0;
  }
}

/** What to do after an exit. */
export type AfterExit =
  | { failed: false; waitMs: number }
  | { failed: true; waitMs: number; exits: number };

/** The shared child's restarts: backoff, and the crash-loop breaker. */
export class RestartPolicy {
  #backoff = new Backoff();
  #exits: number[] = [];
  #readyAt = 0;

  /** The child answered its handshake. */
  ready(now = Date.now()): void {
    this.#readyAt = now;
  }

  /** A restart was asked for (not a crash): the next start has no delay. */
  reset(): void {
    this.#backoff.reset();
  }

  /**
   * The child exited: how long to wait, and whether it crash-loops.
   *
   * @param now The time of the exit.
   * @returns The wait, and `failed` after {@linkcode CRASH_LOOP_EXITS}
   *   exits within {@linkcode CRASH_WINDOW_MS}.
   */
  exited(now = Date.now()): AfterExit {
    if (this.#readyAt > 0 && now - this.#readyAt > STABLE_MS) {
      this.#backoff.reset();
    }
    this.#readyAt = 0;
    this.#exits = this.#exits.filter((t) => now - t < CRASH_WINDOW_MS);
    this.#exits.push(now);
    if (this.#exits.length >= CRASH_LOOP_EXITS) {
      const exits = this.#exits.length;
      this.#exits = [];
      return { failed: true, waitMs: FAILED_RETRY_MS, exits };
    }
    return { failed: false, waitMs: this.#backoff.next() };
  }
}
