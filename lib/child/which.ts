/**
 * Finds an executable the way a child spawn will, so that a missing program
 * is reported at startup rather than at the first connection, and checks the
 * `#!` interpreter of a script, without which every spawn fails.
 *
 * @module
 */

import { basename, delimiter, isAbsolute, join, resolve } from "node:path";

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

/** How many bytes of a script {@linkcode findInterpreterProblem} reads. */
export const SHEBANG_READ_BYTES = 256;

/** The nesting of `#!` interpreters that Linux follows. */
const MAX_INTERPRETER_DEPTH = 4;

/** A `#!` script whose interpreter cannot be run. */
export interface InterpreterProblem {
  /**
   * The interpreter that is missing: the path on the `#!` line, or the name
   * after `env` (as in `#!/usr/bin/env node`).
   */
  interpreter: string;
  /** The script whose `#!` line names it. */
  script: string;
  /** One line saying what is wrong, naming the interpreter. */
  message: string;
}

/**
 * Checks that the interpreter of a `#!` script exists and is executable, as
 * the kernel will when it runs the script.
 *
 * Reads at most {@linkcode SHEBANG_READ_BYTES} bytes of `file`. A file that
 * does not start with `#!`, or cannot be read, has no problem here. For
 * `#!/usr/bin/env NAME` (also with `-S` and `VAR=value` words before NAME),
 * NAME is looked up on `options.path`. An interpreter that is itself a `#!`
 * script is checked in turn. Always `undefined` on Windows.
 *
 * @param file The resolved program, as returned by {@linkcode findProgram}.
 * @param options PATH (for `env`) and the directory relative paths start at.
 * @returns What is wrong, or `undefined` when the file can be executed.
 */
export async function findInterpreterProblem(
  file: string,
  options: FindProgramOptions,
): Promise<InterpreterProblem | undefined> {
  if (options.windows ?? Deno.build.os === "windows") return undefined;
  let script = file;
  for (let depth = 0; depth < MAX_INTERPRETER_DEPTH; depth++) {
    const line = await readShebang(script);
    if (line === undefined) return undefined;
    const shown = JSON.stringify(`#!${line}`);
    // The kernel splits the line once, at the first space or tab: the
    // interpreter, then at most one argument (the rest of the line).
    const match = /^[ \t]*([^ \t]*)[ \t]*(.*?)[ \t]*$/s.exec(line);
    const interpreter = match?.[1] ?? "";
    const argument = match?.[2] ?? "";
    if (interpreter === "") {
      return {
        interpreter,
        script,
        message: `${
          JSON.stringify(script)
        } starts with ${shown}, which names no interpreter`,
      };
    }
    const path = resolve(options.cwd, interpreter);
    if (!(await isExecutable(path, false))) {
      return {
        interpreter,
        script,
        message: `the #! interpreter ${JSON.stringify(interpreter)} of ${
          JSON.stringify(script)
        } (${shown}) was not found or is not executable`,
      };
    }
    if (basename(path) === "env") {
      const name = envCommand(argument);
      if (name === undefined) return undefined;
      const found = await findProgram(name, {
        // execvp's own default when PATH is unset
        path: options.path ?? "/bin:/usr/bin",
        cwd: options.cwd,
        windows: false,
      });
      if (found === undefined) {
        return {
          interpreter: name,
          script,
          message: `${JSON.stringify(name)}, which ${
            JSON.stringify(script)
          } runs through env (${shown}), was not found on PATH or is not executable`,
        };
      }
      script = found;
    } else {
      script = path;
    }
  }
  return undefined;
}

/**
 * The text after `#!` on the first line of `file`, or `undefined` when it is
 * not a `#!` script or cannot be read. A `\r` before the newline is kept:
 * the kernel keeps it too, and then looks for an interpreter ending in `\r`.
 */
async function readShebang(file: string): Promise<string | undefined> {
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(file, { read: true });
  } catch {
    return undefined;
  }
  try {
    const buffer = new Uint8Array(SHEBANG_READ_BYTES);
    let length = 0;
    while (length < buffer.length) {
      const n = await handle.read(buffer.subarray(length));
      if (n === null) break;
      length += n;
    }
    if (length < 2 || buffer[0] !== 0x23 || buffer[1] !== 0x21) {
      return undefined;
    }
    const end = buffer.subarray(0, length).indexOf(0x0a);
    return new TextDecoder().decode(
      buffer.subarray(2, end === -1 ? length : end),
    );
  } catch {
    return undefined;
  } finally {
    handle.close();
  }
}

/**
 * The command `env` runs for the argument of a `#!/usr/bin/env ...` line, or
 * `undefined` when it cannot be told (options other than `-S`, or none).
 */
function envCommand(argument: string): string | undefined {
  let words = argument.split(/[ \t]+/).filter((w) => w !== "");
  const first = words[0];
  if (first === undefined) return undefined;
  if (first === "--split-string") {
    words = words.slice(1);
  } else if (first.startsWith("-S")) {
    // "-S deno run" or "-Sdeno run"
    words = [first.slice(2), ...words.slice(1)].filter((w) => w !== "");
  } else if (first.startsWith("-")) {
    return undefined;
  }
  for (const word of words) {
    if (word.includes("=")) continue;
    return word.startsWith("-") ? undefined : word;
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
