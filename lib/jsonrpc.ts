/**
 * JSON-RPC 2.0 message checks for what crosses the runner, in both
 * directions, and the error responses the runner writes itself.
 *
 * @module
 */

/** A JSON-RPC request id: a string or a number (never null in a request). */
export type JsonRpcId = string | number;

/** JSON-RPC error codes used by the runner. */
export const ErrorCode = {
  /** The text is not JSON. */
  ParseError: -32700,
  /** JSON, but not a JSON-RPC message. */
  InvalidRequest: -32600,
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
  /** The method, for requests and notifications. */
  method: string | undefined;
  /**
   * The progress token: of a request (`params._meta.progressToken`) or of a
   * `notifications/progress` (`params.progressToken`).
   */
  progressToken?: JsonRpcId;
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

/**
 * Serialises a JSON-RPC error response.
 *
 * @param id The request id (null when it is unknown).
 * @param code The error code.
 * @param message A one-line description.
 * @param data Optional extra data.
 * @returns The response as JSON text.
 */
export function errorResponse(
  id: JsonRpcId | null,
  code: number,
  message: string,
  data?: unknown,
): string {
  const error = data === undefined
    ? { code, message }
    : { code, message, data };
  return JSON.stringify({ jsonrpc: "2.0", id, error });
}

/**
 * A key that tells ids apart by type as well as value (`42` and `"42"`
 * differ).
 *
 * @param id The id.
 * @returns A string key.
 */
export function idKey(id: JsonRpcId): string {
  return typeof id === "number" ? `n${id}` : `s${id}`;
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
      const token = progressTokenOf(message);
      return token === undefined
        ? { kind: "notification", id: null, method: message.method }
        : {
          kind: "notification",
          id: null,
          method: message.method,
          progressToken: token,
        };
    }
    if (!isId(rawId)) {
      return { invalid: "a request id must be a string or a number", id: null };
    }
    const token = progressTokenOf(message);
    return token === undefined
      ? { kind: "request", id: rawId, method: message.method }
      : {
        kind: "request",
        id: rawId,
        method: message.method,
        progressToken: token,
      };
  }
  if ("result" in message || "error" in message) {
    if (rawId !== null && !isId(rawId)) {
      return {
        invalid: "a response id must be a string, a number or null",
        id: null,
      };
    }
    return { kind: "response", id, method: undefined };
  }
  return {
    invalid: 'a JSON-RPC message needs "method", "result" or "error"',
    id,
  };
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
 * are answered and the valid ones forwarded. Line breaks between tokens are
 * removed, so that a pretty-printed message stays one line (a valid JSON text
 * cannot hold a raw line break inside a string).
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
  if (!Array.isArray(value)) {
    // The common case, one message: no batch bookkeeping.
    const checked = classify(value);
    if ("invalid" in checked) {
      return {
        ok: false,
        errors: [
          errorResponse(
            checked.id,
            ErrorCode.InvalidRequest,
            `Invalid Request: ${checked.invalid}`,
          ),
        ],
      };
    }
    return {
      ok: true,
      text: oneLine(text),
      messages: [checked],
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
  const valid: unknown[] = [];
  const errors: string[] = [];
  for (const entry of entries) {
    const checked = classify(entry);
    if ("invalid" in checked) {
      errors.push(
        errorResponse(
          checked.id,
          ErrorCode.InvalidRequest,
          `Invalid Request: ${checked.invalid}`,
        ),
      );
    } else {
      messages.push(checked);
      valid.push(entry);
    }
  }
  if (messages.length === 0) return { ok: false, errors };
  let line: string;
  if (errors.length === 0) {
    line = oneLine(text);
  } else {
    line = JSON.stringify(valid);
  }
  return { ok: true, text: line, messages, errors };
}

/**
 * Checks a line from the child before it is sent to a client.
 *
 * @param text The line, without its line break.
 * @returns The messages in it, or `undefined` when the line is not JSON-RPC.
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
    return "invalid" in checked ? undefined : [checked];
  }
  if (value.length === 0) return undefined;
  const messages: CheckedMessage[] = [];
  for (const entry of value) {
    const checked = classify(entry);
    if ("invalid" in checked) return undefined;
    messages.push(checked);
  }
  return messages;
}

const ID_VALUE = String
  .raw`(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"(?:[^"\\]|\\.)*")`;
const HEAD_ID = new RegExp(
  String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*` + ID_VALUE,
);
const TAIL_ID = new RegExp(
  String.raw`"id"\s*:\s*` + ID_VALUE + String.raw`\s*\}\s*$`,
);

/**
 * Tries to read the id of a message from the edges of its text, for a message
 * too large to be parsed. Only ids written first (optionally after
 * `"jsonrpc"`) or last in the top-level object are recognised.
 *
 * @param head The first bytes of the message.
 * @param tail The last bytes of the message.
 * @returns The candidate ids found (at most two).
 */
export function idsAtEdges(head: string, tail: string): JsonRpcId[] {
  const found: JsonRpcId[] = [];
  for (const match of [HEAD_ID.exec(head), TAIL_ID.exec(tail)]) {
    if (!match?.[1]) continue;
    try {
      const id = JSON.parse(match[1]);
      if (isId(id)) found.push(id);
    } catch {
      // not a complete id: ignore
    }
  }
  return found;
}
