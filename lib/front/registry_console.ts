/**
 * What `/status` and the console read and do, from the server registry:
 * the snapshot of every server and session, a server's stderr, and the
 * console's actions (restart, reload, end a session).
 *
 * @module
 */

import type { Logger } from "../observe/log.ts";
import type {
  ActionResult,
  ConsoleBackend,
  LogFeed,
  RunnerStatus,
  ServerStatus,
} from "./console_backend.ts";
import type { ServerRegistry } from "./registry.ts";

/** Options for {@linkcode RegistryConsole}. */
export interface RegistryConsoleOptions {
  /** The runner's version. */
  version: string;
  /** `--max-sessions`. */
  maxSessions: number;
  /** Whether a bearer token is required. */
  auth: boolean;
  /** Whether the runner serves HTTPS. */
  tls: boolean;
  /** Whether the web console is on. */
  console: boolean;
  /** The config file, when servers come from one. */
  configFile?: string | undefined;
  /** Logs the console's actions. */
  logger: Logger;
}

/** The console's backend over the server registry. */
export class RegistryConsole implements ConsoleBackend {
  #registry: ServerRegistry;
  #options: RegistryConsoleOptions;
  #log: Logger;
  #startedAt = Date.now();

  /**
   * Creates the backend.
   *
   * @param registry The servers.
   * @param options The facts `/status` shows of the runner.
   */
  constructor(registry: ServerRegistry, options: RegistryConsoleOptions) {
    this.#registry = registry;
    this.#options = options;
    this.#log = options.logger;
  }

  /** Re-reads the config file. */
  reload(): Promise<ActionResult> {
    return this.#registry.reload();
  }

  /** The `/status` snapshot. */
  status(): RunnerStatus {
    const base = this.#registry.address.url.replace(/\/$/, "");
    const status: RunnerStatus = {
      version: this.#options.version,
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      address: this.#registry.address,
      auth: this.#options.auth,
      tls: this.#options.tls,
      console: this.#options.console,
      maxSessions: this.#options.maxSessions,
      servers: this.#statuses(base),
    };
    if (this.#options.configFile !== undefined) {
      status.configFile = this.#options.configFile;
    }
    if (this.#registry.configError !== undefined) {
      status.configError = this.#registry.configError;
    }
    if (this.#registry.defaultName !== undefined) {
      status.defaultServer = this.#registry.defaultName;
    }
    return status;
  }

  /**
   * Every current server, with the live sessions of the mounts a reload
   * replaced under its name, then the removed ones still ending.
   */
  #statuses(base: string): ServerStatus[] {
    const current = this.#registry.mounts.map((m) => m.status(base));
    const removed: ServerStatus[] = [];
    for (const mount of this.#registry.retiring) {
      const status = mount.status(base);
      const same = current.find((s) => s.name === mount.name);
      if (same === undefined) {
        removed.push(status);
        continue;
      }
      same.sessions.push(...status.sessions);
      for (const pid of status.pids) {
        if (!same.pids.includes(pid)) same.pids.push(pid);
      }
    }
    return [...current, ...removed];
  }

  /** A server's stderr feed. */
  logs(server: string): LogFeed | undefined {
    return this.#registry.mounts.find((m) => m.name === server)?.logs;
  }

  /** Restarts a server's shared child. */
  restart(server: string): Promise<ActionResult> {
    const mount = this.#registry.mounts.find((m) => m.name === server);
    if (mount === undefined) {
      return Promise.resolve({
        ok: false,
        status: 404,
        message: `Not Found: no server is named "${server.slice(0, 64)}"`,
      });
    }
    if (!mount.restart()) {
      return Promise.resolve({
        ok: false,
        status: 409,
        message:
          `Conflict: server ${server} has no shared child to restart (per-session mode starts a child per session)`,
      });
    }
    this.#log.info("Restarting the shared child of server {server} (console)", {
      server,
    });
    return Promise.resolve({ ok: true, detail: `server ${server} restarting` });
  }

  /** Ends a session by id. */
  async endSession(id: string): Promise<ActionResult> {
    for (
      const mount of [...this.#registry.mounts, ...this.#registry.retiring]
    ) {
      for (const [session] of mount.scope.entries()) {
        if ((session.handle ?? session.id) !== id) continue;
        this.#log.info("Ending session {session} (console)", {
          session: session.handle ?? session.id,
        });
        await (session.end?.("Session ended from the console") ??
          session.shutdown());
        return { ok: true, detail: `session ${id} ended` };
      }
    }
    return {
      ok: false,
      status: 404,
      message: `Not Found: no live session has id "${id.slice(0, 64)}"`,
    };
  }
}
