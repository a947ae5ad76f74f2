/**
 * Texts made from the settings table: the `--help` output and the README's
 * table of options.
 *
 * @module
 */

import {
  defaultText,
  flagText,
  SECTIONS,
  type Setting,
  variablesOf,
} from "./setting.ts";
import { SETTING_LIST } from "./settings.ts";

/** The settings of each section, in table order, without empty sections. */
function bySection(): [string, Setting[]][] {
  return SECTIONS.map((section): [string, Setting[]] => [
    section,
    SETTING_LIST.map(([, s]) => s).filter((s) => s.section === section),
  ]).filter(([, settings]) => settings.length > 0);
}

/**
 * The help text printed by `--help`.
 *
 * @param version The runner's version.
 * @returns Text ending in a newline.
 */
export function helpText(version: string): string {
  const all = SETTING_LIST.map(([, s]) => s);
  const flagWidth = Math.max(...all.map((s) => flagText(s).length));
  const envWidth = Math.max(
    ...all.map((s) => variablesOf(s).join(", ").length),
  );
  const row = (s: Setting) => {
    const shown = defaultText(s);
    return `  ${flagText(s).padEnd(flagWidth)} ${
      variablesOf(s).join(", ").padEnd(envWidth)
    } ${s.help}${shown === undefined ? "" : ` [${shown}]`}`;
  };
  return [
    `mcp-server-runner ${version}: serve a stdio MCP server over WebSocket, Streamable HTTP and SSE`,
    "",
    "Usage:",
    "  mcp-server-runner [options] -- <program> [args...]",
    "  mcp-server-runner healthcheck [--url URL | --host H --port P] [--timeout-ms N]",
    "  PROGRAM=<program> ARGS=<a,b,c> mcp-server-runner [options]",
    "",
    "Options (flag, environment variable, meaning [default]):",
    ...bySection().flatMap(([section, settings]) => [
      "",
      `${section}:`,
      ...settings.map(row),
    ]),
    "",
    "Flags override the environment, which overrides the .env file. Every other",
    "variable passes through to the MCP server; the runner's own never do.",
    "",
  ].join("\n");
}

const code = (text: string) => `\`${text}\``;

/** The README's flag column: `` `--port N` ``, `` `--help`, `-h` ``. */
function flagCell(s: Setting): string {
  if (s.kind === "command" || s.flag === undefined) return code(flagText(s));
  const arg = s.arg === undefined ? "" : ` ${s.arg}`;
  const short = s.short === undefined ? "" : `, ${code(`-${s.short}`)}`;
  return `${code(`--${s.flag}${arg}`)}${short}`;
}

/** The README's values column: a range, the choices, or what a value is. */
function valuesCell(s: Setting): string {
  switch (s.kind) {
    case "int":
      return `${s.min}..${s.max}`;
    case "enum":
      return s.choices.map((choice) => {
        const aliases = Object.entries(s.aliases ?? {})
          .filter(([, to]) => to === choice).map(([from]) => code(from));
        return code(choice) +
          (aliases.length > 0 ? ` (${aliases.join(", ")})` : "");
      }).join(", ");
    case "bool":
      return s.env === undefined ? "" : "`1`, `true`, `yes`, `on` = on";
    case "list":
      return `${s.values === undefined ? "" : `${s.values}; `}repeatable${
        s.split ? " or comma-separated" : ""
      }`;
    default:
      return s.values ?? "";
  }
}

/** The README's default column. */
function defaultCell(s: Setting): string {
  if (s.shown !== undefined) return s.shown;
  const shown = defaultText(s);
  if (shown !== undefined) return code(shown);
  if (s.kind === "bool") return "off";
  return s.kind === "action" ? "" : "none";
}

/** Keeps a cell in its column. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/**
 * The README's table of options, one row per setting under a row per
 * section, as Markdown.
 *
 * @returns The table, ending in a newline.
 */
export function optionTable(): string {
  const lines = [
    "| Flag | Variable | Values | Default | Meaning |",
    "|---|---|---|---|---|",
  ];
  for (const [section, settings] of bySection()) {
    lines.push(`| **${section}** | | | | |`);
    for (const s of settings) {
      const cells = [
        flagCell(s),
        variablesOf(s).map(code).join(", "),
        valuesCell(s),
        defaultCell(s),
        s.meaning,
      ];
      lines.push(`| ${cells.map(cell).join(" | ")} |`);
    }
  }
  return lines.join("\n") + "\n";
}
