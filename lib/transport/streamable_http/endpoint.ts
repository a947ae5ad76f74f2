/**
 * The Streamable HTTP endpoint (`/mcp`, MCP revisions 2025-03-26 to
 * 2025-11-25; a 2024-11-05 version header is accepted too): session creation
 * on `initialize`, POST/GET/DELETE, protocol version checks and idle reaping.
 *
 * @module
 */

import type { Logger } from "../../observe/log.ts";
import type { ChildProvider, SessionLimits } from "../../session/channel.ts";
import { HttpSession } from "./session.ts";
import { classify, isModernVersion } from "./era.ts";
import type { ModernEndpoint } from "./modern.ts";
import type { BodyBudget } from "../../http/body_budget.ts";
import {
  accepts,
  cannotStart,
  declaredTooLarge,
  httpError,
  notJson,
  readMessage,
  SSE_HEADERS,
} from "../../http/io.ts";
import { ErrorCode, errorResponse } from "../../jsonrpc/message.ts";
import type { Metrics } from "../../observe/metrics.ts";
import type { SessionAdmission } from "../../session/session_set.ts";
import { newSessionId } from "../../session/session_id.ts";
import { parseEventId } from "../sse_stream.ts";

/** Protocol revisions a client may name in `MCP-Protocol-Version`. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = [
  "2024-11-05",
  "2025-03-26",
  "2025-06-18",
  "2025-11-25",
];

/** Options for {@linkcode StreamableHttpEndpoint}. */
export interface StreamableHttpOptions extends SessionLimits {
  /** Serves 2026-07-28 requests; without it they get a fallback 400. */
  modern?: ModernEndpoint | undefined;
  /** Gives each session its channel to an MCP server. */
  provider: ChildProvider;
  /** A session without requests or open streams this long is ended. */
  idleTimeoutMs: number;
  /** Every live session. */
  sessions: SessionAdmission;
  /** Logger. */
  logger: Logger;
  /** Where counts and latencies go. */
  metrics?: Metrics | undefined;
  /** Shared by every request body being read. */
  bodyBudget?: BodyBudget | undefined;
}

/** Serves `/mcp`. Dispose it to stop the idle reaper. */
export class StreamableHttpEndpoint implements Disposable {
  #options: StreamableHttpOptions;
  #sessions = new Map<string, HttpSession>();
  #reaper: ReturnType<typeof setInterval> | undefined;

  /**
   * Creates the endpoint.
   *
   * @param options Program, limits and the session registry.
   */
  constructor(options: StreamableHttpOptions) {
    this.#options = options;
  }

  /**
   * Whether a session with this id is live here.
   *
   * @param id The `Mcp-Session-Id`.
   * @returns Whether it is.
   */
  hasSession(id: string): boolean {
    return this.#sessions.has(id.trim());
  }

  /**
   * Handles a request to the MCP endpoint.
   *
   * @param request The request.
   * @param remote The client's address, for the access log.
   * @param principal Who the request authenticated as; a session answers
   *   only the principal that created it.
   * @returns The response.
   */
  async handle(
    request: Request,
    remote = "unknown",
    principal = "anonymous",
  ): Promise<Response> {
    switch (request.method) {
      case "POST":
        return await this.#post(request, remote, principal);
      case "GET":
        return this.#get(request, principal);
      case "DELETE":
        return await this.#delete(request, principal);
      default:
        return httpError(405, `Method Not Allowed: use GET, POST or DELETE`, {
          allow: "GET, POST, DELETE, OPTIONS",
        });
    }
  }

  /** Stops the idle reaper. Sessions are ended through the session registry. */
  [Symbol.dispose](): void {
    clearInterval(this.#reaper);
    this.#reaper = undefined;
  }

  #versionError(request: Request): Response | undefined {
    const version = request.headers.get("mcp-protocol-version");
    if (
      version === null || SUPPORTED_PROTOCOL_VERSIONS.includes(version.trim())
    ) return undefined;
    return httpError(
      400,
      `Bad Request: unsupported MCP-Protocol-Version "${version}"; supported: ${
        SUPPORTED_PROTOCOL_VERSIONS.join(", ")
      }`,
    );
  }

