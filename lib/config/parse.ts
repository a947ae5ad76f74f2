/**
 * {@linkcode parseConfig}: command-line flags, environment variables and a
 * `.env` file turned into one validated {@linkcode Config}.
 *
 * Precedence: flags, then the environment, then the `.env` file, then the
 * defaults. Pure: the caller passes in the arguments, the environment and a
 * way to read the `.env` file.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { childEnvironment } from "./child_env.ts";
import { parseEnvFile, stripBom } from "./env_file.ts";
import {
  type FlagValues,
  parseArgsOptions,
  type ReadSettings,
  readSettings,
  type SettingValues,
} from "./read.ts";
import type { Setting } from "./setting.ts";
import { DEFAULT_ENV_FILE, SETTING_LIST, SETTINGS } from "./settings.ts";
import {
  type Config,
  ConfigError,
  type EnvFileReader,
  type ParseConfigOptions,
  type ParsedCommand,
} from "./types.ts";

/**
 * Parses the command line, the environment and the `.env` file.
 *
 * @param args Command-line arguments, without the executable.
 * @param options The environment and a `.env` reader.
 * @returns What to do: print help, print the version, or run.
 * @throws {ConfigError} On any invalid flag, variable or value.
 */
export function parseConfig(
  args: string[],
  options: ParseConfigOptions,
): ParsedCommand {
  const { flags, positionals } = parseCommandLine(args);
  if (flags.help) return { kind: "help" };
  if (flags.version) return { kind: "version" };

  const loaded = loadEnvFile(flags, options);
  const vars: Record<string, string> = { ...loaded.env, ...options.env };
  const read = readSettings(flags, vars);
  const { values, origins } = read;
  const command = commandOf(positionals, vars, read);
  const authTokens = tokensOf(read, options.readEnvFile);
  checkExclusions(values, authTokens);
  // With a config file, the mode flags are defaults for each server's mode.
  if (values.configFile === undefined) checkModes(read);
  const childEnv = childEnvironment({
    vars,
    cleanEnv: values.cleanEnv,
    passEnv: values.passEnv,
    passEnvSource: origins.passEnv.source,
    assignments: values.env,
  });
  return {
    kind: "run",
    config: {
      ...command,
      ...runSettings(values),
      authTokens,
      authTokenOnCommandLine: flags["auth-token"] !== undefined,
      envFile: loaded.path,
      childEnv,
      vars,
    },
  };
}

/** The settings that go to {@linkcode Config} as they were read. */
function runSettings(
  v: SettingValues,
): Omit<
  Config,
  | "program"
  | "args"
  | "authTokens"
  | "authTokenOnCommandLine"
  | "envFile"
  | "childEnv"
  | "vars"
> {
  return {
    host: v.host,
    port: v.port,
    logLevel: v.logLevel,
    logFormat: v.logFormat,
    maxSessions: v.maxSessions,
    maxMessageBytes: v.maxMessageBytes,
    shutdownGraceMs: v.shutdownGraceMs,
    keepaliveSeconds: v.keepaliveSeconds,
    sendTimeoutMs: v.sendTimeoutMs,
    maxInFlight: v.maxInFlight,
    sessionIdleTimeout: v.sessionIdleTimeout,
    sendBufferBytes: v.sendBufferBytes,
    allowOrigins: v.allowOrigins,
    noAuth: v.noAuth,
    tlsCert: v.tlsCert,
    tlsKey: v.tlsKey,
    childMode: v.childMode,
    prewarm: v.prewarm,
    prewarmTtlSeconds: v.prewarmTtlSeconds,
    sharedStart: v.sharedStart,
    sharedProtocolVersion: v.sharedProtocolVersion,
    sharedClientRequests: v.sharedClientRequests,
    sharedSerializeCalls: v.sharedSerializeCalls,
    sharedRoots: v.sharedRoots,
    sharedLogs: v.sharedLogs,
    sharedOnExit: v.sharedOnExit,
    sharedRestartWaitMs: v.sharedRestartWaitMs,
    sharedMaxInFlight: v.sharedMaxInFlight,
    configFile: v.configFile,
    strictConfig: v.strictConfig,
    defaultServer: v.defaultServer,
    reloadGraceSeconds: v.reloadGraceSeconds,
    console: v.console,
    cleanEnv: v.cleanEnv,
    passEnv: v.passEnv,
    envAssignments: v.env,
  };
}

/** Runs `parseArgs` with the table's flags; its errors become one line. */
function parseCommandLine(
  args: string[],
): { flags: FlagValues; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: parseArgsOptions(),
    });
    return {
      flags: parsed.values as FlagValues,
      positionals: parsed.positionals,
    };
  } catch (error) {
    throw new ConfigError(`Cannot start: ${commandLineProblem(error, args)}`, {
      cause: error,
    });
  }
}

/** What `parseArgs` refused, in one line naming the option. */
function commandLineProblem(error: unknown, args: string[]): string {
  const text = error instanceof Error ? error.message : String(error);
  const option = /'(-[^' ]*)/.exec(text)?.[1];
  const code = (error as { code?: string }).code;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) {
    return `unknown option "${option}" (put the MCP server's command and its options after "--")`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) {
    if (!text.includes("does not take an argument")) {
      return `option "${option}" needs a value`;
    }
    const given = args.find((a) => a.startsWith(`${option}=`)) ?? option;
    return `option "${option}" takes no value, received "${given}"`;
  }
  return text.split("\n")[0]!;
}

