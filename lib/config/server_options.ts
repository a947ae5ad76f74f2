/**
 * The `runner` object of a config file: the runner's own options for one
 * server, or, at the top of the file, the defaults of every server.
 *
 * @module
 */

import type { JsonValue } from "./jsonc.ts";
import type {
  ChildMode,
  SharedClientRequests,
  SharedLogs,
  SharedOnExit,
  SharedStart,
} from "./types.ts";

/** What a server name must look like: it becomes a URL segment. */
export const SERVER_NAME: RegExp = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The runner's options for one server; unset ones follow the flags. */
export interface RunnerOptions {
  /** `per-session` or `shared`. */
  mode?: ChildMode;
  /** Children started ahead (per-session mode). */
  prewarm?: number;
  /** Most live sessions of this server. */
  maxSessions?: number;
  /** Only PATH, HOME and `passEnv` from the runner's environment. */
  cleanEnv?: boolean;
  /** Variables passed with `cleanEnv`. */
  passEnv?: string[];
  /** Shared mode: when the child starts. */
  sharedStart?: SharedStart;
  /** Shared mode: what the child's requests to clients get. */
  sharedClientRequests?: SharedClientRequests;
  /** Shared mode: one `tools/call` at a time. */
  sharedSerializeCalls?: boolean;
  /** Shared mode: where log notifications go. */
  sharedLogs?: SharedLogs;
  /** Shared mode: restart on exit, or end every session. */
  sharedOnExit?: SharedOnExit;
  /** Top level only: the server that also answers at the root paths. */
  defaultServer?: string;
}

type Reader = (value: JsonValue, at: string) => unknown;

/** A value of the wrong kind: its message names the path. */
class OptionProblem extends Error {}

const choice = (values: readonly string[]): Reader => (value, at) => {
  if (typeof value === "string" && values.includes(value)) return value;
  throw new OptionProblem(
    `${at} must be ${values.map((v) => `"${v}"`).join(" or ")}`,
  );
};

const integer = (min: number, max: number): Reader => (value, at) => {
  if (
    Number.isInteger(value) && value as number >= min && value as number <= max
  ) {
    return value;
  }
  throw new OptionProblem(`${at} must be an integer from ${min} to ${max}`);
};

const bool: Reader = (value, at) => {
  if (typeof value === "boolean") return value;
  throw new OptionProblem(`${at} must be true or false`);
};

const names: Reader = (value, at) => {
  if (
    Array.isArray(value) &&
    value.every((v) =>
      typeof v === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v)
    )
  ) {
    return value;
  }
  throw new OptionProblem(`${at} must be an array of variable names`);
};

const serverName: Reader = (value, at) => {
  if (typeof value === "string" && SERVER_NAME.test(value)) return value;
  throw new OptionProblem(`${at} must be a server name`);
};

const READERS: Record<keyof RunnerOptions, Reader> = {
  mode: choice(["per-session", "shared"]),
  prewarm: integer(0, 64),
  maxSessions: integer(1, 100_000),
  cleanEnv: bool,
  passEnv: names,
  sharedStart: choice(["eager", "lazy"]),
  sharedClientRequests: choice(["refuse", "attribute"]),
  sharedSerializeCalls: bool,
  sharedLogs: choice(["broadcast", "drop"]),
  sharedOnExit: choice(["restart", "end-sessions"]),
  defaultServer: serverName,
};

/**
 * Reads a `runner` object. Its keys are the runner's own, so an unknown one
 * is an error (a typo would otherwise go unnoticed).
 *
 * @param value The object, or undefined when absent.
 * @param at Its path in the file, for messages.
 * @param fail Throws the file's error.
 * @param top Whether this is the top-level object (`defaultServer` allowed).
 * @returns The options given.
 */
export function readRunnerOptions(
  value: JsonValue | undefined,
  at: string,
  fail: (problem: string) => never,
  top: boolean,
): RunnerOptions {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(`${at} must be an object`);
  }
  const options: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const reader = READERS[key as keyof RunnerOptions];
    if (reader === undefined || (key === "defaultServer" && !top)) {
      fail(
        `${at}.${key} is not a runner option (${
          Object.keys(READERS).filter((k) => top || k !== "defaultServer")
            .join(", ")
        })`,
      );
    }
    try {
      options[key] = reader!(item, `${at}.${key}`);
    } catch (problem) {
      if (problem instanceof OptionProblem) fail(problem.message);
      throw problem;
    }
  }
  return options as RunnerOptions;
}
