/**
 * Reads a config file of named MCP servers: Claude Desktop's, Claude Code's
 * and Cursor's `mcpServers`, or VS Code's `servers`, with comments and
 * trailing commas, `${…}` expansion, and a `runner` object (per entry and at
 * the top) for the runner's own options. Keys the runner does not know are
 * ignored, so the same file keeps working in the editor. Pure: the caller
 * reads files.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";
import { childEnvironment } from "./child_env.ts";
import { parseEnvFile } from "./env_file.ts";
import { expand, type ExpandContext, ExpandError } from "./expand.ts";
import { type JsonValue, parseJsonc, pathOf } from "./jsonc.ts";
import { ConfigError } from "./types.ts";
import {
  readRunnerOptions,
  type RunnerOptions,
  SERVER_NAME,
} from "./server_options.ts";

export { type RunnerOptions, SERVER_NAME } from "./server_options.ts";

/** One server of the file, after expansion. */
export interface ServerDefinition {
  /** Its name: a URL segment. */
  name: string;
  /**
   * `ok`: served; `failed`: set up wrong (see `reason`), its URLs answer
   * 503; `disabled`: switched off or a remote server, its URLs answer 503.
   */
  state: "ok" | "failed" | "disabled";
  /** Why it is failed or disabled; never holds a variable's value. */
  reason?: string | undefined;
  /** The program, expanded, not yet looked up. */
  program: string;
  /** Its arguments, expanded. */
  args: string[];
  /** The child's whole environment. */
  env: Record<string, string>;
  /** Names the entry's own `env` and `envFile` set, for `/status`. */
  envKeys: string[];
  /** Working directory, absolute. */
  cwd: string;
  /** Whether `cwd` was given in the file. */
  cwdGiven: boolean;
  /** The runner's options for this server. */
  runner: RunnerOptions;
  /**
   * Everything that decides the child, to tell a changed server at a
   * reload. It holds environment values: compared, never shown.
   */
  fingerprint: string;
}

/** The file's servers and what the runner noticed while reading them. */
export interface ServerFile {
  /** Every server, in the file's order. */
  servers: ServerDefinition[];
  /** The top-level `runner.defaultServer`, if set. */
  defaultServer?: string | undefined;
  /** Lines to log as warnings (remote servers skipped). */
  warnings: string[];
  /** Lines to log at debug (keys ignored). */
  notes: string[];
}

/** What reading a file needs from outside. */
export interface ServerFileOptions {
  /** The runner's environment over its `.env` file. */
  vars: Record<string, string>;
  /** `--clean-env`, `--pass-env` and `--env` of the command line. */
  cleanEnv: boolean;
  /** `--pass-env` names. */
  passEnv: string[];
  /** `--env NAME=VALUE` assignments. */
  assignments: string[];
  /** Reads an `envFile`; undefined when it does not exist. */
  readFile: (path: string) => string | undefined;
  /** `${userHome}`. */
  userHome: string;
  /** The platform's path separator. */
  pathSeparator?: string;
}

/** Keys of an entry that the runner uses. */
const KNOWN_KEYS = new Set([
  "command",
  "args",
  "env",
  "envFile",
  "cwd",
  "type",
  "url",
  "disabled",
  "enabled",
  "runner",
]);

/**
 * Reads a config file's text.
 *
 * @param path The file's path (absolute), for messages and relative paths.
 * @param text Its text.
 * @param options The environment and a way to read `envFile`s.
 * @returns The servers.
 * @throws {ConfigError} On a syntax error, a duplicate key, a bad server
 *   name, a value of the wrong type, or both `mcpServers` and `servers`.
 */
