/**
 * The types of the configuration: {@linkcode Config}, what
 * {@linkcode parseConfig} takes and returns, and {@linkcode ConfigError}.
 *
 * @module
 */

import type { LogFormat, LogLevel } from "../observe/log.ts";

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

/** How children are started: one per session, or one for every session. */
export type ChildMode = "per-session" | "shared";

/** When the shared child starts: with the runner, or at the first session. */
export type SharedStart = "eager" | "lazy";

/** What the shared child's requests to a client get. */
export type SharedClientRequests = "refuse" | "attribute";

/** Where the shared child's log notifications go. */
export type SharedLogs = "broadcast" | "drop";

/** What happens when the shared child exits. */
export type SharedOnExit = "restart" | "end-sessions";

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
  /** One child per session, or one child shared by every session. */
  childMode: ChildMode;
  /** Children started ahead for new sessions (per-session mode). */
  prewarm: number;
  /** Seconds after which an unused pre-started child is replaced. */
  prewarmTtlSeconds: number;
  /** Shared mode: start the child with the runner or at the first session. */
  sharedStart: SharedStart;
  /** Shared mode: protocol version the runner initializes the child with. */
  sharedProtocolVersion: string;
  /** Shared mode: refuse the child's requests to clients, or route them. */
  sharedClientRequests: SharedClientRequests;
  /** Shared mode: send the child one `tools/call` at a time. */
  sharedSerializeCalls: boolean;
  /** Shared mode: the roots the runner announces to the child. */
  sharedRoots: string[];
  /** Shared mode: send the child's log notifications to every session, or drop them. */
  sharedLogs: SharedLogs;
  /** Shared mode: restart the child when it exits, or end every session. */
  sharedOnExit: SharedOnExit;
  /** Shared mode: longest wait of a request for the restarted child, in ms. */
  sharedRestartWaitMs: number;
  /** Shared mode: most requests of every session awaiting the child at once. */
  sharedMaxInFlight: number;
  /** The config file of named servers, if any (then `program` is ""). */
  configFile: string | undefined;
  /** Whether a server of the config file that cannot be set up exits 2. */
  strictConfig: boolean;
  /** The config file's server that also answers at the root paths. */
  defaultServer: string | undefined;
  /** Seconds a removed server's sessions live on after a reload. */
  reloadGraceSeconds: number;
  /** Whether the web console is served at `/console`. */
  console: boolean;
  /** `--clean-env`: children get only PATH, HOME and `passEnv`. */
  cleanEnv: boolean;
  /** `--pass-env` names. */
  passEnv: string[];
  /** `--env NAME=VALUE` assignments, in order. */
  envAssignments: string[];
  /**
   * The runner's environment over its `.env` file: what `${NAME}` in a
   * config file expands from.
   */
  vars: Record<string, string>;
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
