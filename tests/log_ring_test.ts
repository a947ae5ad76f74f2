/**
 * `LogRing`, the web console's per-server stderr buffer, in-process:
 * cleaning (ANSI escapes, control characters), bounds, order, listeners.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanLine, LogRing, utf8Length } from "../lib/observe/log_ring.ts";

Deno.test("cleanLine strips ANSI escapes and controls but tab, keeps replacement characters", () => {
  assert.equal(cleanLine("\x1b[1;31merror\x1b[0m: x"), "error: x");
  assert.equal(cleanLine("a\x1b]0;title\x07b"), "ab", "OSC with BEL");
  assert.equal(
    cleanLine("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b"),
    "alinkb",
    "OSC 8 links",
  );
  assert.equal(cleanLine("a\x1b(Bb\x1b=c\x1b7d"), "abcd", "two-byte escapes");
  assert.equal(cleanLine("a\x9b2Kb"), "ab", "8-bit CSI");
  assert.equal(cleanLine("tab\tkept\r\x00\x07\x08\x7f\x85"), "tab\tkept");
  assert.equal(
    cleanLine("bad \uFFFD bytes, ünïcödé, 日本, 🎉"),
    "bad \uFFFD bytes, ünïcödé, 日本, 🎉",
  );
  assert.equal(cleanLine("cut at the end \x1b["), "cut at the end ");
  assert.equal(
    cleanLine("<script>x</script>"),
    "<script>x</script>",
    "text stays text",
  );
});

Deno.test("utf8Length counts like TextEncoder", () => {
  for (const text of ["", "abc", "ü", "日本", "🎉x", "\uD800", "a\uDC00b"]) {
    assert.equal(utf8Length(text), new TextEncoder().encode(text).length, text);
  }
});

Deno.test("LogRing keeps the newest lines within its line and byte bounds", () => {
  let now = 0;
  const ring = new LogRing({
    maxLines: 3,
    maxBytes: 100,
    now: () => new Date(now++),
  });
  for (const text of ["a", "b", "c", "d"]) ring.add(text, 7, false);
  assert.deepEqual(ring.lines().map((l) => [l.seq, l.line]), [[2, "b"], [
    3,
    "c",
  ], [4, "d"]]);
  assert.equal(ring.lines()[0]!.time, new Date(1).toISOString());
  assert.equal(ring.lines()[0]!.pid, 7);
  ring.add("y".repeat(60), 7, false);
  ring.add("z".repeat(60), 7, false);
  assert.deepEqual(ring.lines().map((l) => l.seq), [6], "bytes bound");
  assert.equal(ring.bytes, 60);
  // A line over the byte bound is cut (never inside a character) and marked.
  const long = ring.add("é".repeat(80), 7, false);
  assert.equal(long.line, "é".repeat(50));
  assert.equal(long.truncated, true);
  assert.deepEqual(ring.lines().map((l) => l.seq), [7]);
  // lines() is a copy.
  ring.lines().pop();
  assert.equal(ring.size, 1);
});

Deno.test("LogRing defaults: 2000 lines, 512 KiB; compaction keeps order", () => {
  const ring = new LogRing();
  for (let i = 1; i <= 5000; i++) ring.add(`line ${i}`, 1, false);
  const lines = ring.lines();
  assert.equal(lines.length, 2000);
  assert.equal(lines[0]!.line, "line 3001");
  assert.equal(lines.at(-1)!.line, "line 5000");
  const big = new LogRing();
  for (let i = 0; i < 1000; i++) big.add("x".repeat(1024), 1, false);
  assert.equal(big.size, 512);
  assert.equal(big.bytes, 512 * 1024);
});

Deno.test("LogRing listeners: each gets every new line; one that throws harms nothing", () => {
  const ring = new LogRing();
  ring.add("before", 1, false);
  const got: string[] = [];
  const other: string[] = [];
  const offThrower = ring.subscribe(() => {
    throw new Error("listener failure");
  });
  const off = ring.subscribe((line) => got.push(line.line));
  ring.subscribe((line) => other.push(line.line));
  assert.doesNotThrow(() => ring.add("one", 1, false));
  ring.add("two", 1, false);
  off();
  off();
  ring.add("three", 1, false);
  offThrower();
  assert.deepEqual(got, ["one", "two"]);
  assert.deepEqual(other, ["one", "two", "three"]);
  assert.equal(ring.listenerCount, 1);
  // The same function subscribed twice is called twice, and unsubscribed once.
  const twice: string[] = [];
  const listener = (line: { line: string }) => twice.push(line.line);
  const a = ring.subscribe(listener);
  ring.subscribe(listener);
  a();
  ring.add("four", 1, false);
  assert.deepEqual(twice, ["four"]);
});
