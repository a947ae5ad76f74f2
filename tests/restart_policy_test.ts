/**
 * The restart policy in-process: doubling delays with jitter, the
 * crash-loop breaker, and the reset after a stable run.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  Backoff,
  CRASH_LOOP_EXITS,
  CRASH_WINDOW_MS,
  FAILED_RETRY_MS,
  FIRST_BACKOFF_MS,
  MAX_BACKOFF_MS,
  RestartPolicy,
} from "../lib/session/restart_policy.ts";

const within = (value: number, base: number) =>
  value >= Math.round(base * 0.8) && value <= Math.round(base * 1.2);

Deno.test("Backoff doubles from the first delay to the longest, with ±20 % jitter, and resets", () => {
  const backoff = new Backoff();
  let base = FIRST_BACKOFF_MS;
  for (let i = 0; i < 12; i++) {
    const wait = backoff.next();
    assert.ok(within(wait, Math.min(base, MAX_BACKOFF_MS)), `${i}: ${wait}`);
    base *= 2;
  }
  backoff.reset();
  assert.ok(within(backoff.next(), FIRST_BACKOFF_MS));
});

Deno.test("RestartPolicy fails after the crash-loop exits within the window; a stable run starts the backoff again", () => {
  const policy = new RestartPolicy();
  let now = 1_000_000;
  for (let i = 1; i < CRASH_LOOP_EXITS; i++) {
    const next = policy.exited(now);
    assert.equal(next.failed, false, `exit ${i}`);
    now += 1000;
  }
  const failed = policy.exited(now);
  assert.deepEqual(failed, {
    failed: true,
    waitMs: FAILED_RETRY_MS,
    exits: CRASH_LOOP_EXITS,
  });
  // Exits spread beyond the window never trip it.
  const spread = new RestartPolicy();
  for (let i = 0; i < 2 * CRASH_LOOP_EXITS; i++) {
    assert.equal(spread.exited(now + i * CRASH_WINDOW_MS).failed, false);
  }
  // Ready for over a minute: the next delay is the first one again.
  const stable = new RestartPolicy();
  for (let i = 0; i < 3; i++) stable.exited(now + i);
  stable.ready(now + 10);
  const after = stable.exited(now + 10 + 61_000);
  assert.ok(
    !after.failed && within(after.waitMs, FIRST_BACKOFF_MS),
    JSON.stringify(after),
  );
});
