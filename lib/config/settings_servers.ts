/**
 * The servers part of the settings table: several named MCP servers from a
 * config file, their reload, and the web console. Joined with the other
 * parts in `settings.ts`.
 *
 * @module
 */

import type { Setting } from "./setting.ts";

const serverName = (value: string) =>
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(value) && !value.includes("__")
    ? undefined
    : "must be a server name of the config file (letters, digits, _ . -)";

/** Config-file, reload and console settings, in order. */
export const SERVER_SETTINGS = {
  configFile: {
    kind: "string",
    flag: "config",
    env: "CONFIG_FILE",
    arg: "FILE",
    section: "Servers",
    values: "path",
    help:
      "Serve every server of a Claude Desktop, Cursor or VS Code mcp.json (JSON with comments)",
    meaning:
      "Serve the servers of a `claude_desktop_config.json`, `.mcp.json`, Cursor or VS Code `mcp.json` at `/servers/NAME/…` (see Serve your Claude Desktop servers); excludes a command",
  },
  strictConfig: {
    kind: "bool",
    flag: "strict-config",
    env: "STRICT_CONFIG",
    section: "Servers",
    help: "Exit 2 when any server of --config cannot be set up",
    meaning:
      "Exit with 2 when any server of `--config` fails to load (unset variable, missing program or directory) instead of serving the others",
  },
  defaultServer: {
    kind: "string",
    flag: "default-server",
    env: "DEFAULT_SERVER",
    arg: "NAME",
    section: "Servers",
    check: serverName,
    values: "server name",
    shown: "the only server, if one",
    help: "The server of --config that also answers at /mcp, /sse and /",
    meaning:
      "The server of `--config` that also answers at `/mcp`, `/sse`, `/message` and `ws://HOST:PORT/`; automatic when the file has one enabled server",
  },
  reloadGraceSeconds: {
    kind: "int",
    flag: "reload-grace-seconds",
    env: "RELOAD_GRACE_SECONDS",
    arg: "N",
    section: "Servers",
    min: 0,
    max: 86_400,
    fallback: 30,
    help: "After SIGHUP, sessions of a removed server end this much later",
    meaning:
      "After a reload (`SIGHUP`), the sessions of a removed or disabled server end this many seconds later",
  },
  console: {
    kind: "bool",
    flag: "console",
    env: "CONSOLE",
    section: "Servers",
    help: "Serve the web console at /console",
    meaning:
      "Serve the web console at `/console` (servers, sessions, try a tool, stderr); its API needs the token",
  },
} as const satisfies Record<string, Setting>;
