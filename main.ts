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

import { resolve } from "node:path";
import denoConfig from "./deno.json" with { type: "json" };
import { TokenAuth, tokensFor } from "./lib/security/auth.ts";
import { ConfigError, helpText, parseConfig } from "./lib/config/config.ts";
import { BODY_BUDGET_MESSAGES, RunnerHandler } from "./lib/front/handler.ts";
import {
  consoleLine,
  generatedTokenLines,
  listeningLine,
  serverLines,
  urlHost,
} from "./lib/front/banner.ts";
import { BodyBudget } from "./lib/http/body_budget.ts";
import { ServerRegistry } from "./lib/front/registry.ts";
import { RegistryConsole } from "./lib/front/registry_console.ts";
import { ConsoleRoutes } from "./lib/front/console.ts";
import {
  readServerFile,
  type ServerDefinition,
  type ServerFile,
} from "./lib/config/server_file.ts";
import type { Config } from "./lib/config/types.ts";
import { healthcheckTarget, probeHealth } from "./lib/cli/healthcheck.ts";
import { configureLogging, flushLogs, logger } from "./lib/observe/log.ts";
import { Metrics } from "./lib/observe/metrics.ts";
import { OrphanGuard } from "./lib/child/orphan_guard.ts";
import { isLoopback } from "./lib/security/origin_guard.ts";
import { SessionSet } from "./lib/session/session_set.ts";
import { findInterpreterProblem, findProgram } from "./lib/child/which.ts";

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

/** Reads a config file's servers (again, at a reload). */
async function loadServerFile(
  config: Config,
  path: string,
): Promise<ServerFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(
      error instanceof Deno.errors.NotFound
        ? `Cannot start: --config names a file that does not exist, received "${path}"`
        : `Cannot start: cannot read the config file "${path}": ${
          (error as Error).message
        }`,
    );
  }
  const vars = config.vars;
  return readServerFile(path, text, {
    vars,
    cleanEnv: config.cleanEnv,
    passEnv: config.passEnv,
    assignments: config.envAssignments,
    readFile: (file) => {
      try {
        return Deno.readTextFileSync(file);
      } catch {
        return undefined;
      }
    },
    userHome: vars.HOME ?? vars.USERPROFILE ?? "",
    pathSeparator: Deno.build.os === "windows" ? "\\" : "/",
  });
}

/** The one server of a command after `--` (or `PROGRAM`). */
function commandServer(config: Config): ServerDefinition {
  return {
    name: "default",
    state: "ok",
    program: config.program,
    args: config.args,
    env: config.childEnv,
    envKeys: [],
    cwd: Deno.cwd(),
    cwdGiven: false,
    runner: {},
    fingerprint: "",
  };
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

  const lookup = {
    path: config.childEnv.PATH ?? config.childEnv.Path,
    pathExt: config.childEnv.PATHEXT,
    cwd: Deno.cwd(),
  };
  let file: ServerFile | undefined;
  const configPath = config.configFile === undefined
    ? undefined
    : resolve(config.configFile);
  let resolved: string | undefined;
  if (configPath !== undefined) {
    try {
      file = await loadServerFile(config, configPath);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      print(
        "stderr",
        error.message.replace(/^(?!Cannot start)/, "Cannot start: "),
      );
      return 2;
    }
    const wanted = config.defaultServer;
    if (wanted !== undefined && !file.servers.some((s) => s.name === wanted)) {
      print(
        "stderr",
        `Cannot start: --default-server names no server of ${configPath}, received "${wanted}"`,
      );
      return 2;
    }
    for (const warning of file.warnings) log.warning(warning);
    for (const note of file.notes) log.debug(note);
  } else {
    resolved = await findProgram(config.program, lookup);
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
  const registry = new ServerRegistry({
    named: file !== undefined,
    load: configPath === undefined
      ? undefined
      : () => loadServerFile(config, configPath),
    defaultServer: config.defaultServer,
    reloadGraceMs: config.reloadGraceSeconds * 1000,
    metrics,
    config,
    guard,
    sessions,
    version: VERSION,
    bodyBudget: new BodyBudget(BODY_BUDGET_MESSAGES * config.maxMessageBytes),
    logger: logger(),
  });
  // Disposed after the sessions' shutdown below: stops every child.
  stack.use(registry);
  await registry.apply(file ?? { servers: [commandServer(config)] });
  if (config.strictConfig) {
    const failed = registry.mounts.filter((m) =>
      !m.disabled && m.unavailable !== undefined
    );
    if (failed.length > 0) {
      for (const mount of failed) {
        print(
          "stderr",
          `Cannot start: server ${mount.name} ${mount.unavailable} (--strict-config)`,
        );
      }
      return 2;
    }
  }
  const stop = new AbortController();
  const stopRequested = Promise.withResolvers<string>();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  const onSignal = (signal: Deno.Signal) => () => {
    if (signal === "SIGHUP" && configPath !== undefined) {
      // With a config file, SIGHUP re-reads it instead of stopping.
      if (!stop.signal.aborted) void registry.reload();
      return;
    }
    if (!stop.signal.aborted) {
      stopRequested.resolve(signal);
      return;
    }
    log.warning("Received {signal} again: killing every MCP server now", {
      signal,
    });
    sessions.killAll();
    registry.killNow();
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
      servers: registry,
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
      console: new ConsoleRoutes({
        backend: new RegistryConsole(registry, {
          version: VERSION,
          maxSessions: config.maxSessions,
          auth: auth !== undefined,
          tls: tls !== undefined,
          console: config.console,
          configFile: configPath,
          logger: logger(),
        }),
        enabled: config.console,
        logger: logger("console"),
      }),
    }),
  );
  const startupProblem = resolved === undefined
    ? undefined
    : await findInterpreterProblem(resolved, lookup);
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
          const first = registry.mounts[0];
          const banner = {
            hostname,
            port,
            tls: tls !== undefined,
            command: [config.program, ...config.args].join(" "),
            mode: first?.provider?.mode ?? "per-session",
          };
          const reach = hostname === "0.0.0.0" || hostname === "::"
            ? "localhost"
            : urlHost(hostname);
          registry.setAddress(
            hostname,
            port,
            `${tls === undefined ? "http" : "https"}://${reach}:${port}`,
          );
          if (startupProblem !== undefined) {
            log.warning(
              "Every session will fail: the MCP server cannot start: {problem}; /readyz reports not ready",
              { problem: startupProblem.message },
            );
          }
          // Where to connect is printed whatever the log level.
          const where = configPath === undefined
            ? listeningLine(banner)
            : serverLines(
              banner,
              configPath,
              registry.mounts.map((m) => ({
                name: m.name,
                mode: m.provider?.mode ?? "per-session",
                unavailable: m.unavailable,
                isDefault: m.name === registry.defaultName,
              })),
            );
          if (log.isEnabledFor("info")) log.info(where);
          else print("stderr", where);
          if (config.console) {
            flushLogs(); // after the "Listening on" line, not before it
            print(
              "stderr",
              consoleLine(banner, generatedToken, auth !== undefined),
            );
          }
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
  const idleStopped = registry.stopIdle();
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
