/**
 * HTTP helpers shared by the tests of the HTTP transports: an SSE reader
 * with timeouts, and POST/GET/DELETE helpers for a runner's `/mcp`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { processAlive, type RunningRunner } from "./_helpers.ts";

// ---------------------------------------------------------------------------
// SSE reader
// ---------------------------------------------------------------------------

/** One parsed SSE block (an event, or a block of fields without data). */
export interface SseEvent {
  /** The `event:` field, if any. */
  event?: string;
  /** The `id:` field, if any. */
  id?: string;
  /** The `data:` lines joined by "\n", if any `data:` line was present. */
  data?: string;
  /** The `retry:` field, if any and numeric. */
  retry?: number;
}

/**
 * Reads SSE blocks from a response body, with timeouts. A read that times out
 * stays pending and is reused by the next call, so no chunk is lost.
 */
export class SseReader implements AsyncDisposable {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #decoder = new TextDecoder();
  #buffer = "";
  #ended = false;
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  /**
   * Checks that a response is an SSE stream and reads its body.
   *
   * @param response The response.
   * @returns The reader.
   */
  static of(response: Response): SseReader {
    assert.equal(
      response.headers.get("content-type")?.split(";")[0],
      "text/event-stream",
    );
    assert.ok(response.body, "an SSE response has a body");
    return new SseReader(response.body);
  }

  /**
   * The next block that has at least one field (comments are skipped).
   *
   * @param timeoutMs Give up after this long.
   * @returns The block, or undefined at the end of the stream.
   */
  async next(timeoutMs = 5000): Promise<SseEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const block = this.#takeBlock();
      if (block) return block;
      if (this.#ended) return undefined;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`Cannot read: no SSE event within ${timeoutMs} ms`);
      }
      this.#pending ??= this.#reader.read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const result = await Promise.race([
        this.#pending,
        new Promise<"timeout">((resolve) =>
          timer = setTimeout(() => resolve("timeout"), remaining)
        ),
      ]);
      clearTimeout(timer);
      if (result === "timeout") continue;
      this.#pending = undefined;
      if (result.done) {
        this.#buffer += this.#decoder.decode();
        this.#ended = true;
      } else {
        this.#buffer += this.#decoder.decode(result.value, { stream: true });
      }
    }
  }

  /**
   * The next event that carries non-empty data, parsed as JSON (priming
   * events and field-only blocks are skipped).
   *
   * @param timeoutMs Give up after this long.
   * @returns The event and its parsed data.
   */
  async message(
    timeoutMs = 5000,
  ): Promise<{ event: SseEvent; json: Record<string, unknown> }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const event = await this.next(Math.max(deadline - Date.now(), 1));
      if (!event) throw new Error("Cannot read: the SSE stream ended");
      if (event.data === undefined || event.data === "") continue;
      return { event, json: JSON.parse(event.data) };
    }
  }

  /**
   * Events with data that arrive within `ms` (expects no end of stream).
   *
   * @param ms How long to listen.
   * @returns What arrived.
   */
  async quiet(ms: number): Promise<SseEvent[]> {
    const seen: SseEvent[] = [];
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      let event: SseEvent | undefined;
      try {
        event = await this.next(Math.max(deadline - Date.now(), 1));
      } catch {
        break; // timeout: quiet
      }
      if (!event) break;
      if (event.data !== undefined && event.data !== "") seen.push(event);
    }
    return seen;
  }

  /**
   * Reads until the stream ends.
   *
   * @param timeoutMs Give up after this long.
   * @returns The remaining blocks.
   */
  async rest(timeoutMs = 5000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    const events: SseEvent[] = [];
    for (let i = 0; i < 10_000; i++) {
      const event = await this.next(Math.max(deadline - Date.now(), 1));
      if (!event) return events;
      events.push(event);
    }
    throw new Error("Cannot read: too many events");
  }

  /** Cancels the body (closes the connection). */
  async cancel(): Promise<void> {
    if (!this.#ended) {
      this.#ended = true;
      await this.#reader.cancel();
    }
    await this.#pending?.catch(() => {});
    this.#pending = undefined;
    this.#reader.releaseLock();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.cancel();
    } catch {
      // already released
    }
  }

  #takeBlock(): SseEvent | undefined {
    for (let guard = 0; guard < 10_000; guard++) {
      // Normalise line ends; a trailing CR may be half of a CRLF.
      const text = this.#buffer.replace(/\r\n/g, "\n");
      const usable = !this.#ended && text.endsWith("\r")
        ? text.slice(0, -1)
        : text;
      const normalized = usable.replace(/\r/g, "\n");
      const end = normalized.indexOf("\n\n");
      if (end === -1) return undefined;
      const block = normalized.slice(0, end);
      this.#buffer = normalized.slice(end + 2) + text.slice(usable.length);
      const event: SseEvent = {};
      let fields = 0;
      for (const line of block.split("\n")) {
        if (line === "" || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        fields++;
        if (field === "data") {
          event.data = event.data === undefined
            ? value
            : `${event.data}\n${value}`;
        } else if (field === "event") event.event = value;
        else if (field === "id") event.id = value;
        else if (field === "retry" && /^\d+$/.test(value)) {
          event.retry = Number(value);
        }
      }
      if (fields > 0) return event;
    }
    throw new Error("Cannot parse: too many empty blocks");
  }
}

