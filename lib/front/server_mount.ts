/**
 * One named server of a config file, mounted on the runner's port: its
 * child provider, endpoints, session scope, metrics and stderr buffer, and
 * its life: set up, serving, and retired after a reload removed or changed
 * it.
 *
 * @module
 */

import type { ServerDefinition } from "../config/server_file.ts";
import type { Config } from "../config/types.ts";
import type { OrphanGuard } from "../child/orphan_guard.ts";
import { findInterpreterProblem, findProgram } from "../child/which.ts";
import type { BodyBudget } from "../http/body_budget.ts";
import type { Logger } from "../observe/log.ts";
import { LogRing } from "../observe/log_ring.ts";
import { Metrics } from "../observe/metrics.ts";
import type { ChildProvider } from "../session/channel.ts";
import { choiceOf, providerFor } from "../session/providers.ts";
import { SessionScope } from "../session/session_scope.ts";
import type { SessionSet } from "../session/session_set.ts";
import { SharedProvider } from "../session/shared/shared_child.ts";
import type { ServerStatus } from "./console_backend.ts";
import { serverStatus } from "./server_status.ts";
import type { NotReady, RoutedServer } from "./directory.ts";
import { ServerEndpoints } from "./endpoints.ts";
import { delay } from "../util/delay.ts";

/** What every mount shares: the runner's settings and registries. */
export interface MountContext {
  /** The runner's settings (limits, and defaults of the runner options). */
  config: Config;
  /** Stops children if the runner dies. */
  guard: OrphanGuard | undefined;
  /** Every live session (`--max-sessions`). */
  sessions: SessionSet;
  /** The runner's version. */
  version: string;
  /** Request bodies being read, on every server. */
  bodyBudget: BodyBudget;
  /** The runner's logger; a mount's lines carry its `server`. */
  logger: Logger;
  /**
   * Whether metrics get a `server` label (named servers) or not (the one
   * server of a command).
   */
  labelled: boolean;
  /** Where the mount's URLs are (`/servers/NAME` or ""). */
  prefixOf: (name: string) => string;
  /** The runner's metrics: the one server of a command counts there. */
  metrics?: Metrics | undefined;
}

/** A server mounted on the port. */
export class ServerMount implements RoutedServer, AsyncDisposable {
  /** The server's name. */
  readonly name: string;
  /** Its definition, as read from the file. */
  readonly definition: ServerDefinition;
  /** Its endpoints, while it can serve. */
  readonly endpoints: ServerEndpoints | undefined;
  /** Its sessions. */
  readonly scope: SessionScope;
  /** Its counts, labelled with its name. */
  readonly metrics: Metrics;
  /** Its children's stderr. */
  readonly logs: LogRing;
  /** Its provider, while it can serve. */
  readonly provider: ChildProvider | undefined;
  #modernChild: SharedProvider | undefined;
  #failure: string | undefined;
  #removed: string | undefined;
  #logger: Logger;
  #prefix: string;

