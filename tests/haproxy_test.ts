/**
 * deploy/haproxy.cfg in a real haproxy in front of two real runners, all on
 * 127.0.0.1: every server passes its health check, Streamable HTTP sessions
 * stay on the instance that created them (the Mcp-Session-Id stick table),
 * legacy HTTP+SSE sessions reach their stream's instance without delay, and
 * WebSocket connections are spread and carry round trips. Linux only (reads
 * /proc); skipped when haproxy is not installed (`apt-get install -y
 * haproxy`; .ci/run installs it).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  FIXTURE,
  processAlive,
  type RunningRunner,
  startRunner,
  TestClient,
  waitFor,
} from "./_helpers.ts";

const CONFIG = new URL("../deploy/haproxy.cfg", import.meta.url).pathname;

/** The haproxy executable on PATH, if any. */
function findHaproxy(): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const path = `${dir}/haproxy`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

const HAPROXY = Deno.build.os === "linux" ? findHaproxy() : undefined;
const SKIPPED = Deno.build.os !== "linux"
  ? " [IGNORED: Linux only]"
  : HAPROXY === undefined
  ? " [IGNORED: haproxy is not installed; apt-get install -y haproxy]"
  : "";

/** A haproxy process running deploy/haproxy.cfg. */
interface Balancer extends AsyncDisposable {
  /** The frontend port. */
  port: number;
  /** What haproxy printed so far (its log goes to stdout). */
  output(): string;
  /** `show stat` of the stats socket, one record per proxy and server. */
  stats(): Promise<Record<string, string>[]>;
  /** Stops haproxy (SIGTERM, then SIGKILL after 5 s) and waits for it. */
  stop(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

async function startBalancer(runners: RunningRunner[]): Promise<Balancer> {
  const port = freePort();
  // A second file adds a stats socket, to read the health checks' results.
  const dir = await Deno.makeTempDir({ prefix: "haproxy-test-" });
  const socket = `${dir}/stats.sock`;
  await Deno.writeTextFile(
    `${dir}/stats.cfg`,
    `global\n    stats socket "${socket}" mode 600 level user\n`,
  );
  const process = new Deno.Command(HAPROXY!, {
    // The shipped file as is: its addresses come from the environment.
    args: ["-f", CONFIG, "-f", `${dir}/stats.cfg`, "-db"],
    env: {
      LISTEN: `127.0.0.1:${port}`,
      RUNNER_1: `127.0.0.1:${runners[0]!.port}`,
      RUNNER_2: `127.0.0.1:${runners[1]!.port}`,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
    }
  };
  const drained = Promise.all([drain(process.stdout), drain(process.stderr)]);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      try {
        process.kill("SIGTERM");
      } catch {
        // already exited
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exited = await Promise.race([
        process.status.then(() => true),
        new Promise<false>((resolve) =>
          timer = setTimeout(() => resolve(false), 5000)
        ),
      ]);
      clearTimeout(timer);
      if (!exited) process.kill("SIGKILL");
      await process.status;
      await drained;
      await Deno.remove(dir, { recursive: true });
    })();
    return stopped;
  };
  // Ready when the frontend answers /healthz through a backend.
  let ready = false;
  for (let attempt = 0; attempt < 100 && !ready; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      await response.body?.cancel();
      ready = response.status === 200;
    } catch {
      // not listening yet
    }
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!ready) {
    await stop();
    throw new Error(`Cannot start haproxy:\n${text}`);
  }
  return {
    port,
    output: () => text,
    async stats() {
      const connection = await Deno.connect({
        transport: "unix",
        path: socket,
      });
      let csv = "";
      try {
        await connection.write(new TextEncoder().encode("show stat\n"));
        const decoder = new TextDecoder();
        for await (const chunk of connection.readable) {
          csv += decoder.decode(chunk, { stream: true });
        }
      } catch (error) {
        connection.close();
        throw error;
      }
      // "# pxname,svname,...", then one line per proxy and server.
      const [header, ...rows] = csv.trim().split("\n");
      const names = header!.replace(/^# /, "").split(",");
      return rows.map((row) => {
        const values = row.split(",");
        return Object.fromEntries(names.map((n, i) => [n, values[i] ?? ""]));
      });
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Polls an async condition every 200 ms for at most `timeoutMs`. */
async function waitForAsync(
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return true;
}

/** The parent pid of a process, from /proc. */
function parentOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

const JSON_HEADERS = {
  "content-type": "application/json",
  accept: "application/json",
};

/** Result of one Streamable HTTP session through the balancer. */
interface SessionResult {
  /** Pid of the MCP server that answered each request. */
  pids: number[];
  /** The runner process that started that MCP server. */
  runnerPid: number;
}

async function httpSession(url: string, n: number): Promise<SessionResult> {
  const initialize = await fetch(url, {
    method: "POST",
    headers: JSON_HEADERS,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "haproxy-test", version: "1.0.0" },
      },
    }),
  });
  const initialized = await initialize.json();
  assert.equal(initialize.status, 200, JSON.stringify(initialized));
  assert.equal(initialized.result.serverInfo.name, "mcp-fixture");
  const session = initialize.headers.get("mcp-session-id");
  assert.ok(session, "initialize answers with Mcp-Session-Id");
  const headers = { ...JSON_HEADERS, "mcp-session-id": session };

