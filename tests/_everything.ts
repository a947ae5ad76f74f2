/**
 * Shared by the SDK tests: the runner serving the real
 * `@modelcontextprotocol/server-everything`, and checks on what two SDK
 * clients get back.
 *
 * @module
 */

import assert from "node:assert/strict";
// The SDK's "./*" export maps `client/index.js` to the types file
// `client/index.js.d.ts`, which does not exist, so Deno would type the import
// as `any`; point it at the declaration file explicitly.
// @ts-types="@modelcontextprotocol/sdk/client/index"
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  processAlive,
  processesMatching,
  type RunningRunner,
  startRunner,
  waitFor,
} from "./_helpers.ts";

const SERVER_PACKAGE = "npm:@modelcontextprotocol/server-everything@2026.8.31";
const NEEDLE = "server-everything";
const SERVER = [Deno.execPath(), "run", "-A", SERVER_PACKAGE, "stdio"];

/** Downloads server-everything once, so that no child spawn waits for it. */
let warmed: Promise<void> | undefined;
function warmCache(): Promise<void> {
  warmed ??= (async () => {
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["cache", SERVER_PACKAGE],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) {
      throw new Error(
        `Cannot cache ${SERVER_PACKAGE}:\n${new TextDecoder().decode(stderr)}`,
      );
    }
  })();
  return warmed;
}

/**
 * Pids of server-everything processes not in `before`.
 *
 * @param before Pids to leave out.
 * @returns The others.
 */
export function newServers(before: Set<number>): number[] {
  return processesMatching(NEEDLE).filter((pid) => !before.has(pid));
}

/**
 * The server-everything processes running now.
 *
 * @returns Their pids.
 */
export function serversNow(): Set<number> {
  return new Set(processesMatching(NEEDLE));
}

/**
 * Runs `body` against a fresh runner serving server-everything. Once `body`
 * has closed its clients, and while the runner still runs, every
 * server-everything process started meanwhile must exit; after the runner has
 * stopped none may be left either.
 *
 * @param body The test, given the runner.
 */
export async function withEverything(
  body: (runner: RunningRunner) => Promise<void>,
): Promise<void> {
  await warmCache();
  const before = serversNow();
  {
    await using runner = await startRunner(["--", ...SERVER]);
    // The runner's own command line names the package too.
    before.add(runner.process.pid);
    await body(runner);
    assert.ok(
      await waitFor(() => newServers(before).length === 0, 15_000),
      `server-everything exits once its client has closed: pids ${
        newServers(before).join(", ")
      } still alive`,
    );
  }
  assert.deepEqual(
    newServers(before),
    [],
    "no server-everything process is left",
  );
}

/**
 * The text of the single text item of a `tools/call` result.
 *
 * @param result The result.
 * @returns Its text.
 */
export function textOf(
  result: Awaited<ReturnType<Client["callTool"]>>,
): string {
  assert.ok(Array.isArray(result.content), "result has content");
  assert.equal(result.content.length, 1);
  const [item] = result.content;
  assert.ok(item && item.type === "text", "content item is text");
  return item.text;
}

/** An SDK client that can be closed. */
export interface ClosableClient extends AsyncDisposable {
  /** The SDK client. */
  client: Client;
}

/**
 * Two clients, each with its own child (`children`), make 20 echo calls each,
 * interleaved and all in flight at once: every answer must be its own call's.
 * Then closing both must stop both children.
 *
 * @param alice One client.
 * @param bob The other.
 * @param children The two children's pids.
 */
export async function assertOwnAnswersThenStop(
  alice: ClosableClient,
  bob: ClosableClient,
  children: number[],
): Promise<void> {
  assert.equal(
    children.length,
    2,
    `one child per session, found pids ${children.join(", ")}`,
  );
  const calls = 20;
  const call = (who: string, sdk: ClosableClient, i: number) => {
    const message = `${who}-${i}-${crypto.randomUUID()}`;
    return sdk.client.callTool({ name: "echo", arguments: { message } })
      .then((result) => ({ message, text: textOf(result) }));
  };
  // Interleave: alice 0, bob 0, alice 1, bob 1, ... all in flight at once.
  const pending: Promise<{ message: string; text: string }>[] = [];
  for (let i = 0; i < calls; i++) {
    pending.push(call("alice", alice, i), call("bob", bob, i));
  }
  const answers = await Promise.all(pending);
  assert.equal(answers.length, 2 * calls);
  for (const { message, text } of answers) {
    assert.equal(text, `Echo: ${message}`);
  }
  assert.equal(
    new Set(answers.map((a) => a.text)).size,
    2 * calls,
    "every answer is distinct",
  );

  await alice[Symbol.asyncDispose]();
  await bob[Symbol.asyncDispose]();
  assert.ok(
    await waitFor(() => children.every((pid) => !processAlive(pid)), 15_000),
    `children exit after their clients close: ${
      children.filter(processAlive).join(", ")
    } still alive`,
  );
}
