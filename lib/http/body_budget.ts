/**
 * A budget for the request bodies being read at one time, so that many
 * concurrent large POSTs cannot add up to unbounded memory: each body
 * reserves its bytes before they are read and returns them when done.
 *
 * @module
 */

/** Bytes of request bodies that may be in memory at once. */
export class BodyBudget {
  #limit: number;
  #used = 0;

  /**
   * Creates a budget.
   *
   * @param limit Bytes that may be reserved together.
   */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Bytes reserved now. */
  get used(): number {
    return this.#used;
  }

  /**
   * Reserves bytes, if the budget has room for them.
   *
   * @param bytes How many.
   * @returns Whether they were reserved.
   */
  reserve(bytes: number): boolean {
    if (this.#used + bytes > this.#limit) return false;
    this.#used += bytes;
    return true;
  }

  /**
   * Returns reserved bytes.
   *
   * @param bytes How many.
   */
  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
