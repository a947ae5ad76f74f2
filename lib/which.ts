/**
 * Finds an executable the way a child spawn will, so that a missing program
 * is reported at startup rather than at the first connection.
 *
 * @module
 */

import { delimiter, isAbsolute, join, resolve } from "node:path";

/** Options for {@linkcode findProgram}. */
export interface FindProgramOptions {
  /** The PATH the child will see. */
  path: string | undefined;
  /** Windows only: the extensions tried, from PATHEXT. */
  pathExt?: string | undefined;
  /** Directory that relative paths are resolved from. */
  cwd: string;
  /**
   * Whether to apply Windows rules (PATHEXT, no execute bit).
   *
   * @default {Deno.build.os === "windows"}
   */
  windows?: boolean;
}

/**
 * Resolves `program` to an executable file.
 *
 * A name with a path separator is taken relative to `cwd`; a bare name is
 * searched on PATH.
 *
 * @param program The program to run.
 * @param options PATH and working directory.
 * @returns The executable's path, or `undefined` when none is found.
 */
export async function findProgram(
  program: string,
  options: FindProgramOptions,
): Promise<string | undefined> {
  const windows = options.windows ?? Deno.build.os === "windows";
  const extensions = windows
    ? [
      "",
      ...(options.pathExt ?? ".COM;.EXE;.BAT;.CMD").split(";").filter((e) =>
        e !== ""
      ),
    ]
    : [""];
  const hasSeparator = program.includes("/") ||
    (windows && program.includes("\\"));
  const directories = hasSeparator || isAbsolute(program)
    ? [""]
    : (options.path ?? "").split(windows ? ";" : delimiter).filter((d) =>
      d !== ""
    );
  for (const directory of directories) {
    const base = directory === ""
      ? resolve(options.cwd, program)
      : join(directory, program);
    for (const extension of extensions) {
      const candidate = base + extension;
      if (await isExecutable(candidate, windows)) return candidate;
    }
  }
  return undefined;
}

async function isExecutable(path: string, windows: boolean): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) return false;
    return windows || info.mode === null || (info.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}
