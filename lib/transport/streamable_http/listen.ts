/**
 * `subscriptions/listen` (MCP 2026-07-28), served by the runner in front of
 * a legacy child: an SSE stream that starts with an acknowledgement of the
 * notifications it will carry (the request's filter narrowed to what the
 * child declares, and to the resource URIs the child accepted), then
 * carries those notifications, each with the listen request's id as its
 * `subscriptionId`. Resource URIs become upstream subscriptions, counted
 * with every other session's; closing the stream releases them.
 *
 * @module
 */

import {
  type CheckedMessage,
  ErrorCode,
  errorResponse,
} from "../../jsonrpc/message.ts";
import { memberRange } from "../../jsonrpc/json_scan.ts";
import type { Channel } from "../../session/channel.ts";
import type { SharedProvider } from "../../session/shared/shared_child.ts";
import { META } from "./era.ts";

/** What a listen request may ask for. */
export interface SubscriptionFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

/** Most resource URIs one listen request may name. */
export const MAX_LISTEN_URIS = 1000;

/** How often an idle listen stream gets a keepalive comment. */
const KEEPALIVE_MS = 15_000;

const LIST_FLAGS: [keyof SubscriptionFilter, string, string][] = [
  ["toolsListChanged", "tools", "notifications/tools/list_changed"],
  ["promptsListChanged", "prompts", "notifications/prompts/list_changed"],
  ["resourcesListChanged", "resources", "notifications/resources/list_changed"],
];

/**
 * The filter of a listen request, or why it is invalid.
 *
 * @param params The request's params.
 * @returns The filter, or an error message.
 */
export function parseFilter(
  params: Record<string, unknown>,
): SubscriptionFilter | string {
  const filter = params.notifications;
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    return "params.notifications is required (an object)";
  }
  const f = filter as Record<string, unknown>;
  const out: SubscriptionFilter = {};
  for (const [flag] of LIST_FLAGS) {
    const value = f[flag];
    if (value === undefined) continue;
    if (typeof value !== "boolean") {
      return `notifications.${flag} must be a boolean`;
    }
    if (flag !== "resourceSubscriptions") out[flag] = value;
  }
  const uris = f.resourceSubscriptions;
  if (uris !== undefined) {
    if (
      !Array.isArray(uris) || uris.length > MAX_LISTEN_URIS ||
      uris.some((u) => typeof u !== "string")
    ) {
      return `notifications.resourceSubscriptions must be an array of at most ${MAX_LISTEN_URIS} strings`;
    }
    out.resourceSubscriptions = [...new Set(uris as string[])];
  }
  return out;
}

/**
 * A notification with `_meta.subscriptionId` added to its params.
 *
 * @param text The notification.
 * @param id The listen request's id, as written.
 * @returns The notification for the listen stream.
 */
export function withSubscriptionId(text: string, id: string): string {
  const member = `${JSON.stringify(META.subscriptionId)}:${id}`;
  const meta = memberRange(text, ["params", "_meta"]);
  if (meta !== undefined && text[meta[0]] === "{") {
    const empty = text.slice(meta[0] + 1, meta[1] - 1).trim() === "";
    return text.slice(0, meta[0] + 1) + member + (empty ? "" : ",") +
      text.slice(meta[0] + 1);
  }
  const params = memberRange(text, ["params"]);
  if (params !== undefined && text[params[0]] === "{") {
    const empty = text.slice(params[0] + 1, params[1] - 1).trim() === "";
    return text.slice(0, params[0] + 1) + `"_meta":{${member}}` +
      (empty ? "" : ",") + text.slice(params[0] + 1);
  }
  const end = text.lastIndexOf("}");
  return `${text.slice(0, end)},"params":{"_meta":{${member}}}}`;
}

const encoder = new TextEncoder();

/** The open listen streams of a runner. */
export class Listeners {
  #child: SharedProvider;
  #open = new Set<() => void>();
  #counter = 0;

  /** @param child The shared child the subscriptions are made on. */
  constructor(child: SharedProvider) {
    this.#child = child;
  }

