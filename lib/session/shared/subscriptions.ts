/**
 * Resource subscriptions of a shared child, counted per URI: the child sees
 * the first subscribe and the last unsubscribe; `resources/updated` goes
 * only to the sessions subscribed.
 *
 * @module
 */

/** Subscribers per URI. */
export class Subscriptions<S> {
  #subs = new Map<string, Set<S>>();
  /** URIs whose first subscribe is on its way to the child. */
  readonly pending: Map<string, Promise<void>> = new Map();

  /** Every URI with subscribers. */
  uris(): IterableIterator<string> {
    return this.#subs.keys();
  }

  /** The subscribers of a URI. */
  of(uri: string): ReadonlySet<S> | undefined {
    return this.#subs.get(uri);
  }

  /** Records a subscription (that the child accepted, or holds already). */
  add(uri: string, session: S): void {
    let set = this.#subs.get(uri);
    if (set === undefined) this.#subs.set(uri, set = new Set());
    set.add(session);
  }

  /**
   * Forgets a subscription.
   *
   * @returns Whether it was the URI's last one.
   */
  delete(uri: string, session: S): boolean {
    const set = this.#subs.get(uri);
    if (set === undefined || !set.delete(session)) return false;
    if (set.size > 0) return false;
    this.#subs.delete(uri);
    return true;
  }

  /**
   * Forgets every subscription of a session.
   *
   * @returns The URIs it was the last subscriber of.
   */
  release(session: S): string[] {
    const last: string[] = [];
    for (const [uri, set] of [...this.#subs]) {
      if (set.has(session) && this.delete(uri, session)) last.push(uri);
    }
    return last;
  }
}
