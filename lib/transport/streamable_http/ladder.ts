/**
 * The checks of a 2026-07-28 request before its method is looked at, in the
 * order the revision sets: envelope (400 -32602), `MCP-Protocol-Version`
 * against the envelope (400 -32020), a supported version (400 -32022),
 * `Mcp-Method` and `Mcp-Name` (400 -32020). Each refusal echoes the
 * request's id.
 *
 * @module
 */

import { ErrorCode, errorResponse } from "../../jsonrpc/message.ts";
import type { CheckedMessage } from "../../jsonrpc/message.ts";
import { levelRank } from "../../session/shared/levels.ts";
import { META, MODERN_VERSIONS } from "./era.ts";
import { headerMismatch } from "./mcp_headers.ts";
import { reply } from "./answer.ts";

/** Error codes of the 2026-07-28 revision. */
export const ModernError = {
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
  InternalError: -32603,
} as const;

/**
 * The refusal of a modern request that fails a check, if it fails one.
 *
 * @param request The HTTP request (its headers).
 * @param message The checked message.
 * @param meta Its `params._meta`.
 * @returns The refusal, or undefined when every check passes.
 */
export function ladderRefusal(
  request: Request,
  message: CheckedMessage,
  meta: Record<string, unknown>,
): Response | undefined {
  const key = message.key!;
  const version = meta[META.protocolVersion];
  const capabilities = meta[META.clientCapabilities];
  const info = meta[META.clientInfo];
  const level = meta[META.logLevel];
  let invalid: string | undefined;
  if (typeof version !== "string") {
    invalid = `_meta["${META.protocolVersion}"] must be a string`;
  } else if (!isObject(capabilities)) {
    invalid = `_meta["${META.clientCapabilities}"] is required (an object)`;
  } else if (info !== undefined && !isObject(info)) {
    invalid = `_meta["${META.clientInfo}"] must be an object`;
  } else if (level !== undefined && levelRank(level) < 0) {
    invalid = `_meta["${META.logLevel}"] must be a log level`;
  }
  if (invalid !== undefined) {
    return reply(
      errorResponse(
        key,
        ErrorCode.InvalidParams,
        `Invalid params: ${invalid}`,
      ),
      400,
    );
  }
  const header = request.headers.get("mcp-protocol-version")?.trim();
  if (header !== version) {
    return reply(
      errorResponse(
        key,
        ModernError.HeaderMismatch,
        header === undefined
          ? "The MCP-Protocol-Version header is required"
          : `MCP-Protocol-Version header (${header}) does not match _meta protocolVersion (${version})`,
      ),
      400,
    );
  }
  if (!MODERN_VERSIONS.includes(version as string)) {
    return reply(
      errorResponse(
        key,
        ModernError.UnsupportedProtocolVersion,
        "Unsupported protocol version",
        { supported: MODERN_VERSIONS, requested: version },
      ),
      400,
    );
  }
  const params = (message.params ?? {}) as Record<string, unknown>;
  const mismatch = headerMismatch(request.headers, message.method!, params);
  return mismatch === undefined ? undefined : headerRefusal(key, mismatch);
}

/**
 * The 400 -32020 for headers that do not match the body.
 *
 * @param key The request's id, as written.
 * @param mismatch What does not match.
 * @returns The refusal.
 */
export function headerRefusal(key: string, mismatch: string): Response {
  return reply(
    errorResponse(
      key,
      ModernError.HeaderMismatch,
      `Header mismatch: ${mismatch}`,
    ),
    400,
  );
}

/**
 * Whether a value is a JSON object (not null, not an array).
 *
 * @param value Any value.
 * @returns Whether it is an object.
 */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
