/**
 * The settings table: every flag and variable of the runner, with its kind,
 * range or choices, default, help line and README meaning. The command-line
 * parser, the reading of variables, validation, `--help`, the README table
 * and {@linkcode RUNNER_VARIABLES} are all made from it. Its entries are
 * kept in two files by concern: `settings_runner.ts`,
 * `settings_children.ts` and `settings_servers.ts`.
 *
 * @module
 */

import { type Setting, variablesOf } from "./setting.ts";
import { CHILD_SETTINGS } from "./settings_children.ts";
import { RUNNER_SETTINGS } from "./settings_runner.ts";
import { SERVER_SETTINGS } from "./settings_servers.ts";

export { DEFAULT_ENV_FILE } from "./settings_runner.ts";

/** Every setting, keyed by the name of what it sets, in `--help` order. */
export const SETTINGS = {
  ...RUNNER_SETTINGS,
  ...CHILD_SETTINGS,
  ...SERVER_SETTINGS,
  help: {
    kind: "action",
    flag: "help",
    short: "h",
    section: "Other",
    help: "Print this help",
    meaning: "Print this help and exit 0",
  },
  version: {
    kind: "action",
    flag: "version",
    short: "V",
    section: "Other",
    help: "Print the version",
    meaning: "Print `mcp-server-runner` and its version and exit 0",
  },
} as const satisfies Record<string, Setting>;

/** The name of a setting. */
export type SettingName = keyof typeof SETTINGS;

/** Every setting, in table order. */
export const SETTING_LIST: readonly (readonly [SettingName, Setting])[] = Object
  .entries(SETTINGS) as [SettingName, Setting][];

/**
 * Variables that configure the runner itself and are never passed to a child.
 */
export const RUNNER_VARIABLES: ReadonlySet<string> = new Set(
  SETTING_LIST.flatMap(([, setting]) => variablesOf(setting)),
);
