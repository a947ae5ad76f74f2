/**
 * Picks the child provider a configuration asks for.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import type { ChildProvider } from "./channel.ts";
import { PerSessionProvider, type ProviderOptions } from "./per_session.ts";
import { PoolProvider } from "./pool.ts";
import type { SharedPolicy } from "./shared/policy.ts";
import { SharedProvider } from "./shared/shared_child.ts";

/** What decides the provider. */
export interface ProviderChoice extends ProviderOptions {
  /** `per-session` or `shared`. */
  mode: "per-session" | "shared";
  /** Children started ahead, per-session mode (0: none). */
  prewarm: number;
  /** Idle pool children older than this are replaced. */
  prewarmTtlMs: number;
  /** Shared mode's options. */
  policy: SharedPolicy;
  /** `--max-in-flight`. */
  maxSessionInFlight: number;
  /** `--send-buffer-bytes`. */
  sendBufferBytes: number;
  /** The runner's version. */
  version: string;
}

/**
 * The provider for a configuration.
 *
 * @param choice Mode, pool size, shared policy and the MCP server.
 * @returns The provider (not started).
 */
export function providerFor(choice: ProviderChoice): ChildProvider {
  const base = {
    spec: choice.spec,
    logger: choice.logger,
    metrics: choice.metrics,
  };
  if (choice.mode === "shared") {
    return new SharedProvider({
      ...base,
      policy: choice.policy,
      maxSessionInFlight: choice.maxSessionInFlight,
      sendBufferBytes: choice.sendBufferBytes,
      version: choice.version,
    });
  }
  if (choice.prewarm > 0) {
    return new PoolProvider({
      ...base,
      size: choice.prewarm,
      ttlMs: choice.prewarmTtlMs,
    });
  }
  return new PerSessionProvider(base);
}

/**
 * The provider choice of a configuration.
 *
 * @param config The parsed configuration.
 * @param base The MCP server's spec (with the orphan guard), logger, metrics.
 * @param version The runner's version.
 * @returns What {@linkcode providerFor} takes.
 */
export function choiceOf(
  config: Config,
  base: ProviderOptions,
  version: string,
): ProviderChoice {
  return {
    ...base,
    mode: config.childMode,
    prewarm: config.prewarm,
    prewarmTtlMs: config.prewarmTtlSeconds * 1000,
    policy: {
      start: config.sharedStart,
      protocolVersion: config.sharedProtocolVersion,
      clientRequests: config.sharedClientRequests,
      serializeCalls: config.sharedSerializeCalls,
      roots: config.sharedRoots,
      logs: config.sharedLogs,
      onExit: config.sharedOnExit,
      restartWaitMs: config.sharedRestartWaitMs,
      maxInFlight: config.sharedMaxInFlight,
    },
    maxSessionInFlight: config.maxInFlight,
    sendBufferBytes: config.sendBufferBytes,
    version,
  };
}
