/**
 * What `/status` and the web console read and do: a snapshot of the runner,
 * its servers and their sessions, each server's stderr, and the few actions
 * the console offers. The server registry implements it; the console's HTTP
 * routes only present it.
 *
 * Nothing here ever holds a token, an environment value or a message
 * payload: environment variables appear by name only.
 *
 * @module
 */

/** One live session, as `/status` shows it. */
export interface SessionStatus {
  /** The session's short id (the one in the log). */
  id: string;
  /** `websocket`, `streamable-http` or `sse`. */
  transport: string;
  /** The client's `clientInfo.name`, once it sent `initialize`. */
  clientName?: string | undefined;
  /** The client's `clientInfo.version`. */
  clientVersion?: string | undefined;
  /** The protocol version the session runs. */
  protocolVersion?: string | undefined;
  /** Seconds since the session started. */
  ageSeconds: number;
  /** Seconds since it last was busy; undefined while it is busy. */
  idleSeconds?: number | undefined;
  /** Requests awaiting the server's answer. */
  inFlight: number;
  /** Bytes queued for the client. */
  queuedBytes: number;
  /** The pid of its own child (per-session mode). */
  pid?: number | undefined;
  /** Which accepted token it used (1-based), never the token itself. */
  tokenIndex?: number | undefined;
}

/** How a server's children last ended. */
export interface ExitStatus {
  /** Exit code, when it exited on its own. */
  code: number | null;
  /** Signal name, when a signal ended it. */
  signal: string | null;
  /** When, as an ISO 8601 time. */
  at: string;
}

/** One server, as `/status` shows it. */
export interface ServerStatus {
  /** The server's name (`default` for `-- cmd args`). */
  name: string;
  /** `per-session` or `shared`. */
  mode: "per-session" | "shared";
  /** Prewarmed children (per-session mode), 0 without a pool. */
  prewarm: number;
  /**
   * `ready`, `starting`, `restarting` (shared child, see `nextAttemptAt`),
   * `failed` (see `reason`), `disabled`, or `removed` (reloaded away, its
   * sessions ending).
   */
  state:
    | "ready"
    | "starting"
    | "restarting"
    | "failed"
    | "disabled"
    | "removed";
  /** Why the server is failed, disabled or not ready. */
  reason?: string | undefined;
  /** When the next restart is tried, as an ISO 8601 time. */
  nextAttemptAt?: string | undefined;
  /** The program (as written, before lookup), never its arguments' values. */
  program: string;
  /** How many arguments it gets. */
  argCount: number;
  /** Names of the variables the server's own block sets, never the values. */
  envKeys: string[];
  /** The server's working directory, when one is set. */
  cwd?: string | undefined;
  /** Where clients connect: absolute URLs. */
  urls: { mcp: string; sse: string; websocket: string };
  /** Process ids of its running children. */
  pids: number[];
  /** Live sessions. */
  sessions: SessionStatus[];
  /** Restarts of the shared child (0 in per-session mode). */
  restarts: number;
  /** How a child of this server last exited, if one did. */
  lastExit?: ExitStatus | undefined;
  /** The protocol version the server answered (shared mode, once known). */
  protocolVersion?: string | undefined;
  /** The server's `serverInfo`, once known. */
  serverInfo?: { name?: string; version?: string } | undefined;
  /** The server's capabilities, once known. */
  capabilities?: Record<string, unknown> | undefined;
  /** Most sessions this server may have (`runner.maxSessions`), if capped. */
  maxSessions?: number | undefined;
}

/** The whole snapshot served at `/status`. */
export interface RunnerStatus {
  /** The runner's version. */
  version: string;
  /** Seconds since the runner started. */
  uptimeSeconds: number;
  /** The listening address. */
  address: { host: string; port: number; url: string };
  /** Whether a bearer token is required. */
  auth: boolean;
  /** Whether the runner serves HTTPS. */
  tls: boolean;
  /** Whether the web console is on. */
  console: boolean;
  /** The config file, when servers come from one. */
  configFile?: string | undefined;
  /** The last reload's error, while the running configuration is kept. */
  configError?: string | undefined;
  /** The server also answering at `/mcp`, `/sse` and `/`. */
  defaultServer?: string | undefined;
  /** Most sessions of every server together (`--max-sessions`). */
  maxSessions: number;
  /** Every server, in the config file's order. */
  servers: ServerStatus[];
}

export type { LogFeed, LogLine } from "../observe/log_feed.ts";
import type { LogFeed } from "../observe/log_feed.ts";

/** The outcome of a console action. */
export type ActionResult =
  | { ok: true; detail: string }
  | { ok: false; status: number; message: string };

/** What `/status` and the console's API are served from. */
export interface ConsoleBackend {
  /** The current snapshot. */
  status(): RunnerStatus;
  /** A server's stderr feed, or undefined for an unknown name. */
  logs(server: string): LogFeed | undefined;
  /** Restarts a server's shared child (shared mode only). */
  restart(server: string): Promise<ActionResult>;
  /** Re-reads the config file (only with `--config`). */
  reload(): Promise<ActionResult>;
  /** Ends one session by its id. */
  endSession(id: string): Promise<ActionResult>;
}

/**
 * The routes of `/status` and the console, as the request handler calls
 * them: page files before the token check, API calls after it.
 */
export interface ConsoleRouter {
  /** Whether `pathname` is a console page file (served without a token). */
  isPage(pathname: string): boolean;
  /** Serves a console page file. */
  page(request: Request, pathname: string): Response;
  /** Whether `pathname` is `/status` or, with the console on, under `/console/`. */
  isApi(pathname: string): boolean;
  /**
   * Serves an API call whose Origin, Host and token were checked.
   *
   * @param request The request.
   * @param url Its parsed URL.
   * @param principal Who the token says the caller is.
   */
  api(request: Request, url: URL, principal: string): Promise<Response>;
}
