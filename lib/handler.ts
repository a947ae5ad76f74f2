/**
 * The HTTP handler: routes every request of the runner's one port to the
 * health endpoint, the Streamable HTTP endpoint (`/mcp`), the legacy HTTP+SSE
 * endpoints (`/sse`, `/message`) or a WebSocket session (an upgrade on any
 * other path), after the Origin/Host checks. `main.ts` passes it to
 * `Deno.serve`.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import {
  type ChildSpec,
  childSpecOf,
  type DeliveryLimits,
} from "./child_bridge.ts";
import type { TokenAuth } from "./auth.ts";
import type { Metrics } from "./metrics.ts";
import { httpError } from "./http_reply.ts";
import { LEGACY_MESSAGE_PATH, LegacySseEndpoint } from "./legacy_sse.ts";
import { OriginGuard } from "./origin_guard.ts";
import type { SessionSet } from "./session_set.ts";
import { StreamableHttpEndpoint } from "./streamable_http.ts";
import { WebSocketSession } from "./ws_session.ts";

/** The Streamable HTTP endpoint. */
export const MCP_PATH = "/mcp";
/** The legacy HTTP+SSE stream endpoint. */
export const SSE_PATH = "/sse";

/** Paths served over plain HTTP; a WebSocket upgrade elsewhere starts a session. */
export const RESERVED_PATHS: ReadonlySet<string> = new Set([
  "/healthz",
  "/readyz",
  "/metrics",
  SSE_PATH,
  LEGACY_MESSAGE_PATH,
]);

/** The WebSocket subprotocol of MCP clients. */
export const MCP_SUBPROTOCOL = "mcp";

/** Options for {@linkcode RunnerHandler}. */
export interface HandlerOptions extends ChildSpec, DeliveryLimits {
  /** Ping interval for idle WebSocket clients, in seconds; 0 turns it off. */
  keepaliveSeconds: number;
  /** A Streamable HTTP session idle this long is ended, in milliseconds. */
  sessionIdleTimeoutMs: number;
  /** The address the runner listens on (loopback turns on the Host check). */
  listenHost: string;
  /** Extra origins allowed to connect. */
  allowOrigins: string[];
  /** Live sessions; also decides whether a new one may start. */
  sessions: SessionSet;
  /** The runner's version, for `/healthz`. */
  version: string;
  /** Logger. */
  logger: Logger;
  /** Checks bearer tokens; undefined when no token is required. */
  auth?: TokenAuth | undefined;
  /** Counts and latencies, served at `/metrics`. */
  metrics?: Metrics | undefined;
  /**
   * Whether a child can be started now (program resolvable), for `/readyz`.
   *
   * @default {() => Promise.resolve(true)}
   */
  ready?: () => Promise<boolean>;
}

/** The runner's request handler. Dispose it to stop its timers. */
export class RunnerHandler implements Disposable {
  #options: HandlerOptions;
  #guard: OriginGuard;
  #http: StreamableHttpEndpoint;
  #legacy: LegacySseEndpoint;
  #startedAt = Date.now();
  #counter = 0;