// ---------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------

export const BOTH = "application/json, text/event-stream";
export const JSON_ONLY = "application/json";

export type Json = Record<string, unknown>;

export function request(
  id: string | number,
  method: string,
  params?: unknown,
): Json {
  return {
    jsonrpc: "2.0",
    id,
    method,
    ...(params === undefined ? {} : { params }),
  };
}

export function initializeRequest(id: string | number = 0): Json {
  return request(id, "initialize", {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "http-test", version: "1.0.0" },
  });
}

export interface PostOptions {
  session?: string;
  accept?: string;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** POSTs a message (a value is sent as JSON, a string as is) to /mcp. */
export function post(
  runner: RunningRunner,
  body: unknown,
  options: PostOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? "application/json",
    accept: options.accept ?? BOTH,
    ...options.headers,
  };
  if (options.session !== undefined) {
    headers["mcp-session-id"] = options.session;
  }
  return fetch(`${runner.httpUrl}/mcp`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** Sends initialize in JSON mode and returns the session id. */
export async function initialize(
  runner: RunningRunner,
  headers: Record<string, string> = {},
): Promise<string> {
  const response = await post(runner, initializeRequest(), {
    accept: JSON_ONLY,
    headers,
  });
  assert.equal(response.status, 200, await response.clone().text());
  const body = await response.json();
  assert.equal(body.id, 0);
  const session = response.headers.get("mcp-session-id");
  assert.ok(session, "initialize returns Mcp-Session-Id");
  return session;
}

/** Sends one request in JSON mode on a session and returns the response. */
export async function call(
  runner: RunningRunner,
  session: string,
  id: string | number,
  method: string,
  params?: unknown,
): Promise<Json> {
  const response = await post(runner, request(id, method, params), {
    session,
    accept: JSON_ONLY,
    headers: { "mcp-protocol-version": "2025-11-25" },
  });
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(response.headers.get("content-type"), "application/json");
  return await response.json();
}

/** The pid of a session's child. */
export async function childPid(
  runner: RunningRunner,
  session: string,
): Promise<number> {
  const reply = await call(runner, session, "pids", "fixture/pids");
  const pid = (reply.result as { pid: number }).pid;
  assert.ok(processAlive(pid));
  return pid;
}

/** Reads an error response: status, JSON body, and a JSON content type. */
export async function expectError(
  response: Response,
  status: number,
): Promise<{ code: number; message: string }> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.equal(
    response.headers.get("content-type")?.split(";")[0],
    "application/json",
    `an error body is JSON, never HTML: ${text}`,
  );
  const body = JSON.parse(text);
  assert.equal(body.jsonrpc, "2.0");
  assert.equal(body.id, null);
  assert.equal(typeof body.error.code, "number");
  assert.equal(typeof body.error.message, "string");
  return body.error;
}

/** Opens the standalone GET stream of a session. */
export async function openGet(
  runner: RunningRunner,
  session: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return await fetch(`${runner.httpUrl}/mcp`, {
    headers: {
      accept: "text/event-stream",
      "mcp-session-id": session,
      "mcp-protocol-version": "2025-11-25",
      ...headers,
    },
  });
}

/** DELETEs a session, expecting 200. */
export async function deleteSession(
  runner: RunningRunner,
  session: string,
): Promise<void> {
  const response = await fetch(`${runner.httpUrl}/mcp`, {
    method: "DELETE",
    headers: { "mcp-session-id": session },
  });
  await response.body?.cancel();
  assert.equal(response.status, 200);
}

/** A response read over raw TCP. */
export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * Sends a hand-written HTTP/1.1 request over TCP (fetch rewrites `Host`).
 * Reads the head, then the body by content-length or chunked; after a 101
 * answer the WebSocket is closed with a close frame.
 */
export async function rawHttp(
  port: number,
  head: string[],
  body = "",
  timeoutMs = 5000,
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // closed
    }
  }, timeoutMs);
  const encoder = new TextEncoder();
  const lines = [...head];
  if (body !== "") lines.push(`Content-Length: ${encoder.encode(body).length}`);
  const text = `${lines.join("\r\n")}\r\n\r\n${body}`;
  let received = new Uint8Array(0);
  const decoder = new TextDecoder();
  try {
    await conn.write(encoder.encode(text));
    const chunk = new Uint8Array(16 * 1024);
    let headEnd = -1;
    let status = 0;
    let headers = new Headers();
    for (let i = 0; i < 10_000; i++) {
      if (headEnd === -1) {
        const asText = decoder.decode(received);
        const at = asText.indexOf("\r\n\r\n");
        if (at !== -1) {
          headEnd = encoder.encode(asText.slice(0, at + 4)).length;
          const [statusLine = "", ...headerLines] = asText.slice(0, at).split(
            "\r\n",
          );
          status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
          headers = new Headers(
            headerLines.map((line) => {
              const colon = line.indexOf(":");
              return [
                line.slice(0, colon).trim(),
                line.slice(colon + 1).trim(),
              ];
            }),
          );
          if (status === 101) {
            // Close the WebSocket cleanly (a masked close frame, code 1000)
            // and wait for the server to end the connection.
            await conn.write(
              new Uint8Array([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2]),
            );
            for (let j = 0; j < 1000; j++) {
              if (await conn.read(chunk) === null) break;
            }
            return { status, headers, body: "" };
          }
        }
      }
      if (headEnd !== -1) {
        const rest = received.subarray(headEnd);
        const length = headers.get("content-length");
        if (length !== null && rest.length >= Number(length)) {
          return {
            status,
            headers,
            body: decoder.decode(rest.subarray(0, Number(length))),
          };
        }
        if (
          headers.get("transfer-encoding")?.includes("chunked") &&
          decoder.decode(rest).includes("\r\n0\r\n\r\n")
        ) {
          return { status, headers, body: dechunk(decoder.decode(rest)) };
        }
      }
      const n = await conn.read(chunk);
      if (n === null) {
        if (headEnd === -1) throw new Error("Cannot read: connection closed");
        return {
          status,
          headers,
          body: decoder.decode(received.subarray(headEnd)),
        };
      }
      const next = new Uint8Array(received.length + n);
      next.set(received);
      next.set(chunk.subarray(0, n), received.length);
      received = next;
    }
    throw new Error("Cannot read: too many reads");
  } catch (error) {
    if (timedOut) {
      throw new Error(
        `Cannot read: no complete response within ${timeoutMs} ms: ${
          JSON.stringify(decoder.decode(received))
        }`,
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
    if (!timedOut) conn.close();
  }
}

function dechunk(text: string): string {
  let out = "";
  let rest = text;
  for (let i = 0; i < 10_000; i++) {
    const lineEnd = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
  return out;
}
