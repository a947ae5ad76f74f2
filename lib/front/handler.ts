/**
 * The HTTP handler: routes every request of the runner's one port to the
 * health endpoint, the Streamable HTTP endpoint (`/mcp`), the legacy HTTP+SSE
 * endpoints (`/sse`, `/message`) or a WebSocket session (an upgrade on any
 * other path), after the Origin/Host checks. `main.ts` passes it to
 * `Deno.serve`.
 *
 * @module
 */

import { type Logger, RateLimitedLog } from "../observe/log.ts";
import type { ChildProvider, SessionLimits } from "../session/channel.ts";
import { TOKEN_HOW_TO, type TokenAuth } from "../security/auth.ts";
import { BodyBudget } from "../http/body_budget.ts";
import type { Metrics } from "../observe/metrics.ts";
import { httpError, reasonOf } from "../http/io.ts";
import { LEGACY_MESSAGE_PATH } from "../transport/legacy_sse/endpoint.ts";
import { OriginGuard } from "../security/origin_guard.ts";
import type { SessionSet } from "../session/session_set.ts";
import type { SharedProvider } from "../session/shared/shared_child.ts";
import type { ConsoleRouter } from "./console_backend.ts";
import {
  type RoutedServer,
  type ServerDirectory,
  SingleServer,
} from "./directory.ts";

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

/**
 * Request bodies of the largest size that may be read at once; more get 503
 * and Retry-After.
 */
export const BODY_BUDGET_MESSAGES = 4;

/**
 * Most refusals logged per second (the rest are counted in one warning), so
 * that a flood of bad requests cannot flood the log.
 */
export const REFUSAL_LOG_LINES_PER_SECOND = 20;

/** Most request errors logged per second (the rest are counted). */
export const ERROR_LOG_LINES_PER_SECOND = 10;

/** Where OAuth clients look for metadata (RFC 8414, RFC 9728). */
const WELL_KNOWN_PREFIX = "/.well-known/";

/** A refusal: the status and message sent, and the reason logged. */
interface Refusal {
  /** HTTP status. */
  status: number;
  /** The JSON-RPC error message, starting with the status text. */
  message: string;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** For the log, when it differs from the message. */
  reason?: string;
}

/** Where named servers live: `/servers/NAME/…`. */
export const SERVERS_PREFIX = "/servers/";

/** Options for {@linkcode RunnerHandler}. */
export interface HandlerOptions extends SessionLimits {
  /**
   * The servers to route to; without it, one server made of `provider`,
   * `modernChild` and `notReady`.
   */
  servers?: ServerDirectory | undefined;
  /** Gives every session its channel to the MCP server (one server). */
  provider?: ChildProvider | undefined;
  /**
   * The shared child that 2026-07-28 requests are translated onto; without
   * it they get a 400 that tells dual-era clients to fall back.
   */
  modernChild?: SharedProvider | undefined;
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
   * Why a child cannot be started now (program or its `#!` interpreter
   * missing), for `/readyz`; undefined when it can.
   *
   * @default {() => Promise.resolve(undefined)}
   */
  notReady?: () => Promise<string | undefined>;
  /** `/status` and, with `--console`, the web console. */
  console?: ConsoleRouter | undefined;
}

