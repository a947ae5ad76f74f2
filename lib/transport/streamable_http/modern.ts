/**
 * MCP 2026-07-28 requests on `/mcp`, translated onto a legacy child that
 * the runner initialized itself: each request is checked in the order the
 * revision sets (envelope, version header, supported version, `Mcp-Method`
 * / `Mcp-Name`, method), `server/discover` is answered from the child's
 * cached initialize result, and every other method goes to the shared
 * child as one request of its own. The answer is JSON, or an SSE stream
 * when progress or log messages come first; closing it cancels the request
 * upstream.
 *
 * @module
 */

import {
  type CheckedMessage,
  ErrorCode,
  errorResponse,
} from "../../jsonrpc/message.ts";
import type { Logger } from "../../observe/log.ts";
import type { Metrics } from "../../observe/metrics.ts";
import type { SharedProvider } from "../../session/shared/shared_child.ts";
import { META, MODERN_VERSIONS } from "./era.ts";
import {
  headerRefusal,
  isObject,
  ladderRefusal,
  ModernError,
} from "./ladder.ts";
import { reply } from "./answer.ts";
import { listenError, Listeners, parseFilter } from "./listen.ts";
import {
  type CallHost,
  ModernCall,
  PARKED_TTL_MS,
  type Round,
} from "./modern_call.ts";
import { INTERACTIVE, paramsDigest, TokenCodec } from "./mrtr.ts";
import { Lane } from "./lane.ts";
import { type HeaderParam, headerParams, paramMismatch } from "./mcp_params.ts";

/** The capability of the child each forwarded method needs. */
const METHODS: Record<string, string> = {
  "tools/list": "tools",
  "tools/call": "tools",
  "prompts/list": "prompts",
  "prompts/get": "prompts",
  "resources/list": "resources",
  "resources/read": "resources",
  "resources/templates/list": "resources",
  "completion/complete": "completions",
};

/** Options for {@linkcode ModernEndpoint}. */
export interface ModernOptions {
  /** The shared child the requests go to. */
  child: SharedProvider;
  /** Logger. */
  logger: Logger;
  /** Where counts and latencies go. */
  metrics?: Metrics | undefined;
}

/** How long an interactive call waits for the one running before it. */
const LANE_WAIT_MS = 30_000;

/** Serves the modern requests of `/mcp`. */
export class ModernEndpoint {
  #options: ModernOptions;
  #counter = 0;
  #listeners: Listeners;
  #tools: { version: number; params: Map<string, HeaderParam[]> } | undefined;
  #lane = new Lane();
  #codec = new TokenCodec();
  #parked = new Map<string, ModernCall>();

  /** @param options The shared child, logger and metrics. */
  constructor(options: ModernOptions) {
    this.#options = options;
    this.#listeners = new Listeners(options.child);
  }

