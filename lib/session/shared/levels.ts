/**
 * MCP log levels (RFC 5424 severities) and the per-session levels of a
 * shared child: the child runs at the most verbose level any session asked
 * for, and each session receives only what its own level admits.
 *
 * @module
 */

/** The eight levels, most verbose first. */
export const LOG_LEVELS: readonly string[] = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
];

/**
 * The rank of a level name (0 = debug), or -1 when it is not one.
 *
 * @param level A level name.
 * @returns Its rank.
 */
export function levelRank(level: unknown): number {
  return typeof level === "string" ? LOG_LEVELS.indexOf(level) : -1;
}

/** Levels per session. */
export class SessionLevels<S> {
  #levels = new Map<S, number>();

  /** Sets a session's level. */
  set(session: S, rank: number): void {
    this.#levels.set(session, rank);
  }

  /** Forgets a session. */
  delete(session: S): void {
    this.#levels.delete(session);
  }

  /**
   * Whether a session takes a message of this rank: a session that never
   * set a level takes every message.
   */
  admits(session: S, rank: number): boolean {
    const own = this.#levels.get(session);
    return own === undefined || rank < 0 || rank >= own;
  }

  /** The most verbose level any session asked for, or undefined. */
  mostVerbose(): number | undefined {
    let min: number | undefined;
    for (const rank of this.#levels.values()) {
      if (min === undefined || rank < min) min = rank;
    }
    return min;
  }
}
