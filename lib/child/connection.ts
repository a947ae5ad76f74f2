/**
 * One MCP server child as a message source and sink: the process, the one
 * loop that reads its stdout and checks every line once, and the single
 * writer of its stdin. What the lines mean for sessions (whose request a
 * response answers) is decided by whoever listens: a per-session channel or a
 * shared child.
 *
 * @module
 */

import type { Logger } from "../observe/log.ts";
import type { Metrics } from "../observe/metrics.ts";
import { checkChildLine, type CheckedMessage } from "../jsonrpc/message.ts";
import { idsAtEdges } from "../jsonrpc/json_scan.ts";
import { LineOverflow, LineSplitter, ReusingReader } from "./line_stream.ts";
import { McpChild, type StopResult } from "./process.ts";
import { PipeDeadline } from "./pipe_deadline.ts";
import type { ChildSpec } from "./spec.ts";

/** What a connection hands on. */
export interface ConnectionSink {
  /**
   * One checked line. Return a promise to stop reading stdout until it
   * settles (backpressure).
   */
  line(
    text: string,
    messages: CheckedMessage[],
    bytes: number,
  ): void | Promise<void>;
  /**
   * A line over the size limit; `ids` are the ids read from its edges, as
   * written (see `idsAtEdges`).
   */
  overflow(size: number, ids: string[]): void | Promise<void>;
  /** The child exited and its stdout ended. */
  exited(status: Deno.CommandStatus, how: string): void;
}

/** Options for {@linkcode ChildConnection.spawn}. */
export interface ConnectionOptions {
  /** The program, its environment and limits. */
  spec: ChildSpec;
  /** Who the child is for, in logs (a session handle, `pool#3`, `shared`). */
  label: string;
  /** Logger. */
  logger: Logger;
  /** Where spawn counts go. */
  metrics?: Metrics | undefined;
}

/**
 * Describes an exit status: `code 3` or `signal SIGKILL`.
 *
 * @param status The status.
 * @returns A short description.
 */