  private constructor(
    definition: ServerDefinition,
    context: MountContext,
    program: string | undefined,
    failure: string | undefined,
    previous: ServerMount | undefined,
  ) {
    this.name = definition.name;
    // A server changed by a reload keeps its counts and its stderr buffer.
    this.logs = previous?.logs ?? new LogRing();
    this.definition = definition;
    this.#failure = failure;
    this.#prefix = context.prefixOf(definition.name);
    this.#logger = context.logger.with({ server: definition.name });
    this.metrics = previous?.metrics ??
      (context.labelled || context.metrics === undefined
        ? new Metrics(context.labelled ? { server: definition.name } : {})
        : context.metrics);
    const config = context.config;
    const runner = definition.runner;
    this.scope = new SessionScope(
      context.sessions,
      definition.name,
      runner.maxSessions,
    );
    if (program === undefined) {
      this.provider = undefined;
      this.endpoints = undefined;
      return;
    }
    const logs = this.logs;
    const choice = choiceOf({
      ...config,
      childMode: runner.mode ?? config.childMode,
      prewarm: (runner.mode ?? config.childMode) === "shared"
        ? 0
        : runner.prewarm ?? config.prewarm,
      sharedStart: runner.sharedStart ?? config.sharedStart,
      sharedClientRequests: runner.sharedClientRequests ??
        config.sharedClientRequests,
      sharedSerializeCalls: runner.sharedSerializeCalls ??
        config.sharedSerializeCalls,
      sharedLogs: runner.sharedLogs ?? config.sharedLogs,
      sharedOnExit: runner.sharedOnExit ?? config.sharedOnExit,
    }, {
      spec: {
        program,
        args: definition.args,
        env: definition.env,
        cwd: definition.cwd,
        onStderr: (line, pid, truncated) => logs.add(line, pid, truncated),
        maxMessageBytes: config.maxMessageBytes,
        maxInFlight: config.maxInFlight,
        shutdownGraceMs: config.shutdownGraceMs,
        guard: context.guard,
      },
      logger: this.#logger,
      metrics: this.metrics,
    }, context.version);
    this.provider = providerFor(choice);
    this.#modernChild = this.provider instanceof SharedProvider
      ? this.provider
      : providerFor({
        ...choice,
        mode: "shared",
        policy: { ...choice.policy, start: "lazy", roundTrips: true },
      }) as SharedProvider;
    this.endpoints = new ServerEndpoints({
      provider: this.provider,
      modernChild: this.#modernChild,
      sessions: this.scope,
      maxMessageBytes: config.maxMessageBytes,
      shutdownGraceMs: config.shutdownGraceMs,
      sendTimeoutMs: config.sendTimeoutMs,
      sendBufferBytes: config.sendBufferBytes,
      keepaliveSeconds: config.keepaliveSeconds,
      sessionIdleTimeoutMs: config.sessionIdleTimeout * 1000,
      logger: this.#logger,
      metrics: this.metrics,
      bodyBudget: context.bodyBudget,
      prefix: this.#prefix,
    });
  }

  /**
   * Sets a server up: looks up its program and checks its directory. A
   * server that cannot be set up is mounted as failed, with the reason.
   *
   * @param definition The server, as read from the file.
   * @param context What every mount shares.
   * @param previous The mount it replaces at a reload, whose metrics and
   *   stderr buffer it takes over.
   * @returns The mount (not started).
   */
  static async create(
    definition: ServerDefinition,
    context: MountContext,
    previous?: ServerMount,
  ): Promise<ServerMount> {
    // The one server of a command was checked at startup; it runs as given.
    if (!context.labelled) {
      return new ServerMount(
        definition,
        context,
        definition.program,
        undefined,
        previous,
      );
    }
    if (definition.state !== "ok") {
      return new ServerMount(
        definition,
        context,
        undefined,
        definition.reason,
        previous,
      );
    }
    const problem = await setupProblem(definition);
    if (typeof problem === "string") {
      return new ServerMount(definition, context, undefined, problem, previous);
    }
    return new ServerMount(
      definition,
      context,
      problem.program,
      undefined,
      previous,
    );
  }

  /**
   * Whether a live Streamable HTTP or SSE session of this server has this
   * id.
   *
   * @param sessionId The `Mcp-Session-Id` or `sessionId`.
   * @returns Whether one has.
   */
  holds(sessionId: string): boolean {
    const endpoints = this.endpoints;
    return endpoints !== undefined &&
      (endpoints.http.hasSession(sessionId) ||
        endpoints.legacy.hasSession(sessionId));
  }

  /** Whether the server is switched off in the file. */
  get disabled(): boolean {
    return this.definition.state === "disabled";
  }

