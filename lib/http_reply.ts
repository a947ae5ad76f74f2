/**
 * Small helpers for HTTP answers: JSON-RPC error bodies (never HTML) and a
 * request body reader with a size cap.
 *
 * @module
 */

import { concat } from "./_bytes.ts";
import { type CheckedMessage, checkFrame, ErrorCode } from "./jsonrpc.ts";
import type { Metrics } from "./metrics.ts";

/**
 * An HTTP error whose body is a JSON-RPC error with id null.
 *
 * @param status HTTP status.
 * @param message One line, starting with the status text.
 * @param headers Extra headers.
 * @param code JSON-RPC error code.
 * @returns The response.
 */
export function httpError(
  status: number,
  message: string,
  headers: Record<string, string> = {},
  code: number = ErrorCode.ServerError,
): Response {
  return Response.json({ jsonrpc: "2.0", id: null, error: { code, message } }, {
    status,
    headers,
  });
}

/**
 * The answer when a session's MCP server cannot be spawned.
 *
 * @param error What the spawn threw.
 * @returns A 500 with a JSON-RPC error body.
 */
export function cannotStart(error: unknown): Response {
  const detail = error instanceof Error ? error.message : String(error);
  return httpError(
    500,
    `Internal Server Error: cannot start MCP server: ${detail}`,
  );
}

/**
 * Reads a request body as text, refusing more than `maxBytes`.
 *
 * @param request The request.
 * @param maxBytes The cap.
 * @returns The text, or a 413 response.
 */
export async function readBody(
  request: Request,
  maxBytes: number,
): Promise<string | Response> {
  const tooLarge = () =>
    httpError(
      413,
      `Payload Too Large: the body is over the limit of ${maxBytes} bytes (--max-message-bytes)`,
    );
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await request.body?.cancel();
    return tooLarge();
  }
  if (!request.body) return "";
  let bytes: Uint8Array;
  if (request.headers.has("content-length")) {
    // The declared length is within the cap: one read, no stream reader.
    bytes = await request.bytes();
    if (bytes.length > maxBytes) return tooLarge();
  } else {
    const parts: Uint8Array[] = [];
    let length = 0;
    for await (const chunk of request.body) {
      length += chunk.length;
      if (length > maxBytes) return tooLarge(); // leaving the loop cancels the body
      parts.push(chunk);
    }
    bytes = concat(parts, length);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return httpError(
      400,
      "Bad Request: the body is not valid UTF-8",
      {},
      ErrorCode.ParseError,
    );
  }
}

/**
 * Whether an `Accept` header accepts a media type (`*` wildcards included).
 * A missing header accepts everything.
 *
 * @param accept The header value.
 * @param type The media type, such as `text/event-stream`.
 * @returns True when acceptable.
 */
export function accepts(accept: string | null, type: string): boolean {
  if (accept === null || accept.trim() === "") return true;
  const [major] = type.split("/");
  return accept.split(",").some((part) => {
    const [range = "", ...params] = part.trim().toLowerCase().split(";");
    if (params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p))) return false;
    return range === type || range === "*/*" || range === `${major}/*`;
  });
}

/** Headers of every SSE response. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

/** A POSTed JSON-RPC message (or batch) that parsed. */
export interface PostedMessage {
  /** The message, on one line, valid entries only. */
  text: string;
  /** What it contains. */
  messages: CheckedMessage[];
  /** Error responses owed for invalid batch entries. */
  errors: string[];
}

/**
 * Reads the JSON-RPC body of a POST: `415` unless it is `application/json`,
 * `413` over `maxBytes`, `400` with a JSON-RPC error when nothing in it is a
 * valid message.
 *
 * @param request The POST.
 * @param maxBytes The size cap.
 * @param metrics Counts a 413 as a size refusal.
 * @returns The checked message, or the error response.
 */
export async function readMessage(
  request: Request,
  maxBytes: number,
  metrics?: Metrics,
): Promise<PostedMessage | Response> {
  const contentType = (request.headers.get("content-type") ?? "").split(";")[0]!
    .trim().toLowerCase();
  if (contentType !== "application/json") {
    await request.body?.cancel();
    return httpError(
      415,
      `Unsupported Media Type: the body must be application/json, received "${contentType}"`,
    );
  }
  const body = await readBody(request, maxBytes);
  if (body instanceof Response) {
    if (body.status === 413) metrics?.refused("size");
    return body;
  }
  const check = checkFrame(body);
  if (!check.ok) {
    return Response.json(JSON.parse(check.errors[0]!), { status: 400 });
  }
  return check;
}
