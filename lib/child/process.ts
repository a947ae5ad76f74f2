/**
 * One MCP server child process: spawned without a shell, stdout split into
 * lines, stderr drained into the log, stopped in the order the MCP stdio
 * transport asks for (stdin EOF, SIGTERM, SIGKILL), process group included.
 *
 * @module
 */

import type { Logger } from "../observe/log.ts";
import { setImmediate } from "node:timers";
import { coalesce } from "../util/bytes.ts";
import { delay } from "../util/delay.ts";
import { LineOverflow, LineStream } from "./line_stream.ts";
import type { OrphanGuard } from "./orphan_guard.ts";
import type { StderrSink } from "./spec.ts";

/** Most stderr lines of one child logged per second; the rest are counted. */
export const MAX_STDERR_LINES_PER_SECOND = 200;

/** Longest stderr line logged whole; longer ones are logged truncated. */
const MAX_STDERR_LINE_BYTES = 16 * 1024;

/** Options for {@linkcode McpChild.spawn}. */
export interface McpChildOptions {
  /** Arguments, passed literally. */
  args: string[];
  /** The child's complete environment. */
  env: Record<string, string>;
  /** Receives the child's stderr lines. */
  logger: Logger;
  /**
   * Session id that tags each stderr line in the log.
   *
   * @default {""}
   */
  session?: string;
  /** Told about the child's process group while it lives. */
  guard?: OrphanGuard | undefined;
  /**
   * Called once when a write to the child's stdin fails (it closed its
   * stdin or exited): nothing more can be delivered to it.
   */
  onWriteError?: (error: unknown) => void;
  /**
   * Working directory.
   *
   * @default {the runner's}
   */
  cwd?: string;
  /** Sees every stderr line (also those the log's rate limit drops). */
  onStderr?: StderrSink;
}

/** Outcome of {@linkcode McpChild.stop}. */
export interface StopResult {
  /** The child's exit status. */
  status: Deno.CommandStatus;
  /** The last stage needed: `eof`, `SIGTERM` or `SIGKILL`. */
  stage: "eof" | "SIGTERM" | "SIGKILL";
}

const IS_WINDOWS = Deno.build.os === "windows";

/** A running MCP server. */
export class McpChild {
  /** Process id (and, on Unix, process group id). */
  readonly pid: number;
  /** The program that was started. */
  readonly command: string;
  /** Resolves with the exit status once the process has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Raw stdout. Read it exactly once (ChildBridge splits it into lines). */
  readonly stdout: ReadableStream<Uint8Array>;
  /** Resolves when stderr has been read to its end, or abandoned. */
  readonly stderrDone: Promise<void>;

  #process: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #queuedBytes = 0;
  #batch: Uint8Array[] = [];
  #batchDone: PromiseWithResolvers<void> | undefined;
  #flushing: Promise<void> | undefined;
  #stdinClosed = false;
  #writeFailed = false;
  #onWriteError: ((error: unknown) => void) | undefined;
  #stderrAbort = new AbortController();
  #logger: Logger;
  #stopping: Promise<StopResult> | undefined;
  #guard: OrphanGuard | undefined;

  private constructor(
    command: string,
    process: Deno.ChildProcess,
    options: McpChildOptions,
  ) {
    this.command = command;
    this.#process = process;
    this.pid = process.pid;
    this.#guard = options.guard;
    this.#logger = options.logger;
    this.#onWriteError = options.onWriteError;
    this.status = process.status;
    this.#writer = process.stdin.getWriter();
    // A failed write surfaces through write(); keep closed() from being unhandled.
    this.#writer.closed.catch(() => {});
    this.stdout = process.stdout;
    this.stderrDone = drainStderr(
      process.stderr,
      options.logger,
      options.session ?? "",
      this.#stderrAbort.signal,
      { pid: process.pid, onStderr: options.onStderr },
    );
  }

