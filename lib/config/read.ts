/**
 * Reading settings from the table: the `parseArgs` options it makes, and
 * each setting's value from its flag, else its variable (environment over
 * `.env` file), else its default, validated by its kind.
 *
 * @module
 */

import type { ParseArgsOptionsConfig } from "node:util";
import type {
  EnumSetting,
  IntSetting,
  ListSetting,
  Setting,
  StringSetting,
  ValueOf,
} from "./setting.ts";
import { SETTING_LIST, type SettingName, type SETTINGS } from "./settings.ts";
import { ConfigError } from "./types.ts";

/** What `parseArgs` returned for the flags. */
export type FlagValues = Record<
  string,
  string | boolean | string[] | undefined
>;

/** The value of every setting that the generic reading gives. */
export type SettingValues = {
  -readonly [K in SettingName]: ValueOf<typeof SETTINGS[K]>;
};

/** Where a setting's value came from. */
export interface Origin {
  /** The flag (`--port`) or variable (`PORT`) to name in an error. */
  source: string;
  /** Whether the flag or a non-empty variable gave it (not the default). */
  given: boolean;
}

/** Every setting's value and where it came from. */
export interface ReadSettings {
  /** The values. */
  values: SettingValues;
  /** Their origins. */
  origins: Record<SettingName, Origin>;
}

/** The `parseArgs` options of every flag of the table. */
export function parseArgsOptions(): ParseArgsOptionsConfig {
  const options: ParseArgsOptionsConfig = {};
  for (const [, setting] of SETTING_LIST) {
    if (setting.flag === undefined) continue;
    const boolean = setting.kind === "bool" || setting.kind === "action";
    options[setting.flag] = {
      type: boolean ? "boolean" : "string",
      ...(setting.kind === "list" ? { multiple: true } : {}),
      ...(setting.short === undefined ? {} : { short: setting.short }),
    };
  }
  return options;
}

/** Whether a variable's value turns a boolean setting on. */
export function truthy(raw: string | undefined): boolean {
  return /^(1|true|yes|on)$/i.test((raw ?? "").trim());
}

/** Throws the one-line error naming the source and the value. */
function refuse(source: string, detail: string, value: string): never {
  throw new ConfigError(
    `Cannot start: ${source} ${detail}, received "${value}"`,
  );
}

/**
 * Reads every setting of the table but the command and the actions.
 *
 * @param flags What `parseArgs` returned.
 * @param vars The environment over the `.env` file.
 * @returns The values and their origins.
 * @throws {ConfigError} On an invalid value.
 */
export function readSettings(
  flags: FlagValues,
  vars: Record<string, string>,
): ReadSettings {
  const values: Record<string, unknown> = {};
  const origins: Record<string, Origin> = {};
  for (const [name, setting] of SETTING_LIST) {
    if (setting.kind === "command" || setting.kind === "action") continue;
    const origin = originOf(setting, flags, vars);
    origins[name] = origin;
    values[name] = readOne(setting, flags, vars, origin);
  }
  return {
    values: values as SettingValues,
    origins: origins as Record<SettingName, Origin>,
  };
}

function originOf(
  setting: Setting,
  flags: FlagValues,
  vars: Record<string, string>,
): Origin {
  const flag = setting.flag === undefined ? undefined : flags[setting.flag];
  if (flag !== undefined && flag !== false) {
    return { source: `--${setting.flag}`, given: true };
  }
  if (setting.env !== undefined && (vars[setting.env] ?? "") !== "") {
    return { source: setting.env, given: true };
  }
  if (setting.kind === "enum" && setting.fallbackEnv) {
    const { name } = setting.fallbackEnv;
    if ((vars[name] ?? "") !== "") return { source: name, given: true };
  }
  return { source: setting.env ?? `--${setting.flag}`, given: false };
}

/** The raw text of a single-valued setting, or `undefined` when unset. */
function rawOf(
  setting: Setting,
  flags: FlagValues,
  vars: Record<string, string>,
  origin: Origin,
): string | undefined {
  if (!origin.given) return undefined;
  if (origin.source.startsWith("--")) return flags[setting.flag!] as string;
  const raw = vars[origin.source]!;
  if (setting.kind === "enum" && origin.source !== setting.env) {
    return setting.fallbackEnv!.convert(raw);
  }
  return raw;
}

function readOne(
  setting: Exclude<Setting, { kind: "command" | "action" }>,
  flags: FlagValues,
  vars: Record<string, string>,
  origin: Origin,
): unknown {
  switch (setting.kind) {
    case "bool":
      return flags[setting.flag!] === true ||
        (setting.env !== undefined && truthy(vars[setting.env]));
    case "list":
      return readList(setting, flags, vars, origin);
    case "int":
      return readInt(setting, rawOf(setting, flags, vars, origin), origin);
    case "enum":
      return readEnum(setting, rawOf(setting, flags, vars, origin), origin);
    case "string":
      return readString(setting, rawOf(setting, flags, vars, origin), origin);
  }
}

function readInt(
  setting: IntSetting,
  raw: string | undefined,
  origin: Origin,
): number {
  if (raw === undefined) return setting.fallback;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < setting.min || n > setting.max) {
    refuse(
      origin.source,
      `must be an integer in ${setting.min}..${setting.max}`,
      raw,
    );
  }
  return n;
}

/** What an enum setting accepts, for its error: `"a" or "b"`, or `one of a, b, c`. */
export function choicesText(setting: EnumSetting): string {
  const { choices } = setting;
  return choices.length === 2
    ? `"${choices[0]}" or "${choices[1]}"`
    : `one of ${choices.join(", ")}`;
}

function readEnum(
  setting: EnumSetting,
  raw: string | undefined,
  origin: Origin,
): string {
  if (raw === undefined) return setting.fallback;
  const word = raw.trim().toLowerCase();
  const value = setting.aliases?.[word] ?? word;
  if (!setting.choices.includes(value)) {
    refuse(origin.source, `must be ${choicesText(setting)}`, raw);
  }
  return value;
}

function readString(
  setting: StringSetting,
  raw: string | undefined,
  origin: Origin,
): string | undefined {
  if (raw === undefined) return setting.fallback;
  const problem = setting.check?.(raw);
  if (problem !== undefined) refuse(origin.source, problem, raw);
  return raw;
}

function readList(
  setting: ListSetting,
  flags: FlagValues,
  vars: Record<string, string>,
  origin: Origin,
): string[] {
  const fromFlag = flags[setting.flag!] as string[] | undefined;
  const raw = fromFlag ??
    (setting.env === undefined ? [] : (vars[setting.env] ?? "").split(","));
  const items = setting.split
    ? raw.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) =>
      v !== ""
    )
    : [...raw];
  for (const item of items) {
    const problem = setting.check?.(item);
    if (problem !== undefined) refuse(origin.source, problem, item);
  }
  return items;
}
