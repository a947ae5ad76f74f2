/**
 * What the runner prints once it listens: where to connect, and how.
 *
 * @module
 */

import { TOKEN_QUERY_PARAMETER } from "../security/auth.ts";
import { MCP_PATH, SSE_PATH } from "./handler.ts";

/** What the banner names. */
export interface BannerInput {
  /** The address listened on, as `Deno.serve` reports it. */
  hostname: string;
  /** The port listened on. */
  port: number;
  /** Whether TLS is on. */
  tls: boolean;
  /** The MCP server's command line. */
  command: string;
  /** `per-session`, `pool` or `shared`. */
  mode: string;
}

/**
 * A host for a URL (IPv6 addresses in brackets).
 *
 * @param hostname A host name or address.
 * @returns It, fit for a URL.
 */
export function urlHost(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/**
 * The "Listening on …" line.
 *
 * @param input Address, TLS, command and mode.
 * @returns The line.
 */
export function listeningLine(input: BannerInput): string {
  const base = `${urlHost(input.hostname)}:${input.port}`;
  const ws = input.tls ? "wss" : "ws";
  const http = input.tls ? "https" : "http";
  const mode = input.mode === "per-session" ? "" : ` (${input.mode} mode)`;
  return `Listening on ${ws}://${base}/ (Streamable HTTP: ${http}://${base}${MCP_PATH}, SSE: ${http}://${base}${SSE_PATH}, health: ${http}://${base}/healthz), serving ${input.command}${mode}`;
}

/**
 * The two lines that show a generated token, printed once and never logged.
 *
 * @param input Address and TLS.
 * @param token The generated token.
 * @returns The lines.
 */
export function generatedTokenLines(input: BannerInput, token: string): string {
  // A wildcard address is reachable as localhost on this machine.
  const reach = input.hostname === "0.0.0.0" || input.hostname === "::"
    ? `localhost:${input.port}`
    : `${urlHost(input.hostname)}:${input.port}`;
  const ws = input.tls ? "wss" : "ws";
  return `No --auth-token was given for a non-loopback address, so one was generated: ${token}\n` +
    `  Send "Authorization: Bearer <token>", or connect to ${ws}://${reach}/?${TOKEN_QUERY_PARAMETER}=${token}`;
}
