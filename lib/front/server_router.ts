/**
 * Routes a request that passed the runner's checks to its server:
 * `/servers/NAME/…` to a named server, `/mcp`, `/sse`, `/message` and
 * upgrades to the default one; a 404 that lists the servers for an unknown
 * name, a 503 with the reason for a server that cannot serve.
 *
 * @module
 */

import { LEGACY_MESSAGE_PATH } from "../transport/legacy_sse/endpoint.ts";
import type { RoutedServer, ServerDirectory } from "./directory.ts";

/** The Streamable HTTP endpoint. */
export const MCP_PATH = "/mcp";
/** The legacy HTTP+SSE stream endpoint. */
export const SSE_PATH = "/sse";
/** Where named servers live: `/servers/NAME/…`. */
export const SERVERS_PREFIX = "/servers/";

/** Paths served over plain HTTP; a WebSocket upgrade elsewhere starts a session. */
export const RESERVED_PATHS: ReadonlySet<string> = new Set([
  "/healthz",
  "/readyz",
  "/metrics",
  SSE_PATH,
  LEGACY_MESSAGE_PATH,
]);

/** A refusal: the status and message sent, and the reason logged. */
export interface Refusal {
  /** HTTP status. */
  status: number;
  /** The JSON-RPC error message, starting with the status text. */
  message: string;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** For the log, when it differs from the message. */
  reason?: string;
}

/** What the router needs of the request handler. */
export interface RouterContext {
  /** The servers. */
  servers: ServerDirectory;
  /** Logs a refusal (rate-limited) and builds its response. */
  refuse(request: Request, refusal: Refusal): Response;
  /** Logs an endpoint's own refusal, if the response is one. */
  logRefused(request: Request, response: Response): void;
  /** Logs a refusal whose response the router builds itself. */
  logRefusal(request: Request, reason: string, status: number): void;
  /** Adds CORS headers for an allowed origin. */
  withCors(request: Request, response: Response): Response;
}

/** Routes requests to servers' endpoints. */
export class ServerRouter {
  #context: RouterContext;

  /**
   * Creates the router.
   *
   * @param context The servers, and the handler's logging and CORS.
   */
  constructor(context: RouterContext) {
    this.#context = context;
  }

  /**
   * Routes a request that passed every check to its server's endpoint:
   * `/servers/NAME/…` to a named server, the root paths to the default
   * one.
   */
  async dispatch(
    request: Request,
    url: URL,
    upgrade: boolean,
    principal: string,
    remote: string,
  ): Promise<Response> {
    const path = url.pathname;
    const found = await this.#serverFor(request, url, upgrade);
    if (found instanceof Response) return found;
    const { server, rest } = found;
    const unavailable = server?.unavailable;
    if (server !== undefined && unavailable !== undefined) {
      await request.body?.cancel();
      return this.#context.withCors(
        request,
        this.#context.refuse(request, {
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
      this.#context.logRefused(request, upgraded);
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
      return this.#context.withCors(
        request,
        this.#context.refuse(request, {
          status: 426,
          message:
            `Upgrade Required: connect with a WebSocket (subprotocol "mcp"), or use Streamable HTTP at ${base}${MCP_PATH} or HTTP+SSE at ${base}${SSE_PATH}`,
          headers: { upgrade: "websocket" },
        }),
      );
    }
    this.#context.logRefused(request, response);
    return this.#context.withCors(request, response);
  }

  /**
   * The server a request is for, and the path below its prefix; a 404
   * response for an unknown name, or for a root path without a default.
   */
  async #serverFor(
    request: Request,
    url: URL,
    upgrade: boolean,
  ): Promise<{ server: RoutedServer | undefined; rest: string } | Response> {
    const path = url.pathname;
    let server: RoutedServer | undefined;
    let rest = path;
    if (path.startsWith(SERVERS_PREFIX) && this.#context.servers.named) {
      const cut = path.indexOf("/", SERVERS_PREFIX.length);
      const name = decodedSegment(
        path.slice(SERVERS_PREFIX.length, cut === -1 ? undefined : cut),
      );
      rest = cut === -1 ? "" : path.slice(cut);
      const sessionId = sessionIdOf(request, url, rest);
      server = this.#context.servers.find(name, sessionId);
      if (server === undefined) {
        await request.body?.cancel();
        return this.#context.withCors(
          request,
          this.#unknownServer(
            request,
            `no server is named "${clip(name, 64)}"`,
          ),
        );
      }
    } else {
      const sessionId = sessionIdOf(request, url, path);
      server = (sessionId === undefined
        ? undefined
        : this.#context.servers.findBySession?.(sessionId)) ??
        this.#context.servers.defaultServer;
      const rootPath = path === MCP_PATH || path === SSE_PATH ||
        path === LEGACY_MESSAGE_PATH || (upgrade && path === "/");
      if (server === undefined && (rootPath || upgrade)) {
        await request.body?.cancel();
        return this.#context.withCors(
          request,
          this.#unknownServer(
            request,
            "no default server (--default-server): use /servers/NAME/mcp, /servers/NAME/sse or ws://HOST/servers/NAME",
          ),
        );
      }
      // With named servers, only `/` upgrades to the default server.
      if (this.#context.servers.named && upgrade && path !== "/") {
        server = undefined;
      }
    }
    return { server, rest };
  }

  /** A 404 that lists the servers there are. */
  #unknownServer(request: Request, reason: string): Response {
    const names = this.#context.servers.all().map((s) => s.name);
    this.#context.logRefusal(request, reason, 404);
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
}

/** The session id a request names: `Mcp-Session-Id`, or `?sessionId=`. */
function sessionIdOf(
  request: Request,
  url: URL,
  rest: string,
): string | undefined {
  const id = rest === MCP_PATH
    ? request.headers.get("mcp-session-id")
    : rest === LEGACY_MESSAGE_PATH
    ? url.searchParams.get("sessionId")
    : null;
  return id === null || id.trim() === "" ? undefined : id.trim();
}

/** A path segment with its %-escapes decoded, or as it is when they are bad. */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The path of a request URL, even one the URL parser rejects.
 *
 * @param url The URL.
 * @returns Its path.
 */
export function pathOf(url: string): string {
  const parsed = URL.parse(url);
  if (parsed !== null) return parsed.pathname;
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const rest = url.slice(start);
  const end = rest.search(/[?#]/);
  return end === -1 ? rest : rest.slice(0, end);
}

/**
 * The host[:port] of a request URL, even one the URL parser rejects.
 *
 * @param url The URL.
 * @returns Its authority.
 */
export function authorityOf(url: string): string {
  const start = url.indexOf("//") + 2;
  const end = url.slice(start).search(/[/?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

/**
 * At most `max` characters of `text`, with an ellipsis when cut.
 *
 * @param text The text.
 * @param max Most characters kept.
 * @returns The text, clipped.
 */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
