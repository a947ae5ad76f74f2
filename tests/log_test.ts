/**
 * The runner's log lines in-process: the text format (timestamp, level,
 * category, the `[server]` tag of a named server's lines), the memoized
 * timestamp, and properties that a sink sees as they were when logged.
 *
 * @module
 */

import assert from "node:assert/strict";
import { configureLogging, logger, resetLogging } from "../lib/observe/log.ts";
import { RequestLog } from "../lib/session/request_log.ts";
import type { ChannelOptions } from "../lib/session/channel.ts";

const STAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d(?::\d\d)? /;

Deno.test("text log lines: timestamp, level, category, [server] tag; request lines as before", async () => {
  const lines: string[] = [];
  configureLogging({
    level: "info",
    format: "text",
    write: (l) => lines.push(l),
  });
  try {
    const log = logger("ws").with({ server: "github" });
    log.info("Hello {who}", { who: "there" });
    logger().warning("Plain {n}", { n: 3 });
    const requests = new RequestLog(
      {
        session: "ws-1-abc",
        transport: "websocket",
        logger: log,
      } as unknown as ChannelOptions,
    );
    for (let i = 0; i < 50; i++) {
      requests.request("tools/call", "echo", 1.5, "ok");
    }
    await Promise.resolve();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(lines.length, 52);
    assert.match(lines[0]!, STAMP);
    assert.ok(
      lines[0]!.endsWith("[INF] mcp-server-runner·ws: [github] Hello there\n"),
      lines[0],
    );
    assert.ok(
      lines[1]!.endsWith("[WRN] mcp-server-runner: Plain 3\n"),
      lines[1],
    );
    for (const line of lines.slice(2)) {
      assert.match(line, STAMP);
      assert.ok(
        line.endsWith(
          "[INF] mcp-server-runner·ws: [github] Request: session=ws-1-abc transport=websocket method=tools/call name=echo duration_ms=1.5 outcome=ok\n",
        ),
        line,
      );
    }
    // The memoized stamp is the time of each line, not of the first one.
    const stamps = lines.map((line) => STAMP.exec(line)![0]);
    const now = Date.now();
    const parsed = Date.parse(
      stamps.at(-1)!.trim().replace(" ", "T").replace(/ ([+-]\d\d)$/, "$1:00"),
    );
    assert.ok(Math.abs(now - parsed) < 60_000, stamps.at(-1));
  } finally {
    resetLogging();
  }
});

Deno.test("a record's properties reach the sink as they were when it was logged", () => {
  const lines: string[] = [];
  configureLogging({
    level: "info",
    format: "json",
    write: (l) => lines.push(l),
  });
  try {
    const value = { n: 1 };
    logger().info("Value {value}", { value });
    value.n = 2;
    logger().info("Value {value}", { value });
    assert.deepEqual(lines.map((l) => JSON.parse(l).value.n), [1, 2]);
    assert.equal(JSON.parse(lines[0]!).message, 'Value {"n":1}');
  } finally {
    resetLogging();
  }
});
