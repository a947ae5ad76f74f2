/**
 * Stops the MCP servers' process groups even when the runner itself is
 * killed with SIGKILL, which no handler can catch.
 *
 * A small shell process, started once and in a session of its own, keeps the
 * list of live process groups it is told about on its stdin. When that pipe
 * closes, for whatever reason (the runner's death included), it SIGKILLs
 * every group still listed. A child that exits on stdin EOF needs none of
 * this; a grandchild that ignores it does.
 *
 * @module
 */

/** The guard's program: reads `+ PGID` / `- PGID` lines, kills what is left at EOF. */
const SCRIPT = `trap '' INT TERM HUP
groups=" "
while read -r op pgid; do
  case "$op" in
    +) groups="$groups$pgid " ;;
    -) case "$groups" in *" $pgid "*) groups="\${groups%% $pgid *} \${groups#* $pgid }" ;; esac ;;
  esac
done
for g in $groups; do kill -9 -"$g" 2>/dev/null; done`;

const encoder = new TextEncoder();

/** Options for {@linkcode OrphanGuard.start}. */
export interface OrphanGuardOptions {
  /**
   * The shell that runs the guard.
   *
   * @default {"/bin/sh"}
   */
  shell?: string;
}

/** Kills tracked process groups when the runner goes away. */
export class OrphanGuard {
  #process: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #closed = false;

  private constructor(process: Deno.ChildProcess) {
    this.#process = process;
    this.#writer = process.stdin.getWriter();
    this.#writer.closed.catch(() => {});
  }

  /**
   * Starts the guard.
   *
   * @param options The shell to use.
   * @returns The guard, or undefined where there are no process groups
   *   (Windows) or no shell (a scratch image).
   */
  static start(options: OrphanGuardOptions = {}): OrphanGuard | undefined {
    if (Deno.build.os === "windows") return undefined;
    try {
      const process = new Deno.Command(options.shell ?? "/bin/sh", {
        args: ["-c", SCRIPT],
        stdin: "piped",
        stdout: "null",
        stderr: "null",
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin" },
        // Its own session: signals sent to the runner's group do not reach it.
        detached: true,
      }).spawn();
      return new OrphanGuard(process);
    } catch {
      return undefined;
    }
  }

  /** The guard's process id. */
  get pid(): number {
    return this.#process.pid;
  }

  /**
   * Adds a process group to kill if the runner dies.
   *
   * @param pgid The group id (the leader's pid).
   */
  track(pgid: number): void {
    this.#send(`+ ${pgid}\n`);
  }

  /**
   * Removes a process group that has been stopped.
   *
   * @param pgid The group id.
   */
  untrack(pgid: number): void {
    this.#send(`- ${pgid}\n`);
  }

  /**
   * Ends the guard (after every child has stopped): it kills any group still
   * tracked, then exits.
   *
   * @returns Resolves when the guard has exited.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      await this.#writer.close().catch(() => {});
    }
    await this.#process.status;
  }

  #send(line: string): void {
    if (this.#closed) return;
    this.#writer.write(encoder.encode(line)).catch(() => {
      // The guard is gone: nothing more can be done from here.
    });
  }
}
