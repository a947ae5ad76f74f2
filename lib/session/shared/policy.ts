/**
 * The options of a shared child (`--shared-*`).
 *
 * @module
 */

/** How a shared child serves its sessions. */
export interface SharedPolicy {
  /** Start the child with the runner (`eager`) or at the first session. */
  start: "eager" | "lazy";
  /** The protocol version the runner asks for in its own initialize. */
  protocolVersion: string;
  /** What to do with the child's requests to clients. */
  clientRequests: "refuse" | "attribute";
  /** At most one `tools/call` / `prompts/get` on the child at a time. */
  serializeCalls: boolean;
  /** Roots the runner answers `roots/list` with (and declares). */
  roots: string[];
  /** Deliver `notifications/message` (by each session's level) or not. */
  logs: "broadcast" | "drop";
  /** After an exit: start a new child, or end every session. */
  onExit: "restart" | "end-sessions";
  /** How long a new session waits for a (re)starting child. */
  restartWaitMs: number;
  /** Requests in flight on the child, all sessions together. */
  maxInFlight: number;
  /**
   * Declare sampling, elicitation and roots in the runner's handshake, for
   * 2026-07-28 calls that answer the child's requests by round trips.
   *
   * @default {false}
   */
  roundTrips?: boolean;
}

/**
 * The error message for a child request that no client can be asked.
 *
 * @param method The request's method.
 * @param policy The shared options.
 * @returns A one-line message.
 */
export function clientRequestsRefusal(
  method: string,
  policy: SharedPolicy,
): string {
  return policy.clientRequests === "refuse"
    ? `Cannot forward ${method}: it is not available through a shared MCP server runner (use --child-mode per-session, or --shared-client-requests attribute)`
    : `Cannot forward ${method}: no single client it could be for (exactly one session with a request in flight that declared the capability is needed)`;
}
