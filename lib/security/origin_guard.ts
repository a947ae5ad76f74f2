/**
 * DNS-rebinding and cross-site protection, and CORS, for every HTTP request
 * and WebSocket upgrade.
 *
 * @module
 */

/** Options for {@linkcode OriginGuard}. */
export interface OriginGuardOptions {
  /** The address the runner listens on. */
  listenHost: string;
  /** Origins allowed besides local ones (exact, or `*` for any). */
  allowOrigins: string[];
}

const LOCAL_HOSTNAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** Request headers a browser client may send. */
export const CORS_ALLOW_HEADERS =
  "Content-Type, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name";

/**
 * Whether an address is a loopback address (or the name localhost).
 *
 * @param host A host name or IP address.
 * @returns True for 127.0.0.0/8, ::1 and localhost.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function hostnameOf(hostHeader: string): string {
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith("[")) return value.slice(0, value.indexOf("]") + 1);
  const colon = value.lastIndexOf(":");
  return colon === -1 ? value : value.slice(0, colon);
}

/** Decides which requests may reach a session, and adds CORS headers. */
export class OriginGuard {
  #loopback: boolean;
  #allowAny: boolean;
  #allowed: Set<string>;

  /**
   * Creates a guard.
   *
   * @param options The listen address and extra allowed origins.
   */
  constructor(options: OriginGuardOptions) {
    this.#loopback = isLoopback(options.listenHost);
    this.#allowAny = options.allowOrigins.includes("*");
    this.#allowed = new Set(
      options.allowOrigins.map((o) =>
        o.trim().toLowerCase().replace(/\/+$/, "")
      ),
    );
  }

  /**
   * Checks `Host` and `Origin`.
   *
   * @param request The request.
   * @returns Why the request is refused (the message of a 403, starting with
   *   "Forbidden"), or undefined when it may go on.
   */
  check(request: Request): string | undefined {
    // HTTP/2 has no Host header: the URL carries the :authority instead.
    const host = request.headers.get("host") || new URL(request.url).host;
    if (this.#loopback && !LOCAL_HOSTNAMES.has(hostnameOf(host))) {
      return `Forbidden: Host "${host}" is not allowed: the runner listens on a loopback address`;
    }
    const origin = request.headers.get("origin");
    if (origin !== null && !this.originAllowed(origin, host)) {
      return `Forbidden: Origin "${origin}" is not allowed (see --allow-origin)`;
    }
    return undefined;
  }

  /**
   * Whether a browser page of `origin` may use the runner.
   *
   * @param origin The `Origin` header.
   * @param host The `Host` header.
   * @returns True when allowed.
   */
  originAllowed(origin: string, host: string): boolean {
    if (this.#allowAny) return true;
    const normalized = origin.trim().toLowerCase();
    if (this.#allowed.has(normalized)) return true;
    let url: URL;
    try {
      url = new URL(normalized);
    } catch {
      return false;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    if (this.#loopback && LOCAL_HOSTNAMES.has(url.hostname)) return true;
    return url.host === host.trim().toLowerCase();
  }

  /**
   * Adds CORS headers to a response for an allowed cross-origin request.
   *
   * @param request The request.
   * @param response The response.
   * @returns The same response.
   */
  withCors(request: Request, response: Response): Response {
    const origin = request.headers.get("origin");
    if (origin === null || response.status === 101) return response;
    try {
      response.headers.set("access-control-allow-origin", origin);
      response.headers.set(
        "access-control-expose-headers",
        "Mcp-Session-Id, MCP-Protocol-Version",
      );
      response.headers.append("vary", "Origin");
    } catch {
      // immutable headers (a WebSocket upgrade response)
    }
    return response;
  }

  /**
   * Answers a CORS preflight.
   *
   * @param request The OPTIONS request.
   * @returns 204 with the allowed methods and headers.
   */
  preflight(request: Request): Response {
    const origin = request.headers.get("origin") ?? "*";
    return new Response(null, {
      status: 204,
      headers: {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
        "access-control-allow-headers": CORS_ALLOW_HEADERS,
        "access-control-expose-headers": "Mcp-Session-Id, MCP-Protocol-Version",
        "access-control-max-age": "86400",
        vary: "Origin",
      },
    });
  }
}