  /**
   * Starts an MCP server with piped stdio, in its own process group on Unix.
   *
   * @param command The executable.
   * @param options Arguments, environment, limits, logger.
   * @returns The running child.
   * @throws {Deno.errors.NotFound} If the executable does not exist.
   */
  static spawn(command: string, options: McpChildOptions): McpChild {
    const process = new Deno.Command(command, {
      args: options.args,
      env: options.env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      // Its own process group, so that stop() reaches grandchildren (npx -> node).
      detached: !IS_WINDOWS,
    }).spawn();
    options.guard?.track(process.pid);
    return new McpChild(command, process, options);
  }

  /** Bytes handed to {@linkcode write} that the child has not read yet. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Whether the child's stdin can still take messages: not closed by the
   * runner, and no write has failed.
   */
  get writable(): boolean {
    return !this.#stdinClosed && !this.#writeFailed;
  }

  /**
   * Writes bytes to the child's stdin, in call order. The returned promise
   * is handled already: a caller that does not await it loses nothing, since
   * a failed write is also reported to `onWriteError`.
   *
   * @param bytes One or more complete lines.
   * @returns Resolves once the pipe has taken the bytes; rejects with
   *   `Deno.errors.BrokenPipe` when the child's stdin is closed.
   */
  write(bytes: Uint8Array): Promise<void> {
    if (!this.writable) {
      const refused = Promise.reject(
        new Deno.errors.BrokenPipe(
          "Cannot write to MCP server: its stdin is closed",
        ),
      );
      refused.catch(() => {});
      return refused;
    }
    this.#queuedBytes += bytes.length;
    this.#batch.push(bytes);
    if (this.#batchDone === undefined) {
      this.#batchDone = Promise.withResolvers<void>();
      // Handled once per batch: callers that do not await need no catch.
      this.#batchDone.promise.catch(() => {});
    }
    const done = this.#batchDone.promise;
    if (!this.#flushing) {
      // Start writing after the I/O events of this loop turn, so that the
      // messages they carry leave in one pipe write.
      this.#flushing = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.#flush());
    }
    return done;
  }

  /**
   * Writes queued lines, coalescing whatever arrived during the previous
   * write into one pipe write: one system call for many small messages. A
   * long piece is written as it is rather than copied into the rest.
   */
  async #flush(): Promise<void> {
    while (this.#batch.length > 0) {
      const parts = this.#batch;
      const done = this.#batchDone!;
      this.#batch = [];
      this.#batchDone = undefined;
      let length = 0;
      for (const part of parts) length += part.length;
      try {
        for (const bytes of coalesce(parts, length)) {
          await this.#writer.write(bytes);
        }
        done.resolve();
      } catch (error) {
        done.reject(error);
        this.#failWrites(error);
      } finally {
        this.#queuedBytes -= length;
      }
    }
    this.#flushing = undefined;
  }

  /** After a failed write: refuse the rest, and say so once. */
  #failWrites(error: unknown): void {
    if (this.#writeFailed) return;
    this.#writeFailed = true;
    this.#onWriteError?.(error);
  }

  /** Closes stdin: the polite request to exit. Safe to call twice. */
  async closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    try {
      await this.#flushing;
      await this.#writer.close();
    } catch {
      // already broken: the child has exited
    }
  }

  /**
   * Stops the child: stdin EOF, wait `graceMs`, SIGTERM to the group, wait
   * `graceMs`, SIGKILL to the group. Grandchildren left in the group after
   * the child exits are stopped the same way. Safe to call more than once.
   *
   * @param graceMs Wait at each stage.
   * @returns The exit status and the stage that ended it.
   */
  stop(graceMs: number): Promise<StopResult> {
    this.#stopping ??= this.#stop(graceMs);
    return this.#stopping;
  }

  /**
   * Sends SIGKILL to the child and its group at once, for a forced exit.
   */
  killNow(): void {
    this.#signal("SIGKILL");
  }

  async #stop(graceMs: number): Promise<StopResult> {
    // Not awaited: a child that stops reading would hold the close forever.
    void this.closeStdin();
    let stage: StopResult["stage"] = "eof";
    if (!await settlesWithin(this.status, graceMs)) {
      stage = "SIGTERM";
      this.#signal("SIGTERM");
      if (!await settlesWithin(this.status, graceMs)) {
        stage = "SIGKILL";
        this.#signal("SIGKILL");
      }
    }
    const status = await this.status;
    await this.#stopGroup(graceMs);
    this.#guard?.untrack(this.pid);
    // A helper that left the process group (setsid, a detached spawn) can
    // hold stderr open for ever: after the grace period it is no longer read.
    if (!await settlesWithin(this.stderrDone, graceMs)) {
      this.#logger.warning(
        "MCP server {program} (pid {pid}) exited, but a process outside its process group still holds its stderr: no longer reading it",
        { program: this.command, pid: this.pid },
      );
      this.#stderrAbort.abort();
    }
    return { status, stage };
  }

  /** After the leader exited: stop whatever is left in its process group. */
  async #stopGroup(graceMs: number): Promise<void> {
    if (IS_WINDOWS || !this.#groupAlive()) return;
    this.#signal("SIGTERM");
    const deadline = Date.now() + graceMs;
    while (this.#groupAlive() && Date.now() < deadline) await delay(20);
    if (this.#groupAlive()) this.#signal("SIGKILL");
  }

  #groupAlive(): boolean {
    try {
      Deno.kill(-this.pid, 0 as unknown as Deno.Signal);
      return true;
    } catch {
      return false;
    }
  }

  #signal(signal: "SIGTERM" | "SIGKILL"): void {
    if (!IS_WINDOWS) {
      try {
        Deno.kill(-this.pid, signal);
        return;
      } catch {
        // no such group: fall back to the process itself
      }
    }
    try {
      this.#process.kill(signal);
    } catch {
      // already exited
    }
  }
}

