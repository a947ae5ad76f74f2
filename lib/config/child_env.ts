/**
 * The environment every child gets: the runner's (and the `.env` file's)
 * less the runner's own variables, or with `--clean-env` only `PATH`, `HOME`
 * and `--pass-env` names; `--env NAME=VALUE` last.
 *
 * @module
 */

import { RUNNER_VARIABLES } from "./settings.ts";
import { ConfigError } from "./types.ts";

/** What the child's environment is made from. */
export interface ChildEnvInputs {
  /** The environment over the `.env` file. */
  vars: Record<string, string>;
  /** Whether `--clean-env` is on. */
  cleanEnv: boolean;
  /** `--pass-env` names. */
  passEnv: string[];
  /** The flag or variable `passEnv` came from, for an error. */
  passEnvSource: string;
  /** `--env` assignments, in order. */
  assignments: string[];
}

/**
 * Builds the child's environment.
 *
 * @param inputs Variables and the settings that steer them.
 * @returns The variables.
 * @throws {ConfigError} On a runner variable in `--pass-env` or a bad `--env`.
 */
export function childEnvironment(
  inputs: ChildEnvInputs,
): Record<string, string> {
  const { vars } = inputs;
  const childEnv: Record<string, string> = {};
  if (inputs.cleanEnv) {
    for (const name of ["PATH", "HOME", ...inputs.passEnv]) {
      if (RUNNER_VARIABLES.has(name) && name !== "PATH" && name !== "HOME") {
        throw new ConfigError(
          `Cannot start: ${inputs.passEnvSource} cannot pass the runner's own setting, received "${name}"`,
        );
      }
      const value = vars[name];
      if (value !== undefined) childEnv[name] = value;
    }
  } else {
    for (const [name, value] of Object.entries(vars)) {
      if (!RUNNER_VARIABLES.has(name)) childEnv[name] = value;
    }
  }
  for (const assignment of inputs.assignments) {
    const eq = assignment.indexOf("=");
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(assignment.slice(0, eq))) {
      throw new ConfigError(
        `Cannot start: --env must be NAME=VALUE, received "${
          assignment.slice(0, 40)
        }"`,
      );
    }
    childEnv[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return childEnv;
}
