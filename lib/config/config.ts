/**
 * Configuration: command-line flags, environment variables and a `.env` file
 * turned into one validated {@linkcode Config}.
 *
 * Precedence: flags, then the environment, then the `.env` file, then the
 * defaults. Pure: the caller passes in the arguments, the environment and a
 * way to read the `.env` file.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseEnvFile, stripBom } from "./env_file.ts";
import type { LogLevel } from "../observe/log.ts";
import { LOG_LEVELS, type LogFormat } from "../observe/log.ts";

/** A configuration problem: the runner prints the message and exits with 2. */
export class ConfigError extends Error {
  /**
   * Creates a configuration error.
   *
   * @param message One line naming the flag or variable and the bad value.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** The runner's validated settings. */
export interface Config {
  /** Executable of the MCP server (a name looked up on PATH, or a path). */
  program: string;
  /** Arguments passed to it literally. */
  args: string[];
  /** Address to listen on. */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Least severe log level written. */
  logLevel: LogLevel;
  /** Log output format. */
  logFormat: LogFormat;
  /** Most sessions of every transport (and so children) alive at once. */
  maxSessions: number;
  /** Largest JSON-RPC message accepted in either direction, in bytes. */
  maxMessageBytes: number;
  /** Time each stop stage (stdin EOF, SIGTERM) waits before escalating. */
  shutdownGraceMs: number;
  /** Idle time before the runner pings a client; 0 turns keepalive off. */
  keepaliveSeconds: number;
  /** How long a client may leave its send buffer full before it is closed. */
  sendTimeoutMs: number;
  /** Most requests of one session awaiting a response from the child. */
  maxInFlight: number;
  /** Bytes queued for a client above which the child's stdout is not read. */
  sendBufferBytes: number;
  /** Idle time after which a Streamable HTTP session ends, in seconds. */
  sessionIdleTimeout: number;
  /** Origins allowed besides local ones (`*` for any). */
  allowOrigins: string[];
  /** Accepted bearer tokens (several allow rotation); empty: none required. */
  authTokens: string[];
  /**
   * Whether a token came from `--auth-token`, where every local user can
   * read it (`ps`); the runner warns about it.
   */
  authTokenOnCommandLine: boolean;
  /** Whether `--no-auth` was given (no token even on a public address). */
  noAuth: boolean;
  /** PEM certificate file for HTTPS/WSS. */
  tlsCert: string | undefined;
  /** PEM private key file for HTTPS/WSS. */
  tlsKey: string | undefined;
  /** The `.env` file that was loaded, if any. */
  envFile: string | undefined;
  /** Environment of every child: the runner's, less its own settings. */
  childEnv: Record<string, string>;
}

/** What the command line asks for. */
export type ParsedCommand =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "run"; config: Config };

/** Reads a `.env` file; returns `undefined` when it does not exist. */
export type EnvFileReader = (path: string) => string | undefined;

/** Inputs of {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /** The runner's environment. */
  env: Record<string, string>;
  /** Reads the `.env` file. */
  readEnvFile: EnvFileReader;
}

/** Settings, their flags, variables, defaults and help text. */
interface Setting {
  flag: string;
  env: string;
  help: string;
  fallback: string;
}

