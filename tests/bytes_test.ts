/**
 * The byte helpers and the stdout reader in-process: UTF-8 lengths without
 * encoding, the coalescing of stdin writes, and the reader that reuses its
 * buffer while the line splitter holds no part of it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { coalesce, concat, utf8Length } from "../lib/util/bytes.ts";
import { equalInConstantTime, sha256 } from "../lib/util/sha256.ts";
import {
  LineOverflow,
  LineSplitter,
  ReusingReader,
} from "../lib/child/line_stream.ts";

const encoder = new TextEncoder();

Deno.test("utf8Length counts as TextEncoder writes, across its piece boundary too", () => {
  const samples = [
    "",
    "ascii",
    "é ü ß",
    "日本語",
    "😀 pairs 🎉",
    "lone \ud800 high and \udc00 low",
    "a".repeat(70_000) + "😀".repeat(20_000) + "\ud83d",
    // A surrogate pair exactly where a piece would end.
    "x".repeat(16 * 1024 - 1) + "😀" + "y".repeat(50_000),
    "x".repeat(64 * 1024 - 1) + "😀" + "é".repeat(40_000),
  ];
  for (const text of samples) {
    assert.equal(
      utf8Length(text),
      encoder.encode(text).length,
      text.slice(0, 20),
    );
  }
});

Deno.test("coalesce joins short pieces, writes long ones alone, and keeps every byte in order", () => {
  const piece = (n: number, fill: number) => new Uint8Array(n).fill(fill);
  const parts = [
    piece(10, 1),
    piece(20, 2),
    piece(70_000, 3),
    piece(5, 4),
    piece(65_536, 5),
    piece(1, 6),
  ];
  const length = parts.reduce((sum, p) => sum + p.length, 0);
  const writes = coalesce(parts, length);
  assert.deepEqual(writes.map((w) => w.length), [30, 70_000, 5, 65_536, 1]);
  assert.deepEqual(concat(writes), concat(parts));
  assert.equal(writes[1], parts[2], "a long piece is not copied");
  const small = coalesce([piece(3, 1), piece(4, 2)], 7);
  assert.deepEqual(small.map((w) => w.length), [7]);
});

Deno.test("ReusingReader with LineSplitter.holdsInput gives the same lines as fresh buffers", async () => {
  // Lines of every length, some split across many reads, one over the limit.
  const lines = Array.from(
    { length: 400 },
    (_, i) =>
      i === 123
        ? "z".repeat(300_000)
        : `{"n":${i},"pad":"${"p".repeat((i * 997) % 20_000)}"}`,
  );
  const bytes = encoder.encode(lines.join("\n") + "\n");
  const stream = () => {
    let at = 0;
    return new ReadableStream({
      type: "bytes",
      pull(controller) {
        const request = controller.byobRequest!;
        const view = request.view!;
        // Odd-sized reads, so that lines start and end anywhere.
        const n = Math.min(
          view.byteLength,
          7_919 + (at % 13_001),
          bytes.length - at,
        );
        if (n === 0) {
          controller.close();
          request.respond(0);
          return;
        }
        new Uint8Array(view.buffer, view.byteOffset, n).set(
          bytes.subarray(at, at + n),
        );
        at += n;
        request.respond(n);
      },
    });
  };
  const decoder = new TextDecoder();
  const seen: string[] = [];
  const splitter = new LineSplitter({ maxLineBytes: 100_000 });
  const collect = (line: Uint8Array | LineOverflow) =>
    seen.push(
      line instanceof LineOverflow
        ? `overflow:${line.size}`
        : decoder.decode(line),
    );
  const reader = new ReusingReader(stream());
  let reused = 0;
  for (let i = 0; i < 10_000; i++) {
    const { value, done } = await reader.read();
    if (done) {
      splitter.end(collect);
      break;
    }
    splitter.push(value, collect);
    if (!splitter.holdsInput) {
      reader.reuse(value);
      reused++;
    }
  }
  reader.releaseLock();
  const expected = lines.map((l, i) => i === 123 ? "overflow:300000" : l);
  assert.deepEqual(seen, expected);
  assert.ok(reused > 0, "the buffer was reused");
});

Deno.test("sha256 matches known digests; equalInConstantTime compares bytes", () => {
  const hex = (bytes: Uint8Array) =>
    [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  // FIPS 180-2 test vectors, and lengths around the padding boundary.
  assert.equal(
    hex(sha256("")),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    hex(sha256("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(
    hex(sha256("a".repeat(1000))),
    "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3",
  );
  assert.equal(equalInConstantTime(sha256("x"), sha256("x")), true);
  assert.equal(equalInConstantTime(sha256("x"), sha256("y")), false);
  assert.equal(
    equalInConstantTime(new Uint8Array(2), new Uint8Array(3)),
    false,
  );
});
