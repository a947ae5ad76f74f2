/**
 * What one entry of the settings table says: its flag, variable, kind,
 * range or choices, default and texts. The table itself is in
 * `settings.ts`; `read.ts`, `help.ts` and `parse.ts` work from it.
 *
 * @module
 */

import type { ChildMode } from "./types.ts";

/** The groups of the `--help` output and the README table, in order. */
export const SECTIONS = [
  "Server",
  "Limits",
  "Security",
  "Child environment",
  "Child processes",
  "Shared mode",
  "Servers",
  "Other",
] as const;

/** A group of settings. */
export type Section = typeof SECTIONS[number];

/**
 * Checks a value: `undefined` when it is good, else what it must be, such
 * as `must be a host name or address` (the error adds the source and the
 * value).
 */
export type Check = (value: string) => string | undefined;

/** A setting that only one child mode uses. */
export interface ModeRule {
  /** The mode it belongs to. */
  readonly mode: ChildMode;
  /**
   * When it is refused in the other mode: when given at all (flag or
   * variable), or only when its value is not the default.
   */
  readonly when: "given" | "changed";
}

/** What every kind of setting has. */
interface Common {
  /** The flag, without `--`; none for a setting read only from variables. */
  readonly flag?: string;
  /** A one-letter alias of the flag. */
  readonly short?: string;
  /** The environment variable; none for a flag only. */
  readonly env?: string;
  /** What the flag's value is called in the help, such as `PATH`. */
  readonly arg?: string;
  /** The group it is listed in. */
  readonly section: Section;
  /** One line for `--help`. */
  readonly help: string;
  /** The longer meaning for the README table (Markdown). */
  readonly meaning: string;
  /** What the values column of the README says, when not derived. */
  readonly values?: string;
  /** The default as the help and the README show it, when not derived. */
  readonly shown?: string;
  /** Refused in the other child mode. */
  readonly only?: ModeRule;
}

/** An integer in a range. */
export interface IntSetting extends Common {
  readonly kind: "int";
  /** The least value accepted. */
  readonly min: number;
  /** The greatest value accepted. */
  readonly max: number;
  /** The default. */
  readonly fallback: number;
}

/** One of a few words, matched without regard to case. */
export interface EnumSetting extends Common {
  readonly kind: "enum";
  /** The words accepted. */
  readonly choices: readonly string[];
  /** Other words accepted for some of them (`warn` for `warning`). */
  readonly aliases?: Readonly<Record<string, string>>;
  /** The default. */
  readonly fallback: string;
  /**
   * Another variable read when neither the flag nor the variable is set
   * (`RUST_LOG`), and how to take the value out of it.
   */
  readonly fallbackEnv?: {
    readonly name: string;
    readonly convert: (raw: string) => string;
  };
}

/** Text, such as a host name or a path. */
export interface StringSetting extends Common {
  readonly kind: "string";
  /** The default; none: unset. */
  readonly fallback?: string;
  /** Validation. */
  readonly check?: Check;
}

/**
 * On or off: the flag, or the variable set to `1`, `true`, `yes` or `on`
 * (any other value is off).
 */
export interface BoolSetting extends Common {
  readonly kind: "bool";
}

/** Several values: the flag repeated, or a variable. */
export interface ListSetting extends Common {
  readonly kind: "list";
  /** Whether each value is also split on commas. */
  readonly split: boolean;
  /** Validation of each value. */
  readonly check?: Check;
}

/** The MCP server's command: after `--`, or `PROGRAM` and `ARGS`. */
export interface CommandSetting extends Common {
  readonly kind: "command";
  /** The variable of its arguments, split on commas. */
  readonly argsEnv: string;
}

/** A flag that does something else than run (`--help`, `--version`). */
export interface ActionSetting extends Common {
  readonly kind: "action";
}

/** One entry of the settings table. */
export type Setting =
  | IntSetting
  | EnumSetting
  | StringSetting
  | BoolSetting
  | ListSetting
  | CommandSetting
  | ActionSetting;

/** The value type a setting gives. */
export type ValueOf<S> = S extends { kind: "int" } ? number
  : S extends { kind: "enum"; choices: readonly (infer C)[] } ? C
  : S extends { kind: "bool" | "action" } ? boolean
  : S extends { kind: "list" } ? string[]
  : S extends { kind: "string"; fallback: string } ? string
  : S extends { kind: "string" } ? string | undefined
  : never;

/** The variables a setting reads. */
export function variablesOf(setting: Setting): string[] {
  const names = setting.env === undefined ? [] : [setting.env];
  if (setting.kind === "command") names.push(setting.argsEnv);
  if (setting.kind === "enum" && setting.fallbackEnv) {
    names.push(setting.fallbackEnv.name);
  }
  return names;
}

/** How the flag reads in the help and the README: `--port N`, `--help, -h`. */
export function flagText(setting: Setting): string {
  if (setting.kind === "command") return "-- <program> [args...]";
  if (setting.flag === undefined) return "";
  const arg = setting.arg === undefined ? "" : ` ${setting.arg}`;
  const short = setting.short === undefined ? "" : `, -${setting.short}`;
  return `--${setting.flag}${arg}${short}`;
}

/** The default as shown, or `undefined` for none. */
export function defaultText(setting: Setting): string | undefined {
  if (setting.shown !== undefined) return setting.shown;
  switch (setting.kind) {
    case "int":
      return String(setting.fallback);
    case "enum":
      return setting.fallback;
    case "string":
      return setting.fallback;
    default:
      return undefined;
  }
}
