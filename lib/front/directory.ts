/**
 * The servers the request handler routes to: one (the command after `--`)
 * or the named servers of a config file. The handler asks only this
 * interface; {@linkcode SingleServer} is the one-server form, the registry
 * of `registry.ts` the config-file form.
 *
 * @module
 */

import type { Metrics } from "../observe/metrics.ts";
import type { ChildProvider } from "../session/channel.ts";
import { type EndpointsOptions, ServerEndpoints } from "./endpoints.ts";

/** Why a server is not ready, for `/readyz`. */
export interface NotReady {
  /** One line. */
  reason: string;
  /** Seconds a client should wait, when known. */
  retryAfterSeconds?: number | undefined;
}

/** A server as the handler routes to it. */
export interface RoutedServer {
  /** Its name (`default` for the command after `--`). */
  readonly name: string;
  /** Its endpoints; undefined while it cannot serve. */
  readonly endpoints: ServerEndpoints | undefined;
  /**
   * Why it cannot serve (failed, disabled, removed), as words after "server
   * NAME"; else undefined.
   */
  readonly unavailable: string | undefined;
  /** Whether it is switched off (then `/readyz` does not wait for it). */
  readonly disabled?: boolean;
  /** Why a new session could not start now; undefined when it could. */
  readiness(): Promise<NotReady | undefined>;
}

/** What the handler routes by. */
export interface ServerDirectory {
  /**
   * Whether servers are named (a config file): then `/servers/NAME/…` is
   * served, and the root paths only for a default server.
   */
  readonly named: boolean;
  /**
   * A server by name, or undefined. A session id (of `/mcp` or
   * `/message`) may pick the mount that still holds that session.
   */
  find(name: string, sessionId?: string): RoutedServer | undefined;
  /**
   * The server holding a live session (named servers): at the root paths
   * a session stays with its server across a reload.
   */
  findBySession?(sessionId: string): RoutedServer | undefined;
  /** The server at `/mcp`, `/sse`, `/message` and `/`, if any. */
  readonly defaultServer: RoutedServer | undefined;
  /** Every server, in order. */
  all(): RoutedServer[];
  /** The `/metrics` text: the runner's own counts and every server's. */
  metricsText(): string;
}

/** Options for {@linkcode SingleServer}. */
export interface SingleServerOptions extends EndpointsOptions {
  /** The runner-wide metrics (also the server's). */
  metrics?: Metrics | undefined;
  /** Live sessions per transport, for the gauge. */
  countByTransport: () => Record<string, number>;
  /** Why a child cannot be started now; undefined when it can. */
  notReady?: (() => Promise<string | undefined>) | undefined;
}

/** The one server of a runner started with a command. */
export class SingleServer implements ServerDirectory, RoutedServer, Disposable {
  readonly named = false;
  readonly name = "default";
  readonly endpoints: ServerEndpoints;
  readonly unavailable = undefined;
  #provider: ChildProvider;
  #options: SingleServerOptions;

  /**
   * Creates the server's endpoints.
   *
   * @param options The provider, limits and the session admission.
   */
  constructor(options: SingleServerOptions) {
    this.#options = options;
    this.#provider = options.provider;
    this.endpoints = new ServerEndpoints(options);
  }

  /** This server, for its name. */
  find(name: string): RoutedServer | undefined {
    return name === this.name ? this : undefined;
  }

  /** This server. */
  get defaultServer(): RoutedServer {
    return this;
  }

  /** This server. */
  all(): RoutedServer[] {
    return [this];
  }

  /** Why a new session could not start now. */
  async readiness(): Promise<NotReady | undefined> {
    const available = this.#provider.availability();
    if (!available.ok) {
      return {
        reason: available.reason,
        retryAfterSeconds: available.retryAfterSeconds,
      };
    }
    const reason = await this.#options.notReady?.();
    return reason === undefined ? undefined : { reason };
  }

  /** The metrics, without a server label. */
  metricsText(): string {
    return this.#options.metrics?.render(this.#options.countByTransport()) ??
      "";
  }

  /** Stops the endpoints' timers. */
  [Symbol.dispose](): void {
    this.endpoints[Symbol.dispose]();
  }
}
