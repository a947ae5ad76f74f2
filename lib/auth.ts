/**
 * Bearer-token authentication for every HTTP request and WebSocket upgrade,
 * compared in constant time.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";

/**
 * The WebSocket subprotocol prefix that carries a token, for browsers that
 * cannot set headers on a WebSocket: offer `["mcp", "mcp.auth.<token>"]`.
 */
export const TOKEN_SUBPROTOCOL_PREFIX = "mcp.auth.";

/** The query parameter that carries a token on a WebSocket or `/sse` GET. */
export const TOKEN_QUERY_PARAMETER = "access_token";

/** Where a request may carry its token. */
export interface TokenSources {
  /** Also accept `mcp.auth.<token>` in `Sec-WebSocket-Protocol`. */
  subprotocol: boolean;
  /** Also accept the `access_token` query parameter. */
  query: boolean;
}

/**
 * Creates a random token: 32 bytes, base64url.
 *
 * @returns The token.
 */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll(
    "/",
    "_",
  ).replace(/=+$/, "");
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
}

/** Checks requests against a set of accepted tokens (several, for rotation). */
export class TokenAuth {
  #digests: Promise<Uint8Array[]>;

  /**
   * Creates a checker.
   *
   * @param tokens The accepted tokens; none means every request passes.
   */
  constructor(tokens: string[]) {
    this.#digests = Promise.all(tokens.map(digest));
  }

  /**
   * Whether `candidate` is one of the tokens. Every token is compared, each
   * on SHA-256 digests of equal length, so the time taken does not depend on
   * how much of a token matched or which one did.
   *
   * @param candidate The token presented.
   * @returns True when accepted.
   */
  async verify(candidate: string): Promise<boolean> {
    const digests = await this.#digests;
    const presented = await digest(candidate);
    let ok = false;
    for (const expected of digests) {
      ok = timingSafeEqual(expected, presented) || ok;
    }
    return ok;
  }

  /**
   * Checks a request.
   *
   * @param request The request.
   * @param sources Which non-header forms to accept.
   * @returns A 401 response when refused, otherwise undefined.
   */
  async check(
    request: Request,
    sources: TokenSources,
  ): Promise<Response | undefined> {
    const result = await this.authenticate(request, sources);
    return result instanceof Response ? result : undefined;
  }

  /**
   * Authenticates a request and names who it is: `token-<n>` for the n-th
   * configured token (so that a session can be bound to the token that
   * created it), or `anonymous` when no token is configured.
   *
   * @param request The request.
   * @param sources Which non-header forms to accept.
   * @returns The principal, or a 401 response.
   */
  async authenticate(
    request: Request,
    sources: TokenSources,
  ): Promise<string | Response> {
    const digests = await this.#digests;
    if (digests.length === 0) return "anonymous";
    for (const candidate of presentedTokens(request, sources)) {
      const presented = await digest(candidate);
      let index = -1;
      for (const [i, expected] of digests.entries()) {
        if (timingSafeEqual(expected, presented) && index === -1) index = i;
      }
      if (index !== -1) return `token-${index}`;
    }
    return unauthorized();
  }
}

/**
 * The tokens a request presents, in every accepted form.
 *
 * @param request The request.
 * @param sources Which non-header forms to accept.
 * @returns The candidates.
 */
export function presentedTokens(
  request: Request,
  sources: TokenSources,
): string[] {
  const found: string[] = [];
  const header = request.headers.get("authorization");
  const match = header ? /^\s*Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (match) found.push(match[1]!);
  if (sources.subprotocol) {
    for (
      const protocol of (request.headers.get("sec-websocket-protocol") ?? "")
        .split(",")
    ) {
      const p = protocol.trim();
      if (p.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) {
        found.push(p.slice(TOKEN_SUBPROTOCOL_PREFIX.length));
      }
    }
  }
  if (sources.query) {
    const token = new URL(request.url).searchParams.get(TOKEN_QUERY_PARAMETER);
    if (token) found.push(token);
  }
  return found;
}

function unauthorized(): Response {
  return Response.json(
    {
      jsonrpc: "2.0",
      id: null,
      error: {
        code: -32000,
        message: "Unauthorized: a valid bearer token is required",
      },
    },
    {
      status: 401,
      headers: { "www-authenticate": 'Bearer realm="mcp-server-runner"' },
    },
  );
}

/**
 * A request URL with the token query parameter removed, for logs.
 *
 * @param url The URL.
 * @returns Path and query without the token.
 */
export function redactedPath(url: URL): string {
  if (!url.searchParams.has(TOKEN_QUERY_PARAMETER)) {
    return url.pathname + url.search;
  }
  const copy = new URL(url);
  copy.searchParams.set(TOKEN_QUERY_PARAMETER, "REDACTED");
  return copy.pathname + copy.search;
}

/** Options for {@linkcode tokensFor}. */
export interface TokenPolicyOptions {
  /** The address the runner listens on. */
  host: string;
  /** Tokens configured by the user. */
  tokens: string[];
  /** Whether `--no-auth` was given. */
  noAuth: boolean;
  /** Whether the address is a loopback one. */
  loopback: boolean;
}

/**
 * Decides which tokens the runner accepts: the configured ones; or, on a
 * non-loopback address with none configured and no `--no-auth`, one freshly
 * generated token (the runner never opens to the network without a token by
 * accident).
 *
 * @param options Address, configured tokens and flags.
 * @returns The tokens, and the generated one if any.
 */
export function tokensFor(
  options: TokenPolicyOptions,
): { tokens: string[]; generated: string | undefined } {
  if (options.tokens.length > 0 || options.noAuth || options.loopback) {
    return { tokens: [...options.tokens], generated: undefined };
  }
  const generated = generateToken();
  return { tokens: [generated], generated };
}
