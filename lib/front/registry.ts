/**
 * The servers the runner serves: the one of its command, or every server
 * of its config file, each mounted at `/servers/NAME/…` and isolated from
 * the others' failures. A reload diffs the file's new servers by name:
 * added ones are mounted at once, removed ones refuse new sessions while
 * their live sessions run out a grace period, changed ones serve new
 * sessions with the new definition while old sessions keep their child.
 * `/status` and the console read it through `registry_console.ts`.
 *
 * @module
 */

import type { ServerFile } from "../config/server_file.ts";
import type { Logger } from "../observe/log.ts";
import { Metrics } from "../observe/metrics.ts";
import type { ActionResult } from "./console_backend.ts";
import type { RoutedServer, ServerDirectory } from "./directory.ts";
import { type MountContext, ServerMount } from "./server_mount.ts";

/** Options for {@linkcode ServerRegistry}. */
export interface RegistryOptions
  extends Omit<MountContext, "labelled" | "prefixOf"> {
  /** Whether servers are named (a config file) or one command's. */
  named: boolean;
  /** Reads the config file again (for a reload). */
  load?: (() => Promise<ServerFile>) | undefined;
  /** `--default-server`. */
  defaultServer?: string | undefined;
  /** Live sessions of a removed server go on this long, in ms. */
  reloadGraceMs: number;
  /** The runner's own counts (refusals before a server is known). */
  metrics: Metrics;
}

/** Every server, by name. */
export class ServerRegistry implements ServerDirectory, AsyncDisposable {
  readonly named: boolean;
  #options: RegistryOptions;
  #context: MountContext;
  #mounts = new Map<string, ServerMount>();
  /** Removed or replaced mounts whose sessions are running out. */
  #retiring = new Set<ServerMount>();
  #retired = new Set<Promise<void>>();
  #defaultName: string | undefined;
  #fileDefault: string | undefined;
  #configError: string | undefined;
  #stop = new AbortController();
  #address = { host: "", port: 0, url: "" };
  #log: Logger;
  #reloading: Promise<ActionResult> | undefined;
  #again: Promise<ActionResult> | undefined;

