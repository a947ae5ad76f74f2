/**
 * The Streamable HTTP floor of the benchmark: a bare `Deno.serve` that
 * forwards each POST body as a line to one echo child and answers with the
 * child's next line (`200`, `application/json`), or `202` at once for a body
 * without an `"id"` (a notification). Answers come back in order, so the
 * n-th line answers the n-th request. No session checks, no JSON checks, no
 * limits, no logs: the cost of Deno's HTTP stack and one pipe round trip.
 *
 * Usage: `deno run --allow-net --allow-run bench/floor_http.ts PORT PROGRAM`
 * (PORT 0 picks a free port; `Listening on http://HOST:PORT/` goes to
 * stderr).
 *
 * @module
 */

const [portArg = "0", program] = Deno.args;
if (program === undefined) {
  throw new Error("Usage: floor_http.ts PORT PROGRAM");
}
const encoder = new TextEncoder();
const child = new Deno.Command(program, {
  stdin: "piped",
  stdout: "piped",
  stderr: "null",
}).spawn();
const writer = child.stdin.getWriter();
const waiting: ((line: string) => void)[] = [];
let head = 0;

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
      const answer = waiting[head++];
      if (head === waiting.length) {
        waiting.length = 0;
        head = 0;
      }
      answer?.(decoder.decode(line));
      start = newline + 1;
      newline = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) {
      pieces.push(chunk.subarray(start));
      pending += chunk.length - start;
    }
  }
})();

const HEADERS = {
  "content-type": "application/json",
  "mcp-session-id": "floor",
};

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(portArg),
  onListen: ({ hostname, port }) =>
    Deno.stderr.writeSync(
      encoder.encode(`Listening on http://${hostname}:${port}/\n`),
    ),
}, async (request) => {
  if (request.method !== "POST") {
    await request.body?.cancel();
    return new Response(null, { status: 200, headers: HEADERS });
  }
  const body = await request.text();
  void writer.write(encoder.encode(body + "\n"));
  if (!body.includes('"id"')) {
    return new Response(null, { status: 202, headers: HEADERS });
  }
  const line = await new Promise<string>((resolve) => waiting.push(resolve));
  return new Response(line, { status: 200, headers: HEADERS });
});