/** Reads `--env-file`, `ENV_FILE` or `.env` unless `--no-env-file`. */
function loadEnvFile(
  flags: FlagValues,
  options: ParseConfigOptions,
): { path: string | undefined; env: Record<string, string> } {
  const flag = flags[SETTINGS.envFile.flag] as string | undefined;
  const none = { path: undefined, env: {} };
  if (flags[SETTINGS.noEnvFile.flag] && flag !== undefined) {
    throw new ConfigError(
      "Cannot start: --env-file and --no-env-file exclude each other",
    );
  }
  if (flags[SETTINGS.noEnvFile.flag]) return none;
  const explicit = flag ?? options.env[SETTINGS.envFile.env];
  const path = explicit ?? DEFAULT_ENV_FILE;
  const text = options.readEnvFile(path);
  if (text === undefined && explicit !== undefined) {
    const source = flag !== undefined ? "--env-file" : SETTINGS.envFile.env;
    throw new ConfigError(
      `Cannot start: ${source} names a file that does not exist, received "${path}"`,
    );
  }
  if (text === undefined) return none;
  const read = parseEnvFile(path, text);
  if ("error" in read) throw new ConfigError(read.error);
  return { path, env: read.env };
}

/**
 * The MCP server's command: after `--`, else `PROGRAM` and `ARGS`; none with
 * `--config`, which excludes both.
 */
function commandOf(
  positionals: string[],
  vars: Record<string, string>,
  read: ReadSettings,
): { program: string; args: string[] } {
  let program: string;
  let args: string[];
  if (read.values.configFile !== undefined) {
    const source = read.origins.configFile.source;
    if (positionals.length > 0) {
      throw new ConfigError(
        `Cannot start: ${source} and a command after "--" exclude each other, received "${
          positionals[0]!.slice(0, 60)
        }"`,
      );
    }
    if ((vars[SETTINGS.program.env] ?? "").trim() !== "") {
      throw new ConfigError(
        `Cannot start: ${source} and PROGRAM exclude each other (unset PROGRAM and ARGS)`,
      );
    }
    return { program: "", args: [] };
  }
  if (read.values.defaultServer !== undefined) {
    throw new ConfigError(
      `Cannot start: ${read.origins.defaultServer.source} needs --config, received "${read.values.defaultServer}"`,
    );
  }
  if (positionals.length > 0) {
    [program, ...args] = positionals as [string, ...string[]];
  } else {
    program = (vars[SETTINGS.program.env] ?? "").trim();
    const rawArgs = vars[SETTINGS.program.argsEnv] ?? "";
    args = rawArgs === "" ? [] : rawArgs.split(",");
  }
  if (program === "") {
    throw new ConfigError(
      'Cannot start: no MCP server to run: set PROGRAM (and ARGS) or give the command after "--"',
    );
  }
  return { program, args };
}

/** Tokens: flags or `AUTH_TOKEN`, plus one per line of `--auth-token-file`. */
function tokensOf(read: ReadSettings, readFile: EnvFileReader): string[] {
  const tokens = [...read.values.authTokens];
  const file = read.values.authTokenFile;
  if (file) {
    const text = readFile(file);
    if (text === undefined) {
      throw new ConfigError(
        `Cannot start: ${read.origins.authTokenFile.source} names a file that does not exist, received "${file}"`,
      );
    }
    tokens.push(
      ...stripBom(text).split(/\r?\n/).map((t) => t.trim()).filter((t) =>
        t !== "" && !t.startsWith("#")
      ),
    );
  }
  for (const token of tokens) {
    if (token.length < 16 || !/^[A-Za-z0-9._~+\/=-]+$/.test(token)) {
      throw new ConfigError(
        "Cannot start: an auth token must be at least 16 characters of A-Z a-z 0-9 . _ ~ + / = - (value not shown)",
      );
    }
  }
  return tokens;
}

/** `--no-auth` against tokens; `--tls-cert` and `--tls-key` together. */
function checkExclusions(values: SettingValues, authTokens: string[]): void {
  if (values.noAuth && authTokens.length > 0) {
    throw new ConfigError(
      "Cannot start: --no-auth and an auth token exclude each other",
    );
  }
  const { tlsCert, tlsKey } = values;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError(
      `Cannot start: --tls-cert and --tls-key go together, received only ${
        tlsCert ? "--tls-cert" : "--tls-key"
      }`,
    );
  }
}

/** Whether a value is the setting's default. */
function isDefault(setting: Setting, value: unknown): boolean {
  if ("fallback" in setting) return value === setting.fallback;
  if (Array.isArray(value)) return value.length === 0;
  return value === false || value === undefined;
}

/** Refuses a setting of one child mode given with the other. */
function checkModes({ values, origins }: ReadSettings): void {
  for (const [name, setting] of SETTING_LIST) {
    const rule = setting.only;
    if (rule === undefined || rule.mode === values.childMode) continue;
    const origin = origins[name];
    if (!origin.given) continue;
    if (rule.when === "changed" && isDefault(setting, values[name])) continue;
    throw new ConfigError(
      `Cannot start: ${origin.source} applies to --child-mode ${rule.mode} only`,
    );
  }
}
