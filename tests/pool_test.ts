/**
 * The pre-warmed pool (`--prewarm N`, per-session mode): children spawned
 * at startup and not initialized, one per session, never reused, refilled
 * in the background, all stopped at shutdown. Real processes and sockets;
 * the shared fixture announces each start (`--announce`) and records what
 * it reads.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  processAlive,
  type RunningRunner,
  startRunner,
  waitFor,
} from "./_helpers.ts";
import {
  type Json,
  resultText,
  Scratch,
  SHARED_FIXTURE,
  WsClient,
} from "./_shared.ts";

/** Starts a per-session runner with the shared fixture recording into `scratch`. */
function startPerSession(
  scratch: Scratch,
  runnerArgs: string[],
  fixtureArgs: string[] = [],
): Promise<RunningRunner> {
  return startRunner([
    "--shutdown-grace-ms",
    "1000",
    ...runnerArgs,
    "--",
    ...SHARED_FIXTURE,
    ...scratch.fixtureFlags(),
    ...fixtureArgs,
  ]);
}

/** Milliseconds from connecting a WebSocket client to its initialize answer. */
async function timeToInitialize(
  runner: RunningRunner,
  name: string,
): Promise<{ ms: number; pid: number }> {
  const started = performance.now();
  await using client = await WsClient.connect(runner, name);
  const reply = await client.init({ timeoutMs: 15_000 });
  const ms = performance.now() - started;
  assert.ok(reply.json.result, reply.raw);
  const pid = Number(resultText(await client.callTool("pid", "pid")));
  return { ms, pid };
}

