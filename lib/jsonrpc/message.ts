/**
 * JSON-RPC 2.0 message checks for what crosses the runner, in both
 * directions, and the error responses the runner writes itself.
 *
 * @module
 */

import { arrayEntries, idSource } from "./json_scan.ts";

export { idsAtEdges } from "./json_scan.ts";

/** A JSON-RPC request id: a string or a number (never null in a request). */
export type JsonRpcId = string | number;

/** JSON-RPC error codes used by the runner. */
export const ErrorCode = {
  /** The text is not JSON. */
  ParseError: -32700,
  /** JSON, but not a JSON-RPC message. */
  InvalidRequest: -32600,
  /** The method is not served (here: a child request no client can take). */
  MethodNotFound: -32601,
  /** Invalid method parameters (an unknown log level). */
  InvalidParams: -32602,
  /** The runner could not get the request answered (child exited, limits). */
  ServerError: -32000,
} as const;

/** What kind of JSON-RPC message an object is. */
export type MessageKind = "request" | "notification" | "response";

/** One checked message of a frame or line. */
export interface CheckedMessage {
  /** Request, notification or response. */
  kind: MessageKind;
  /** The id, for requests and responses (null for some error responses). */
  id: JsonRpcId | null;
  /**
   * The id exactly as written (`1.0`, `-0`, `"a"` with its quotes), for
   * requests and responses with an id: the key of everything that pairs a
   * response with its request, and the id of the runner's own errors.
   */
  key?: string;
  /** The method, for requests and notifications. */
  method: string | undefined;
  /**
   * What a request acts on, for the access log: the tool or prompt name, or
   * the resource URI.
   */
  name?: string;
  /** The error code of an error response. */
  errorCode?: number;
  /** The entry's own text, for the entries of a batch. */
  text?: string;
  /**
   * The progress token: of a request (`params._meta.progressToken`) or of a
   * `notifications/progress` (`params.progressToken`).
   */
  progressToken?: JsonRpcId;
  /**
   * The parsed `params` of a request or notification, for the few methods
   * the runner itself acts on (shared children); never written back.
   */
  params?: unknown;
}

function progressTokenOf(
  message: Record<string, unknown>,
): JsonRpcId | undefined {
  const params = message.params;
  if (typeof params !== "object" || params === null) return undefined;
  const p = params as Record<string, unknown>;
  const token = message.method === "notifications/progress"
    ? p.progressToken
    : (typeof p._meta === "object" && p._meta !== null
      ? (p._meta as Record<string, unknown>).progressToken
      : undefined);
  return isId(token) ? token : undefined;
}

/** The result of {@linkcode checkFrame}. */
export type FrameCheck =
  | {
    /** Forward `text` (one line, no line breaks) to the child. */
    ok: true;
    text: string;
    /** The messages in it, in order. */
    messages: CheckedMessage[];
    /** Error responses owed to the sender for entries that were dropped. */
    errors: string[];
  }
  | {
    /** Nothing to forward; answer with `errors`. */
    ok: false;
    errors: string[];
  };

/** Batches with more invalid entries than this get one error in all. */
export const MAX_BATCH_ERRORS = 100;

/**
 * Serialises a JSON-RPC error response.
 *
 * @param key The request id as written in the request (see
 *   {@linkcode CheckedMessage.key}), or null when it is unknown.
 * @param code The error code.
 * @param message A one-line description.
 * @param data Optional extra data.
 * @returns The response as JSON text.
 */
export function errorResponse(
  key: string | null | undefined,
  code: number,
  message: string,
  data?: unknown,
): string {
  const error = data === undefined
    ? { code, message }
    : { code, message, data };
  return `{"jsonrpc":"2.0","id":${key ?? "null"},"error":${
    JSON.stringify(error)
  }}`;
}

/**
 * A key that tells ids apart by type and value (`42` and `"42"` differ, but
 * `1` and `1.0` do not): how a server that parses ids sees them.
 *
 * @param id The id.
 * @returns A string key.
 */
export function idKey(id: JsonRpcId): string {
  return typeof id === "number" ? `n${id}` : `s${id}`;
}

