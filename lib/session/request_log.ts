/**
 * The access log of one session: a line per request (what, how long, how
 * it ended) and a line when the session ends.
 *
 * @module
 */

import type { LogRecord } from "@logtape/logtape";
import type { Logger } from "../observe/log.ts";
import type { ChannelOptions } from "./channel.ts";

/** The template of a request's line (its placeholders are its properties). */
const REQUEST_TEMPLATE =
  "Request: session={session} transport={transport} method={method} name={name} duration_ms={duration} outcome={outcome}";

/**
 * Most request lines held back before they are written: past it, they are
 * written at once.
 */
const MAX_HELD_LINES = 1024;

/** One request line, not written yet. */
interface HeldLine {
  method: string;
  name: string;
  duration: number;
  outcome: string;
  timestamp: number;
}

/** Access lines for one session. */
export class RequestLog {
  #options: ChannelOptions;
  #log: Logger;
  #enabled: boolean;
  #startedAt = Date.now();
  #held: HeldLine[] = [];
  #flush = () => this.#write();
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

  /**
   * One line per request. The line is written after the task that calls
   * this (in a microtask, with the time of the call): a response goes to
   * its client before its line is formatted.
   */
  request(
    method: string,
    name: string | undefined,
    ms: number,
    outcome: string,
  ): void {
    if (!this.#enabled) return;
    const held = this.#held;
    held.push({
      method,
      name: name ?? "",
      duration: Math.round(ms * 1000) / 1000,
      outcome,
      timestamp: Date.now(),
    });
    if (held.length === 1) queueMicrotask(this.#flush);
    else if (held.length >= MAX_HELD_LINES) this.#write();
  }

  /** Writes the request lines held back, in order. */
  #write(): void {
    const held = this.#held;
    if (held.length === 0) return;
    this.#held = [];
    const { session, transport } = this.#options;
    const category = this.#log.category;
    for (const line of held) {
      // The record LogTape would make of REQUEST_TEMPLATE, made directly:
      // the template is not parsed again for every request, and a record
      // that names its category is not copied once more on its way.
      const record: LogRecord = {
        category,
        level: "info",
        timestamp: line.timestamp,
        rawMessage: REQUEST_TEMPLATE,
        message: [
          "Request: session=",
          session,
          " transport=",
          transport,
          " method=",
          line.method,
          " name=",
          line.name,
          " duration_ms=",
          line.duration,
          " outcome=",
          line.outcome,
          "",
        ],
        properties: {
          session,
          transport,
          method: line.method,
          name: line.name,
          duration: line.duration,
          outcome: line.outcome,
        },
      };
      this.#log.emit(record);
    }
  }

  /** The line for the session's end (after every request line). */
  ended(reason: string): void {
    this.#write();
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
