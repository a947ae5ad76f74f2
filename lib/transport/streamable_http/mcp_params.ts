/**
 * `Mcp-Param-{Name}` headers of a 2026-07-28 `tools/call`: a tool argument
 * whose schema property carries `x-mcp-header: "Name"` travels in that
 * header too, and the header must match the argument (present exactly when
 * the argument is present and not null; equal after decoding; integers
 * compared as numbers).
 *
 * @module
 */

import { decodeHeaderValue } from "./mcp_headers.ts";

/** One argument mirrored in a header. */
export interface HeaderParam {
  /** Property names from `arguments` down. */
  path: string[];
  /** The header's `{Name}`. */
  header: string;
  /** `string`, `integer` or `boolean`. */
  type: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const TYPES = new Set(["string", "integer", "boolean"]);

/**
 * The arguments of a tool that are mirrored in headers. Declarations that
 * break the rules (not a token, a duplicate name, another type) are
 * ignored.
 *
 * @param inputSchema The tool's input schema.
 * @returns The header parameters.
 */
export function headerParams(inputSchema: unknown): HeaderParam[] {
  const found: HeaderParam[] = [];
  const seen = new Set<string>();
  const walk = (schema: unknown, path: string[], depth: number) => {
    if (depth > 16 || typeof schema !== "object" || schema === null) return;
    const properties = (schema as { properties?: unknown }).properties;
    if (typeof properties !== "object" || properties === null) return;
    for (const [name, property] of Object.entries(properties)) {
      if (typeof property !== "object" || property === null) continue;
      const p = property as Record<string, unknown>;
      const header = p["x-mcp-header"];
      if (typeof header === "string") {
        const lower = header.toLowerCase();
        const type = typeof p.type === "string" ? p.type : "";
        if (TOKEN.test(header) && TYPES.has(type) && !seen.has(lower)) {
          seen.add(lower);
          found.push({ path: [...path, name], header, type });
        }
      }
      walk(p, [...path, name], depth + 1);
    }
  };
  walk(inputSchema, [], 0);
  return found;
}

/**
 * Why the `Mcp-Param-*` headers of a call do not match its arguments, if
 * they do not.
 *
 * @param headers The request headers.
 * @param args The call's `arguments`.
 * @param params The tool's header parameters.
 * @returns A one-line reason, or undefined.
 */
export function paramMismatch(
  headers: Headers,
  args: unknown,
  params: HeaderParam[],
): string | undefined {
  for (const param of params) {
    let value: unknown = args;
    for (const key of param.path) {
      value = typeof value === "object" && value !== null
        ? (value as Record<string, unknown>)[key]
        : undefined;
    }
    const name = `Mcp-Param-${param.header}`;
    const sent = headers.get(name);
    const present = value !== undefined && value !== null;
    if (!present) {
      if (sent !== null) return `${name} is sent, but its argument is absent`;
      continue;
    }
    if (sent === null) {
      return `${name} is required for argument ${param.path.join(".")}`;
    }
    const decoded = decodeHeaderValue(sent);
    if (decoded === undefined) return `${name} is not canonical Base64`;
    const equal = param.type === "integer"
      ? /^-?\d+$/.test(decoded) && Number(decoded) === value
      : param.type === "boolean"
      ? decoded === String(value)
      : decoded === value;
    if (!equal) {
      return `${name} does not match argument ${param.path.join(".")}`;
    }
  }
  return undefined;
}