  /** Ends every listen stream with its graceful result, and parked calls. */
  closeAll(): void {
    this.#listeners.closeAll();
    for (const call of [...this.#parked.values()]) call.expire();
  }

  /**
   * Answers one modern request (already classified as such).
   *
   * @param request The HTTP request (its headers and abort signal).
   * @param message The checked message.
   * @param text Its text.
   * @param meta Its `params._meta`.
   * @returns The response.
   */
  async handle(
    request: Request,
    message: CheckedMessage,
    text: string,
    meta: Record<string, unknown>,
  ): Promise<Response> {
    if (message.kind !== "request") return new Response(null, { status: 202 });
    const key = message.key!;
    const refusal = ladderRefusal(request, message, meta);
    if (refusal !== undefined) return refusal;
    const method = message.method!;
    const child = this.#options.child;
    const available = await child.whenAvailable();
    if (!available.ok) {
      return reply(
        errorResponse(key, ModernError.InternalError, available.reason),
        503,
        { "retry-after": String(available.retryAfterSeconds) },
      );
    }
    const native = child.speaksModern;
    if (method === "server/discover" && !native) {
      return await this.#discover(key);
    }
    if (method === "subscriptions/listen") {
      const filter = parseFilter(
        (message.params ?? {}) as Record<string, unknown>,
      );
      if (typeof filter === "string") {
        return reply(listenError(key, filter), 200);
      }
      return this.#listeners.listen(key, filter, request.signal, this.#options);
    }
    const capability = method === "server/discover" ? "" : METHODS[method];
    if (
      capability === undefined ||
      (capability !== "" && !(capability in child.capabilities))
    ) {
      return reply(
        errorResponse(
          key,
          ErrorCode.MethodNotFound,
          capability === undefined
            ? `Method not found: ${method}${
              REMOVED.has(method) ? " (removed in 2026-07-28)" : ""
            }`
            : `Method not found: ${method} (the MCP server has no ${capability})`,
        ),
        404,
      );
    }
    if (method === "tools/call") {
      const params = (message.params ?? {}) as Record<string, unknown>;
      const declared = (await this.#headerParams()).get(String(params.name));
      const mismatch = declared === undefined
        ? undefined
        : paramMismatch(request.headers, params.arguments, declared);
      if (mismatch !== undefined) return headerRefusal(key, mismatch);
    }
    return await this.#forward(request, message, text, meta);
  }

  /**
   * The tools whose arguments are mirrored in `Mcp-Param-*` headers, from
   * the child's tool list (fetched again after `tools/list_changed` or a
   * restart).
   */
  async #headerParams(): Promise<Map<string, HeaderParam[]>> {
    const child = this.#options.child;
    const version = child.toolsVersion;
    if (this.#tools?.version === version) return this.#tools.params;
    const params = new Map<string, HeaderParam[]>();
    let cursor: unknown;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const text = await child.request(
        "tools/list",
        cursor === undefined ? {} : { cursor },
        TOOL_LIST_TIMEOUT_MS,
      );
      let result: { tools?: unknown; nextCursor?: unknown } | undefined;
      try {
        result = text === undefined ? undefined : JSON.parse(text).result;
      } catch {
        result = undefined;
      }
      if (!Array.isArray(result?.tools)) break;
      for (
        const tool of result.tools as {
          name?: unknown;
          inputSchema?: unknown;
        }[]
      ) {
        const declared = headerParams(tool?.inputSchema);
        if (typeof tool?.name === "string" && declared.length > 0) {
          params.set(tool.name, declared);
        }
      }
      cursor = result.nextCursor;
      if (typeof cursor !== "string") break;
    }
    this.#tools = { version, params };
    return params;
  }

  async #discover(key: string): Promise<Response> {
    const outcome = await this.#options.child.initializeResult();
    if ("error" in outcome) {
      return reply(
        errorResponse(key, ModernError.InternalError, outcome.error),
        503,
      );
    }
    const cached = JSON.parse(outcome.result) as Record<string, unknown>;
    const capabilities = {
      ...(cached.capabilities as Record<string, unknown>),
    };
    // 2025-11-25 tasks are not the 2026-07-28 tasks extension.
    delete capabilities.tasks;
    const result: Record<string, unknown> = {
      resultType: "complete",
      supportedVersions: MODERN_VERSIONS,
      capabilities,
      ttlMs: 0,
      cacheScope: "private",
      _meta: { [META.serverInfo]: cached.serverInfo ?? {} },
    };
    if (typeof cached.instructions === "string") {
      result.instructions = cached.instructions;
    }
    return reply(
      `{"jsonrpc":"2.0","id":${key},"result":${JSON.stringify(result)}}`,
      200,
    );
  }

  /** One request through the shared child, and its later rounds. */
  async #forward(
    request: Request,
    message: CheckedMessage,
    text: string,
    meta: Record<string, unknown>,
  ): Promise<Response> {
    const key = message.key!;
    const method = message.method!;
    const params = (message.params ?? {}) as Record<string, unknown>;
    const interactive = INTERACTIVE.has(method);
    const responses = params.inputResponses;
    const state = params.requestState;
    if (
      responses !== undefined &&
      (!isObject(responses) ||
        Object.values(responses as object).some((v) => !isObject(v)))
    ) {
      return invalid(key, "inputResponses must be an object of objects");
    }
    if (state !== undefined && typeof state !== "string") {
      return invalid(key, "requestState must be a string");
    }
    const round: Round = {
      request,
      key,
      capabilities: meta[META.clientCapabilities] as Record<string, unknown>,
      inputResponses: responses as Record<string, unknown> | undefined,
    };
    const digest = await paramsDigest(params);
    // A child that speaks 2026-07-28 keeps its own requestState.
    if (typeof state === "string" && !this.#options.child.speaksModern) {
      const claims = await this.#codec.open(state);
      const call = claims === undefined
        ? undefined
        : this.#parked.get(claims.call);
      if (
        call === undefined || claims!.round !== call.round ||
        claims!.method !== method || claims!.digest !== digest
      ) {
        return invalid(
          key,
          "requestState is not valid (tampered, used, expired or for another request)",
        );
      }
      const wrong = round.inputResponses === undefined
        ? undefined
        : call.invalidAnswers(round.inputResponses);
      if (wrong !== undefined) return invalid(key, wrong);
      this.#parked.delete(call.id);
      if (!await this.#lane.acquire(LANE_WAIT_MS)) return busy(key);
      return call.resume(round);
    }
    if (interactive && !await this.#lane.acquire(LANE_WAIT_MS)) {
      return busy(key);
    }
    const level = meta[META.logLevel];
    const call = new ModernCall(
      this.#callHost(interactive),
      method,
      digest,
      interactive,
      typeof params.uri === "string" ? params.uri : undefined,
    );
    return call.start(
      (target) =>
        this.#options.child.open({
          session: `m-${++this.#counter}`,
          transport: "streamable-http",
          logger: this.#options.logger,
          metrics: this.#options.metrics,
          requestLogLevel: typeof level === "string" ? level : null,
        }, target),
      round,
      message,
      text,
    );
  }

  /** What a call needs from the endpoint; the lane only for interactive ones. */
  #callHost(interactive: boolean): CallHost {
    let holds = interactive;
    const release = () => {
      if (!holds) return;
      holds = false;
      this.#lane.release();
    };
    return {
      serverInfo: () => this.#serverInfo(),
      park: async (call) => {
        this.#parked.set(call.id, call);
        return await this.#codec.mint({
          call: call.id,
          method: call.method,
          digest: call.digest,
          round: call.round,
          expires: Date.now() + PARKED_TTL_MS,
        });
      },
      ended: (call) => {
        this.#parked.delete(call.id);
        release();
      },
      releaseLane: release,
      takeLane: () => {
        holds = true;
      },
    };
  }

  #serverInfo(): string {
    const result = this.#options.child.cachedResult;
    try {
      const info = result === undefined
        ? undefined
        : JSON.parse(result).serverInfo;
      return JSON.stringify(info ?? {});
    } catch {
      return "{}";
    }
  }
}

/** Most pages of the child's tool list read for `Mcp-Param-*` checks. */
const MAX_TOOL_PAGES = 20;
/** How long one page of the tool list may take. */
const TOOL_LIST_TIMEOUT_MS = 10_000;

/** Methods of earlier revisions that 2026-07-28 removed. */
const REMOVED = new Set([
  "initialize",
  "ping",
  "logging/setLevel",
  "resources/subscribe",
  "resources/unsubscribe",
]);

/** An in-band -32602 for a malformed retry. */
function invalid(key: string, why: string): Response {
  return reply(
    errorResponse(key, ErrorCode.InvalidParams, `Invalid params: ${why}`),
    200,
  );
}

/** Another interactive call kept the child too long. */
function busy(key: string): Response {
  return reply(
    errorResponse(
      key,
      ModernError.InternalError,
      `Cannot run the call: another interactive call kept the MCP server busy for ${
        LANE_WAIT_MS / 1000
      } s`,
    ),
    503,
    { "retry-after": "1" },
  );
}

export { ModernError } from "./ladder.ts";