const SETTINGS = {
  host: {
    flag: "host",
    env: "HOST",
    fallback: "127.0.0.1",
    help: "Address to listen on (0.0.0.0 for every interface)",
  },
  port: {
    flag: "port",
    env: "PORT",
    fallback: "8080",
    help: "Port to listen on (0 = any free port)",
  },
  logLevel: {
    flag: "log-level",
    env: "LOG_LEVEL",
    fallback: "info",
    help:
      "trace, debug, info, warning (warn), error or fatal; RUST_LOG is read when unset",
  },
  logFormat: {
    flag: "log-format",
    env: "LOG_FORMAT",
    fallback: "text",
    help: "text or json",
  },
  maxSessions: {
    flag: "max-sessions",
    env: "MAX_SESSIONS",
    fallback: "32",
    help:
      "Most sessions at once; then the least recently active idle one ends, else 503",
  },
  maxMessageBytes: {
    flag: "max-message-bytes",
    env: "MAX_MESSAGE_BYTES",
    fallback: String(10 * 1024 * 1024),
    help:
      "Largest message in either direction, in bytes (4 x: bodies read at once)",
  },
  shutdownGraceMs: {
    flag: "shutdown-grace-ms",
    env: "SHUTDOWN_GRACE_MS",
    fallback: "2000",
    help: "Wait after stdin EOF and after SIGTERM before escalating",
  },
  keepaliveSeconds: {
    flag: "keepalive-seconds",
    env: "KEEPALIVE_SECONDS",
    fallback: "30",
    help: "Ping idle WebSocket clients, drop dead ones (0 = off)",
  },
  sendTimeoutMs: {
    flag: "send-timeout-ms",
    env: "SEND_TIMEOUT_MS",
    fallback: "30000",
    help: "Close (1008) a client that stops reading for this long",
  },
  sessionIdleTimeout: {
    flag: "session-idle-timeout",
    env: "SESSION_IDLE_TIMEOUT",
    fallback: "1800",
    help: "End a Streamable HTTP session idle this many seconds",
  },
  sendBufferBytes: {
    flag: "send-buffer-bytes",
    env: "SEND_BUFFER_BYTES",
    fallback: String(1024 * 1024),
    help:
      "Bytes queued for a slow client before the MCP server's output pauses",
  },
  maxInFlight: {
    flag: "max-in-flight",
    env: "MAX_IN_FLIGHT",
    fallback: "4096",
    help: "Most unanswered requests per session; more get an error",
  },
} as const satisfies Record<string, Setting>;

/** The `.env` file read when `--env-file` is not given. */
export const DEFAULT_ENV_FILE = ".env";

/**
 * Variables that configure the runner itself and are never passed to a child.
 */
export const RUNNER_VARIABLES: ReadonlySet<string> = new Set([
  "PROGRAM",
  "ARGS",
  "RUST_LOG",
  "ENV_FILE",
  "ALLOW_ORIGINS",
  "AUTH_TOKEN",
  "AUTH_TOKEN_FILE",
  "NO_AUTH",
  "TLS_CERT",
  "TLS_KEY",
  "CLEAN_ENV",
  "PASS_ENV",
  ...Object.values(SETTINGS).map((s) => s.env),
]);

/**
 * Parses the command line, the environment and the `.env` file.
 *
 * @param args Command-line arguments, without the executable.
 * @param options The environment and a `.env` reader.
 * @returns What to do: print help, print the version, or run.
 * @throws {ConfigError} On any invalid flag, variable or value.
 */
