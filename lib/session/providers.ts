/**
 * Picks the child provider a configuration asks for.
 *
 * @module
 */

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