export function readServerFile(
  path: string,
  text: string,
  options: ServerFileOptions,
): ServerFile {
  const fail = (problem: string): never => {
    throw new ConfigError(`Cannot read the config file "${path}": ${problem}`);
  };
  let root: JsonValue;
  try {
    root = parseJsonc(text);
  } catch (error) {
    return fail((error as Error).message);
  }
  if (!isObject(root)) return fail("the top level must be an object");
  if ("mcpServers" in root && "servers" in root) {
    fail('it has both "mcpServers" and "servers"; keep one');
  }
  const key = "mcpServers" in root ? "mcpServers" : "servers";
  const entries = root[key];
  if (entries === undefined) {
    fail(
      'it has neither "mcpServers" (Claude, Cursor) nor "servers" (VS Code)',
    );
  }
  if (!isObject(entries!)) return fail(`${key} must be an object`);
  const top = readRunnerOptions(root.runner, "runner", fail, true);
  const dir = dirname(path);
  const result: ServerFile = { servers: [], warnings: [], notes: [] };
  if (top.defaultServer !== undefined) {
    result.defaultServer = top.defaultServer;
  }
  const sep = options.pathSeparator ?? "/";
  const context: ExpandContext = {
    vars: options.vars,
    userHome: options.userHome,
    workspaceFolder: workspaceOf(dir),
    pathSeparator: sep,
  };
  for (const [name, entry] of Object.entries(entries!)) {
    const at = pathOf(key, name);
    if (!SERVER_NAME.test(name) || name.includes("__")) {
      fail(
        `${at}: a server name must be 1-64 letters, digits, "_", "." or "-", start with a letter or digit, and have no "__"`,
      );
    }
    if (!isObject(entry)) fail(`${at} must be an object`);
    const server = readEntry(name, entry as Record<string, JsonValue>, {
      at,
      dir,
      fail,
      context,
      options,
      defaults: top,
      result,
    });
    result.servers.push(server);
  }
  if (result.servers.length === 0) fail(`${key} names no server`);
  const chosen = result.defaultServer;
  if (chosen !== undefined && !result.servers.some((s) => s.name === chosen)) {
    fail(
      `runner.defaultServer names no server of the file, received "${chosen}"`,
    );
  }
  return result;
}

interface EntryScope {
  at: string;
  dir: string;
  fail: (problem: string) => never;
  context: ExpandContext;
  options: ServerFileOptions;
  defaults: RunnerOptions;
  result: ServerFile;
}