  /**
   * Opens a listen stream.
   *
   * @param key The listen request's id, as written.
   * @param filter What it asks for.
   * @param signal Aborts when the client closes the stream.
   * @param open The channel options' logger and metrics.
   * @returns The SSE response.
   */
  listen(
    key: string,
    filter: SubscriptionFilter,
    signal: AbortSignal,
    open: Pick<Parameters<SharedProvider["open"]>[0], "logger" | "metrics">,
  ): Response {
    const caps = this.#child.capabilities as Record<
      string,
      { listChanged?: unknown; subscribe?: unknown } | undefined
    >;
    const honored: SubscriptionFilter = {};
    const methods = new Set<string>();
    for (const [flag, family, method] of LIST_FLAGS) {
      if (filter[flag] === true && caps[family]?.listChanged === true) {
        (honored as Record<string, boolean>)[flag] = true;
        methods.add(method);
      }
    }
    const wanted = caps.resources?.subscribe === true
      ? filter.resourceSubscriptions ?? []
      : [];
    const accepted = new Set<string>();
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const opened: { channel?: Channel } = {};
    let acknowledged = false;
    let closed = false;
    const timers: { keepalive?: ReturnType<typeof setInterval> } = {};
    const write = (text: string) => {
      try {
        controller?.enqueue(encoder.encode(text));
      } catch {
        close();
      }
    };
    const close = (final = false) => {
      if (closed) return;
      closed = true;
      clearInterval(timers.keepalive);
      this.#open.delete(shutdown);
      if (final) {
        write(
          `event: message\ndata: {"jsonrpc":"2.0","id":${key},"result":{"resultType":"complete","_meta":{${
            JSON.stringify(META.subscriptionId)
          }:${key}}}}\n\n`,
        );
      }
      try {
        controller?.close();
      } catch {
        // already closed
      }
      void opened.channel?.close("listen stream closed");
    };
    const shutdown = () => close(true);
    const subscribeIds = new Map<string, string>();
    const acknowledge = () => {
      if (acknowledged || subscribeIds.size > 0) return;
      acknowledged = true;
      if (wanted.length > 0) honored.resourceSubscriptions = [...accepted];
      const ack = {
        jsonrpc: "2.0",
        method: "notifications/subscriptions/acknowledged",
        params: {
          _meta: { [META.subscriptionId]: JSON.parse(key) },
          notifications: honored,
        },
      };
      write(`event: message\ndata: ${JSON.stringify(ack)}\n\n`);
    };
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      cancel: () => close(),
    });
    const channel = this.#child.open({
      session: `listen-${++this.#counter}`,
      transport: "streamable-http",
      logger: open.logger,
      metrics: open.metrics,
    }, {
      deliver: (text, messages) => {
        const message: CheckedMessage = messages[0]!;
        if (message.kind === "response") {
          const uri = message.key === undefined
            ? undefined
            : subscribeIds.get(message.key);
          if (uri === undefined) return;
          subscribeIds.delete(message.key!);
          if (message.errorCode === undefined) accepted.add(uri);
          acknowledge();
          return;
        }
        if (!acknowledged || message.kind !== "notification") return;
        const method = message.method!;
        const uri = (message.params as { uri?: unknown } | undefined)?.uri;
        const wantedUpdate = method === "notifications/resources/updated" &&
          typeof uri === "string" && accepted.has(uri);
        if (!methods.has(method) && !wantedUpdate) return;
        write(`event: message\ndata: ${withSubscriptionId(text, key)}\n\n`);
      },
      unroutable: () => {},
      ended: () => close(true),
    });
    opened.channel = channel;
    for (const uri of wanted) {
      const id = `"listen-${this.#counter}-${subscribeIds.size}"`;
      subscribeIds.set(id, uri);
      const text =
        `{"jsonrpc":"2.0","id":${id},"method":"resources/subscribe","params":{"uri":${
          JSON.stringify(uri)
        }}}`;
      const { refused } = channel.forward(text, [{
        kind: "request",
        id: JSON.parse(id),
        key: id,
        method: "resources/subscribe",
        params: { uri },
      }]);
      if (refused.length > 0) subscribeIds.delete(id);
    }
    queueMicrotask(acknowledge);
    timers.keepalive = setInterval(
      () => write(": keepalive\n\n"),
      KEEPALIVE_MS,
    );
    this.#open.add(shutdown);
    signal.addEventListener("abort", () => close(), { once: true });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Ends every listen stream with its graceful result (runner shutdown). */
  closeAll(): void {
    for (const shutdown of [...this.#open]) shutdown();
  }
}

/**
 * The in-band error for an invalid listen request.
 *
 * @param key The request's id.
 * @param why What is wrong.
 * @returns The error response.
 */
export function listenError(key: string, why: string): string {
  return errorResponse(key, ErrorCode.InvalidParams, `Invalid params: ${why}`);
}
