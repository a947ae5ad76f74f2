/**
 * What a session's MCP server is (program, arguments, environment) and the
 * bounds on its traffic, handed from the configuration down to each bridge.
 *
 * @module
 */

import type { OrphanGuard } from "./orphan_guard.ts";

/** The MCP server to start for a session, and the bounds on its traffic. */
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

/**
 * Just the {@linkcode ChildSpec} fields of a larger options object, to hand
 * on to the next layer.
 *
 * @param options Any options that include a child spec.
 * @returns The child spec alone.
 */
export function childSpecOf(options: ChildSpec): ChildSpec {
  const {
    program,
    args,
    env,
    maxMessageBytes,
    maxInFlight,
    shutdownGraceMs,
    guard,
  } = options;
  return {
    program,
    args,
    env,
    maxMessageBytes,
    maxInFlight,
    shutdownGraceMs,
    guard,
  };
}

/** Bounds on the way from the child to a slow client. */
export interface DeliveryLimits {
  /** How long a client may leave its queue full before it is dropped. */
  sendTimeoutMs: number;
  /** Bytes queued for a client above which the child's output pauses. */
  sendBufferBytes: number;
}
