/**
 * Variable expansion in a config file's `command`, `args`, `env`, `envFile`
 * and `cwd`: the forms of Claude Code (`${NAME}`, `${NAME:-default}`) and of
 * VS Code and Cursor (`${env:NAME}`, `${userHome}`, `${workspaceFolder}`,
 * `${workspaceFolderBasename}`, `${pathSeparator}`, `${/}`). `$${` writes a
 * literal `${`; a bare `$NAME` is left alone, so arguments such as `$1`
 * survive.
 *
 * @module
 */

import { basename } from "node:path";

/** What `${…}` expands from. */
export interface ExpandContext {
  /** The runner's environment over its `.env` file. */
  vars: Record<string, string>;
  /** `${userHome}`. */
  userHome: string;
  /** `${workspaceFolder}`. */
  workspaceFolder: string;
  /** `${pathSeparator}` and `${/}`. */
  pathSeparator: string;
}

/** A reference that cannot be expanded: an unset variable, or an input. */
export class ExpandError extends Error {
  /**
   * Creates the error.
   *
   * @param message What cannot be expanded (a variable's name, never a value).
   */
  constructor(message: string) {
    super(message);
    this.name = "ExpandError";
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands every `${…}` of one string.
 *
 * @param text The field's text.
 * @param context Variables and the predefined values.
 * @returns The expanded text.
 * @throws {ExpandError} On an unset variable without a default (an empty one
 *   counts as unset) or on `${input:…}`, which only an editor can prompt for.
 */
export function expand(text: string, context: ExpandContext): string {
  if (!text.includes("${")) return text;
  let out = "";
  let at = 0;
  for (;;) {
    const start = text.indexOf("${", at);
    if (start === -1) return out + text.slice(at);
    if (start > 0 && text[start - 1] === "$") {
      // `$${` is a literal `${`.
      out += text.slice(at, start - 1) + "${";
      at = start + 2;
      continue;
    }
    const end = text.indexOf("}", start + 2);
    if (end === -1) return out + text.slice(at);
    out += text.slice(at, start);
    const inner = text.slice(start + 2, end);
    const value = resolve(inner, context);
    out += value ?? text.slice(start, end + 1);
    at = end + 1;
  }
}

/** The value of one reference, or undefined to leave it as written. */
function resolve(inner: string, context: ExpandContext): string | undefined {
  switch (inner) {
    case "userHome":
      return context.userHome;
    case "workspaceFolder":
      return context.workspaceFolder;
    case "workspaceFolderBasename":
      return basename(context.workspaceFolder);
    case "pathSeparator":
    case "/":
      return context.pathSeparator;
  }
  if (inner.startsWith("input:")) {
    throw new ExpandError(
      `references the editor prompt \${${inner}}, which only an editor can ask for`,
    );
  }
  const fallback = inner.indexOf(":-");
  const name = inner.startsWith("env:")
    ? inner.slice(4)
    : fallback === -1
    ? inner
    : inner.slice(0, fallback);
  if (!NAME.test(name)) return undefined;
  const value = context.vars[name];
  if (value !== undefined && value !== "") return value;
  if (fallback !== -1 && !inner.startsWith("env:")) {
    return inner.slice(fallback + 2);
  }
  throw new ExpandError(`references unset variable ${name}`);
}
