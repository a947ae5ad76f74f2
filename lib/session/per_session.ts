/**
 * Per-session mode: every session starts a child of its own, and stops it
 * when it ends (the default; sessions are isolated from each other).
 *
 * @module
 */

import { ChildConnection } from "../child/connection.ts";
import type { ChildSpec } from "../child/spec.ts";
import type { Logger } from "../observe/log.ts";
import type { Metrics } from "../observe/metrics.ts";
import type {
  Availability,
  Channel,
  ChannelOptions,
  ChannelTarget,
  ChildProvider,
} from "./channel.ts";
import { DirectChannel } from "./direct_channel.ts";

/** Options of the per-session provider and the pool. */
export interface ProviderOptions {
  /** The MCP server and the bounds on its traffic. */
  spec: ChildSpec;
  /** Logger. */
  logger: Logger;
  /** Where spawn counts go. */
  metrics?: Metrics | undefined;
}

const AVAILABLE: Availability = Object.freeze({ ok: true });

/** A new child for every session. */
export class PerSessionProvider implements ChildProvider {
  readonly mode: string = "per-session";
  #options: ProviderOptions;

  /** @param options The MCP server, logger and metrics. */
  constructor(options: ProviderOptions) {
    this.#options = options;
  }

  open(options: ChannelOptions, target: ChannelTarget): Channel {
    const connection = ChildConnection.spawn({
      spec: this.#options.spec,
      label: `Session ${options.session}`,
      logger: this.#options.logger,
      metrics: this.#options.metrics,
    });
    return new DirectChannel(connection, options, this.#options.spec, target);
  }

  availability(): Availability {
    return AVAILABLE;
  }

  whenAvailable(): Promise<Availability> {
    return Promise.resolve(AVAILABLE);
  }

  start(): void {}

  stopIdle(): Promise<void> {
    return Promise.resolve();
  }

  killNow(): void {}

  async [Symbol.asyncDispose](): Promise<void> {}
}