export function describeExit(status: Deno.CommandStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

function isStrictUtf8(bytes: Uint8Array): boolean {
  try {
    strictDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** One MCP server child: its stdout read line by line, its stdin written. */
export class ChildConnection {
  /** The child. */
  readonly child: McpChild;
  /** Resolves when stdout has been read to its end (or abandoned). */
  readonly pumped: Promise<void>;
  #spec: ChildSpec;
  #log: Logger;
  #metrics: Metrics | undefined;
  #label: string;
  #sink = Promise.withResolvers<ConnectionSink>();
  #stopping = false;
  #debug: boolean;
  #stopped: Promise<StopResult> | undefined;

  private constructor(child: McpChild, options: ConnectionOptions) {
    this.child = child;
    this.#spec = options.spec;
    this.#log = options.logger;
    this.#metrics = options.metrics;
    this.#label = options.label;
    this.#debug = options.logger.isEnabledFor("debug");
    this.pumped = this.#pump();
  }

  /**
   * Spawns the child. Its stdout is not read before {@linkcode attach}.
   *
   * @param options Program, label, logger.
   * @returns The connection.
   * @throws {Error} If the child cannot be spawned (logged and counted).
   */
  static spawn(options: ConnectionOptions): ChildConnection {
    const { spec, logger } = options;
    const made: { connection?: ChildConnection } = {};
    let child: McpChild;
    try {
      child = McpChild.spawn(spec.program, {
        args: spec.args,
        env: spec.env,
        ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
        ...(spec.onStderr === undefined ? {} : { onStderr: spec.onStderr }),
        logger,
        session: options.label,
        guard: spec.guard,
        onWriteError: (error) => {
          if (made.connection !== undefined) {
            made.connection.#writeFailed(error);
          }
        },
      });
    } catch (error) {
      options.metrics?.childSpawned("failed");
      logger.error("{label}: cannot start {program}: {error}", {
        label: options.label,
        program: spec.program,
        error: String(error),
      });
      throw error;
    }
    options.metrics?.childSpawned("ok");
    logger.info("{label} started {program} (pid {pid})", {
      label: options.label,
      program: spec.program,
      pid: child.pid,
    });
    made.connection = new ChildConnection(child, options);
    return made.connection;
  }

  /** The child's process id. */
  get pid(): number {
    return this.child.pid;
  }

  /** Renames the child in later log lines (a pool child leased to a session). */
  relabel(label: string): void {
    this.#label = label;
  }

  /** Starts reading stdout into `sink`. Only the first call counts. */
  attach(sink: ConnectionSink): void {
    this.#sink.resolve(sink);
  }

  /** Whether the child still takes input. */
  get writable(): boolean {
    return this.child.writable && !this.#stopping;
  }

  /** Bytes written to stdin and not read by the child yet. */
  get queuedBytes(): number {
    return this.child.queuedBytes;
  }

  /**
   * Whether the child has stopped reading: more than
   * `2 × maxMessageBytes + 1 MiB` waiting in its stdin.
   */
  get backlogged(): boolean {
    return this.child.queuedBytes >
      2 * this.#spec.maxMessageBytes + 1024 * 1024;
  }

  /**
   * Writes one line (the line break is added). A failed write stops the
   * child; its exit then reaches the sink.
   *
   * @param line One JSON-RPC message or batch, without line breaks.
   * @returns The bytes written.
   */
  write(line: string): number {
    if (this.#debug) {
      this.#log.debug("{label} <- {message}", {
        label: this.#label,
        message: line,
      });
    }
    // Handled inside McpChild: a failure reaches #writeFailed. A long line
    // is not joined with its line break first: that would copy it once more.
    if (line.length < LONG_LINE) {
      const bytes = encoder.encode(line + "\n");
      void this.child.write(bytes);
      return bytes.length;
    }
    const bytes = encoder.encode(line);
    void this.child.write(bytes);
    void this.child.write(NEWLINE);
    return bytes.length + 1;
  }

  /**
   * Stops the child (stdin EOF, SIGTERM, SIGKILL), waits for its stdout and
   * stderr to end. Safe to call more than once.
   *
   * @returns How it ended.
   */
  stop(): Promise<StopResult> {
    this.#stopping = true;
    this.#sink.resolve(DISCARD);
    this.#stopped ??= (async () => {
      const result = await this.child.stop(this.#spec.shutdownGraceMs);
      this.#metrics?.childExited(result.status);
      this.#log.info("{label}: MCP server stopped ({how}, after {stage})", {
        label: this.#label,
        how: describeExit(result.status),
        stage: result.stage,
      });
      await this.child.stderrDone;
      await this.pumped;
      return result;
    })();
    return this.#stopped;
  }

  /** SIGKILLs the child's process group at once. */
  killNow(): void {
    this.child.killNow();
  }

  #writeFailed(error: unknown): void {
    if (this.#stopping) return;
    this.#log.warning(
      "{label}: cannot write to the MCP server ({error}): stopping it",
      { label: this.#label, error: String(error) },
    );
    void this.child.stop(this.#spec.shutdownGraceMs);
  }

  async #pump(): Promise<void> {
    const child = this.child;
    const grace = this.#spec.shutdownGraceMs;
    const decoder = new TextDecoder();
    // Split here rather than through a TransformStream: one read per chunk,
    // every line of that chunk handled in turn.
    const splitter = new LineSplitter({
      maxLineBytes: this.#spec.maxMessageBytes,
    });
    const lines: (Uint8Array | LineOverflow)[] = [];
    const collect = (line: Uint8Array | LineOverflow) => lines.push(line);
    const reader = new ReusingReader(child.stdout);
    const pipes = new PipeDeadline(reader);
    // A leader that exits while a grandchild keeps stdout open would hide
    // the exit: stop what is left of the group, and stop reading a pipe a
    // process outside the group holds after the grace period.
    child.status.then(() => child.stop(grace)).then(() => {
      pipes.arm(grace, () =>
        this.#log.warning(
          "{label}: MCP server exited, but a process outside its process group still holds its stdout: no longer reading it",
          { label: this.#label },
        ));
    });
    const sink = await this.#sink.promise;
    try {
      while (true) {
        const { value, done } = await pipes.read();
        if (done) splitter.end(collect);
        else splitter.push(value, collect);
        // The lines below are handled before the next read; a line begun in
        // this chunk keeps it.
        if (!done && !splitter.holdsInput) reader.reuse(value);
        for (const line of lines) {
          if (this.#stopping) break; // keep draining so the child never blocks
          const wait = this.#handle(line, decoder, sink);
          if (wait) await wait;
        }
        lines.length = 0;
        if (done) break;
      }
    } catch (error) {
      this.#log.warning(
        "{label}: cannot read the MCP server's stdout: {error}",
        {
          label: this.#label,
          error: String(error),
        },
      );
    } finally {
      pipes.disarm();
      reader.releaseLock();
    }
    if (this.#stopping) return;
    const { status } = await child.stop(grace);
    if (this.#stopping) return;
    const how = describeExit(status);
    this.#log.warning("{label}: MCP server exited with {how}", {
      label: this.#label,
      how,
    });
    sink.exited(status, how);
  }

  #handle(
    value: Uint8Array | LineOverflow,
    decoder: TextDecoder,
    sink: ConnectionSink,
  ): void | Promise<void> {
    if (value instanceof LineOverflow) {
      this.#log.warning(
        "{label}: MCP server wrote a message of {size} bytes, over the limit of {max}",
        {
          label: this.#label,
          size: value.size,
          max: this.#spec.maxMessageBytes,
        },
      );
      const ids = idsAtEdges(
        decoder.decode(value.head),
        decoder.decode(value.tail),
      );
      return sink.overflow(value.size, ids);
    }
    // The lenient decoder is the fast one; only a line that came out with
    // U+FFFD in it is checked again, strictly: a line that is not UTF-8 is
    // dropped, never repaired.
    const text = decoder.decode(value);
    if (text.includes("\uFFFD") && !isStrictUtf8(value)) {
      this.#log.warning(
        "{label}: dropped a stdout line of {size} bytes that is not valid UTF-8",
        { label: this.#label, size: value.length },
      );
      return;
    }
    const messages = checkChildLine(text);
    if (messages === undefined) {
      this.#log.warning(
        "{label}: dropped a stdout line of {size} bytes that is not JSON-RPC",
        { label: this.#label, size: value.length },
      );
      this.#log.debug("{label}: dropped line: {line}", {
        label: this.#label,
        line: text,
      });
      return;
    }
    if (this.#debug) {
      this.#log.debug("{label} -> {message}", {
        label: this.#label,
        message: text,
      });
    }
    return sink.line(text, messages, value.length);
  }
}

const encoder = new TextEncoder();
const NEWLINE = new Uint8Array([0x0a]);
/** Lines at least this long (UTF-16 units) get their line break apart. */
const LONG_LINE = 64 * 1024;

/** Where a stopping connection's remaining lines go. */
const DISCARD: ConnectionSink = {
  line: () => {},
  overflow: () => {},
  exited: () => {},
};
