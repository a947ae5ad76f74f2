/**
 * Startup checks of the runner as a real process: the `.env` file (byte order
 * mark, bad names), `/readyz` for a `#!` script whose interpreter is missing,
 * the warning about tokens on the command line, and `deno task demo`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  compileFlags,
  FIXTURE,
  MAIN,
  processAlive,
  ROOT,
  startRunner,
  TestClient,
  waitFor,
} from "./_helpers.ts";

const TOKEN = "startup-test-token-0123456789";
const SECRET = "hunter2-must-never-be-shown";
const TOKEN_WARNING = /\[WRN\].*--auth-token.*--auth-token-file/;

/** A temporary directory, removed on disposal. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "startup_test_" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/**
 * Runs main.ts to its exit; kills it (and fails the caller's expectation of
 * an exit) if it is still running after `timeoutMs`.
 */
async function runToExit(
  args: string[],
  timeoutMs = 15_000,
): Promise<{ code: number | undefined; stderr: string }> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", ...compileFlags(), MAIN, "--port", "0", ...args],
    env: { NO_COLOR: "1" },
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    process.kill("SIGKILL");
  }, timeoutMs);
  const [status, bytes] = await Promise.all([
    process.status,
    new Response(process.stderr).arrayBuffer(),
  ]);
  clearTimeout(timer);
  return {
    code: timedOut ? undefined : status.code,
    stderr: new TextDecoder().decode(bytes),
  };
}

/** POSTs an MCP initialize request to `/mcp`. */
async function initialize(
  httpUrl: string,
  token?: string,
): Promise<number> {
  const response = await fetch(`${httpUrl}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "startup-test", version: "1.0.0" },
      },
    }),
  });
  await response.body?.cancel();
  return response.status;
}

Deno.test("runner strips a byte order mark from the .env file: its AUTH_TOKEN is required and not passed on", async () => {
  await using dir = await tempDir();
  const envFile = join(dir.path, "bom.env");
  await Deno.writeTextFile(envFile, `\uFEFFAUTH_TOKEN=${TOKEN}\nOTHER=1\n`);
  await using runner = await startRunner(
    ["--env-file", envFile, "--", ...FIXTURE],
    { readEnvFile: true },
  );
  assert.equal(await initialize(runner.httpUrl), 401);
  await using client = await TestClient.connect(
    `${runner.wsUrl}?access_token=${TOKEN}`,
  );
  const reply = await client.request(1, "fixture/env");
  const env = (reply.result as { env: Record<string, string> }).env;
  assert.equal(env.OTHER, "1");
  for (const [name, value] of Object.entries(env)) {
    assert.ok(!name.includes("AUTH_TOKEN"), name);
    assert.notEqual(value, TOKEN, name);
  }
});

Deno.test("runner strips a byte order mark from the token file", async () => {
  await using dir = await tempDir();
  const tokenFile = join(dir.path, "tokens");
  await Deno.writeTextFile(tokenFile, `\uFEFF${TOKEN}\n`);
  await using runner = await startRunner([
    "--auth-token-file",
    tokenFile,
    "--",
    ...FIXTURE,
  ]);
  assert.equal(await initialize(runner.httpUrl), 401);
  assert.equal(await initialize(runner.httpUrl, TOKEN), 200);
});

Deno.test("runner refuses a .env name that is not a variable name: exit 2, file and line, no value", async () => {
  await using dir = await tempDir();
  const envFile = join(dir.path, "bad.env");
  await Deno.writeTextFile(
    envFile,
    `# settings\nLOG_LEVEL=info\nAUTH TOKEN=${SECRET}\n`,
  );
  const { code, stderr } = await runToExit([
    "--env-file",
    envFile,
    "--",
    ...FIXTURE,
  ]);
  assert.equal(code, 2, stderr);
  assert.match(
    stderr,
    new RegExp(
      `^Cannot start: env file "${envFile}" line 3 does not start with a valid variable name`,
    ),
  );
  assert.ok(!stderr.includes(SECRET), stderr);
  assert.ok(!stderr.includes("Listening"), stderr);
});

