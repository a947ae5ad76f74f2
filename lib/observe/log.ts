/**
 * Logging setup: LogTape records written to stderr, as text or JSON lines.
 *
 * stdout is never used for logs. Message bodies are logged only at debug and
 * trace; environment values are never logged.
 *
 * @module
 */

import {
  configureSync,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogLevel,
  type LogRecord,
  resetSync,
  type Sink,
} from "@logtape/logtape";

/** LogTape's logger and level types, as used across the runner. */
export type { Logger, LogLevel };

/** Root category of every logger of the runner. */
export const LOG_CATEGORY = "mcp-server-runner";

/** The log levels accepted by `--log-level`, from most to least verbose. */
export const LOG_LEVELS: readonly LogLevel[] = [
  "trace",
  "debug",
  "info",
  "warning",
  "error",
  "fatal",
];

/** Output formats accepted by `--log-format`. */
export type LogFormat = "text" | "json";

/** Options for {@linkcode configureLogging}. */
export interface LoggingOptions {
  /** Least severe level written. */
  level: LogLevel;
  /** `text` for people, `json` for one JSON object per line. */
  format: LogFormat;
  /**
   * Where formatted lines go.
   *
   * @default {writes synchronously to stderr}
   */
  write?: (line: string) => void;
}

/**
 * Configures LogTape for the runner's category. Call once, from `main.ts`.
 *
 * @param options Level, format and destination.
 */
export function configureLogging(options: LoggingOptions): void {
  const write = options.write ?? batchedStderr;
  const formatter = options.format === "json" ? jsonLine : getTextFormatter({
    timestamp: memoizedStamp(),
    value: (value) =>
      typeof value === "string"
        ? value
        : JSON.stringify(value) ?? String(value),
    // A named server's lines say which server they are about.
    format: ({ timestamp, level, category, message, record }) => {
      const server = record.properties.server;
      const tag = typeof server === "string" ? `[${server}] ` : "";
      return `${
        timestamp ? `${timestamp} ` : ""
      }[${level}] ${category}: ${tag}${message}`;
    },
  });
  const sink: Sink = (record: LogRecord) => write(formatter(record));
  // The sink formats each record at once and keeps nothing of it, so
  // LogTape need not copy a record's properties before handing it over.
  Object.defineProperty(sink, IMMEDIATE_SINK, { value: true });
  configureSync({
    reset: true,
    sinks: { stderr: sink },
    loggers: [
      {
        category: [LOG_CATEGORY],
        lowestLevel: options.level,
        sinks: ["stderr"],
      },
      {
        category: ["logtape", "meta"],
        lowestLevel: "warning",
        sinks: ["stderr"],
      },
    ],
  });
}

/**
 * LogTape's `date-time-tz` timestamp, formatted once per millisecond: a busy
 * runner writes many lines in the same one.
 */
function memoizedStamp(): (timestamp: number) => string {
  const stampOnly = getTextFormatter({
    timestamp: "date-time-tz",
    format: ({ timestamp }) => timestamp ?? "",
    lineEnding: "lf",
  });
  let last = Number.NaN;
  let text = "";
  return (timestamp) => {
    if (timestamp !== last) {
      last = timestamp;
      text = stampOnly({
        category: [],
        level: "info",
        message: [],
        rawMessage: "",
        timestamp,
        properties: {},
      }).trimEnd();
    }
    return text;
  };
}

/**
 * LogTape's mark of a sink that uses a record before it returns (what its
 * `markSinkAsImmediate` sets; a registered symbol).
 */
const IMMEDIATE_SINK = Symbol.for("LogTape.sinkSnapshotPolicy.immediate");

/** Removes the logging configuration (used by tests). */
export function resetLogging(): void {
  resetSync();
}

/**
 * Returns a logger below the runner's root category.
 *
 * @param names Sub-category, such as `["session"]`.
 * @returns The logger.
 */
export function logger(...names: string[]): Logger {
  return getLogger([LOG_CATEGORY, ...names]);
}

function renderValue(value: unknown): string {
  return typeof value === "string"
    ? value
    : JSON.stringify(value) ?? String(value);
}

/** One JSON object per line: time, level, category, message, then the properties. */
function jsonLine(record: LogRecord): string {
  const message = record.message.map((part, i) =>
    i % 2 === 0 ? String(part) : renderValue(part)
  ).join("");
  return JSON.stringify({
    ...record.properties,
    time: new Date(record.timestamp).toISOString(),
    level: record.level,
    category: record.category.join("."),
    message,
  }) + "\n";
}

const encoder = new TextEncoder();
let pending = "";
let flushScheduled = false;

/**
 * Writes lines to stderr, all the lines of one task in one write (a
 * microtask after the first): a busy runner logs a line per request.
 */
function batchedStderr(line: string): void {
  pending += line;
  if (flushScheduled) return;
  flushScheduled = true;
  queueMicrotask(flushLogs);
}

/**
 * Writes out log lines not written yet. `main.ts` calls it before
 * `Deno.exit`, which would drop them.
 */
export function flushLogs(): void {
  flushScheduled = false;
  if (pending === "") return;
  const text = pending;
  pending = "";
  try {
    writeAll(encoder.encode(text));
  } catch {
    // stderr is gone (closed pipe): logging must never take the runner down
  }
}

function writeAll(bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) {
    offset += Deno.stderr.writeSync(bytes.subarray(offset));
  }
}

/** Options for {@linkcode RateLimitedLog}. */
export interface RateLimitedLogOptions {
  /** Most lines written per second; the rest are counted. */
  perSecond: number;
  /** What the lines are, for the warning that counts the suppressed ones. */
  what: string;
}

/**
 * A logger for lines that clients can cause at will (refused requests,
 * request errors): at most `perSecond` lines in any one-second window, then
 * one warning, at the end of that window, with the count of the lines left
 * out. Dispose it to write a pending count and stop its timer.
 */
export class RateLimitedLog implements Disposable {
  #logger: Logger;
  #perSecond: number;
  #what: string;
  #windowStart = Number.NEGATIVE_INFINITY;
  #written = 0;
  #suppressed = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Creates the limiter.
   *
   * @param logger Where the lines go.
   * @param options The rate and what the lines are.
   */
  constructor(logger: Logger, options: RateLimitedLogOptions) {
    this.#logger = logger;
    this.#perSecond = options.perSecond;
    this.#what = options.what;
  }

  /**
   * Writes a line, unless this window's lines are used up.
   *
   * @param level `info`, `warning` or `error`.
   * @param message The message template.
   * @param properties Its properties.
   * @returns Whether the line was written.
   */
  log(
    level: "info" | "warning" | "error",
    message: string,
    properties: Record<string, unknown>,
  ): boolean {
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.#flush();
      this.#windowStart = now;
      this.#written = 0;
    }
    if (this.#written < this.#perSecond) {
      this.#written++;
      if (level === "info") this.#logger.info(message, properties);
      else if (level === "warning") this.#logger.warning(message, properties);
      else this.#logger.error(message, properties);
      return true;
    }
    this.#suppressed++;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(
        () => this.#flush(),
        Math.max(this.#windowStart + 1000 - now, 0),
      );
      // The count must never keep the process alive.
      Deno.unrefTimer(this.#timer);
    }
    return false;
  }

  /** Writes the pending count, if any, and stops the timer. */
  [Symbol.dispose](): void {
    this.#flush();
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#suppressed === 0) return;
    const count = this.#suppressed;
    this.#suppressed = 0;
    this.#logger.warning(
      `Suppressed {count} ${this.#what} log lines (at most {limit} a second)`,
      { count, limit: this.#perSecond },
    );
  }
}
