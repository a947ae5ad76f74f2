import assert from "node:assert/strict";
import {
  LineOverflow,
  LineStream,
  OVERFLOW_EDGE_BYTES,
} from "../lib/child/line_stream.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function split(
  chunks: (string | Uint8Array)[],
  maxLineBytes = 1024,
): Promise<(string | LineOverflow)[]> {
  const input = ReadableStream.from(
    chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c),
  );
  const out = await Array.fromAsync(
    input.pipeThrough(new LineStream({ maxLineBytes })),
  );
  return out.map((item) =>
    item instanceof LineOverflow ? item : decoder.decode(item)
  );
}

Deno.test("LineStream splits on LF and CRLF and skips empty lines", async () => {
  assert.deepEqual(await split(['{"a":1}\n{"b":2}\r\n\n\r\n{"c":3}\n']), [
    '{"a":1}',
    '{"b":2}',
    '{"c":3}',
  ]);
});

Deno.test("LineStream joins a line split across chunks, CR and LF included", async () => {
  assert.deepEqual(await split(['{"a"', ":1", "}\r", "\n", '{"b":2', "}"]), [
    '{"a":1}',
    '{"b":2}',
  ]);
  assert.deepEqual(await split(["ab\r", "cd\n"]), ["ab\rcd"]);
});

Deno.test("LineStream keeps a UTF-8 character split across chunks intact", async () => {
  const bytes = encoder.encode('{"t":"héllo 🌍 ✓"}\n');
  const at = bytes.indexOf(0xf0) + 2; // inside the 4-byte emoji
  assert.deepEqual(
    await split([
      bytes.subarray(0, 8),
      bytes.subarray(8, at),
      bytes.subarray(at),
    ]),
    [
      '{"t":"héllo 🌍 ✓"}',
    ],
  );
  const oneByOne = Array.from(bytes, (b) => new Uint8Array([b]));
  assert.deepEqual(await split(oneByOne), ['{"t":"héllo 🌍 ✓"}']);
});

Deno.test("LineStream emits the last line without a line break at the end", async () => {
  assert.deepEqual(await split(["one\ntwo"]), ["one", "two"]);
});

Deno.test("LineStream replaces an over-long line by a marker and keeps going", async () => {
  const long = "{" + "x".repeat(5000) + "}";
  const out = await split([
    "ok1\n",
    long.slice(0, 100),
    long.slice(100, 3000),
    long.slice(3000) + "\r\nok2\n",
  ], 1000);
  assert.equal(out.length, 3);
  assert.equal(out[0], "ok1");
  assert.equal(out[2], "ok2");
  const overflow = out[1];
  assert.ok(overflow instanceof LineOverflow);
  assert.equal(overflow.size, long.length);
  assert.equal(
    decoder.decode(overflow.head),
    long.slice(0, OVERFLOW_EDGE_BYTES),
  );
  assert.equal(
    decoder.decode(overflow.tail),
    long.slice(long.length - OVERFLOW_EDGE_BYTES),
  );
});

Deno.test("LineStream accepts a line of exactly the cap and refuses one byte more", async () => {
  assert.deepEqual(await split(["a".repeat(10) + "\r\n"], 10), [
    "a".repeat(10),
  ]);
  const out = await split(["a".repeat(11) + "\n", "b\n"], 10);
  assert.ok(out[0] instanceof LineOverflow);
  assert.equal(out[0].size, 11);
  assert.equal(out[1], "b");
});

Deno.test("LineStream never buffers more than the cap of an endless line", async () => {
  const chunk = encoder.encode("x".repeat(64 * 1024));
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      if (pulled > 1600) controller.close(); // 100 MiB in all
      else controller.enqueue(chunk);
    },
  });
  const before = Deno.memoryUsage().rss;
  let peak = 0;
  const out: (Uint8Array | LineOverflow)[] = [];
  for await (
    const item of endless.pipeThrough(
      new LineStream({ maxLineBytes: 1024 * 1024 }),
    )
  ) {
    out.push(item);
  }
  peak = Deno.memoryUsage().rss - before;
  assert.equal(out.length, 1);
  assert.ok(out[0] instanceof LineOverflow);
  assert.equal(out[0].size, 1600 * 64 * 1024);
  assert.ok(peak < 64 * 1024 * 1024, `RSS grew by ${peak} bytes`);
});

Deno.test("LineStream rejects a cap that is not a positive integer", () => {
  assert.throws(() => new LineStream({ maxLineBytes: 0 }), RangeError);
  assert.throws(() => new LineStream({ maxLineBytes: 1.5 }), RangeError);
});
