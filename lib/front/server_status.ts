/**
 * What `/status` shows of one server: its state, children, sessions and,
 * once its shared child answered, what the server said of itself. Never an
 * environment value, a session id or a payload.
 *
 * @module
 */

import type { ServerDefinition } from "../config/server_file.ts";
import type { ChildProvider } from "../session/channel.ts";
import { PoolProvider } from "../session/pool.ts";
import type { SessionScope } from "../session/session_scope.ts";
import { SharedProvider } from "../session/shared/shared_child.ts";
import type { ServerStatus, SessionStatus } from "./console_backend.ts";

/** What a server's status is made of. */
export interface StatusInputs {
  /** Its definition. */
  definition: ServerDefinition;
  /** Its provider, while it can serve. */
  provider: ChildProvider | undefined;
  /** Its sessions. */
  scope: SessionScope;
  /** Its base URL: the runner's, plus `/servers/NAME` for a named one. */
  url: string;
  /** Whether a reload removed or replaced it. */
  removed: boolean;
  /** Whether it could not be set up. */
  failed: boolean;
  /** Why it cannot serve, if it cannot. */
  unavailable: string | undefined;
}

/**
 * A server's status.
 *
 * @param inputs The server's parts.
 * @returns What `/status` shows of it.
 */
export function serverStatus(inputs: StatusInputs): ServerStatus {
  const d = inputs.definition;
  const provider = inputs.provider;
  const shared = provider instanceof SharedProvider ? provider : undefined;
  const status: ServerStatus = {
    name: d.name,
    mode: shared !== undefined ? "shared" : "per-session",
    prewarm: provider instanceof PoolProvider ? (d.runner.prewarm ?? 0) : 0,
    state: stateOf(inputs, shared),
    program: d.program,
    argCount: d.args.length,
    envKeys: d.envKeys,
    urls: {
      mcp: `${inputs.url}/mcp`,
      sse: `${inputs.url}/sse`,
      websocket: inputs.url.replace(/^http/, "ws"),
    },
    pids: pidsOf(inputs, shared),
    sessions: sessionsOf(inputs.scope),
    restarts: shared?.restarts ?? 0,
  };
  const availability = shared?.availability();
  if (inputs.unavailable !== undefined) status.reason = inputs.unavailable;
  else if (availability !== undefined && !availability.ok) {
    status.reason = availability.reason;
  }
  if (d.cwdGiven) status.cwd = d.cwd;
  if (d.runner.maxSessions !== undefined) {
    status.maxSessions = d.runner.maxSessions;
  }
  const next = shared?.nextAttemptAt;
  if (next !== undefined) status.nextAttemptAt = new Date(next).toISOString();
  const exit = shared?.lastExitStatus;
  if (exit !== undefined) {
    status.lastExit = {
      code: exit.code,
      signal: exit.signal,
      at: new Date(exit.at).toISOString(),
    };
  }
  const result = shared?.cachedResult;
  if (result !== undefined) describeServer(status, result);
  return status;
}

function stateOf(
  inputs: StatusInputs,
  shared: SharedProvider | undefined,
): ServerStatus["state"] {
  if (inputs.removed) return "removed";
  if (inputs.definition.state === "disabled") return "disabled";
  if (inputs.failed) return "failed";
  switch (shared?.state) {
    case undefined:
    case "ready":
    case "idle":
      return "ready";
    case "starting":
      return shared.restarts > 0 ? "restarting" : "starting";
    case "backoff":
      return "restarting";
    default:
      return "failed";
  }
}

function pidsOf(
  inputs: StatusInputs,
  shared: SharedProvider | undefined,
): number[] {
  const pids: number[] = [];
  if (shared?.pid !== undefined) pids.push(shared.pid);
  if (inputs.provider instanceof PoolProvider) {
    pids.push(...inputs.provider.idlePids);
  }
  for (const [session] of inputs.scope.entries()) {
    const pid = session.describe?.().pid;
    if (typeof pid === "number" && !pids.includes(pid)) pids.push(pid);
  }
  return pids;
}

function sessionsOf(scope: SessionScope): SessionStatus[] {
  const now = Date.now();
  return scope.entries().map(([session, since]) => {
    const idle = session.idleSince?.();
    return {
      // The handle, never the Mcp-Session-Id, which lets its holder in.
      id: session.handle ?? session.id,
      transport: session.transport,
      ageSeconds: Math.round((now - since) / 1000),
      idleSeconds: idle === undefined
        ? undefined
        : Math.round((now - idle) / 1000),
      inFlight: 0,
      queuedBytes: 0,
      ...session.describe?.(),
    };
  });
}

/** Copies the protocol version, serverInfo and capabilities of a result. */
function describeServer(status: ServerStatus, resultText: string): void {
  try {
    const result = JSON.parse(resultText) as {
      protocolVersion?: unknown;
      serverInfo?: { name?: unknown; version?: unknown };
      capabilities?: unknown;
    };
    if (typeof result.protocolVersion === "string") {
      status.protocolVersion = result.protocolVersion;
    }
    const info = result.serverInfo;
    if (info !== undefined && typeof info === "object") {
      status.serverInfo = {
        ...(typeof info.name === "string" ? { name: info.name } : {}),
        ...(typeof info.version === "string" ? { version: info.version } : {}),
      };
    }
    if (typeof result.capabilities === "object" && result.capabilities) {
      status.capabilities = result.capabilities as Record<string, unknown>;
    }
  } catch {
    // Not JSON: nothing to show.
  }
}