  /**
   * Creates the handler.
   *
   * @param options Program, limits, security settings and the registry.
   */
  constructor(options: HandlerOptions) {
    this.#options = options;
    this.#guard = new OriginGuard({
      listenHost: options.listenHost,
      allowOrigins: options.allowOrigins,
    });
    const shared = {
      ...childSpecOf(options),
      sendTimeoutMs: options.sendTimeoutMs,
      sendBufferBytes: options.sendBufferBytes,
      sessions: options.sessions,
      metrics: options.metrics,
    };
    this.#http = new StreamableHttpEndpoint({
      ...shared,
      idleTimeoutMs: options.sessionIdleTimeoutMs,
      logger: options.logger.getChild("http"),
    });
    this.#legacy = new LegacySseEndpoint({
      ...shared,
      logger: options.logger.getChild("sse"),
    });
  }

  /**
   * Handles one request.
   *
   * @param request The request.
   * @param info Connection information.
   * @returns The response.
   */
  handle = async (
    request: Request,
    info: Deno.ServeHandlerInfo,
  ): Promise<Response> => {
    const url = new URL(request.url);
    const upgrade =
      request.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (url.pathname === "/healthz" && !upgrade) return this.#health(request);
    if (url.pathname === "/readyz" && !upgrade) {
      return await this.#ready(request);
    }
    const metrics = this.#options.metrics;
    const refused = this.#guard.check(request);
    if (refused) {
      metrics?.refused("origin");
      this.#options.logger.warning("Refused {method} {path}: {reason}", {
        method: request.method,
        path: url.pathname,
        reason: (await refused.clone().json()).error.message,
      });
      await request.body?.cancel();
      return refused;
    }
    if (request.method === "OPTIONS" && !upgrade) {
      return this.#guard.preflight(request);
    }
    let principal = "anonymous";
    if (this.#options.auth) {
      // Browsers cannot set headers on a WebSocket or an EventSource: those
      // two may carry the token in a subprotocol or the query string.
      const browserForms = upgrade ||
        (url.pathname === SSE_PATH && request.method === "GET");
      const result = await this.#options.auth.authenticate(request, {
        subprotocol: upgrade,
        query: browserForms,
      });
      if (result instanceof Response) {
        metrics?.refused("auth");
        this.#options.logger.warning(
          "Refused {method} {path}: missing or wrong bearer token",
          {
            method: request.method,
            path: url.pathname,
          },
        );
        await request.body?.cancel();
        return this.#guard.withCors(request, result);
      }
      principal = result;
    }
    if (url.pathname === "/metrics" && !upgrade) return this.#metrics(request);
    const address = info.remoteAddr as Deno.NetAddr;
    const remote = `${address.hostname}:${address.port}`;
    let response: Response;
    if (upgrade && !RESERVED_PATHS.has(url.pathname)) {
      return this.#upgrade(request, info);
    } else if (url.pathname === MCP_PATH) {
      response = await this.#http.handle(request, remote, principal);
    } else if (url.pathname === SSE_PATH) {
      response = this.#legacy.open(request, remote, principal);
    } else if (url.pathname === LEGACY_MESSAGE_PATH) {
      response = await this.#legacy.message(request, principal);
    } else {
      await request.body?.cancel();
      response = httpError(
        426,
        `Upgrade Required: connect with a WebSocket (subprotocol "mcp"), or use Streamable HTTP at ${MCP_PATH} or HTTP+SSE at ${SSE_PATH}`,
        { upgrade: "websocket" },
      );
    }
    return this.#guard.withCors(request, response);
  };

  /** Stops the idle reaper. */
  [Symbol.dispose](): void {
    this.#http[Symbol.dispose]();
  }

  async #ready(request: Request): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return httpError(405, "Method Not Allowed: use GET", {
        allow: "GET, HEAD",
      });
    }
    if (this.#options.sessions.stopping) {
      return Response.json({ status: "stopping" }, { status: 503 });
    }
    const ready = await (this.#options.ready?.() ?? Promise.resolve(true));
    return ready ? Response.json({ status: "ready" }) : Response.json({
      status: "not ready",
      reason: "the MCP server's program cannot be found",
    }, { status: 503 });
  }

  #metrics(request: Request): Response {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return httpError(405, "Method Not Allowed: use GET", {
        allow: "GET, HEAD",
      });
    }
    const text = this.#options.metrics?.render(
      this.#options.sessions.countByTransport(),
    ) ?? "";
    return new Response(text, {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  }

  #health(request: Request): Response {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return httpError(405, "Method Not Allowed: use GET", {
        allow: "GET, HEAD",
      });
    }
    const sessions = this.#options.sessions;
    return Response.json({
      status: this.#options.sessions.stopping ? "stopping" : "ok",
      sessions: sessions.size,
      sessionsByTransport: sessions.countByTransport(),
      sessionsTotal: sessions.total,
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      version: this.#options.version,
    });
  }

  #upgrade(request: Request, info: Deno.ServeHandlerInfo): Response {
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
        {
          "sec-websocket-version": "13",
        },
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
      return httpError(
        400,
        `Bad Request: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    this.#counter++;
    const id = `ws-${this.#counter}-${crypto.randomUUID().slice(0, 8)}`;
    const log = options.logger.getChild("ws");
    log.info("Session {session} opened from {remote}", {
      session: id,
      remote: `${remote.hostname}:${remote.port}`,
    });
    const session = new WebSocketSession(upgraded.socket, {
      id,
      ...childSpecOf(options),
      sendHighWaterBytes: options.sendBufferBytes,
      sendTimeoutMs: options.sendTimeoutMs,
      logger: log,
      remote: `${remote.hostname}:${remote.port}`,
      metrics: options.metrics,
    });
    options.sessions.add(session);
    return upgraded.response;
  }
}