Deno.test({
  name:
    "runner reports not ready, naming the interpreter, for a #! script whose interpreter is missing",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await using dir = await tempDir();
    const script = join(dir.path, "server.sh");
    await Deno.writeTextFile(script, "#!/nonexistent/interp\n");
    await Deno.chmod(script, 0o755);
    await using runner = await startRunner(["--", script]);
    const response = await fetch(`${runner.httpUrl}/readyz`);
    const body = await response.json();
    assert.equal(response.status, 503);
    assert.equal(body.status, "not ready");
    assert.match(body.reason, /"\/nonexistent\/interp"/);
    assert.match(
      runner.stderr(),
      /\[WRN\].*Every session will fail.*"\/nonexistent\/interp"/,
    );

    // A script whose interpreter exists is ready.
    const good = join(dir.path, "good.sh");
    await Deno.writeTextFile(good, "#!/bin/sh\nexec cat\n");
    await Deno.chmod(good, 0o755);
    await using ok = await startRunner(["--", good]);
    const ready = await fetch(`${ok.httpUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready" });
    assert.ok(!ok.stderr().includes("Every session will fail"), ok.stderr());
  },
});

Deno.test("runner warns about a token given with --auth-token, not from a file or the environment", async () => {
  await using dir = await tempDir();
  {
    await using runner = await startRunner([
      "--auth-token",
      TOKEN,
      "--",
      ...FIXTURE,
    ]);
    assert.match(runner.stderr(), TOKEN_WARNING);
    assert.ok(!runner.stderr().includes(TOKEN), "the token is never logged");
  }
  const tokenFile = join(dir.path, "tokens");
  await Deno.writeTextFile(tokenFile, `${TOKEN}\n`);
  {
    await using runner = await startRunner([
      "--auth-token-file",
      tokenFile,
      "--",
      ...FIXTURE,
    ]);
    assert.equal(await initialize(runner.httpUrl, TOKEN), 200);
    assert.doesNotMatch(runner.stderr(), TOKEN_WARNING);
  }
  {
    await using runner = await startRunner(["--", ...FIXTURE], {
      env: { AUTH_TOKEN: TOKEN },
    });
    assert.equal(await initialize(runner.httpUrl, TOKEN), 200);
    assert.doesNotMatch(runner.stderr(), TOKEN_WARNING);
  }
});

/** The command line of a process, or `undefined` once it is gone. */
function commandLine(pid: number): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`);
  } catch {
    return undefined;
  }
}

/** Pids of the descendants of `pid`, from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const parent = Number(
        stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1],
      );
      children.set(parent, [
        ...(children.get(parent) ?? []),
        Number(entry.name),
      ]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

Deno.test({
  name: "deno task demo passes its arguments to the runner",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // A port that is free now; the runner must listen on exactly this one.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const task = new Deno.Command(Deno.execPath(), {
      args: ["task", "demo", "--port", String(port), "--log-level", "info"],
      env: { NO_COLOR: "1" },
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let text = "";
    const decoder = new TextDecoder();
    const drained = (async () => {
      for await (const chunk of task.stderr) {
        text += decoder.decode(chunk, { stream: true });
      }
    })();
    let exited = false;
    const status = task.status.finally(() => exited = true);
    let tree: { pid: number; cmdline: string | undefined }[] = [];
    try {
      assert.ok(
        await waitFor(
          () => /Listening on ws:\/\//.test(text) || exited,
          60_000,
        ),
        `no "Listening on" line within 60 s:\n${text}`,
      );
      tree = descendants(task.pid).map((pid) => ({
        pid,
        cmdline: commandLine(pid),
      }));
      const listening = /Listening on ws:\/\/[^\s]*:(\d+)\/.*, serving (.*)/
        .exec(text);
      assert.equal(listening?.[1], String(port), text);
      assert.match(
        listening?.[2] ?? "",
        /^\S+ run -A npm:@modelcontextprotocol\/server-everything@[\d.]+ stdio$/,
      );
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      assert.equal((await health.json()).status, "ok");
    } finally {
      if (!exited) task.kill("SIGTERM");
      await status;
      await drained;
      // deno task passes SIGTERM on; nothing it started may be left.
      const left = await waitFor(
        () =>
          tree.every(({ pid, cmdline }) =>
            !processAlive(pid) || commandLine(pid) !== cmdline
          ),
        5000,
      );
      const alive = tree.filter(({ pid, cmdline }) =>
        processAlive(pid) && commandLine(pid) === cmdline
      );
      for (const { pid } of alive) Deno.kill(pid, "SIGKILL");
      assert.ok(
        left,
        `left behind by deno task demo: ${JSON.stringify(alive)}`,
      );
    }
  },
});
