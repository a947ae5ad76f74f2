/**
 * The client requests of one session that the MCP server has not answered
 * yet, keyed by the id exactly as the client wrote it.
 *
 * @module
 */

import type { CheckedMessage } from "../jsonrpc/message.ts";
import { valueKeyOf } from "../jsonrpc/message.ts";

/** One request waiting for its response. */
export interface PendingRequest {
  /** The id as the client wrote it (see `CheckedMessage.key`). */
  key: string;
  /** The request's method. */
  method: string;
  /** The tool, prompt or resource it acts on, if any. */
  name: string | undefined;
  /** When it was forwarded (`performance.now()`). */
  at: number;
}

/**
 * Requests in flight. Keys are the ids' source texts, so `1`, `1.0`, `-0`,
 * `9007199254740992` and `9007199254740993` are five requests. A server that
 * parses ids and writes them back in its own form (`1.0` → `1`) is still
 * paired: when no request has the response's exact key, the one request with
 * the same value is taken.
 */
export class PendingRequests {
  #byKey = new Map<string, PendingRequest>();

  /** How many requests are waiting. */
  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Whether a request with this exact id is waiting.
   *
   * @param key The id as written.
   * @returns True when it is.
   */
  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /**
   * Remembers a request.
   *
   * @param request A checked request (with its key).
   * @param at When it was forwarded.
   */
  add(request: CheckedMessage, at: number): void {
    const key = request.key!;
    this.#byKey.set(key, {
      key,
      method: request.method!,
      name: request.name,
      at,
    });
  }

  /**
   * Takes the request that a response (or a recovered id) answers.
   *
   * @param key The id as the server wrote it.
   * @returns The request, now forgotten, or undefined when none waits.
   */
  take(key: string): PendingRequest | undefined {
    const exact = this.#byKey.get(key);
    if (exact !== undefined) {
      this.#byKey.delete(key);
      return exact;
    }
    // Rare: the server rewrote the id. Pair it by value when exactly one
    // waiting request has that value.
    let valueKey: string;
    try {
      valueKey = valueKeyOf(key);
    } catch {
      return undefined;
    }
    let match: PendingRequest | undefined;
    for (const pending of this.#byKey.values()) {
      if (valueKeyOf(pending.key) !== valueKey) continue;
      if (match !== undefined) return undefined;
      match = pending;
    }
    if (match !== undefined) this.#byKey.delete(match.key);
    return match;
  }

  /**
   * Forgets every request.
   *
   * @returns The requests, oldest first.
   */
  clear(): PendingRequest[] {
    const all = [...this.#byKey.values()];
    this.#byKey.clear();
    return all;
  }
}