function readEntry(
  name: string,
  entry: Record<string, JsonValue>,
  scope: EntryScope,
): ServerDefinition {
  const { at, fail } = scope;
  const runner = {
    ...scope.defaults,
    ...readRunnerOptions(entry.runner, pathOf(at, "runner"), fail, false),
  };
  delete runner.defaultServer;
  const ignored = Object.keys(entry).filter((k) => !KNOWN_KEYS.has(k));
  if (ignored.length > 0) {
    scope.result.notes.push(
      `Server ${name}: ignoring ${ignored.map((k) => `"${k}"`).join(", ")}`,
    );
  }
  const command = optionalString(entry.command, pathOf(at, "command"), fail);
  const args = stringList(entry.args, pathOf(at, "args"), fail);
  const env = envBlock(entry.env, pathOf(at, "env"), fail);
  const envFile = optionalString(entry.envFile, pathOf(at, "envFile"), fail);
  const cwd = optionalString(entry.cwd, pathOf(at, "cwd"), fail);
  const type = optionalString(entry.type, pathOf(at, "type"), fail);
  for (const flag of ["disabled", "enabled"] as const) {
    if (entry[flag] !== undefined && typeof entry[flag] !== "boolean") {
      fail(`${pathOf(at, flag)} must be true or false`);
    }
  }
  const base: ServerDefinition = {
    name,
    state: "ok",
    program: command ?? "",
    args,
    env: {},
    envKeys: [...Object.keys(env)],
    cwd: scope.dir,
    cwdGiven: cwd !== undefined,
    runner,
    fingerprint: "",
  };
  const remote = (type !== undefined && type !== "stdio") ||
    entry.url !== undefined;
  if (remote) {
    scope.result.warnings.push(
      `Server ${name} is a remote server (type "${
        type ?? "url"
      }"): skipped, the runner serves stdio servers only`,
    );
    return disabled(
      base,
      `a remote server (type "${
        type ?? "url"
      }"): the runner serves stdio servers only`,
    );
  }
  if (entry.disabled === true || entry.enabled === false) {
    return disabled(base, "disabled in the config file");
  }
  if (command === undefined || command.trim() === "") {
    fail(`${pathOf(at, "command")} is required for a stdio server`);
  }
  try {
    const field = (label: string, text: string) => {
      try {
        return expand(text, scope.context);
      } catch (error) {
        if (error instanceof ExpandError) {
          throw new ExpandError(`server ${name}: ${label} ${error.message}`);
        }
        throw error;
      }
    };
    const workdir = cwd === undefined
      ? scope.dir
      : resolve(scope.dir, field("cwd", cwd));
    const program = field("command", command!);
    const expandedArgs = args.map((arg, i) => field(`args[${i}]`, arg));
    const own: Record<string, string | null> = {};
    if (envFile !== undefined) {
      const file = resolve(scope.dir, field("envFile", envFile));
      const text = scope.options.readFile(file);
      if (text === undefined) {
        throw new ExpandError(
          `server ${name}: envFile names a file that does not exist, received "${file}"`,
        );
      }
      const read = parseEnvFile(file, text);
      if ("error" in read) {
        throw new ExpandError(`server ${name}: ${read.error}`);
      }
      Object.assign(own, read.env);
      base.envKeys = [...new Set([...Object.keys(read.env), ...base.envKeys])];
    }
    for (const [key, value] of Object.entries(env)) {
      own[key] = value === null ? null : field(`env.${key}`, value);
    }
    const childEnv = childEnvironment({
      vars: scope.options.vars,
      cleanEnv: runner.cleanEnv ?? scope.options.cleanEnv,
      passEnv: runner.passEnv ?? scope.options.passEnv,
      passEnvSource: `${pathOf(at, "runner")}.passEnv or --pass-env`,
      assignments: scope.options.assignments,
    });
    for (const [key, value] of Object.entries(own)) {
      if (value === null) delete childEnv[key];
      else childEnv[key] = value;
    }
    const server: ServerDefinition = {
      ...base,
      program: isPathLike(program) ? resolve(workdir, program) : program,
      args: expandedArgs,
      env: childEnv,
      cwd: workdir,
    };
    server.fingerprint = JSON.stringify([
      server.program,
      server.args,
      Object.entries(server.env).sort(([a], [b]) => a < b ? -1 : 1),
      server.cwd,
      server.runner,
    ]);
    return server;
  } catch (error) {
    if (error instanceof ExpandError) {
      return { ...base, state: "failed", reason: error.message };
    }
    if (error instanceof ConfigError) {
      fail(error.message.replace(/^Cannot start: /, ""));
    }
    throw error;
  }
}

function disabled(server: ServerDefinition, reason: string): ServerDefinition {
  return {
    ...server,
    state: "disabled",
    reason,
    fingerprint: JSON.stringify(["disabled", reason]),
  };
}

function isObject(value: JsonValue): value is Record<string, JsonValue> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(
  value: JsonValue | undefined,
  at: string,
  fail: (problem: string) => never,
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") fail(`${at} must be a string`);
  return value as string;
}

function stringList(
  value: JsonValue | undefined,
  at: string,
  fail: (problem: string) => never,
): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail(`${at} must be an array of strings`);
  return value.map((item, i) =>
    typeof item === "string" ? item : fail(`${pathOf(at, i)} must be a string`)
  );
}

function envBlock(
  value: JsonValue | undefined,
  at: string,
  fail: (problem: string) => never,
): Record<string, string | null> {
  if (value === undefined) return {};
  if (!isObject(value)) return fail(`${at} must be an object of strings`);
  const result: Record<string, string | null> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      fail(`${pathOf(at, key)}: not a valid variable name`);
    }
    if (typeof item === "number" || typeof item === "boolean") {
      result[key] = String(item);
    } else if (typeof item === "string" || item === null) {
      result[key] = item;
    } else {
      fail(`${pathOf(at, key)} must be a string (or null to remove it)`);
    }
  }
  return result;
}

function isPathLike(program: string): boolean {
  return program.includes("/") || program.includes("\\");
}

/** `${workspaceFolder}`: the file's folder, or its parent for `.vscode/`. */
function workspaceOf(dir: string): string {
  const base = basename(dir);
  return base === ".vscode" || base === ".cursor" ? dirname(dir) : dir;
}