/** The runner's request handler. Dispose it to stop its timers. */
export class RunnerHandler implements Disposable {
  #options: HandlerOptions;
  #guard: OriginGuard;
  #servers: ServerDirectory;
  #single: SingleServer | undefined;
  #startedAt = Date.now();
  #refusals: RateLimitedLog;
  #errors: RateLimitedLog;

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
    this.#refusals = new RateLimitedLog(options.logger, {
      perSecond: REFUSAL_LOG_LINES_PER_SECOND,
      what: "refusal",
    });
    this.#errors = new RateLimitedLog(options.logger, {
      perSecond: ERROR_LOG_LINES_PER_SECOND,
      what: "request error",
    });
    if (options.servers !== undefined) {
      this.#servers = options.servers;
    } else {
      if (options.provider === undefined) {
        throw new TypeError(
          "Cannot create the handler: give servers or a provider",
        );
      }
      this.#single = new SingleServer({
        ...options,
        provider: options.provider,
        logger: options.logger,
        // Request bodies being read at once, on every endpoint together.
        bodyBudget: new BodyBudget(
          BODY_BUDGET_MESSAGES * options.maxMessageBytes,
        ),
        countByTransport: () => options.sessions.countByTransport(),
      });
      this.#servers = this.#single;
    }
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
    const url = URL.parse(request.url);
    if (url === null) {
      // A Host the URL parser rejects ("[::1]x", "localhost:evil"), or the
      // same in an absolute request target.
      await request.body?.cancel();
      return this.#refuse(request, {
        status: 400,
        message:
          `Bad Request: the Host header is not a valid host[:port], received "${
            clip(authorityOf(request.url), 100)
          }"`,
      });
    }
    const upgrade =
      request.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (url.pathname === "/healthz" && !upgrade) return this.#health(request);
    if (url.pathname === "/readyz" && !upgrade) {
      return await this.#ready(request);
    }
    const metrics = this.#options.metrics;
    const forbidden = this.#guard.check(request);
    if (forbidden !== undefined) {
      metrics?.refused("origin");
      await request.body?.cancel();
      return this.#refuse(request, { status: 403, message: forbidden });
    }
    if (request.method === "OPTIONS" && !upgrade) {
      return this.#guard.preflight(request);
    }
    const consoleRouter = this.#options.console;
    if (
      upgrade && consoleRouter !== undefined &&
      (consoleRouter.isPage(url.pathname) || consoleRouter.isApi(url.pathname))
    ) {
      return this.#refuse(request, {
        status: 400,
        message:
          `Bad Request: ${url.pathname} is served over plain HTTP, not as a WebSocket`,
      });
    }
    if (consoleRouter?.isPage(url.pathname) && !upgrade) {
      // The page files hold nothing secret, and a browser navigation cannot
      // carry a bearer header: served without a token, like /healthz.
      await request.body?.cancel();
      return consoleRouter.page(request, url.pathname);
    }
    if (
      url.pathname.startsWith(WELL_KNOWN_PREFIX) && !upgrade &&
      (request.method === "GET" || request.method === "HEAD")
    ) {
      // OAuth clients probe for metadata after a 401; a 404 without a token
      // tells them there is none, instead of another 401.
      return this.#guard.withCors(
        request,
        this.#refuse(request, {
          status: 404,
          message: this.#options.auth
            ? `Not Found: this runner uses a static bearer token, not OAuth: ${TOKEN_HOW_TO}`
            : "Not Found: this runner uses no OAuth, and requires no token here",
        }),
      );
    }
    let principal = "anonymous";
    if (this.#options.auth) {
      // Browsers cannot set headers on a WebSocket or an EventSource: those
      // two may carry the token in a subprotocol or the query string.
      const browserForms = upgrade ||
        (url.pathname === SSE_PATH && request.method === "GET");
      const result = await this.#options.auth.identify(request, {
        subprotocol: upgrade,
        query: browserForms,
      });
      if (typeof result !== "string") {
        metrics?.refused("auth");
        await request.body?.cancel();
        return this.#guard.withCors(
          request,
          this.#refuse(request, { status: 401, ...result }),
        );
      }
      principal = result;
    }
    if (url.pathname === "/metrics" && !upgrade) return this.#metrics(request);
    if (consoleRouter?.isApi(url.pathname) && !upgrade) {
      const answered = await consoleRouter.api(request, url, principal);
      this.#logRefused(request, answered);
      return this.#guard.withCors(request, answered);
    }
    const address = info.remoteAddr as Deno.NetAddr;
    const remote = `${address.hostname}:${address.port}`;
    const path = url.pathname;
    let server: RoutedServer | undefined;
    let rest = path;
    if (path.startsWith(SERVERS_PREFIX) && this.#servers.named) {
      const cut = path.indexOf("/", SERVERS_PREFIX.length);
      const name = decodedSegment(
        path.slice(SERVERS_PREFIX.length, cut === -1 ? undefined : cut),
      );
      rest = cut === -1 ? "" : path.slice(cut);
      const sessionId = rest === MCP_PATH
        ? request.headers.get("mcp-session-id") ?? undefined
        : rest === LEGACY_MESSAGE_PATH
        ? url.searchParams.get("sessionId") ?? undefined
        : undefined;
      server = this.#servers.find(name, sessionId);
      if (server === undefined) {
        await request.body?.cancel();
        return this.#guard.withCors(
          request,
          this.#unknownServer(
            request,
            `no server is named "${clip(name, 64)}"`,
          ),
        );
      }
    } else {
      server = this.#servers.defaultServer;
      const rootPath = path === MCP_PATH || path === SSE_PATH ||
        path === LEGACY_MESSAGE_PATH || (upgrade && path === "/");
      if (server === undefined && (rootPath || upgrade)) {
        await request.body?.cancel();
        return this.#guard.withCors(
          request,
          this.#unknownServer(
            request,
            "no default server (--default-server): use /servers/NAME/mcp, /servers/NAME/sse or ws://HOST/servers/NAME",
          ),
        );
      }
      // With named servers, only `/` upgrades to the default server.
      if (this.#servers.named && upgrade && path !== "/") server = undefined;
    }
    const unavailable = server?.unavailable;
    if (server !== undefined && unavailable !== undefined) {
      await request.body?.cancel();
      return this.#guard.withCors(
        request,
        this.#refuse(request, {
          status: 503,
          message: `Service Unavailable: server ${server.name} ${unavailable}`,
          headers: { "retry-after": "30" },
        }),
      );
    }
    const endpoints = server?.endpoints;
    const named = server !== undefined && rest !== path;
    let response: Response;
    if (
      endpoints !== undefined && upgrade &&
      (named ? rest === "" || rest === "/" : !RESERVED_PATHS.has(path))
    ) {
      const upgraded = endpoints.ws.upgrade(request, remote);
      this.#logRefused(request, upgraded);
      return upgraded;
    } else if (endpoints !== undefined && rest === MCP_PATH) {
      response = await endpoints.http.handle(request, remote, principal);
    } else if (endpoints !== undefined && rest === SSE_PATH) {
      response = await endpoints.legacy.open(request, remote, principal);
    } else if (endpoints !== undefined && rest === LEGACY_MESSAGE_PATH) {
      response = await endpoints.legacy.message(request, principal);
    } else {
      await request.body?.cancel();
      const base = named ? `${SERVERS_PREFIX}${server!.name}` : "";
      return this.#guard.withCors(
        request,
        this.#refuse(request, {
          status: 426,
          message:
            `Upgrade Required: connect with a WebSocket (subprotocol "mcp"), or use Streamable HTTP at ${base}${MCP_PATH} or HTTP+SSE at ${base}${SSE_PATH}`,
          headers: { upgrade: "websocket" },
        }),
      );
    }
    this.#logRefused(request, response);
    return this.#guard.withCors(request, response);
  };

  /** A 404 that lists the servers there are. */
  #unknownServer(request: Request, reason: string): Response {
    const names = this.#servers.all().map((s) => s.name);
    this.#refusals.log("info", "Refused {method} {path}: {reason} ({status})", {
      method: clip(request.method, 20),
      path: clip(pathOf(request.url), 200),
      reason,
      status: 404,
    });
    return Response.json({
      jsonrpc: "2.0",
      id: null,
      error: {
        code: -32000,
        message: `Not Found: ${reason}`,
        data: { servers: names },
      },
    }, { status: 404 });
  }

  /**
   * The endpoints' own refusals (400, 404, 413, 415, 503, …) get one line
   * each, rate-limited like the handler's.
   */
  #logRefused(request: Request, response: Response): void {
    const reason = response.status >= 400 ? reasonOf(response) : undefined;
    if (reason === undefined) return;
    this.#refusals.log("info", "Refused {method} {path}: {reason} ({status})", {
      method: clip(request.method, 20),
      path: clip(pathOf(request.url), 200),
      reason,
      status: response.status,
    });
  }

  /**
   * Answers a request whose handling threw, as `Deno.serve`'s `onError`:
   * the error is logged on one line, without its stack trace and
   * rate-limited, and the client gets a 500 with a JSON-RPC error body.
   *
   * @param error What the handler threw.
   * @returns The 500 response.
   */
  onError = (error: unknown): Response => {
    this.#errors.log("error", "Cannot handle a request: {error}", {
      error: errorText(error),
    });
    return httpError(
      500,
      "Internal Server Error: the runner could not handle this request (its log says why)",
    );
  };

  /** Stops the idle reaper and writes pending counts of suppressed lines. */
  [Symbol.dispose](): void {
    this.#single?.[Symbol.dispose]();
    this.#refusals[Symbol.dispose]();
    this.#errors[Symbol.dispose]();
  }

  /**
   * Logs a refusal (rate-limited) and builds its response.
   *
   * @param request The refused request.
   * @param refusal Status, message, headers and the reason to log.
   * @returns The response.
   */
  #refuse(request: Request, refusal: Refusal): Response {
    this.#refusals.log("info", "Refused {method} {path}: {reason} ({status})", {
      method: clip(request.method, 20),
      path: clip(pathOf(request.url), 200),
      reason: refusal.reason ?? refusal.message,
      status: refusal.status,
    });
    return httpError(refusal.status, refusal.message, refusal.headers);
  }

  async #ready(request: Request): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return this.#refuse(request, {
        status: 405,
        message: "Method Not Allowed: use GET",
        headers: { allow: "GET, HEAD" },
      });
    }
    const sessions = this.#options.sessions;
    if (sessions.stopping) {
      return Response.json({ status: "stopping" }, { status: 503 });
    }
    if (sessions.full) {
      return Response.json({
        status: "at capacity",
        reason:
          "every session slot is taken and no session is idle (--max-sessions)",
      }, { status: 503, headers: { "retry-after": "1" } });
    }
    const wanted = URL.parse(request.url)?.searchParams.get("server");
    let servers = this.#servers.all();
    if (wanted !== null && wanted !== undefined) {
      const one = this.#servers.find(wanted);
      if (one === undefined) {
        return Response.json({
          status: "unknown server",
          reason: `no server is named "${clip(wanted, 64)}"`,
          servers: servers.map((s) => s.name),
        }, { status: 404 });
      }
      servers = [one];
    }
    const problems: Record<string, string> = {};
    let retryAfter = 0;
    for (const server of servers) {
      // A disabled server is not expected to serve.
      if (server.disabled) continue;
      const problem = server.unavailable !== undefined
        ? { reason: server.unavailable, retryAfterSeconds: undefined }
        : await server.readiness();
      if (problem === undefined) continue;
      problems[server.name] = problem.reason;
      retryAfter = Math.max(retryAfter, problem.retryAfterSeconds ?? 0);
    }
    const failed = Object.keys(problems);
    if (failed.length === 0) return Response.json({ status: "ready" });
    const headers: Record<string, string> = retryAfter > 0
      ? { "retry-after": String(retryAfter) }
      : {};
    // One server: its reason as before; several: every failing one.
    const reason = !this.#servers.named
      ? problems[failed[0]!]
      : failed.map((name) => `${name}: ${problems[name]}`).join("; ");
    return Response.json(
      this.#servers.named
        ? { status: "not ready", reason, servers: problems }
        : { status: "not ready", reason },
      { status: 503, headers },
    );
  }

  #metrics(request: Request): Response {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return this.#refuse(request, {
        status: 405,
        message: "Method Not Allowed: use GET",
        headers: { allow: "GET, HEAD" },
      });
    }
    const text = this.#servers.metricsText();
    return new Response(text, {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  }

  #health(request: Request): Response {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return this.#refuse(request, {
        status: 405,
        message: "Method Not Allowed: use GET",
        headers: { allow: "GET, HEAD" },
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
}

/** A path segment with its %-escapes decoded, or as it is when they are bad. */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The path of a request URL, even one the URL parser rejects. */
function pathOf(url: string): string {
  const parsed = URL.parse(url);
  if (parsed !== null) return parsed.pathname;
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const rest = url.slice(start);
  const end = rest.search(/[?#]/);
  return end === -1 ? rest : rest.slice(0, end);
}

/** The host[:port] of a request URL, even one the URL parser rejects. */
function authorityOf(url: string): string {
  const start = url.indexOf("//") + 2;
  const end = url.slice(start).search(/[/?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

/** At most `max` characters of `text`, with an ellipsis when cut. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** An error as one line, `Name: message`, never with its stack trace. */
function errorText(error: unknown): string {
  const text = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  return text.replaceAll(/[\r\n]+/g, " ");
}
