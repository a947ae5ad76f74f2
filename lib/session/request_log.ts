/**
 * The access log of one session: a line per request (what, how long, how
 * it ended) and a line when the session ends.
 *
 * @module
 */

import type { Logger } from "../observe/log.ts";
import type { ChannelOptions } from "./channel.ts";

/** Access lines for one session. */
export class RequestLog {
  #options: ChannelOptions;
  #log: Logger;
  #enabled: boolean;
  #startedAt = Date.now();
  /** Messages from the client forwarded. */
  in = 0;
  /** Messages to the client delivered. */
  out = 0;

  /** @param options The session's channel options. */
  constructor(options: ChannelOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#enabled = options.logger.isEnabledFor("info");
  }

  /** One line per request. */
  request(
    method: string,
    name: string | undefined,
    ms: number,
    outcome: string,
  ): void {
    if (!this.#enabled) return;
    this.#log.info(
      "Request: session={session} transport={transport} method={method} name={name} duration_ms={duration} outcome={outcome}",
      {
        session: this.#options.session,
        transport: this.#options.transport,
        method,
        name: name ?? "",
        duration: Math.round(ms * 1000) / 1000,
        outcome,
      },
    );
  }

  /** The line for the session's end. */
  ended(reason: string): void {
    this.#log.info(
      "Access: session={session} transport={transport} remote={remote} duration_ms={duration} messages_in={in} messages_out={out} ended={reason}",
      {
        session: this.#options.session,
        transport: this.#options.transport,
        remote: this.#options.remote ?? "unknown",
        duration: Date.now() - this.#startedAt,
        in: this.in,
        out: this.out,
        reason,
      },
    );
  }
}
