/**
 * The WebSocket floor of the benchmark: a minimal Deno relay with no checks
 * at all. One child per connection (spawned with `Deno.Command`), each text
 * frame written to its stdin as a line (the writes of one microtask in one
 * pipe write), each stdout line (split with `indexOf`) sent back as a text
 * frame. No size limits, no JSON checks, no ids, no queues, no logs: what
 * the runtime costs with nothing of the runner's own work on top.
 *
 * Usage: `deno run --allow-net --allow-run bench/floor_relay.ts PORT PROGRAM`
 * (PORT 0 picks a free port; `Listening on ws://HOST:PORT/` goes to stderr).
 *
 * @module
 */

const [portArg = "0", program] = Deno.args;
if (program === undefined) {
  throw new Error("Usage: floor_relay.ts PORT PROGRAM");
}
const encoder = new TextEncoder();

function relay(socket: WebSocket): void {
  const child = new Deno.Command(program!, {
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  writer.closed.catch(() => {});
  let batch: Uint8Array[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const parts = batch;
    batch = [];
    let length = 0;
    for (const part of parts) length += part.length;
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      bytes.set(part, offset);
      offset += part.length;
    }
    writer.write(bytes).catch(() => {});
  };
  socket.onmessage = (event) => {
    batch.push(encoder.encode(event.data + "\n"));
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
  };
  socket.onclose = () => {
    writer.close().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  };
  void (async () => {
    const decoder = new TextDecoder();
    let pieces: Uint8Array[] = [];
    let pending = 0;
    for await (const chunk of child.stdout) {
      let start = 0;
      let newline = chunk.indexOf(0x0a);
      while (newline !== -1) {
        let line = chunk.subarray(start, newline);
        if (pending > 0) {
          pieces.push(line);
          line = new Uint8Array(pending + line.length);
          let offset = 0;
          for (const piece of pieces) {
            line.set(piece, offset);
            offset += piece.length;
          }
          pieces = [];
          pending = 0;
        }
        if (socket.readyState === WebSocket.OPEN) {
          socket.send(decoder.decode(line));
        }
        start = newline + 1;
        newline = chunk.indexOf(0x0a, start);
      }
      if (start < chunk.length) {
        pieces.push(chunk.subarray(start));
        pending += chunk.length - start;
      }
    }
  })().catch(() => {});
  void child.status;
}

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(portArg),
  onListen: ({ hostname, port }) =>
    Deno.stderr.writeSync(
      encoder.encode(`Listening on ws://${hostname}:${port}/\n`),
    ),
}, (request) => {
  const offered = request.headers.get("sec-websocket-protocol") ?? "";
  const { socket, response } = Deno.upgradeWebSocket(
    request,
    offered.split(",").some((p) => p.trim() === "mcp")
      ? { protocol: "mcp" }
      : {},
  );
  relay(socket);
  return response;
});
