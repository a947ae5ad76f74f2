/**
 * The layout of `lib/`: folders follow the data path, and imports only
 * point down it (a folder imports from itself or from folders before it in
 * {@linkcode LAYERS}), so that no module depends on one that uses it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The folders of lib/, lowest first. */
const LAYERS = [
  "util",
  "observe",
  "config",
  "jsonrpc",
  "http",
  "child",
  "session",
  "security",
  "transport",
  "front",
  "cli",
];

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) sources(path, out);
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** `transport/websocket` for lib/transport/websocket/session.ts. */
function folderOf(file: string): string {
  return relative(join(ROOT, "lib"), dirname(file)).split("\\").join("/");
}

function layerOf(folder: string): number {
  return LAYERS.indexOf(folder.split("/")[0]!);
}

function importsOf(file: string): string[] {
  const text = Deno.readTextFileSync(file);
  const found: string[] = [];
  for (
    const match of text.matchAll(
      /^\s*(?:import|export)\b[^"';]*?from\s*["'](\.[^"']+)["']/gms,
    )
  ) found.push(resolve(dirname(file), match[1]!));
  return found;
}

Deno.test("every file of lib/ sits in a known folder, none at the top", () => {
  const files = sources(join(ROOT, "lib"));
  assert.ok(files.length > 20, "lib/ was read");
  const misplaced = files.filter((f) => layerOf(folderOf(f)) < 0);
  assert.deepEqual(misplaced.map((f) => relative(ROOT, f)), []);
});

Deno.test("imports in lib/ point one way: down the data path, never between transports", () => {
  const offences: string[] = [];
  for (const file of sources(join(ROOT, "lib"))) {
    const from = folderOf(file);
    for (const target of importsOf(file)) {
      const to = folderOf(target);
      const where = `${relative(ROOT, file)} imports ${relative(ROOT, target)}`;
      if (!target.startsWith(join(ROOT, "lib"))) {
        offences.push(`${where}: lib/ imports only from lib/`);
      } else if (layerOf(to) > layerOf(from)) {
        offences.push(`${where}: ${to} comes after ${from}`);
      } else if (
        from.startsWith("transport/") && to.startsWith("transport/") &&
        from.split("/")[1] !== to.split("/")[1]
      ) offences.push(`${where}: one transport uses another`);
    }
  }
  assert.deepEqual(offences, []);
});

Deno.test("the import scan sees imports (it would catch an upward one)", () => {
  const handler = join(ROOT, "lib/front/endpoints.ts");
  const targets = importsOf(handler).map((t) => folderOf(t));
  assert.ok(targets.includes("transport/websocket"), targets.join(", "));
  assert.ok(targets.includes("session"), targets.join(", "));
});
