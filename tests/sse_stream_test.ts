/**
 * Tests of lib/transport/sse_stream.ts in-process: the keepalive comments an
 * attached SSE connection gets, and that none are left running.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SseStream } from "../lib/transport/sse_stream.ts";

const decoder = new TextDecoder();

/** Reads what the body has until `until` matches, within `ms`. */
async function readUntil(
  body: ReadableStream<Uint8Array>,
  until: RegExp,
  ms: number,
): Promise<string> {
  const reader = body.getReader();
  let text = "";
  const deadline = Date.now() + ms;
  try {
    while (!until.test(text) && Date.now() < deadline) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const next = await Promise.race([
        reader.read(),
        new Promise<undefined>((resolve) =>
          timer = setTimeout(() => resolve(undefined), deadline - Date.now())
        ),
      ]);
      clearTimeout(timer);
      if (next === undefined || next.done) break;
      text += decoder.decode(next.value);
    }
  } finally {
    reader.releaseLock();
  }
  return text;
}

Deno.test("an attached SSE connection gets a keepalive comment every keepaliveMs, between events", async () => {
  const stream = new SseStream({ id: "1", keepaliveMs: 20 });
  const body = stream.connect();
  void stream.send('{"jsonrpc":"2.0","method":"a"}');
  const text = await readUntil(body, /(: keepalive\n\n[^]*){2}/, 2000);
  assert.match(text, /^id: 1_0\nretry: 1000\ndata: \n\n/);
  assert.match(
    text,
    /event: message\nid: 1_1\ndata: \{"jsonrpc":"2.0","method":"a"\}\n\n/,
  );
  assert.ok((text.match(/: keepalive\n\n/g)?.length ?? 0) >= 2, text);
  stream.complete();
  // The timer stopped with the connection (the test's sanitizer checks it).
  await body.cancel();
});

Deno.test("keepalives stop when the client disconnects, and a comment-free stream with keepaliveMs 0", async () => {
  const stream = new SseStream({ keepaliveMs: 10 });
  const body = stream.connect();
  await body.cancel(); // the client went away: no interval is left behind
  assert.equal(stream.attached, false);
  const quiet = new SseStream({ keepaliveMs: 0 });
  const quietBody = quiet.connect();
  const text = await readUntil(quietBody, /keepalive/, 100);
  assert.doesNotMatch(text, /keepalive/);
  quiet.complete();
});
