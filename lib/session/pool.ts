/**
 * Per-session mode with children started ahead (`--prewarm N`): N children
 * wait spawned but not initialized; a new session takes the oldest, and its
 * own `initialize` reaches a child that is already up. A child serves one
 * session only and is never returned; the pool is topped up in the
 * background, with backoff when children fail to start or exit while idle.
 *
 * @module
 */

import { Backoff } from "./restart_policy.ts";
import { ChildConnection } from "../child/connection.ts";
import type {
  Availability,
  Channel,
  ChannelOptions,
  ChannelTarget,
  ChildProvider,
} from "./channel.ts";
import { DirectChannel } from "./direct_channel.ts";
import type { ProviderOptions } from "./per_session.ts";

/** Options of {@linkcode PoolProvider}. */
export interface PoolOptions extends ProviderOptions {
  /** Children kept waiting. */
  size: number;
  /** An idle child older than this is replaced. */
  ttlMs: number;
}

interface Idle {
  connection: ChildConnection;
  since: number;
  label: string;
}

/** How long after a session takes a child the pool spawns its successor. */
const REFILL_DELAY_MS = 100;
const AVAILABLE: Availability = Object.freeze({ ok: true });

/** A pool of children started ahead, each for one session. */
export class PoolProvider implements ChildProvider {
  readonly mode: string = "pool";
  #options: PoolOptions;
  #idle: Idle[] = [];
  #stopping = false;
  #delays = new Backoff();
  #refill: ReturnType<typeof setTimeout> | undefined;
  #recycle: ReturnType<typeof setTimeout> | undefined;
  #counter = 0;
  #stops = new Set<Promise<unknown>>();

  /** @param options The MCP server, the pool size and TTL. */
  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** Pids of the children waiting. */
  get idlePids(): number[] {
    return this.#idle.map((idle) => idle.connection.pid);
  }

  start(): void {
    this.#fill();
  }

  open(options: ChannelOptions, target: ChannelTarget): Channel {
    const label = `Session ${options.session}`;
    let connection: ChildConnection | undefined;
    while (connection === undefined && this.#idle.length > 0) {
      const idle = this.#idle.shift()!;
      if (idle.connection.writable) connection = idle.connection;
    }
    if (connection === undefined) {
      connection = this.#spawn(label);
    } else {
      this.#options.logger.info("{label} takes pre-started pid {pid}", {
        label,
        pid: connection.pid,
      });
      connection.relabel(label);
    }
    // Not at once: a spawn costs the event loop milliseconds, just when the
    // session that took the child sends its initialize.
    this.#schedule(REFILL_DELAY_MS);
    return new DirectChannel(connection, options, this.#options.spec, target);
  }

  availability(): Availability {
    return AVAILABLE;
  }

  whenAvailable(): Promise<Availability> {
    return Promise.resolve(AVAILABLE);
  }

  killNow(): void {
    for (const idle of this.#idle) idle.connection.killNow();
  }

  async stopIdle(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#refill);
    clearTimeout(this.#recycle);
    const idle = this.#idle.splice(0);
    await Promise.all([
      ...idle.map((entry) => entry.connection.stop()),
      ...this.#stops,
    ]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stopIdle();
  }

  #spawn(label: string): ChildConnection {
    return ChildConnection.spawn({
      spec: this.#options.spec,
      label,
      logger: this.#options.logger,
      metrics: this.#options.metrics,
    });
  }

  /** Tops the pool up now or after `ms`. */
  #schedule(ms: number): void {
    if (this.#stopping || this.#refill !== undefined) return;
    this.#refill = setTimeout(() => {
      this.#refill = undefined;
      this.#fill();
    }, ms);
  }

  #fill(): void {
    while (!this.#stopping && this.#idle.length < this.#options.size) {
      const label = `pool#${++this.#counter}`;
      let connection: ChildConnection;
      try {
        connection = this.#spawn(label);
      } catch {
        this.#backoff();
        return;
      }
      const idle: Idle = { connection, since: Date.now(), label };
      this.#idle.push(idle);
      void connection.child.status.then((status) => {
        const at = this.#idle.indexOf(idle);
        if (at === -1) return; // leased, recycled or stopped
        this.#idle.splice(at, 1);
        this.#options.logger.warning(
          "{label}: pre-started MCP server exited while idle ({code}); replacing it",
          { label, code: status.signal ?? status.code },
        );
        this.#retire(connection);
        this.#backoff();
      }).catch((error) =>
        this.#options.logger.error("{label}: cannot replace it: {error}", {
          label,
          error: String(error),
        })
      );
    }
    if (this.#idle.length >= this.#options.size) this.#delays.reset();
    this.#armRecycle();
  }

  #backoff(): void {
    this.#schedule(this.#delays.next());
  }

  /** Replaces idle children older than the TTL, oldest first. */
  #armRecycle(): void {
    clearTimeout(this.#recycle);
    this.#recycle = undefined;
    const oldest = this.#idle[0];
    if (this.#stopping || oldest === undefined) return;
    const due = oldest.since + this.#options.ttlMs - Date.now();
    this.#recycle = setTimeout(() => {
      this.#recycle = undefined;
      const now = Date.now();
      const expired = this.#idle.filter((i) =>
        now - i.since >= this.#options.ttlMs
      );
      this.#idle = this.#idle.filter((i) => !expired.includes(i));
      for (const idle of expired) {
        this.#options.logger.info(
          "{label}: idle for {seconds} s, replacing it with a fresh one",
          { label: idle.label, seconds: Math.round((now - idle.since) / 1000) },
        );
        this.#retire(idle.connection);
      }
      this.#fill();
    }, Math.max(0, due));
  }

  #retire(connection: ChildConnection): void {
    const stop = connection.stop();
    this.#stops.add(stop);
    void stop.finally(() => this.#stops.delete(stop));
  }
}
