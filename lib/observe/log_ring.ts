/**
 * A server's recent stderr lines for the web console: a ring buffer bounded
 * by line count and by size, and live subscribers. Lines are cleaned as they
 * arrive (ANSI escape sequences and control characters removed), so that the
 * console shows them as plain text.
 *
 * @module
 */

import type { LogFeed, LogLine } from "./log_feed.ts";
import { utf8Length } from "../util/bytes.ts";

export { utf8Length } from "../util/bytes.ts";

/** Most lines a ring keeps. */
export const LOG_RING_LINES = 2000;

/** Most bytes (UTF-8, lines only) a ring keeps. */
export const LOG_RING_BYTES = 512 * 1024;

/** Options for {@linkcode LogRing}. */
export interface LogRingOptions {
  /**
   * Most lines kept.
   *
   * @default {2000}
   */
  maxLines?: number;
  /**
   * Most bytes kept (the UTF-8 size of the lines); a longer line is cut.
   *
   * @default {524288}
   */
  maxBytes?: number;
  /**
   * The clock, for the lines' `time`.
   *
   * @default {() => new Date()}
   */
  now?: () => Date;
}

/**
 * ANSI escape sequences: CSI (`ESC [` … final byte, also the 8-bit `0x9b`),
 * OSC, DCS, SOS, PM and APC strings (ended by BEL or `ESC \`, or cut at the
 * line's end), and the two-byte `ESC x` forms.
 */
const ANSI =
  // deno-lint-ignore no-control-regex
  /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[ -/]*[0-~]?/g;

/** C0 controls but tab, DEL, and C1 controls. */
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/**
 * A stderr line as the console shows it: ANSI escape sequences removed, then
 * every other control character but tab. Replacement characters (from
 * invalid UTF-8) are kept.
 *
 * @param line The decoded line.
 * @returns The cleaned line.
 */
export function cleanLine(line: string): string {
  return line.replace(ANSI, "").replace(CONTROLS, "");
}

/** Cuts `text` to at most `max` UTF-8 bytes, never inside a character. */
function cutToBytes(text: string, max: number): string {
  let bytes = 0;
  let end = 0;
  for (const character of text) {
    const size = utf8Length(character);
    if (bytes + size > max) break;
    bytes += size;
    end += character.length;
  }
  return text.slice(0, end);
}

/** A kept line and its size. */
interface Entry {
  line: LogLine;
  bytes: number;
}

/**
 * The recent stderr lines of one server, and their live listeners.
 *
 * Listeners are called synchronously from {@linkcode LogRing.add}; one that
 * throws is ignored, and never stops the others or the writer.
 */
export class LogRing implements LogFeed {
  #maxLines: number;
  #maxBytes: number;
  #now: () => Date;
  /** Kept entries; the oldest is at `#start`. */
  #entries: Entry[] = [];
  #start = 0;
  #bytes = 0;
  #seq = 0;
  #listeners = new Set<(line: LogLine) => void>();

  /**
   * Creates an empty ring.
   *
   * @param options Its bounds and clock.
   */
  constructor(options: LogRingOptions = {}) {
    this.#maxLines = Math.max(1, options.maxLines ?? LOG_RING_LINES);
    this.#maxBytes = Math.max(1, options.maxBytes ?? LOG_RING_BYTES);
    this.#now = options.now ?? (() => new Date());
  }

  /** How many lines are kept. */
  get size(): number {
    return this.#entries.length - this.#start;
  }

  /** The UTF-8 size of the kept lines. */
  get bytes(): number {
    return this.#bytes;
  }

  /** How many listeners are subscribed. */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  /**
   * Adds a line: cleans it, keeps it (dropping the oldest lines beyond the
   * bounds) and passes it to every listener.
   *
   * @param line The line, decoded (invalid UTF-8 already replaced), without
   *   its line break.
   * @param pid The child that wrote it.
   * @param truncated Whether the line was already cut at the runner's line
   *   limit.
   * @returns The line as kept.
   */
  add(line: string, pid: number, truncated: boolean): LogLine {
    let text = cleanLine(line);
    let bytes = utf8Length(text);
    if (bytes > this.#maxBytes) {
      text = cutToBytes(text, this.#maxBytes);
      bytes = utf8Length(text);
      truncated = true;
    }
    const entry: LogLine = {
      seq: ++this.#seq,
      time: this.#now().toISOString(),
      pid,
      line: text,
      truncated,
    };
    this.#entries.push({ line: entry, bytes });
    this.#bytes += bytes;
    while (
      this.size > this.#maxLines ||
      (this.#bytes > this.#maxBytes && this.size > 1)
    ) {
      this.#bytes -= this.#entries[this.#start]!.bytes;
      this.#start++;
    }
    // Compact now and then, so that dropped entries are freed.
    if (this.#start >= 1024 && this.#start * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#start);
      this.#start = 0;
    }
    for (const listener of this.#listeners) {
      try {
        listener(entry);
      } catch {
        // A listener's failure is its own: the writer goes on.
      }
    }
    return entry;
  }

  /**
   * The kept lines, oldest first.
   *
   * @returns A new array.
   */
  lines(): LogLine[] {
    const lines: LogLine[] = [];
    for (let i = this.#start; i < this.#entries.length; i++) {
      lines.push(this.#entries[i]!.line);
    }
    return lines;
  }

  /**
   * Calls `listener` with every line added from now on.
   *
   * @param listener Gets each new line; what it throws is ignored.
   * @returns Unsubscribes (calling it again does nothing).
   */
  subscribe(listener: (line: LogLine) => void): () => void {
    // A wrapper, so that the same function may subscribe twice.
    const wrapped = (line: LogLine) => listener(line);
    this.#listeners.add(wrapped);
    return () => {
      this.#listeners.delete(wrapped);
    };
  }
}
