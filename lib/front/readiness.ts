/**
 * `/readyz`: whether a new session could start now, on every enabled
 * server or on one (`?server=NAME`), with the reasons when not.
 *
 * @module
 */

import type { SessionSet } from "../session/session_set.ts";
import type { ServerDirectory } from "./directory.ts";

/**
 * The `/readyz` answer.
 *
 * @param request The GET or HEAD request.
 * @param servers The servers.
 * @param sessions Every live session (the runner's cap).
 * @returns 200 when ready, else 503 (404 for an unknown `?server=`).
 */
export async function readinessOf(
  request: Request,
  servers: ServerDirectory,
  sessions: SessionSet,
): Promise<Response> {
  if (sessions.stopping) {
    return Response.json({ status: "stopping" }, { status: 503 });
  }
  if (sessions.full) {
    return Response.json({
      status: "at capacity",
      reason:
        "every session slot is taken and no session is idle (--max-sessions)",
    }, { status: 503, headers: { "retry-after": "1" } });
  }
  const wanted = URL.parse(request.url)?.searchParams.get("server");
  let chosen = servers.all();
  if (wanted !== null && wanted !== undefined) {
    const one = servers.find(wanted);
    if (one === undefined) {
      return Response.json({
        status: "unknown server",
        reason: `no server is named "${clip(wanted, 64)}"`,
        servers: chosen.map((s) => s.name),
      }, { status: 404 });
    }
    chosen = [one];
  }
  const problems: Record<string, string> = {};
  let retryAfter = 0;
  for (const server of chosen) {
    // A disabled server is not expected to serve.
    if (server.disabled) continue;
    const problem = server.unavailable !== undefined
      ? { reason: server.unavailable, retryAfterSeconds: undefined }
      : await server.readiness();
    if (problem === undefined) continue;
    problems[server.name] = problem.reason;
    retryAfter = Math.max(retryAfter, problem.retryAfterSeconds ?? 0);
  }
  const failed = Object.keys(problems);
  if (failed.length === 0) return Response.json({ status: "ready" });
  const headers: Record<string, string> = retryAfter > 0
    ? { "retry-after": String(retryAfter) }
    : {};
  // One server: its reason as before; several: every failing one.
  const reason = !servers.named
    ? problems[failed[0]!]
    : failed.map((name) => `${name}: ${problems[name]}`).join("; ");
  return Response.json(
    servers.named
      ? { status: "not ready", reason, servers: problems }
      : { status: "not ready", reason },
    { status: 503, headers },
  );
}

/** At most `max` characters of `text`, with an ellipsis when cut. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
