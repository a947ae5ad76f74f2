/**
 * What a legacy child's answer needs to be a 2026-07-28 answer: every
 * result gets `resultType` and `_meta` serverInfo; list and read results
 * get caching hints; a -32002 (resource not found) becomes -32602. The
 * result's own text is kept: members are added, nothing is serialised
 * again.
 *
 * @module
 */

import { errorResponse } from "../../jsonrpc/message.ts";
import { memberRange } from "../../jsonrpc/json_scan.ts";
import { META } from "./era.ts";

/** Methods whose complete results carry `ttlMs` and `cacheScope`. */
export const CACHEABLE: ReadonlySet<string> = new Set([
  "server/discover",
  "tools/list",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
  "resources/read",
]);

/** Inserts `members` (a JSON text of `"k":v` pairs) first into an object. */
function insertInto(
  text: string,
  at: [number, number],
  members: string,
): string {
  const inner = text.slice(at[0] + 1, at[1] - 1).trim();
  return text.slice(0, at[0] + 1) + members + (inner === "" ? "" : ",") +
    text.slice(at[0] + 1);
}

/**
 * Stamps a child's successful response for a modern client.
 *
 * @param text The response, with the client's id.
 * @param method The request's method.
 * @param serverInfo The child's serverInfo, as JSON text.
 * @returns The stamped response (unchanged when it has no object result).
 */
export function stampResult(
  text: string,
  method: string,
  serverInfo: string,
): string {
  let out = text;
  const result = memberRange(out, ["result"]);
  if (result === undefined || out[result[0]] !== "{") return out;
  const add: string[] = [];
  if (memberRange(out, ["result", "resultType"]) === undefined) {
    add.push('"resultType":"complete"');
  }
  if (CACHEABLE.has(method)) {
    if (memberRange(out, ["result", "ttlMs"]) === undefined) {
      add.push('"ttlMs":0');
    }
    if (memberRange(out, ["result", "cacheScope"]) === undefined) {
      add.push('"cacheScope":"private"');
    }
  }
  const meta = memberRange(out, ["result", "_meta"]);
  const info = `${JSON.stringify(META.serverInfo)}:${serverInfo}`;
  if (meta === undefined) add.push(`"_meta":{${info}}`);
  else if (
    out[meta[0]] === "{" &&
    memberRange(out, ["result", "_meta", META.serverInfo]) === undefined
  ) {
    out = insertInto(out, meta, info);
  }
  if (add.length === 0) return out;
  const at = memberRange(out, ["result"])!;
  return insertInto(out, at, add.join(","));
}

/**
 * The error a modern client gets for a child's error response, and its
 * HTTP status: -32002 (resource not found, no longer allowed) becomes
 * -32602 with `data.uri`; -32601 is a 404; -32021 a 400; the rest 200.
 *
 * @param text The child's error response, with the client's id.
 * @param key The client's id, as written.
 * @param code The error code.
 * @param uri The resource URI of a `resources/read`.
 * @returns The response text and status.
 */
export function mapError(
  text: string,
  key: string,
  code: number,
  uri: string | undefined,
): { text: string; status: number } {
  if (code === -32002) {
    let message = "Resource not found";
    try {
      const parsed = JSON.parse(text)?.error?.message;
      if (typeof parsed === "string") message = parsed;
    } catch {
      // keep the default
    }
    return {
      text: errorResponse(
        key,
        -32602,
        message,
        uri === undefined ? undefined : { uri },
      ),
      status: 200,
    };
  }
  const status = code === -32601 ? 404 : code === -32021 ? 400 : 200;
  return { text, status };
}
