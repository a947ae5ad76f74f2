/**
 * Shared test helpers: start the runner as a real subprocess with the same
 * permission flags that `deno task compile` bakes into the binary, and talk to
 * it over real sockets.
 *
 * @module
 */

import denoConfig from "../deno.json" with { type: "json" };

/**
 * A variable every runner started here gets, with a value unique to this
 * test process; it passes through to the runner's children, so that process
 * checks see only this run's processes.
 */
const TAG_VARIABLE = "MCP_RUNNER_TEST_TAG";
const TAG = crypto.randomUUID();

/** Absolute path of the repository. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** Absolute path of main.ts. */
export const MAIN: string = new URL("../main.ts", import.meta.url).pathname;

/** The command that runs the test fixture MCP server. */
export const FIXTURE: string[] = [
  Deno.execPath(),
  "run",
  "-A",
  new URL("./fixtures/mcp_fixture.ts", import.meta.url).pathname,
];

/**
 * The permission flags of the `compile` task, so that a permission the binary
 * lacks fails the tests too.
 */
export function compileFlags(): string[] {
  const command = denoConfig.tasks.compile;
  return command.split(/\s+/).filter((word) => word.startsWith("--allow-"));
}

/** A runner started by {@linkcode startRunner}. */
export interface RunningRunner extends AsyncDisposable {
  /** The port it listens on. */
  port: number;
  /** `ws://127.0.0.1:PORT/`. */
  wsUrl: string;
  /** `http://127.0.0.1:PORT`. */
  httpUrl: string;
  /** The runner process. */
  process: Deno.ChildProcess;
  /** Everything the runner wrote to stderr so far. */
  stderr(): string;
  /** Sends a signal and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Options for {@linkcode startRunner}. */
export interface StartRunnerOptions {
  /** Extra environment for the runner. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /**
   * Let the runner read `.env` from its working directory (leaves out
   * `--no-env-file`).
   *
   * @default {false}
   */
  readEnvFile?: boolean;
}

/**
 * Starts `main.ts` with the compile permission flags on port 0 and waits for
 * its "Listening on" line.
 *
 * @param args Runner arguments, including `-- command...` when wanted.
 * @param options Environment and working directory.
 * @returns The running runner; dispose it to stop it.
 */
export async function startRunner(
  args: string[],
  options: StartRunnerOptions = {},
): Promise<RunningRunner> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...compileFlags(),
      MAIN,
      "--port",
      "0",
      ...(options.readEnvFile ? [] : ["--no-env-file"]),
      ...args,
    ],
    env: { NO_COLOR: "1", [TAG_VARIABLE]: TAG, ...options.env },
    cwd: options.cwd ?? ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const listening = Promise.withResolvers<number>();
  const decoder = new TextDecoder();
  let found = false;
  const drained = (async () => {
    for await (const chunk of process.stderr) {
      text += decoder.decode(chunk, { stream: true });
      if (!found) {
        const match = /Listening on wss?:\/\/[^\s"]*:(\d+)\//.exec(text);
        if (match) {
          found = true;
          listening.resolve(Number(match[1]));
        }
      }
    }
    listening.reject(
      new Error(`Cannot start runner: it exited before listening:\n${text}`),
    );
  })();
  let port: number;
  try {
    port = await listening.promise;
  } catch (error) {
    await process.status;
    await drained;
    throw error;
  }
  let status: Promise<Deno.CommandStatus> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") => {
    if (!status) {
      try {
        process.kill(signal);
      } catch {
        // already exited
      }
      status = Promise.all([process.status, drained]).then(([s]) => s);
    }
    return status;
  };
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}/`,
    httpUrl: `http://127.0.0.1:${port}`,
    process,
    stderr: () => text,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** A WebSocket client that queues what it receives. */
export class TestClient implements AsyncDisposable {
  /** The socket. */
  readonly socket: WebSocket;
  /** Resolves with the close event. */
  readonly closed: Promise<CloseEvent>;
  /** Text frames received and not yet taken. */
  readonly received: string[] = [];
  #waiters: (() => void)[] = [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise((resolve) =>
      socket.addEventListener("close", resolve, { once: true })
    );
    socket.addEventListener("message", (event) => {
      this.received.push(
        typeof event.data === "string" ? event.data : "<binary>",
      );
      for (const wake of this.#waiters.splice(0)) wake();
    });
    socket.addEventListener("close", () => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /**
   * Connects and waits for the socket to open.
   *
   * @param url WebSocket URL.
   * @param protocols Subprotocols to offer.
   * @returns The connected client.
   */
  static async connect(
    url: string,
    protocols: string[] = ["mcp"],
  ): Promise<TestClient> {
    const socket = new WebSocket(url, protocols);
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener(
        "close",
        (e) => reject(new Error(`Cannot connect: closed ${e.code}`)),
        {
          once: true,
        },
      );
    });
    return client;
  }

  /** Sends a value as JSON, or a string as is. */
  send(message: unknown): void {
    this.socket.send(
      typeof message === "string" ? message : JSON.stringify(message),
    );
  }

  /**
   * Waits for the next frame, parsed.
   *
   * @param timeoutMs Give up after this long.
   * @returns The parsed message.
   */
  async next(timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length === 0) {
      if (this.socket.readyState === WebSocket.CLOSED) {
        throw new Error("Cannot read: socket closed");
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`Cannot read: nothing arrived within ${timeoutMs} ms`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, remaining);
      });
      clearTimeout(timer);
    }
    return JSON.parse(this.received.shift()!);
  }

  /**
   * Sends a request and waits for the next frame.
   *
   * @param id Request id.
   * @param method Method.
   * @param params Params.
   * @returns The parsed reply.
   */
  async request(
    id: string | number,
    method: string,
    params?: unknown,
  ): Promise<Record<string, unknown>> {
    this.send({
      jsonrpc: "2.0",
      id,
      method,
      ...(params === undefined ? {} : { params }),
    });
    return await this.next();
  }

  /** Closes the socket and waits for the close. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close(1000);
    await this.closed;
  }
}

/**
 * Whether a process exists (zombies count as gone).
 *
 * @param pid Process id.
 * @returns True while it runs.
 */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(
      stat.lastIndexOf(")") + 2,
      stat.lastIndexOf(")") + 3,
    );
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * Waits until `check` holds, polling every 20 ms, for at most `timeoutMs`.
 *
 * @param check The condition.
 * @param timeoutMs Limit.
 * @returns Whether it held in time.
 */
export async function waitFor(
  check: () => boolean,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/**
 * Pids of every process, started by this test run's runners (or their children),
 * whose command line contains `needle`.
 *
 * @param needle Text to look for.
 * @returns The matching pids.
 */
export function processesMatching(needle: string): number[] {
  const found: number[] = [];
  const marker = `${TAG_VARIABLE}=${TAG}`;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`)
        .replaceAll("\0", " ");
      if (!cmdline.includes(needle) || !processAlive(Number(entry.name))) {
        continue;
      }
      // Only processes started by this test run's runners: another run on
      // the same machine has another tag.
      const environ = Deno.readTextFileSync(`/proc/${entry.name}/environ`)
        .split("\0");
      if (environ.includes(marker)) found.push(Number(entry.name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
