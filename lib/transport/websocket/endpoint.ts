/**
 * The WebSocket endpoint: checks an upgrade request, upgrades it and starts
 * a {@linkcode WebSocketSession} on the socket.
 *
 * @module
 */

import { httpError } from "../../http/io.ts";
import type { Logger } from "../../observe/log.ts";
import type { Metrics } from "../../observe/metrics.ts";
import type { ChildProvider, SessionLimits } from "../../session/channel.ts";
import type { SessionAdmission } from "../../session/session_set.ts";
import { WebSocketSession } from "./session.ts";

/** The WebSocket subprotocol of MCP clients. */
export const MCP_SUBPROTOCOL = "mcp";

/** Options for {@linkcode WebSocketEndpoint}. */
export interface WebSocketEndpointOptions extends SessionLimits {
  /** Gives each session its channel to an MCP server. */
  provider: ChildProvider;
  /** Every live session; also decides whether a new one may start. */
  sessions: SessionAdmission;
  /** Ping interval for idle clients, in seconds; 0 turns it off. */
  keepaliveSeconds: number;
  /** Logger. */
  logger: Logger;
  /** Where counts and latencies go. */
  metrics?: Metrics | undefined;
}

/** Upgrades requests to WebSocket sessions. */
export class WebSocketEndpoint {
  #options: WebSocketEndpointOptions;
  #counter = 0;

  /** @param options Provider, limits, registry and logger. */
  constructor(options: WebSocketEndpointOptions) {
    this.#options = options;
  }

  /**
   * Upgrades a request (already past the Origin and token checks).
   *
   * @param request A request with `Upgrade: websocket`.
   * @param remote The client's address, for logs.
   * @returns The 101 response, or a refusal (405, 426, 400, 503).
   */
  upgrade(request: Request, remote: string): Response {
    const options = this.#options;
    if (request.method !== "GET") {
      return httpError(405, "Method Not Allowed: use GET", { allow: "GET" });
    }
    const refused = options.sessions.refusal();
    if (refused) return refused;
    if (request.headers.get("sec-websocket-version")?.trim() !== "13") {
      return httpError(
        426,
        "Upgrade Required: WebSocket version 13 is the one supported",
        { "sec-websocket-version": "13" },
      );
    }
    const offered = (request.headers.get("sec-websocket-protocol") ?? "")
      .split(",").map((p) => p.trim()).filter((p) => p !== "");
    const upgradeOptions: Deno.UpgradeWebSocketOptions = {
      idleTimeout: options.keepaliveSeconds,
    };
    if (offered.includes(MCP_SUBPROTOCOL)) {
      upgradeOptions.protocol = MCP_SUBPROTOCOL;
    }
    let upgraded;
    try {
      upgraded = Deno.upgradeWebSocket(request, upgradeOptions);
    } catch (error) {
      return httpError(
        400,
        `Bad Request: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    this.#counter++;
    const id = `ws-${this.#counter}-${crypto.randomUUID().slice(0, 8)}`;
    options.logger.info("Session {session} opened from {remote}", {
      session: id,
      remote,
    });
    const session = new WebSocketSession(upgraded.socket, {
      id,
      provider: options.provider,
      maxMessageBytes: options.maxMessageBytes,
      shutdownGraceMs: options.shutdownGraceMs,
      sendBufferBytes: options.sendBufferBytes,
      sendTimeoutMs: options.sendTimeoutMs,
      logger: options.logger,
      remote,
      metrics: options.metrics,
    });
    options.sessions.add(session);
    return upgraded.response;
  }
}
