/**
 * One server's sessions within the runner's set: its own cap under the
 * runner's, and a way to end them all when the server goes away.
 *
 * @module
 */

import { httpError } from "../http/io.ts";
import type { Session, SessionAdmission, SessionSet } from "./session_set.ts";

/**
 * One server's sessions within the runner's set: its own cap
 * (`runner.maxSessions`) under the runner's (`--max-sessions`), and a way to
 * end them all when the server is removed.
 */
export class SessionScope implements SessionAdmission {
  #parent: SessionSet;
  #name: string;
  #maxSessions: number;
  #live = new Map<Session, number>();
  #closed: string | undefined;

  /**
   * Creates a scope.
   *
   * @param parent The runner's set.
   * @param name The server's name, for messages.
   * @param maxSessions Most live sessions of this server.
   */
  constructor(parent: SessionSet, name: string, maxSessions = Infinity) {
    this.#parent = parent;
    this.#name = name;
    this.#maxSessions = maxSessions;
  }

  /** Refuses every new session from now on, with this reason. */
  close(reason: string): void {
    this.#closed = reason;
  }

  /**
   * Decides whether a new session of this server may start.
   *
   * @returns A 503 when it may not, else undefined.
   */
  refusal(): Response | undefined {
    if (this.#closed !== undefined) {
      return httpError(503, `Service Unavailable: ${this.#closed}`, {
        "retry-after": "5",
      });
    }
    if (
      this.#live.size >= this.#maxSessions &&
      !this.#evictIdle()
    ) {
      return httpError(
        503,
        `Service Unavailable: server ${this.#name} has ${this.#maxSessions} sessions open (runner.maxSessions)`,
        { "retry-after": "1" },
      );
    }
    return this.#parent.refusal();
  }

  /** Whether a new session would be refused for capacity. */
  get full(): boolean {
    return (this.#live.size >= this.#maxSessions &&
      !this.#parent.hasIdle(this.#live.keys())) || this.#parent.full;
  }

  /** At the cap: ends this server's least recently active idle session. */
  #evictIdle(): boolean {
    const session = this.#parent.evictIdleOf(
      this.#live.keys(),
      `runner.maxSessions of ${this.#name}`,
    );
    if (session === undefined) return false;
    this.#live.delete(session);
    return true;
  }

  /**
   * Registers a session here and in the runner's set.
   *
   * @param session The session.
   */
  add(session: Session): void {
    this.#parent.add(session);
    this.#live.set(session, Date.now());
    const remove = () => this.#live.delete(session);
    session.done.then(remove, remove);
  }

  /** Number of live sessions. */
  get size(): number {
    return this.#live.size;
  }

  /**
   * Live sessions with when each started (ms since the epoch).
   *
   * @returns Sessions and start times.
   */
  entries(): [Session, number][] {
    return [...this.#live.entries()];
  }

  /**
   * Live sessions per transport.
   *
   * @returns Counts for `websocket`, `streamable-http` and `sse`.
   */
  countByTransport(): Record<string, number> {
    const counts: Record<string, number> = {
      websocket: 0,
      "streamable-http": 0,
      sse: 0,
    };
    for (const session of this.#live.keys()) {
      counts[session.transport] = (counts[session.transport] ?? 0) + 1;
    }
    return counts;
  }

  /**
   * Ends every session in order (what they owe is answered) and waits.
   *
   * @returns Resolves when every session has ended.
   */
  async shutdown(): Promise<void> {
    await Promise.allSettled(
      [...this.#live.keys()].map((session) => session.shutdown()),
    );
  }
}
