/**
 * What an MCP server child is (program, arguments, environment) and the
 * bounds on its traffic, handed from the configuration to the providers.
 *
 * @module
 */

import type { OrphanGuard } from "./orphan_guard.ts";

/** Receives a child's stderr lines as they arrive. */
export type StderrSink = (
  line: string,
  pid: number,
  truncated: boolean,
) => void;

/** The MCP server to start, and the bounds on its traffic. */
export interface ChildSpec {
  /** The MCP server's executable. */
  program: string;
  /** Its arguments, passed literally. */
  args: string[];
  /** Its complete environment. */
  env: Record<string, string>;
  /**
   * Its working directory.
   *
   * @default {the runner's}
   */
  cwd?: string | undefined;
  /**
   * Sees every stderr line of every child of this spec (also the ones the
   * log's rate limit leaves out), for the console's log pane.
   */
  onStderr?: StderrSink | undefined;
  /** Largest message in either direction, in bytes. */
  maxMessageBytes: number;
  /** Most requests awaiting a response per session. */
  maxInFlight: number;
  /** Wait at each stop stage of the child. */
  shutdownGraceMs: number;
  /** Kills the child's process group if the runner dies without stopping it. */
  guard?: OrphanGuard | undefined;
}
