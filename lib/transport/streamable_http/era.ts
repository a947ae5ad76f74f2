/**
 * MCP 2026-07-28 ("modern") requests on `/mcp`, told apart from the
 * session-based revisions by their body: a request whose
 * `params._meta` names a protocol version is modern; anything else takes
 * the session path. A modern `MCP-Protocol-Version` header on a request
 * without that envelope is a malformed modern request.
 *
 * @module
 */

import type { CheckedMessage } from "../../jsonrpc/message.ts";

/** The modern revision this runner serves. */
export const MODERN_VERSION = "2026-07-28";

/** Modern revisions served, for `server/discover` and -32022. */
export const MODERN_VERSIONS: readonly string[] = [MODERN_VERSION];

/** The `_meta` keys of a modern request. */
export const META = {
  protocolVersion: "io.modelcontextprotocol/protocolVersion",
  clientCapabilities: "io.modelcontextprotocol/clientCapabilities",
  clientInfo: "io.modelcontextprotocol/clientInfo",
  logLevel: "io.modelcontextprotocol/logLevel",
  serverInfo: "io.modelcontextprotocol/serverInfo",
  subscriptionId: "io.modelcontextprotocol/subscriptionId",
} as const;

/**
 * Whether a version string belongs to the modern era: revisions sort as
 * dates, and anything at or after 2026-07-28 (or not a date at all, such
 * as `v999.0.0`) is modern.
 *
 * @param version A protocol version.
 * @returns Whether it is modern.
 */
export function isModernVersion(version: string): boolean {
  return version >= MODERN_VERSION;
}

/** How a POST body is served. */
export type Era =
  | { era: "legacy" }
  | { era: "modern"; message: CheckedMessage; meta: Record<string, unknown> }
  | { era: "malformed"; key: string | null; code: number; message: string };

/** The `_meta` of a message, when it is an object. */
function metaOf(message: CheckedMessage): Record<string, unknown> | undefined {
  const params = message.params;
  if (typeof params !== "object" || params === null) return undefined;
  const meta = (params as Record<string, unknown>)._meta;
  return typeof meta === "object" && meta !== null && !Array.isArray(meta)
    ? meta as Record<string, unknown>
    : undefined;
}

/**
 * Classifies a checked POST body.
 *
 * @param messages The body's messages.
 * @param headerVersion The `MCP-Protocol-Version` header, trimmed, or null.
 * @returns The era, or why the body is a malformed modern request.
 */
export function classify(
  messages: CheckedMessage[],
  headerVersion: string | null,
): Era {
  const claims = messages.map((m) => {
    const meta = metaOf(m);
    return meta !== undefined && META.protocolVersion in meta
      ? meta
      : undefined;
  });
  if (messages.length > 1) {
    return claims.some((c) => c !== undefined)
      ? {
        era: "malformed",
        key: null,
        code: -32600,
        message:
          "Invalid Request: a batch cannot carry 2026-07-28 requests (each is its own POST)",
      }
      : { era: "legacy" };
  }
  const message = messages[0]!;
  if (message.kind === "response") return { era: "legacy" };
  const meta = claims[0];
  if (meta !== undefined) return { era: "modern", message, meta };
  if (headerVersion !== null && isModernVersion(headerVersion)) {
    return {
      era: "malformed",
      key: message.key ?? null,
      code: -32602,
      message:
        `Invalid params: MCP-Protocol-Version ${headerVersion} needs params._meta["${META.protocolVersion}"] and ["${META.clientCapabilities}"]`,
    };
  }
  return { era: "legacy" };
}
