/**
 * Configuration: command-line flags, environment variables and a `.env` file
 * turned into one validated {@linkcode Config}.
 *
 * The settings are one table (`settings.ts`); parsing (`parse.ts`), the
 * `--help` text and the README table (`help.ts`) are made from it. This
 * module gathers what the rest of the runner uses.
 *
 * @module
 */

export { parseConfig } from "./parse.ts";
export { helpText, optionTable } from "./help.ts";
export { DEFAULT_ENV_FILE, RUNNER_VARIABLES, SETTINGS } from "./settings.ts";
export {
  type ChildMode,
  type Config,
  ConfigError,
  type EnvFileReader,
  type ParseConfigOptions,
  type ParsedCommand,
  type SharedClientRequests,
  type SharedLogs,
  type SharedOnExit,
  type SharedStart,
} from "./types.ts";
