/**
 * The `healthcheck` command: probes `/healthz` of a running runner, for
 * container health checks (a scratch image has no curl).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError } from "../config/config.ts";

/** What `healthcheck` was asked to probe. */
export interface HealthcheckTarget {
  /** The `/healthz` URL. */
  url: string;
  /** Give up after this long. */
  timeoutMs: number;
}

/**
 * Works out the URL to probe from `--url`, or from `--host`/`--port` (or
 * `HOST`/`PORT`, and `TLS_CERT` for https); a wildcard host is probed on
 * loopback.
 *
 * @param args Arguments after `healthcheck`.
 * @param env The environment.
 * @returns The target.
 * @throws {ConfigError} On a bad argument.
 */
export function healthcheckTarget(
  args: string[],
  env: Record<string, string>,
): HealthcheckTarget {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        url: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "timeout-ms": { type: "string" },
      },
    }));
  } catch (error) {
    throw new ConfigError(
      `Cannot check health: ${(error as Error).message.split("\n")[0]}`,
    );
  }
  const timeoutRaw = values["timeout-ms"] ?? "3000";
  const timeoutMs = Number(timeoutRaw);
  if (!/^\d+$/.test(timeoutRaw) || timeoutMs < 1) {
    throw new ConfigError(
      `Cannot check health: --timeout-ms must be a positive integer, received "${timeoutRaw}"`,
    );
  }
  if (values.url) return { url: values.url, timeoutMs };
  let host = values.host ?? env.HOST ?? "127.0.0.1";
  if (host === "0.0.0.0" || host === "") host = "127.0.0.1";
  if (host === "::") host = "::1";
  const port = values.port ?? env.PORT ?? "8080";
  if (!/^\d+$/.test(port)) {
    throw new ConfigError(
      `Cannot check health: the port must be an integer, received "${port}"`,
    );
  }
  const scheme = env.TLS_CERT ? "https" : "http";
  const shown = host.includes(":") ? `[${host}]` : host;
  return { url: `${scheme}://${shown}:${port}/healthz`, timeoutMs };
}

/**
 * Fetches the health endpoint.
 *
 * @param target URL and time limit.
 * @returns Whether it answered 200 with status "ok", and a one-line detail.
 */
export async function probeHealth(
  target: HealthcheckTarget,
): Promise<{ ok: boolean; detail: string }> {
  try {
    const response = await fetch(target.url, {
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    const text = await response.text();
    let status = "";
    try {
      status = String(JSON.parse(text).status ?? "");
    } catch {
      // not JSON
    }
    const ok = response.status === 200 && status === "ok";
    return {
      ok,
      detail: `${target.url}: HTTP ${response.status} ${
        status || text.slice(0, 80)
      }`,
    };
  } catch (error) {
    return { ok: false, detail: `${target.url}: ${(error as Error).message}` };
  }
}