  const notified = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({
      jsonrpc: "2.0",
      method: "notifications/initialized",
    }),
  });
  await notified.body?.cancel();
  assert.equal(notified.status, 202);

  const pids: number[] = [];
  let runnerPid = 0;
  for (let i = 1; i <= n; i++) {
    const response: Response = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: `${session}-${i}`,
        method: "fixture/pids",
      }),
    });
    const reply: { id: string; result: { pid: number } } = await response
      .json();
    assert.equal(
      response.status,
      200,
      `request ${i} of session ${session}: ${JSON.stringify(reply)}`,
    );
    assert.equal(reply.id, `${session}-${i}`);
    pids.push(reply.result.pid);
    if (i === 1) runnerPid = parentOf(reply.result.pid);
  }

  const deleted = await fetch(url, { method: "DELETE", headers });
  await deleted.body?.cancel();
  assert.equal(deleted.status, 200);
  return { pids, runnerPid };
}

/** Result of one legacy HTTP+SSE session through the balancer. */
interface LegacyResult {
  /** Pid of the MCP server that answered each request. */
  pids: number[];
  /** Milliseconds from each POST to its answer on the stream. */
  latencies: number[];
  /** The runner process that started that MCP server. */
  runnerPid: number;
}

/** GET /sse, then `n` POSTs to its endpoint, answered on the stream. */
async function legacySession(base: string, n: number): Promise<LegacyResult> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 10_000);
  let response: Response;
  try {
    response = await fetch(`${base}/sse`, {
      headers: { accept: "text/event-stream" },
      signal: abort.signal,
    });
  } catch (error) {
    clearTimeout(timer);
    throw error;
  }
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  /** The next SSE block that has data, as its event name and data. */
  const next = async (): Promise<{ event: string; data: string }> => {
    for (let reads = 0; reads < 1000; reads++) {
      const end = buffer.indexOf("\n\n");
      if (end !== -1) {
        const block = buffer.slice(0, end).split("\n");
        buffer = buffer.slice(end + 2);
        const data = block.filter((l) => l.startsWith("data:")).map((l) =>
          l.slice(5).trimStart()
        );
        if (data.length === 0) continue;
        const event = block.find((l) => l.startsWith("event:"))?.slice(6)
          .trim() ?? "message";
        return { event, data: data.join("\n") };
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("Cannot read: the SSE stream ended");
      buffer += decoder.decode(value, { stream: true }).replaceAll(
        "\r\n",
        "\n",
      );
    }
    throw new Error("Cannot read: no SSE event");
  };
  try {
    assert.equal(response.status, 200);
    const endpoint = await next();
    assert.equal(endpoint.event, "endpoint");
    const pids: number[] = [];
    const latencies: number[] = [];
    for (let i = 0; i < n; i++) {
      const sent = performance.now();
      const posted = await fetch(new URL(endpoint.data, base), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: i,
          method: "fixture/pids",
        }),
      });
      await posted.body?.cancel();
      assert.equal(posted.status, 202, `POST ${endpoint.data}`);
      const reply = JSON.parse((await next()).data);
      assert.equal(reply.id, i);
      latencies.push(performance.now() - sent);
      pids.push(reply.result.pid);
    }
    return { pids, latencies, runnerPid: parentOf(pids[0]!) };
  } finally {
    clearTimeout(timer);
    await reader.cancel();
  }
}