  /**
   * Creates an empty registry; {@linkcode apply} mounts the servers.
   *
   * @param options Shared settings, the file's loader and the status facts.
   */
  constructor(options: RegistryOptions) {
    this.named = options.named;
    this.#options = options;
    this.#log = options.logger;
    this.#context = {
      ...options,
      labelled: options.named,
      prefixOf: (name) => options.named ? `/servers/${name}` : "",
    };
  }

  /** Where the runner listens, once it does (for `/status` URLs). */
  setAddress(host: string, port: number, url: string): void {
    this.#address = { host, port, url };
  }

  /**
   * Mounts a file's servers (or the one server of a command), replacing
   * what changed. The first call mounts everything.
   *
   * @param file The servers and the file's default.
   */
  async apply(
    file: Pick<ServerFile, "servers" | "defaultServer">,
  ): Promise<void> {
    const grace = this.#options.reloadGraceMs;
    const seen = new Set<string>();
    for (const definition of file.servers) {
      seen.add(definition.name);
      const old = this.#mounts.get(definition.name);
      // A server that failed to set up (a missing program or directory) is
      // set up again even when its entry did not change.
      const failedBefore = old !== undefined && !old.disabled &&
        old.unavailable !== undefined;
      if (
        old?.definition.fingerprint === definition.fingerprint && !failedBefore
      ) continue;
      if (this.#stop.signal.aborted) return;
      const mount = await ServerMount.create(definition, this.#context, old);
      if (this.#stop.signal.aborted) {
        await mount[Symbol.asyncDispose]();
        return;
      }
      this.#mounts.set(definition.name, mount);
      mount.start();
      if (old !== undefined) {
        this.#log.info(
          "Server {server} changed: new sessions use the new definition",
          {
            server: definition.name,
          },
        );
        this.#retire(old, "was replaced by a reload", grace, false);
      }
    }
    for (const [name, mount] of this.#mounts) {
      if (seen.has(name)) continue;
      this.#mounts.delete(name);
      this.#log.info("Server {server} was removed from the config file", {
        server: name,
      });
      this.#retire(mount, "was removed by a reload", grace, true);
    }
    this.#fileDefault = file.defaultServer;
    this.#defaultName = this.#chooseDefault();
  }

  #chooseDefault(): string | undefined {
    const wanted = this.#options.defaultServer ?? this.#fileDefault;
    if (wanted !== undefined) {
      return this.#mounts.has(wanted) ? wanted : undefined;
    }
    const enabled = [...this.#mounts.values()].filter((m) => !m.disabled);
    return enabled.length === 1 ? enabled[0]!.name : undefined;
  }

  #retire(
    mount: ServerMount,
    reason: string,
    graceMs: number,
    removed: boolean,
  ): void {
    this.#retiring.add(mount);
    const done = mount.retire(reason, graceMs, removed, this.#stop.signal)
      .catch((error) =>
        this.#log.error("Cannot stop server {server}: {error}", {
          server: mount.name,
          error: String(error),
        })
      )
      .finally(() => {
        this.#retiring.delete(mount);
        this.#retired.delete(done);
      });
    this.#retired.add(done);
  }

  /** The current mounts, in order. */
  get mounts(): ServerMount[] {
    return [...this.#mounts.values()];
  }

  /** The name of the default server, if any. */
  get defaultName(): string | undefined {
    return this.#defaultName;
  }

  /**
   * A server by name. With a session id, a replaced or removed server's
   * mount that still has that session wins, so its session goes on.
   */
  find(name: string, sessionId?: string): RoutedServer | undefined {
    if (sessionId !== undefined && sessionId !== "") {
      for (const mount of this.#retiring) {
        if (mount.name === name && mount.holds(sessionId)) return mount;
      }
    }
    return this.#mounts.get(name);
  }

  /**
   * The server holding a live session, by its id (of `/mcp` or
   * `/message`): at the root paths, a session keeps its server across a
   * reload that changed the server or the default.
   */
  findBySession(sessionId: string): RoutedServer | undefined {
    return this.#everyMount().find((mount) => mount.holds(sessionId));
  }

  /** Current mounts, then those a reload removed or replaced. */
  #everyMount(): ServerMount[] {
    return [...this.#mounts.values(), ...this.#retiring];
  }

  /** Mounts a reload removed or replaced whose sessions are ending. */
  get retiring(): ServerMount[] {
    return [...this.#retiring];
  }

  /** The last reload's error, while the running servers are kept. */
  get configError(): string | undefined {
    return this.#configError;
  }

  /** The runner's address (from `setAddress`) and when it started. */
  get address(): { host: string; port: number; url: string } {
    return this.#address;
  }

  /** The server at the root paths. */
  get defaultServer(): RoutedServer | undefined {
    return this.#defaultName === undefined
      ? undefined
      : this.#mounts.get(this.#defaultName);
  }

  /** Every current server. */
  all(): RoutedServer[] {
    return this.mounts;
  }

  /** The `/metrics` text of the runner and every server. */
  metricsText(): string {
    // A server changed by a reload shares its metrics with the mount it
    // replaced: one set of rows, its live sessions counted together.
    const byMetrics = new Map<Metrics, Record<string, number>>();
    for (const mount of this.#everyMount()) {
      const active = byMetrics.get(mount.metrics) ?? {};
      for (
        const [transport, count] of Object.entries(
          mount.scope.countByTransport(),
        )
      ) {
        active[transport] = (active[transport] ?? 0) + count;
      }
      byMetrics.set(mount.metrics, active);
    }
    const parts = [...byMetrics].map(([metrics, active]) => ({
      metrics,
      active,
    }));
    if (this.named) {
      parts.unshift({ metrics: this.#options.metrics, active: {} });
    }
    return Metrics.renderAll(parts);
  }

  /** Starts nothing more; stops idle pool children. */
  async stopIdle(): Promise<void> {
    await Promise.allSettled(this.mounts.map((m) => m.stopIdle()));
  }

  /** Kills every child of every server at once. */
  killNow(): void {
    for (const mount of this.#everyMount()) {
      mount.killNow();
    }
  }

  /**
   * Re-reads the config file and applies it. An error keeps the running
   * servers and is shown in `/status` until a reload succeeds.
   *
   * @returns What happened.
   */
  reload(): Promise<ActionResult> {
    if (this.#stop.signal.aborted) {
      return Promise.resolve({
        ok: false,
        status: 503,
        message: "Service Unavailable: the runner is shutting down",
      });
    }
    // One reload at a time; a trigger during one runs one more after it, so
    // that the newest file is the one applied.
    if (this.#reloading !== undefined) {
      this.#again ??= this.#reloading.then(() => {
        this.#again = undefined;
        return this.reload();
      });
      return this.#again;
    }
    this.#reloading = this.#reload().catch((error): ActionResult => {
      this.#log.error("Cannot reload the config file: {error}", {
        error: String(error),
      });
      return { ok: false, status: 500, message: String(error) };
    }).finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #reload(): Promise<ActionResult> {
    const load = this.#options.load;
    if (load === undefined) {
      return {
        ok: false,
        status: 409,
        message: "Conflict: there is no config file to reload (--config)",
      };
    }
    let file: ServerFile;
    try {
      file = await load();
    } catch (error) {
      this.#configError = (error as Error).message;
      this.#log.error(
        "Cannot reload the config file, keeping the running servers: {error}",
        { error: this.#configError },
      );
      return { ok: false, status: 422, message: this.#configError };
    }
    this.#configError = undefined;
    for (const warning of file.warnings) this.#log.warning(warning);
    const before = this.#fingerprints();
    await this.apply(file);
    const after = this.#fingerprints();
    const changes = diffNames(before, after);
    const detail = changes === "" ? "no server changed" : changes;
    this.#log.info(
      "Reloaded the config file: {detail} (the address, port, TLS and tokens change only with a restart)",
      { detail },
    );
    return { ok: true, detail };
  }

  #fingerprints(): Map<string, string> {
    return new Map(
      [...this.#mounts].map(([name, m]) => [name, m.definition.fingerprint]),
    );
  }

  /** Stops every server: their sessions end first, then their children. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort();
    await this.#reloading;
    await Promise.allSettled([...this.#retired]);
    await Promise.allSettled(
      this.mounts.map(async (mount) => {
        await mount.scope.shutdown();
        await mount[Symbol.asyncDispose]();
      }),
    );
  }
}

/** "added a, b; removed c; changed d" from two name → fingerprint maps. */
function diffNames(
  before: Map<string, string>,
  after: Map<string, string>,
): string {
  const added = [...after.keys()].filter((n) => !before.has(n));
  const removed = [...before.keys()].filter((n) => !after.has(n));
  const changed = [...after.keys()].filter((n) =>
    before.has(n) && before.get(n) !== after.get(n)
  );
  return [
    added.length > 0 ? `added ${added.join(", ")}` : "",
    removed.length > 0 ? `removed ${removed.join(", ")}` : "",
    changed.length > 0 ? `changed ${changed.join(", ")}` : "",
  ].filter((part) => part !== "").join("; ");
}
