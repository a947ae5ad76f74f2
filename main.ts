#!/usr/bin/env -S deno run --allow-net --allow-run --allow-env --allow-read
/**
 * mcp-server-runner: serves a stdio MCP server to network clients over
 * WebSocket, Streamable HTTP and HTTP+SSE on one port: a child process per
 * session, a pool of children started ahead, or one child for every session.
 *
 * This file owns every process-wide effect: arguments, environment, signal
 * handlers, the listening socket and the exit code.
 *
 * @module
 */

import denoConfig from "./deno.json" with { type: "json" };
import { TokenAuth, tokensFor } from "./lib/security/auth.ts";
import { ConfigError, helpText, parseConfig } from "./lib/config/config.ts";
import { RunnerHandler } from "./lib/front/handler.ts";
import {
  generatedTokenLines,
  listeningLine,
  urlHost,
} from "./lib/front/banner.ts";
import { healthcheckTarget, probeHealth } from "./lib/cli/healthcheck.ts";
import { configureLogging, flushLogs, logger } from "./lib/observe/log.ts";
import { Metrics } from "./lib/observe/metrics.ts";
import { OrphanGuard } from "./lib/child/orphan_guard.ts";
import { isLoopback } from "./lib/security/origin_guard.ts";
import { SessionSet } from "./lib/session/session_set.ts";
import { choiceOf, providerFor } from "./lib/session/providers.ts";
import { SharedProvider } from "./lib/session/shared/shared_child.ts";
import {
  findInterpreterProblem,
  findProgram,
  type InterpreterProblem,
} from "./lib/child/which.ts";

/** The runner's version, from deno.json. */
export const VERSION: string = denoConfig.version;

const encoder = new TextEncoder();

function print(stream: "stdout" | "stderr", text: string): void {
  const target = stream === "stdout" ? Deno.stdout : Deno.stderr;
  const bytes = encoder.encode(text.endsWith("\n") ? text : text + "\n");
  let offset = 0;
  while (offset < bytes.length) {
    offset += target.writeSync(bytes.subarray(offset));
  }
}

function readEnvFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(
      `Cannot start: cannot read env file "${path}": ${
        (error as Error).message
      }`,
    );
  }
}

/** `mcp-server-runner healthcheck`: exit 0 when /healthz answers ok, else 1. */
async function healthcheck(args: string[]): Promise<number> {
  let target;
  try {
    target = healthcheckTarget(args, Deno.env.toObject());
  } catch (error) {
    print("stderr", (error as Error).message);
    return 2;
  }
  const { ok, detail } = await probeHealth(target);
  print(ok ? "stdout" : "stderr", `${ok ? "healthy" : "unhealthy"}: ${detail}`);
  return ok ? 0 : 1;
}

