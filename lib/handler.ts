/**
 * The HTTP handler: health endpoint and WebSocket upgrades. `main.ts` passes
 * it to `Deno.serve`; tests call it the same way.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { SessionSet } from "./session_set.ts";
import { WebSocketSession } from "./ws_session.ts";

/** Paths served over plain HTTP; a WebSocket upgrade elsewhere starts a session. */
export const RESERVED_PATHS: ReadonlySet<string> = new Set(["/healthz"]);

/** The WebSocket subprotocol of MCP clients. */
export const MCP_SUBPROTOCOL = "mcp";

/** Options for {@linkcode createHandler}. */
export interface HandlerOptions {
  /** The MCP server's executable. */
  program: string;
  /** Its arguments. */
  args: string[];
  /** Its environment. */
  env: Record<string, string>;
  /** Most live sessions; more get 503. */
  maxSessions: number;
  /** Largest message in either direction, in bytes. */
  maxMessageBytes: number;
  /** Most unanswered requests per session. */
  maxInFlight: number;
  /** Wait at each stop stage of a child. */
  shutdownGraceMs: number;
  /** Close a client that leaves its send buffer full this long. */
  sendTimeoutMs: number;
  /** Ping interval for idle clients, in seconds; 0 turns it off. */
  keepaliveSeconds: number;
  /** Live sessions. */
  sessions: SessionSet;
  /** The runner's version, for `/healthz`. */
  version: string;
  /** Logger. */
  logger: Logger;
  /**
   * Whether new sessions are refused (set while shutting down).
   *
   * @default {() => false}
   */
  isStopping?: () => boolean;
}

/**
 * Creates the request handler.
 *
 * @param options Program, limits and the session registry.
 * @returns A handler for `Deno.serve`.
 */
export function createHandler(
  options: HandlerOptions,
): (request: Request, info: Deno.ServeHandlerInfo) => Response {
  const startedAt = Date.now();
  let counter = 0;
  return (request, info) => {
    const url = new URL(request.url);
    const upgrade =
      request.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (url.pathname === "/healthz" && !upgrade) {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return text(405, "Method Not Allowed: use GET", { allow: "GET, HEAD" });
      }
      return Response.json({
        status: options.isStopping?.() ? "stopping" : "ok",
        sessions: options.sessions.size,
        sessionsTotal: options.sessions.total,
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        version: options.version,
      });
    }
    if (!upgrade || RESERVED_PATHS.has(url.pathname)) {
      return text(
        426,
        'Upgrade Required: connect with a WebSocket (subprotocol "mcp") to send JSON-RPC messages',
        { upgrade: "websocket" },
      );
    }
    if (request.method !== "GET") {
      return text(405, "Method Not Allowed: use GET", { allow: "GET" });
    }
    if (options.isStopping?.()) {
      return text(503, "Service Unavailable: the runner is shutting down", {
        "retry-after": "5",
      });
    }
    if (options.sessions.size >= options.maxSessions) {
      options.logger.warning(
        "Refused a session: {max} sessions are open (--max-sessions)",
        {
          max: options.maxSessions,
        },
      );
      return text(
        503,
        `Service Unavailable: ${options.maxSessions} sessions are open (--max-sessions)`,
        { "retry-after": "1" },
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
    const remote = info.remoteAddr as Deno.NetAddr;
    let upgraded;
    try {
      upgraded = Deno.upgradeWebSocket(request, upgradeOptions);
    } catch (error) {
      return text(
        400,
        `Bad Request: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    counter++;
    const id = `ws-${counter}-${crypto.randomUUID().slice(0, 8)}`;
    options.logger.info("Session {session} opened from {remote}", {
      session: id,
      remote: `${remote.hostname}:${remote.port}`,
    });
    const session = new WebSocketSession(upgraded.socket, {
      id,
      program: options.program,
      args: options.args,
      env: options.env,
      maxMessageBytes: options.maxMessageBytes,
      maxInFlight: options.maxInFlight,
      shutdownGraceMs: options.shutdownGraceMs,
      sendTimeoutMs: options.sendTimeoutMs,
      logger: options.logger,
    });
    options.sessions.add(session);
    return upgraded.response;
  };
}

function text(
  status: number,
  body: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