/**
 * The value-level key of an id written as `key` (see {@linkcode idKey}).
 *
 * @param key An id's source text.
 * @returns Its value-level key.
 */
export function valueKeyOf(key: string): string {
  return idKey(JSON.parse(key) as JsonRpcId);
}

function isId(value: unknown): value is JsonRpcId {
  return typeof value === "string" ||
    (typeof value === "number" && Number.isFinite(value));
}

/**
 * Classifies one parsed value as a JSON-RPC message.
 *
 * @param value A parsed JSON value.
 * @returns The message, or a reason why it is not one.
 */
export function classify(
  value: unknown,
): CheckedMessage | { invalid: string; id: JsonRpcId | null } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { invalid: "a JSON-RPC message must be an object", id: null };
  }
  const message = value as Record<string, unknown>;
  const rawId = message.id;
  const id = isId(rawId) ? rawId : null;
  if (message.jsonrpc !== "2.0") {
    return { invalid: 'a JSON-RPC message must have "jsonrpc": "2.0"', id };
  }
  if ("method" in message) {
    if (typeof message.method !== "string") {
      return { invalid: '"method" must be a string', id };
    }
    if (!("id" in message)) {
      const notification: CheckedMessage = {
        kind: "notification",
        id: null,
        method: message.method,
      };
      const token = progressTokenOf(message);
      if (token !== undefined) notification.progressToken = token;
      if (message.params !== undefined) notification.params = message.params;
      return notification;
    }
    if (!isId(rawId)) {
      return { invalid: "a request id must be a string or a number", id: null };
    }
    const checked: CheckedMessage = {
      kind: "request",
      id: rawId,
      method: message.method,
    };
    const token = progressTokenOf(message);
    if (token !== undefined) checked.progressToken = token;
    const name = nameOf(message);
    if (name !== undefined) checked.name = name;
    if (message.params !== undefined) checked.params = message.params;
    return checked;
  }
  if ("result" in message || "error" in message) {
    if (rawId !== null && !isId(rawId)) {
      return {
        invalid: "a response id must be a string, a number or null",
        id: null,
      };
    }
    const error = message.error;
    if (typeof error === "object" && error !== null) {
      const code = (error as Record<string, unknown>).code;
      if (typeof code === "number") {
        return { kind: "response", id, method: undefined, errorCode: code };
      }
    }
    return { kind: "response", id, method: undefined };
  }
  return {
    invalid: 'a JSON-RPC message needs "method", "result" or "error"',
    id,
  };
}

/** Longest name kept for the access log. */
const MAX_NAME_LENGTH = 200;

/** The tool or prompt name, or the resource URI, that a request acts on. */
function nameOf(message: Record<string, unknown>): string | undefined {
  const params = message.params;
  if (typeof params !== "object" || params === null) return undefined;
  const p = params as Record<string, unknown>;
  const name = typeof p.name === "string"
    ? p.name
    : (typeof p.uri === "string" ? p.uri : undefined);
  return name !== undefined && name.length > MAX_NAME_LENGTH
    ? name.slice(0, MAX_NAME_LENGTH) + "…"
    : name;
}

/** Adds the source text of the id to a checked message that has one. */
function withKey(checked: CheckedMessage, text: string): CheckedMessage {
  if (checked.id === null) return checked;
  // A string id's text is needed as written only in rare cases (escapes);
  // a number's always (1.0, -0, beyond 2^53).
  checked.key = typeof checked.id === "string" && !text.includes("\\")
    ? JSON.stringify(checked.id)
    : (idSource(text) ?? JSON.stringify(checked.id));
  return checked;
}

/** The id of an invalid message, as text for its error response. */
function invalidKey(id: JsonRpcId | null): string | null {
  return id === null ? null : JSON.stringify(id);
}

const NO_ERRORS: string[] = [];

/** Puts a JSON text on one line: line breaks between tokens become spaces. */
function oneLine(text: string): string {
  return text.includes("\n") || text.includes("\r")
    ? text.replace(/[\r\n]/g, " ")
    : text;
}

