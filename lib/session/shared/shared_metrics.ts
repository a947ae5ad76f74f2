/**
 * The metrics of a shared child, rendered at every `/metrics` read.
 *
 * @module
 */

import type { MetricFamily } from "../../observe/metrics.ts";

/** What the metrics show. */
export interface SharedFigures {
  /** The child's state. */
  state: string;
  /** Exits followed by a restart (or by ending the sessions). */
  restarts: number;
  /** Requests in flight on the child. */
  pending: number;
  /** Sessions attached. */
  sessions: number;
  /** Messages no session could take, by reason. */
  dropped: ReadonlyMap<string, number>;
}

const STATES = ["starting", "ready", "backoff", "failed"];

/**
 * The metric families of a shared child.
 *
 * @param figures Its current figures.
 * @returns The families.
 */
export function sharedMetrics(figures: SharedFigures): MetricFamily[] {
  return [
    {
      name: "mcp_runner_shared_child_state",
      type: "gauge",
      help: "The shared MCP server's state (1 for the current one)",
      rows: STATES.map((
        state,
      ) => [`{state="${state}"}`, figures.state === state ? 1 : 0]),
    },
    {
      name: "mcp_runner_shared_child_restarts_total",
      type: "counter",
      help: "Exits of the shared MCP server",
      rows: [["", figures.restarts]],
    },
    {
      name: "mcp_runner_shared_pending",
      type: "gauge",
      help: "Requests in flight on the shared MCP server",
      rows: [["", figures.pending]],
    },
    {
      name: "mcp_runner_shared_sessions",
      type: "gauge",
      help: "Sessions attached to the shared MCP server",
      rows: [["", figures.sessions]],
    },
    {
      name: "mcp_runner_shared_dropped_messages_total",
      type: "counter",
      help:
        "Messages of the shared MCP server no session could take, by reason",
      rows: [...figures.dropped].map((
        [reason, n],
      ) => [`{reason="${reason}"}`, n]),
    },
  ];
}
