import assert from "node:assert/strict";
import { OrphanGuard } from "../lib/child/orphan_guard.ts";
import { processAlive, waitFor } from "./_helpers.ts";

function sleeper(): Deno.ChildProcess {
  return new Deno.Command("sleep", {
    args: ["30"],
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  })
    .spawn();
}

Deno.test({
  name:
    "OrphanGuard kills the groups still tracked when its pipe closes, and only those",
  ignore: Deno.build.os === "windows",
  async fn() {
    const tracked = sleeper();
    const untracked = sleeper();
    const guard = OrphanGuard.start();
    assert.ok(guard, "a shell is available");
    try {
      guard.track(tracked.pid);
      guard.track(untracked.pid);
      guard.untrack(untracked.pid);
      await guard.close();
      assert.equal((await tracked.status).signal, "SIGKILL");
      assert.ok(
        processAlive(untracked.pid),
        "an untracked group is left alone",
      );
    } finally {
      for (const child of [tracked, untracked]) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await child.status;
      }
    }
    assert.ok(await waitFor(() => !processAlive(untracked.pid), 2000));
  },
});

Deno.test("OrphanGuard.start() returns undefined when the shell is missing", () => {
  assert.equal(OrphanGuard.start({ shell: "/nonexistent/sh" }), undefined);
});
