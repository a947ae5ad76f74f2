/**
 * Small helpers for HTTP answers: JSON-RPC error bodies (never HTML) and a
 * request body reader with a size cap.
 *
 * @module
 */

import { concat } from "../util/bytes.ts";
import type { BodyBudget } from "./body_budget.ts";
import {
  type CheckedMessage,
  checkFrame,
  ErrorCode,
} from "../jsonrpc/message.ts";
import type { Metrics } from "../observe/metrics.ts";

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
  const response = Response.json({
    jsonrpc: "2.0",
    id: null,
    error: { code, message },
  }, {
    status,
    headers,
  });
  reasons.set(response, message);
  return response;
}

/** The message of every error response made by {@linkcode httpError}. */
const reasons = new WeakMap<Response, string>();

/**
 * The message an error response was made with, for the log (no body is
 * read back).
 *
 * @param response A response.
 * @returns Its message, or undefined when it was not made by `httpError`.
 */
export function reasonOf(response: Response): string | undefined {
  return reasons.get(response);
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

/** Limits on reading a request body. */
export interface BodyLimits {
  /** The largest body, in bytes (`--max-message-bytes`). */
  maxBytes: number;
  /** Shared by every body being read; beyond it, 503. */
  budget?: BodyBudget | undefined;
  /** Counts a 413 as a size refusal. */
  metrics?: Metrics | undefined;
}

function tooLarge(maxBytes: number): Response {
  return httpError(
    413,
    `Payload Too Large: the body is over the limit of ${maxBytes} bytes (--max-message-bytes)`,
  );
}

function overBudget(): Response {
  return httpError(
    503,
    "Service Unavailable: too many request bodies are being read at once; retry later",
    { "retry-after": "1" },
  );
}

/**
 * Refuses a body by its declared length before anything is read.
 *
 * @param request The request.
 * @param maxBytes The cap.
 * @returns A 413 response, or undefined when the length is acceptable.
 */
export async function declaredTooLarge(
  request: Request,
  maxBytes: number,
): Promise<Response | undefined> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (!(declared > maxBytes)) return undefined;
  await request.body?.cancel();
  return tooLarge(maxBytes);
}

/**
 * Reads a request body as text, refusing more than `maxBytes`, and more
 * than the budget has room for.
 *
 * @param request The request.
 * @param limits The cap and the shared budget.
 * @returns The text, or a 400, 413 or 503 response.
 */
export async function readBody(
  request: Request,
  limits: BodyLimits,
): Promise<string | Response> {
  const { maxBytes, budget } = limits;
  const refused = await declaredTooLarge(request, maxBytes);
  if (refused) return refused;
  if (!request.body) return "";
  let reserved = 0;
  const reserve = (bytes: number) => {
    if (budget === undefined) return true;
    if (!budget.reserve(bytes)) return false;
    reserved += bytes;
    return true;
  };
  try {
    let bytes: Uint8Array;
    const declared = request.headers.get("content-length");
    if (declared !== null) {
      // The declared length is within the cap: reserved whole, one read.
      if (!reserve(Number(declared))) {
        await request.body.cancel();
        return overBudget();
      }
      bytes = await request.bytes();
      if (bytes.length > maxBytes) return tooLarge(maxBytes);
    } else {
      const parts: Uint8Array[] = [];
      let length = 0;
      for await (const chunk of request.body) {
        length += chunk.length;
        // Leaving the loop cancels the body.
        if (length > maxBytes) return tooLarge(maxBytes);
        if (!reserve(chunk.length)) return overBudget();
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
  } catch (error) {
    // The client went away mid-body, or sent a broken chunked encoding.
    return httpError(
      400,
      `Bad Request: cannot read the request body: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  } finally {
    budget?.release(reserved);
  }
}

/**
 * Whether the request declares a JSON body (`application/json`).
 *
 * @param request The request.
 * @returns A 415 response when it does not, else undefined.
 */
export async function notJson(request: Request): Promise<Response | undefined> {
  const contentType = (request.headers.get("content-type") ?? "").split(";")[0]!
    .trim().toLowerCase();
  if (contentType === "application/json") return undefined;
  await request.body?.cancel();
  return httpError(
    415,
    `Unsupported Media Type: the body must be application/json, received "${contentType}"`,
  );
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
 * `413` over `maxBytes`, `503` when the body budget is spent, `400` with a
 * JSON-RPC error when nothing in it is a valid message.
 *
 * @param request The POST.
 * @param limits The size cap, the shared budget, and where refusals count.
 * @returns The checked message, or the error response.
 */
export async function readMessage(
  request: Request,
  limits: BodyLimits,
): Promise<PostedMessage | Response> {
  const refused = await notJson(request);
  if (refused) return refused;
  const body = await readBody(request, limits);
  if (body instanceof Response) {
    if (body.status === 413) limits.metrics?.refused("size");
    return body;
  }
  const check = checkFrame(body);
  if (!check.ok) {
    return new Response(check.errors[0]!, {
      status: 400,
      headers: { "content-type": "application/json" },
    });
  }
  return check;
}
