/**
 * The probes: `/healthz` (the runner is up) and `/readyz` (a new session
 * could start now, on every enabled server or on one with `?server=NAME`,
 * with the reasons when not).
 *
 * @module
 */

import type { SessionSet } from "../session/session_set.ts";
import type { ServerDirectory } from "./directory.ts";
import { clip } from "./server_router.ts";

/** A probe's answer, before it becomes a response. */
export interface Probe {
  /** HTTP status. */
  status: number;
  /** The JSON body: `status` always, the reasons when not ready. */
  body: { status: string; [detail: string]: unknown };
  /** Seconds for `Retry-After`, when known. */
  retryAfterSeconds?: number;
}

/**
 * A probe as a response.
 *
 * @param probe The answer.
 * @param detailed Whether the reasons may be shown (with tokens on, only
 *   to a caller with one: they name servers, paths and variables).
 * @returns The response.
 */
export function probeResponse(probe: Probe, detailed: boolean): Response {
  const headers: Record<string, string> = probe.retryAfterSeconds
    ? { "retry-after": String(probe.retryAfterSeconds) }
    : {};
  const body = detailed || probe.status === 200
    ? probe.body
    : { status: probe.body.status, reason: "send the token to see why" };
  return Response.json(body, { status: probe.status, headers });
}

/**
 * The `/healthz` body.
 *
 * @param sessions Every live session.
 * @param startedAt When the runner started (ms since the epoch).
 * @param version The runner's version.
 * @returns The body.
 */
export function healthOf(
  sessions: SessionSet,
  startedAt: number,
  version: string,
): Record<string, unknown> {
  return {
    status: sessions.stopping ? "stopping" : "ok",
    sessions: sessions.size,
    sessionsByTransport: sessions.countByTransport(),
    sessionsTotal: sessions.total,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    version,
  };
}

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
): Promise<Probe> {
  if (sessions.stopping) return { status: 503, body: { status: "stopping" } };
  if (sessions.full) {
    return {
      status: 503,
      body: {
        status: "at capacity",
        reason:
          "every session slot is taken and no session is idle (--max-sessions)",
      },
      retryAfterSeconds: 1,
    };
  }
  const wanted = URL.parse(request.url)?.searchParams.get("server");
  let chosen = servers.all();
  if (wanted !== null && wanted !== undefined) {
    const one = servers.find(wanted);
    if (one === undefined) {
      return {
        status: 404,
        body: {
          status: "unknown server",
          reason: `no server is named "${clip(wanted, 64)}"`,
          servers: chosen.map((s) => s.name),
        },
      };
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
  if (failed.length === 0) return { status: 200, body: { status: "ready" } };
  // One server: its reason as before; several: every failing one.
  const reason = !servers.named
    ? problems[failed[0]!]
    : failed.map((name) => `${name}: ${problems[name]}`).join("; ");
  return {
    status: 503,
    body: servers.named
      ? { status: "not ready", reason, servers: problems }
      : { status: "not ready", reason },
    ...(retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
  };
}
