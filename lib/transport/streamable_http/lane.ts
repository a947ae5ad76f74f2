/**
 * The interactive lane of a shared child: at most one 2026-07-28 call that
 * may ask the client something runs on the child at a time, because a
 * legacy child's request names no call it belongs to. Parked calls do not
 * hold it. Waiters are served in order, each for a bounded time.
 *
 * @module
 */

/** A FIFO lock with a bounded wait. */
export class Lane {
  #held = false;
  #waiting: (() => void)[] = [];

  /**
   * Takes the lane.
   *
   * @param ms How long to wait for it.
   * @returns Whether it was taken.
   */
  acquire(ms: number): Promise<boolean> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const take = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const at = this.#waiting.indexOf(take);
        if (at !== -1) this.#waiting.splice(at, 1);
        resolve(false);
      }, ms);
      this.#waiting.push(take);
    });
  }

  /** Gives the lane to the next waiter, or frees it. */
  release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#held = false;
    else next();
  }
}
