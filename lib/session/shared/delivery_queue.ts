/**
 * A session's own queue in front of its transport: what a shared child
 * sends a session waits here while the client is slow, so that the child is
 * never held up, and the queue is bounded.
 *
 * @module
 */

import type { CheckedMessage } from "../../jsonrpc/message.ts";

/** Where the queue delivers, and what it does when full. */
export interface QueueTarget {
  /** Delivers; a promise holds back the next message until it settles. */
  deliver(text: string, messages: CheckedMessage[]): void | Promise<void>;
  /** The queue went over its bound; it has been emptied. */
  overflowed(maxBytes: number): void;
}

/** A bounded, ordered delivery queue. */
export class DeliveryQueue {
  #target: QueueTarget;
  #maxBytes: number;
  #items: { text: string; messages: CheckedMessage[] }[] = [];
  #bytes = 0;
  #busy = true;
  #closed = false;

  /**
   * @param target Where messages go.
   * @param maxBytes Most bytes waiting (UTF-16 units, as strings count).
   * @param ready Nothing is delivered before it resolves.
   */
  constructor(target: QueueTarget, maxBytes: number, ready: Promise<void>) {
    this.#target = target;
    this.#maxBytes = maxBytes;
    // Delivery starts once the transport can take messages; a transport
    // that throws while delivering gets nothing more.
    void ready.then(() => {
      this.#busy = false;
      this.#drain();
    }).catch(() => this.close());
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Delivers now, or queues behind what waits. */
  push(text: string, messages: CheckedMessage[]): void {
    if (this.#closed) return;
    if (!this.#busy && this.#items.length === 0) {
      return this.#send(text, messages);
    }
    this.#items.push({ text, messages });
    this.#bytes += text.length;
    if (this.#bytes > this.#maxBytes) {
      this.clear();
      this.#target.overflowed(this.#maxBytes);
    }
  }

  /** Drops what waits and takes no more. */
  close(): void {
    this.#closed = true;
    this.clear();
  }

  /** Drops what waits. */
  clear(): void {
    this.#items.length = 0;
    this.#bytes = 0;
  }

  #send(text: string, messages: CheckedMessage[]): void {
    const wait = this.#target.deliver(text, messages);
    if (wait === undefined) return;
    this.#busy = true;
    const resume = () => {
      this.#busy = false;
      this.#drain();
    };
    wait.then(resume, resume).catch(() => this.close());
  }

  #drain(): void {
    while (!this.#busy && !this.#closed && this.#items.length > 0) {
      const next = this.#items.shift()!;
      this.#bytes -= next.text.length;
      this.#send(next.text, next.messages);
    }
  }
}