/** Kills what a failed test may have left (only this test's fixtures). */
function killLeftovers(scratch: Scratch): void {
  for (const pid of scratch.alive()) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

Deno.test("pool: --prewarm 2 has two idle children right after startup, and the first session answers far sooner than a cold start", async () => {
  const slowStart = ["--delay-start-ms", "1500"];
  // A cold start first, measured the same way, for comparison.
  let cold: number;
  {
    await using scratch = await Scratch.create();
    try {
      await using runner = await startPerSession(scratch, [], slowStart);
      assert.equal(scratch.starts().length, 0, "no child before a session");
      cold = (await timeToInitialize(runner, "cold")).ms;
      await runner.stop();
      assert.ok(
        await waitFor(() => scratch.alive().length === 0, 5000),
        "the cold runner left no child",
      );
    } finally {
      killLeftovers(scratch);
    }
  }

  await using scratch = await Scratch.create();
  try {
    await using runner = await startPerSession(
      scratch,
      ["--prewarm", "2"],
      slowStart,
    );
    assert.ok(
      await waitFor(() => scratch.starts().length === 2, 10_000),
      `two children at startup: ${scratch.starts()} ${
        runner.stderr().slice(-2000)
      }`,
    );
    const [oldest, second] = scratch.starts() as [number, number];
    assert.deepEqual(scratch.alive().sort(), [oldest, second].sort());
    // Wait until both are past their slow start (they announce "ready").
    assert.ok(
      await waitFor(() => scratch.readies().length === 2, 10_000),
      "both pool children began to read",
    );
    assert.equal(scratch.lines(oldest).length, 0, "not initialized while idle");
    assert.equal(scratch.lines(second).length, 0, "not initialized while idle");

    const warm = await timeToInitialize(runner, "warm");
    assert.ok(
      warm.ms < cold / 3,
      `a pooled child answers far sooner than a cold one: ${
        warm.ms.toFixed(0)
      } ms vs ${cold.toFixed(0)} ms`,
    );
    assert.equal(warm.pid, oldest, "the session took the oldest child");
    const initializes = scratch.recorded(warm.pid, "initialize");
    assert.equal(initializes.length, 1, "the session's own initialize");
    assert.equal(
      ((initializes[0]!.params as Json).clientInfo as Json).name,
      "warm",
      "forwarded as in per-session mode",
    );
  } finally {
    killLeftovers(scratch);
  }
});

Deno.test("pool: a finished session's child is stopped and the pool refills to 2; an idle child killed from outside is replaced; SIGTERM leaves no child", async () => {
  await using scratch = await Scratch.create();
  try {
    await using runner = await startPerSession(scratch, ["--prewarm", "2"]);
    assert.ok(
      await waitFor(
        () => scratch.starts().length === 2 && scratch.alive().length === 2,
        10_000,
      ),
      `two children at startup: ${scratch.starts()}`,
    );
    // Both were spawned at once: their announcements may come in either
    // order, so "the oldest" is whichever the first session gets.
    const started = scratch.starts() as [number, number];

    // One session, then its end.
    let used: number;
    {
      await using client = await WsClient.connect(runner, "one");
      await client.init();
      used = Number(resultText(await client.callTool("pid", "pid")));
      assert.ok(started.includes(used), `${used} is one of ${started}`);
      assert.equal(
        resultText(await client.callTool("add", "counter_add", { by: 1 })),
        "1",
      );
    }
    const second = started[0] === used ? started[1] : started[0];
    assert.ok(
      await waitFor(() => !processAlive(used), 5000),
      "the used child was stopped, not kept for reuse",
    );
    assert.ok(
      await waitFor(
        () => scratch.starts().length === 3 && scratch.alive().length === 2,
        10_000,
      ),
      `the pool refilled: starts ${scratch.starts()}, alive ${scratch.alive()}`,
    );
    const refill = scratch.starts()[2]!;
    assert.deepEqual(scratch.alive().sort(), [second, refill].sort());

    // The next session gets a fresh process (its memory is new).
    {
      await using client = await WsClient.connect(runner, "two");
      await client.init();
      const pid = Number(resultText(await client.callTool("pid", "pid")));
      assert.equal(pid, second, "the next oldest");
      assert.equal(
        resultText(await client.callTool("add", "counter_add", { by: 1 })),
        "1",
      );
    }
    assert.ok(
      await waitFor(
        () =>
          !processAlive(second) && scratch.starts().length === 4 &&
          scratch.alive().length === 2,
        10_000,
      ),
      `refilled again: starts ${scratch.starts()}, alive ${scratch.alive()}`,
    );
    const fourth = scratch.starts()[3]!;
    assert.deepEqual(scratch.alive().sort(), [refill, fourth].sort());

    // An idle child killed from outside is replaced.
    Deno.kill(refill, "SIGKILL");
    assert.ok(
      await waitFor(
        () =>
          !processAlive(refill) && scratch.starts().length === 5 &&
          scratch.alive().length === 2,
        10_000,
      ),
      `the killed idle child was replaced: starts ${scratch.starts()}, alive ${scratch.alive()}`,
    );
    const replacement = scratch.starts()[4]!;
    assert.deepEqual(scratch.alive().sort(), [fourth, replacement].sort());
    for (const pid of [fourth, replacement]) {
      assert.equal(scratch.lines(pid).length, 0, "idle: not initialized");
    }

    // Shutdown leaves no child.
    const status = await runner.stop("SIGTERM");
    assert.equal(status.code, 0, runner.stderr().slice(-2000));
    assert.ok(
      await waitFor(() => scratch.alive().length === 0, 5000),
      `no child left: ${scratch.alive()}`,
    );
    for (const pid of scratch.starts()) {
      assert.ok(!processAlive(pid), `pid ${pid} is gone`);
    }
  } finally {
    killLeftovers(scratch);
  }
});

Deno.test("pool: an idle child older than --prewarm-ttl-seconds is replaced by a fresh one", async () => {
  await using scratch = await Scratch.create();
  try {
    await using runner = await startPerSession(scratch, [
      "--prewarm",
      "1",
      "--prewarm-ttl-seconds",
      "1",
    ]);
    assert.ok(
      await waitFor(() => scratch.starts().length >= 1, 5000),
      "one child started ahead",
    );
    const first = scratch.starts()[0]!;
    assert.ok(
      await waitFor(
        () => scratch.starts().length >= 2 && !processAlive(first),
        5000,
      ),
      `the idle child ${first} was replaced after a second: ${scratch.starts()}`,
    );
    const fresh = scratch.starts()[1]!;
    assert.ok(processAlive(fresh), "its successor waits");
    // The replacement serves the next session.
    const { pid } = await timeToInitialize(runner, "after-ttl");
    assert.ok(scratch.starts().includes(pid));
    assert.notEqual(pid, first);
    await runner.stop();
  } finally {
    killLeftovers(scratch);
  }
});
