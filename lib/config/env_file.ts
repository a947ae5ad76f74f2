/**
 * `.env` files: parsed as `node:util`'s `parseEnv` reads them, with a byte
 * order mark removed and names that are not variable names refused.
 *
 * @module
 */

import { parseEnv } from "node:util";

/** What a variable name in a `.env` file must look like. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Removes a UTF-8 byte order mark, which some editors put first.
 *
 * @param text A file's text.
 * @returns The text without it.
 */
export function stripBom(text: string): string {
  return text.startsWith("\uFEFF") ? text.slice(1) : text;
}

/**
 * Parses a `.env` file with `node:util`'s `parseEnv`, after removing a byte
 * order mark, and refuses a name that is not a variable name (it would
 * reach the child under a name nothing looks up, and a setting of the runner
 * would be silently missing). The error names the file and the line, never
 * the line's text.
 *
 * @param path The file, for the error.
 * @param raw Its text.
 * @returns The variables, or the startup error.
 */
export function parseEnvFile(
  path: string,
  raw: string,
): { env: Record<string, string> } | { error: string } {
  const text = stripBom(raw);
  const parsed = { ...parseEnv(text) } as Record<string, string>;
  for (const { name, line } of envFileNames(text)) {
    // A name parseEnv did not take (inside a quoted value that spans lines,
    // by our reading) is not refused, except an empty one, which it drops.
    if (
      VARIABLE_NAME.test(name) || (name !== "" && !Object.hasOwn(parsed, name))
    ) {
      continue;
    }
    return {
      error:
        `Cannot start: env file "${path}" line ${line} does not start with a valid variable name (letters, digits and _, not starting with a digit; the line is not shown)`,
    };
  }
  return { env: parsed };
}

/**
 * The names assigned in a `.env` file and their line numbers, read the way
 * `parseEnv` reads them: `NAME=value` or `export NAME=value`, blank lines and
 * `#` comments skipped, and a value in quotes (`"`, `'` or `` ` ``) running
 * to the closing quote, on a later line if need be.
 */
function envFileNames(text: string): { name: string; line: number }[] {
  const lines = text.split("\n");
  const names: { name: string; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = trimBlanks(raw);
    const eq = raw.indexOf("=");
    if (trimmed === "" || trimmed.startsWith("#") || eq === -1) continue;
    let name = trimBlanks(raw.slice(0, eq));
    if (name.startsWith("export ")) {
      name = trimBlanks(name.slice("export ".length));
    }
    names.push({ name, line: i + 1 });
    const value = trimBlanks(raw.slice(eq + 1));
    const quote = value[0];
    if (quote === '"' || quote === "'" || quote === "`") {
      const rest = [value.slice(1), ...lines.slice(i + 1)].join("\n");
      const close = rest.indexOf(quote);
      if (close !== -1) i += rest.slice(0, close).split("\n").length - 1;
    }
  }
  return names;
}

/** Trims spaces and tabs only, as `parseEnv` does (not a byte order mark). */
function trimBlanks(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, "");
}
