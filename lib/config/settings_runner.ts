/**
 * The runner's own part of the settings table: where it listens, its
 * logs, limits, security and the child's environment. Joined with the
 * other parts in `settings.ts`.
 *
 * @module
 */

import { LOG_LEVELS } from "../observe/log.ts";
import type { Setting } from "./setting.ts";

/** The `.env` file read when `--env-file` is not given. */
export const DEFAULT_ENV_FILE = ".env";

const hostName = (value: string) =>
  value.trim() === "" || /\s/.test(value)
    ? "must be a host name or address"
    : undefined;

const origin = (value: string) =>
  value === "*" || /^https?:\/\/[^/\s]+$/i.test(value)
    ? undefined
    : 'must be an origin such as "https://app.example.com" or "*"';

/** Takes the global level out of a `RUST_LOG` filter such as `my_crate=debug,info`. */
function rustLogLevel(raw: string): string {
  const parts = raw.split(",").map((p) => p.trim()).filter((p) => p !== "");
  const global = parts.find((p) => !p.includes("="));
  const chosen = global ?? parts[0]?.split("=")[1] ?? raw;
  return chosen === "off" ? "fatal" : chosen;
}

/** Server, limits, security and child-environment settings, in order. */
export const RUNNER_SETTINGS = {
  program: {
    kind: "command",
    env: "PROGRAM",
    argsEnv: "ARGS",
    section: "Server",
    shown: "required",
    help: "The MCP server and its arguments (ARGS is split on commas)",
    meaning:
      "The MCP server. `ARGS` is split on commas. A command after `--` wins over `PROGRAM`/`ARGS`.",
  },
  host: {
    kind: "string",
    flag: "host",
    env: "HOST",
    arg: "ADDR",
    section: "Server",
    fallback: "127.0.0.1",
    check: hostName,
    values: "host name or address",
    help: "Address to listen on (0.0.0.0 for every interface)",
    meaning: "Address to listen on (`0.0.0.0` or `::` for every interface)",
  },
  port: {
    kind: "int",
    flag: "port",
    env: "PORT",
    arg: "N",
    section: "Server",
    min: 0,
    max: 65535,
    fallback: 8080,
    help: "Port to listen on (0 = any free port)",
    meaning: "Port to listen on (`0` = any free port)",
  },
  logLevel: {
    kind: "enum",
    flag: "log-level",
    env: "LOG_LEVEL",
    arg: "LEVEL",
    section: "Server",
    choices: LOG_LEVELS,
    aliases: { warn: "warning" },
    fallback: "info",
    fallbackEnv: { name: "RUST_LOG", convert: rustLogLevel },
    help:
      "trace, debug, info, warning (warn), error or fatal; RUST_LOG is read when unset",
    meaning:
      "Least severe level logged. When unset, the global level of `RUST_LOG` is used (`debug` in `my_crate=info,debug`; `off` = `fatal`).",
  },
  logFormat: {
    kind: "enum",
    flag: "log-format",
    env: "LOG_FORMAT",
    arg: "FORMAT",
    section: "Server",
    choices: ["text", "json"],
    fallback: "text",
    help: "text or json",
    meaning: "Log lines as text, or as JSON lines",
  },
  envFile: {
    kind: "string",
    flag: "env-file",
    env: "ENV_FILE",
    arg: "PATH",
    section: "Server",
    shown: `${DEFAULT_ENV_FILE}, if present`,
    values: "path",
    help: "Read NAME=value lines from PATH; a bad NAME is an error",
    meaning:
      "Read variables from `PATH`; a file named explicitly must exist, a line that does not start with a variable name is an error",
  },
  noEnvFile: {
    kind: "bool",
    flag: "no-env-file",
    section: "Server",
    help: "Do not read a .env file",
    meaning: "Do not read a `.env` file; excludes `--env-file`",
  },
  maxSessions: {
    kind: "int",
    flag: "max-sessions",
    env: "MAX_SESSIONS",
    arg: "N",
    section: "Limits",
    min: 1,
    max: 100_000,
    fallback: 32,
    help:
      "Most sessions at once; then the least recently active idle one ends, else 503",
    meaning:
      "Sessions of all transports together; at the cap a new session ends the least recently active idle Streamable HTTP session, else 503",
  },
  maxMessageBytes: {
    kind: "int",
    flag: "max-message-bytes",
    env: "MAX_MESSAGE_BYTES",
    arg: "N",
    section: "Limits",
    min: 1024,
    max: 64 * 1024 * 1024,
    fallback: 10 * 1024 * 1024,
    help:
      "Largest message in either direction, in bytes (4 x: bodies read at once)",
    meaning:
      "Largest message either way, in bytes; 4 × this is the budget of request bodies read at once",
  },
  shutdownGraceMs: {
    kind: "int",
    flag: "shutdown-grace-ms",
    env: "SHUTDOWN_GRACE_MS",
    arg: "N",
    section: "Limits",
    min: 0,
    max: 600_000,
    fallback: 2000,
    help: "Wait after stdin EOF and after SIGTERM before escalating",
    meaning: "Wait at each stop stage of a child (stdin EOF, SIGTERM), in ms",
  },
  keepaliveSeconds: {
    kind: "int",
    flag: "keepalive-seconds",
    env: "KEEPALIVE_SECONDS",
    arg: "N",
    section: "Limits",
    min: 0,
    max: 86_400,
    fallback: 30,
    help: "Ping idle WebSocket clients, drop dead ones (0 = off)",
    meaning: "WebSocket ping after this much idle time (`0` = off)",
  },
  sendTimeoutMs: {
    kind: "int",
    flag: "send-timeout-ms",
    env: "SEND_TIMEOUT_MS",
    arg: "N",
    section: "Limits",
    min: 100,
    max: 3_600_000,
    fallback: 30000,
    help: "Close (1008) a client that stops reading for this long",
    meaning: "A client that does not read for this long is dropped, in ms",
  },
  sessionIdleTimeout: {
    kind: "int",
    flag: "session-idle-timeout",
    env: "SESSION_IDLE_TIMEOUT",
    arg: "N",
    section: "Limits",
    min: 1,
    max: 7 * 86_400,
    fallback: 1800,
    help: "End a Streamable HTTP session idle this many seconds",
    meaning: "Seconds before an idle Streamable HTTP session ends",
  },
  sendBufferBytes: {
    kind: "int",
    flag: "send-buffer-bytes",
    env: "SEND_BUFFER_BYTES",
    arg: "N",
    section: "Limits",
    min: 16 * 1024,
    max: 256 * 1024 * 1024,
    fallback: 1024 * 1024,
    help:
      "Bytes queued for a slow client before the MCP server's output pauses",
    meaning: "Bytes queued for a client before the child's stdout pauses",
  },
  maxInFlight: {
    kind: "int",
    flag: "max-in-flight",
    env: "MAX_IN_FLIGHT",
    arg: "N",
    section: "Limits",
    min: 1,
    max: 1_000_000,
    fallback: 4096,
    help: "Most unanswered requests per session; more get an error",
    meaning: "Unanswered requests per session; more get an error",
  },
  allowOrigins: {
    kind: "list",
    flag: "allow-origin",
    env: "ALLOW_ORIGINS",
    arg: "ORIGIN",
    section: "Security",
    split: true,
    check: origin,
    values: "`https://host[:port]` or `*`",
    help: "Also allow this browser origin (repeatable; * = any)",
    meaning: "Extra browser origins besides local ones (`*` = any)",
  },
  authTokens: {
    kind: "list",
    flag: "auth-token",
    env: "AUTH_TOKEN",
    arg: "TOKEN",
    section: "Security",
    split: true,
    values: "16+ of `A-Z a-z 0-9 . _ ~ + / = -`",
    help:
      "Require this bearer token (repeatable, or comma-separated); as a flag it shows in ps",
    meaning:
      "Accepted bearer tokens (several allow rotation); as a flag every local user can read it in `ps`",
  },
  authTokenFile: {
    kind: "string",
    flag: "auth-token-file",
    env: "AUTH_TOKEN_FILE",
    arg: "F",
    section: "Security",
    values: "path",
    help: "Read tokens from F, one per line (preferred over --auth-token)",
    meaning:
      "More tokens, one per line (`#` comments and blank lines skipped); the file must exist",
  },
  noAuth: {
    kind: "bool",
    flag: "no-auth",
    env: "NO_AUTH",
    section: "Security",
    help: "Require no token even on a non-loopback address",
    meaning: "No token even on a non-loopback address. Excludes tokens.",
  },
  tlsCert: {
    kind: "string",
    flag: "tls-cert",
    env: "TLS_CERT",
    arg: "FILE",
    section: "Security",
    values: "path",
    help: "PEM certificate: serve https:// and wss://",
    meaning:
      "PEM certificate: serve `https://` and `wss://`; needs `--tls-key`",
  },
  tlsKey: {
    kind: "string",
    flag: "tls-key",
    env: "TLS_KEY",
    arg: "FILE",
    section: "Security",
    values: "path",
    help: "PEM private key for --tls-cert",
    meaning: "PEM private key of `--tls-cert`; both or neither",
  },
  cleanEnv: {
    kind: "bool",
    flag: "clean-env",
    env: "CLEAN_ENV",
    section: "Child environment",
    help: "Give the MCP server only PATH, HOME and --pass-env",
    meaning: "The child gets only `PATH`, `HOME` and `--pass-env` names",
  },
  passEnv: {
    kind: "list",
    flag: "pass-env",
    env: "PASS_ENV",
    arg: "NAME",
    section: "Child environment",
    split: true,
    values: "variable name",
    help: "With --clean-env: also pass NAME (repeatable)",
    meaning:
      "With `--clean-env`: also pass `NAME`; not one of the runner's own variables",
  },
  env: {
    kind: "list",
    flag: "env",
    arg: "NAME=VALUE",
    section: "Child environment",
    split: false,
    values: "`NAME=VALUE`",
    help: "Set a variable for the MCP server only (repeatable)",
    meaning: "Set a variable for the child only; applied last",
  },
} as const satisfies Record<string, Setting>;
