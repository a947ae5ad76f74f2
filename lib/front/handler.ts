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
import { OriginGuard } from "../security/origin_guard.ts";
import type { SessionSet } from "../session/session_set.ts";
import type { SharedProvider } from "../session/shared/shared_child.ts";
import type { ConsoleRouter } from "./console_backend.ts";
import { type ServerDirectory, SingleServer } from "./directory.ts";
import { healthOf, probeResponse, readinessOf } from "./probes.ts";
import {
  authorityOf,
  clip,
  pathOf,
  type Refusal,
  ServerRouter,
  SERVERS_PREFIX,
  SSE_PATH,
} from "./server_router.ts";

export {
  MCP_PATH,
  RESERVED_PATHS,
  SERVERS_PREFIX,
  SSE_PATH,
} from "./server_router.ts";

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
  #router: ServerRouter;
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
    this.#router = new ServerRouter({
      servers: this.#servers,
      refuse: (request, refusal) => this.#refuse(request, refusal),
      logRefused: (request, response) => this.#logRefused(request, response),
      logRefusal: (request, reason, status) =>
        this.#refusals.log(
          "info",
          "Refused {method} {path}: {reason} ({status})",
          {
            method: clip(request.method, 20),
            path: clip(pathOf(request.url), 200),
            reason,
            status,
          },
        ),
      withCors: (request, response) => this.#guard.withCors(request, response),
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
    const page = await this.#consolePage(request, url, upgrade);
    if (page !== undefined) return page;
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
    const principal = await this.#authenticate(request, url, upgrade);
    if (principal instanceof Response) return principal;
    if (url.pathname === "/metrics" && !upgrade) return this.#metrics(request);
    const consoleRouter = this.#options.console;
    if (consoleRouter?.isApi(url.pathname) && !upgrade) {
      const answered = await consoleRouter.api(request, url, principal);
      this.#logRefused(request, answered);
      return this.#guard.withCors(request, answered);
    }
    const address = info.remoteAddr as Deno.NetAddr;
    return await this.#router.dispatch(
      request,
      url,
      upgrade,
      principal,
      `${address.hostname}:${address.port}`,
    );
  };

  /**
   * The console's page files (no token needed), or a refusal of an upgrade
   * on a console path; undefined for every other request.
   */
  async #consolePage(
    request: Request,
    url: URL,
    upgrade: boolean,
  ): Promise<Response | undefined> {
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
    return undefined;
  }

  /**
   * Who the request's token says the caller is, or the 401 to send.
   * Browsers cannot set headers on a WebSocket or an EventSource: those two
   * may carry the token in a subprotocol or the query string.
   */
  async #authenticate(
    request: Request,
    url: URL,
    upgrade: boolean,
  ): Promise<string | Response> {
    const auth = this.#options.auth;
    if (auth === undefined) return "anonymous";
    const sse = url.pathname === SSE_PATH ||
      (url.pathname.startsWith(SERVERS_PREFIX) &&
        url.pathname.endsWith(SSE_PATH));
    const result = await auth.identify(request, {
      subprotocol: upgrade,
      query: upgrade || (sse && request.method === "GET"),
    });
    if (typeof result === "string") return result;
    this.#options.metrics?.refused("auth");
    await request.body?.cancel();
    return this.#guard.withCors(
      request,
      this.#refuse(request, { status: 401, ...result }),
    );
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

  /** A 405 unless the request is a GET or a HEAD. */
  #getOnly(request: Request): Response | undefined {
    if (request.method === "GET" || request.method === "HEAD") return undefined;
    return this.#refuse(request, {
      status: 405,
      message: "Method Not Allowed: use GET",
      headers: { allow: "GET, HEAD" },
    });
  }

  async #ready(request: Request): Promise<Response> {
    const refused = this.#getOnly(request);
    if (refused !== undefined) return refused;
    const probe = await readinessOf(
      request,
      this.#servers,
      this.#options.sessions,
    );
    // Probes need no token; the reasons (server names, paths, variable
    // names) are for callers with one.
    const auth = this.#options.auth;
    const detailed = auth === undefined || probe.status === 200 ||
      typeof await auth.identify(request, {
          subprotocol: false,
          query: false,
        }) ===
        "string";
    return probeResponse(probe, detailed);
  }

  #metrics(request: Request): Response {
    return this.#getOnly(request) ??
      new Response(this.#servers.metricsText(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
  }

  #health(request: Request): Response {
    return this.#getOnly(request) ??
      Response.json(
        healthOf(
          this.#options.sessions,
          this.#startedAt,
          this.#options.version,
        ),
      );
  }
}

/** An error as one line, `Name: message`, never with its stack trace. */
function errorText(error: unknown): string {
  const text = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  return text.replaceAll(/[\r\n]+/g, " ");
}