/**
 * Checks a client frame before it is written to the child.
 *
 * Invalid JSON is answered with a parse error (-32700, id null). JSON that is
 * not a JSON-RPC message is answered with -32600. In a batch, invalid entries
 * are answered and the valid ones forwarded, unless more than
 * {@linkcode MAX_BATCH_ERRORS} are invalid: then the whole batch is refused
 * with one -32600, so that the errors never outgrow the frame. Line breaks
 * between tokens are removed, so that a pretty-printed message stays one line
 * (a valid JSON text cannot hold a raw line break inside a string).
 *
 * @param text The frame's text.
 * @returns What to forward and what to answer.
 */
export function checkFrame(text: string): FrameCheck {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      errors: [
        errorResponse(null, ErrorCode.ParseError, `Parse error: ${detail}`),
      ],
    };
  }
  const line = oneLine(text);
  if (!Array.isArray(value)) {
    // The common case, one message: no batch bookkeeping.
    const checked = classify(value);
    if ("invalid" in checked) {
      return {
        ok: false,
        errors: [invalidRequest(checked)],
      };
    }
    return {
      ok: true,
      text: line,
      messages: [withKey(checked, line)],
      errors: NO_ERRORS,
    };
  }
  const entries = value;
  if (entries.length === 0) {
    return {
      ok: false,
      errors: [
        errorResponse(
          null,
          ErrorCode.InvalidRequest,
          "Invalid Request: empty batch",
        ),
      ],
    };
  }
  const messages: CheckedMessage[] = [];
  const at: number[] = [];
  const invalid: { invalid: string; id: JsonRpcId | null }[] = [];
  let invalidCount = 0;
  for (const [i, entry] of entries.entries()) {
    const checked = classify(entry);
    if ("invalid" in checked) {
      // Only the errors that will be sent are kept.
      if (++invalidCount <= MAX_BATCH_ERRORS) invalid.push(checked);
      continue;
    }
    messages.push(checked);
    at.push(i);
  }
  if (invalidCount > MAX_BATCH_ERRORS) {
    return {
      ok: false,
      errors: [
        errorResponse(
          null,
          ErrorCode.InvalidRequest,
          `Invalid Request: ${invalidCount} of the batch's ${entries.length} entries are invalid (more than ${MAX_BATCH_ERRORS}); nothing was forwarded`,
        ),
      ],
    };
  }
  const errors = invalid.map(invalidRequest);
  if (messages.length === 0) return { ok: false, errors };
  // The entries' texts only once the batch is known to be forwarded.
  const texts = arrayEntries(line);
  for (const [n, checked] of messages.entries()) {
    const entryText = texts[at[n]!]!;
    withKey(checked, entryText).text = entryText;
  }
  return {
    ok: true,
    text: errors.length === 0 ? line : joinBatch(messages),
    messages,
    errors,
  };
}

/**
 * The text of a batch made of the given entries (each with its `text`).
 *
 * @param messages Batch entries, as checked.
 * @returns The batch, one line.
 */
export function joinBatch(messages: CheckedMessage[]): string {
  return `[${messages.map((m) => m.text!).join(",")}]`;
}

function invalidRequest(
  checked: { invalid: string; id: JsonRpcId | null },
): string {
  return errorResponse(
    invalidKey(checked.id),
    ErrorCode.InvalidRequest,
    `Invalid Request: ${checked.invalid}`,
  );
}

/**
 * Checks a line from the child before it is sent to a client.
 *
 * @param text The line, without its line break.
 * @returns The messages in it (batch entries with their own `text`), or
 *   `undefined` when the line is not JSON-RPC.
 */
export function checkChildLine(text: string): CheckedMessage[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) {
    const checked = classify(value);
    return "invalid" in checked ? undefined : [withKey(checked, text)];
  }
  if (value.length === 0) return undefined;
  const texts = arrayEntries(text);
  const messages: CheckedMessage[] = [];
  for (const [i, entry] of value.entries()) {
    const checked = classify(entry);
    if ("invalid" in checked) return undefined;
    const entryText = texts[i]!;
    withKey(checked, entryText).text = entryText;
    messages.push(checked);
  }
  return messages;
}