/**
 * Runs the runner until SIGINT, SIGTERM or SIGHUP, then shuts down in order.
 *
 * @param args Command-line arguments.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  if (args[0] === "healthcheck") return await healthcheck(args.slice(1));
  let parsed;
  try {
    parsed = parseConfig(args, { env: Deno.env.toObject(), readEnvFile });
  } catch (error) {
    if (error instanceof ConfigError) {
      print("stderr", error.message);
      return 2;
    }
    throw error;
  }
  if (parsed.kind === "help") {
    print("stdout", helpText(VERSION));
    return 0;
  }
  if (parsed.kind === "version") {
    print("stdout", `mcp-server-runner ${VERSION}`);
    return 0;
  }
  const config = parsed.config;
  configureLogging({ level: config.logLevel, format: config.logFormat });
  const log = logger();

  if (config.authTokenOnCommandLine) {
    log.warning(
      "An auth token was given with --auth-token: every local user can read it in the process list (ps); use --auth-token-file or the AUTH_TOKEN environment variable instead",
    );
  }

  const cwd = Deno.cwd();
  const lookup = {
    path: config.childEnv.PATH ?? config.childEnv.Path,
    pathExt: config.childEnv.PATHEXT,
    cwd,
  };
  const resolve = () => findProgram(config.program, lookup);
  // Where the program is, and what stops its #! interpreter from running.
  const inspect = async (): Promise<{
    path: string | undefined;
    problem: InterpreterProblem | undefined;
  }> => {
    const path = await resolve();
    const problem = path === undefined
      ? undefined
      : await findInterpreterProblem(path, lookup);
    return { path, problem };
  };
  const resolved = await resolve();
  if (resolved === undefined) {
    const source = args.includes("--") || !Deno.env.get("PROGRAM")
      ? "the command"
      : "PROGRAM";
    print(
      "stderr",
      `Cannot start: ${source} names a program that was not found on PATH or is not executable, received "${config.program}"`,
    );
    return 2;
  }

  let tls: { cert: string; key: string } | undefined;
  if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
    try {
      tls = {
        cert: await Deno.readTextFile(config.tlsCert),
        key: await Deno.readTextFile(config.tlsKey),
      };
      const mode = (await Deno.stat(config.tlsKey)).mode;
      if (mode !== null && (mode & 0o077) !== 0) {
        log.warning(
          "The TLS key file {file} is readable by other users (mode {mode}); chmod 600 it",
          { file: config.tlsKey, mode: (mode & 0o777).toString(8) },
        );
      }
    } catch (error) {
      print(
        "stderr",
        `Cannot start: cannot read the TLS certificate or key: ${
          (error as Error).message
        }`,
      );
      return 2;
    }
  }
  const { tokens, generated: generatedToken } = tokensFor({
    host: config.host,
    tokens: config.authTokens,
    noAuth: config.noAuth,
    loopback: isLoopback(config.host),
  });
  const auth = tokens.length > 0 ? new TokenAuth(tokens) : undefined;
  const metrics = new Metrics();

  // Everything below is undone in reverse order when main() returns,
  // whichever way: the handler, the children, the signal handlers, the
  // orphan guard.
  await using stack = new AsyncDisposableStack();
  // Stops the children's process groups even if this process is SIGKILLed.
  const guard = OrphanGuard.start();
  stack.defer(async () => await guard?.close());
  const sessions = new SessionSet({
    maxSessions: config.maxSessions,
    metrics,
    logger: logger(),
  });
  const choice = choiceOf(config, {
    spec: {
      program: config.program,
      args: config.args,
      env: config.childEnv,
      maxMessageBytes: config.maxMessageBytes,
      maxInFlight: config.maxInFlight,
      shutdownGraceMs: config.shutdownGraceMs,
      guard,
    },
    logger: logger(),
    metrics,
  }, VERSION);
  const provider = stack.use(providerFor(choice));
  // 2026-07-28 requests have no session: they go to the shared child, or,
  // with a child per session, to one started for them at the first.
  const modernChild = provider instanceof SharedProvider
    ? provider
    : stack.use(providerFor({
      ...choice,
      mode: "shared",
      policy: { ...choice.policy, start: "lazy", roundTrips: true },
    }) as SharedProvider);
  const stop = new AbortController();
  const stopRequested = Promise.withResolvers<string>();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  const onSignal = (signal: Deno.Signal) => () => {
    if (!stop.signal.aborted) {
      stopRequested.resolve(signal);
      return;
    }
    log.warning("Received {signal} again: killing every MCP server now", {
      signal,
    });
    sessions.killAll();
    provider.killNow();
    modernChild.killNow();
    flushLogs();
    Deno.exit(1);
  };
  for (const signal of signals) {
    const listener = onSignal(signal);
    Deno.addSignalListener(signal, listener);
    stack.defer(() => Deno.removeSignalListener(signal, listener));
  }

  const handler = stack.use(
    new RunnerHandler({
      provider,
      modernChild,
      maxMessageBytes: config.maxMessageBytes,
      shutdownGraceMs: config.shutdownGraceMs,
      sendTimeoutMs: config.sendTimeoutMs,
      sendBufferBytes: config.sendBufferBytes,
      keepaliveSeconds: config.keepaliveSeconds,
      sessionIdleTimeoutMs: config.sessionIdleTimeout * 1000,
      listenHost: config.host,
      allowOrigins: config.allowOrigins,
      sessions,
      version: VERSION,
      logger: logger(),
      auth,
      metrics,
      notReady: async () => {
        const { path, problem } = await inspect();
        if (path === undefined) {
          return "the MCP server's program cannot be found";
        }
        return problem === undefined
          ? undefined
          : `the MCP server cannot start: ${problem.message}`;
      },
    }),
  );
  const startupProblem = await findInterpreterProblem(resolved, lookup);
  provider.start();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      {
        hostname: config.host,
        port: config.port,
        ...(tls ?? {}),
        // A request whose handling throws: logged by the runner's logger
        // (no stack trace on Deno's default printer), answered with a 500.
        onError: handler.onError,
        onListen: ({ hostname, port }) => {
          const banner = {
            hostname,
            port,
            tls: tls !== undefined,
            command: [config.program, ...config.args].join(" "),
            mode: provider.mode,
          };
          if (startupProblem !== undefined) {
            log.warning(
              "Every session will fail: the MCP server cannot start: {problem}; /readyz reports not ready",
              { problem: startupProblem.message },
            );
          }
          // Where to connect is printed whatever the log level.
          if (log.isEnabledFor("info")) log.info(listeningLine(banner));
          else print("stderr", listeningLine(banner));
          if (generatedToken !== undefined) {
            // Printed once, never logged: the only place this token appears.
            print("stderr", generatedTokenLines(banner, generatedToken));
          } else if (config.noAuth && !isLoopback(config.host)) {
            log.warning(
              "Listening on a non-loopback address without a token (--no-auth)",
            );
          }
          if (config.envFile) {
            log.info("Loaded environment from {file}", {
              file: config.envFile,
            });
          }
        },
      },
      handler.handle,
    );
  } catch (error) {
    print(
      "stderr",
      `Cannot start: cannot listen on ${urlHost(config.host)}:${config.port}: ${
        (error as Error).message
      }`,
    );
    return 1;
  }

  const signal = await Promise.race([
    stopRequested.promise,
    server.finished.then(() => ""),
  ]);
  stop.abort();
  sessions.stopAccepting();
  log.info(
    "Received {signal}: closing {count} sessions and stopping their MCP servers",
    {
      signal: signal || "server end",
      count: sessions.size,
    },
  );
  const idleStopped = provider.stopIdle();
  await sessions.shutdown();
  await idleStopped;
  // A shared child stops now, after its sessions; the orphan guard after it.
  await stack.disposeAsync();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = await Promise.race([
    server.shutdown().then(() => true),
    new Promise<false>((resolve) =>
      timer = setTimeout(() => resolve(false), config.shutdownGraceMs + 1000)
    ),
  ]);
  clearTimeout(timer);
  if (!closed) {
    // A client that stopped reading holds its response open. Every child
    // has stopped by now (sessions.shutdown() waited for them), so exiting
    // leaves no process behind.
    log.warning("Stopped with connections still open");
    flushLogs();
    Deno.exit(0);
  }
  log.info("Stopped");
  return 0;
}

if (import.meta.main) {
  // main() returns only once every child has stopped: exiting now cannot
  // orphan one, and does not wait for the runtime's idle WebSocket timers.
  const code = await main(Deno.args);
  flushLogs();
  Deno.exit(code);
}
