/**
 * The standard request headers of a 2026-07-28 request (`Mcp-Method`,
 * `Mcp-Name`), checked against its body: values are trimmed of optional
 * whitespace, and `=?base64?…?=` values decoded (canonical Base64 of UTF-8
 * only) before they are compared.
 *
 * @module
 */

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

/**
 * Decodes a header value: as it is, or the text of a Base64 sentinel.
 *
 * @param raw The header value.
 * @returns The value, or undefined when a sentinel is not canonical Base64
 *   of UTF-8.
 */
export function decodeHeaderValue(raw: string): string | undefined {
  const value = raw.trim();
  if (!value.startsWith("=?base64?") || !value.endsWith("?=")) return value;
  const match = SENTINEL.exec(value);
  if (match === null || match[1]!.length % 4 !== 0) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(match[1]!), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  // Canonical only: encoding the bytes again gives the same text.
  if (btoa(String.fromCharCode(...bytes)) !== match[1]) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** The methods whose `Mcp-Name` header names `params.name` or `params.uri`. */
const NAMED: Record<string, "name" | "uri"> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
};

/**
 * Why a request's standard headers do not match its body, if they do not.
 *
 * @param headers The request headers.
 * @param method The body's method.
 * @param params The body's params.
 * @returns A one-line reason, or undefined when they match.
 */
export function headerMismatch(
  headers: Headers,
  method: string,
  params: Record<string, unknown>,
): string | undefined {
  const sent = headers.get("mcp-method");
  if (sent === null) return "the Mcp-Method header is required";
  const decoded = decodeHeaderValue(sent);
  if (decoded !== method) {
    return `the Mcp-Method header (${sent.trim()}) does not match the method (${method})`;
  }
  const member = NAMED[method];
  if (member === undefined) return undefined;
  const want = params[member];
  const name = headers.get("mcp-name");
  if (name === null) return `the Mcp-Name header is required for ${method}`;
  const value = decodeHeaderValue(name);
  if (value === undefined) {
    return "the Mcp-Name header is not canonical Base64 inside =?base64?…?=";
  }
  if (value !== want) {
    return `the Mcp-Name header does not match params.${member}`;
  }
  return undefined;
}