  #session(request: Request, principal: string): HttpSession | Response {
    const id = request.headers.get("mcp-session-id");
    if (id === null || id.trim() === "") {
      return httpError(
        400,
        "Bad Request: the Mcp-Session-Id header is required; send initialize first",
      );
    }
    const session = this.#sessions.get(id.trim());
    // A session answers only the token that created it: to anyone else it
    // does not exist.
    if (!session || session.ended || session.principal !== principal) {
      return httpError(
        404,
        "Not Found: unknown or terminated session; send initialize again",
        {},
        -32001,
      );
    }
    return session;
  }

  async #post(
    request: Request,
    remote: string,
    principal: string,
  ): Promise<Response> {
    const accept = request.headers.get("accept");
    const sse = accepts(accept, "text/event-stream");
    const json = accepts(accept, "application/json");
    if (!sse && !json) {
      await request.body?.cancel();
      return httpError(
        406,
        "Not Acceptable: accept application/json or text/event-stream",
      );
    }
    // Everything that can be refused without the body is refused before it
    // is read: many large bodies at once are memory.
    let early = await this.#beforeBody(request, principal);
    if (early instanceof Response) return early;
    const check = await readMessage(request, {
      maxBytes: this.#options.maxMessageBytes,
      budget: this.#options.bodyBudget,
      metrics: this.#options.metrics,
    });
    if (check instanceof Response) return check;
    if (check.errors.length > 0) {
      return new Response(`[${check.errors.join(",")}]`, {
        status: 400,
        headers: { "content-type": "application/json" },
      });
    }
    if (this.#options.modern !== undefined) {
      const version = request.headers.get("mcp-protocol-version")?.trim() ??
        null;
      const era = classify(check.messages, version);
      if (era.era === "modern") {
        return await this.#options.modern.handle(
          request,
          era.message,
          check.text,
          era.meta,
        );
      }
      if (era.era === "malformed") {
        return new Response(errorResponse(era.key, era.code, era.message), {
          status: 400,
          headers: { "content-type": "application/json" },
        });
      }
      if (modernLooking(request)) {
        // Skipped before the body was read, because it looked modern.
        const checked = this.#sessionOf(request, principal);
        if (checked instanceof Response) return checked;
        early = checked;
      }
    }
    const initialize = check.messages.some((m) => m.method === "initialize");
    let session: HttpSession;
    if (early === undefined) {
      if (!initialize) {
        // 2026-07-28 (stateless) clients send no initialize. A plain 400 with a
        // legacy error code tells a dual-era client to fall back to initialize.
        const modern = request.headers.has("mcp-method") ||
          request.headers.get("mcp-protocol-version")?.trim() === "2026-07-28";
        return httpError(
          400,
          modern
            ? "Bad Request: this server speaks MCP 2025-11-25 and earlier; send initialize first"
            : "Bad Request: the Mcp-Session-Id header is required; send initialize first",
        );
      }
      const versionError = this.#versionError(request);
      if (versionError) return versionError;
      const available = await this.#options.provider.whenAvailable();
      if (!available.ok) {
        return httpError(503, `Service Unavailable: ${available.reason}`, {
          "retry-after": String(available.retryAfterSeconds),
        });
      }
      const created = this.#create(remote, principal);
      if (created instanceof Response) return created;
      session = created;
    } else {
      if (initialize) {
        return httpError(
          400,
          "Bad Request: the session is already initialized",
          {},
          ErrorCode.InvalidRequest,
        );
      }
      session = early;
    }
    if (session.backlogged) {
      return httpError(
        503,
        "Service Unavailable: the MCP server is not reading its input; retry later",
        {
          "retry-after": "1",
          "mcp-session-id": session.id,
        },
      );
    }
    const headers = { "mcp-session-id": session.id };
    const result = session.post(
      check.text,
      check.messages,
      sse ? "sse" : "json",
      request.signal,
    );
    if ("accepted" in result) {
      return new Response(null, { status: 202, headers });
    }
    if ("stream" in result) {
      return new Response(result.stream, {
        headers: { ...SSE_HEADERS, ...headers },
      });
    }
    const replies = await result.json;
    const payload =
      check.messages.length === 1 && !check.text.trimStart().startsWith("[")
        ? replies[0] ?? ""
        : `[${replies.join(",")}]`;
    return new Response(payload, {
      headers: { "content-type": "application/json", ...headers },
    });
  }

  /**
   * The checks a POST can pass or fail before its body is read: content
   * type, the session and its version header, the session's backlog, and
   * for a new session the capacity and the declared length.
   *
   * @returns The session, undefined for a POST without one, or a refusal.
   */
  async #beforeBody(
    request: Request,
    principal: string,
  ): Promise<HttpSession | undefined | Response> {
    const refused = await notJson(request) ??
      await declaredTooLarge(request, this.#options.maxMessageBytes);
    if (refused) {
      if (refused.status === 413) this.#options.metrics?.refused("size");
      return refused;
    }
    // A 2026-07-28 request has no session (a session header on it is
    // ignored) and takes no session slot: its body decides.
    if (this.#options.modern !== undefined && modernLooking(request)) {
      return undefined;
    }
    const checked = this.#sessionOf(request, principal);
    if (checked instanceof Response) await request.body?.cancel();
    return checked;
  }

  /**
   * The session a POST names, undefined for none (when a new one may
   * start), or a refusal.
   */
  #sessionOf(
    request: Request,
    principal: string,
  ): HttpSession | undefined | Response {
    const hasSession =
      (request.headers.get("mcp-session-id") ?? "").trim() !== "";
    if (!hasSession) {
      if (!this.#options.sessions.full) return undefined;
      // Refused by the registry, which counts and logs it.
      return this.#options.sessions.refusal() ??
        httpError(503, "Service Unavailable: no session slot is free", {
          "retry-after": "1",
        });
    }
    const found = this.#session(request, principal);
    return found instanceof Response
      ? found
      : (this.#versionError(request) ?? found);
  }

  #get(request: Request, principal: string): Response {
    const accept = request.headers.get("accept");
    if (accept !== null && !accepts(accept, "text/event-stream")) {
      return httpError(
        406,
        "Not Acceptable: the GET stream is text/event-stream",
      );
    }
    const session = this.#session(request, principal);
    if (session instanceof Response) return session;
    const versionError = this.#versionError(request);
    if (versionError) return versionError;
    const lastEventId = request.headers.get("last-event-id");
    const resume = lastEventId === null ? undefined : parseEventId(lastEventId);
    const body = session.get(resume);
    if (body === "conflict") {
      return httpError(
        409,
        "Conflict: this session already has an open GET stream",
      );
    }
    return new Response(body, {
      headers: { ...SSE_HEADERS, "mcp-session-id": session.id },
    });
  }

  async #delete(request: Request, principal: string): Promise<Response> {
    const session = this.#session(request, principal);
    if (session instanceof Response) return session;
    await session.end("Session deleted by the client");
    return new Response(null, { status: 200 });
  }

  #create(remote: string, principal: string): HttpSession | Response {
    const options = this.#options;
    const refused = options.sessions.refusal();
    if (refused) return refused;
    const id = newSessionId();
    let session: HttpSession;
    try {
      session = HttpSession.start({
        id,
        provider: options.provider,
        maxMessageBytes: options.maxMessageBytes,
        shutdownGraceMs: options.shutdownGraceMs,
        sendTimeoutMs: options.sendTimeoutMs,
        sendBufferBytes: options.sendBufferBytes,
        logger: options.logger,
        remote,
        principal,
        metrics: options.metrics,
      });
    } catch (error) {
      return cannotStart(error);
    }
    this.#sessions.set(id, session);
    options.sessions.add(session);
    session.done.then(() => {
      this.#sessions.delete(id);
      if (this.#sessions.size === 0) this[Symbol.dispose]();
    });
    this.#startReaper();
    return session;
  }

  #startReaper(): void {
    if (this.#reaper !== undefined) return;
    const timeout = this.#options.idleTimeoutMs;
    const every = Math.min(Math.max(Math.floor(timeout / 4), 250), 60_000);
    this.#reaper = setInterval(() => {
      const now = Date.now();
      for (const session of this.#sessions.values()) {
        if (
          !session.ended && !session.streaming &&
          now - session.lastActivity > timeout
        ) {
          this.#options.logger.info(
            "Session {session} idle for {ms} ms: ending it",
            {
              session: session.handle,
              ms: now - session.lastActivity,
            },
          );
          void session.end(
            "Session was idle too long (--session-idle-timeout)",
          );
        }
      }
    }, every);
  }
}

/**
 * Whether a POST may be a 2026-07-28 request, before its body is read: a
 * modern version header, or an `Mcp-Method` header without a session.
 */
function modernLooking(request: Request): boolean {
  const version = request.headers.get("mcp-protocol-version")?.trim();
  if (version !== undefined && isModernVersion(version)) return true;
  return request.headers.has("mcp-method") &&
    (request.headers.get("mcp-session-id") ?? "").trim() === "";
}
