/**
 * The registry of live sessions that the server and the shutdown share, and
 * the one place that decides whether a new session may start.
 *
 * @module
 */

import type { Logger } from "../observe/log.ts";
import { httpError } from "../http/io.ts";
import type { Metrics } from "../observe/metrics.ts";

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

/** What `/status` shows of a session beyond its id and transport. */
export interface SessionDetails {
  /** The client's `clientInfo.name`. */
  clientName?: string | undefined;
  /** The client's `clientInfo.version`. */
  clientVersion?: string | undefined;
  /** The protocol version the session runs. */
  protocolVersion?: string | undefined;
  /** Requests awaiting the server's answer. */
  inFlight?: number;
  /** Bytes queued for the client. */
  queuedBytes?: number;
  /** The pid of the session's own child (per-session mode). */
  pid?: number;
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
  /**
   * Since when the session has been idle (no request awaited by a connected
   * client, no open stream), or undefined while it is not. Sessions without
   * this method are never idle.
   */
  idleSince?(): number | undefined;
  /**
   * Ends the session (answering what it owes) for the given reason.
   * Required of sessions that can be idle.
   */
  end?(reason: string): Promise<void>;
  /** What stands for the session in logs (defaults to `id`). */
  readonly handle?: string;
  /** Client, protocol version and load, for `/status`. */
  describe?(): SessionDetails;
}

/** What an endpoint needs to admit sessions: a set, or one server's scope. */
export interface SessionAdmission {
  /** A 503 when a new session may not start now, else undefined. */
  refusal(): Response | undefined;
  /** Whether a new session would be refused for capacity. */
  readonly full: boolean;
  /** Registers a session until its `done` settles. */
  add(session: Session): void;
}

/**
 * Live sessions. A session leaves the set when its `done` settles. Disposing
 * the set shuts every session down and waits until every child has stopped.
 */
export class SessionSet implements AsyncDisposable, SessionAdmission {
  #live = new Set<Session>();
  /** Sessions ended to make room: no longer counted, still to be awaited. */
  #evicted = new Set<Session>();
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
    const { maxSessions = Infinity, metrics } = this.#options;
    if (this.#stopping) {
      metrics?.refused("stopping");
      return httpError(
        503,
        "Service Unavailable: the runner is shutting down",
        { "retry-after": "5" },
      );
    }
    if (this.#live.size >= maxSessions && !this.#evictIdle()) {
      // Logged by the handler with the request, rate-limited.
      metrics?.refused("capacity");
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

  /**
   * Whether a new session would be refused for capacity: the cap is reached
   * and no session is idle.
   */
  get full(): boolean {
    const { maxSessions = Infinity } = this.#options;
    return this.#live.size >= maxSessions && this.#leastRecentIdle() ===
        undefined;
  }

  #leastRecentIdle(
    candidates: Iterable<Session> = this.#live,
  ): Session | undefined {
    let oldest: Session | undefined;
    let since = Infinity;
    for (const session of candidates) {
      const idle = session.idleSince?.();
      if (idle !== undefined && idle < since && session.end) {
        oldest = session;
        since = idle;
      }
    }
    return oldest;
  }

  /**
   * At capacity: ends the least recently active idle session, so that an
   * abandoned session (a client that never sent DELETE) does not lock
   * everyone out. It stops counting at once.
   */
  #evictIdle(
    candidates: Iterable<Session> = this.#live,
    cap = "--max-sessions",
  ): boolean {
    const session = this.#leastRecentIdle(candidates);
    if (session === undefined) return false;
    const idleMs = Date.now() - session.idleSince!()!;
    this.#live.delete(session);
    this.#evicted.add(session);
    const forget = () => this.#evicted.delete(session);
    session.done.then(forget, forget);
    this.#options.metrics?.sessionEvicted(session.transport);
    this.#options.logger?.info(
      "Session {session} ended to admit a new one: it was the least recently active idle session ({ms} ms idle) and the sessions are at {cap}",
      {
        session: session.handle ?? session.id,
        ms: idleMs,
        cap,
      },
    );
    void session.end!(
      `Session ended to admit a new one: it was idle and the sessions are at ${cap}`,
    );
    return true;
  }

  /**
   * At a server's own cap: ends the least recently active idle session of
   * that server, as at `--max-sessions`.
   *
   * @param candidates The server's live sessions.
   * @param cap The cap, for the log (`runner.maxSessions of NAME`).
   * @returns The session ended, or undefined when none was idle.
   */
  evictIdleOf(candidates: Iterable<Session>, cap: string): Session | undefined {
    const session = this.#leastRecentIdle(candidates);
    if (session === undefined) return undefined;
    return this.#evictIdle([session], cap) ? session : undefined;
  }

  /**
   * Whether one of these sessions is idle and could be ended for room.
   *
   * @param candidates Sessions.
   * @returns Whether one is.
   */
  hasIdle(candidates: Iterable<Session>): boolean {
    return this.#leastRecentIdle(candidates) !== undefined;
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
    await Promise.allSettled([
      ...sessions.map((session) => session.shutdown()),
      ...[...this.#evicted].map((session) => session.done),
    ]);
  }

  /** Kills every child at once (a second termination signal). */
  killAll(): void {
    for (const session of this.#live) session.killNow();
    for (const session of this.#evicted) session.killNow();
  }

  /** Same as {@linkcode SessionSet.shutdown}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
