/**
 * `deno task demo`: the runner serving the pinned
 * `@modelcontextprotocol/server-everything`, started with this same Deno
 * executable so that no `deno` needs to be on PATH (as under
 * `npx -y deno@2.9.6 task demo`), with the web console on (the runner
 * prints its URL after the "Listening on" line). Every argument goes to the
 * runner: `deno task demo --port 9000 --log-level debug`.
 *
 * @module
 */

import { main } from "../main.ts";
import { flushLogs } from "../lib/observe/log.ts";

/** The MCP server the demo serves, pinned. */
export const DEMO_SERVER =
  "npm:@modelcontextprotocol/server-everything@2026.8.31";

/**
 * The runner's arguments for the demo: the task's own, then the server.
 *
 * @param args Arguments given to `deno task demo`.
 * @param deno The Deno executable that runs the server.
 * @returns Arguments for {@linkcode main}.
 */
export function demoArgs(args: string[], deno: string): string[] {
  const console = args.some((arg) => /^--console(=|$)/.test(arg))
    ? []
    : ["--console"];
  return [...console, ...args, "--", deno, "run", "-A", DEMO_SERVER, "stdio"];
}

if (import.meta.main) {
  const code = await main(demoArgs(Deno.args, Deno.execPath()));
  flushLogs();
  Deno.exit(code);
}
