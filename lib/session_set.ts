/**
 * The registry of live sessions that the server and the shutdown share, and
 * the one place that decides whether a new session may start.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import { httpError } from "./http_reply.ts";
import type { Metrics } from "./metrics.ts";

/** Options for {@linkcode SessionSet}. */
export interface SessionSetOptions {
  /**
   * Most live sessions of every transport together.
   *
   * @default {Infinity}
   */
  maxSessions?: number;
  /** Counts refusals. */
  metrics?: Metrics | undefined;
  /** Logs refusals. */
  logger?: Logger | undefined;
}

/** What the registry needs of a session. */
export interface Session {
  /** Short id used in logs. */
  readonly id: string;
  /** The transport: `websocket`, `streamable-http` or `sse`. */
  readonly transport: string;
  /** Resolves when the session has ended and its child has stopped. */
  readonly done: Promise<void>;
  /** Ends the session because the runner is stopping. */
  shutdown(): Promise<void>;
  /** Kills the session's child at once. */
  killNow(): void;
}

/**
 * Live sessions. A session leaves the set when its `done` settles. Disposing
 * the set shuts every session down and waits until every child has stopped.
 */
export class SessionSet implements AsyncDisposable {
  #live = new Set<Session>();
  #total = 0;
  #stopping = false;
  #options: SessionSetOptions;

  /**
   * Creates an empty registry.
   *
   * @param options The session cap, and where refusals are counted and logged.
   */
  constructor(options: SessionSetOptions = {}) {
    this.#options = options;
  }

  /** Whether new sessions are refused because the runner is stopping. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Refuses every new session from now on. */
  stopAccepting(): void {
    this.#stopping = true;
  }

  /**
   * Decides whether a new session may start, before anything is spawned.
   *
   * @returns A 503 response with `Retry-After` when it may not, else undefined.
   */
  refusal(): Response | undefined {
    const { maxSessions = Infinity, metrics, logger } = this.#options;
    if (this.#stopping) {
      metrics?.refused("stopping");
      return httpError(
        503,
        "Service Unavailable: the runner is shutting down",
        { "retry-after": "5" },
      );
    }
    if (this.#live.size >= maxSessions) {
      metrics?.refused("capacity");
      logger?.warning(
        "Refused a session: {max} sessions are open (--max-sessions)",
        { max: maxSessions },
      );
      return httpError(
        503,
        `Service Unavailable: ${maxSessions} sessions are open (--max-sessions)`,
        {
          "retry-after": "1",
        },
      );
    }
    return undefined;
  }

  /** Number of live sessions. */
  get size(): number {
    return this.#live.size;
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
    for (const session of this.#live) {
      counts[session.transport] = (counts[session.transport] ?? 0) + 1;
    }
    return counts;
  }

  /** Number of sessions ever added. */
  get total(): number {
    return this.#total;
  }

  /**
   * Registers a session until its `done` settles.
   *
   * @param session The session.
   */
  add(session: Session): void {
    this.#live.add(session);
    this.#total++;
    const remove = () => this.#live.delete(session);
    session.done.then(remove, remove);
  }

  /**
   * Shuts every session down and waits for their children to stop.
   *
   * @returns Resolves when every session has ended.
   */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    const sessions = [...this.#live];
    await Promise.allSettled(sessions.map((session) => session.shutdown()));
  }

  /** Kills every child at once (a second termination signal). */
  killAll(): void {
    for (const session of this.#live) session.killNow();
  }

  /** Same as {@linkcode SessionSet.shutdown}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
