/**
 * The messages of a Streamable HTTP session that wait while no stream is
 * open, bounded in count and bytes.
 *
 * @module
 */

import type { CheckedMessage } from "../../jsonrpc/message.ts";

/** Most messages held while no stream is open. */
export const MAX_HELD_MESSAGES = 1000;

/** Most bytes of messages held while no stream is open. */
export const MAX_HELD_BYTES = 4 * 1024 * 1024;

/** One held message. */
export interface HeldMessage {
  /** Its text, one line. */
  text: string;
  /** What it is. */
  message: CheckedMessage;
}

/**
 * Held messages, oldest first. Past either bound, the oldest notification
 * is dropped; with none held, the oldest message.
 */
export class HeldMessages {
  #held: HeldMessage[] = [];
  #bytes = 0;

  /** How many messages are held. */
  get size(): number {
    return this.#held.length;
  }

  /** How many bytes they hold. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Holds a message, dropping what the bounds require.
   *
   * @param held The message.
   * @returns The dropped messages, oldest first (usually none).
   */
  push(held: HeldMessage): HeldMessage[] {
    this.#held.push(held);
    this.#bytes += held.text.length;
    const dropped: HeldMessage[] = [];
    while (
      this.#held.length > MAX_HELD_MESSAGES || this.#bytes > MAX_HELD_BYTES
    ) {
      let index = this.#held.findIndex((m) =>
        m.message.kind === "notification"
      );
      if (index === -1) index = 0;
      const [gone] = this.#held.splice(index, 1);
      this.#bytes -= gone!.text.length;
      dropped.push(gone!);
    }
    return dropped;
  }

  /**
   * Takes the oldest message.
   *
   * @returns It, or undefined when none is held.
   */
  shift(): HeldMessage | undefined {
    const held = this.#held.shift();
    if (held !== undefined) this.#bytes -= held.text.length;
    return held;
  }
}