  /** Why the server cannot serve, after "server NAME"; else undefined. */
  get unavailable(): string | undefined {
    if (this.#failure === undefined) return undefined;
    return this.disabled
      ? `is ${this.#failure}`
      : `failed to start: ${this.#failure}`;
  }

  /** Why a new session could not start now. */
  async readiness(): Promise<NotReady | undefined> {
    const unavailable = this.unavailable;
    if (unavailable !== undefined) return { reason: unavailable };
    if (this.scope.full) {
      return {
        reason: "every session slot is taken and no session is idle",
        retryAfterSeconds: 1,
      };
    }
    const available = this.provider!.availability();
    if (!available.ok) {
      return {
        reason: available.reason,
        retryAfterSeconds: available.retryAfterSeconds,
      };
    }
    const problem = await setupProblem(this.definition);
    return typeof problem === "string" ? { reason: problem } : undefined;
  }

  /** Starts an eager shared child or the pool. */
  start(): void {
    this.provider?.start();
    if (this.#failure !== undefined && !this.disabled) {
      this.#logger.error("Server {server} cannot serve: {reason}", {
        server: this.name,
        reason: this.#failure,
      });
    }
  }

  /**
   * Retires the server (removed or changed by a reload): no new sessions;
   * the live ones end after `graceMs`, or sooner when they end by
   * themselves; then its children stop.
   *
   * @param reason Why, after "server NAME", for the 503 of new requests.
   * @param graceMs How long live sessions may go on.
   * @param removed Whether it left the file (`/status` then shows it as
   *   `removed` while its sessions end), rather than being replaced.
   * @param signal Cuts the grace short (the runner is stopping).
   */
  async retire(
    reason: string,
    graceMs: number,
    removed: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    if (removed) this.#removed = reason;
    const deadline = Date.now() + graceMs;
    this.scope.close(`server ${this.name} ${reason}`);
    if (this.scope.size > 0 && !signal.aborted) {
      this.#logger.info(
        "Server {server} {reason}: its {count} sessions end in {seconds} s",
        {
          server: this.name,
          reason,
          count: this.scope.size,
          seconds: graceMs / 1000,
        },
      );
      // The grace ends early when the sessions end or the runner stops.
      const cut = new AbortController();
      const stop = () => cut.abort();
      signal.addEventListener("abort", stop, { once: true });
      void Promise.allSettled(this.scope.entries().map(([s]) => s.done))
        .then(stop);
      await delay(graceMs, cut.signal);
      signal.removeEventListener("abort", stop);
    }
    await this.scope.shutdown();
    await this.#modernCallsEnd(deadline, signal);
    await this[Symbol.asyncDispose]();
  }

  /**
   * Waits, until the grace's deadline, for the 2026-07-28 calls still
   * running on the server (they have no session to wait for). Polled: the
   * shared child has no event for its last answer.
   */
  async #modernCallsEnd(deadline: number, signal: AbortSignal): Promise<void> {
    const child = this.#modernChild;
    if (child === undefined) return;
    for (let i = 0; i < 100_000; i++) {
      if (child.pendingRequests === 0 || signal.aborted) return;
      const left = deadline - Date.now();
      if (left <= 0) return;
      await delay(Math.min(100, left), signal);
    }
  }

  /** Stops idle children (pool) before the sessions end at shutdown. */
  stopIdle(): Promise<void> {
    return this.provider?.stopIdle() ?? Promise.resolve();
  }

  /** Kills every child of this server at once. */
  killNow(): void {
    for (const [session] of this.scope.entries()) session.killNow();
    this.provider?.killNow();
    this.#modernChild?.killNow();
  }

  /**
   * Restarts the shared child (the console's restart button).
   *
   * @returns Whether there was a shared child to restart.
   */
  restart(): boolean {
    return this.provider instanceof SharedProvider &&
      this.provider.restartNow();
  }

  /**
   * What `/status` shows of this server.
   *
   * @param base The runner's base URL, such as `http://127.0.0.1:8080`.
   * @returns The server's status.
   */
  status(base: string): ServerStatus {
    return serverStatus({
      definition: this.definition,
      provider: this.provider,
      scope: this.scope,
      url: base + this.#prefix,
      removed: this.#removed !== undefined,
      failed: this.#failure !== undefined,
      unavailable: this.unavailable ?? this.#removed,
    });
  }

  /** Stops the server's children and its endpoints' timers. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.endpoints?.[Symbol.dispose]();
    await this.provider?.[Symbol.asyncDispose]();
    if (this.#modernChild !== this.provider) {
      await this.#modernChild?.[Symbol.asyncDispose]();
    }
  }
}

/** The resolved program, or why the server cannot start. */
async function setupProblem(
  definition: ServerDefinition,
): Promise<{ program: string } | string> {
  try {
    const info = await Deno.stat(definition.cwd);
    if (!info.isDirectory) {
      return `cwd is not a directory, received "${definition.cwd}"`;
    }
  } catch {
    return `cwd does not exist, received "${definition.cwd}"`;
  }
  const lookup = {
    path: definition.env.PATH ?? definition.env.Path,
    pathExt: definition.env.PATHEXT,
    cwd: definition.cwd,
  };
  const program = await findProgram(definition.program, lookup);
  if (program === undefined) {
    return `command names a program that was not found on PATH or is not executable, received "${definition.program}"`;
  }
  const problem = await findInterpreterProblem(program, lookup);
  if (problem !== undefined) return problem.message;
  return { program };
}
