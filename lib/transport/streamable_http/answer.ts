/**
 * The HTTP answer of one 2026-07-28 request: JSON, or an SSE stream (no
 * event ids) once a notification of that request (progress, a log message)
 * comes before its result.
 *
 * @module
 */

const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

const encoder = new TextEncoder();

/**
 * A JSON answer.
 *
 * @param text The body.
 * @param status The HTTP status.
 * @param headers More headers.
 * @returns The response.
 */
export function reply(
  text: string,
  status: number,
  headers: Record<string, string> = {},
): Response {
  return new Response(text, {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** One request's answer, JSON until a notification makes it a stream. */
export class Answer {
  /** The response, once decided. */
  readonly response: Promise<Response>;
  #resolve: (response: Response) => void;
  #sse: ReadableStreamDefaultController<Uint8Array> | undefined;
  #streams: boolean;

  /** @param accept The request's `Accept` header. */
  constructor(accept: string | null) {
    const { promise, resolve } = Promise.withResolvers<Response>();
    this.response = promise;
    this.#resolve = resolve;
    this.#streams = accept !== null &&
      /\btext\/event-stream\b|\*\/\*/.test(accept);
  }

  /** A notification of the request: it turns the answer into a stream. */
  notify(text: string): void {
    if (!this.#streams) return;
    if (this.#sse === undefined) {
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          this.#sse = controller;
        },
      });
      this.#resolve(new Response(body, { headers: SSE_HEADERS }));
    }
    this.#event(text);
  }

  /** The final message: the JSON body, or the stream's last event. */
  finish(text: string, status: number): void {
    if (this.#sse === undefined) {
      this.#resolve(reply(text, status));
      return;
    }
    this.#event(text);
    try {
      this.#sse.close();
    } catch {
      // the client is gone
    }
  }

  #event(data: string): void {
    try {
      this.#sse?.enqueue(encoder.encode(`event: message\ndata: ${data}\n\n`));
    } catch {
      // the client is gone
    }
  }
}
