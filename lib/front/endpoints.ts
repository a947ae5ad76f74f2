/**
 * One MCP server's endpoints on the runner's port: Streamable HTTP (and its
 * 2026-07-28 requests), legacy HTTP+SSE and WebSocket, all handing their
 * sessions channels from the same child provider. The request handler
 * routes `/mcp`, `/sse`, `/message` and upgrades to the default server's,
 * and `/servers/NAME/…` to a named server's.
 *
 * @module
 */

import type { BodyBudget } from "../http/body_budget.ts";
import type { Logger } from "../observe/log.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { ChildProvider, SessionLimits } from "../session/channel.ts";
import type { SessionAdmission } from "../session/session_set.ts";
import type { SharedProvider } from "../session/shared/shared_child.ts";
import {
  LEGACY_MESSAGE_PATH,
  LegacySseEndpoint,
} from "../transport/legacy_sse/endpoint.ts";
import { StreamableHttpEndpoint } from "../transport/streamable_http/endpoint.ts";
import { ModernEndpoint } from "../transport/streamable_http/modern.ts";
import { WebSocketEndpoint } from "../transport/websocket/endpoint.ts";

/** Options for {@linkcode ServerEndpoints}. */
export interface EndpointsOptions extends SessionLimits {
  /** Gives every session its channel to the MCP server. */
  provider: ChildProvider;
  /** The shared child 2026-07-28 requests are translated onto. */
  modernChild?: SharedProvider | undefined;
  /** Admits the server's sessions. */
  sessions: SessionAdmission;
  /** Ping interval for idle WebSocket clients, in seconds; 0: off. */
  keepaliveSeconds: number;
  /** A Streamable HTTP session idle this long is ended, in ms. */
  sessionIdleTimeoutMs: number;
  /** Logger of the server's sessions. */
  logger: Logger;
  /** Where the server's counts go. */
  metrics?: Metrics | undefined;
  /** Shared by every request body being read, on every server. */
  bodyBudget: BodyBudget;
  /**
   * The path before `/message` in the SSE `endpoint` event: "" for the
   * root paths, `/servers/NAME` for a named server.
   *
   * @default {""}
   */
  prefix?: string;
}

/** A server's three transports. Dispose it to stop their timers. */
export class ServerEndpoints implements Disposable {
  /** Streamable HTTP, `…/mcp`. */
  readonly http: StreamableHttpEndpoint;
  /** Legacy HTTP+SSE, `…/sse` and `…/message`. */
  readonly legacy: LegacySseEndpoint;
  /** WebSocket upgrades. */
  readonly ws: WebSocketEndpoint;
  #modern: ModernEndpoint | undefined;

  /**
   * Creates the endpoints.
   *
   * @param options The provider, limits and the session admission.
   */
  constructor(options: EndpointsOptions) {
    const common = {
      provider: options.provider,
      maxMessageBytes: options.maxMessageBytes,
      shutdownGraceMs: options.shutdownGraceMs,
      sendTimeoutMs: options.sendTimeoutMs,
      sendBufferBytes: options.sendBufferBytes,
      sessions: options.sessions,
      metrics: options.metrics,
      bodyBudget: options.bodyBudget,
    };
    this.#modern = options.modernChild === undefined
      ? undefined
      : new ModernEndpoint({
        child: options.modernChild,
        logger: options.logger.getChild("modern"),
        metrics: options.metrics,
      });
    this.http = new StreamableHttpEndpoint({
      ...common,
      modern: this.#modern,
      idleTimeoutMs: options.sessionIdleTimeoutMs,
      logger: options.logger.getChild("http"),
    });
    this.legacy = new LegacySseEndpoint({
      ...common,
      logger: options.logger.getChild("sse"),
      messagePath: `${options.prefix ?? ""}${LEGACY_MESSAGE_PATH}`,
    });
    this.ws = new WebSocketEndpoint({
      ...common,
      keepaliveSeconds: options.keepaliveSeconds,
      logger: options.logger.getChild("ws"),
    });
  }

  /** Ends the 2026-07-28 calls still open and stops the idle reaper. */
  [Symbol.dispose](): void {
    this.#modern?.closeAll();
    this.http[Symbol.dispose]();
  }
}