export function parseConfig(
  args: string[],
  options: ParseConfigOptions,
): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        ...Object.fromEntries(
          Object.values(SETTINGS).map((
            s,
          ) => [s.flag, { type: "string" as const }]),
        ),
        "env-file": { type: "string" },
        "allow-origin": { type: "string", multiple: true },
        "auth-token": { type: "string", multiple: true },
        "auth-token-file": { type: "string" },
        "no-auth": { type: "boolean" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "clean-env": { type: "boolean" },
        "pass-env": { type: "string", multiple: true },
        env: { type: "string", multiple: true },
        "no-env-file": { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const option = /'(-[^' ]*)/.exec(text)?.[1];
    const code = (error as { code?: string }).code;
    const detail = code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option
      ? `unknown option "${option}" (put the MCP server's command and its options after "--")`
      : code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option
      ? `option "${option}" needs a value`
      : text.split("\n")[0];
    throw new ConfigError(`Cannot start: ${detail}`, { cause: error });
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };

  const env = options.env;
  let envFile: string | undefined;
  let fileEnv: Record<string, string> = {};
  if (values["no-env-file"] && values["env-file"] !== undefined) {
    throw new ConfigError(
      "Cannot start: --env-file and --no-env-file exclude each other",
    );
  }
  if (!values["no-env-file"]) {
    const explicit = (values["env-file"] as string | undefined) ?? env.ENV_FILE;
    const path = explicit ?? DEFAULT_ENV_FILE;
    const text = options.readEnvFile(path);
    if (text === undefined && explicit !== undefined) {
      const source = values["env-file"] !== undefined
        ? "--env-file"
        : "ENV_FILE";
      throw new ConfigError(
        `Cannot start: ${source} names a file that does not exist, received "${path}"`,
      );
    }
    if (text !== undefined) {
      envFile = path;
      const read = parseEnvFile(path, text);
      if ("error" in read) throw new ConfigError(read.error);
      fileEnv = read.env;
    }
  }
  const merged: Record<string, string> = { ...fileEnv, ...env };

  function lookup(setting: Setting): { value: string; source: string } {
    const flagValue = values[setting.flag];
    if (typeof flagValue === "string") {
      return { value: flagValue, source: `--${setting.flag}` };
    }
    const envValue = merged[setting.env];
    if (envValue !== undefined && envValue !== "") {
      return { value: envValue, source: setting.env };
    }
    return { value: setting.fallback, source: setting.env };
  }
  function integer(setting: Setting, min: number, max: number): number {
    const { value, source } = lookup(setting);
    const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(
        `Cannot start: ${source} must be an integer in ${min}..${max}, received "${value}"`,
      );
    }
    return n;
  }

  const host = lookup(SETTINGS.host);
  if (host.value.trim() === "" || /\s/.test(host.value)) {
    throw new ConfigError(
      `Cannot start: ${host.source} must be a host name or address, received "${host.value}"`,
    );
  }
  const port = integer(SETTINGS.port, 0, 65535);

  let level = lookup(SETTINGS.logLevel);
  if (
    typeof values["log-level"] !== "string" && !merged.LOG_LEVEL &&
    merged.RUST_LOG
  ) {
    level = { value: rustLogLevel(merged.RUST_LOG), source: "RUST_LOG" };
  }
  const logLevel = parseLevel(level.value);
  if (logLevel === undefined) {
    throw new ConfigError(
      `Cannot start: ${level.source} must be one of ${
        LOG_LEVELS.join(", ")
      }, received "${level.value}"`,
    );
  }
  const format = lookup(SETTINGS.logFormat);
  const logFormat = format.value.trim().toLowerCase();
  if (logFormat !== "text" && logFormat !== "json") {
    throw new ConfigError(
      `Cannot start: ${format.source} must be "text" or "json", received "${format.value}"`,
    );
  }

  const maxSessions = integer(SETTINGS.maxSessions, 1, 100_000);
  const maxMessageBytes = integer(
    SETTINGS.maxMessageBytes,
    1024,
    64 * 1024 * 1024,
  );
  const shutdownGraceMs = integer(SETTINGS.shutdownGraceMs, 0, 600_000);
  const keepaliveSeconds = integer(SETTINGS.keepaliveSeconds, 0, 86_400);
  const sendTimeoutMs = integer(SETTINGS.sendTimeoutMs, 100, 3_600_000);
  const maxInFlight = integer(SETTINGS.maxInFlight, 1, 1_000_000);
  const sendBufferBytes = integer(
    SETTINGS.sendBufferBytes,
    16 * 1024,
    256 * 1024 * 1024,
  );
  const sessionIdleTimeout = integer(
    SETTINGS.sessionIdleTimeout,
    1,
    7 * 86_400,
  );
  const originFlags = values["allow-origin"] as unknown as string[] | undefined;
  const allowOrigins = (originFlags ?? (merged.ALLOW_ORIGINS ?? "").split(","))
    .flatMap((o) => o.split(","))
    .map((o) => o.trim())
    .filter((o) => o !== "");
  for (const origin of allowOrigins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/i.test(origin)) {
      const source = originFlags ? "--allow-origin" : "ALLOW_ORIGINS";
      throw new ConfigError(
        `Cannot start: ${source} must be an origin such as "https://app.example.com" or "*", received "${origin}"`,
      );
    }
  }

  let program: string;
  let programArgs: string[];
  if (parsed.positionals.length > 0) {
    [program, ...programArgs] = parsed.positionals as [string, ...string[]];
  } else {
    program = (merged.PROGRAM ?? "").trim();
    const rawArgs = merged.ARGS ?? "";
    programArgs = rawArgs === "" ? [] : rawArgs.split(",");
  }
  if (program === "") {
    throw new ConfigError(
      'Cannot start: no MCP server to run: set PROGRAM (and ARGS) or give the command after "--"',
    );
  }

  const list = (
    flag: string,
    variable: string,
  ): { items: string[]; source: string } => {
    const fromFlag = values[flag] as unknown as string[] | undefined;
    const raw = fromFlag ?? (merged[variable] ?? "").split(",");
    return {
      items: raw.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) =>
        v !== ""
      ),
      source: fromFlag ? `--${flag}` : variable,
    };
  };
  const truthy = (flag: string, variable: string) =>
    values[flag] === true ||
    /^(1|true|yes|on)$/i.test((merged[variable] ?? "").trim());

  // Tokens: flags or AUTH_TOKEN, plus one per line of --auth-token-file.
  const authTokens = list("auth-token", "AUTH_TOKEN").items;
  const tokenFile = (values["auth-token-file"] as string | undefined) ??
    merged.AUTH_TOKEN_FILE;
  if (tokenFile) {
    const text = options.readEnvFile(tokenFile);
    const source = values["auth-token-file"] !== undefined
      ? "--auth-token-file"
      : "AUTH_TOKEN_FILE";
    if (text === undefined) {
      throw new ConfigError(
        `Cannot start: ${source} names a file that does not exist, received "${tokenFile}"`,
      );
    }
    authTokens.push(
      ...stripBom(text).split(/\r?\n/).map((t) => t.trim()).filter((t) =>
        t !== "" && !t.startsWith("#")
      ),
    );
  }
  for (const token of authTokens) {
    if (token.length < 16 || !/^[A-Za-z0-9._~+\/=-]+$/.test(token)) {
      throw new ConfigError(
        "Cannot start: an auth token must be at least 16 characters of A-Z a-z 0-9 . _ ~ + / = - (value not shown)",
      );
    }
  }
  const noAuth = truthy("no-auth", "NO_AUTH");
  if (noAuth && authTokens.length > 0) {
    throw new ConfigError(
      "Cannot start: --no-auth and an auth token exclude each other",
    );
  }

  const tlsCert = (values["tls-cert"] as string | undefined) ??
    (merged.TLS_CERT || undefined);
  const tlsKey = (values["tls-key"] as string | undefined) ??
    (merged.TLS_KEY || undefined);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError(
      `Cannot start: --tls-cert and --tls-key go together, received only ${
        tlsCert ? "--tls-cert" : "--tls-key"
      }`,
    );
  }

  // The child's environment.
  const childEnv: Record<string, string> = {};
  if (truthy("clean-env", "CLEAN_ENV")) {
    const passed = list("pass-env", "PASS_ENV");
    for (const name of ["PATH", "HOME", ...passed.items]) {
      if (RUNNER_VARIABLES.has(name) && name !== "PATH" && name !== "HOME") {
        throw new ConfigError(
          `Cannot start: ${passed.source} cannot pass the runner's own setting, received "${name}"`,
        );
      }
      const value = merged[name];
      if (value !== undefined) childEnv[name] = value;
    }
  } else {
    for (const [name, value] of Object.entries(merged)) {
      if (!RUNNER_VARIABLES.has(name)) childEnv[name] = value;
    }
  }
  for (
    const assignment of (values.env as unknown as string[] | undefined) ?? []
  ) {
    const eq = assignment.indexOf("=");
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(assignment.slice(0, eq))) {
      throw new ConfigError(
        `Cannot start: --env must be NAME=VALUE, received "${
          assignment.slice(0, 40)
        }"`,
      );
    }
    childEnv[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }

  return {
    kind: "run",
    config: {
      program,
      args: programArgs,
      host: host.value.trim(),
      port,
      logLevel,
      logFormat,
      maxSessions,
      maxMessageBytes,
      shutdownGraceMs,
      keepaliveSeconds,
      sendTimeoutMs,
      maxInFlight,
      sessionIdleTimeout,
      sendBufferBytes,
      allowOrigins,
      authTokens,
      authTokenOnCommandLine: values["auth-token"] !== undefined,
      noAuth,
      tlsCert,
      tlsKey,
      envFile,
      childEnv,
    },
  };
}

