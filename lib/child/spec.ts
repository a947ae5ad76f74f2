/**
 * What an MCP server child is (program, arguments, environment) and the
 * bounds on its traffic, handed from the configuration to the providers.
 *
 * @module
 */

import type { OrphanGuard } from "./orphan_guard.ts";

/** The MCP server to start, and the bounds on its traffic. */
export interface ChildSpec {
  /** The MCP server's executable. */
  program: string;
  /** Its arguments, passed literally. */
  args: string[];
  /** Its complete environment. */
  env: Record<string, string>;
  /** Largest message in either direction, in bytes. */
  maxMessageBytes: number;
  /** Most requests awaiting a response per session. */
  maxInFlight: number;
  /** Wait at each stop stage of the child. */
  shutdownGraceMs: number;
  /** Kills the child's process group if the runner dies without stopping it. */
  guard?: OrphanGuard | undefined;
}
