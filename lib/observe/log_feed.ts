/**
 * A server's stderr as the console reads it: the lines buffered so far and
 * the lines to come.
 *
 * @module
 */

/** One stderr line of a server's child, as the console's log pane gets it. */
export interface LogLine {
  /** Increasing number within the server's buffer. */
  seq: number;
  /** When it arrived, as an ISO 8601 time. */
  time: string;
  /** The child that wrote it. */
  pid: number;
  /** The line, ANSI escapes stripped, invalid UTF-8 replaced. */
  line: string;
  /** Whether the line was cut at the runner's line limit. */
  truncated: boolean;
}

/** A server's stderr: what is buffered, and the lines to come. */
export interface LogFeed {
  /** The buffered lines, oldest first. */
  lines(): LogLine[];
  /**
   * Calls `listener` with every new line until the returned function is
   * called.
   */
  subscribe(listener: (line: LogLine) => void): () => void;
}
