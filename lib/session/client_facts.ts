/**
 * What `/status` shows of a session's client: its `clientInfo` and the
 * protocol version it asked for in `initialize`, noted once as the message
 * passes (no second parse), plus the load of its channel.
 *
 * @module
 */

import type { CheckedMessage } from "../jsonrpc/message.ts";
import type { Channel } from "./channel.ts";
import type { SessionDetails } from "./session_set.ts";

/** Longest client name or version kept. */
const MAX_TEXT = 100;

/** A session's client, once it sent `initialize`. */
export class ClientFacts {
  /** Whether `initialize` was seen (nothing more to look for). */
  done = false;
  #name: string | undefined;
  #version: string | undefined;
  #protocol: string | undefined;

  /**
   * Looks for `initialize` among messages going to the server.
   *
   * @param messages The checked messages of one line.
   */
  note(messages: CheckedMessage[]): void {
    for (const message of messages) {
      if (message.method !== "initialize" || message.kind !== "request") {
        continue;
      }
      this.done = true;
      const params = message.params as {
        protocolVersion?: unknown;
        clientInfo?: { name?: unknown; version?: unknown };
      } | undefined;
      const info = params?.clientInfo;
      if (typeof info?.name === "string") {
        this.#name = info.name.slice(0, MAX_TEXT);
      }
      if (typeof info?.version === "string") {
        this.#version = info.version.slice(0, MAX_TEXT);
      }
      if (typeof params?.protocolVersion === "string") {
        this.#protocol = params.protocolVersion.slice(0, 20);
      }
    }
  }

  /**
   * The session's details for `/status`.
   *
   * @param channel Its channel, when it has one.
   * @returns Client, protocol version and load.
   */
  details(channel: Channel | undefined): SessionDetails {
    const details: SessionDetails = {
      inFlight: channel?.inFlight ?? 0,
      queuedBytes: channel?.queuedBytes ?? 0,
    };
    if (this.#name !== undefined) details.clientName = this.#name;
    if (this.#version !== undefined) details.clientVersion = this.#version;
    if (this.#protocol !== undefined) details.protocolVersion = this.#protocol;
    const pid = (channel as { pid?: unknown } | undefined)?.pid;
    if (typeof pid === "number") details.pid = pid;
    return details;
  }
}
