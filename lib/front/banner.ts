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

/** One server's line under the banner. */
export interface ServerLine {
  /** Its name. */
  name: string;
  /** `per-session`, `pool` or `shared`. */
  mode: string;
  /** Why it cannot serve, if it cannot. */
  unavailable?: string | undefined;
  /** Whether it also answers at the root paths. */
  isDefault: boolean;
}

/**
 * The banner of a config file's servers: the "Listening on" line, then one
 * line per server with its URLs.
 *
 * @param input Address and TLS.
 * @param file The config file.
 * @param servers Every server, in the file's order.
 * @returns The lines.
 */
export function serverLines(
  input: Omit<BannerInput, "command" | "mode">,
  file: string,
  servers: ServerLine[],
): string {
  const base = `${urlHost(input.hostname)}:${input.port}`;
  const ws = input.tls ? "wss" : "ws";
  const http = input.tls ? "https" : "http";
  const lines = [
    `Listening on ${ws}://${base}/ (health: ${http}://${base}/healthz), serving ${servers.length} servers from ${file}`,
  ];
  for (const server of servers) {
    const at = `${http}://${base}/servers/${server.name}`;
    if (server.unavailable !== undefined) {
      lines.push(`  ${server.name}: ${server.unavailable}`);
      continue;
    }
    const mode = server.mode === "per-session" ? "" : ` (${server.mode} mode)`;
    const root = server.isDefault
      ? `; default server: also ${http}://${base}${MCP_PATH}, ${http}://${base}${SSE_PATH}, ${ws}://${base}/`
      : "";
    lines.push(
      `  ${server.name}: ${at}${MCP_PATH}, SSE ${at}${SSE_PATH}, ${ws}://${base}/servers/${server.name}${mode}${root}`,
    );
  }
  return lines.join("\n");
}

/**
 * Where the console is: with the token in the fragment (never sent to a
 * server) when it was generated, with a placeholder when it was given.
 *
 * @param input Address and TLS.
 * @param token The generated token, if one was.
 * @param tokenRequired Whether a token is needed.
 * @returns The line.
 */
export function consoleLine(
  input: Omit<BannerInput, "command" | "mode">,
  token: string | undefined,
  tokenRequired: boolean,
): string {
  const reach = input.hostname === "0.0.0.0" || input.hostname === "::"
    ? `localhost:${input.port}`
    : `${urlHost(input.hostname)}:${input.port}`;
  const url = `${input.tls ? "https" : "http"}://${reach}/console`;
  if (token !== undefined) return `Console: ${url}#token=${token}`;
  return tokenRequired
    ? `Console: ${url}#token=<your token> (the page keeps it in the tab only)`
    : `Console: ${url}`;
}