function parseLevel(raw: string): LogLevel | undefined {
  const value = raw.trim().toLowerCase();
  if (value === "warn") return "warning";
  return (LOG_LEVELS as readonly string[]).includes(value)
    ? value as LogLevel
    : undefined;
}

/** Takes the global level out of a `RUST_LOG` filter such as `my_crate=debug,info`. */
function rustLogLevel(raw: string): string {
  const parts = raw.split(",").map((p) => p.trim()).filter((p) => p !== "");
  const global = parts.find((p) => !p.includes("="));
  const chosen = global ?? parts[0]?.split("=")[1] ?? raw;
  return chosen === "off" ? "fatal" : chosen;
}

/**
 * The help text printed by `--help`.
 *
 * @param version The runner's version.
 * @returns Text ending in a newline.
 */
export function helpText(version: string): string {
  const rows = Object.values(SETTINGS).map((s: Setting) =>
    `  --${s.flag.padEnd(20)} ${s.env.padEnd(20)} ${s.help} [${s.fallback}]`
  );
  return [
    `mcp-server-runner ${version}: serve a stdio MCP server over WebSocket, Streamable HTTP and SSE`,
    "",
    "Usage:",
    "  mcp-server-runner [options] -- <program> [args...]",
    "  mcp-server-runner healthcheck [--url URL | --host H --port P] [--timeout-ms N]",
    "  PROGRAM=<program> ARGS=<a,b,c> mcp-server-runner [options]",
    "",
    "Options (flag, environment variable, meaning [default]):",
    ...rows,
    `  --${"env-file PATH".padEnd(20)} ${
      "ENV_FILE".padEnd(20)
    } Read NAME=value lines from PATH; a bad NAME is an error [${DEFAULT_ENV_FILE}, if present]`,
    `  --${"allow-origin ORIGIN".padEnd(20)} ${
      "ALLOW_ORIGINS".padEnd(20)
    } Also allow this browser origin (repeatable; * = any)`,
    `  --${"auth-token TOKEN".padEnd(20)} ${
      "AUTH_TOKEN".padEnd(20)
    } Require this bearer token (repeatable, or comma-separated); as a flag it shows in ps`,
    `  --${"auth-token-file F".padEnd(20)} ${
      "AUTH_TOKEN_FILE".padEnd(20)
    } Read tokens from F, one per line (preferred over --auth-token)`,
    `  --${"no-auth".padEnd(20)} ${
      "NO_AUTH".padEnd(20)
    } Require no token even on a non-loopback address`,
    `  --${"tls-cert FILE".padEnd(20)} ${
      "TLS_CERT".padEnd(20)
    } PEM certificate: serve https:// and wss://`,
    `  --${"tls-key FILE".padEnd(20)} ${
      "TLS_KEY".padEnd(20)
    } PEM private key for --tls-cert`,
    `  --${"clean-env".padEnd(20)} ${
      "CLEAN_ENV".padEnd(20)
    } Give the MCP server only PATH, HOME and --pass-env`,
    `  --${"pass-env NAME".padEnd(20)} ${
      "PASS_ENV".padEnd(20)
    } With --clean-env: also pass NAME (repeatable)`,
    `  --${"env NAME=VALUE".padEnd(20)} ${
      "".padEnd(20)
    } Set a variable for the MCP server only (repeatable)`,
    `  --${"no-env-file".padEnd(20)} ${"".padEnd(20)} Do not read a .env file`,
    `  --${"help, -h".padEnd(20)} ${"".padEnd(20)} Print this help`,
    `  --${"version, -V".padEnd(20)} ${"".padEnd(20)} Print the version`,
    "",
    "Flags override the environment, which overrides the .env file. Every other",
    "variable passes through to the MCP server; the runner's own never do.",
    "",
  ].join("\n");
}
