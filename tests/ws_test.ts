import assert from "node:assert/strict";
import { FIXTURE, startRunner, TestClient } from "./_helpers.ts";

Deno.test("runner round-trips a request and keeps id value and type", async () => {
  await using runner = await startRunner(["--", ...FIXTURE]);
  await using client = await TestClient.connect(runner.wsUrl);
  assert.equal(client.socket.protocol, "mcp");
  for (const id of ["abc-1", 42, "42", 0, -7, "", 1.5]) {
    const reply = await client.request(id, "echo", { id });
    assert.deepEqual(reply, { jsonrpc: "2.0", id, result: { id } });
  }
});