async function drainStderr(
  stderr: ReadableStream<Uint8Array>,
  logger: Logger,
  session: string,
  signal: AbortSignal,
  sink: { pid: number; onStderr?: StderrSink | undefined },
): Promise<void> {
  const decoder = new TextDecoder();
  // A flooding child must not flood the log: at most this many lines a
  // second are logged, and a count of the rest.
  let windowStart = Date.now();
  let logged = 0;
  let suppressed = 0;
  const reportSuppressed = () => {
    if (suppressed === 0) return;
    logger.warning(
      "{session} stderr: {count} more lines not logged (over {max} a second)",
      {
        session,
        count: suppressed,
        max: MAX_STDERR_LINES_PER_SECOND,
      },
    );
    suppressed = 0;
  };
  try {
    for await (
      const line of stderr.pipeThrough(
        new LineStream({ maxLineBytes: MAX_STDERR_LINE_BYTES }),
        { signal },
      )
    ) {
      const overflow = line instanceof LineOverflow;
      const now = Date.now();
      if (now - windowStart >= 1000) {
        reportSuppressed();
        windowStart = now;
        logged = 0;
      }
      const suppress = logged >= MAX_STDERR_LINES_PER_SECOND;
      // A flood the log drops is decoded only for the console's buffer.
      if (suppress && sink.onStderr === undefined) {
        suppressed++;
        continue;
      }
      const text = decoder.decode(overflow ? line.head : line);
      try {
        sink.onStderr?.(text, sink.pid, overflow);
      } catch {
        // The console's buffer must never stop stderr from being drained.
      }
      if (suppress) {
        suppressed++;
        continue;
      }
      logged++;
      if (overflow) {
        logger.info("{session} stderr: {line}… ({size} bytes, truncated)", {
          session,
          line: text,
          size: line.size,
        });
      } else {
        logger.info("{session} stderr: {line}", { session, line: text });
      }
    }
  } catch (error) {
    if (!signal.aborted) {
      logger.debug("Cannot read stderr: {error}", { error });
    }
  }
  reportSuppressed();
}

async function settlesWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) =>
    timer = setTimeout(() => resolve(false), ms)
  );
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