Deno.test({
  name:
    `deploy/haproxy.cfg pins Streamable HTTP sessions by Mcp-Session-Id, keeps legacy SSE sessions whole and spreads WebSocket connections over two runners${SKIPPED}`,
  ignore: HAPROXY === undefined,
  async fn() {
    await using first = await startRunner(["--", ...FIXTURE]);
    await using second = await startRunner(["--", ...FIXTURE]);
    const runners = [first, second];
    const runnerPids = runners.map((r) => r.process.pid);
    await using balancer = await startBalancer(runners);
    const children = new Set<number>();

    // Every server passes its HTTP health check (GET /healthz: 200).
    let servers: Record<string, string>[] = [];
    const checked = await waitForAsync(async () => {
      servers = (await balancer.stats()).filter((r) =>
        r.svname !== "FRONTEND" && r.svname !== "BACKEND"
      );
      return servers.length === 4 &&
        servers.every((r) => r.check_status === "L7OK" && r.status === "UP");
    }, 10_000);
    assert.ok(
      checked,
      `health checks: ${
        JSON.stringify(
          servers.map((r) => [r.pxname, r.svname, r.status, r.check_status]),
        )
      }\n${balancer.output()}`,
    );

    // 20 Streamable HTTP sessions, 5 at a time, 10 requests each.
    const url = `http://127.0.0.1:${balancer.port}/mcp`;
    const sessions: SessionResult[] = [];
    const queue = Array.from({ length: 20 }, (_, i) => i);
    await Promise.all(Array.from({ length: 5 }, async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        sessions.push(await httpSession(url, 10));
      }
    }));
    assert.equal(sessions.length, 20);
    const perRunner = [0, 0];
    for (const { pids, runnerPid } of sessions) {
      assert.equal(pids.length, 10);
      assert.ok(
        pids.every((pid) => pid === pids[0]),
        `one MCP server answered the whole session: ${pids}`,
      );
      assert.ok(!children.has(pids[0]!), "each session has its own server");
      children.add(pids[0]!);
      const index = runnerPids.indexOf(runnerPid);
      assert.notEqual(index, -1, `a runner started ${pids[0]}`);
      perRunner[index]!++;
    }
    assert.ok(
      perRunner.every((count) => count > 0),
      `both runners got sessions: ${perRunner}`,
    );
    // Each runner counts exactly the sessions it was seen to serve.
    for (const [i, runner] of runners.entries()) {
      const response = await fetch(`${runner.httpUrl}/healthz`);
      const health = await response.json();
      assert.equal(health.sessionsTotal, perRunner[i]);
    }

    // Legacy HTTP+SSE: the POSTs reach the stream's instance (by address).
    const legacy: LegacyResult[] = [];
    for (let i = 0; i < 3; i++) {
      legacy.push(
        await legacySession(`http://127.0.0.1:${balancer.port}`, 3),
      );
    }
    for (const { pids, runnerPid } of legacy) {
      assert.ok(pids.every((pid) => pid === pids[0]), `${pids}`);
      assert.ok(!children.has(pids[0]!));
      children.add(pids[0]!);
      assert.equal(runnerPid, legacy[0]!.runnerPid, "one client, one runner");
      assert.ok(runnerPids.includes(runnerPid));
    }
    // Events are not held back (option http-no-delay): a held one takes
    // about 200 ms, a forwarded one a few.
    const latencies = legacy.flatMap((l) => l.latencies).sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)]!;
    assert.ok(median < 150, `SSE round trips: ${latencies.map(Math.round)} ms`);

    // 10 WebSocket connections through the balancer, open at once.
    const clients: TestClient[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        clients.push(
          await TestClient.connect(`ws://127.0.0.1:${balancer.port}/`),
        );
      }
      const wsPerRunner = [0, 0];
      for (const [i, client] of clients.entries()) {
        const init = await client.request(`init-${i}`, "initialize", {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "haproxy-test", version: "1.0.0" },
        });
        assert.equal(init.id, `init-${i}`);
        const pids: number[] = [];
        for (let j = 0; j < 3; j++) {
          const reply = await client.request(`${i}-${j}`, "fixture/pids");
          assert.equal(reply.id, `${i}-${j}`);
          pids.push((reply.result as { pid: number }).pid);
        }
        assert.ok(pids.every((pid) => pid === pids[0]), `${pids}`);
        assert.ok(!children.has(pids[0]!));
        children.add(pids[0]!);
        const index = runnerPids.indexOf(parentOf(pids[0]!));
        assert.notEqual(index, -1);
        wsPerRunner[index]!++;
      }
      // leastconn: long-lived connections end up on both instances.
      assert.ok(
        wsPerRunner.every((count) => count >= 3),
        `WebSocket connections per runner: ${wsPerRunner}`,
      );
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
    }

    await balancer.stop();
    const log = balancer.output();
    assert.doesNotMatch(log, /is DOWN/, `health checks failed:\n${log}`);
    for (const runner of runners) {
      const status = await runner.stop();
      assert.equal(status.code, 0, runner.stderr());
    }
    assert.ok(
      await waitFor(
        () => [...children].every((pid) => !processAlive(pid)),
        10_000,
      ),
      "every MCP server has stopped",
    );
  },
});
