/**
 * Bearer-token authentication for every HTTP request and WebSocket upgrade,
 * compared in constant time.
 *
 * @module
 */

import { equalInConstantTime } from "../util/sha256.ts";
import { httpError } from "../http/io.ts";

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
      ok = equalInConstantTime(expected, presented) || ok;
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
    const result = await this.identify(request, sources);
    if (typeof result === "string") return result;
    return httpError(401, result.message, result.headers);
  }

  /**
   * Like {@linkcode TokenAuth.authenticate}, but a refusal comes as its
   * parts (message, headers and a reason for the log), not as a response.
   * At most three candidates are hashed (see {@linkcode presentedTokens}),
   * so a refusal costs the same whatever the request holds.
   *
   * @param request The request.
   * @param sources Which non-header forms to accept.
   * @returns The principal, or why it was refused.
   */
  async identify(
    request: Request,
    sources: TokenSources,
  ): Promise<string | AuthRefusal> {
    const digests = await this.#digests;
    if (digests.length === 0) return "anonymous";
    const candidates = presentedTokens(request, sources);
    for (const candidate of candidates) {
      const presented = await digest(candidate);
      let index = -1;
      for (const [i, expected] of digests.entries()) {
        if (equalInConstantTime(expected, presented) && index === -1) index = i;
      }
      if (index !== -1) return `token-${index}`;
    }
    return unauthorized(candidates.length > 0);
  }
}

/** Why {@linkcode TokenAuth.identify} refused a request, as a 401 to send. */
export interface AuthRefusal {
  /** The JSON-RPC error message: how to send the token. */
  message: string;
  /** `WWW-Authenticate` (RFC 6750). */
  headers: Record<string, string>;
  /** Short reason, for the log. */
  reason: string;
}

/**
 * Most `Sec-WebSocket-Protocol` entries looked at for a token: a client
 * offers `mcp` and `mcp.auth.<token>`, so a few are plenty.
 */
export const MAX_SUBPROTOCOLS_EXAMINED = 8;

/**
 * The tokens a request presents, in every accepted form: at most one each
 * from the `Authorization` header, the subprotocols (the first
 * `mcp.auth.<token>` among the first {@linkcode MAX_SUBPROTOCOLS_EXAMINED}
 * entries; any later one is ignored) and the query.
 *
 * @param request The request.
 * @param sources Which non-header forms to accept.
 * @returns The candidates, at most three.
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
    const offered = (request.headers.get("sec-websocket-protocol") ?? "")
      .split(",", MAX_SUBPROTOCOLS_EXAMINED);
    const first = offered.map((p) => p.trim()).find((p) =>
      p.startsWith(TOKEN_SUBPROTOCOL_PREFIX)
    );
    if (first !== undefined) {
      found.push(first.slice(TOKEN_SUBPROTOCOL_PREFIX.length));
    }
  }
  if (sources.query) {
    const token = new URL(request.url).searchParams.get(TOKEN_QUERY_PARAMETER);
    if (token) found.push(token);
  }
  return found;
}

/** How to send the token, in every 401. */
export const TOKEN_HOW_TO =
  'send the token as "Authorization: Bearer <token>" (WebSocket from a browser: subprotocol mcp.auth.<token>)';

/**
 * The parts of a 401, following RFC 6750: with no token presented, a bare
 * challenge (no `error`); with a wrong one, `error="invalid_token"` and a
 * description.
 */
function unauthorized(presented: boolean): AuthRefusal {
  const realm = 'Bearer realm="mcp-server-runner"';
  if (!presented) {
    return {
      message: `Unauthorized: ${TOKEN_HOW_TO}`,
      headers: { "www-authenticate": realm },
      reason: "missing or wrong bearer token: none was sent",
    };
  }
  // error_description allows no double quote and no backslash (RFC 6750 3).
  const description =
    "The bearer token is not accepted: send Authorization: Bearer <token>";
  return {
    message: `Unauthorized: the token is not accepted: ${TOKEN_HOW_TO}`,
    headers: {
      "www-authenticate":
        `${realm}, error="invalid_token", error_description="${description}"`,
    },
    reason: "missing or wrong bearer token: the token sent is not accepted",
  };
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
